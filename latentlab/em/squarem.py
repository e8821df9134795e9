"""SQUAREM step lengths (Varadhan & Roland 2008, Scand. J. Statist. 35:335-353).

From a point ``x0`` and two plain EM steps ``x1 = F(x0)``, ``x2 = F(x1)``, with
``r = x1 - x0`` and ``v = x2 - 2 x1 + x0``, scheme S3 takes the step length
``s = ||r|| / ||v||`` and jumps to

    x' = x0 + 2 s r + s^2 v.

``s = 1`` gives ``x2`` itself, so ``s`` is kept at least 1. The largest allowed
step adapts as in the R package SQUAREM (``squarem1``): it starts at 1, is
multiplied by 4 whenever a step of that length is accepted, and divided by 4
(not below 1) whenever such a step had to be rejected.

Parameter spaces (simplexes, positive rates, covariance matrices) are kept by
**backtracking**, not by transformation: the extrapolation is done in the
natural parameters and, while ``x'`` is outside the space, the step is pulled
towards the plain EM point, ``s <- 1 + (s - 1) / 2``; at ``s = 1`` the point is
``x2``, which the M-step made valid. A simplex is preserved exactly by the
extrapolation (``r`` and ``v`` sum to zero) up to round-off, so only the signs
need pulling back; the engine then removes the round-off (``Constraint.tidy``:
a simplex is rescaled to sum to one exactly).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["StepLength", "extrapolate"]

_MAX_HALVINGS = 30


class StepLength:
    """The adaptive upper bound on the SQUAREM step, as in R's SQUAREM."""

    def __init__(self, factor: float = 4.0):
        self.factor = factor
        self.max = 1.0

    def propose(self, r: np.ndarray, v: np.ndarray) -> float:
        """S3 step ``||r|| / ||v||`` clipped to ``[1, max]``."""
        nv = np.linalg.norm(v)
        if nv == 0.0 or not np.isfinite(nv):
            return 1.0
        return float(np.clip(np.linalg.norm(r) / nv, 1.0, self.max))

    def update(self, step: float, accepted: bool) -> None:
        if step < self.max:
            return
        self.max = self.max * self.factor if accepted else max(1.0, self.max / self.factor)


def extrapolate(x0, r, v, step: float, is_valid: Callable[[np.ndarray], bool]):
    """Extrapolated point and the step used, backtracking into the space.

    Returns ``(x, step)``, or ``(None, 1.0)`` when the plain EM point ``x2``
    is to be used.
    """
    for _ in range(_MAX_HALVINGS):
        if step <= 1.0:
            break
        x = x0 + 2.0 * step * r + step * step * v
        if is_valid(x):
            return x, step
        step = 1.0 + (step - 1.0) / 2.0
    return None, 1.0
