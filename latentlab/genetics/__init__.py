"""Population genetics by EM: haplotype frequencies, phase and linkage
disequilibrium from unphased genotypes."""

from .haplotypes import HaplotypeEM
from .phase import switch_error
from .simulate import SimulatedHaplotypes, simulate_haplotypes

__all__ = [
    "HaplotypeEM",
    "simulate_haplotypes",
    "SimulatedHaplotypes",
    "switch_error",
]
