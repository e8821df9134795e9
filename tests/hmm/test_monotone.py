"""Property: the plain-EM log-likelihood trace never decreases (every model,
random data, random sizes, with and without missing rows)."""

import warnings

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from latentlab import ConvergenceWarning
from latentlab.hmm import CategoricalHMM, GaussianHMM, PoissonHMM

ROUND_OFF = 1e-9  # relative; the engine's guard for HMMs uses the same bound


def _trace(estimator, X, lengths):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)
        estimator.fit(X, lengths)
    return estimator.result_.trace


def _assert_monotone(trace):
    steps = np.diff(trace)
    assert np.all(steps >= -ROUND_OFF * (1 + np.abs(trace[1:]))), steps.min()


def _data(seed, T, missing):
    rng = np.random.default_rng(seed)
    z = np.cumsum(rng.random(T) < 0.1) % 3  # a sticky 3-state path
    lengths = [T // 2, T - T // 2]
    drop = rng.random(T) < (0.1 if missing else 0.0)
    return rng, z, lengths, drop


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), T=st.integers(20, 300), k=st.integers(1, 4),
       cov=st.sampled_from(["diag", "full"]), missing=st.booleans())
def test_gaussian_trace_never_decreases(seed, T, k, cov, missing):
    rng, z, lengths, drop = _data(seed, T, missing)
    X = rng.normal(z[:, None] * 1.5, 1.0, size=(T, 2))
    X[drop] = np.nan
    _assert_monotone(_trace(GaussianHMM(k, cov, n_iter=30, random_state=seed), X, lengths))


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), T=st.integers(20, 300), k=st.integers(1, 4), missing=st.booleans())
def test_categorical_trace_never_decreases(seed, T, k, missing):
    rng, z, lengths, drop = _data(seed, T, missing)
    X = ((z + (rng.random(T) < 0.3) * rng.integers(0, 4, T)) % 4).astype(float)[:, None]
    X[drop] = np.nan
    _assert_monotone(_trace(CategoricalHMM(k, n_features=4, n_iter=30, random_state=seed), X, lengths))


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), T=st.integers(20, 300), k=st.integers(1, 4), missing=st.booleans())
def test_poisson_trace_never_decreases(seed, T, k, missing):
    rng, z, lengths, drop = _data(seed, T, missing)
    X = rng.poisson(1.0 + 3.0 * z).astype(float)[:, None]
    X[drop] = np.nan
    _assert_monotone(_trace(PoissonHMM(k, n_iter=30, random_state=seed), X, lengths))
