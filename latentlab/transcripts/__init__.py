"""RNA-seq transcript quantification by EM over equivalence classes of
fragments: abundances (NumReads, TPM), gene totals, standard errors and
bootstrap, readers for salmon's and kallisto's classes and for transcriptome
alignments (BAM), and a simulator."""

from .alignments import AlignedClasses, classes_from_alignments
from .classes import EquivalenceClasses
from .peer_rules import em_with_peer_rule
from .quantifier import QUANT_COLUMNS, TranscriptQuantifier
from .readers import read_kallisto_abundance, read_kallisto_classes, read_quant_sf, read_salmon_eq_classes
from .simulate import SimulatedClasses, Transcriptome, simulate_equivalence_classes, simulate_transcriptome

__all__ = [
    "EquivalenceClasses",
    "TranscriptQuantifier",
    "QUANT_COLUMNS",
    "simulate_equivalence_classes",
    "simulate_transcriptome",
    "SimulatedClasses",
    "Transcriptome",
    "read_salmon_eq_classes",
    "read_quant_sf",
    "read_kallisto_classes",
    "read_kallisto_abundance",
    "em_with_peer_rule",
    "classes_from_alignments",
    "AlignedClasses",
]
