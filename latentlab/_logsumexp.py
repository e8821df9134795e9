"""``log sum exp`` along an axis, for the E-steps of small models.

``scipy.special.logsumexp`` dispatches through the array API and costs about
200 microseconds on a (500, 2) array with scipy 1.17 on this machine, against
45 for the same arithmetic in plain numpy; in the E-step of a Poisson mixture
on 500 counts it was most of the iteration.
"""

from __future__ import annotations

import numpy as np

__all__ = ["logsumexp"]


def logsumexp(a, axis: int | None = None, keepdims: bool = False):
    """``log(sum(exp(a)))`` over ``axis`` (all entries when None), as
    ``m + log(sum(exp(a - m)))`` with ``m`` the maximum: no overflow, and no
    underflow of the largest term. As :func:`scipy.special.logsumexp` to
    round-off (where one term dominates, scipy adds the others by ``log1p``
    and keeps those below 1e-16 of it, which this sum rounds away: an
    absolute difference below 1e-16); a slice that is all -inf gives -inf,
    one holding +inf gives +inf, one holding NaN gives NaN. Returns an array, or a numpy float when
    ``axis`` is None and ``keepdims`` is False."""
    a = np.asarray(a, dtype=float)
    top = np.max(a, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(a - top), axis=axis, keepdims=True)) + top
    if keepdims:
        return out
    return out.reshape(())[()] if axis is None else np.squeeze(out, axis=axis)
