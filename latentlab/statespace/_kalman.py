"""Compiled Kalman filter and Rauch-Tung-Striebel smoother (numba).

Model (per sequence, time steps ``t = 1..T``)::

    x_1 ~ N(mu0, P0),   x_t = A x_{t-1} + b + w_t,   w_t ~ N(0, Q),
    y_t = C x_t + d + v_t,                            v_t ~ N(0, R).

Filter (Durbin & Koopman 2012, *Time Series Analysis by State Space
Methods*, sec. 4.3), with ``o`` the coordinates of ``y_t`` that are observed
(a step with none observed is a pure prediction)::

    v = y_o - C_o x_pred - d_o,         F = C_o P_pred C_o' + R_oo,
    K = P_pred C_o' F^{-1},             x_filt = x_pred + K v,
    P_filt = (I - K C_o) P_pred (I - K C_o)' + K R_oo K'     (Joseph form),
    log L += -1/2 (|o| log 2 pi + log|F| + v' F^{-1} v),

and the prediction ``x_pred = A x_filt + b``, ``P_pred = A P_filt A' + Q``.
The Joseph form keeps ``P`` positive definite under round-off, and every
covariance is symmetrised after each update, so 10^6 steps lose nothing.

Smoother (Rauch, Tung & Striebel 1965; the lag-one covariance as in de Jong
1989)::

    J_t = P_filt,t A' P_pred,t+1^{-1},
    x_s,t = x_filt,t + J_t (x_s,t+1 - x_pred,t+1),
    P_s,t = P_filt,t + J_t (P_s,t+1 - P_pred,t+1) J_t',
    Cov(x_t+1, x_t | Y) = P_s,t+1 J_t'.

The backward pass accumulates EM's expected sufficient statistics as it goes
(:mod:`latentlab.statespace.model` gives the formulas), so no smoothed array
is needed unless asked for. Matrices are small (a few states), so the
kernels use plain loops and an in-place Cholesky rather than LAPACK calls.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .._compiled_linalg import cho_solve, cholesky

LOG_2PI = float(np.log(2.0 * np.pi))


@nb.njit(cache=True)
def _matmul(X, Y, out):
    """``out[:n, :n] = X[:n, :n] @ Y`` for a square ``Y`` of size n."""
    n = Y.shape[0]
    for i in range(n):
        for j in range(n):
            s = 0.0
            for k in range(n):
                s += X[i, k] * Y[k, j]
            out[i, j] = s


@nb.njit(cache=True)
def _sandwich(base, X, Y, out):
    """``out = base + X Y'`` for a product known to be symmetric (the lower
    triangle is computed and mirrored, so ``out`` is exactly symmetric)."""
    n = out.shape[0]
    for i in range(n):
        for j in range(i + 1):
            s = base[i, j]
            for k in range(n):
                s += X[i, k] * Y[j, k]
            out[i, j] = s
            out[j, i] = s


@nb.njit(cache=True)
def _predict(x, P, A, b, Q, tmp, xtmp):
    """``x <- A x + b``, ``P <- A P A' + Q`` in place."""
    n = x.shape[0]
    for i in range(n):
        s = b[i]
        for k in range(n):
            s += A[i, k] * x[k]
        xtmp[i] = s
    x[:] = xtmp
    _matmul(A, P, tmp)
    _sandwich(Q, tmp, A, P)


@nb.njit(cache=True)
def _observed(obs_row, idx):
    """Indices of the observed coordinates into ``idx``; returns their number."""
    m = 0
    for j in range(obs_row.shape[0]):
        if obs_row[j]:
            idx[m] = j
            m += 1
    return m


@nb.njit(cache=True)
def _update(x, P, y, idx, m, C, d, R, v, F, KT, IKC, KRK, tmp):
    """Kalman update with the observed coordinates ``idx[:m]`` of ``y`` (Joseph
    form); returns ``(log-likelihood term, ok)``."""
    n = x.shape[0]
    for a in range(m):
        i = idx[a]
        s = y[i] - d[i]
        for k in range(n):
            s -= C[i, k] * x[k]
        v[a] = s
    # KT[:m, :n] = (P C_o')' = C_o P ; F = C_o P C_o' + R_oo
    for a in range(m):
        i = idx[a]
        for j in range(n):
            s = 0.0
            for k in range(n):
                s += C[i, k] * P[k, j]
            KT[a, j] = s
    for a in range(m):
        for c in range(a + 1):
            s = R[idx[a], idx[c]]
            for k in range(n):
                s += KT[a, k] * C[idx[c], k]
            F[a, c] = s
            F[c, a] = s
    if not cholesky(F, m):
        return 0.0, False
    logdet = 0.0
    for a in range(m):
        logdet += 2.0 * np.log(F[a, a])
    # KT <- F^{-1} C_o P  (so K = KT'),  v' F^{-1} v by a half solve
    cho_solve(F, m, KT, n)
    quad = 0.0
    for a in range(m):
        s = v[a]
        for k in range(a):
            s -= F[a, k] * tmp[k, 0]
        tmp[a, 0] = s / F[a, a]
        quad += tmp[a, 0] * tmp[a, 0]
    for i in range(n):
        s = 0.0
        for a in range(m):
            s += KT[a, i] * v[a]
        x[i] += s
    # Joseph form: P <- (I - K C_o) P (I - K C_o)' + K R_oo K'
    for i in range(n):
        for j in range(n):
            s = 1.0 if i == j else 0.0
            for a in range(m):
                s -= KT[a, i] * C[idx[a], j]
            IKC[i, j] = s
    # K R_oo K' into P's place first (P itself is read by the product below)
    for i in range(n):
        for j in range(i + 1):
            s = 0.0
            for a in range(m):
                ka = KT[a, i]
                for c in range(m):
                    s += ka * R[idx[a], idx[c]] * KT[c, j]
            KRK[i, j] = s
            KRK[j, i] = s
    _matmul(IKC, P, tmp)
    _sandwich(KRK, tmp, IKC, P)
    return -0.5 * (m * LOG_2PI + logdet + quad), True


@nb.njit(cache=True)
def kalman_filter(Y, obs, bounds, A, b, C, d, Q, R, mu0, P0, store, xp, Pp, xf, Pf, unresolved):
    """Filter every sequence ``Y[bounds[s]:bounds[s+1]]``.

    With ``store`` the predicted and filtered means and covariances are written
    to ``xp, Pp, xf, Pf`` (length T); otherwise those may have length 1.
    Returns ``(log-likelihood, bad, vague)``: ``bad`` is -1, or the first step
    whose innovation covariance is not positive definite; ``vague`` is -1, or
    the first sequence with an observed value that ends with a state variance
    above ``unresolved`` (a diffuse start the data have not resolved).
    """
    T, p = Y.shape
    n = A.shape[0]
    x = np.empty(n)
    P = np.empty((n, n))
    xtmp = np.empty(n)
    idx = np.empty(p, dtype=np.int64)
    v = np.empty(p)
    F = np.empty((p, p))
    KT = np.empty((p, n))
    IKC = np.empty((n, n))
    KRK = np.empty((n, n))
    tmp = np.empty((max(n, p), n))
    loglik = 0.0
    vague = -1
    for s in range(bounds.shape[0] - 1):
        x[:] = mu0
        P[:, :] = P0
        seen = False
        for t in range(bounds[s], bounds[s + 1]):
            if t > bounds[s]:
                _predict(x, P, A, b, Q, tmp, xtmp)
            if store:
                xp[t] = x
                Pp[t] = P
            m = _observed(obs[t], idx)
            if m > 0:
                seen = True
                term, ok = _update(x, P, Y[t], idx, m, C, d, R, v, F, KT, IKC, KRK, tmp)
                if not ok:
                    return np.nan, t, vague
                loglik += term
            if store:
                xf[t] = x
                Pf[t] = P
        if seen and vague < 0:
            for i in range(n):
                if P[i, i] > unresolved:
                    vague = s
    return loglik, -1, vague


@nb.njit(cache=True)
def _add_moment(S, x, P, n, w):
    """``S += w * E[z z']`` with ``z = (x, 1)``, ``E[x x'] = P + x x'``."""
    for i in range(n):
        for j in range(n):
            S[i, j] += w * (P[i, j] + x[i] * x[j])
        S[i, n] += w * x[i]
        S[n, i] += w * x[i]
    S[n, n] += w


@nb.njit(cache=True)
def _add_observation(Syy, Syz, y, obs_row, x, P, C, d, R, idx, jdx, H, G, M, Lw):
    """Add ``E[y y']`` and ``E[y z']`` of one step, missing coordinates included.

    Given ``x`` and the observed ``y_o``, the missing ``y_u`` are
    ``C_u x + d_u + G (y_o - C_o x - d_o) + e`` with ``G = R_uo R_oo^{-1}``
    and ``e ~ N(0, R_uu - G R_ou)``; so ``y = H z + e`` with ``z = (x, 1)``,
    ``H = [0, y_o]`` on observed rows and ``[C_u - G C_o, d_u + G (y_o - d_o)]``
    on missing ones, and ``E[y z'] = H M``, ``E[y y'] = H M H' + Var(e)`` with
    ``M = E[z z' | Y]``.
    """
    p = y.shape[0]
    n = x.shape[0]
    m = 0
    q = 0
    for j in range(p):
        if obs_row[j]:
            idx[m] = j
            m += 1
        else:
            jdx[q] = j
            q += 1
    # M = E[z z']
    for i in range(n):
        for j in range(n):
            M[i, j] = P[i, j] + x[i] * x[j]
        M[i, n] = x[i]
        M[n, i] = x[i]
    M[n, n] = 1.0
    for i in range(p):
        for j in range(n + 1):
            H[i, j] = 0.0
    for a in range(m):
        H[idx[a], n] = y[idx[a]]
    if q > 0:
        # G' = R_oo^{-1} R_ou (m x q) in G[:m, :q]
        if m > 0:
            for a in range(m):
                for c in range(m):
                    Lw[a, c] = R[idx[a], idx[c]]
            cholesky(Lw, m)
            for a in range(m):
                for c in range(q):
                    G[a, c] = R[idx[a], jdx[c]]
            cho_solve(Lw, m, G, q)
        for c in range(q):
            u = jdx[c]
            for k in range(n):
                s = C[u, k]
                for a in range(m):
                    s -= G[a, c] * C[idx[a], k]
                H[u, k] = s
            s = d[u]
            for a in range(m):
                s += G[a, c] * (y[idx[a]] - d[idx[a]])
            H[u, n] = s
        # Var(e) = R_uu - G R_ou
        for c in range(q):
            for e in range(q):
                s = R[jdx[c], jdx[e]]
                for a in range(m):
                    s -= G[a, c] * R[idx[a], jdx[e]]
                Syy[jdx[c], jdx[e]] += s
    # Syz += H M ; Syy += H M H'
    for i in range(p):
        for j in range(n + 1):
            s = 0.0
            for k in range(n + 1):
                s += H[i, k] * M[k, j]
            Syz[i, j] += s
            Lw[0, j] = s  # row i of H M, reused below
        for j in range(p):
            s = 0.0
            for k in range(n + 1):
                s += Lw[0, k] * H[j, k]
            Syy[i, j] += s


@nb.njit(cache=True)
def smoother_stats(Y, obs, bounds, A, C, d, R, xp, Pp, xf, Pf, keep, xs, Ps, Szz, Sxz, Sxx, Syy, Syz, Szo, x1, X11):
    """RTS smoother over every sequence from the stored filter output, adding
    EM's statistics (see :mod:`latentlab.statespace.model`) into the given
    arrays. With ``keep`` the smoothed means and covariances are written to
    ``xs, Ps`` (length T). Returns -1, or the first step whose predicted
    covariance is not positive definite."""
    T, p = Y.shape
    n = A.shape[0]
    n1 = n + 1
    x_next = np.empty(n)
    P_next = np.empty((n, n))
    x_cur = np.empty(n)
    P_cur = np.empty((n, n))
    L = np.empty((n, n))
    JT = np.empty((n, n))
    D = np.empty((n, n))
    J = np.empty((n, n))
    JD = np.empty((n, n))
    dx = np.empty(n)
    idx = np.empty(p, dtype=np.int64)
    jdx = np.empty(p, dtype=np.int64)
    H = np.empty((p, n1))
    G = np.empty((p, p))
    M = np.empty((n1, n1))
    Lw = np.empty((max(p, 1), max(p, n1)))
    for s in range(bounds.shape[0] - 1):
        start, end = bounds[s], bounds[s + 1]
        last = end - 1
        x_next[:] = xf[last]
        P_next[:, :] = Pf[last]
        if keep:
            xs[last] = x_next
            Ps[last] = P_next
        _add_moment(Szo, x_next, P_next, n, 1.0)
        _add_observation(Syy, Syz, Y[last], obs[last], x_next, P_next, C, d, R, idx, jdx, H, G, M, Lw)
        for t in range(last - 1, start - 1, -1):
            # J_t' = P_pred,t+1^{-1} A P_filt,t
            for i in range(n):
                for j in range(n):
                    L[i, j] = Pp[t + 1][i, j]
                    acc = 0.0
                    for k in range(n):
                        acc += A[i, k] * Pf[t][k, j]
                    JT[i, j] = acc
            if not cholesky(L, n):
                return t + 1
            cho_solve(L, n, JT, n)
            for i in range(n):
                dx[i] = x_next[i] - xp[t + 1][i]
                for j in range(n):
                    D[i, j] = P_next[i, j] - Pp[t + 1][i, j]
            for i in range(n):
                acc = xf[t][i]
                for k in range(n):
                    acc += JT[k, i] * dx[k]
                x_cur[i] = acc
            # P_cur = Pf + J D J' = Pf + J (J D)'  (D symmetric)
            J[:, :] = JT.T
            _matmul(J, D, JD)
            _sandwich(Pf[t], J, JD, P_cur)
            # transition statistics: E[x_t+1 z_t'] with Cov(x_t+1, x_t) = P_s,t+1 J_t'
            for i in range(n):
                for j in range(n):
                    acc = x_next[i] * x_cur[j]
                    for k in range(n):
                        acc += P_next[i, k] * JT[k, j]
                    Sxz[i, j] += acc
                Sxz[i, n] += x_next[i]
                for j in range(n):
                    Sxx[i, j] += P_next[i, j] + x_next[i] * x_next[j]
            _add_moment(Szz, x_cur, P_cur, n, 1.0)
            _add_moment(Szo, x_cur, P_cur, n, 1.0)
            _add_observation(Syy, Syz, Y[t], obs[t], x_cur, P_cur, C, d, R, idx, jdx, H, G, M, Lw)
            if keep:
                xs[t] = x_cur
                Ps[t] = P_cur
            x_next[:] = x_cur
            P_next[:, :] = P_cur
        for i in range(n):
            x1[i] += x_next[i]
            for j in range(n):
                X11[i, j] += P_next[i, j] + x_next[i] * x_next[j]
    return -1
