"""WindowedHaplotypeEM: the chain likelihood against brute-force enumeration,
against HaplotypeEM where the two models coincide, simulated truth, bad inputs."""

import dataclasses
import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from latentlab.exceptions import ConvergenceWarning, MemoryBudgetError
from latentlab.genetics import HaplotypeEM, WindowedHaplotypeEM, simulate_haplotypes, switch_error

EXHAUSTIVE = dict(min_posterior=0.0, max_pairs=10_000)


def _ordered_haplotype_pairs(genotype):
    """Every ordered pair of 0/1 haplotypes adding up to ``genotype`` (-1: any alleles)."""
    per_locus = [[(0, 0), (0, 1), (1, 0), (1, 1)] if g < 0 else [(a, g - a) for a in (0, 1) if 0 <= g - a <= 1]
                 for g in genotype]
    for choice in itertools.product(*per_locus):
        yield np.array([c[0] for c in choice]), np.array([c[1] for c in choice])


def _small_sample(seed):
    sim = simulate_haplotypes(40, n_blocks=2, snps_per_block=3, haplotypes_per_block=3, recombination=0.2,
                              mutation=0.05, missing_rate=0.05, random_state=seed)
    return sim.genotypes


@pytest.mark.parametrize("seed", [0, 1])
def test_chain_likelihood_and_viterbi_equal_brute_force_enumeration(seed):
    """log L = sum_i log sum over ordered pairs (h, k) of full haplotypes compatible
    with G_i of P(h) P(k), P from the chain; Viterbi picks the largest term."""
    G = _small_sample(seed)
    est = WindowedHaplotypeEM(window=2, **EXHAUSTIVE).fit(G)
    model, chain = est.model_, est._data
    params = model.initialize(chain, np.random.default_rng(seed))  # a generic point, not the estimate
    est.result_ = dataclasses.replace(est.result_, params=params)  # EMResult is frozen

    total, best = 0.0, []
    for g in G:
        pairs = list(_ordered_haplotype_pairs(g))
        h = np.array([p[0] for p in pairs])
        k = np.array([p[1] for p in pairs])
        terms = est.frequency(h) * est.frequency(k)
        total += np.log(terms.sum())
        best.append(terms.max())
    assert model.loglik(chain, params) == pytest.approx(total, rel=1e-12)

    phased = est.most_likely_haplotypes().astype(np.int64)
    chosen = est.frequency(phased[:, 0]) * est.frequency(phased[:, 1])
    np.testing.assert_allclose(chosen, best, rtol=1e-12)
    assert np.all(phased.sum(axis=1)[G >= 0] == G[G >= 0])


def test_one_window_is_haplotype_em():
    G = _small_sample(2)
    ours = WindowedHaplotypeEM(window=6, batch_size=6, tol=1e-12, **EXHAUSTIVE).fit(G)
    theirs = HaplotypeEM(batch_size=6, min_posterior=0.0, tol=1e-12).fit(G)
    assert ours.loglik_ == pytest.approx(theirs.loglik_, abs=1e-6)


def test_two_windows_reach_the_maximum_of_haplotype_em():
    """With two windows every joint distribution of the full haplotypes is a
    chain (P(a, b) = t(a) t(b | a)), so the two maxima coincide."""
    sim = simulate_haplotypes(500, snps_per_block=4, haplotypes_per_block=5, mutation=0.01, random_state=3)
    full = HaplotypeEM(batch_size=4, min_posterior=0.0, tol=1e-12, max_iter=20000).fit(sim.genotypes)
    chain = WindowedHaplotypeEM(window=2, tol=1e-12, max_iter=20000, **EXHAUSTIVE).fit(sim.genotypes)
    assert chain.loglik_ == pytest.approx(full.loglik_, abs=1e-6)
    common = full.frequencies_ > 0.01
    np.testing.assert_allclose(chain.frequency(full.haplotype_codes_[common]), full.frequencies_[common], atol=1e-4)


def test_recovers_a_simulated_multi_block_region():
    """1,000 individuals, 4 blocks of 6 SNPs, recombination 0.05 between blocks,
    windows of 8 SNPs (the default, not aligned with the blocks): the most
    common full-length haplotypes within 3 standard errors (sqrt(p (1 - p) /
    2N) <= 0.011) of the exact population frequency, and a switch error below
    the 0.01 the 10-SNP test of HaplotypeEM allows."""
    sim = simulate_haplotypes(1000, n_blocks=4, snps_per_block=6, haplotypes_per_block=4, recombination=0.05,
                              random_state=7)
    est = WindowedHaplotypeEM(random_state=0).fit(sim.genotypes)
    flat = sim.haplotypes.reshape(-1, sim.genotypes.shape[1])
    unique, counts = np.unique(flat, axis=0, return_counts=True)
    top = unique[np.argsort(-counts)[:4]]
    truth = sim.frequency(top)
    assert np.all(np.abs(est.frequency(top) - truth) <= 3 * np.sqrt(truth * (1 - truth) / 2000))
    assert switch_error(sim.haplotypes, est.most_likely_haplotypes().astype(np.int64)) < 0.01


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), window=st.integers(1, 4))
def test_plain_em_trace_never_decreases(seed, window):
    G = simulate_haplotypes(60, n_blocks=2, snps_per_block=3, recombination=0.3, mutation=0.05,
                            missing_rate=0.05, random_state=seed).genotypes
    est = WindowedHaplotypeEM(window=window, accelerate=None, random_state=seed, n_init=2).fit(G)
    trace = np.asarray(est.result_.trace)
    assert np.all(np.diff(trace) >= -1e-10 * (1 + np.abs(trace[1:])))


def test_window_frequencies_and_phase_posteriors_are_distributions():
    G = _small_sample(4)
    est = WindowedHaplotypeEM(window=2).fit(G)
    assert np.allclose(est.window_haplotypes_.groupby("window").frequency.sum(), 1.0)
    assert np.allclose(est.transitions_.groupby(["window", "from"]).probability.sum(), 1.0)
    post = est.phase_posteriors()
    assert np.allclose(post.groupby(["individual", "window"]).posterior.sum(), 1.0)
    assert (post.groupby(["individual", "window"]).most_likely.sum() == 1).all()


def test_bad_inputs_and_missing_individuals():
    G = _small_sample(5)
    with pytest.raises(ValueError, match="window"):
        WindowedHaplotypeEM(window=0).fit(G)
    with pytest.raises(ValueError, match="counts|0, 1 or 2|0..2"):
        WindowedHaplotypeEM().fit(np.where(G == 2, 3, G))
    for bad in (-1.0, float("nan"), "a"):
        with pytest.raises(ValueError, match="stage_tol must be a positive number"):
            WindowedHaplotypeEM(stage_tol=bad).fit(G)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        WindowedHaplotypeEM(window=2, max_iter=1, accelerate=None).fit(G)
    assert {str(w.message).split(":")[0] for w in caught if w.category is ConvergenceWarning} >= {
        "window of loci 0-1", "window of loci 2-3", "window of loci 4-5"}
    G = G.copy()
    G[7] = -1
    with pytest.warns(UserWarning, match="no typed allele"):
        est = WindowedHaplotypeEM(window=2).fit(G)
    assert est.all_missing_.tolist() == [7]
    phased = est.most_likely_haplotypes()
    assert all(a is None for a in phased[7].ravel())
    assert 7 not in set(est.phase_posteriors().individual)
    with pytest.raises(NotImplementedError, match="standard errors"):
        est.summary()
    with pytest.raises(NotImplementedError, match="standard errors"):
        _ = est.covariance_
    with pytest.raises(ValueError, match="haplotypes must be"):
        est.frequency(np.zeros((2, 3)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isfinite(est.bic())


def test_max_memory_holds_the_chain_and_the_windows_to_the_budget():
    """The chain's size is counted before it is built (40 bytes per move
    between the ordered pairs of adjacent windows): a budget just below a
    fit's largest estimate stops it there, naming the chromosome-scale model;
    the default budget changes nothing."""
    G = simulate_haplotypes(300, n_blocks=4, snps_per_block=6, recombination=0.1, mutation=0.01,
                            missing_rate=0.02, random_state=1).genotypes
    full = WindowedHaplotypeEM(window=6, max_memory=None, random_state=0).fit(G)
    default = WindowedHaplotypeEM(window=6, random_state=0).fit(G)
    assert default.loglik_ == full.loglik_
    with pytest.raises(MemoryBudgetError, match=r"WindowedHaplotypeEM: building the chain over 4 windows .*"
                       r"more than max_memory.*HaplotypeClusterEM"):
        WindowedHaplotypeEM(window=6, max_memory=full.memory_.peak - 1, random_state=0).fit(G)
    with pytest.raises(MemoryBudgetError, match=r"after inserting loci 0-0.*HaplotypeClusterEM"):
        WindowedHaplotypeEM(window=6, max_memory=full.memory_.fixed + 100, random_state=0).fit(G)
