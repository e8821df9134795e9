"""Simulated linear Gaussian state-space data with a known truth."""

from __future__ import annotations

import numba as nb
import numpy as np

from .._validation import as_array, check_finite, check_positive_int
from ..em import as_generator

__all__ = ["simulate_ssm"]


@nb.njit(cache=True)
def _propagate(A, b, x1, W):
    """States ``x_1 = x1``, ``x_t = A x_{t-1} + b + W[t]``."""
    T, n = W.shape
    X = np.empty((T, n))
    X[0] = x1
    for t in range(1, T):
        for i in range(n):
            s = b[i] + W[t, i]
            for k in range(n):
                s += A[i, k] * X[t - 1, k]
            X[t, i] = s
    return X


def _cholesky(S: np.ndarray, name: str) -> np.ndarray:
    """Lower Cholesky factor of a covariance, or a ValueError naming it."""
    try:
        return np.linalg.cholesky(S)
    except np.linalg.LinAlgError:
        raise ValueError(f"{name} must be a symmetric positive definite covariance matrix; got {S.tolist()}") from None


def simulate_ssm(A, C, Q, R, n_steps: int, *, b=None, d=None, mu0=None, P0=None, initial_state=None,
                 random_state=None) -> tuple[np.ndarray, np.ndarray]:
    """One sequence of ``n_steps`` from ``x_t = A x_{t-1} + b + w_t``,
    ``y_t = C x_t + d + v_t``, ``w_t ~ N(0, Q)``, ``v_t ~ N(0, R)``.

    The first state is ``initial_state`` if given, else a draw from
    ``N(mu0, P0)`` (``mu0`` zero and ``P0`` zero, i.e. ``x_1 = mu0``, by
    default). Returns ``(states, Y)`` of shapes (n_steps, n) and (n_steps, p).
    """
    check_positive_int(n_steps, "n_steps")
    A = check_finite(as_array(A, "A", ndim=2), "A")
    n = A.shape[0]
    C = check_finite(as_array(C, "C", ndim=2), "C")
    p = C.shape[0]
    shapes = dict(A=(n, n), C=(p, n), Q=(n, n), R=(p, p), b=(n,), d=(p,), mu0=(n,), P0=(n, n))
    given = dict(A=A, C=C, Q=Q, R=R, b=np.zeros(n) if b is None else b, d=np.zeros(p) if d is None else d,
                 mu0=np.zeros(n) if mu0 is None else mu0, P0=np.zeros((n, n)) if P0 is None else P0)
    m = {}
    for name, value in given.items():
        arr = check_finite(as_array(value, name), name)
        if arr.shape != shapes[name]:
            raise ValueError(f"{name} must have shape {shapes[name]}; got {arr.shape}")
        m[name] = arr
    rng = as_generator(random_state)
    LQ, LR = _cholesky(m["Q"], "Q"), _cholesky(m["R"], "R")
    if initial_state is not None:
        x1 = check_finite(as_array(initial_state, "initial_state", ndim=1), "initial_state")
        if x1.shape != (n,):
            raise ValueError(f"initial_state must have shape {(n,)}; got {x1.shape}")
    else:
        P0 = m["P0"]
        x1 = m["mu0"] + (_cholesky(P0, "P0") @ rng.standard_normal(n) if np.any(P0) else 0.0)
    W = rng.standard_normal((n_steps, n)) @ LQ.T
    X = _propagate(m["A"], m["b"], np.asarray(x1, dtype=float), W)
    Y = X @ m["C"].T + m["d"] + rng.standard_normal((n_steps, p)) @ LR.T
    return X, Y
