"""Capture histories with a known truth: a closed population of latent classes."""

from __future__ import annotations

import numpy as np

from ..em import Simplex, as_generator

__all__ = ["simulate_capture_histories"]


def _check_classes(classes, occasions: int) -> tuple[np.ndarray, np.ndarray]:
    """Weights (K,) and capture probabilities (K, T) from ``(weight, p)`` pairs."""
    try:
        pairs = [(float(w), np.broadcast_to(np.asarray(p, dtype=float), (occasions,))) for w, p in classes]
    except (TypeError, ValueError) as err:
        raise ValueError(
            "classes must be a sequence of (weight, p) pairs, p a probability or one per occasion "
            f"(length {occasions}); {err}"
        ) from None
    if not pairs:
        raise ValueError("classes is empty; give at least one (weight, p) pair")
    weights = np.array([w for w, _ in pairs])
    p = np.array([q for _, q in pairs])
    if not Simplex(atol=1e-9).is_valid(weights):
        raise ValueError(f"class weights must be non-negative and sum to 1; got {weights.tolist()}")
    if not (np.all(np.isfinite(p)) and np.all((p >= 0) & (p <= 1))):
        raise ValueError(f"capture probabilities must lie in [0, 1]; got {p.tolist()}")
    return weights, p


def simulate_capture_histories(N: int, occasions: int, classes, random_state=None) -> tuple[np.ndarray, np.ndarray]:
    """Simulate a closed population of ``N`` animals over ``occasions`` occasions.

    Each animal belongs to class ``k`` with probability ``weight_k`` and is
    caught on occasion ``t`` independently with probability ``p_kt``.

    Parameters
    ----------
    N : population size (integer >= 1).
    occasions : number of capture occasions T (>= 2).
    classes : sequence of ``(weight, p)`` pairs, ``p`` a probability or an
        array of T probabilities (time variation); e.g. ``[(0.3, 0.6), (0.7, 0.1)]``.
        ``[(1.0, p)]`` gives M0, ``[(1.0, p_t)]`` gives Mt.
    random_state : seed or Generator.

    Returns
    -------
    histories : (n, T) int array of the animals caught at least once.
    classes : (n,) true class of each caught animal.
    """
    if not isinstance(N, (int, np.integer)) or isinstance(N, bool) or N < 1:
        raise ValueError(f"N must be a positive integer; got {N!r}")
    if not isinstance(occasions, (int, np.integer)) or occasions < 2:
        raise ValueError(f"occasions must be an integer >= 2; got {occasions!r}")
    weights, p = _check_classes(classes, int(occasions))
    rng = as_generator(random_state)
    z = rng.choice(weights.size, size=N, p=weights / weights.sum())
    h = (rng.random((N, occasions)) < p[z]).astype(np.int64)
    caught = h.any(axis=1)
    return h[caught], z[caught]
