"""Genetics by EM: allele frequencies under Hardy-Weinberg equilibrium from
incomplete genotypes, phenotypes or genotype likelihoods; haplotype
frequencies, phase and linkage disequilibrium from unphased genotypes."""

from .alleles import AlleleFrequencies
from .haplotype_clusters import HaplotypeClusterEM
from .haplotype_copying import HaplotypeCopyingEM
from .haplotype_simulation import SimulatedHaplotypes, simulate_founder_mosaics, simulate_haplotypes
from .haplotypes import HaplotypeEM
from .hardy_weinberg import hwe_exact_test
from .many_loci import allele_frequencies_by_locus, allele_frequencies_from_likelihoods
from .observations import ABO
from .phase import switch_counts, switch_error
from .simulate import simulate_genotype_likelihoods, simulate_genotypes
from .vcf import VcfData, read_vcf, write_vcf
from .windowed_haplotypes import WindowedHaplotypeEM

__all__ = [
    "AlleleFrequencies",
    "ABO",
    "allele_frequencies_by_locus",
    "allele_frequencies_from_likelihoods",
    "hwe_exact_test",
    "simulate_genotypes",
    "simulate_genotype_likelihoods",
    "HaplotypeEM",
    "WindowedHaplotypeEM",
    "HaplotypeClusterEM",
    "HaplotypeCopyingEM",
    "simulate_haplotypes",
    "simulate_founder_mosaics",
    "SimulatedHaplotypes",
    "switch_counts",
    "switch_error",
    "read_vcf",
    "write_vcf",
    "VcfData",
]
