"""HaplotypeCopyingEM: the Li & Stephens copying model iterated over
PBWT-selected conditioning haplotypes (latentlab.genetics.haplotype_copying).

The kernels are checked against brute-force enumeration of the copying paths;
the phase update against enumeration of the orientations; the estimator on
simulated founder mosaics against the truth and the other phasers."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar

from latentlab.genetics import (
    HaplotypeCopyingEM,
    WindowedHaplotypeEM,
    simulate_founder_mosaics,
    switch_error,
)
from latentlab.genetics._copying_kernels import choose_states, haploid_posteriors, pbwt_neighbours, phase_pass, sweep
from latentlab.genetics.haplotype_copying import anchor_loci, default_depth, default_spacing, jump_rate


def _enumerate(alleles, states, rho, hit, miss):
    """Brute force over every copying path: log P(x), expected jumps per
    interval, expected mismatches and P(copied allele = 1) at each locus."""
    L, K = states.shape
    total = 0.0
    jumps = np.zeros(L - 1)
    mismatches = 0.0
    ones = np.zeros(L)
    for path in itertools.product(range(K), repeat=L):
        w = 1.0 / K
        for m, k in enumerate(path):
            if m > 0:
                j = path[m - 1]
                w *= (1 - rho[m - 1]) * (j == k) + rho[m - 1] / K
            if alleles[m] >= 0:
                w *= hit if states[m, k] == alleles[m] else miss
        total += w
        for m in range(1, L):
            j, k = path[m - 1], path[m]
            jumps[m - 1] += w * (rho[m - 1] / K) / ((1 - rho[m - 1]) * (j == k) + rho[m - 1] / K)
        mismatches += w * sum(states[m, k] != alleles[m] for m, k in enumerate(path) if alleles[m] >= 0)
        ones += w * np.array([states[m, k] == 1 for m, k in enumerate(path)])
    return np.log(total), jumps / total, mismatches / total, ones / total


def _haploid(alleles, states, rho, hit, miss):
    L, K = states.shape
    posterior, jumps, mismatches = np.empty(L), np.zeros(L - 1), np.zeros(2)
    ll = haploid_posteriors(np.asarray(alleles, np.int8), np.ascontiguousarray(states, np.int8), rho, hit, miss,
                            np.empty((L, K)), np.empty(K), posterior, jumps, mismatches)
    return ll, posterior, jumps, mismatches


@pytest.mark.parametrize("K", [2, 3])
def test_haploid_forward_backward_equals_enumeration(K):
    rng = np.random.default_rng(K)
    L = 6
    states = rng.integers(0, 2, (L, K)).astype(np.int8)
    alleles = rng.integers(0, 2, L).astype(np.int8)
    alleles[[1, 4]] = -1  # missing
    rho = rng.uniform(0.05, 0.6, L - 1)
    hit, miss = 0.97, 0.03
    ll, posterior, jumps, mismatches = _haploid(alleles, states, rho, hit, miss)
    true_ll, true_jumps, true_mismatches, ones = _enumerate(alleles, states, rho, hit, miss)
    assert ll == pytest.approx(true_ll, abs=1e-10)
    np.testing.assert_allclose(jumps, true_jumps, atol=1e-10)
    assert mismatches[0] == pytest.approx(true_mismatches, abs=1e-10)
    assert mismatches[1] == np.sum(alleles >= 0)
    missing = alleles < 0
    np.testing.assert_allclose(posterior[missing], ones[missing] * hit + (1 - ones[missing]) * miss, atol=1e-10)
    np.testing.assert_array_equal(posterior[~missing], alleles[~missing])


def _pair_loglik(genotypes, hap, states, rho, hit, miss):
    """log P(h1) + log P(h2) under the copying model (missing genotypes emit nothing)."""
    total = 0.0
    for c in range(2):
        alleles = np.where(genotypes >= 0, hap[c], -1).astype(np.int8)
        total += _haploid(alleles, states, rho, hit, miss)[0]
    return total


def _random_case(rng, L, K):
    states = rng.integers(0, 2, (L, K)).astype(np.int8)
    genotypes = rng.integers(0, 3, L).astype(np.int8)
    genotypes[rng.random(L) < 0.15] = -1
    first = rng.integers(0, 2, L).astype(np.int8)
    hap = np.stack([np.where(genotypes == 1, first, np.maximum(genotypes, 0) // 2),
                    np.where(genotypes == 1, 1 - first, np.maximum(genotypes, 0) // 2)]).astype(np.int8)
    hap[:, genotypes < 0] = rng.integers(0, 2, (2, np.sum(genotypes < 0)))
    return states, genotypes, hap, rng.uniform(0.02, 0.4, L - 1)


def _pass(genotypes, hap, states, rho, hit, miss, suffix_hets):
    L, K = states.shape
    out = hap.copy()
    phase_pass(genotypes, out, states, rho, hit, miss, suffix_hets, np.empty((2, L, K)), np.empty((2, K)))
    return out


def test_with_two_heterozygous_loci_the_pass_picks_the_more_probable_orientation():
    rng = np.random.default_rng(5)
    picked = set()
    for _ in range(40):
        states, genotypes, hap, rho = _random_case(rng, 7, 4)
        genotypes[genotypes == 1] = 0
        genotypes[[1, 5]] = 1
        hap[:, genotypes == 0] = 0
        hap[:, [1, 5]] = [[0, 1], [1, 0]]
        out = _pass(genotypes, hap, states, rho, 0.95, 0.05, True)
        swapped = hap.copy()
        swapped[:, 5] = swapped[::-1, 5]
        scores = [_pair_loglik(genotypes, h, states, rho, 0.95, 0.05) for h in (hap, swapped)]
        if scores[0] == pytest.approx(scores[1], abs=1e-12):
            continue  # the copying model cannot tell the orientations apart here
        relative = int((out[0, 1] ^ out[0, 5]) != (hap[0, 1] ^ hap[0, 5]))  # 1: the pass swapped the pair's phase
        assert relative == int(np.argmax(scores))
        np.testing.assert_array_equal(out.sum(axis=0)[genotypes >= 0], genotypes[genotypes >= 0])
        picked.add(relative)
    assert picked == {0, 1}, "the cases should exercise both orientations"


def test_with_three_heterozygous_loci_the_pass_reaches_the_most_probable_of_the_four_orientations():
    # at the middle locus the pass weighs a switch, no switch, and the locus alone changing sides
    # (with or without a switch): all four phases of loci 3 and 5 relative to locus 1
    rng = np.random.default_rng(8)
    needs_cross = 0
    for _ in range(60):
        states, genotypes, hap, rho = _random_case(rng, 7, 4)
        genotypes[genotypes == 1] = 0
        genotypes[[1, 3, 5]] = 1
        hap[:, genotypes == 0] = 0
        hap[:, [1, 3, 5]] = np.array([[0, 1], [1, 0]])[rng.integers(0, 2, 3)].T
        candidates = []
        for flips in itertools.product((0, 1), repeat=2):
            h = hap.copy()
            for locus, f in zip((3, 5), flips):
                if f:
                    h[:, locus] = h[::-1, locus]
            candidates.append(_pair_loglik(genotypes, h, states, rho, 0.95, 0.05))
        out = _pass(genotypes, hap, states, rho, 0.95, 0.05, True)
        assert _pair_loglik(genotypes, out, states, rho, 0.95, 0.05) == pytest.approx(max(candidates), abs=1e-9)
        # switches alone reach the best of (none, both) at locus 3, then a switch at locus 5 or not
        by_switches = max(candidates[0], candidates[1]) if candidates[0] >= candidates[3] else max(candidates[2:])
        needs_cross += int(by_switches < max(candidates) - 1e-9)
    assert needs_cross > 0, "the cases should include one that switches alone cannot mend"


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), L=st.integers(3, 30), K=st.integers(1, 6))
def test_a_pass_with_the_suffix_never_lowers_the_pair_probability(seed, L, K):
    rng = np.random.default_rng(seed)
    states, genotypes, hap, rho = _random_case(rng, L, K)
    before = _pair_loglik(genotypes, hap, states, rho, 0.9, 0.1)
    out = _pass(genotypes, hap, states, rho, 0.9, 0.1, True)
    assert _pair_loglik(genotypes, out, states, rho, 0.9, 0.1) >= before - 1e-9
    observed = genotypes >= 0
    np.testing.assert_array_equal(out.sum(axis=0)[observed], genotypes[observed])


def test_missing_alleles_after_the_last_heterozygous_locus_are_their_chromosomes_posterior_mode():
    """After the last heterozygous locus no later decision swaps a chromosome's suffix, so the pass's
    guess there must be the mode of the chromosome's own posterior (the haploid forward-backward,
    itself checked against enumeration above). Earlier guesses are working guesses: a later decision
    can join another suffix to their prefix."""
    rng = np.random.default_rng(8)
    checked = 0
    for _ in range(200):
        states, genotypes, hap, rho = _random_case(rng, 9, 3)
        hets = np.flatnonzero(genotypes == 1)
        if hets.size < 2:
            continue
        out = _pass(genotypes, hap, states, rho, 0.95, 0.05, True)
        outside = (genotypes < 0) & (np.arange(9) > hets[-1])
        for c in range(2):
            alleles = np.where(genotypes >= 0, out[c], -1).astype(np.int8)
            posterior = _haploid(alleles, states, rho, 0.95, 0.05)[1]
            for m in np.flatnonzero(outside):
                if abs(posterior[m] - 0.5) > 1e-9:
                    assert out[c, m] == int(posterior[m] > 0.5), (m, c)
                    checked += 1
    assert checked > 30


def test_the_reverse_sweep_is_the_forward_sweep_on_reversed_loci():
    rng = np.random.default_rng(9)
    n, L = 30, 25
    genotypes = rng.integers(0, 3, (n, L)).astype(np.int8)
    genotypes[rng.random((n, L)) < 0.1] = -1
    hap = np.stack([np.where(genotypes == 2, 1, 0), np.where(genotypes >= 1, 1, 0)], axis=1).astype(np.int8)
    rho = rng.uniform(0.01, 0.2, L - 1)
    neighbours = pbwt_neighbours(hap.reshape(2 * n, L), np.array([5, 15]), 3)
    backward = hap.copy()
    forward_on_reversed = np.ascontiguousarray(hap[:, :, ::-1])
    changed = sweep(genotypes, backward, neighbours, 20, rho, 0.97, 0.03, True, True)
    same = sweep(np.ascontiguousarray(genotypes[:, ::-1]), forward_on_reversed, neighbours, 20,
                 np.ascontiguousarray(rho[::-1]), 0.97, 0.03, True, False)
    assert changed == same > 0
    np.testing.assert_array_equal(backward, forward_on_reversed[:, :, ::-1])


def test_pbwt_neighbours_are_the_longest_matches_ending_at_the_anchor():
    rng = np.random.default_rng(2)
    H, L = 40, 30
    haps = rng.integers(0, 2, (H, L)).astype(np.int8)
    anchor = 25
    out = pbwt_neighbours(haps, np.array([anchor]), 1)
    for h in range(H):
        lengths = [_match_length(haps[h], haps[j], anchor) if j != h else -1 for j in range(H)]
        found = [j for j in out[h, 0] if j >= 0]
        # the PBWT order sorts reversed prefixes: the longest match is an adjacent one
        assert max(lengths[j] for j in found) == max(lengths)


def test_the_default_depth_fills_the_conditioning_sets_on_a_short_region():
    # 400 x 60 loci: 12 anchors, so depth 8 collects at most 2 x 2 x 8 x 12 = 384 candidates per individual
    sim = simulate_founder_mosaics(400, 60, random_state=11)
    n, L = sim.genotypes.shape
    anchors = anchor_loci(L, default_spacing(L))
    n_states = 400
    depth = default_depth(n_states, anchors.size)
    assert depth * anchors.size >= n_states and default_depth(n_states, 220) == 8  # 8 on a long region
    hits = np.zeros(2 * n, dtype=np.int64)
    sizes = {}
    for d in (depth, 8):
        neighbours = pbwt_neighbours(sim.haplotypes.reshape(2 * n, L).astype(np.int8), anchors, d)
        sizes[d] = np.array([choose_states(neighbours, i, n_states, hits).size for i in range(n)])
    # neighbours repeat from anchor to anchor (20 founders): measured 380 and 103 states on average
    assert sizes[depth].mean() > 0.9 * n_states
    assert sizes[8].mean() < 0.5 * 384
    # and the estimator uses it
    fits = [HaplotypeCopyingEM(pbwt_depth=d, max_iter=4, random_state=0).fit(sim.genotypes) for d in (None, depth)]
    np.testing.assert_array_equal(fits[0].haplotypes_, fits[1].haplotypes_)
    assert fits[0].loglik_ == fits[1].loglik_


def _match_length(a, b, end):
    n = 0
    while end - n >= 0 and a[end - n] == b[end - n]:
        n += 1
    return n


def test_jump_rate_maximises_the_expected_complete_data_loglik():
    rng = np.random.default_rng(3)
    d = rng.uniform(10, 500, 50)
    J = rng.uniform(0, 3, 50)
    N = 40

    def objective(log_rate):
        lam = np.exp(log_rate)
        return -np.sum(J * np.log(-np.expm1(-lam * d)) - (N - J) * lam * d)

    best = minimize_scalar(objective, bounds=(np.log(1e-9), np.log(1.0)), method="bounded",
                           options={"xatol": 1e-12})
    assert np.log(jump_rate(J, N, d)) == pytest.approx(best.x, abs=1e-6)


@pytest.fixture(scope="module")
def mosaics():
    sim = simulate_founder_mosaics(400, 60, missing_rate=0.05, random_state=11)
    return sim, sim.genotypes, sim.genotypes < 0


@pytest.fixture(scope="module")
def copying_fit(mosaics):
    _, G, _ = mosaics
    return HaplotypeCopyingEM(random_state=0).fit(G)


def _true_model_phase(sim, G):
    """Viterbi phase with the parameters that made the mosaics: the floor any phaser can expect."""
    from latentlab.genetics.haplotype_cluster_model import (
        THETA_BOUND,
        ClusterData,
        ClusterParams,
        HaplotypeClusterModel,
    )

    lik = np.ones(G.shape + (3,))
    lik[G >= 0] = np.eye(3)[G[G >= 0]]
    L = G.shape[1]
    theta = np.where(sim.founders.T == 1, 1 - sim.mutation, sim.mutation)
    params = ClusterParams(np.tile(sim.frequencies, (L, 1)), np.clip(theta, THETA_BOUND, 1 - THETA_BOUND),
                           np.full(L - 1, sim.recombination))
    return HaplotypeClusterModel(sim.founders.shape[0]).most_likely_haplotypes(ClusterData(lik), params)


def test_phase_on_founder_mosaics_beats_the_windowed_phaser_and_nears_the_true_model(mosaics, copying_fit):
    sim, G, _ = mosaics
    truth = sim.haplotypes.astype(np.int64)
    ours = switch_error(truth, copying_fit.haplotypes_.astype(np.int64))
    windowed = switch_error(truth, WindowedHaplotypeEM(random_state=0).fit(G).most_likely_haplotypes().astype(float))
    floor = switch_error(truth, _true_model_phase(sim, G).astype(np.int64))
    # 10,617 heterozygous pairs, 65 switches at the floor (sd about 8): 1.5 times is beyond the noise
    assert ours < windowed
    assert ours < 1.5 * floor


def test_observed_genotypes_are_kept_and_missing_ones_imputed(mosaics, copying_fit):
    sim, G, mask = mosaics
    fit = copying_fit
    hap = fit.haplotypes_
    np.testing.assert_array_equal(hap.sum(axis=1)[~mask], G[~mask])
    p = fit.genotype_probabilities_
    np.testing.assert_allclose(p.sum(axis=2), 1.0, atol=1e-12)
    np.testing.assert_array_equal(p[~mask].argmax(axis=1), G[~mask])
    truth = sim.haplotypes.sum(axis=1)[mask]
    frequency = np.array([g[g >= 0].mean() / 2 for g in G.T])
    baseline = np.mean((2 * np.broadcast_to(frequency, G.shape)[mask] - truth) ** 2)
    assert np.mean((fit.dosages_[mask] - truth) ** 2) < 0.5 * baseline


def test_rates_and_trace(copying_fit):
    fit = copying_fit
    assert 0 < fit.error_rate_ < 0.05
    assert fit.jump_rate_ > 0
    table = fit.jump_probabilities_
    assert len(table) == 59 and np.all((table["probability"] > 0) & (table["probability"] < 1))
    assert list(fit.trace_.columns) == ["iteration", "suffix_phase", "phase_changes", "sample_loglik", "error_rate",
                                        "jump_rate"]
    assert len(fit.trace_) == fit.n_iter_
    assert fit.trace_["sample_loglik"].iloc[-1] > fit.trace_["sample_loglik"].iloc[0]
    with pytest.raises(ValueError, match="summary"):
        fit.summary()


def test_jumps_depend_on_distance_only_through_the_rate_times_distance(mosaics):
    """Doubling every distance must halve the estimated rate and change nothing else (the start,
    0.01 over the mean distance, scales too); uneven positions give 1 - exp(-rate d) per interval."""
    _, G, _ = mosaics
    positions = np.cumsum(np.r_[0, np.where(np.arange(59) % 2, 100, 1000)])
    once = HaplotypeCopyingEM(random_state=0, max_iter=5).fit(G, positions=positions)
    twice = HaplotypeCopyingEM(random_state=0, max_iter=5).fit(G, positions=2 * positions)
    assert twice.jump_rate_ == pytest.approx(once.jump_rate_ / 2, rel=1e-9)
    np.testing.assert_array_equal(twice.haplotypes_, once.haplotypes_)
    table = once.jump_probabilities_
    np.testing.assert_allclose(table["probability"], -np.expm1(-once.jump_rate_ * np.diff(positions)), rtol=1e-12)
    with pytest.raises(ValueError, match="positions"):
        HaplotypeCopyingEM().fit(G, positions=positions[::-1])


def test_a_locus_nobody_was_typed_at_and_too_few_iterations_are_refused(mosaics):
    _, G, _ = mosaics
    unseen = G.copy()
    unseen[:, 7] = -1
    with pytest.raises(ValueError, match="locus 7"):
        HaplotypeCopyingEM().fit(unseen)
    with pytest.raises(ValueError, match="max_iter"):
        HaplotypeCopyingEM(max_iter=3, n_burnin=3).fit(G)


def test_a_fit_is_reproducible_from_random_state(mosaics, copying_fit):
    _, G, _ = mosaics
    again = HaplotypeCopyingEM(random_state=0).fit(G)
    np.testing.assert_array_equal(again.haplotypes_, copying_fit.haplotypes_)
    assert again.loglik_ == copying_fit.loglik_


def test_vcf_in_phase_and_imputation_out(mosaics, copying_fit, vcf_round_trip):
    """Unphased VCF with missing genotypes -> HaplotypeCopyingEM -> phased
    GT, DS and GP -> read back: same samples and sites, every called
    genotype kept, the missing ones filled (``vcf_round_trip``); the fit
    equals the one on the array."""
    _, geno, _ = mosaics
    _, fit, back = vcf_round_trip(geno, lambda data: HaplotypeCopyingEM(random_state=0).fit(data.genotypes))
    np.testing.assert_array_equal(fit.haplotypes_, copying_fit.haplotypes_)
    np.testing.assert_array_equal(back.haplotypes, fit.haplotypes_)
