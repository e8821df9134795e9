"""The compiled E-step pieces against plain references: the exponential
against numpy's, the forward-backward recursions (lazily rescaled) against a
log-space implementation, for unrolled (K <= 8) and run-time (K > 8) state
loops, with several sequences, structural zeros and steps that shrink the
probability by far more than the rescaling threshold."""

import numpy as np
import pytest
from scipy.special import logsumexp

from latentlab.hmm import _kernels


def test_exp_nonpositive_matches_numpy_to_two_ulps():
    rng = np.random.default_rng(0)
    z = np.concatenate([
        -rng.exponential(1.0, 20_000),
        -rng.uniform(0.0, 746.0, 20_000),
        np.linspace(-745.2, -700.0, 2_000),  # subnormal results and their border
        [0.0, -0.0, -1e-300, -np.log(2) / 2, -745.13, -745.14, -746.0, -800.0, -np.inf],
    ])
    ours = z.copy()
    _kernels._exp_in_place(ours)
    ref = np.exp(z)
    assert np.all(np.abs(ours - ref) <= 2 * np.spacing(ref))  # for subnormals: two units of 5e-324
    np.testing.assert_array_equal(ours[ref == 0.0], 0.0)
    assert np.count_nonzero((ref > 0) & (ref < np.finfo(float).tiny)) > 100  # the subnormal range was tested
    nan = np.array([np.nan])
    _kernels._exp_in_place(nan)
    assert np.isnan(nan[0])


def _reference(logb, startprob, transmat, starts, ends, features):
    """Log-space forward-backward per sequence: posteriors, summed transition
    counts, sums of [1, features] weighted by the posteriors, log-likelihood."""
    K = logb.shape[1]
    gamma = np.empty_like(logb)
    xi = np.zeros((len(starts), K, K))
    sums = np.zeros((len(starts), K, 1 + features.shape[1]))
    ll = np.empty(len(starts))
    with np.errstate(divide="ignore"):
        log_a, log_pi = np.log(transmat), np.log(startprob)
    for s, (st, en) in enumerate(zip(starts, ends)):
        lb = logb[st:en]
        n = lb.shape[0]
        fwd, bwd = np.empty((n, K)), np.zeros((n, K))
        fwd[0] = log_pi + lb[0]
        for t in range(1, n):
            fwd[t] = logsumexp(fwd[t - 1][:, None] + log_a, axis=0) + lb[t]
        for t in range(n - 2, -1, -1):
            bwd[t] = logsumexp(log_a + lb[t + 1] + bwd[t + 1], axis=1)
        ll[s] = logsumexp(fwd[-1])
        gamma[st:en] = np.exp(fwd + bwd - ll[s])
        for t in range(1, n):
            xi[s] += np.exp(fwd[t - 1][:, None] + log_a + lb[t] + bwd[t] - ll[s])
        sums[s] = gamma[st:en].T @ np.column_stack([np.ones(n), features[st:en]])
    return gamma, xi, sums, ll


def _kernel(logb, startprob, transmat, starts, ends, features):
    b = logb.copy()
    shift = np.empty(b.shape[0])
    tag = _kernels.state_tag(b.shape[1])
    _kernels.scale_emissions(b, shift, tag)
    gamma = np.empty_like(b)
    features_t = np.ascontiguousarray(features.T)
    loglik = _kernels.forward_loglik(b, shift, startprob, transmat, starts, ends, tag)
    xi, sums, ll = _kernels.forward_backward(b, shift, startprob, transmat, starts, ends, features_t, gamma, tag)
    np.testing.assert_allclose(loglik, ll, rtol=1e-13)
    return gamma, xi, sums, ll


@pytest.mark.parametrize("K", [1, 3, 8, 9, 13, 17])
def test_forward_backward_equals_log_space_reference(K):
    rng = np.random.default_rng(K)
    lengths = [1, 2, 300, 57]
    T = sum(lengths)
    ends = np.cumsum(lengths)
    starts = ends - np.array(lengths)
    transmat = rng.dirichlet(np.ones(K), K)
    if K > 2:
        transmat[0, 1] = 0.0  # a structural zero
        transmat /= transmat.sum(axis=1, keepdims=True)
    startprob = rng.dirichlet(np.ones(K))
    logb = rng.normal(scale=30.0, size=(T, K))  # steps that shrink the probability by up to e^-100 and more
    logb[5, :] -= 2000.0  # a row far below the others: every state at once
    features = rng.normal(size=(T, 2))
    ours = _kernel(logb, startprob, transmat, starts, ends, features)
    ref = _reference(logb, startprob, transmat, starts, ends, features)
    for a, r in zip(ours, ref):
        np.testing.assert_allclose(a, r, rtol=1e-9, atol=1e-12)


def test_steps_far_below_the_rescaling_threshold():
    """Observations that alternate between the two states while switching
    costs 10^-90 and each observation is 10^-90 as likely under the other
    state: the probability falls by about 10^-45 a step, so at least every
    other step takes the forward and backward vectors below RESCALE (2^-256,
    about 10^-77) and is redone from a normalised vector; posteriors, counts
    and log-likelihood stay those of the log-space reference."""
    T = 40
    eps = 1e-90
    transmat = np.array([[1.0 - eps, eps], [eps, 1.0 - eps]])
    logb = np.zeros((T, 2))
    logb[np.arange(T), np.arange(T) % 2] = np.log(eps)
    starts, ends = np.array([0]), np.array([T])
    features = np.arange(T, dtype=float)[:, None]
    ours = _kernel(logb, np.array([0.5, 0.5]), transmat, starts, ends, features)
    ref = _reference(logb, np.array([0.5, 0.5]), transmat, starts, ends, features)
    assert ref[3][0] < T * np.log(_kernels.RESCALE) / 2
    for a, r in zip(ours, ref):
        np.testing.assert_allclose(a, r, rtol=1e-12, atol=1e-12)


def test_a_sequence_of_probability_zero_gives_minus_infinity():
    transmat = np.array([[1.0, 0.0], [0.0, 1.0]])
    logb = np.array([[0.0, -np.inf], [-np.inf, 0.0]])  # state 0, then only state 1: impossible
    out = _kernel(logb, np.array([0.5, 0.5]), transmat, np.array([0]), np.array([2]), np.zeros((2, 0)))
    assert out[3][0] == -np.inf
