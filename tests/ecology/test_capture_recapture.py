"""The estimator's results: unbounded intervals, the AIC table, expected
frequencies, standard errors and the simulator."""

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest

from latentlab import BoundaryWarning
from latentlab.ecology import CaptureRecapture, compare_models, simulate_capture_histories
from latentlab.ecology.capture_models import log_arrangements

from .conftest import direct_loglik


def _sparse(once: int, twice: int, T: int = 5) -> np.ndarray:
    """``once`` animals caught once and ``twice`` caught on two consecutive occasions."""
    rows = []
    for i in range(once + twice):
        r = np.zeros(T, dtype=int)
        r[i % T] = 1
        if i >= once:
            r[(i + 1) % T] = 1
        rows.append(r)
    return np.array(rows)


def test_one_recapture_gives_an_unbounded_upper_limit_with_a_warning():
    # 61 animals, one recaptured: the Lincoln-Petersen-like estimate is finite, but the
    # profile stays within 1.92 of its maximum beyond 50 x 61 animals
    with pytest.warns(BoundaryWarning, match="upper limit is unbounded and reported as inf"):
        fit = CaptureRecapture("M0").fit(_sparse(60, 1))
    assert np.isfinite(fit.N_) and fit.N_ > 61
    assert fit.N_interval_[1] == np.inf and 61 < fit.N_interval_[0] < fit.N_
    assert fit.profile_.points["N"].max() == pytest.approx(fit.cap_factor * 61)  # searched up to the cap
    above = fit.profile_.points.query("N >= @fit.N_")
    assert (above["profile_loglik"] > fit.profile_.cutoff).all()


def test_the_cap_is_settable_and_never_reported_as_the_limit():
    h = _sparse(60, 4)
    bounded = CaptureRecapture("M0").fit(h)  # upper limit ~1360 < 50 x 64
    assert np.isfinite(bounded.N_interval_[1])
    with pytest.warns(BoundaryWarning, match=r"cap 640 \(= cap_factor 10"):
        capped = CaptureRecapture("M0", cap_factor=10).fit(h)
    assert capped.N_interval_[1] == np.inf and capped.N_ == pytest.approx(bounded.N_)


def test_no_recaptures_gives_an_infinite_estimate():
    with pytest.warns(BoundaryWarning) as record:
        fit = CaptureRecapture("M0").fit(_sparse(60, 0))
    messages = " ".join(str(w.message) for w in record)
    assert "keeps increasing towards N = inf" in messages and "upper limit is unbounded" in messages
    assert fit.N_ == np.inf and np.isnan(fit.N_se_) and fit.N_interval_[1] == np.inf
    with pytest.raises(ValueError, match="unbounded"):
        fit.expected_frequencies()


def test_profile_interval_limits_sit_on_the_cutoff():
    h, _ = simulate_capture_histories(300, 5, [(1.0, 0.2)], random_state=4)
    fit = CaptureRecapture("M0").fit(h)
    lo, hi = fit.N_interval_
    n, T, C = h.shape[0], 5, h.sum()

    def profile(N):  # closed form: p = C / (N T) given N
        return direct_loglik(h, N, np.ones(1), np.full((1, T), C / (N * T)))

    drop = 3.841458820694124 / 2  # chi2_1(0.95) / 2
    assert profile(lo) == pytest.approx(fit.loglik_ - drop, abs=1e-3)
    assert profile(hi) == pytest.approx(fit.loglik_ - drop, abs=1e-3)
    assert lo < fit.N_ < hi and n < lo


def test_compare_models_aic_table(deermice):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BoundaryWarning)
        table = compare_models(deermice, random_state=0)
    assert list(table.columns) == ["model", "n_parameters", "loglik", "AIC", "delta_AIC", "N", "N_se",
                                   "N_lower", "N_upper", "converged"]
    k = dict(zip(table["model"], table["n_parameters"]))
    assert k == {"M0": 2, "Mt": 7, "Mh2": 4, "Mh3": 6, "Mth2": 9}  # N counted; Mth2: 6 tau + 1 eta + 1 weight + N
    np.testing.assert_allclose(table["AIC"], -2 * table["loglik"] + 2 * table["n_parameters"])
    assert table["AIC"].is_monotonic_increasing and table["delta_AIC"].iloc[0] == 0
    assert (table["N_lower"] >= 38).all() and (table["N"] >= 38).all()
    # nested models: a larger model never fits worse
    ll = dict(zip(table["model"], table["loglik"]))
    assert ll["Mh2"] >= ll["M0"] - 1e-8 and ll["Mh3"] >= ll["Mh2"] - 1e-8 and ll["Mth2"] >= ll["Mt"] - 1e-8
    again = compare_models(list(table.attrs["fits"].values()))
    pd.testing.assert_frame_equal(again, table)
    with pytest.raises(TypeError, match="model names"):
        compare_models(deermice, models=[3])


def test_expected_frequencies_by_enumerating_every_history():
    h, _ = simulate_capture_histories(400, 5, [(0.3, 0.6), (0.7, [0.1, 0.2, 0.1, 0.15, 0.1])], random_state=9)
    fit = CaptureRecapture("Mth2", n_init=3, random_state=0).fit(h)
    all_h = np.array(list(itertools.product([0, 1], repeat=5)))
    prob = np.prod(np.where(all_h[:, None, :] == 1, fit.p_[None], 1 - fit.p_[None]), axis=2) @ fit.weights_
    by_times = np.bincount(all_h.sum(axis=1), weights=fit.N_ * prob)
    table = fit.expected_frequencies()
    np.testing.assert_allclose(table["expected"], by_times[1:], rtol=1e-10)
    np.testing.assert_array_equal(table["observed"], np.bincount(h.sum(axis=1), minlength=6)[1:])
    occ = fit.expected_frequencies("occasion")
    np.testing.assert_allclose(occ["expected"], fit.N_ * (all_h * prob[:, None]).sum(axis=0), rtol=1e-10)
    with pytest.raises(ValueError, match="by must be"):
        fit.expected_frequencies("class")


def test_summary_has_standard_errors_for_every_estimate():
    h, _ = simulate_capture_histories(1500, 6, [(0.3, 0.6), (0.7, 0.15)], random_state=2)
    fit = CaptureRecapture("Mth2", n_init=3, random_state=0).fit(h)
    table = fit.summary()
    labels = table["parameter"].tolist()
    assert labels[:3] == ["N", "weight[0]", "weight[1]"] and "p[class 0, t=1]" in labels and len(labels) == 15
    assert np.all(np.isfinite(table["std_error"])) and (table["std_error"] > 0).all()
    assert (table["ci_lower"] < table["estimate"]).all() and (table["estimate"] < table["ci_upper"]).all()
    assert table["interval"].tolist() == ["profile"] + ["Wald"] * 14
    # classes are ordered by catchability (label switching undone)
    assert fit.p_[0].mean() < fit.p_[1].mean()


def test_m0_standard_error_matches_the_inverse_information():
    """M0's information in (N, p) from the closed-form second derivatives of
    log L = log(N!/(N-n)!) + C log p + (NT - C) log(1 - p)."""
    h, _ = simulate_capture_histories(800, 5, [(1.0, 0.2)], random_state=12)
    fit = CaptureRecapture("M0", tol=1e-14).fit(h)
    n, T, C, N, p = h.shape[0], 5, h.sum(), fit.N_, fit.p_[0, 0]
    d2N = -np.sum(1.0 / (N - n + np.arange(1, n + 1)) ** 2)  # second derivative of log(N!/(N-n)!)
    info = -np.array([[d2N, -T / (1 - p)],
                      [-T / (1 - p), -C / p**2 - (N * T - C) / (1 - p) ** 2]])
    se = np.sqrt(np.diag(np.linalg.inv(info)))
    assert fit.N_se_ == pytest.approx(se[0], rel=1e-3)  # numerical Hessian: ~1e-5 relative accuracy
    assert fit.summary().loc[1, "std_error"] == pytest.approx(se[1], rel=1e-3)


def test_log_arrangements_is_the_lgamma_difference():
    from scipy.special import gammaln

    for n, u in [(38, 0.0), (38, 2.5), (500, 123.4)]:
        assert log_arrangements(n, u) == pytest.approx(gammaln(n + u + 1) - gammaln(u + 1), rel=1e-12)


def test_simulate_capture_histories():
    h, z = simulate_capture_histories(20000, 4, [(0.25, 0.5), (0.75, [0.1, 0.2, 0.3, 0.4])], random_state=0)
    assert h.shape[1] == 4 and h.shape[0] == z.size and h.any(axis=1).all()
    # caught fraction: 0.25 (1 - 0.5^4) + 0.75 (1 - 0.9 0.8 0.7 0.6) = 0.2344 + 0.5232; sd ~ 0.003 -> 0.015
    assert h.shape[0] / 20000 == pytest.approx(0.7576, abs=0.015)
    np.testing.assert_allclose(h[z == 1].sum(axis=0) / (20000 * 0.75), [0.1, 0.2, 0.3, 0.4], atol=0.02)


@pytest.mark.parametrize(
    "args, match",
    [
        ((0, 5, [(1.0, 0.2)]), "N must be a positive integer"),
        ((10.5, 5, [(1.0, 0.2)]), "N must be a positive integer"),
        ((10, 1, [(1.0, 0.2)]), "occasions must be an integer >= 2"),
        ((10, 5, [(0.5, 0.2)]), "weights must be non-negative and sum to 1"),
        ((10, 5, [(1.0, 1.2)]), r"must lie in \[0, 1\]"),
        ((10, 5, [(1.0, [0.1, 0.2])]), "one per occasion"),
        ((10, 5, []), "classes is empty"),
    ],
)
def test_simulate_rejects_bad_arguments(args, match):
    with pytest.raises(ValueError, match=match):
        simulate_capture_histories(*args)


def test_an_occasion_without_captures_is_a_boundary_warning(deermice):
    h = np.column_stack([deermice, np.zeros(len(deermice), dtype=int)])
    with pytest.warns(BoundaryWarning, match="occasion 7 is 0 \\(on the boundary"):
        fit = CaptureRecapture("Mt").fit(h)
    assert fit.p_[0, 6] == 0 and np.all(np.isfinite(fit.p_))


@pytest.mark.parametrize("model", ["M0", "Mt", "Mh2", "Mh3", "Mth2"])
def test_sparse_data_stop_at_the_cap_on_n_with_n_infinite(model):
    """Three animals each caught once: the likelihood rises towards N = inf.
    The fit stops at the bound cap_factor x n on N within a few dozen
    iterations (it used to chase N for minutes) and reports N = inf."""
    h = np.array([[1, 0, 0, 0, 0], [0, 1, 0, 0, 0], [0, 0, 1, 0, 0]])
    with pytest.warns(BoundaryWarning, match="towards N = inf"):
        fit = CaptureRecapture(model, random_state=0).fit(h)
    assert fit.N_ == np.inf and np.isnan(fit.N_se_)
    assert fit.N_interval_[1] == np.inf
    assert fit.result_.params.n_unseen <= fit.cap_factor * 3 - 3
    assert fit.n_iter_ < 100
