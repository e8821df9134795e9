"""Compiled recursions for hidden Markov models (numba, cached on disk).

All kernels take many sequences stored end to end: sequence ``s`` occupies rows
``starts[s]:ends[s]`` of the (T, K) arrays, and the sequences are processed
independently, each into its own slot of the per-sequence outputs, which the
caller sums (so chunking or parallel workers need no change of model). The
loops are serial: numba's ``parallel=True`` with ``prange`` over sequences
was measured 5-20 times *slower* on the shared 2-core machine (thread start-up
and contention for one long sequence). Memory is O(T K); no Python loop runs
over time.

Scaled forward-backward (Rabiner 1989, sec. V.A; Devijver 1985). The
emission log-densities ``l_tk`` are shifted by their row maximum ``m_t``
(:func:`shift_rows`) and exponentiated by numpy (SIMD), ``b_tk = exp(l_tk - m_t)``;
the forward recursion then normalises each step,

    a_t(j) = b_tj * sum_i ahat_{t-1}(i) A_ij        (a_1(j) = pi_j b_1j)
    c_t    = sum_j a_t(j),   ahat_t = a_t / c_t,

so ``log L = sum_t (log c_t + m_t)`` never underflows. The backward recursion
reuses the same constants,

    bhat_T = 1,   bhat_{t-1}(i) = sum_j A_ij b_tj bhat_t(j) / c_t,

and gives the state posteriors ``gamma_t = ahat_t * bhat_t`` and the expected
transition counts ``sum_t xi_t(i, j) = A_ij sum_t ahat_{t-1}(i) b_tj bhat_t(j) / c_t``.
The posteriors overwrite the forward lattice in place during the backward pass.

Viterbi (log domain): ``d_t(j) = max_i (d_{t-1}(i) + log A_ij) + l_tj`` with
int32 back-pointers.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["shift_rows", "forward_backward", "forward_scale", "viterbi", "gaussian_diag_logpdf", "markov_chain"]


@njit(cache=True)
def shift_rows(logb):
    """Subtract each row's maximum ``m_t`` from ``logb`` in place; return ``m``
    (T,). A row that is -inf in every state keeps ``m_t = -inf``."""
    T, K = logb.shape
    m = np.empty(T)
    for t in range(T):
        mx = logb[t, 0]
        for k in range(1, K):
            if logb[t, k] > mx:
                mx = logb[t, k]
        m[t] = mx
        if mx > -np.inf:
            for k in range(K):
                logb[t, k] -= mx
    return m


@njit(cache=True)
def _forward_one(b, startprob, transmat, s, e, alpha, scale):
    """Scaled forward pass over rows s:e; ``ahat`` into ``alpha``, ``c_t`` into
    ``scale``. Returns False if some ``c_t`` is zero (probability zero)."""
    K = b.shape[1]
    cur = np.empty(K)
    for t in range(s, e):
        if t == s:
            for k in range(K):
                cur[k] = startprob[k] * b[t, k]
        else:
            for k in range(K):
                cur[k] = 0.0
            for i in range(K):
                a = alpha[t - 1, i]
                for k in range(K):
                    cur[k] += a * transmat[i, k]
            for k in range(K):
                cur[k] *= b[t, k]
        c = 0.0
        for k in range(K):
            c += cur[k]
        if not c > 0.0:
            return False
        inv = 1.0 / c
        for k in range(K):
            alpha[t, k] = cur[k] * inv
        scale[t] = c
    return True


@njit(cache=True)
def _backward_one(b, transmat, s, e, alpha, scale, xi):
    """Backward pass over rows s:e after :func:`_forward_one`: ``alpha`` becomes
    the posteriors ``gamma`` and ``xi`` accumulates ``sum_t ahat_{t-1}(i) b_tj
    bhat_t(j) / c_t`` (the caller multiplies by ``A_ij``)."""
    K = b.shape[1]
    beta = np.ones(K)
    tmp = np.empty(K)
    for t in range(e - 1, s - 1, -1):
        total = 0.0
        for k in range(K):
            g = alpha[t, k] * beta[k]
            alpha[t, k] = g
            total += g
        inv_total = 1.0 / total
        for k in range(K):
            alpha[t, k] *= inv_total
        if t > s:
            inv = 1.0 / scale[t]
            for j in range(K):
                tmp[j] = b[t, j] * beta[j] * inv
            for i in range(K):
                a = alpha[t - 1, i]
                acc = 0.0
                for j in range(K):
                    xi[i, j] += a * tmp[j]
                    acc += transmat[i, j] * tmp[j]
                beta[i] = acc


@njit(cache=True)
def forward_backward(b, startprob, transmat, starts, ends):
    """E-step recursions for every sequence, from scaled emissions ``b`` (T, K).

    Returns ``gamma`` (T, K) state posteriors, ``xi`` (S, K, K) expected
    transition counts per sequence, ``scale`` (T,) the constants ``c_t`` and
    ``ok`` (S,) False for a sequence of probability zero (its ``gamma``,
    ``xi`` and ``scale`` are then meaningless).
    """
    T, K = b.shape
    S = starts.shape[0]
    gamma = np.empty((T, K))
    scale = np.ones(T)
    xi = np.zeros((S, K, K))
    ok = np.empty(S, dtype=np.bool_)
    for s in range(S):
        ok[s] = _forward_one(b, startprob, transmat, starts[s], ends[s], gamma, scale)
        if ok[s]:
            _backward_one(b, transmat, starts[s], ends[s], gamma, scale, xi[s])
            for i in range(K):
                for j in range(K):
                    xi[s, i, j] *= transmat[i, j]
    return gamma, xi, scale, ok


@njit(cache=True)
def forward_scale(b, startprob, transmat, starts, ends):
    """The constants ``c_t`` (T,) of the scaled forward pass alone, with O(K)
    working memory per sequence; 0 marks a sequence of probability zero."""
    T, K = b.shape
    S = starts.shape[0]
    scale = np.ones(T)
    for s in range(S):
        prev = np.empty(K)
        cur = np.empty(K)
        for t in range(starts[s], ends[s]):
            for k in range(K):
                if t == starts[s]:
                    cur[k] = startprob[k] * b[t, k]
                else:
                    v = 0.0
                    for i in range(K):
                        v += prev[i] * transmat[i, k]
                    cur[k] = v * b[t, k]
            c = 0.0
            for k in range(K):
                c += cur[k]
            scale[t] = c
            if not c > 0.0:
                break
            for k in range(K):
                prev[k] = cur[k] / c
    return scale


@njit(cache=True)
def viterbi(logb, log_startprob, log_transmat, starts, ends):
    """Most probable state path (T,) and its log-probability (S,) per sequence."""
    T, K = logb.shape
    S = starts.shape[0]
    path = np.empty(T, dtype=np.int64)
    best = np.empty(S)
    back = np.empty((T, K), dtype=np.int32)
    for s in range(S):
        d = np.empty(K)
        nd = np.empty(K)
        st, en = starts[s], ends[s]
        for k in range(K):
            d[k] = log_startprob[k] + logb[st, k]
        for t in range(st + 1, en):
            for j in range(K):
                arg = 0
                v = d[0] + log_transmat[0, j]
                for i in range(1, K):
                    w = d[i] + log_transmat[i, j]
                    if w > v:
                        v, arg = w, i
                nd[j] = v + logb[t, j]
                back[t, j] = arg
            for j in range(K):
                d[j] = nd[j]
        arg = 0
        for k in range(1, K):
            if d[k] > d[arg]:
                arg = k
        best[s] = d[arg]
        path[en - 1] = arg
        for t in range(en - 1, st, -1):
            arg = back[t, arg]
            path[t - 1] = arg
    return path, best


@njit(cache=True)
def gaussian_diag_logpdf(X, means, covars):
    """``log N(x_t; mu_k, diag(covars_k))`` for every row and state, (T, K)."""
    T, D = X.shape
    K = means.shape[0]
    const = np.empty(K)
    prec = 1.0 / covars
    for k in range(K):
        c = D * np.log(2.0 * np.pi)
        for d in range(D):
            c += np.log(covars[k, d])
        const[k] = -0.5 * c
    out = np.empty((T, K))
    for t in range(T):
        for k in range(K):
            q = 0.0
            for d in range(D):
                z = X[t, d] - means[k, d]
                q += z * z * prec[k, d]
            out[t, k] = const[k] - 0.5 * q
    return out


@njit(cache=True)
def _draw(cdf, u):
    """First index whose cumulative probability exceeds ``u``."""
    n = cdf.shape[0]
    for k in range(n):
        if u < cdf[k]:
            return k
    return n - 1


@njit(cache=True)
def markov_chain(start_cdf, trans_cdf, u):
    """States of a Markov chain from uniforms ``u`` (n,) by inverse CDFs."""
    n = u.shape[0]
    states = np.empty(n, dtype=np.int64)
    if n == 0:
        return states
    states[0] = _draw(start_cdf, u[0])
    for t in range(1, n):
        states[t] = _draw(trans_cdf[states[t - 1]], u[t])
    return states
