"""Immune repertoires by EM: true clonotypes, their abundances and the
sequencing error rates, deconvolved from read counts of distinct receptor
sequences (substitution errors; DADA2-style divisive partitioning)."""

from .baselines import collapse_by_ratio
from .diversity import diversity
from .estimator import ClonotypeEM
from .readers import read_airr, read_counts
from .simulate import SimulatedRepertoire, simulate_repertoire

__all__ = [
    "ClonotypeEM",
    "simulate_repertoire",
    "SimulatedRepertoire",
    "diversity",
    "collapse_by_ratio",
    "read_airr",
    "read_counts",
]
