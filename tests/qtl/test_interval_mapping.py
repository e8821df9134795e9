"""The interval-mapping model on the engine, the compiled scan against it,
recovery of a simulated QTL, intervals, permutations and plots."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from latentlab import fit_em
from latentlab._compiled_linalg import normal_equations_solve
from latentlab.em.engine import em_rate, has_converged
from latentlab.em.testing import check_model
from latentlab.qtl import IntervalMapping, IntervalMappingModel, PositionData, simulate_cross
from latentlab.qtl._kernels import converged

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


def _position(scan, chromosome, position):
    data, _ = scan._position_data(chromosome, position)
    return data


@pytest.fixture(scope="module")
def bc_scan():
    cross = simulate_cross(300, qtl=[("2", 47.0, 0.8)], missing=0.2, error_prob=0.01, random_state=3)
    return IntervalMapping(step=2, tol=1e-10).fit(cross)


def test_model_keeps_the_engine_contract(bc_scan):
    data = _position(bc_scan, "2", 46.0)
    half = data.y.size // 2
    parts = [PositionData(data.y[s], data.X[s], data.prob[:, s]) for s in (slice(None, half), slice(half, None))]
    check_model(IntervalMappingModel(), data, parts=parts)


def test_model_with_covariates_keeps_the_contract(fake_bc):
    scan = IntervalMapping("hk", step=5).fit(fake_bc, "pheno1", covariates=["sex", "age"])
    data = _position(scan, "1", 0.0)
    check_model(IntervalMappingModel(), data)


def test_scan_log_likelihood_equals_the_engine_fit_at_each_position(bc_scan):
    """The scan's LOD at a position is the engine's maximised log-likelihood
    there less the null one (the compiled loop and the engine share the E- and
    M-step; a different start reaches the same maximum)."""
    y = bc_scan._y
    rss0 = ((y - y.mean()) ** 2).sum()
    ll0 = -y.size / 2 * (np.log(2 * np.pi * rss0 / y.size) + 1)
    for _, row in bc_scan.lod_.iloc[::17].iterrows():
        fit = fit_em(IntervalMappingModel(), _position(bc_scan, row["chromosome"], row["position"]), tol=1e-12,
                     max_iter=5000, random_state=0)
        assert (fit.loglik - ll0) / np.log(10) == pytest.approx(row["lod"], abs=1e-6)


def test_recovers_the_simulated_qtl(bc_scan):
    """n = 300, effect 0.8 residual sd (16% of the variance): the peak lies on
    chromosome 2 within a few cM of 47, and the genotype difference is within
    3 standard errors of 0.8."""
    peak = bc_scan.peak_
    assert peak["chromosome"] == "2" and abs(peak["position"] - 47.0) <= 8
    table = bc_scan.summary().set_index("parameter")
    diff = table.loc["mean[AB]", "estimate"] - table.loc["mean[AA]", "estimate"]
    se = np.hypot(table.loc["mean[AB]", "std_error"], table.loc["mean[AA]", "std_error"])
    assert abs(diff - 0.8) <= 3 * se
    assert table.loc["sigma2", "estimate"] == pytest.approx(1.0, rel=0.25)


def test_intervals_hold_the_peak_and_the_lod_drop(bc_scan):
    lodint = bc_scan.support_interval("2", drop=1.5)
    peak = lodint.set_index("end").loc["peak"]
    prof = bc_scan.lod_[bc_scan.lod_["chromosome"] == "2"]
    inside = prof[(prof["position"] > lodint["position"].iloc[0]) & (prof["position"] < lodint["position"].iloc[2])]
    outside = prof[(prof["position"] < lodint["position"].iloc[0]) | (prof["position"] > lodint["position"].iloc[2])]
    assert (inside["lod"] > peak["lod"] - 1.5).all() and (outside["lod"] <= peak["lod"] - 1.5).all()
    bayes = bc_scan.bayes_interval("2", prob=0.95)
    assert bayes["position"].iloc[0] <= peak["position"] <= bayes["position"].iloc[2]
    narrow = bc_scan.bayes_interval("2", prob=0.5)
    assert narrow["position"].iloc[2] - narrow["position"].iloc[0] <= bayes["position"].iloc[2] - bayes["position"].iloc[0]


def test_effects_at_a_position_and_plots(bc_scan):
    table = bc_scan.effects("2", 20.0)
    assert list(table["parameter"]) == ["mean[AA]", "mean[AB]", "sigma2"]
    assert (table["std_error"] > 0).all()
    assert bc_scan.plot() is not None and bc_scan.plot_effects() is not None


@pytest.mark.slow
def test_permutation_thresholds_agree_with_rqtl(hyper):
    """1,000 permutations of hyper: the 5% genome-wide threshold within Monte
    Carlo error of R/qtl's 1,000 (the sd of a 95% quantile from 1,000
    maxima is about 0.1 LOD here; two such estimates differ by < 0.45, 3 sd of
    the difference). The p-value of the chromosome 4 peak is 0. (Slow: 1,000
    genome scans, about 20 s.)"""
    rqtl = pd.read_csv(ROOT / "benchmarks" / "data" / "rqtl_hyper_times.csv").iloc[0]
    scan = IntervalMapping(step=1, error_prob=0.001, random_state=7).fit(hyper, "bp")
    thresholds = scan.permutation_test(1000).set_index("alpha")["lod"]
    assert thresholds[0.05] == pytest.approx(rqtl["threshold_em_95"], abs=0.45)
    assert thresholds[0.01] > thresholds[0.05] > thresholds[0.10]
    assert scan.p_values().set_index("chromosome").loc["4", "p_value"] == 0.0


def test_permutations_are_reproducible_and_the_first_ones_do_not_depend_on_how_many(hyper):
    scan = IntervalMapping(step=1, error_prob=0.001, random_state=7).fit(hyper, "bp")
    scan.permutation_test(30)
    again = IntervalMapping(step=1, error_prob=0.001, random_state=7).fit(hyper, "bp")
    again.permutation_test(20)
    np.testing.assert_array_equal(again.permutation_lods_, scan.permutation_lods_[:20])


@settings(max_examples=25, deadline=None)
@given(n=st.integers(10, 80), effect=st.floats(0.0, 3.0), covariate=st.booleans(), seed=st.integers(0, 10_000))
def test_plain_em_never_lowers_the_log_likelihood(n, effect, covariate, seed):
    rng = np.random.default_rng(seed)
    prob = rng.dirichlet(np.ones(2), n).T
    g = (rng.random(n) < prob[1]).astype(float)
    X = rng.normal(size=(n, 1 if covariate else 0))
    y = effect * g + (X.sum(axis=1) if covariate else 0) + rng.normal(size=n)
    fit = fit_em(IntervalMappingModel(), PositionData(y, X, np.ascontiguousarray(prob)), tol=0, max_iter=30,
                 random_state=seed)
    assert np.all(np.diff(fit.trace) >= -1e-10 * (1 + np.abs(fit.trace[:-1])))


@settings(max_examples=200, deadline=None)
@given(gain=st.floats(0, 1e-3), loglik=st.floats(-1e6, -1), tol=st.floats(1e-12, 1e-3),
       step=st.floats(0, 1), previous=st.floats(1e-12, 1))
def test_compiled_rule_is_the_engines(gain, loglik, tol, step, previous):
    rate = float(em_rate(step, previous))
    assert converged(gain, loglik, tol, rate) == bool(has_converged(gain, loglik, tol, rate))


def test_normal_equations_drop_collinear_columns_and_still_fit():
    rng = np.random.default_rng(0)
    D = rng.normal(size=(50, 3))
    D = np.column_stack([D, D[:, 0] + D[:, 1]])  # column 3 is collinear
    y = rng.normal(size=50)
    A, b = D.T @ D, D.T @ y
    rhs = b.copy()
    kept = normal_equations_solve(A, b, 4)
    assert kept.tolist() == [True, True, True, False] and b[3] == 0.0
    rss = y @ y - b @ rhs
    lstsq = np.linalg.lstsq(D, y, rcond=None)
    assert rss == pytest.approx(float(lstsq[1][0]) if lstsq[1].size else float(((y - D @ lstsq[0]) ** 2).sum()), rel=1e-10)


def test_simulated_cross_has_the_asked_for_missing_and_error_rates():
    cross = simulate_cross(2000, chromosome_lengths=(100.0,), marker_spacing=5.0, missing=0.1, error_prob=0.0,
                           random_state=1)
    g = cross.chromosomes[0].genotypes
    assert (g == 0).mean() == pytest.approx(0.1, abs=0.01)
    # adjacent markers 5 cM apart recombine with Haldane's r = 0.0476
    both = (g[:, :-1] > 0) & (g[:, 1:] > 0)
    assert (g[:, :-1] != g[:, 1:])[both].mean() == pytest.approx(0.5 * (1 - np.exp(-0.1)), abs=0.005)
    f2 = simulate_cross(2000, "f2", chromosome_lengths=(50.0,), random_state=2)
    counts = np.bincount(f2.chromosomes[0].genotypes[:, 0], minlength=4)[1:] / 2000
    np.testing.assert_allclose(counts, [0.25, 0.5, 0.25], atol=0.03)
