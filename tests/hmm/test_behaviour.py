"""Closed forms and behaviours: brute-force enumeration of paths (forward
algorithm, missing rows, Viterbi), sums over sequences, long sequences,
fixed parameters and structural zeros, empty states."""

import itertools
import warnings

import numpy as np
import pytest
from scipy.stats import norm

from latentlab import BoundaryWarning, ConvergenceWarning
from latentlab.hmm import GaussianHMM, PoissonHMM, simulate_hmm

PI = np.array([0.6, 0.4])
A = np.array([[0.7, 0.3], [0.2, 0.8]])
MEANS = np.array([[0.0], [2.0]])
VARS = np.array([[1.0], [0.5]])


def _fixed_model(pi=PI, A=A, means=MEANS, covars=VARS):
    """A GaussianHMM that holds the given parameters (params="")."""
    model = GaussianHMM(len(pi), init_params="", params="", n_iter=1)
    model.startprob_, model.transmat_, model.means_, model.covars_ = pi, A, means, covars
    return model


def _brute_force(x):
    """log P(x) and the best path by enumerating all 2^T paths; NaN = missing."""
    dens = np.where(np.isnan(x)[:, None], 1.0, norm.pdf(x[:, None], MEANS[:, 0], np.sqrt(VARS[:, 0])))
    total, best, best_path = 0.0, -np.inf, None
    for path in itertools.product(range(2), repeat=x.size):
        p = PI[path[0]] * dens[0, path[0]]
        for t in range(1, x.size):
            p *= A[path[t - 1], path[t]] * dens[t, path[t]]
        total += p
        if p > best:
            best, best_path = p, path
    return np.log(total), np.log(best), np.array(best_path)


def test_forward_and_viterbi_against_enumeration_with_missing_rows():
    x = np.array([0.3, np.nan, 2.2, 1.1, np.nan, np.nan, -0.4, 2.5])
    logp, logbest, best = _brute_force(x)
    model = _fixed_model()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x)
    assert model.score(x) == pytest.approx(logp, rel=1e-12)
    lp, path = model.decode(x)
    assert lp == pytest.approx(logbest, rel=1e-12)
    np.testing.assert_array_equal(path, best)


def test_sequences_are_independent():
    X, _ = simulate_hmm(300, PI, A, means=MEANS, covars=VARS, random_state=0)
    model = _fixed_model()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    parts = model.score(X[:100]) + model.score(X[100:])
    assert model.score(X, lengths=[100, 200]) == pytest.approx(parts, rel=1e-12)


def test_long_sequence_no_underflow():
    """T = 200,000: the probability of the data is of order exp(-300,000), far
    below the smallest double, yet the scaled recursions give a finite
    log-likelihood and posteriors that sum to one (T = 10^7 is in the benchmark)."""
    X, _ = simulate_hmm(200_000, PI, A, means=MEANS, covars=VARS, random_state=1)
    model = _fixed_model()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    ll, post = model.score_samples(X)
    assert np.isfinite(ll) and ll < -1e5
    np.testing.assert_allclose(post.sum(axis=1), 1.0, rtol=1e-12)


def test_fixed_parameters_and_structural_zeros():
    """A left-to-right chain: the zeros of the given transmat stay zero, the
    fixed means do not move, and the zeros are not counted as parameters."""
    truth_A = np.array([[0.95, 0.05, 0.0], [0.0, 0.95, 0.05], [0.0, 0.0, 1.0]])
    X, _ = simulate_hmm(600, [1.0, 0.0, 0.0], truth_A, means=[[0.0], [3.0], [6.0]], covars=[[1.0]] * 3, random_state=2)
    model = GaussianHMM(3, init_params="c", params="tc", random_state=0)
    start_A = np.array([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5], [0.0, 0.0, 1.0]])
    model.startprob_, model.transmat_, model.means_ = [1.0, 0.0, 0.0], start_A, [[0.0], [3.0], [6.0]]
    model.fit(X)
    np.testing.assert_array_equal(model.transmat_ == 0, start_A == 0)
    np.testing.assert_array_equal(model.means_, [[0.0], [3.0], [6.0]])
    np.testing.assert_array_equal(model.startprob_, [1.0, 0.0, 0.0])
    # free: two transition probabilities (rows 0 and 1), three variances
    assert model.n_parameters_ == 5


def test_empty_state_keeps_valid_parameters_and_warns():
    X, _ = simulate_hmm(500, [0.5, 0.5], [[0.9, 0.1], [0.1, 0.9]], means=[[0.0], [2.0]], covars=[[1.0], [1.0]], random_state=3)
    model = GaussianHMM(3, init_params="st", n_iter=20)
    model.means_ = [[0.0], [2.0], [1e6]]  # the third state can explain nothing
    model.covars_ = [[1.0], [1.0], [1.0]]
    with pytest.warns(BoundaryWarning, match="no posterior mass"):
        model.fit(X)
    for value in (model.startprob_, model.transmat_, model.means_, model.covars_):
        assert np.all(np.isfinite(value))
    assert model.means_[2, 0] == 1e6


def test_poisson_missing_rows_equal_dropping_them_within_a_gap_free_model():
    """With a single state the rows are independent, so NaN rows must give the
    log-likelihood of the data with those rows removed (closed form: Poisson MLE)."""
    rng = np.random.default_rng(4)
    X = rng.poisson(3.0, size=(400, 1)).astype(float)
    X[::7] = np.nan
    fit = PoissonHMM(1).fit(X)
    kept = X[~np.isnan(X[:, 0]), 0]
    assert fit.lambdas_[0, 0] == pytest.approx(kept.mean(), rel=1e-10)
    from scipy.stats import poisson

    assert fit.loglik_ == pytest.approx(poisson.logpmf(kept, kept.mean()).sum(), rel=1e-10)
    assert fit.n_obs_ == kept.size
