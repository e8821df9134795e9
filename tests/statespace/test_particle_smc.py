"""The compiled particle filter and backward-simulation smoother, against exact answers.

Exact references: the Kalman filter's log-likelihood and the Rauch-Tung-Striebel
smoother (latentlab's LinearGaussianSSM, itself checked against statsmodels in
test_statespace_likelihood.py), and the backward kernel computed by brute force
in numpy from the filter's own particles.
"""

import numpy as np
import pytest
from scipy import stats as sps

from latentlab.statespace import LinearGaussian, LinearGaussianSSM, StochasticVolatility, _smc
from latentlab.statespace.particle_models import pooled_loglik

A, Q, R, T = 0.8, 0.5, 1.0, 100


@pytest.fixture(scope="module")
def series():
    rng = np.random.default_rng(7)
    x = np.empty(T)
    x[0] = rng.normal(0.0, 1.0)
    for t in range(1, T):
        x[t] = A * x[t - 1] + rng.normal(0.0, np.sqrt(Q))
    return x + rng.normal(0.0, np.sqrt(R), T)


@pytest.fixture(scope="module")
def kalman(series):
    """The exact model at (A, Q, R) with x_1 ~ N(0, 1): nothing estimated."""
    return LinearGaussianSSM(1, A=[[A]], C=[[1.0]], Q=[[Q]], R=[[R]], mu0=[0.0], P0=[[1.0]], initial="estimated",
                             fixed=("A", "C", "Q", "R", "mu0", "P0"), max_iter=1).fit(series)


def _params():
    return LinearGaussian().params_type(a=np.asarray(A), q=np.asarray(Q), r=np.asarray(R))


def test_uniforms_are_uniform_and_reproducible():
    draw = _smc._uniform
    s1, s2 = _smc._seeded(12345), _smc._seeded(12345)
    u = np.array([draw(s1) for _ in range(100_000)])
    assert np.array_equal(u[:10], [draw(s2) for _ in range(10)])
    assert u.min() >= 0 and u.max() < 1
    assert sps.kstest(u, "uniform").pvalue > 1e-3


def test_alias_table_draws_in_proportion_to_the_weights():
    rng = np.random.default_rng(0)
    W = rng.dirichlet(np.full(30, 0.5))
    N = W.size
    prob, alias = np.empty(N), np.empty(N, dtype=np.int64)
    _smc._alias_table(W, prob, alias, np.empty(N, dtype=np.int64), np.empty(N, dtype=np.int64))
    state = _smc._seeded(1)
    draws = np.array([_smc._alias_draw(prob, alias, state) for _ in range(200_000)])
    counts = np.bincount(draws, minlength=N)
    keep = W * draws.size >= 5
    chi2 = sps.chisquare(counts[keep], W[keep] / W[keep].sum() * counts[keep].sum())
    assert chi2.pvalue > 1e-3


def test_systematic_resampling_gives_each_particle_floor_or_ceil_of_n_w():
    W = np.random.default_rng(2).dirichlet(np.ones(50))
    out = np.empty(50, dtype=np.int64)
    _smc._systematic(W, 0.37, out)
    counts = np.bincount(out, minlength=50)
    assert np.all((counts == np.floor(50 * W)) | (counts == np.ceil(50 * W)))
    assert np.all(np.diff(out) >= 0)


def test_the_likelihood_estimate_is_unbiased_for_the_kalman_likelihood(series, kalman):
    model = LinearGaussian()
    logs = model.loglik_estimates(series, _params(), 500, 60, np.random.default_rng(0))
    pooled, se = pooled_loglik(logs)
    assert abs(pooled - kalman.loglik_) < 3 * se
    assert np.std(logs) < 0.5  # 500 particles on 100 steps: an estimate of log-variance well below 1


def test_smoothed_means_match_the_rts_smoother(series, kalman):
    """Ten independent filters of 1,000 particles, 200 trajectories each: the
    smoothed means against the RTS smoother in units of their Monte Carlo
    standard error measured between the filters (trajectories of one filter
    share its particles, so their own spread understates the error). Each z is
    then a t with 9 degrees of freedom: P(|t_9| > 7) is 6e-5, so over 100 time
    points the largest exceeds 7 with probability 0.6%; E|t_9| is 0.85."""
    model, rng = LinearGaussian(), np.random.default_rng(1)
    runs = [model.smooth_paths(series, _params(), 1000, 200, rng)[0] for _ in range(10)]
    exact = kalman.smooth()
    mean, sd = exact.means[:, 0], exact.std_errors()[:, 0]
    per_filter = np.array([paths.mean(axis=0) for paths in runs])
    z = (per_filter.mean(axis=0) - mean) / (per_filter.std(axis=0, ddof=1) / np.sqrt(10))
    assert np.max(np.abs(z)) < 7 and np.mean(np.abs(z)) < 1.2
    assert np.allclose(np.concatenate(runs).std(axis=0), sd, rtol=0.1)


@pytest.mark.parametrize("sigma", [0.05, 1.0], ids=["tight transitions (exact weights)", "broad (rejection)"])
def test_backward_simulation_draws_from_the_exact_backward_kernel(sigma):
    """With 12 particles and 3 steps, the exact distribution of the drawn
    particle at t = 0 is a sum over the paths; the sampler must match it,
    whether rejection or the exact weights do the drawing."""
    y = np.array([0.3, -1.0, 0.8])
    model = StochasticVolatility()
    params = model.params_type(mu=np.asarray(0.0), phi=np.asarray(0.9), sigma=np.asarray(sigma))
    theta = model.theta(params)
    k = model.kernels
    X, W, _ = model.filter(y, params, 12, np.random.default_rng(3))
    # many small calls: groups of about one trajectory per particle, so that
    # rejection does the drawing unless the transitions are tight
    runs = [_smc.backward_simulation(X, W, theta, 12, seed, k.log_transition, k.transition_bound)
            for seed in range(8000)]
    paths = np.concatenate([p for p, _ in runs])
    share = np.mean([s for _, s in runs])
    M = paths.shape[0]

    def f(prev, nxt):  # transition density up to a constant
        return np.exp(-0.5 * ((nxt - theta[0] - theta[1] * (prev - theta[0])) / theta[2]) ** 2)

    p2 = W[2]
    p1 = np.array([(p2[j] * W[1] * f(X[1], X[2, j]) / (W[1] * f(X[1], X[2, j])).sum()) for j in range(12)]).sum(0)
    p0 = np.array([(p1[j] * W[0] * f(X[0], X[1, j]) / (W[0] * f(X[0], X[1, j])).sum()) for j in range(12)]).sum(0)
    drawn = np.searchsorted(np.sort(X[0]), paths[:, 0])
    counts = np.bincount(np.argsort(X[0])[drawn], minlength=12)
    keep = p0 * M >= 5
    assert sps.chisquare(counts[keep], p0[keep] / p0[keep].sum() * counts[keep].sum()).pvalue > 1e-3
    assert (share > 0.1) if sigma < 0.1 else (share < 0.05)  # both ways of drawing are checked


def test_exact_backward_weights_ignore_particles_of_zero_weight():
    """The best transition to ``nxt`` belongs to a particle of zero weight and
    every other term underflows in linear scale: the weights must still be
    those of the positive-weight particles, W_i f(nxt | x_i), normalised."""
    model = LinearGaussian()
    params = model.params_type(a=np.asarray(1.0), q=np.asarray(1e-4), r=np.asarray(1.0))
    theta, k = model.theta(params), model.kernels
    X_t, W_t, nxt = np.array([0.0, 1.0, 1.2]), np.array([0.0, 0.5, 0.5]), 0.0
    out = np.empty(3)
    total = _smc._exact_weights(X_t, W_t, theta, nxt, 1, k.log_transition, out)
    log_terms = np.log(W_t[1:]) - 0.5 * (nxt - X_t[1:]) ** 2 / 1e-4
    expected = np.exp(log_terms - log_terms.max()) / np.exp(log_terms - log_terms.max()).sum()
    assert np.isfinite(total) and total > 0
    assert np.allclose(np.diff(np.r_[0.0, out]) / total, np.r_[0.0, expected], rtol=1e-12, atol=0)
