"""Compiled E-step of the multivariate normal with missing values (numba).

Row by row through the precision matrix ``K = Sigma^{-1}``, so that only the
block of a row's ``q`` missing coordinates is factorised (``q x q``, not the
``(p - q) x (p - q)`` observed block; Little & Rubin 2019, sec. 11.2.1):

    E[x_m | x_o] = mu_m - K_mm^{-1} K_mo (x_o - mu_o),   Cov[x_m | x_o] = K_mm^{-1},

and the observed-data log-density from the completed row ``xhat``,

    log N(x_o; mu_o, Sigma_oo) = -1/2 (|o| log 2 pi + log|Sigma| + log|K_mm|
                                       + (xhat - mu)' K (xhat - mu)),

because ``Sigma_oo^{-1} = K_oo - K_om K_mm^{-1} K_mo`` and
``|Sigma_oo| = |Sigma| |K_mm|``.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .._compiled_linalg import cho_solve, cholesky

LOG_2PI = float(np.log(2.0 * np.pi))


@nb.njit(cache=True)
def complete_rows(X, observed, mean, K, logdet_sigma, completed, cond_sum):
    """Fill ``completed`` (n, p) with the rows completed by their conditional
    means, add their conditional covariances into ``cond_sum`` (p, p), and
    return the observed-data log-likelihood (rows with nothing observed add 0),
    or NaN when some ``K_mm`` is not positive definite."""
    n, p = X.shape
    miss = np.empty(p, dtype=np.int64)
    L = np.empty((p, p))
    rhs = np.empty((p, 1))
    resid = np.empty(p)
    inv = np.empty((p, p))
    total = 0.0
    for i in range(n):
        q = 0
        k_obs = 0
        for j in range(p):
            if observed[i, j]:
                resid[j] = X[i, j] - mean[j]
                k_obs += 1
            else:
                resid[j] = 0.0
                miss[q] = j
                q += 1
        if k_obs == 0:
            for j in range(p):
                completed[i, j] = mean[j]
            continue
        logdet_kmm = 0.0
        if q > 0:
            for a in range(q):
                for b in range(q):
                    L[a, b] = K[miss[a], miss[b]]
            if not cholesky(L, q):
                return np.nan
            for a in range(q):
                logdet_kmm += 2.0 * np.log(L[a, a])
            # rhs = K_mo (x_o - mu_o); solve K_mm z = rhs; xhat_m = mu_m - z
            for a in range(q):
                s = 0.0
                for j in range(p):
                    s += K[miss[a], j] * resid[j]
                rhs[a, 0] = s
            cho_solve(L, q, rhs, 1)
            for a in range(q):
                resid[miss[a]] = -rhs[a, 0]
            # conditional covariance K_mm^{-1}
            for a in range(q):
                for b in range(q):
                    inv[a, b] = 1.0 if a == b else 0.0
            cho_solve(L, q, inv, q)
            for a in range(q):
                for b in range(q):
                    cond_sum[miss[a], miss[b]] += inv[a, b]
        quad = 0.0
        for j in range(p):
            completed[i, j] = mean[j] + resid[j]
            s = 0.0
            for l in range(p):
                s += K[j, l] * resid[l]
            quad += resid[j] * s
        total += -0.5 * (k_obs * LOG_2PI + logdet_sigma + logdet_kmm + quad)
    return total
