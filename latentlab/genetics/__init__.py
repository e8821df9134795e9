"""Genetics: allele frequencies under Hardy-Weinberg equilibrium from incomplete
genotypes, phenotypes or genotype likelihoods, fitted by EM."""

from .alleles import AlleleFrequencies
from .hardy_weinberg import hwe_exact_test
from .many_loci import allele_frequencies_by_locus, allele_frequencies_from_likelihoods
from .observations import ABO
from .simulate import simulate_genotype_likelihoods, simulate_genotypes

__all__ = [
    "AlleleFrequencies",
    "ABO",
    "allele_frequencies_by_locus",
    "allele_frequencies_from_likelihoods",
    "hwe_exact_test",
    "simulate_genotypes",
    "simulate_genotype_likelihoods",
]
