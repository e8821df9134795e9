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
  identity scale otherwise (covariance matrices included), and transformed back,
  so they respect the bounds.

Entries that sit on the boundary (a weight of exactly 0, a probability of 1) or
that a model holds fixed are not free: they keep their value in every
finite-difference evaluation and get no standard error.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "Constraint", "Real", "Positive", "UnitInterval", "Simplex", "GroupedSimplex", "PositiveDefinite",
    "DiagonalCovariance",
    "Interval",
]


def _in_bounds(x, lower: float = -np.inf, upper: float = np.inf) -> bool:
    """Every entry of ``x`` finite and in ``[lower, upper]`` (True for an
    empty array): the test of the smallest and the largest entry, which a NaN
    fails. The engine asks this of every parameter field at every iteration:
    two reductions, where one boolean temporary per test cost several times
    as much on small fields."""
    x = np.asarray(x, dtype=float)
    if x.size == 0:
        return True
    low, high = x.min(), x.max()
    return bool(low >= lower and high <= upper and np.isfinite(low) and np.isfinite(high))


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
        return _in_bounds(x)

    def interior(self, x):
        return np.ones(np.shape(x), dtype=bool)

    def _forward(self, x):
        return x

    def _inverse(self, u):
        return u


class Positive(_Elementwise):
    """Values in [0, upper] (``upper`` infinite by default); free coordinate
    log(x), or log(x / (upper - x)) under a finite bound; intervals on the log
    scale."""

    scale = "log"

    def __init__(self, upper: float = np.inf):
        self.upper = float(upper)

    def is_valid(self, x):
        return _in_bounds(x, 0.0, self.upper)

    def interior(self, x):
        x = np.asarray(x)
        return (x > 0) & (x < self.upper)

    def _forward(self, x):
        return np.log(x) if np.isinf(self.upper) else np.log(x) - np.log(self.upper - x)

    def _inverse(self, u):
        return np.exp(u) if np.isinf(self.upper) else self.upper / (1.0 + np.exp(-u))


class UnitInterval(_Elementwise):
    """Probabilities in [0, 1]; free coordinate logit(x); logit-scale intervals."""

    scale = "logit"

    def is_valid(self, x):
        return _in_bounds(x, 0.0, 1.0)

    def interior(self, x):
        x = np.asarray(x)
        return (x > 0) & (x < 1)

    def _forward(self, x):
        return np.log(x) - np.log1p(-x)

    def _inverse(self, u):
        return 1.0 / (1.0 + np.exp(-u))


class Interval(_Elementwise):
    """Values in ``(lower, upper)``, or ``[lower, upper]`` with ``closed``;
    free coordinate ``logit((x - lower) / (upper - lower))``; intervals on
    that scale. Open by default: an autoregressive coefficient in (-1, 1)
    must not reach 1, where the stationary variance is infinite."""

    def __init__(self, lower: float, upper: float, closed: bool = False):
        if not (np.isfinite(lower) and np.isfinite(upper) and lower < upper):
            raise ValueError(f"Interval needs finite lower < upper; got {lower!r}, {upper!r}")
        self.lower, self.upper, self.closed = float(lower), float(upper), bool(closed)
        self.scale = ("logit", self.lower, self.upper)

    def is_valid(self, x):
        if self.closed:
            return _in_bounds(x, self.lower, self.upper)
        return _in_bounds(x) and bool(self.interior(x).all())

    def interior(self, x):
        x = np.asarray(x)
        return (x > self.lower) & (x < self.upper)

    def _forward(self, x):
        return np.log(x - self.lower) - np.log(self.upper - x)

    def _inverse(self, u):
        return self.lower + (self.upper - self.lower) / (1.0 + np.exp(-u))


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
        return _in_bounds(x, 0.0) and bool((np.abs(x.sum(axis=self.axis) - 1.0) <= self.atol).all())

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
        out = [_shares_to_free(xr, fr) for xr, fr in zip(self._rows(np.asarray(x, dtype=float)), self._rows(free))]
        return np.concatenate(out) if out else np.zeros(0)

    def from_free(self, u, x, free):
        x = np.asarray(x, dtype=float)
        moved = np.moveaxis(x, self.axis, -1).copy()
        rows = moved.reshape(-1, moved.shape[-1])
        pos = 0
        for xr, fr in zip(rows, self._rows(free)):
            pos = _shares_from_free(u, pos, xr, fr)
        return np.moveaxis(rows.reshape(moved.shape), -1, self.axis)


class GroupedSimplex(Constraint):
    """A 1-d array cut into groups, each group non-negative and summing to one:
    ``groups[i]`` names the group of entry ``i``. The rows of a sparse
    transition matrix stored as its non-zero entries (each row a group) are
    one example. Free coordinates and interval scale as for :class:`Simplex`,
    group by group.
    """

    scale = "logit"

    def __init__(self, groups, atol: float = 1e-8):
        self.groups = np.asarray(groups, dtype=np.int64)
        if self.groups.ndim != 1 or (self.groups.size and self.groups.min() < 0):
            raise ValueError("GroupedSimplex: groups must be a 1-d array of non-negative group numbers")
        self.atol = atol
        order = np.argsort(self.groups, kind="stable")
        cuts = np.flatnonzero(np.diff(self.groups[order])) + 1
        self._members = np.split(order, cuts) if order.size else []

    def _sums(self, x):
        return np.bincount(self.groups, np.asarray(x, dtype=float))[self.groups]

    def is_valid(self, x):
        x = np.asarray(x)
        if x.shape != self.groups.shape or not _in_bounds(x, 0.0):
            return False
        return bool((np.abs(self._sums(x) - 1.0) <= self.atol).all())

    def interior(self, x):
        return np.asarray(x) > 0

    def tidy(self, x):
        """Rescale each group to sum to one exactly (as :meth:`Simplex.tidy`)."""
        return np.asarray(x, dtype=float) / self._sums(x)

    def n_free(self, free):
        free = np.asarray(free, dtype=bool)
        return int(sum(max(np.count_nonzero(free[m]) - 1, 0) for m in self._members))

    def to_free(self, x, free):
        x, free = np.asarray(x, dtype=float), np.asarray(free, dtype=bool)
        out = [_shares_to_free(x[m], free[m]) for m in self._members]
        return np.concatenate(out) if out else np.zeros(0)

    def from_free(self, u, x, free):
        out = np.array(x, dtype=float, copy=True)
        free = np.asarray(free, dtype=bool)
        pos = 0
        for m in self._members:
            row = out[m]
            pos = _shares_from_free(u, pos, row, free[m])
            out[m] = row
        return out


def _shares_to_free(xr: np.ndarray, fr: np.ndarray) -> np.ndarray:
    """Additive log-ratios of the free entries of one simplex against the
    largest of them (none when fewer than two are free)."""
    idx = np.flatnonzero(fr)
    if idx.size < 2:
        return np.zeros(0)
    q = xr[idx]
    ref = np.argmax(q)
    return np.log(np.delete(q, ref)) - np.log(q[ref])


def _shares_from_free(u: np.ndarray, pos: int, xr: np.ndarray, fr: np.ndarray) -> int:
    """Set the free entries of one simplex ``xr`` (in place) from the log-ratios
    ``u[pos:]``, keeping the mass they hold; returns the next position in ``u``."""
    idx = np.flatnonzero(fr)
    if idx.size < 2:
        return pos
    mass = xr[idx].sum()
    ref = np.argmax(xr[idx])
    logits = np.insert(np.asarray(u[pos:pos + idx.size - 1], dtype=float), ref, 0.0)
    q = np.exp(logits - logits.max())
    xr[idx] = mass * q / q.sum()
    return pos + idx.size - 1


class PositiveDefinite(Constraint):
    """Symmetric positive definite matrices on the last two axes (covariance
    matrices; a stack of them, shape ``(..., d, d)``).

    Validity: finite, symmetric to ``rtol`` relative to the largest entry, and a
    Cholesky factorisation ``S = L L'`` exists. Free coordinates are
    log-Cholesky (Pinheiro & Bates 1996, Stat. Comput. 6:289-296): the log of
    the diagonal of ``L`` and its strict lower triangle as is, ``d (d + 1) / 2``
    unconstrained numbers per matrix. Wald intervals are on the identity scale.

    A matrix is estimated or held fixed as a whole: ``free`` must be all True
    or all False within each matrix.
    """

    def __init__(self, rtol: float = 1e-10):
        self.rtol = rtol

    @staticmethod
    def _stack(x):
        x = np.asarray(x, dtype=float)
        if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
            raise ValueError(f"PositiveDefinite needs square matrices on the last two axes; got shape {x.shape}")
        return x.reshape(-1, x.shape[-1], x.shape[-1])

    def is_valid(self, x):
        mats = self._stack(x)
        if not np.all(np.isfinite(mats)):
            return False
        scale = np.max(np.abs(mats), axis=(1, 2), keepdims=True)
        if np.any(np.abs(mats - np.swapaxes(mats, 1, 2)) > self.rtol * scale):
            return False
        try:
            np.linalg.cholesky(mats)
        except np.linalg.LinAlgError:
            return False
        return True

    def interior(self, x):
        return np.full(np.shape(x), self.is_valid(x), dtype=bool)

    def tidy(self, x):
        """Symmetrise: an extrapolated matrix is symmetric up to round-off."""
        x = np.asarray(x, dtype=float)
        return 0.5 * (x + np.swapaxes(x, -1, -2))

    def _free_matrices(self, free) -> np.ndarray:
        """Which matrices of the stack are free (each all-or-nothing)."""
        f = self._stack(free).astype(bool)
        whole = f.all(axis=(1, 2))
        if np.any(whole != f.any(axis=(1, 2))):
            raise ValueError("PositiveDefinite: a matrix must be free or fixed as a whole, not entry by entry")
        return whole

    def n_free(self, free):
        d = np.shape(free)[-1]
        return int(self._free_matrices(free).sum()) * d * (d + 1) // 2

    def to_free(self, x, free):
        mats = self._stack(x)[self._free_matrices(free)]
        if mats.shape[0] == 0:
            return np.zeros(0)
        chol = np.linalg.cholesky(mats)
        d = mats.shape[-1]
        rows, cols = np.tril_indices(d, -1)
        diag = np.log(np.diagonal(chol, axis1=1, axis2=2))
        return np.concatenate([diag, chol[:, rows, cols]], axis=1).ravel()

    def from_free(self, u, x, free):
        x = np.asarray(x, dtype=float)
        out = self._stack(x).copy()
        which = np.flatnonzero(self._free_matrices(free))
        d = out.shape[-1]
        rows, cols = np.tril_indices(d, -1)
        coords = np.asarray(u, dtype=float).reshape(which.size, d * (d + 1) // 2)
        chol = np.zeros((which.size, d, d))
        chol[:, np.arange(d), np.arange(d)] = np.exp(coords[:, :d])
        chol[:, rows, cols] = coords[:, d:]
        out[which] = chol @ np.swapaxes(chol, 1, 2)
        return out.reshape(x.shape)


class DiagonalCovariance(Constraint):
    """Diagonal covariance matrices (shape ``(d, d)``): non-negative variances
    on the diagonal, zeros elsewhere; with ``spherical=True`` one variance
    times the identity. A variance of 0 is a boundary value (not interior).

    The off-diagonal zeros are structure, not estimates: a model holds them
    through its ``fixed`` mask. Free coordinates are the logs of the free
    diagonal entries (of the common variance, for a spherical matrix); Wald
    intervals are on the log scale.
    """

    scale = "log"

    def __init__(self, spherical: bool = False, rtol: float = 1e-10):
        self.spherical = spherical
        self.rtol = rtol

    def is_valid(self, x):
        x = np.asarray(x, dtype=float)
        if x.ndim != 2 or x.shape[0] != x.shape[1] or not np.all(np.isfinite(x)):
            return False
        diag = np.diag(x)
        if np.any(x - np.diag(diag) != 0.0) or np.any(diag < 0):
            return False
        return not self.spherical or bool(np.all(np.abs(diag - diag[0]) <= self.rtol * diag[0]))

    def interior(self, x):
        x = np.asarray(x, dtype=float)
        return np.diag(np.diag(x) > 0)

    def n_free(self, free):
        k = int(np.count_nonzero(np.diag(np.asarray(free, dtype=bool))))
        return min(k, 1) if self.spherical else k

    def to_free(self, x, free):
        diag = np.diag(np.asarray(x, dtype=float))[np.diag(np.asarray(free, dtype=bool))]
        return np.log(diag[:1] if self.spherical else diag)

    def from_free(self, u, x, free):
        out = np.array(x, dtype=float, copy=True)
        which = np.flatnonzero(np.diag(np.asarray(free, dtype=bool)))
        values = np.exp(np.asarray(u, dtype=float))
        out[which, which] = values[0] if self.spherical and which.size else values
        return out
