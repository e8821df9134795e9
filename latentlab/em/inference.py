"""Standard errors from the observed information, and Wald intervals.

The observed information is minus the Hessian of the observed-data
log-likelihood at the MLE. The engine takes it numerically in the model's free
coordinates ``u`` (log for positive values, logit for probabilities, additive
log-ratio for a simplex; :mod:`latentlab.em.constraints`), where any
finite-difference step stays inside the parameter space, and carries the
covariance back to the natural parameters ``theta`` by the delta method:

    Cov(u)     = I(u)^{-1},      I(u) = -d^2 l / du du'
    Cov(theta) = J Cov(u) J',    J = d theta / du.

Second derivatives are central differences with step ``h_i = eps^{1/4} *
max(1, |u_i|)`` (the step that balances truncation against round-off); ``J``
uses central differences with ``h_i = eps^{1/3} * max(1, |u_i|)``. A model with an
analytic information (Louis' method, say) returns it from
``model.analytic_covariance(data, params)`` and the numerical route is skipped.

Wald intervals are formed on the scale of each parameter's constraint (log for
rates, logit for probabilities and weights, identity for real values) and
transformed back, so they never leave the parameter space.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats as sps

from .._linalg import inverse_cholesky
from .._validation import check_level
from .._warn import user_stacklevel
from ..exceptions import BoundaryWarning
from .model import EMModel

__all__ = ["covariance", "delta_method", "invert_information", "jacobian", "numerical_hessian", "wald_intervals", "wald_table"]

_EPS = np.finfo(float).eps


def numerical_hessian(f, u: np.ndarray) -> np.ndarray:
    """Central-difference Hessian of the scalar function ``f`` at ``u``."""
    u = np.asarray(u, dtype=float)
    p = u.size
    h = _EPS ** 0.25 * np.maximum(1.0, np.abs(u))
    f0 = f(u)
    H = np.empty((p, p))

    def at(*moves):
        x = u.copy()
        for i, s in moves:
            x[i] += s * h[i]
        return f(x)

    for i in range(p):
        H[i, i] = (at((i, 1)) - 2.0 * f0 + at((i, -1))) / h[i] ** 2
        for j in range(i):
            H[i, j] = H[j, i] = (
                at((i, 1), (j, 1)) - at((i, 1), (j, -1)) - at((i, -1), (j, 1)) + at((i, -1), (j, -1))
            ) / (4.0 * h[i] * h[j])
    return H


def jacobian(g, u: np.ndarray) -> np.ndarray:
    """Central-difference Jacobian of the vector function ``g`` at ``u``."""
    h = _EPS ** (1.0 / 3.0) * np.maximum(1.0, np.abs(u))
    cols = []
    for i in range(u.size):
        e = np.zeros_like(u)
        e[i] = h[i]
        cols.append((g(u + e) - g(u - e)) / (2.0 * h[i]))
    return np.column_stack(cols) if cols else np.zeros((g(u).size, 0))


def delta_method(g, x: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Covariance ``J Cov(x) J'`` of the derived quantities ``g(x)``, ``J = dg/dx``
    by central differences.

    ``x`` are flattened natural parameters with covariance ``cov`` (as from
    :func:`covariance`). Parameters with NaN variance (on the boundary, or
    fixed) are propagated as unknown: every output that depends on one of them
    (a non-zero Jacobian entry) gets NaN (co)variances, the others are exact.
    """
    x = np.asarray(x, dtype=float)
    J = jacobian(lambda v: np.asarray(g(v), dtype=float).ravel(), x)
    unknown = np.isnan(np.diag(cov))
    out = J @ np.where(np.isnan(cov), 0.0, cov) @ J.T
    depends = np.any(J[:, unknown] != 0.0, axis=1)
    out[depends, :] = np.nan
    out[:, depends] = np.nan
    return out


def invert_information(info: np.ndarray, name: str) -> np.ndarray:
    """``info^{-1}`` through its Cholesky factor; raises :class:`NumericalError`
    (naming ``name``) when the information is not positive definite."""
    inv_chol = inverse_cholesky(
        info,
        f"{name}: the observed information is not positive definite at these parameters, "
        "so they are not a strict local maximum of the likelihood (or the model is not identifiable there); "
        "no standard errors",
    )
    return inv_chol.T @ inv_chol


def covariance(model: EMModel, data, params, fixed=None) -> np.ndarray:
    """Covariance of the flattened natural parameters at the MLE ``params``.

    ``fixed`` (None, or a params-shaped dataclass of booleans) marks entries
    held fixed. Entries held fixed, or on the boundary of their space, get NaN
    (co)variances, with a :class:`BoundaryWarning` for the boundary ones; the
    rule is the same whether the model's analytic covariance or the numerical
    Hessian is used.
    """
    space = model.space
    fixed = space.check_fixed(fixed, params)
    masks = space.free_masks(params, fixed)
    analytic = model.analytic_covariance(data, params)
    if analytic is not None:
        cov = np.array(analytic, dtype=float)
    else:
        cov = _numerical_covariance(model, data, params, masks)
    on_boundary = ~space.flatten_mask(space.free_masks(params))
    if fixed is not None:  # entries held fixed are not estimates on a boundary
        on_boundary &= ~space.flatten(fixed).astype(bool)
    if np.any(on_boundary):
        labels = [lab for lab, b in zip(space.labels(params), on_boundary) if b]
        warnings.warn(
            f"{model.name}: {', '.join(labels)} on the boundary of the parameter space; "
            "no Wald standard error for these",
            BoundaryWarning,
            stacklevel=user_stacklevel(),
        )
    not_free = ~space.flatten_mask(masks)
    cov[not_free, :] = np.nan
    cov[:, not_free] = np.nan
    return cov


def _numerical_covariance(model: EMModel, data, params, masks) -> np.ndarray:
    """``J I(u)^{-1} J'`` with the Hessian in the free coordinates ``u`` of the
    entries in ``masks`` (module docstring)."""
    space = model.space
    u0 = space.to_free(params, masks)

    def loglik(u):
        return model.loglik(data, space.from_free(u, params, masks))

    cov_u = invert_information(-numerical_hessian(loglik, u0), model.name)
    J = jacobian(lambda u: space.flatten(space.from_free(u, params, masks)), u0)
    return J @ cov_u @ J.T


def wald_table(model: EMModel, params, cov: np.ndarray, level: float = 0.95) -> pd.DataFrame:
    """Estimate, standard error and Wald interval of every natural parameter.

    The interval is ``g^{-1}(g(theta) -/+ z * se * g'(theta))`` with ``g`` the
    log, logit or identity according to the parameter's constraint (for a
    bounded interval ``[a, b]``, the logit of ``(theta - a) / (b - a)``).
    """
    space = model.space
    est = space.flatten(params)
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    se[np.isnan(np.diag(cov))] = np.nan
    lo, hi = wald_intervals(est, se, space.scales(params), level)
    return pd.DataFrame(
        {"parameter": space.labels(params), "estimate": est, "std_error": se, "ci_lower": lo, "ci_upper": hi}
    )


def wald_intervals(estimate, std_error, scales, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wald limits of estimates with standard errors, each on its scale
    (``"log"``, ``"logit"`` or ``"identity"``; see :func:`wald_table`).
    A NaN standard error gives NaN limits."""
    check_level(level)
    est, se = np.asarray(estimate, dtype=float), np.asarray(std_error, dtype=float)
    z = sps.norm.ppf(0.5 + level / 2.0)
    lo, hi = np.empty_like(est), np.empty_like(est)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for k, scale in enumerate(scales):
            lo[k], hi[k] = _interval(est[k], se[k], z, scale)
    return lo, hi


def _interval(theta: float, se: float, z: float, scale) -> tuple[float, float]:
    if not np.isfinite(se):
        return np.nan, np.nan
    if isinstance(scale, tuple):  # ("logit", lower, upper): logit of the position in [lower, upper]
        _, lower, upper = scale
        width = upper - lower
        lo, hi = _interval((theta - lower) / width, se / width, z, "logit")
        return lower + width * lo, lower + width * hi
    if scale == "log":
        half = z * se / theta
        return theta * np.exp(-half), theta * np.exp(half)
    if scale == "logit":
        eta = np.log(theta) - np.log1p(-theta)
        half = z * se / (theta * (1.0 - theta))
        return 1.0 / (1.0 + np.exp(-(eta - half))), 1.0 / (1.0 + np.exp(-(eta + half)))
    return theta - z * se, theta + z * se
