"""Parameter spaces: what a valid value is, and an unconstrained coordinate system.

Each field of a model's parameter dataclass is declared with one constraint.
The engine uses the constraint for three jobs:

* **validity** (`is_valid`): SQUAREM extrapolates in the natural parameters and
  checks the result; an extrapolated point outside the space is pulled back
  towards the plain EM point (see :mod:`latentlab.em.squarem`);
* **free coordinates** (`to_free` / `from_free`): an unconstrained
  parametrisation (log for positive values, logit for probabilities,
  additive log-ratio for a simplex) in which the numerical Hessian of the
  observed log-likelihood is taken, so every finite-difference step stays inside
  the parameter space;
* **interval scale** (`scale`): Wald intervals are formed on the log scale for
  positive values, the logit scale for probabilities and simplex entries, and the
  identity scale otherwise, and transformed back, so they respect the bounds.

Entries that sit on the boundary (a weight of exactly 0, a probability of 1) or
that a model holds fixed are not free: they keep their value in every
finite-difference evaluation and get no standard error.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Constraint", "Real", "Positive", "UnitInterval", "Simplex", "PositiveDefinite"]


class Constraint:
    """Base class. ``scale`` names the Wald-interval scale of the entries."""

    scale = "identity"

    def is_valid(self, x: np.ndarray) -> bool:
        """True if every entry of ``x`` is finite and inside the space."""
        raise NotImplementedError

    def interior(self, x: np.ndarray) -> np.ndarray:
        """Boolean mask (shape of ``x``) of entries strictly inside the space."""
        raise NotImplementedError

    def tidy(self, x: np.ndarray) -> np.ndarray:
        """``x`` with round-off removed (a valid ``x`` moves by round-off only)."""
        return x

    def to_free(self, x: np.ndarray, free: np.ndarray) -> np.ndarray:
        """Unconstrained coordinates of the free entries of ``x`` (1-d)."""
        raise NotImplementedError

    def from_free(self, u: np.ndarray, x: np.ndarray, free: np.ndarray) -> np.ndarray:
        """``x`` with its free entries set from coordinates ``u``."""
        raise NotImplementedError

    def n_free(self, free: np.ndarray) -> int:
        """Number of unconstrained coordinates for the mask ``free``."""
        return int(np.count_nonzero(free))


class _Elementwise(Constraint):
    """A constraint applied entry by entry through a bijection ``g``."""

    def _forward(self, x):  # natural -> free
        raise NotImplementedError

    def _inverse(self, u):  # free -> natural
        raise NotImplementedError

    def to_free(self, x, free):
        return self._forward(np.asarray(x, dtype=float)[free])

    def from_free(self, u, x, free):
        out = np.array(x, dtype=float, copy=True)
        out[free] = self._inverse(np.asarray(u, dtype=float))
        return out


class Real(_Elementwise):
    """Any finite real number."""

    def is_valid(self, x):
        return bool(np.all(np.isfinite(x)))

    def interior(self, x):
        return np.ones(np.shape(x), dtype=bool)

    def _forward(self, x):
        return x

    def _inverse(self, u):
        return u


class Positive(_Elementwise):
    """Values in [0, inf); free coordinate log(x); intervals on the log scale."""

    scale = "log"

    def is_valid(self, x):
        x = np.asarray(x)
        return bool(np.all(np.isfinite(x)) and np.all(x >= 0))

    def interior(self, x):
        return np.asarray(x) > 0

    def _forward(self, x):
        return np.log(x)

    def _inverse(self, u):
        return np.exp(u)


class UnitInterval(_Elementwise):
    """Probabilities in [0, 1]; free coordinate logit(x); logit-scale intervals."""

    scale = "logit"

    def is_valid(self, x):
        x = np.asarray(x)
        return bool(np.all(np.isfinite(x)) and np.all((x >= 0) & (x <= 1)))

    def interior(self, x):
        x = np.asarray(x)
        return (x > 0) & (x < 1)

    def _forward(self, x):
        return np.log(x) - np.log1p(-x)

    def _inverse(self, u):
        return 1.0 / (1.0 + np.exp(-u))


class Simplex(Constraint):
    """Non-negative entries summing to one along ``axis`` (e.g. mixture weights,
    rows of a transition matrix).

    Free coordinates: within each simplex, the free entries share the mass they
    hold at the template point ``x``; their shares ``q`` are written as additive
    log-ratios ``u_i = log(q_i / q_ref)`` against the largest free entry, so any
    ``u`` maps back onto the simplex.
    """

    scale = "logit"

    def __init__(self, axis: int = -1, atol: float = 1e-8):
        self.axis = axis
        self.atol = atol

    def is_valid(self, x):
        x = np.asarray(x)
        if not (np.all(np.isfinite(x)) and np.all(x >= 0)):
            return False
        return bool(np.all(np.abs(x.sum(axis=self.axis) - 1.0) <= self.atol))

    def interior(self, x):
        return np.asarray(x) > 0

    def tidy(self, x):
        """Rescale to sum to one exactly: an extrapolated point that sums to
        1 + 1e-9 would otherwise carry a spuriously higher likelihood."""
        return x / np.sum(x, axis=self.axis, keepdims=True)

    def _rows(self, a):
        """View ``a`` as (n_simplices, size) with the simplex axis last."""
        a = np.moveaxis(np.asarray(a), self.axis, -1)
        return a.reshape(-1, a.shape[-1])

    def n_free(self, free):
        counts = self._rows(free).sum(axis=1)
        return int(np.sum(np.maximum(counts - 1, 0)))

    def to_free(self, x, free):
        out = []
        for xr, fr in zip(self._rows(np.asarray(x, dtype=float)), self._rows(free)):
            idx = np.flatnonzero(fr)
            if idx.size < 2:
                continue
            q = xr[idx]
            ref = np.argmax(q)
            out.append(np.log(np.delete(q, ref)) - np.log(q[ref]))
        return np.concatenate(out) if out else np.zeros(0)

    def from_free(self, u, x, free):
        x = np.asarray(x, dtype=float)
        moved = np.moveaxis(x, self.axis, -1).copy()
        rows = moved.reshape(-1, moved.shape[-1])
        pos = 0
        for xr, fr in zip(rows, self._rows(free)):
            idx = np.flatnonzero(fr)
            if idx.size < 2:
                continue
            mass = xr[idx].sum()
            ref = np.argmax(xr[idx])
            logits = np.insert(np.asarray(u[pos:pos + idx.size - 1], dtype=float), ref, 0.0)
            pos += idx.size - 1
            q = np.exp(logits - logits.max())
            xr[idx] = mass * q / q.sum()
        return np.moveaxis(rows.reshape(moved.shape), -1, self.axis)


class PositiveDefinite(Constraint):
    """Symmetric positive definite matrices over the last two axes (covariance
    matrices).

    Free coordinates: the lower Cholesky factor ``L`` of each matrix, with its
    diagonal on the log scale, ``D (D + 1) / 2`` numbers per matrix. A matrix is
    free only when all its entries are (masks are per entry, like the other
    constraints, but a matrix moves as a whole). Intervals are on the identity
    scale.
    """

    def __init__(self, rtol: float = 1e-10):
        self.rtol = rtol

    @staticmethod
    def _matrices(a):
        a = np.asarray(a)
        return a.reshape(-1, a.shape[-2], a.shape[-1])

    def _is_pd(self, m) -> bool:
        if not np.all(np.isfinite(m)):
            return False
        if np.any(np.abs(m - m.T) > self.rtol * np.max(np.abs(m))):
            return False
        try:
            np.linalg.cholesky(m)
        except np.linalg.LinAlgError:
            return False
        return True

    def is_valid(self, x):
        return all(self._is_pd(m) for m in self._matrices(np.asarray(x, dtype=float)))

    def interior(self, x):
        x = np.asarray(x, dtype=float)
        pd_ = np.array([self._is_pd(m) for m in self._matrices(x)], dtype=bool)
        return np.broadcast_to(pd_[:, None, None], self._matrices(x).shape).reshape(x.shape).copy()

    def _free_matrices(self, free):
        return np.all(self._matrices(free), axis=(1, 2))

    def n_free(self, free):
        d = np.shape(free)[-1]
        return int(np.count_nonzero(self._free_matrices(free))) * d * (d + 1) // 2

    def to_free(self, x, free):
        d = np.shape(x)[-1]
        rows, cols = np.tril_indices(d)
        out = []
        for m, f in zip(self._matrices(np.asarray(x, dtype=float)), self._free_matrices(free)):
            if f:
                L = np.linalg.cholesky(m)
                L[np.diag_indices(d)] = np.log(np.diag(L))
                out.append(L[rows, cols])
        return np.concatenate(out) if out else np.zeros(0)

    def from_free(self, u, x, free):
        x = np.asarray(x, dtype=float)
        d = x.shape[-1]
        rows, cols = np.tril_indices(d)
        mats = self._matrices(x).copy()
        pos = 0
        for i, f in enumerate(self._free_matrices(free)):
            if f:
                L = np.zeros((d, d))
                L[rows, cols] = u[pos:pos + rows.size]
                L[np.diag_indices(d)] = np.exp(np.diag(L))
                mats[i] = L @ L.T
                pos += rows.size
        return mats.reshape(x.shape)
