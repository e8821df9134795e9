"""Particle-smoother EM (ParticleSSM) against exact answers, truth and a peer.

* Linear Gaussian model: the Kalman-smoother EM of LinearGaussianSSM on the
  same data and likelihood is exact; particle EM must agree within its Monte
  Carlo error, its Louis standard errors with the exact observed information,
  and its log-likelihood estimate with the exact log-likelihood.
* Stochastic volatility: the stored simulated series (made with numpy alone,
  tests/references/statespace/make_sv_data.py) against the truth and against
  the PMMH posterior of the `particles` package on the same series (stored in
  case_studies/results/pmmh_particles.csv by
  tests/references/statespace/pmmh_particles.py).
* Growth model: recovery of the two variances, with a tolerance from the
  replicate study of test_particle_slow.py.

Monte Carlo tolerances: test_particle_slow.py bounds the mean of 20
independent runs within 0.1 statistical standard errors of the exact MLE; a
single fit here may sit 0.3 standard errors away.
"""

import json
import warnings
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

from latentlab.statespace import GrowthModel, LinearGaussian, LinearGaussianSSM, ParticleSSM, StochasticVolatility

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[2]
SV = ROOT / "data" / "stochastic_volatility"
PMMH = ROOT / "case_studies" / "results" / "pmmh_particles.csv"


def _linear_gaussian_series(T, seed, a=0.8, q=0.5, r=1.0):
    """x_1 ~ N(0, 1), x_t = a x_{t-1} + N(0, q), y_t = x_t + N(0, r), simulated with numpy alone."""
    rng = np.random.default_rng(seed)
    x = np.empty(T)
    x[0] = rng.normal()
    for t in range(1, T):
        x[t] = a * x[t - 1] + rng.normal(0.0, np.sqrt(q))
    return x + rng.normal(0.0, np.sqrt(r), T)


def _kalman(y, **given):
    """The same model by Kalman-smoother EM (x_1 ~ N(0, 1) held, C = 1 held)."""
    fixed = ("C", "mu0", "P0", *given)
    values = {k: [[v]] for k, v in given.items()}
    return LinearGaussianSSM(1, C=[[1.0]], mu0=[0.0], P0=[[1.0]], initial="estimated", fixed=fixed, tol=1e-12,
                             **values).fit(y)


def _quiet(f, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return f(*args, **kwargs)


@pytest.fixture(scope="module")
def linear():
    y = _linear_gaussian_series(400, seed=1)
    kalman = _kalman(y)
    fit = _quiet(ParticleSSM(LinearGaussian(), n_particles=1000, random_state=0).fit, y)
    return y, kalman, fit


def _as_vector(fit):
    p = fit.params_
    return np.array([float(p.a), float(p.q), float(p.r)])


def test_particle_em_agrees_with_kalman_em(linear):
    _, kalman, fit = linear
    exact = np.array([kalman.A_.item(), kalman.Q_.item(), kalman.R_.item()])
    se = kalman.summary().set_index("parameter")["std_error"].loc[["A[0, 0]", "Q[0, 0]", "R[0, 0]"]].to_numpy()
    assert fit.converged_
    assert np.all(np.abs(_as_vector(fit) - exact) < 0.3 * se), (_as_vector(fit), exact, se)


def test_louis_standard_errors_match_the_exact_information(linear):
    _, kalman, fit = linear
    exact = kalman.summary().set_index("parameter")["std_error"].loc[["A[0, 0]", "Q[0, 0]", "R[0, 0]"]].to_numpy()
    table = fit.summary()
    assert list(table["parameter"]) == ["a", "q", "r"]
    # the particle fit sits a Monte Carlo error away from the MLE: 10% on top of three of each standard
    # error's own Monte Carlo errors (Louis' estimate subtracts 90% missing from complete information)
    se, mc = table["std_error"].to_numpy(), table["se_mc_error"].to_numpy()
    assert np.all(np.abs(se - exact) <= 0.1 * exact + 3 * mc), (se, exact, mc)
    assert np.all(mc < 0.3 * se)


def test_loglik_estimate_matches_the_exact_loglik_at_the_same_point(linear):
    y, _, fit = linear
    p = fit.params_
    exact = _kalman(y, A=float(p.a), Q=float(p.q), R=float(p.r)).loglik_
    estimate, se = fit.loglik_estimate(n_runs=20, random_state=1)
    assert 0 < se < 0.2
    assert abs(estimate - exact) < 3 * se
    assert abs(fit.loglik_ - exact) < 3 * fit.loglik_se_ + 3 * se


def test_trace_smoothing_and_plots(linear):
    y, kalman, fit = linear
    r = fit.result_
    assert r.trace_se.shape == r.trace.shape == r.trace_mc_size.shape
    assert r.trace_mc_size[0] == 100 and r.trace_mc_size[-1] <= 1000 and np.all(np.diff(r.trace_mc_size) >= 0)
    table = fit.smooth()
    assert list(table.columns) == ["t", "mean", "sd", "lower", "upper"] and len(table) == y.size
    exact = kalman.smooth().means[:, 0]
    assert np.mean(np.abs(table["mean"] - exact)) < 0.05  # states of sd ~0.7: the smoother at a nearby point
    assert np.all(table["lower"] <= table["mean"]) and np.all(table["mean"] <= table["upper"])
    assert fit.plot_states(transform=np.exp) is not None and r.plot_trace() is not None


def test_a_fit_is_reproducible_from_random_state():
    y = _linear_gaussian_series(100, seed=2)
    a = _quiet(ParticleSSM(LinearGaussian(), n_particles=200, initial_particles=20, random_state=3).fit, y)
    b = _quiet(ParticleSSM(LinearGaussian(), n_particles=200, initial_particles=20, random_state=3).fit, y)
    assert np.array_equal(_as_vector(a), _as_vector(b)) and np.array_equal(a.result_.trace, b.result_.trace)


def test_starting_values_are_used_and_checked():
    y = _linear_gaussian_series(150, seed=3)
    model = LinearGaussian(a=0.8)
    assert float(model.initialize(y, None).a) == 0.8
    assert repr(StochasticVolatility(phi=0.5)) == "StochasticVolatility(phi=0.5)"
    for bad, name in ((StochasticVolatility(phi=1.0), "phi"), (LinearGaussian(q=0.0), "q")):
        with pytest.raises(ValueError, match=f"outside the parameter space.*{name}="):
            ParticleSSM(bad, n_particles=50, initial_particles=10).fit(y)
    with pytest.raises(ValueError, match="p0"):
        LinearGaussian(p0=-1.0)
    with pytest.raises(ValueError, match="at least 10"):
        model.draw(y, model.initialize(y, None), 4, np.random.default_rng(0))


def test_the_growth_statistics_use_the_kernels_mean():
    from latentlab.statespace.particle_models import _growth_mean, _growth_means

    paths = np.random.default_rng(0).normal(0.0, 5.0, (3, 20))
    expected = [[_growth_mean(paths[j, t - 1], t) for t in range(1, 20)] for j in range(3)]
    assert np.allclose(_growth_means(paths), expected, rtol=1e-14)


# -- stochastic volatility --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def volatility():
    y = pd.read_csv(SV / "simulated.csv")["y"].to_numpy()
    # 500 particles (the case study fits the same series with 1,000): the PMMH intervals are far wider
    # than the Monte Carlo error of an estimate
    return _quiet(ParticleSSM(StochasticVolatility(), n_particles=500, random_state=0).fit, y)


def test_stochastic_volatility_recovers_the_truth(volatility):
    truth = json.loads((SV / "simulated_truth.json").read_text())
    table = volatility.summary().set_index("parameter")
    for name in ("mu", "phi", "sigma"):
        row = table.loc[name]
        assert row["ci_lower"] <= truth[name] <= row["ci_upper"], (name, row.to_dict(), truth[name])


def test_stochastic_volatility_is_inside_the_pmmh_credible_intervals(volatility):
    reference = pd.read_csv(PMMH)
    reference = reference[reference["dataset"] == "simulated"].set_index("parameter")
    table = volatility.summary().set_index("parameter")
    for name in ("mu", "phi", "sigma"):
        ours = table.loc[name, "estimate"]
        assert reference.loc[name, "ci_lower"] <= ours <= reference.loc[name, "ci_upper"], (name, ours)
        # and the two measures of uncertainty agree: posterior sd against the Louis standard error
        assert table.loc[name, "std_error"] == pytest.approx(reference.loc[name, "posterior_sd"], rel=0.35)


# -- growth model -----------------------------------------------------------------------------------
#: standard deviations of the estimates over 30 replicate series of T = 100 at (10, 1)
#: (test_particle_slow.py::test_growth_model_recovers_the_variances measured 1.93 and 0.33)
GROWTH_SD = np.array([1.93, 0.33])


def test_growth_model_recovers_the_two_variances():
    model = GrowthModel()
    truth = model.params_type(process_var=np.asarray(10.0), obs_var=np.asarray(1.0))
    _, y = model.simulate(truth, 100, random_state=2026)
    fit = _quiet(ParticleSSM(GrowthModel(), n_particles=1000, random_state=0).fit, y)
    estimate = np.array([float(fit.params_.process_var), float(fit.params_.obs_var)])
    assert np.all(np.abs(estimate - [10.0, 1.0]) < 3 * GROWTH_SD), estimate
