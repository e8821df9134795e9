"""Every genetics model keeps the engine's contract (latentlab.em.testing.check_model);
statistics add over two halves of the individuals (or of the distinct observations)."""

import dataclasses

import pytest

from latentlab.em.testing import check_model
from latentlab.genetics import (
    AlleleFrequencies,
    HaplotypeEM,
    WindowedHaplotypeEM,
    simulate_genotypes,
    simulate_haplotypes,
)
from latentlab.genetics.allele_model import AlleleFrequencyModel
from latentlab.genetics.hardy_weinberg import GenotypeFrequencyModel


def _rows(data, sl):
    """The distinct observations ``sl`` of a LocusData."""
    return dataclasses.replace(data, lik=data.lik[sl], weights=data.weights[sl], log_offset=data.log_offset[sl])


@pytest.mark.parametrize("inbreeding", [False, True])
def test_allele_frequencies(inbreeding):
    G = simulate_genotypes(400, [0.5, 0.3, 0.2], inbreeding=0.1, missing=0.05, half_missing=0.1, random_state=0)
    data = AlleleFrequencies().fit(G).observations_.data
    h = data.weights.size // 2
    check_model(AlleleFrequencyModel(3, inbreeding), data, parts=[_rows(data, slice(0, h)), _rows(data, slice(h, None))])


def test_free_genotype_frequencies():
    G = simulate_genotypes(400, [0.5, 0.3, 0.2], missing=0.05, half_missing=0.1, random_state=1)
    data = AlleleFrequencies().fit(G).observations_.data
    h = data.weights.size // 2
    check_model(GenotypeFrequencyModel(6), data, parts=[_rows(data, slice(0, h)), _rows(data, slice(h, None))])


def _individuals(pairs, lo, hi):
    """The candidate pairs of individuals ``lo <= i < hi``, renumbered from 0."""
    keep = (pairs.individual >= lo) & (pairs.individual < hi)
    return dataclasses.replace(pairs, individual=pairs.individual[keep] - lo, first=pairs.first[keep],
                               second=pairs.second[keep], n_individuals=hi - lo)


def test_haplotype_frequencies():
    sim = simulate_haplotypes(300, n_blocks=1, snps_per_block=4, haplotypes_per_block=4, mutation=0.02,
                              missing_rate=0.03, random_state=2)
    est = HaplotypeEM(min_posterior=0.0, random_state=0).fit(sim.genotypes)
    pairs, n = est._data, est._data.n_individuals
    check_model(est.model_, pairs, parts=[_individuals(pairs, 0, n // 3), _individuals(pairs, n // 3, n)],
                covariance_rtol=None)  # the analytic covariance is checked against the Hessian in test_haplotype_em


def test_window_chain():
    """No ``parts``: the chain's transitions are built from the candidate
    pairs of all individuals, so a subset is not a data set of the same model."""
    sim = simulate_haplotypes(200, n_blocks=2, snps_per_block=3, haplotypes_per_block=3, recombination=0.2,
                              random_state=3)
    est = WindowedHaplotypeEM(window=3, random_state=0).fit(sim.genotypes)
    check_model(est.model_, est._data)
