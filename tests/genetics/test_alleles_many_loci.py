"""The vectorised many-loci fits: same answer as the engine per locus, closed
forms, genotype likelihoods against calling."""

import warnings

import numpy as np
import pytest

from latentlab.em import as_generator, fit_em
from latentlab.genetics import (
    AlleleFrequencies,
    allele_frequencies_by_locus,
    allele_frequencies_from_likelihoods,
    simulate_genotype_likelihoods,
    simulate_genotypes,
)
from latentlab.genetics.allele_model import AlleleFrequencyModel, LocusData
from latentlab.genetics.genotypes import pattern_counts, pattern_likelihoods
from latentlab.genetics.many_loci import _run_em, _take


@pytest.mark.parametrize("inbreeding", [False, True])
def test_each_locus_stops_like_fit_em(inbreeding):
    """From the same start, every locus gets fit_em's estimate, log-likelihood
    and iteration count (same rule, same guard)."""
    rng = np.random.default_rng(0)
    freq = rng.dirichlet(np.ones(3), size=12)
    g = simulate_genotypes(150, freq, inbreeding=0.15, missing=0.1, half_missing=0.2, n_loci=12, random_state=1)
    counts, _ = pattern_counts(g, 3)
    lik = pattern_likelihoods(3)
    scale = lik.max(axis=1)
    data = LocusData(np.broadcast_to(lik / scale[:, None], (12, *lik.shape)), counts,
                     np.broadcast_to(np.log(scale), counts.shape))
    model = AlleleFrequencyModel(3, inbreeding)
    start = model.initialize(data, as_generator(3))
    params, ll, n_iter, converged = _run_em(model, data, start, tol=1e-9, max_iter=2000)
    for v in range(12):
        one = fit_em(model, _take(data, v), tol=1e-9, max_iter=2000, init_params=_take(start, v))
        assert one.n_iter == n_iter[v] and one.converged == converged[v]
        assert one.loglik == pytest.approx(ll[v], rel=1e-12)
        np.testing.assert_allclose(one.params.frequencies, params.frequencies[v], atol=1e-12)


def test_matches_typed_allele_counting_and_estimator_se():
    g = simulate_genotypes(400, [0.6, 0.4], missing=0.05, half_missing=0.05, n_loci=30, random_state=2)
    df = allele_frequencies_by_locus(g, tol=1e-14, random_state=0)
    typed_alt = np.array([(loc[loc >= 0] == 1).mean() for loc in g])
    # tol = 1e-14 bounds the distance to the optimum by ~1e-8 (see test_alleles)
    np.testing.assert_allclose(df["freq_1"], typed_alt, atol=1e-6)
    assert (df["n_complete"] + df["n_half_missing"] + df["n_missing"] == 400).all()
    # the closed-form SE equals the engine's numerical observed-information SE
    for v in (0, 7):
        se = AlleleFrequencies(random_state=0).fit(g[v]).summary()["std_error"].to_numpy()
        np.testing.assert_allclose(df.loc[v, ["se_0", "se_1"]].to_numpy(dtype=float), se, rtol=1e-4)


def test_multiallelic_and_inbreeding_columns():
    g = simulate_genotypes(800, [0.5, 0.2, 0.2, 0.1], inbreeding=0.25, half_missing=0.1, n_loci=5, random_state=4)
    df = allele_frequencies_by_locus(g, inbreeding=True, random_state=0)
    assert [c for c in df.columns if c.startswith("freq_")] == ["freq_0", "freq_1", "freq_2", "freq_3"]
    assert "hwe_exact_p" not in df and "se_0" not in df
    assert np.all(np.abs(df["F"] - 0.25) < 0.1)  # n = 800: se(F) ~ 0.025, 4 se
    assert df["converged"].all()


def test_genotype_likelihood_em_beats_calling_at_2x():
    """The issue's criterion: 200 loci, 500 individuals, mean depth 2x."""
    rng = np.random.default_rng(20)
    p = rng.uniform(0.05, 0.5, 200)
    g = simulate_genotypes(500, np.stack([1 - p, p], axis=1), n_loci=200, random_state=21)
    gl, reads = simulate_genotype_likelihoods(g, depth=2.0, error_rate=0.01, random_state=22)
    em = allele_frequencies_from_likelihoods(gl, random_state=0)["freq_1"].to_numpy()
    called = gl.argmax(axis=2)  # 0/0, 0/1, 1/1 -> 0, 1, 2 copies of allele 1
    has_reads = reads > 0
    counted = (called * has_reads).sum(axis=1) / (2 * has_reads.sum(axis=1))
    rmse_em, rmse_call = np.sqrt(np.mean((em - p) ** 2)), np.sqrt(np.mean((counted - p) ** 2))
    assert rmse_em < rmse_call


def test_gl_many_loci_equals_estimator_per_locus():
    g = simulate_genotypes(200, [0.3, 0.3, 0.4], n_loci=3, random_state=5)
    gl, _ = simulate_genotype_likelihoods(g, depth=3.0, error_rate=0.02, random_state=6)
    gl[0, :5] = np.nan  # five missing individuals at locus 0
    df = allele_frequencies_from_likelihoods(gl, scale="ln", tol=1e-13, random_state=0)
    assert df.loc[0, "n_missing"] == 5
    for v in range(3):
        fit = AlleleFrequencies(tol=1e-13, random_state=0).fit_likelihoods(gl[v])
        np.testing.assert_allclose(df.filter(like="freq_").iloc[v], fit.frequencies_.to_numpy(), atol=1e-6)
        assert df.loc[v, "loglik"] == pytest.approx(fit.loglik_, rel=1e-9)


def test_bad_inputs_many_loci():
    g = simulate_genotypes(10, [0.5, 0.5], n_loci=3, random_state=0)
    g[1] = -1
    with pytest.raises(ValueError, match="every individual is missing|no individual carries information"):
        allele_frequencies_by_locus(g)
    with pytest.raises(ValueError, match="shape"):
        allele_frequencies_by_locus(g[0])
    with pytest.raises(TypeError, match="integer"):
        allele_frequencies_by_locus(g.astype(float))
    g[1] = 0
    with pytest.raises(ValueError, match="n_alleles=2"):
        allele_frequencies_by_locus(np.where(g == 1, 2, g), n_alleles=2)
    with pytest.raises(ValueError, match="-1 for missing"):
        allele_frequencies_by_locus(np.where(g == 1, -3, g))
    gl = np.zeros((2, 4, 3))
    gl[1, 2] = -np.inf
    with pytest.raises(ValueError, match=r"\[1, 2\].*zero"):
        allele_frequencies_from_likelihoods(gl)
    with pytest.raises(ValueError, match="K\\(K\\+1\\)/2"):
        allele_frequencies_from_likelihoods(np.zeros((2, 4, 4)))


def test_monomorphic_locus_has_no_standard_error_and_no_inbreeding_estimate():
    g = np.zeros((2, 50, 2), dtype=int)
    g[1, :10, 0] = 1
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no 0 * log 0 warnings leak out
        df = allele_frequencies_by_locus(g, random_state=0)
        df_f = allele_frequencies_by_locus(g, inbreeding=True, random_state=0)
    assert np.isnan(df.loc[0, "se_0"]) and np.isnan(df.loc[0, "se_1"])
    assert df.loc[1, "se_1"] == pytest.approx(np.sqrt(0.1 * 0.9 / 100))
    assert np.isnan(df_f.loc[0, "F"]) and np.isfinite(df_f.loc[1, "F"])
