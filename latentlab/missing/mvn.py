"""The multivariate normal with values missing at random, by EM (Dempster,
Laird & Rubin 1977, sec. 4.1.3; Little & Rubin 2019, *Statistical Analysis
with Missing Data*, 3rd ed., sec. 11.2; Schafer 1997, ch. 5).

Rows ``x_i ~ N(mu, Sigma)``, of which each shows the coordinates ``o`` of its
missingness pattern and hides ``m``. Rows are grouped by pattern, and every
step works on a pattern's rows at once.

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

__all__ = ["MVNParams", "MVNData", "MVNModel", "conditional_means"]

LOG_2PI = float(np.log(2.0 * np.pi))


@dataclass(frozen=True)
class MVNParams:
    mean: np.ndarray  # (p,)
    cov: np.ndarray  # (p, p)


@dataclass(frozen=True)
class MVNData:
    """Rows (n, p) with NaN for missing values, grouped by missingness
    pattern: ``patterns[g]`` is the boolean mask of observed columns and
    ``rows[g]`` the row indices that share it (rows with no observed value
    are left out)."""

    X: np.ndarray
    patterns: tuple[np.ndarray, ...]
    rows: tuple[np.ndarray, ...]

    @classmethod
    def build(cls, X: np.ndarray) -> MVNData:
        observed = ~np.isnan(X)
        keys, inverse = np.unique(observed, axis=0, return_inverse=True)
        inverse = np.ravel(inverse)
        patterns, rows = [], []
        for g, key in enumerate(keys):
            if key.any():
                patterns.append(key)
                rows.append(np.flatnonzero(inverse == g))
        return cls(X, tuple(patterns), tuple(rows))

    @property
    def n_rows(self) -> int:
        """Rows that enter the fit (at least one value observed)."""
        return int(sum(r.size for r in self.rows))


@dataclass(frozen=True)
class MVNStats(Stats):
    T1: np.ndarray
    T2: np.ndarray
    n: float


def conditional_means(X: np.ndarray, observed: np.ndarray, params: MVNParams) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``X`` sharing the pattern ``observed``, completed by their
    conditional means, and the conditional covariance of the hidden block."""
    o, m = observed, ~observed
    mu, S = params.mean, params.cov
    completed = np.empty((X.shape[0], mu.size))
    completed[:, o] = X[:, o]
    if not m.any():
        return completed, np.zeros((0, 0))
    if not o.any():
        completed[:, m] = mu[m]
        return completed, S[np.ix_(m, m)]
    S_oo = S[np.ix_(o, o)]
    B = np.linalg.solve(S_oo, S[np.ix_(o, m)]).T  # Sigma_mo Sigma_oo^{-1}
    completed[:, m] = mu[m] + (X[:, o] - mu[o]) @ B.T
    return completed, S[np.ix_(m, m)] - B @ S[np.ix_(o, m)]


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
        p = params.mean.size
        T1, T2 = np.zeros(p), np.zeros((p, p))
        for observed, rows in zip(data.patterns, data.rows):
            completed, cond = conditional_means(data.X[rows], observed, params)
            T1 += completed.sum(axis=0)
            T2 += completed.T @ completed
            m = ~observed
            T2[np.ix_(m, m)] += rows.size * cond
        return MVNStats(T1, T2, float(data.n_rows)), self.loglik(data, params)

    def loglik(self, data: MVNData, params: MVNParams) -> float:
        total = 0.0
        for observed, rows in zip(data.patterns, data.rows):
            S_oo = params.cov[np.ix_(observed, observed)]
            try:
                L = np.linalg.cholesky(S_oo)
            except np.linalg.LinAlgError:
                raise NumericalError(f"{self.name}: the covariance of an observed pattern is not positive definite") from None
            z = np.linalg.solve(L, (data.X[np.ix_(rows, observed)] - params.mean[observed]).T)
            k = int(observed.sum())
            total += -0.5 * (rows.size * (k * LOG_2PI + 2.0 * np.log(np.diag(L)).sum()) + np.sum(z * z))
        return float(total)

    def m_step(self, stats: MVNStats, current: MVNParams, fixed=None) -> MVNParams:
        mean = stats.T1 / stats.n
        cov = stats.T2 / stats.n - np.outer(mean, mean)
        return MVNParams(mean, 0.5 * (cov + cov.T))
