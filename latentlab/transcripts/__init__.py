"""RNA-seq transcript quantification by EM over equivalence classes of
fragments: abundances (NumReads, TPM), gene totals, standard errors and
bootstrap, readers for salmon's and kallisto's classes, and a simulator."""

from .classes import EquivalenceClasses
from .quantifier import QUANT_COLUMNS, TranscriptQuantifier
from .simulate import SimulatedClasses, Transcriptome, simulate_equivalence_classes, simulate_transcriptome

__all__ = [
    "EquivalenceClasses",
    "TranscriptQuantifier",
    "QUANT_COLUMNS",
    "simulate_equivalence_classes",
    "simulate_transcriptome",
    "SimulatedClasses",
    "Transcriptome",
]
