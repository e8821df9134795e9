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

#: LLVM fast-math flags that allow reassociation (so sums over states
#: vectorise) but keep IEEE infinities and NaNs, which the kernels test for
FAST = {"reassoc", "contract", "nsz", "arcp"}

__all__ = ["state_tag", "shift_rows", "forward_backward", "forward_scale", "viterbi", "gaussian_diag_logpdf", "weighted_moments", "column_sums", "markov_chain"]


@njit(cache=True)
def shift_rows(logb, m):
    """Subtract each row's maximum from ``logb`` in place and store it in
    ``m`` (T,). A row that is -inf in every state keeps ``m_t = -inf``."""
    T, K = logb.shape
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


def state_tag(n_states: int):
    """The ``tag`` argument of the recursions: a tuple of length K for K <= 8,
    which numba compiles as a constant (fully unrolled loops; one cached
    specialisation per K), else an array (loops over a run-time K)."""
    return (0,) * n_states if n_states <= 8 else np.zeros(n_states, dtype=np.int8)


@njit(cache=True, fastmath=FAST, inline="always")
def _normalise(alpha, t, c, scale, tag):
    """``alpha[t] /= c`` and ``scale[t] = c``; False if ``c`` is not positive."""
    if not c > 0.0:
        return False
    inv = 1.0 / c
    for k in range(len(tag)):
        alpha[t, k] *= inv
    scale[t] = c
    return True


@njit(cache=True, fastmath=FAST)
def _forward_one(b, startprob, transmat_t, s, e, alpha, scale, tag):
    """Scaled forward pass over rows s:e; ``ahat`` into ``alpha``, ``c_t`` into
    ``scale``. ``transmat_t`` is the transposed transition matrix (C order),
    so each predicted probability is a contiguous dot product. Returns False
    if some ``c_t`` is zero (probability zero)."""
    K = len(tag)
    c = 0.0
    for k in range(K):
        v = startprob[k] * b[s, k]
        alpha[s, k] = v
        c += v
    if not _normalise(alpha, s, c, scale, tag):
        return False
    for t in range(s + 1, e):
        c = 0.0
        for k in range(K):
            acc = 0.0
            for i in range(K):
                acc += alpha[t - 1, i] * transmat_t[k, i]
            v = acc * b[t, k]
            alpha[t, k] = v
            c += v
        if not _normalise(alpha, t, c, scale, tag):
            return False
    return True


@njit(cache=True, fastmath=FAST)
def _backward_one(b, transmat, s, e, alpha, scale, xi, tag):
    """Backward pass over rows s:e after :func:`_forward_one` (``b`` holds the
    scaled emissions): ``alpha`` becomes the posteriors ``gamma = ahat *
    bhat`` (which sum to one over states by construction) and ``xi``
    accumulates ``sum_t ahat_{t-1}(i) b_tj bhat_t(j) / c_t`` (the caller
    multiplies by ``A_ij``)."""
    K = len(tag)
    beta = np.ones(K)
    tmp = np.empty(K)
    for t in range(e - 1, s, -1):
        for k in range(K):
            alpha[t, k] *= beta[k]
        inv = 1.0 / scale[t]
        for j in range(K):
            tmp[j] = b[t, j] * beta[j] * inv
        for i in range(K):
            acc = 0.0
            for j in range(K):
                acc += transmat[i, j] * tmp[j]
            beta[i] = acc
        for i in range(K):
            a = alpha[t - 1, i]
            for j in range(K):
                xi[i, j] += a * tmp[j]
    for k in range(K):
        alpha[s, k] *= beta[k]


@njit(cache=True, fastmath=FAST)
def forward_backward(b, startprob, transmat, starts, ends, gamma, scale, tag):
    """E-step recursions for every sequence, from scaled emissions ``b`` (T, K).

    Fills ``gamma`` (T, K) with the state posteriors and ``scale`` (T,) with
    the constants ``c_t`` (buffers owned by the caller, reused across
    iterations); ``tag`` is :func:`state_tag` (K). Returns ``xi`` (S, K, K)
    expected transition counts per sequence and ``ok`` (S,), False for a
    sequence of probability zero (its ``gamma``, ``xi`` and ``scale`` are then
    meaningless).
    """
    K = len(tag)
    S = starts.shape[0]
    xi = np.zeros((S, K, K))
    ok = np.empty(S, dtype=np.bool_)
    transmat_t = np.ascontiguousarray(transmat.T)
    for s in range(S):
        ok[s] = _forward_one(b, startprob, transmat_t, starts[s], ends[s], gamma, scale, tag)
        if ok[s]:
            _backward_one(b, transmat, starts[s], ends[s], gamma, scale, xi[s], tag)
            for i in range(K):
                for j in range(K):
                    xi[s, i, j] *= transmat[i, j]
    return xi, ok


@njit(cache=True)
def forward_scale(b, startprob, transmat, starts, ends, alpha, scale, tag):
    """The scaled forward pass alone (for the log-likelihood): fills ``scale``
    (T,) with the constants ``c_t`` (``alpha`` (T, K) is a work buffer).
    Returns ``ok`` (S,), False for a sequence of probability zero."""
    S = starts.shape[0]
    ok = np.empty(S, dtype=np.bool_)
    transmat_t = np.ascontiguousarray(transmat.T)
    for s in range(S):
        ok[s] = _forward_one(b, startprob, transmat_t, starts[s], ends[s], alpha, scale, tag)
    return ok


@njit(cache=True)
def column_sums(a):
    """``a.sum(axis=0)`` for a (T, K) array, in one pass over the rows."""
    T, K = a.shape
    out = np.zeros(K)
    for t in range(T):
        for k in range(K):
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
def gaussian_diag_logpdf(X, means, covars, out):
    """``log N(x_t; mu_k, diag(covars_k))`` for every row and state, into
    ``out`` (T, K)."""
    T, D = X.shape
    K = means.shape[0]
    const = np.empty(K)
    prec = 1.0 / covars
    for k in range(K):
        c = D * np.log(2.0 * np.pi)
        for d in range(D):
            c += np.log(covars[k, d])
        const[k] = -0.5 * c
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


@njit(cache=True, fastmath=FAST)
def weighted_moments(weights, X, full):
    """``S_k = sum_t w_tk x_t`` (K, D) and ``Q_k = sum_t w_tk x_t^2`` (K, D, 1),
    or ``sum_t w_tk x_t x_t'`` (K, D, D) when ``full``; one pass over the rows."""
    T, D = X.shape
    K = weights.shape[1]
    first = np.zeros((K, D))
    second = np.zeros((K, D, D if full else 1))
    for t in range(T):
        for k in range(K):
            w = weights[t, k]
            if w == 0.0:
                continue
            for d in range(D):
                wx = w * X[t, d]
                first[k, d] += wx
                if full:
                    for e in range(D):
                        second[k, d, e] += wx * X[t, e]
                else:
                    second[k, d, 0] += wx * X[t, d]
    return first, second
