"""Emission families shared by the mixtures and the hidden Markov models.

A mixture component and an HMM state are the same thing to the M-step: a
density ``f_k`` whose parameters are re-estimated from posterior-weighted
sums ``N_k = sum_i w_ik``, ``S_k = sum_i w_ik x_i``, ``Q_k = sum_i w_ik x_i x_i'``
(``w_ik`` the responsibility of component or state ``k`` for row ``i``, times
the row's weight). This module holds one log-density and one weighted M-step
per family, and the k-means++ seeding both packages start from; the domain
packages call these instead of writing their own.

- Poisson (independent counts per feature): ``log f_k(x) = sum_d x_d log
  lambda_kd - lambda_kd - log x_d!``; M-step ``lambda_kd = S_kd / N_k``.
- Categorical (symbols ``0..M-1``): ``log f_k(m) = log E_km``; M-step
  ``E_km = C_km / sum_m' C_km'`` with ``C_km`` the weighted count of symbol m.
- Gaussian: ``log N(x; mu_k, Sigma_k)`` through the Cholesky factor of
  ``Sigma_k``; M-step ``mu_k = S_k / N_k`` and the weighted scatter about the
  means ``Q_k - S_k mu_k' - mu_k S_k' + N_k mu_k mu_k'`` divided by ``N_k``
  (McLachlan & Peel 2000, sec. 3.2; Rabiner 1989, eq. 53). Each package then
  applies its own regulariser to the covariance (a ridge ``reg_covar`` for
  the mixtures, as scikit-learn; a floor ``min_covar`` for the HMMs, as
  hmmlearn).

A component or state with no weight (``empty``) has no maximiser; it keeps a
``fallback`` value given by the caller (its current value, or the overall
mean).
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln

from ._linalg import inverse_cholesky

__all__ = [
    "poisson_log_density",
    "poisson_m_step",
    "categorical_log_density",
    "categorical_m_step",
    "gaussian_precisions",
    "gaussian_log_density",
    "gaussian_means",
    "gaussian_scatter",
    "squared_distances",
    "kmeans_plusplus",
    "lloyd",
]

_LOG_2PI = np.log(2.0 * np.pi)


# --------------------------------------------------------------------------- Poisson
def poisson_log_density(X: np.ndarray, rates: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``log prod_d Pois(x_d; lambda_kd)`` for rows ``X`` (n, D) and rates (K, D),
    shape (n, K), into ``out`` if given. ``0 log 0 = 0``; a positive count at
    rate 0 has log-density ``-inf``."""
    zero = rates == 0
    out = np.matmul(X, np.log(np.where(zero, 1.0, rates)).T, out=out)
    out -= rates.sum(axis=1)
    out -= gammaln(X + 1.0).sum(axis=1)[:, None]
    if zero.any():
        out[(X > 0).astype(float) @ zero.T.astype(float) > 0] = -np.inf
    return out


def poisson_m_step(mass: np.ndarray, sums: np.ndarray, fallback: np.ndarray, empty: np.ndarray) -> np.ndarray:
    """``lambda_kd = S_kd / N_k`` (``mass`` (K,), ``sums`` (K, D)); rows ``empty``
    take ``fallback``."""
    rates = sums / np.where(empty, 1.0, mass)[:, None]
    return np.where(empty[:, None], fallback, rates)


# --------------------------------------------------------------------------- categorical
def categorical_log_density(symbols: np.ndarray, probs: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``log E_{k, x_i}`` for integer ``symbols`` (n,) and ``probs`` (K, M), shape (n, K)."""
    with np.errstate(divide="ignore"):
        return np.take(np.log(probs.T), symbols, axis=0, out=out)


def categorical_m_step(counts: np.ndarray, fallback: np.ndarray, empty: np.ndarray) -> np.ndarray:
    """``E_km = C_km / sum_m' C_km'`` (``counts`` (K, M)); rows ``empty`` take ``fallback``."""
    rows = counts.sum(axis=1, keepdims=True)
    probs = counts / np.where(empty[:, None], 1.0, rows)
    return np.where(empty[:, None], fallback, probs)


# --------------------------------------------------------------------------- Gaussian
def gaussian_precisions(covs: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Precision matrices ``P_k = Sigma_k^{-1}`` of a (K, D, D) stack and
    ``1/2 log |P_k|``, through the Cholesky factor of each ``Sigma_k``; a
    matrix that is not positive definite raises :class:`NumericalError`
    naming ``name``."""
    inv_chol = inverse_cholesky(
        covs,
        f"{name}: a covariance matrix is not positive definite (a collapsed component?); "
        "increase the regularisation (reg_covar, min_covar) or scale the data",
    )
    half_log_det = np.sum(np.log(np.diagonal(inv_chol, axis1=1, axis2=2)), axis=1)
    return np.swapaxes(inv_chol, 1, 2) @ inv_chol, half_log_det


def gaussian_log_density(X: np.ndarray, means: np.ndarray, covs: np.ndarray, name: str,
                         out: np.ndarray | None = None) -> np.ndarray:
    """``log N(x_i; mu_k, Sigma_k)`` for rows ``X`` (n, D), ``means`` (K, D) and
    full covariances (K, D, D), shape (n, K), into ``out`` if given."""
    prec, half_log_det = gaussian_precisions(covs, name)
    n, d = X.shape
    out = np.empty((n, means.shape[0])) if out is None else out
    for k in range(means.shape[0]):
        dev = X - means[k]
        out[:, k] = half_log_det[k] - 0.5 * (d * _LOG_2PI + np.einsum("ij,jl,il->i", dev, prec[k], dev))
    return out


def gaussian_means(mass: np.ndarray, first: np.ndarray) -> np.ndarray:
    """``mu_k = S_k / N_k`` (``mass`` (K,), ``first`` (K, D))."""
    return first / mass[:, None]


def gaussian_scatter(mass: np.ndarray, first: np.ndarray, second: np.ndarray, means: np.ndarray) -> np.ndarray:
    """Weighted scatter about ``means``: ``Q_k - S_k mu_k' - mu_k S_k' + N_k mu_k mu_k'``
    for full second moments ``second`` (K, D, D), or its diagonal
    ``Q_k - 2 mu_k S_k + N_k mu_k^2`` for diagonal ones (K, D). Divided by
    ``N_k`` it is the M-step's covariance (before regularisation)."""
    if second.ndim == 2:
        return second - 2.0 * means * first + mass[:, None] * means * means
    cross = first[:, :, None] * means[:, None, :]
    return second - cross - np.swapaxes(cross, 1, 2) + mass[:, None, None] * means[:, :, None] * means[:, None, :]


# --------------------------------------------------------------------------- k-means
def squared_distances(X: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """``||x_i - c_k||^2``, shape (n, K), by the expansion (clipped at 0)."""
    d2 = np.sum(X * X, axis=1)[:, None] - 2.0 * X @ centers.T + np.sum(centers * centers, axis=1)
    return np.maximum(d2, 0.0)


def kmeans_plusplus(X: np.ndarray, k: int, weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``k`` k-means++ seeds among the rows of ``X`` (Arthur &
    Vassilvitskii 2007): the first drawn with probability proportional to its
    weight, each further one proportional to ``w_i D(x_i)^2``, the squared
    distance to the nearest seed chosen so far."""
    idx = [int(rng.choice(X.shape[0], p=weights / weights.sum()))]
    closest = squared_distances(X, X[idx])[:, 0]
    for _ in range(1, k):
        score = weights * closest
        total = score.sum()
        # all remaining mass sits on chosen points: pick uniformly among unchosen rows
        p = score / total if total > 0 else np.where(np.isin(np.arange(X.shape[0]), idx), 0.0, 1.0)
        new = int(rng.choice(X.shape[0], p=p / p.sum()))
        idx.append(new)
        closest = np.minimum(closest, squared_distances(X, X[[new]])[:, 0])
    return np.asarray(idx)


def lloyd(X: np.ndarray, centers: np.ndarray, n_steps: int) -> np.ndarray:
    """``n_steps`` Lloyd iterations from ``centers`` (each centre to the mean of
    its nearest rows; a centre with no rows stays put)."""
    centers = np.array(centers, dtype=float)
    for _ in range(n_steps):
        label = squared_distances(X, centers).argmin(axis=1)
        counts = np.bincount(label, minlength=centers.shape[0])
        sums = np.zeros_like(centers)
        np.add.at(sums, label, X)
        moved = counts > 0
        centers[moved] = sums[moved] / counts[moved, None]
    return centers
