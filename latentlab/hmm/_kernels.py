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

so ``log L = sum_t (log c_t + m_t)`` never underflows. The step is computed as
``a_t(j) = (b_tj / c_{t-1}) sum_i a_{t-1}(i) A_ij`` from the unnormalised
``a_{t-1}``, so the reciprocal of ``c_{t-1}`` is formed alongside the sums
instead of before them (the recursion is latency-bound: this halves its time);
``a_{t-1}`` is normalised in place one step later. The backward recursion
reuses the same constants,

    bhat_T = 1,   bhat_{t-1}(i) = sum_j A_ij b_tj bhat_t(j) / c_t,

and gives the state posteriors ``gamma_t = ahat_t * bhat_t`` and the expected
transition counts ``sum_t xi_t(i, j) = A_ij sum_t ahat_{t-1}(i) b_tj bhat_t(j) / c_t``.
The posteriors overwrite the forward lattice in place during the backward pass,
which also accumulates the posterior-weighted sums ``sum_t gamma_t(k) phi_t``
of per-row features ``phi_t`` (the emission sufficient statistics), so no
further pass over the (T, K) posteriors is needed.

Viterbi (log domain): ``d_t(j) = max_i (d_{t-1}(i) + log A_ij) + l_tj`` with
int32 back-pointers.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: LLVM fast-math flags that allow reassociation (so sums over states
#: vectorise) but keep IEEE infinities and NaNs, which the kernels test for
FAST = {"reassoc", "contract", "nsz", "arcp"}

__all__ = ["state_tag", "shift_rows", "forward_backward", "forward_scale", "column_sums", "viterbi", "gaussian_diag_logpdf", "markov_chain"]


@njit(cache=True)
def shift_rows(logb, m, tag):
    """Subtract each row's maximum from ``logb`` (T, K) in place and store it
    in ``m`` (T,). A row that is -inf in every state keeps ``m_t = -inf``."""
    K = len(tag)
    for t in range(logb.shape[0]):
        mx = logb[t, 0]
        for k in range(1, K):
            mx = max(mx, logb[t, k])
        m[t] = mx
        if mx > -np.inf:
            for k in range(K):
                logb[t, k] -= mx
    return m


def state_tag(n_states: int):
    """The ``tag`` argument of the kernels: a tuple of length K for K <= 8,
    which numba compiles as a constant (fully unrolled loops; one cached
    specialisation per K), else an array (loops over a run-time K)."""
    return (0,) * n_states if n_states <= 8 else np.zeros(n_states, dtype=np.int8)


@njit(cache=True, fastmath=FAST)
def _forward_one(b, startprob, transmat_t, s, e, alpha, inv_scale, tag):
    """Scaled forward pass over rows s:e; ``ahat`` into ``alpha``, ``1 / c_t``
    into ``inv_scale``. ``transmat_t`` is the transposed transition matrix (C
    order), so each predicted probability is a contiguous dot product.
    Returns False if some ``c_t`` is zero (probability zero)."""
    K = len(tag)
    c = 0.0
    for k in range(K):
        v = startprob[k] * b[s, k]
        alpha[s, k] = v
        c += v
    for t in range(s + 1, e):
        if not c > 0.0:
            return False
        inv = 1.0 / c
        inv_scale[t - 1] = inv
        c = 0.0
        for k in range(K):
            acc = 0.0
            for i in range(K):
                acc += alpha[t - 1, i] * transmat_t[k, i]
            v = acc * (b[t, k] * inv)
            alpha[t, k] = v
            c += v
        for k in range(K):
            alpha[t - 1, k] *= inv
    if not c > 0.0:
        return False
    inv = 1.0 / c
    inv_scale[e - 1] = inv
    for k in range(K):
        alpha[e - 1, k] *= inv
    return True


@njit(cache=True, fastmath=FAST, inline="always")
def _posterior_row(alpha, beta, t, features, sums, tag):
    """``gamma_t = alpha_t * beta`` into ``alpha[t]``; ``sums[:, k] += gamma_t(k)
    [1, phi_t]`` (``sums`` is (1 + P, K) so that the state loop is innermost)."""
    K = len(tag)
    for k in range(K):
        g = alpha[t, k] * beta[k]
        alpha[t, k] = g
        sums[0, k] += g
    for p in range(features.shape[1]):
        f = features[t, p]
        for k in range(K):
            sums[p + 1, k] += alpha[t, k] * f


@njit(cache=True, fastmath=FAST)
def _backward_one(b, transmat, s, e, alpha, inv_scale, features, xi, sums, tag):
    """Backward pass over rows s:e after :func:`_forward_one` (``b`` holds the
    scaled emissions): ``alpha`` becomes the posteriors ``gamma = ahat *
    bhat`` (which sum to one over states by construction), ``sums`` (1 + P, K)
    accumulates ``sum_t [1, features[t]] gamma_t(k)`` and ``xi`` accumulates
    ``sum_t ahat_{t-1}(i) b_tj bhat_t(j) / c_t`` (the caller multiplies by
    ``A_ij``)."""
    K = len(tag)
    beta = np.ones(K)
    tmp = np.empty(K)
    for t in range(e - 1, s, -1):
        inv = inv_scale[t]
        for j in range(K):
            tmp[j] = b[t, j] * inv * beta[j]
        _posterior_row(alpha, beta, t, features, sums, tag)
        for i in range(K):
            acc = 0.0
            for j in range(K):
                acc += transmat[i, j] * tmp[j]
            beta[i] = acc
        for i in range(K):
            a = alpha[t - 1, i]
            for j in range(K):
                xi[i, j] += a * tmp[j]
    _posterior_row(alpha, beta, s, features, sums, tag)


@njit(cache=True, fastmath=FAST)
def forward_backward(b, startprob, transmat, starts, ends, features, gamma, inv_scale, tag):
    """E-step recursions for every sequence, from scaled emissions ``b`` (T, K).

    Fills ``gamma`` (T, K) with the state posteriors and ``inv_scale`` (T,)
    with the reciprocal constants ``1 / c_t`` (buffers owned by the caller,
    reused across iterations); ``features`` (T, P) are per-row features
    ``phi_t`` (P may be 0); ``tag`` is :func:`state_tag` (K). Returns ``xi``
    (S, K, K) expected transition counts, ``sums`` (S, K, 1 + P) the sums
    ``sum_t gamma_t(k) [1, phi_t]`` per sequence, and ``ok`` (S,), False for a sequence of
    probability zero (its ``gamma``, ``xi``, ``sums`` and ``inv_scale`` are
    then meaningless).
    """
    K = len(tag)
    S = starts.shape[0]
    xi = np.zeros((S, K, K))
    sums = np.zeros((S, 1 + features.shape[1], K))
    ok = np.empty(S, dtype=np.bool_)
    transmat_t = np.ascontiguousarray(transmat.T)
    for s in range(S):
        ok[s] = _forward_one(b, startprob, transmat_t, starts[s], ends[s], gamma, inv_scale, tag)
        if ok[s]:
            _backward_one(b, transmat, starts[s], ends[s], gamma, inv_scale, features, xi[s], sums[s], tag)
            for i in range(K):
                for j in range(K):
                    xi[s, i, j] *= transmat[i, j]
    return xi, sums.transpose(0, 2, 1), ok


@njit(cache=True)
def forward_scale(b, startprob, transmat, starts, ends, alpha, inv_scale, tag):
    """The scaled forward pass alone (for the log-likelihood): fills
    ``inv_scale`` (T,) with ``1 / c_t`` (``alpha`` (T, K) is a work buffer).
    Returns ``ok`` (S,), False for a sequence of probability zero."""
    S = starts.shape[0]
    ok = np.empty(S, dtype=np.bool_)
    transmat_t = np.ascontiguousarray(transmat.T)
    for s in range(S):
        ok[s] = _forward_one(b, startprob, transmat_t, starts[s], ends[s], alpha, inv_scale, tag)
    return ok


@njit(cache=True)
def column_sums(a):
    """``a.sum(axis=0)`` for a (T, K) array, in one pass over the rows."""
    out = np.zeros(a.shape[1])
    for t in range(a.shape[0]):
        for k in range(a.shape[1]):
            out[k] += a[t, k]
    return out


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


@njit(cache=True, fastmath=FAST)
def gaussian_diag_logpdf(X, means, covars, out, tag):
    """``log N(x_t; mu_k, diag(covars_k))`` for every row and state, into
    ``out`` (T, K); the state loop is innermost so that it vectorises."""
    T, D = X.shape
    K = len(tag)
    const = np.empty(K)
    half_prec = np.empty((D, K))
    centre = np.empty((D, K))
    for k in range(K):
        c = D * np.log(2.0 * np.pi)
        for d in range(D):
            c += np.log(covars[k, d])
            half_prec[d, k] = -0.5 / covars[k, d]
            centre[d, k] = means[k, d]
        const[k] = -0.5 * c
    for t in range(T):
        for k in range(K):
            out[t, k] = const[k]
        for d in range(D):
            x = X[t, d]
            for k in range(K):
                z = x - centre[d, k]
                out[t, k] += z * z * half_prec[d, k]
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
