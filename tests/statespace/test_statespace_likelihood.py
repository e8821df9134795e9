"""The Kalman likelihood, filter and smoother against statsmodels' (a different
implementation: Cython, its own conventions), on identical data and parameters;
missing coordinates; the diffuse start; and 10^6 steps against the closed-form
steady state of the Riccati equation."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.linalg import solve_discrete_are

from latentlab.statespace import LinearGaussianSSMModel, SSMData, SSMParams, simulate_ssm
from latentlab.statespace.model import diffuse_kappa

from .conftest import NILE, NILE_PATH, cv_model


def _random_params(n, p, rng):
    A = rng.normal(size=(n, n))
    A *= 0.9 / np.max(np.abs(np.linalg.eigvals(A)))
    L, M = rng.normal(size=(n, n)) * 0.5, rng.normal(size=(p, p)) * 0.5
    return SSMParams(A=A, b=rng.normal(size=n) * 0.1, C=rng.normal(size=(p, n)), d=rng.normal(size=p),
                     Q=L @ L.T + 0.1 * np.eye(n), R=M @ M.T + 0.2 * np.eye(p), mu0=rng.normal(size=n),
                     P0=np.eye(n) * rng.uniform(0.5, 2.0))


def _statsmodels(Y, par: SSMParams, diffuse=False):
    """statsmodels' state-space representation of the same model."""
    n = par.A.shape[0]
    mod = sm.tsa.statespace.MLEModel(Y, k_states=n)
    for name, value in (("design", par.C), ("obs_intercept", par.d[:, None]), ("obs_cov", par.R),
                        ("transition", par.A), ("state_intercept", par.b[:, None]), ("selection", np.eye(n)),
                        ("state_cov", par.Q)):
        mod.ssm[name] = value
    if diffuse:
        mod.ssm.initialize_diffuse()
    else:
        mod.ssm.initialize_known(par.mu0, par.P0)
    return mod


@pytest.fixture(scope="module")
def problem():
    """n_states = 4, 2-D observations, T = 2,000, 30% of coordinates missing at random."""
    rng = np.random.default_rng(11)
    truth = _random_params(4, 2, rng)
    _, Y = simulate_ssm(truth.A, truth.C, truth.Q, truth.R, 2000, b=truth.b, d=truth.d, mu0=truth.mu0,
                        P0=truth.P0, random_state=1)
    Y[rng.random(Y.shape) < 0.3] = np.nan
    return Y, rng


def test_loglik_equals_statsmodels_at_any_parameter_value(problem):
    Y, rng = problem
    data, model = SSMData.build(Y), LinearGaussianSSMModel(4, 2)
    assert 0.05 < np.mean(np.isnan(Y).any(axis=1) & ~np.isnan(Y).all(axis=1))  # partially observed steps
    for _ in range(5):
        par = _random_params(4, 2, rng)
        ours, theirs = model.loglik(data, par), _statsmodels(Y, par).ssm.loglike()
        assert abs(ours - theirs) <= 1e-8 * abs(theirs)
        assert model.e_step(data, par)[1] == pytest.approx(ours, rel=1e-12)


def test_filtered_and_smoothed_states_equal_statsmodels(problem):
    Y, rng = problem
    par = _random_params(4, 2, rng)
    model, data = LinearGaussianSSMModel(4, 2), SSMData.build(Y)
    _, _, _, xf, Pf = model.filter(data, par)
    _, _, xs, Ps = model.smooth(data, par)
    res = _statsmodels(Y, par).ssm.smooth()
    scale = np.max(np.abs(res.smoothed_state))
    assert np.max(np.abs(xf - res.filtered_state.T)) <= 1e-9 * scale
    assert np.max(np.abs(xs - res.smoothed_state.T)) <= 1e-9 * scale
    assert np.allclose(Pf, np.moveaxis(res.filtered_state_cov, -1, 0), rtol=1e-9, atol=1e-12)
    assert np.allclose(Ps, np.moveaxis(res.smoothed_state_cov, -1, 0), rtol=1e-9, atol=1e-12)


def _diffuse(model_params, Y, n):
    data = SSMData.build(Y)
    kappa = diffuse_kappa(data)
    model = LinearGaussianSSMModel(n, Y.shape[1], kappa=kappa, start=model_params)
    start = model.initialize(data, np.random.default_rng(0))  # the diffuse mean, centred on y_1 through C
    par = SSMParams(**{**model_params, "mu0": start.mu0, "P0": kappa * np.eye(n)})
    return model.loglik(data, par), _statsmodels(Y, par, diffuse=True).ssm.loglike()


@pytest.mark.parametrize("case", ["local level", "local linear trend", "constant velocity"])
def test_diffuse_loglik_matches_statsmodels_exact_diffuse(case):
    """Our large-kappa limit (model docstring) against statsmodels' exact diffuse filter."""
    if case == "constant velocity":
        A, C, Q, R = cv_model()
        _, Y = simulate_ssm(A, C, Q, R, 500, initial_state=[10.0, 1.0, -5.0, 0.5], random_state=4)
        Y[::7, 0] = np.nan
    else:
        Y = NILE[:, None]
        if case == "local level":
            A, C, Q, R = np.eye(1), np.eye(1), np.eye(1) * 1469.1, np.eye(1) * 15099.0
        else:
            A, C, Q, R = np.array([[1.0, 1.0], [0.0, 1.0]]), np.array([[1.0, 0.0]]), np.diag([1000.0, 10.0]), np.eye(1) * 15000.0
    n, p = A.shape[0], C.shape[0]
    ours, theirs = _diffuse(dict(A=A, b=np.zeros(n), C=C, d=np.zeros(p), Q=Q, R=R), Y, n)
    assert abs(ours - theirs) <= 1e-8 * abs(theirs), (ours, theirs)


def test_a_million_steps_keep_covariances_positive_definite_and_reach_the_riccati_steady_state():
    A, C = np.array([[1.0, 1.0], [0.0, 1.0]]), np.array([[1.0, 0.0]])
    Q, R = np.diag([0.5, 1e-4]), np.eye(1) * 4.0
    _, Y = simulate_ssm(A, C, Q, R, 1_000_000, initial_state=[0.0, 0.01], random_state=0)
    model, data = LinearGaussianSSMModel(2, 1), SSMData.build(Y)
    par = SSMParams(A=A, b=np.zeros(2), C=C, d=np.zeros(1), Q=Q, R=R, mu0=np.zeros(2), P0=np.eye(2) * 10.0)
    ll, _, Pp, _, Pf = model.filter(data, par)
    assert np.isfinite(ll)
    for P in (Pp, Pf):
        det = P[:, 0, 0] * P[:, 1, 1] - P[:, 0, 1] * P[:, 1, 0]
        assert np.all(P[:, 0, 0] > 0) and np.all(det > 0)
        assert np.array_equal(P[:, 0, 1], P[:, 1, 0])
    steady = solve_discrete_are(A.T, C.T, Q, R)  # the predicted covariance's fixed point
    assert np.allclose(Pp[-1], steady, rtol=1e-9)
    _, ll_smooth, _, Ps = model.smooth(data, par, keep=True)
    assert ll_smooth == ll
    det = Ps[:, 0, 0] * Ps[:, 1, 1] - Ps[:, 0, 1] ** 2
    assert np.all(Ps[:, 0, 0] > 0) and np.all(det > 0)


def test_a_step_with_one_coordinate_missing_keeps_the_other():
    """pykalman drops a whole step when one coordinate is missing (its issue
    58); here the observed coordinate still informs the state."""
    rng = np.random.default_rng(2)
    par = _random_params(2, 2, rng)
    _, Y = simulate_ssm(par.A, par.C, par.Q, par.R, 50, random_state=3)
    model = LinearGaussianSSMModel(2, 2)
    half, none = Y.copy(), Y.copy()
    half[20, 1] = np.nan
    none[20, :] = np.nan
    ll_half, ll_none = (model.loglik(SSMData.build(y), par) for y in (half, none))
    assert ll_half != ll_none
    assert ll_half == pytest.approx(_statsmodels(half, par).ssm.loglike(), rel=1e-10)
    # the state at step 20 is filtered with the observed coordinate
    xf_half, xf_none = (model.filter(SSMData.build(y), par)[3][20] for y in (half, none))
    assert not np.allclose(xf_half, xf_none)


def test_sequences_are_independent():
    rng = np.random.default_rng(5)
    par = _random_params(2, 1, rng)
    _, Y1 = simulate_ssm(par.A, par.C, par.Q, par.R, 40, random_state=1)
    _, Y2 = simulate_ssm(par.A, par.C, par.Q, par.R, 60, random_state=2)
    model = LinearGaussianSSMModel(2, 1)
    both = model.loglik(SSMData.build(np.r_[Y1, Y2], [40, 60]), par)
    assert both == pytest.approx(model.loglik(SSMData.build(Y1), par) + model.loglik(SSMData.build(Y2), par), rel=1e-12)


def test_the_nile_file_is_the_r_dataset():
    frame = pd.read_csv(NILE_PATH)
    assert list(frame.columns) == ["year", "flow"] and len(frame) == 100 and frame.year.iloc[0] == 1871

