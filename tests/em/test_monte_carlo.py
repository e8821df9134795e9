"""The engine's ascent-based Monte Carlo EM on a model with a closed-form answer.

Normal data with values missing completely at random, fitted by imputing the
missing ones (a Monte Carlo E-step): the MLE of the mean is the mean of the
observed values, its standard error ``sigma / sqrt(n_observed)``, and EM's
rate the fraction missing. Nothing here comes from the code under test.
"""

import dataclasses
import warnings
from dataclasses import dataclass

import numpy as np
import pytest

from latentlab import ConvergenceWarning, MonotonicityError
from latentlab.em import MCDraw, Real, StochasticEMModel, fit_em, louis_covariance
from latentlab.em.monte_carlo import noise_and_rate


@dataclass(frozen=True)
class Mean:
    mu: np.ndarray


class ImputedNormal(StochasticEMModel):
    """y_i ~ N(mu, 1); ``n_missing`` of them unobserved. A draw imputes them;
    its statistics are the complete-data sum and sum of squares."""

    params_type = Mean
    constraints = {"mu": Real()}

    def __init__(self, mc_start=20, mc_max=2000, batches=None):
        self.mc_start, self.mc_max, self.batches = mc_start, mc_max, batches

    def initialize(self, data, rng):
        return Mean(np.asarray(0.0))

    def draw(self, data, params, size, rng):
        observed, n_missing = data
        imputed = float(params.mu) + rng.standard_normal((size, n_missing))
        s1 = observed.sum() + imputed.sum(axis=1)
        s2 = (observed**2).sum() + (imputed**2).sum(axis=1)
        n = np.full(size, observed.size + n_missing, dtype=float)
        batches = None if self.batches is None else np.arange(size) % self.batches
        loglik = -0.5 * float(((observed - params.mu) ** 2).sum() + observed.size * np.log(2 * np.pi))
        return MCDraw(np.column_stack([s1, s2, n]), loglik, 0.0, size, batches=batches)

    def complete_loglik(self, params, stats):
        mu = float(params.mu)
        return -0.5 * (stats[:, 1] - 2 * mu * stats[:, 0] + stats[:, 2] * mu * mu)

    def m_step(self, stats, current, fixed=None):
        return Mean(np.asarray(stats[:, 0].mean() / stats[0, 2]))


class WrongMStep(ImputedNormal):
    def m_step(self, stats, current, fixed=None):
        return Mean(np.asarray(super().m_step(stats, current).mu + 1.0))  # not the maximiser


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    return rng.normal(2.0, 1.0, 60), 40  # 60 observed, 40 missing: EM's rate 0.4


def test_mcem_reaches_the_closed_form_mle_within_monte_carlo_error(data):
    result = fit_em(ImputedNormal(), data, tol=1e-5, random_state=0)
    assert result.converged
    # the last iterate's Monte Carlo error: the M-step's mean of mc_max imputations of 40 values
    mc_sd = np.sqrt(40) / 100 / np.sqrt(result.trace_mc_size[-1])
    assert abs(float(result.params.mu) - data[0].mean()) < 4 * mc_sd + 1e-4


def test_the_trace_records_size_and_error_and_a_fit_is_reproducible(data):
    a = fit_em(ImputedNormal(), data, tol=1e-5, random_state=5)
    b = fit_em(ImputedNormal(), data, tol=1e-5, random_state=5)
    assert a.trace.shape == a.trace_se.shape == a.trace_mc_size.shape == (a.n_iter + 1,)
    assert np.all(np.diff(a.trace_mc_size) >= 0) and a.trace_mc_size[0] == 20
    assert a.trace_mc_size[-1] > 20  # grew as the gains fell into the noise
    assert float(a.params.mu) == float(b.params.mu) and np.array_equal(a.trace_mc_size, b.trace_mc_size)
    c = fit_em(ImputedNormal(), data, tol=1e-5, random_state=6)
    assert float(c.params.mu) != float(a.params.mu)


def test_batched_draws_give_the_same_answer(data):
    result = fit_em(ImputedNormal(batches=10), data, tol=1e-5, random_state=0)
    assert result.converged
    assert abs(float(result.params.mu) - data[0].mean()) < 4 * np.sqrt(40) / 100 / np.sqrt(result.trace_mc_size[-1]) + 1e-4


def test_rate_and_noise_floor_match_theory(data):
    model = ImputedNormal()
    mle = Mean(np.asarray(data[0].mean()))
    draw = model.draw(data, mle, 4000, np.random.default_rng(0))
    noise, rate = noise_and_rate(model, draw, mle)
    assert rate == pytest.approx(0.4, abs=0.03)  # 40 of 100 values missing
    # Q~ is a parabola of curvature 100; its maximiser is off by a noise of variance 40 / (100^2 m)
    assert noise == pytest.approx(0.5 * 100 * 40 / 100**2 / 4000, rel=0.1)


def test_louis_standard_error_is_the_closed_form_one(data):
    model = ImputedNormal()
    mle = Mean(np.asarray(data[0].mean()))
    cov, mc_error = louis_covariance(model, model.draw(data, mle, 20_000, np.random.default_rng(1)), mle)
    se = np.sqrt(cov[0, 0])
    assert se == pytest.approx(1 / np.sqrt(60), abs=4 * mc_error[0] + 1e-3)
    assert 0 < mc_error[0] < 0.01


def test_an_m_step_that_does_not_maximise_is_caught(data):
    with pytest.raises(MonotonicityError, match="Q-function"):
        fit_em(WrongMStep(), data, random_state=0)


def test_squarem_is_refused_and_the_exact_e_step_does_not_exist(data):
    with pytest.raises(ValueError, match="accelerate"):
        fit_em(ImputedNormal(), data, accelerate="squarem")
    with pytest.raises(TypeError, match="stochastic"):
        ImputedNormal().e_step(data, Mean(np.asarray(0.0)))


def test_an_unreachable_tolerance_warns_at_max_iter(data):
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        result = fit_em(ImputedNormal(mc_max=50), data, tol=1e-12, max_iter=15, random_state=0)
    assert not result.converged and result.n_iter == 15


def test_tol_zero_runs_max_iter_and_restarts_keep_the_best(data):
    result = fit_em(ImputedNormal(), data, tol=0, max_iter=7, n_init=2, random_state=0)
    assert result.n_iter == 7 and result.restart_logliks.shape == (2,)


def test_std_errors_through_fit_em(data):
    result = fit_em(ImputedNormal(), data, tol=1e-5, random_state=0, std_errors=True)
    assert np.sqrt(result.covariance[0, 0]) == pytest.approx(1 / np.sqrt(60), rel=0.1)


def test_held_parameters_stay_put(data):
    held = Mean(np.asarray(True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = fit_em(ImputedNormal(), data, tol=1e-5, max_iter=5, random_state=0,
                        init_params=Mean(np.asarray(1.5)), fixed=held)
    assert float(result.params.mu) == 1.5
    assert dataclasses.asdict(result.fixed) == {"mu": np.asarray(True)}
