"""The haplotype-cluster model (fastPHASE) and HaplotypeClusterEM.

Exact checks by brute-force enumeration of the two chromosomes' cluster
paths (likelihood, expected statistics, genotype posteriors, the Viterbi
pair), the engine contract, a monotone plain-EM trace, and recovery of a
simulated truth.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from latentlab.em import fit_em
from latentlab.em.testing import check_model
from latentlab.genetics import HaplotypeClusterEM, WindowedHaplotypeEM, simulate_founder_mosaics, switch_error
from latentlab.genetics import _cluster_kernels as kernels
from latentlab.genetics.haplotype_cluster_model import ClusterData, ClusterParams, HaplotypeClusterModel


def _random_params(rng, L, K):
    return ClusterParams(rng.dirichlet(np.ones(K), size=L), rng.uniform(0.05, 0.95, (L, K)), rng.uniform(0.05, 0.6, L - 1))


def _random_likelihoods(rng, n, L):
    """Genotype likelihoods: free values, one called individual, one missing locus."""
    lik = rng.uniform(0.0, 1.0, (n, L, 3))
    lik[0] = np.eye(3)[rng.integers(0, 3, L)]
    lik[1, 2] = 1.0
    return lik


class Enumeration:
    """Every pair of cluster paths of one individual, with its probability."""

    def __init__(self, params: ClusterParams, lik_i: np.ndarray):
        alpha, theta, rho = params.alpha, params.theta, params.rho
        L, K = theta.shape
        Z = np.array(list(itertools.product(range(K), repeat=L)))
        pz = alpha[0, Z[:, 0]].copy()
        for m in range(1, L):
            pz *= rho[m - 1] * alpha[m, Z[:, m]] + (1 - rho[m - 1]) * (Z[:, m] == Z[:, m - 1])
        self.Z, self.theta, self.lik, self.params = Z, theta, lik_i, params
        self.a = [theta[m, Z[:, m]][:, None] for m in range(L)]
        self.b = [theta[m, Z[:, m]][None, :] for m in range(L)]
        self.E = [self._emission(m) for m in range(L)]
        joint = np.outer(pz, pz)
        for e in self.E:
            joint = joint * e
        self.total = joint.sum()
        self.post = joint / self.total

    def _emission(self, m):
        a, b, li = self.a[m], self.b[m], self.lik[m]
        return li[0] * (1 - a) * (1 - b) + li[1] * (a * (1 - b) + b * (1 - a)) + li[2] * a * b

    def statistics(self):
        L, K = self.theta.shape
        allele, copies, jumps = np.zeros((L, K)), np.zeros((L, K)), np.zeros((L, K))
        w, Z = self.post, self.Z
        for m in range(L):
            a, b, li = self.a[m], self.b[m], self.lik[m]
            first = a * (li[2] * b + li[1] * (1 - b)) / self.E[m]
            second = b * (li[2] * a + li[1] * (1 - a)) / self.E[m]
            for k in range(K):
                in1, in2 = (Z[:, m] == k)[:, None], (Z[:, m] == k)[None, :]
                copies[m, k] = (w * in1).sum() + (w * in2).sum()
                allele[m, k] = (w * in1 * first).sum() + (w * in2 * second).sum()
                if m:
                    r, al = self.params.rho[m - 1], self.params.alpha[m, k]
                    # a chromosome that stays in k may have jumped back into k
                    jumped = np.where(Z[:, m - 1] == k, r * al / (r * al + 1 - r), 1.0) * (Z[:, m] == k)
                    jumps[m, k] = (w * jumped[:, None]).sum() + (w * jumped[None, :]).sum()
        return allele, copies, jumps

    def genotype_posteriors(self):
        out = np.zeros((len(self.E), 3))
        for m, e in enumerate(self.E):
            a, b, li = self.a[m], self.b[m], self.lik[m]
            for g, pg in enumerate(((1 - a) * (1 - b), a * (1 - b) + b * (1 - a), a * b)):
                out[m, g] = (self.post * li[g] * pg / e).sum()
        return out


@pytest.fixture(scope="module")
def case():
    """Ten loci, two clusters, three individuals: called, partly missing,
    and free genotype likelihoods."""
    rng = np.random.default_rng(1)
    params = _random_params(rng, 10, 2)
    lik = _random_likelihoods(rng, 3, 10)
    return params, lik, [Enumeration(params, li) for li in lik]


def test_loglik_equals_enumeration_on_ten_loci(case):
    params, lik, enum = case
    ll = kernels.log_likelihoods(lik, params.alpha, params.theta, params.rho)
    np.testing.assert_allclose(ll, [np.log(e.total) for e in enum], rtol=0, atol=1e-10)
    _, total = HaplotypeClusterModel(2).e_step(ClusterData(lik), params)
    assert total == pytest.approx(sum(np.log(e.total) for e in enum), abs=1e-10)


def test_expected_statistics_equal_enumeration(case):
    params, lik, enum = case
    stats, _ = HaplotypeClusterModel(2).e_step(ClusterData(lik), params)
    expected = [sum(parts) for parts in zip(*(e.statistics() for e in enum))]
    for name, want in zip(("allele", "copies", "jumps"), expected):
        np.testing.assert_allclose(getattr(stats, name), want, rtol=0, atol=1e-10, err_msg=name)


def test_genotype_posteriors_equal_enumeration(case):
    params, lik, enum = case
    post = HaplotypeClusterModel(2).genotype_posteriors(ClusterData(lik), params)
    for i, e in enumerate(enum):
        np.testing.assert_allclose(post[i], e.genotype_posteriors(), rtol=0, atol=1e-10)


def test_three_clusters_equal_enumeration():
    rng = np.random.default_rng(5)
    params = _random_params(rng, 6, 3)
    lik = _random_likelihoods(rng, 2, 6)
    enum = [Enumeration(params, li) for li in lik]
    ll = kernels.log_likelihoods(lik, params.alpha, params.theta, params.rho)
    np.testing.assert_allclose(ll, [np.log(e.total) for e in enum], rtol=0, atol=1e-10)
    stats, _ = HaplotypeClusterModel(3).e_step(ClusterData(lik), params)
    for name, want in zip(("allele", "copies", "jumps"), [sum(parts) for parts in zip(*(e.statistics() for e in enum))]):
        np.testing.assert_allclose(getattr(stats, name), want, rtol=0, atol=1e-10, err_msg=name)
    post = HaplotypeClusterModel(3).genotype_posteriors(ClusterData(lik), params)
    for i, e in enumerate(enum):
        np.testing.assert_allclose(post[i], e.genotype_posteriors(), rtol=0, atol=1e-10)


def test_viterbi_pair_is_the_most_probable_pair_of_paths_and_alleles():
    rng = np.random.default_rng(2)
    L, K = 6, 2
    params = _random_params(rng, L, K)
    lik = _random_likelihoods(rng, 3, L)
    got = kernels.viterbi_haplotypes(lik, params.alpha, params.theta, params.rho)
    for i, li in enumerate(lik):
        e = Enumeration(params, li)
        best, best_h = -1.0, None
        prior = e.post * e.total / np.prod(e.E, axis=0)  # P(z1) P(z2)
        for h1 in itertools.product((0, 1), repeat=L):
            for h2 in itertools.product((0, 1), repeat=L):
                p = prior.copy()
                for m in range(L):
                    a, b = e.a[m], e.b[m]
                    p = p * li[m, h1[m] + h2[m]] * (a if h1[m] else 1 - a) * (b if h2[m] else 1 - b)
                if p.max() > best:
                    best, best_h = p.max(), (h1, h2)
        path_p = np.prod([li[m, got[i, 0, m] + got[i, 1, m]] for m in range(L)])
        assert path_p > 0
        assert np.array_equal(got[i], np.array(best_h)) or np.array_equal(got[i], np.array(best_h)[::-1])


def test_model_keeps_the_engine_contract_on_genotype_likelihoods():
    """Likelihood offsets belong to individuals, so parts add up to the whole."""
    rng = np.random.default_rng(8)
    lik = rng.uniform(0.01, 1.0, (30, 6, 3))
    data = ClusterData(lik, offset=rng.normal(-3.0, 1.0, 30))
    check_model(HaplotypeClusterModel(2), data, parts=[data.subset(slice(0, 11)), data.subset(slice(11, 30))],
                covariance_rtol=None)
    whole = HaplotypeClusterModel(2).loglik(data, _random_params(rng, 6, 2))
    assert np.isfinite(whole)


def test_model_keeps_the_engine_contract():
    sim = simulate_founder_mosaics(40, 12, n_founders=4, missing_rate=0.1, random_state=0)
    lik = np.ones(sim.genotypes.shape + (3,))
    seen = sim.genotypes >= 0
    lik[seen] = np.eye(3)[sim.genotypes[seen]]
    data = ClusterData(lik)
    check_model(HaplotypeClusterModel(3), data, parts=[data.subset(slice(0, 15)), data.subset(slice(15, 40))],
                covariance_rtol=None)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), L=st.integers(2, 8), K=st.integers(1, 4))
def test_plain_em_trace_never_decreases(seed, L, K):
    rng = np.random.default_rng(seed)
    lik = rng.uniform(0.0, 1.0, (12, L, 3))
    lik[rng.random((12, L)) < 0.3] = np.eye(3)[rng.integers(0, 3)]
    result = fit_em(HaplotypeClusterModel(K), ClusterData(lik), max_iter=30, tol=0, random_state=seed)
    trace = result.trace
    assert np.all(np.diff(trace) >= -1e-9 * np.abs(trace[1:]))


@pytest.fixture(scope="module")
def mosaic():
    return simulate_founder_mosaics(400, 40, n_founders=8, missing_rate=0.03, random_state=11)


@pytest.fixture(scope="module")
def mosaic_fit(mosaic):
    return HaplotypeClusterEM(n_clusters=8, n_starts=2, random_state=0).fit(mosaic.genotypes, positions=np.arange(40) * 1e3)


def test_phase_of_founder_mosaics_beats_the_windowed_model(mosaic, mosaic_fit):
    windowed = WindowedHaplotypeEM(random_state=0).fit(mosaic.genotypes).most_likely_haplotypes()
    ours = switch_error(mosaic.haplotypes, mosaic_fit.haplotypes_)
    theirs = switch_error(mosaic.haplotypes, windowed.astype(float))
    assert ours < theirs, (ours, theirs)


def test_masked_genotypes_are_imputed_better_than_by_allele_frequencies(mosaic, mosaic_fit):
    missing = mosaic.genotypes < 0
    truth = mosaic.haplotypes.sum(axis=1)[missing]
    ours = np.mean((mosaic_fit.dosages_[missing] - truth) ** 2)
    freq = np.array([g[g >= 0].mean() for g in mosaic.genotypes.T])  # 2p, the dosage without linkage
    baseline = np.mean((np.broadcast_to(freq, mosaic.genotypes.shape)[missing] - truth) ** 2)
    assert ours < 0.5 * baseline, (ours, baseline)
    called = ~missing
    assert np.array_equal(np.argmax(mosaic_fit.genotype_probabilities_, axis=2)[called], mosaic.genotypes[called])


def test_fitted_attributes_have_their_documented_shapes(mosaic, mosaic_fit):
    n, L = mosaic.genotypes.shape
    fit = mosaic_fit
    assert fit.haplotypes_.shape == (n, 2, L) and fit.genotype_probabilities_.shape == (n, L, 3)
    np.testing.assert_allclose(fit.genotype_probabilities_.sum(axis=2), 1.0, atol=1e-12)
    assert fit.allele_frequencies_.shape == (L, 8) and fit.cluster_weights_.shape == (L, 8)
    jumps = fit.jump_probabilities_
    assert list(jumps.columns) == ["from", "to", "probability", "distance", "rate"] and len(jumps) == L - 1
    assert fit.loglik_ == max(fit.start_logliks_)
    called = mosaic.genotypes >= 0
    assert np.array_equal(fit.haplotypes_.sum(axis=1)[called], mosaic.genotypes[called])
    with pytest.raises(ValueError, match="free parameters"):
        fit.summary()


def test_genotype_likelihoods_of_sure_calls_give_the_genotype_fit(mosaic):
    G = mosaic.genotypes[:60, :10]
    gl = np.where(np.eye(3, dtype=bool)[np.where(G < 0, 0, G)], 0.0, -300.0)
    gl[G < 0] = np.nan
    a = HaplotypeClusterEM(n_clusters=3, n_starts=1, max_iter=5, random_state=1).fit(G)
    b = HaplotypeClusterEM(n_clusters=3, n_starts=1, max_iter=5, random_state=1).fit_likelihoods(gl, scale="log10")
    assert a.loglik_ == pytest.approx(b.loglik_, abs=1e-9)
    np.testing.assert_allclose(a.genotype_probabilities_, b.genotype_probabilities_, atol=1e-9)


def test_the_number_of_clusters_is_chosen_by_held_out_imputation(mosaic):
    fit = HaplotypeClusterEM(cluster_grid=(1, 8), n_starts=1, max_iter=20, random_state=0).fit(mosaic.genotypes)
    table = fit.cluster_selection_
    assert list(table.n_clusters) == [1, 8] and fit.n_clusters_ == 8
    assert table.imputation_error.iloc[1] < table.imputation_error.iloc[0]


@pytest.mark.parametrize("kwargs, data, word", [
    ({"n_clusters": 0}, None, "n_clusters"),
    ({"n_starts": 0}, None, "n_starts"),
    ({"holdout": 1.5}, None, "holdout"),
    ({"cluster_grid": (0, 2)}, None, "cluster_grid"),
    ({"n_clusters": None, "cluster_grid": ()}, None, "cluster_grid"),
    ({}, np.array([[0, 1, 3]]), "genotypes"),
    ({}, np.array([[0, 1, 2]])[:, :1], "2 loci"),
])
def test_bad_settings_and_genotypes_are_refused(kwargs, data, word, mosaic):
    G = mosaic.genotypes[:20, :5] if data is None else data
    with pytest.raises(ValueError, match=word):
        HaplotypeClusterEM(**{"n_clusters": 2, **kwargs}).fit(G)


def test_bad_positions_and_likelihoods_are_refused(mosaic):
    G = mosaic.genotypes[:20, :5]
    with pytest.raises(ValueError, match=r"positions\[3\]"):
        HaplotypeClusterEM(n_clusters=2).fit(G, positions=[1, 2, 3, 2, 4])
    with pytest.raises(ValueError, match="positions"):
        HaplotypeClusterEM(n_clusters=2).fit(G, positions=[1, 2, 3])
    split = HaplotypeClusterEM(n_clusters=2, n_starts=1, max_iter=3).fit(G, positions=[1, 2, 2, 3, 4])
    assert split.jump_probabilities_.distance.tolist() == [1, 0, 1, 1]  # split multi-allelic sites share a position
    with pytest.raises(ValueError, match="gl"):
        HaplotypeClusterEM(n_clusters=2).fit_likelihoods(np.zeros((20, 5, 6)))


def test_consensus_phase_corrects_switches_the_starts_make_in_different_places():
    from latentlab.genetics.haplotype_clusters import consensus_phase

    rng = np.random.default_rng(4)
    truth = rng.integers(0, 2, (5, 2, 30))
    starts = np.repeat(truth[None], 3, axis=0)
    for s, cut in enumerate((5, 12, 20)):  # each start swaps its chromosomes from a different locus on
        starts[s, :, :, cut:] = starts[s, :, ::-1, cut:]
    assert all(switch_error(truth, h) > 0 for h in starts)
    fixed = consensus_phase(starts, best=0)
    assert switch_error(truth, fixed) == 0.0
    assert np.array_equal(fixed.sum(axis=1), truth.sum(axis=1))
    np.testing.assert_array_equal(consensus_phase(starts[:2], best=1), starts[1])  # two starts: ties go to best


def test_consensus_phase_adds_no_switch_where_the_starts_impute_differently():
    from latentlab.genetics.haplotype_clusters import consensus_phase

    truth = np.array([[[0, 1, 0, 1, 0, 1, 0], [1, 0, 1, 0, 1, 0, 1]]])  # heterozygous everywhere
    best = truth.copy()
    best[0, :, 5:] = best[0, ::-1, 5:]  # one switch, between loci 4 and 5
    others = np.repeat(truth[None], 2, axis=0)
    others[:, 0, :, 3] = 0  # the other starts impute locus 3 homozygous
    fixed = consensus_phase(np.concatenate([best[None], others]), best=0)
    assert switch_error(truth, best) > 0 and switch_error(truth, fixed) == 0.0


def test_vcf_in_phase_and_imputation_out(mosaic, vcf_round_trip):
    """Unphased VCF with missing genotypes -> HaplotypeClusterEM -> phased GT,
    DS and GP -> read back: same samples and sites, every called genotype
    kept, the missing ones filled with the model's dosages (``vcf_round_trip``)."""
    vcf_round_trip(mosaic.genotypes[:80, :12], lambda data: HaplotypeClusterEM(
        n_clusters=4, n_starts=1, random_state=0).fit(data.genotypes, positions=data.sites["pos"]))


def test_phred_and_ln_likelihoods_give_the_same_fit(mosaic):
    """The ln scale (that of ``VcfData.likelihoods``) and the PL it comes from give one fit."""
    G = mosaic.genotypes[:50, :8]
    pl = np.where(np.eye(3, dtype=bool)[np.where(G < 0, 0, G)], 0.0, 30.0)
    pl[G < 0] = np.nan
    a = HaplotypeClusterEM(n_clusters=3, n_starts=1, max_iter=5, random_state=1).fit_likelihoods(pl, scale="phred")
    b = HaplotypeClusterEM(n_clusters=3, n_starts=1, max_iter=5, random_state=1).fit_likelihoods(
        -pl / 10 * np.log(10), scale="ln")
    assert a.loglik_ == pytest.approx(b.loglik_, rel=1e-12)
