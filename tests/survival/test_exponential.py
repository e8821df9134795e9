"""CensoredExponential: closed forms, lifelines, an independent Newton MLE,
simulated truth, monotone EM, bad input."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from latentlab.em import fit_em
from latentlab.survival import CensoredExponential, ExponentialModel, simulate_censored_exponential
from latentlab.survival import _censoring as cens

COVARIATES = ["trt", "celltype", "karno", "diagtime", "age", "prior"]


# -- right censoring: the closed form d / sum(t) ------------------------------------------
@pytest.mark.parametrize("accelerate", [None, "squarem"])
def test_6mp_arm_converges_to_events_over_time(drug6mp, accelerate):
    fit = CensoredExponential(accelerate=accelerate).fit(drug6mp["t2"], drug6mp["relapse"])
    d, total = drug6mp["relapse"].sum(), drug6mp["t2"].sum()
    assert (d, total) == (9, 359)
    assert fit.converged_
    assert abs(fit.rate_ - d / total) <= 1e-10
    row = fit.summary().set_index("parameter").loc["rate"]
    assert row["std_error"] == pytest.approx(np.sqrt(d) / total, rel=1e-8)
    assert round(fit.rate_, 6) == 0.025070 and round(row["std_error"], 6) == 0.008357


def test_placebo_arm_all_events_is_n_over_total(drug6mp):
    fit = CensoredExponential().fit(drug6mp["t1"])
    assert fit.rate_ == pytest.approx(21 / drug6mp["t1"].sum(), rel=1e-12)
    assert fit.mean_ == pytest.approx(drug6mp["t1"].mean(), rel=1e-12)
    assert fit.median_ == pytest.approx(np.log(2) * drug6mp["t1"].mean(), rel=1e-12)


# -- lifelines' ExponentialFitter (its lambda_ is the mean 1/rate) --------------------------
def _lifelines():
    return pytest.importorskip("lifelines").ExponentialFitter()


def test_right_censoring_matches_lifelines(drug6mp):
    ours = CensoredExponential().fit(drug6mp["t2"], drug6mp["relapse"])
    theirs = _lifelines().fit(drug6mp["t2"], drug6mp["relapse"])
    assert ours.mean_ == pytest.approx(theirs.lambda_, rel=1e-6)
    assert ours.loglik_ == pytest.approx(theirs.log_likelihood_, rel=1e-8)


def test_left_censoring_matches_lifelines():
    sim = simulate_censored_exponential(300, 0.4, study_end=2.0, random_state=3)
    # read the censoring flag as "failed before the duration": left-censored data
    t, flag = sim["duration"], sim["event"]
    ours = CensoredExponential().fit_left_censoring(t, flag)
    theirs = _lifelines().fit_left_censoring(t, flag)
    assert ours.n_left_censored_ == int((flag == 0).sum())
    assert ours.mean_ == pytest.approx(theirs.lambda_, rel=1e-6)
    assert ours.loglik_ == pytest.approx(theirs.log_likelihood_, rel=1e-8)


def test_interval_censoring_matches_lifelines(cosmesis):
    ours = CensoredExponential().fit_interval_censoring(cosmesis["L"], cosmesis["R"])
    theirs = _lifelines().fit_interval_censoring(cosmesis["L"], cosmesis["R"])
    assert ours.n_left_censored_ == int((cosmesis["L"] == 0).sum())
    assert ours.mean_ == pytest.approx(theirs.lambda_, rel=1e-6)
    assert ours.loglik_ == pytest.approx(theirs.log_likelihood_, rel=1e-8)


# -- exponential regression against a Newton MLE written here ----------------------------
def _design(veteran):
    cell = veteran["celltype"]
    cols = [np.ones(len(veteran)), veteran["trt"]]
    cols += [(cell == lev).astype(float) for lev in ["large", "smallcell", "squamous"]]  # vs adeno
    cols += [veteran[c] for c in ["karno", "diagtime", "age", "prior"]]
    return np.column_stack(cols).astype(float)


def _newton_mle(X, t, delta):
    """Right-censored exponential regression: l = sum delta*eta - exp(eta)*t."""
    beta = np.zeros(X.shape[1])
    beta[0] = np.log(delta.sum() / t.sum())
    for _ in range(100):
        mu = np.exp(X @ beta) * t
        step = np.linalg.solve(X.T @ (X * mu[:, None]), X.T @ (delta - mu))
        beta += step
        if np.max(np.abs(step)) < 1e-13:
            break
    info = X.T @ (X * (np.exp(X @ beta) * t)[:, None])
    return beta, np.sqrt(np.diag(np.linalg.inv(info)))


def test_veteran_regression_matches_newton(veteran):
    fit = CensoredExponential().fit(veteran["time"], veteran["status"], veteran[COVARIATES])
    beta, se = _newton_mle(_design(veteran), veteran["time"].to_numpy(float), veteran["status"].to_numpy(float))
    assert list(fit.coef_.index) == [
        "intercept", "trt", "celltype[large]", "celltype[smallcell]", "celltype[squamous]",
        "karno", "diagtime", "age", "prior",
    ]
    np.testing.assert_allclose(fit.coef_.to_numpy(), beta, atol=1e-6)
    np.testing.assert_allclose(fit.summary()["std_error"], se, rtol=1e-6)


def test_regression_recovers_simulated_truth():
    rng = np.random.default_rng(11)
    n = 4000
    x = pd.DataFrame({"dose": rng.normal(size=n), "arm": rng.choice(["a", "b"], size=n)})
    beta = np.array([-1.0, 0.5, -0.7])
    X = np.column_stack([np.ones(n), x["dose"], x["arm"] == "b"]).astype(float)
    sim = simulate_censored_exponential(n, np.exp(X @ beta), study_end=3.0, dropout_rate=0.1, random_state=12)
    fit = CensoredExponential().fit(sim["duration"], sim["event"], x)
    se = fit.summary()["std_error"].to_numpy()
    # n = 4000 with ~50% events: SEs ~ 0.03; 4 SEs keeps a false alarm below 1e-4 per coefficient
    assert np.all(np.abs(fit.coef_.to_numpy() - beta) <= 4 * se)


def test_interval_censored_visits_recover_rate():
    sim = simulate_censored_exponential(5000, 0.3, study_end=5.0, visit_interval=0.5, random_state=5)
    fit = CensoredExponential().fit_interval_censoring(sim["lower"], sim["upper"])
    se = fit.summary().set_index("parameter").loc["rate", "std_error"]
    assert se < 0.01  # 5000 subjects: SE about 0.3 / sqrt(#events ~ 3900) ~ 0.005
    assert abs(fit.rate_ - 0.3) <= 4 * se


# -- plain EM never lowers the likelihood -------------------------------------------------
@pytest.mark.filterwarnings("ignore::latentlab.ConvergenceWarning")  # 200 iterations may not reach 1e-12
@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(5, 60), covariate=st.booleans())
def test_plain_em_trace_never_decreases(seed, n, covariate):
    rng = np.random.default_rng(seed)
    sim = simulate_censored_exponential(
        n, rng.uniform(0.1, 2.0), study_end=rng.uniform(0.5, 4.0), visit_interval=rng.choice([None, 0.3]),
        random_state=rng,
    )
    sim.loc[sim.index[:2], ["lower", "upper"]] = [[0.0, 1.0], [0.5, 0.5]]  # a left-censored and an exact one
    data = cens.from_bounds(sim["lower"], sim["upper"])
    X = np.column_stack([np.ones(n), rng.normal(size=n)]) if covariate else np.ones((n, 1))
    result = fit_em(ExponentialModel(X), data, max_iter=200, tol=1e-12, random_state=seed)
    assert np.all(np.diff(result.trace) >= -1e-10 * (1 + np.abs(result.trace[1:])))


# -- outputs ---------------------------------------------------------------------------------
def test_survival_function_band_and_plot(drug6mp, veteran, capsys):
    fit = CensoredExponential().fit(drug6mp["t2"], drug6mp["relapse"])
    sf = fit.survival_function([0.0, 10.0, 30.0])
    np.testing.assert_allclose(sf["survival"], np.exp(-fit.rate_ * np.array([0.0, 10.0, 30.0])))
    lo, hi = fit.summary().set_index("parameter").loc["rate", ["ci_lower", "ci_upper"]]
    assert sf["ci_lower"].iloc[2] == pytest.approx(np.exp(-hi * 30.0))
    assert sf["ci_upper"].iloc[2] == pytest.approx(np.exp(-lo * 30.0))
    ax = fit.plot_survival()
    assert {t.get_text() for t in ax.get_legend().get_texts()} == {"exponential (EM)", "Kaplan-Meier"}
    reg = CensoredExponential().fit(veteran["time"], veteran["status"], veteran[COVARIATES])
    row = veteran[COVARIATES].iloc[[0]]
    assert reg.survival_function([100.0], row)["survival"].iloc[0] == pytest.approx(
        np.exp(-reg.predict_rate(row)[0] * 100.0)
    )
    assert reg.print_summary() is None  # prints, as every estimator's print_summary
    text = capsys.readouterr().out
    assert re.search(r"observations +137", text) and "128 exact" in text and "celltype[squamous]" in text


def test_interval_data_plot_overlays_turnbull(cosmesis):
    fit = CensoredExponential().fit_interval_censoring(cosmesis["L"], cosmesis["R"])
    ax = fit.plot_survival()
    assert "Turnbull NPMLE" in {t.get_text() for t in ax.get_legend().get_texts()}


# -- bad input ---------------------------------------------------------------------------------
def test_all_right_censored_is_a_clear_error():
    with pytest.raises(ValueError, match="all 3 observations are right-censored.*rate 0 with an unbounded mean"):
        CensoredExponential().fit([1.0, 2.0, 3.0], [0, 0, 0])


def test_all_left_censored_at_zero_is_a_clear_error():
    with pytest.raises(ValueError, match="left-censored at 0.*no finite MLE"):
        CensoredExponential().fit_interval_censoring([0.0, 0.0], [1.0, 2.0])


@pytest.mark.parametrize(
    "args, message",
    [
        (([1.0, -2.0], [1, 0]), "durations must be positive"),
        (([1.0, np.nan], [1, 0]), "durations has 1 non-finite"),
        (([1.0, 2.0], [1, 3]), "event_observed must hold 0 or 1"),
        (([1.0, 2.0], [1, 0, 1]), "length"),
    ],
)
def test_bad_durations(args, message):
    with pytest.raises(ValueError, match=message):
        CensoredExponential().fit(*args)


def test_bad_bounds_and_covariates(veteran):
    with pytest.raises(ValueError, match="lower_bound must not exceed upper_bound; index 0"):
        CensoredExponential().fit_interval_censoring([3.0, 1.0], [2.0, 4.0])
    t, s = veteran["time"], veteran["status"]
    with pytest.raises(ValueError, match="covariates has 2 rows but there are 137"):
        CensoredExponential().fit(t, s, veteran[["age"]].iloc[:2])
    bad = veteran[["age"]].astype(float).copy()
    bad.iloc[5, 0] = np.nan
    with pytest.raises(ValueError, match="covariates column 'age' has 1 non-finite .* index 5"):
        CensoredExponential().fit(t, s, bad)
    with pytest.raises(ValueError, match="rank 2 < 3"):
        CensoredExponential().fit(t, s, pd.DataFrame({"a": veteran["age"], "b": 2 * veteran["age"]}))
    fit = CensoredExponential().fit(t, s, veteran[["celltype"]])
    with pytest.raises(ValueError, match="level 'other'"):
        fit.predict_rate(pd.DataFrame({"celltype": ["other"]}))
    with pytest.raises(ValueError, match="fitted with covariates"):
        fit.survival_function([1.0])


def test_no_warnings_on_clean_data(drug6mp):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        CensoredExponential().fit(drug6mp["t2"], drug6mp["relapse"]).summary()
