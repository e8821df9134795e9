"""ExponentialCure: simulated truth, an independent direct maximisation,
the boundary at 0, monotone EM, bad input, and (slow) interval coverage."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, stats

from latentlab import BoundaryWarning
from latentlab.em import fit_em
from latentlab.survival import ExponentialCure, ExponentialCureModel, simulate_censored_exponential
from latentlab.survival import _censoring as cens


def _trial(n, cure, seed, rate=0.5):
    return simulate_censored_exponential(n, rate, study_end=10.0, dropout_rate=0.05, cure_fraction=cure,
                                         random_state=seed)


def _direct_loglik(theta, t, event):
    """Right-censored cure log-likelihood in (logit pi, log lambda), written out."""
    pi, lam = 1.0 / (1.0 + np.exp(-theta[0])), np.exp(theta[1])
    ev = np.log1p(-pi) + np.log(lam) - lam * t[event]
    ce = np.log(pi + (1.0 - pi) * np.exp(-lam * t[~event]))
    return ev.sum() + ce.sum()


def test_recovers_cure_fraction_n1000():
    sim = _trial(1000, 0.3, seed=4)
    fit = ExponentialCure().fit(sim["duration"], sim["event"])
    # N = 1000: SE of the cure fraction ~0.016, so 0.05 is ~3 SE
    assert abs(fit.cure_fraction_ - 0.3) <= 0.05
    assert abs(fit.rate_ - 0.5) <= 0.05
    lo, hi = fit.cure_fraction_ci_
    assert lo < fit.cure_fraction_ < hi and not fit.on_boundary_


def test_matches_direct_maximisation():
    sim = _trial(400, 0.25, seed=8)
    t, event = sim["duration"].to_numpy(), sim["event"].to_numpy(bool)
    fit = ExponentialCure().fit(t, event)
    best = optimize.minimize(lambda th: -_direct_loglik(th, t, event), x0=[0.0, np.log(0.3)], method="BFGS",
                             options={"gtol": 1e-10})
    pi = 1.0 / (1.0 + np.exp(-best.x[0]))
    assert fit.cure_fraction_ == pytest.approx(pi, abs=1e-6)
    assert fit.rate_ == pytest.approx(np.exp(best.x[1]), rel=1e-6)
    assert fit.loglik_ == pytest.approx(-best.fun, abs=1e-8)


def test_boundary_zero_warns_and_gives_profile_interval():
    # every lifetime seen but 40 early drop-outs: the score for pi at 0 is
    # 40 exp(lambda * 0.3) - 240 < 0, so the cure fraction sits at 0
    t = np.concatenate([np.linspace(0.05, 6.0, 200), np.full(40, 0.3)])
    event = np.arange(240) < 200
    with pytest.warns(BoundaryWarning, match="boundary 0"):
        fit = ExponentialCure().fit(t, event)
    assert fit.on_boundary_ and fit.cure_fraction_ == 0.0
    # at 0 the rate is the plain exponential MLE d / sum(t)
    assert fit.rate_ == pytest.approx(event.sum() / t.sum(), rel=1e-9)
    lo, hi = fit.cure_fraction_ci_
    assert lo == 0.0 and 0.0 < hi < 0.05
    # the upper end is where the profile log-likelihood has dropped by chi2_1(0.90)/2
    prof = -optimize.minimize_scalar(lambda e: -_direct_loglik([np.log(hi / (1 - hi)), e], t, event)).fun
    assert 2 * (fit.loglik_ - prof) == pytest.approx(stats.chi2.ppf(0.90, 1), abs=1e-6)
    table = fit.summary()
    assert np.isnan(table.loc[0, "std_error"]) and table.loc[0, "ci_upper"] == hi


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(5, 80), cure=st.floats(0.0, 0.6))
def test_plain_em_trace_never_decreases(seed, n, cure):
    sim = _trial(n, cure, seed)
    data = cens.from_bounds(sim["lower"], sim["upper"])
    with warnings.catch_warnings():  # 200 plain steps near a boundary need not converge
        warnings.simplefilter("ignore")
        result = fit_em(ExponentialCureModel(), data, max_iter=200, tol=1e-12, random_state=seed)
    assert np.all(np.diff(result.trace) >= -1e-10 * (1 + np.abs(result.trace[1:])))


def test_bad_input():
    with pytest.raises(ValueError, match="event_observed must hold 0 or 1"):
        ExponentialCure().fit([1.0, 2.0], [1, 2])
    with pytest.raises(ValueError, match="durations must be positive"):
        ExponentialCure().fit([1.0, 0.0], [1, 0])
    with pytest.raises(ValueError, match="all 2 observations are right-censored"):
        ExponentialCure().fit([1.0, 2.0], [0, 0])
    with pytest.raises(ValueError, match="level must be in"):
        ExponentialCure(level=1.5).fit([1.0, 2.0], [1, 0])


@pytest.mark.slow
def test_cure_fraction_interval_coverage_200_replicates():
    """30% cured, N = 1000, 200 replicates: estimates within 0.05 and 95% Wald
    (logit) intervals covering 0.3 in [0.92, 0.98] of replicates (binomial SE of
    a coverage of 0.95 over 200 replicates is 0.015)."""
    hits, errors = 0, []
    for seed in range(200):
        sim = _trial(1000, 0.3, seed=10_000 + seed)
        fit = ExponentialCure().fit(sim["duration"], sim["event"])
        lo, hi = fit.cure_fraction_ci_
        hits += lo <= 0.3 <= hi
        errors.append(fit.cure_fraction_ - 0.3)
    errors = np.abs(errors)
    print(f"coverage {hits / 200:.3f}; max |error| {errors.max():.4f}; mean |error| {errors.mean():.4f}")
    assert 0.92 <= hits / 200 <= 0.98
    assert errors.max() <= 0.05
