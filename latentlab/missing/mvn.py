"""The multivariate normal with values missing at random, by EM (Dempster,
Laird & Rubin 1977, sec. 4.1.3; Little & Rubin 2019, *Statistical Analysis
with Missing Data*, 3rd ed., sec. 11.2; Schafer 1997, ch. 5).

Rows ``x_i ~ N(mu, Sigma)``, of which each shows the coordinates ``o`` of its
missingness pattern and hides ``m``. The E-step runs row by row in a compiled
kernel through the precision matrix (:mod:`latentlab.missing._kernels`), so a
table whose rows all have different patterns costs no more than one with few.

E-step. Given ``x_o``, the hidden part is normal,

    E[x_m | x_o] = mu_m + B (x_o - mu_o),     B = Sigma_mo Sigma_oo^{-1},
    Cov[x_m | x_o] = Sigma_mm - B Sigma_om,

so with ``xhat_i`` the row completed by its conditional mean, the expected
complete-data statistics are

    T1 = sum_i xhat_i,    T2 = sum_i (xhat_i xhat_i' + Cov_i),

``Cov_i`` the conditional covariance placed in the hidden block (zero
elsewhere). The observed-data log-likelihood is ``sum_i log N(x_o; mu_o,
Sigma_oo)``.

M-step. ``mu = T1 / n``, ``Sigma = T2 / n - mu mu'``.

A row with every value missing has likelihood 1 under any parameters: it
does not enter the fit, is kept (its imputation is ``mu``) and is reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..em import EMModel, PositiveDefinite, Real, Stats
from ..exceptions import NumericalError
from . import _kernels

__all__ = ["MVNParams", "MVNData", "MVNModel", "conditional_means", "pattern_groups"]

@dataclass(frozen=True)
class MVNParams:
    mean: np.ndarray  # (p,)
    cov: np.ndarray  # (p, p)


@dataclass(frozen=True)
class MVNData:
    """The rows (n, p) with at least one observed value, NaN for missing
    ones, their mask of observed values, and their missingness patterns
    (``patterns[g]`` the mask of observed columns, ``rows[g]`` the rows that
    share it)."""

    X: np.ndarray
    observed: np.ndarray
    patterns: tuple[np.ndarray, ...]
    rows: tuple[np.ndarray, ...]

    @classmethod
    def build(cls, X: np.ndarray) -> MVNData:
        X = np.ascontiguousarray(X[~np.isnan(X).all(axis=1)], dtype=float)
        observed = np.ascontiguousarray(~np.isnan(X))
        return cls(X, observed, *pattern_groups(observed))

    @property
    def n_rows(self) -> int:
        return int(self.X.shape[0])


def pattern_groups(observed: np.ndarray) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """The distinct rows of the boolean mask ``observed`` (n, p) and, for each,
    the indices of the rows that have it. Each row is packed into bytes, so
    the patterns are found by one 1-d sort."""
    packed = np.ascontiguousarray(np.packbits(observed, axis=1))
    codes = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    cuts = np.flatnonzero(np.diff(inverse[order])) + 1
    return tuple(observed[first]), tuple(np.split(order, cuts))


@dataclass(frozen=True)
class MVNStats(Stats):
    T1: np.ndarray
    T2: np.ndarray
    n: float


def conditional_means(X: np.ndarray, params: MVNParams) -> tuple[np.ndarray, np.ndarray, float]:
    """Rows of ``X`` (NaN for missing) completed by their conditional means, the
    sum of their conditional covariances (p, p), and their observed-data
    log-likelihood (:mod:`latentlab.missing._kernels`); a row with nothing
    observed is completed by the mean and adds nothing."""
    try:
        L = np.linalg.cholesky(params.cov)
    except np.linalg.LinAlgError:
        raise NumericalError("MVNModel: the covariance is not positive definite") from None
    L_inv = np.linalg.inv(L)
    K = L_inv.T @ L_inv
    completed = np.empty(X.shape)
    cond_sum = np.zeros((X.shape[1], X.shape[1]))
    ll = _kernels.complete_rows(X, ~np.isnan(X), params.mean, K, 2.0 * np.log(np.diag(L)).sum(), completed, cond_sum)
    if np.isnan(ll):
        raise NumericalError("MVNModel: a block of the precision matrix is not positive definite")
    return completed, cond_sum, float(ll)


class MVNModel(EMModel):
    """The EM contract of the multivariate normal with missing values (module docstring)."""

    params_type = MVNParams
    constraints = {"mean": Real(), "cov": PositiveDefinite()}

    def initialize(self, data: MVNData, rng: np.random.Generator) -> MVNParams:
        """Observed means and variances (no correlation), perturbed by ``rng``
        so that restarts differ."""
        X = data.X
        mean = np.nanmean(X, axis=0)
        sd = np.sqrt(np.nanvar(X, axis=0))
        sd = np.where(sd > 0, sd, 1.0)
        mean = mean + 0.1 * sd * rng.standard_normal(mean.size)
        return MVNParams(mean, np.diag(sd**2 * np.exp(0.2 * rng.standard_normal(mean.size))))

    def e_step(self, data: MVNData, params: MVNParams):
        completed, cond_sum, ll = conditional_means(data.X, params)
        return MVNStats(completed.sum(axis=0), completed.T @ completed + cond_sum, float(data.n_rows)), ll

    def m_step(self, stats: MVNStats, current: MVNParams, fixed=None) -> MVNParams:
        mean = stats.T1 / stats.n
        cov = stats.T2 / stats.n - np.outer(mean, mean)
        return MVNParams(mean, 0.5 * (cov + cov.T))
