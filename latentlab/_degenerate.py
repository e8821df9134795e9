"""Warnings for degenerate fits of mixtures and hidden Markov models.

A fit is legal but degenerate when a component (or state) carries no weight,
or when two components have the same distribution: the data then support fewer
components, and how the weight splits between coinciding components is not
identified (the likelihood is flat along that split). Neither makes the fit
wrong, so it is a :class:`~latentlab.BoundaryWarning`, not an error.

Each component is summarised by a *signature*: its parameters on a scale where
a difference of 1 is about one standard deviation of one observation (``2
sqrt(lambda)`` for Poisson rates, the variance-stabilising transform; means over
the pooled standard deviation and half log-variances for Gaussians; ``2
sqrt(p)`` for categorical probabilities, the Hellinger embedding). Two
components coincide when their signatures differ by at most ``1e-3`` in every
coordinate.
"""

from __future__ import annotations

import warnings

import numpy as np

from ._warn import user_stacklevel
from .exceptions import BoundaryWarning

#: components whose signatures differ by at most this much coincide
COINCIDE_ATOL = 1e-3
#: a component with less weight than this carries none
VANISHING_WEIGHT = 1e-8


def poisson_signature(rates: np.ndarray) -> np.ndarray:
    """``2 sqrt(lambda)`` per component, shape (K, D)."""
    return 2.0 * np.sqrt(np.asarray(rates, dtype=float).reshape(len(rates), -1))


def categorical_signature(probs: np.ndarray) -> np.ndarray:
    """``2 sqrt(p)`` per component, shape (K, M)."""
    return 2.0 * np.sqrt(np.asarray(probs, dtype=float))


def gaussian_signature(means: np.ndarray, variances: np.ndarray) -> np.ndarray:
    """Means over the pooled standard deviation, and half log-variances, from
    means (K, D) and variances (K, D) (the diagonals of the covariances)."""
    variances = np.asarray(variances, dtype=float)
    pooled = np.sqrt(variances.mean(axis=0))
    with np.errstate(divide="ignore"):
        return np.hstack([np.asarray(means, dtype=float) / pooled, 0.5 * np.log(variances)])


def coinciding_pairs(signatures: np.ndarray) -> list[tuple[int, int]]:
    """Pairs ``(i, j)``, ``i < j``, of components whose signatures coincide."""
    s = np.asarray(signatures, dtype=float)
    k = s.shape[0]
    return [(i, j) for i in range(k) for j in range(i + 1, k) if np.max(np.abs(s[i] - s[j])) <= COINCIDE_ATOL]


def warn_degenerate(name: str, noun: str, signatures: np.ndarray, weights: np.ndarray | None = None) -> None:
    """Warn about components (``noun``: "component", "state", "cluster") that
    carry no weight or coincide with another (module docstring)."""
    if weights is not None:
        for k in np.flatnonzero(np.asarray(weights) < VANISHING_WEIGHT):
            warnings.warn(
                f"{name}: {noun} {k} has weight {weights[k]:.3g}: the data support fewer {noun}s",
                BoundaryWarning, stacklevel=user_stacklevel(),
            )
    pairs = coinciding_pairs(signatures)
    if pairs:
        listed = ", ".join(f"{i} and {j}" for i, j in pairs)
        warnings.warn(
            f"{name}: {noun}s {listed} coincide (their parameters agree to {COINCIDE_ATOL:g} of a standard "
            f"deviation): the data support fewer {noun}s, and the split of weight between coinciding {noun}s "
            "is not identified",
            BoundaryWarning, stacklevel=user_stacklevel(),
        )
