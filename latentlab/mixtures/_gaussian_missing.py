"""Rows with missing coordinates in a Gaussian mixture: the missing part is
integrated out, not imputed (Little & Rubin 2002, *Statistical Analysis with
Missing Data*, 2nd ed., sections 11.2 and 17.2; Ghahramani & Jordan 1994).

Rows are grouped by their pattern of observed coordinates ``o`` (missing
``m``), so each pattern costs one Cholesky factorisation per component.

E-step for a row with observed part ``x_o`` and component ``k``:

    log f_k(x_o) = log N(x_o; mu_o, S_oo)                    (marginal of a Gaussian)
    x^_m = E[x_m | x_o, k] = mu_m + S_mo S_oo^{-1} (x_o - mu_o)
    C    = Cov[x_m | x_o, k] = S_mm - S_mo S_oo^{-1} S_om

responsibilities ``r_k`` from ``pi_k f_k(x_o)``, and the expected sufficient
statistics, with ``x^ = (x_o, x^_m)``:

    E[x] = x^,    E[x x'] = x^ x^' + C  (C in the (m, m) block).

These enter the same M-step as complete rows (:mod:`._gaussian_model`), which
is then the exact maximiser of the expected complete-data log-likelihood.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..exceptions import NumericalError

__all__ = ["Pattern", "group_patterns", "pattern_log_density", "pattern_e_step", "pattern_conditionals"]

_LOG_2PI = np.log(2.0 * np.pi)


@dataclass(frozen=True)
class Pattern:
    rows: np.ndarray  # indices of the rows with this pattern
    obs: np.ndarray  # observed coordinates o
    miss: np.ndarray  # missing coordinates m
    x_obs: np.ndarray  # (n_p, |o|) observed values (centred)
    weights: np.ndarray  # (n_p,)


@dataclass(frozen=True)
class PatternStats:
    loglik: float
    n: np.ndarray  # (K,)
    s1: np.ndarray  # (K, D)
    s2: np.ndarray  # (K, D, D)


def group_patterns(X: np.ndarray, observed: np.ndarray, weights: np.ndarray) -> list[Pattern]:
    """The incomplete rows of ``X`` grouped by their pattern of observed coordinates."""
    incomplete = np.flatnonzero(~observed.all(axis=1))
    if incomplete.size == 0:
        return []
    masks, inverse = np.unique(observed[incomplete], axis=0, return_inverse=True)
    out = []
    for j, mask in enumerate(masks):
        rows = incomplete[inverse.ravel() == j]
        obs, miss = np.flatnonzero(mask), np.flatnonzero(~mask)
        out.append(Pattern(rows, obs, miss, X[np.ix_(rows, obs)], weights[rows]))
    return out


def _factor(cov_oo: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.cholesky(cov_oo)
    except np.linalg.LinAlgError:
        raise NumericalError(
            "a covariance matrix restricted to the observed coordinates is not positive definite; "
            "increase reg_covar"
        ) from None


def pattern_conditionals(p: Pattern, means: np.ndarray, covs: np.ndarray, log_w: np.ndarray):
    """For each component: ``log pi_k + log f_k(x_o)`` (n_p, K), the conditional
    means of the missing part (K, n_p, |m|) and their covariances (K, |m|, |m|)."""
    K = means.shape[0]
    o, m = p.obs, p.miss
    lj = np.empty((p.x_obs.shape[0], K))
    xhat = np.empty((K, p.x_obs.shape[0], m.size))
    cond = np.empty((K, m.size, m.size))
    for k in range(K):
        S = covs[k]
        L = _factor(S[np.ix_(o, o)])
        L_inv = np.linalg.inv(L)  # small: |o| x |o|, lower triangular
        z = (p.x_obs - means[k, o]) @ L_inv.T  # whitened rows, (n_p, |o|)
        lj[:, k] = log_w[k] - 0.5 * np.sum(z * z, axis=1) - np.sum(np.log(np.diag(L))) - 0.5 * o.size * _LOG_2PI
        V = L_inv @ S[np.ix_(o, m)]  # L^{-1} S_om
        xhat[k] = means[k, m] + z @ V  # mu_m + S_mo S_oo^{-1} (x_o - mu_o)
        cond[k] = S[np.ix_(m, m)] - V.T @ V
    return lj, xhat, cond


def _responsibilities(lj: np.ndarray):
    top = lj.max(axis=1, keepdims=True)
    e = np.exp(lj - top)
    total = e.sum(axis=1, keepdims=True)
    return e / total, (np.log(total) + top)[:, 0]


def pattern_log_density(p: Pattern, means, covs, log_w):
    """Responsibilities (n_p, K) and ``log f(x_o)`` (n_p,) of the rows of ``p``."""
    lj = pattern_conditionals(p, means, covs, log_w)[0]
    return _responsibilities(lj)


def completed_rows(p: Pattern, xhat_k: np.ndarray, D: int) -> np.ndarray:
    """``x^ = (x_o, x^_m)`` for one component, shape (n_p, D)."""
    full = np.empty((p.x_obs.shape[0], D))
    full[:, p.obs] = p.x_obs
    full[:, p.miss] = xhat_k
    return full


def pattern_e_step(p: Pattern, means, covs, log_w) -> PatternStats:
    """Log-likelihood and expected sufficient statistics of the rows of ``p``."""
    K, D = means.shape
    lj, xhat, cond = pattern_conditionals(p, means, covs, log_w)
    resp, lse = _responsibilities(lj)
    wr = resp * p.weights[:, None]
    n = wr.sum(axis=0)
    s1 = np.empty((K, D))
    s2 = np.empty((K, D, D))
    mm = np.ix_(p.miss, p.miss)
    for k in range(K):
        full = completed_rows(p, xhat[k], D)
        s1[k] = wr[:, k] @ full
        s2[k] = (full * wr[:, k, None]).T @ full
        s2[k][mm] += n[k] * cond[k]
    return PatternStats(float(p.weights @ lse), n, s1, s2)
