"""Compiled recursions for hidden Markov models (numba, cached on disk).

All kernels take many sequences stored end to end: sequence ``s`` occupies rows
``starts[s]:ends[s]`` of the (T, K) arrays, and the sequences are processed
independently, each into its own slot of the per-sequence outputs, which the
caller sums (so chunking or parallel workers need no change of model). The
loops are serial: numba's ``parallel=True`` with ``prange`` over sequences
was measured 5-20 times *slower* on the shared 2-core machine (thread start-up
and contention for one long sequence). Memory is O(T K); no Python loop runs
over time.

Emissions (:func:`scale_emissions`). The log-densities ``l_tk`` are shifted
by their maximum over states ``m_t`` and exponentiated,
``b_tk = exp(l_tk - m_t)``, so ``0 <= b_tk <= 1`` with 1 for some state, by
:func:`exp_nonpositive`, an exponential the compiler inlines and vectorises
(the C library's, which numpy calls on this machine, is an opaque call:
about 6 ns a value against 1.3).

Backward recursion, scaled lazily (the scaling of Rabiner 1989, sec. V.A,
done only when needed): ``beta_T = 1`` and

    beta_{t-1} = A (b_t * beta_t),

where ``*`` is the elementwise product. Since ``b <= 1`` and the rows of
``A`` sum to one, the largest entry of ``beta_t`` never grows; when the sum
of ``beta_{t-1}`` falls below ``RESCALE`` (``2^-256``), ``beta_t`` is divided
by its sum and the step repeated. Every step thus starts from a vector whose
sum is at least ``RESCALE``, or from one of sum one, as with scaling at every
step: nothing underflows that per-step scaling keeps, for any T. Each
stored ``beta_t`` is exact up to a positive factor of its own.

Forward recursion, scaled the same way (the divisors ``c`` kept), with the
statistics:

    a_1 = pi * b_1 / c_1,   a_t = b_t * (A' a_{t-1}),
    log L = sum_t m_t + sum log c + log sum_j a_T(j).

With ``Z_t = sum_k a_t(k) beta_t(k)`` (the probability of the data up to the
factors of the stored vectors, which cancel in each ratio below),

    gamma_t = a_t * beta_t / Z_t,
    sum_t xi_t(i, j) = A_ij sum_t u_t(i) w_t(j),   u_t = a_{t-1} / Z_t,  w_t = b_t * beta_t,

and the emission statistics are ``sum_t gamma_t(k) [1, phi_t]`` for the
model's per-row features ``phi_t``. The recursions' critical path is one
product with the transition matrix and one with ``b_t``; per-step scaling
would add a sum and a division to it. The sums over time are not taken
inside the serial loop: it saves ``u_t``, ``w_t`` and ``gamma_t`` state by
state in buffers of ``BLOCK`` steps, and after each block they are
K^2 + K (1 + P) dot products along time, which the compiler vectorises.

Two properties of numba shape the code. It does not enable LLVM's SLP
vectoriser, so short loops over the K states stay scalar; the loop
vectoriser needs a long loop over a contiguous 1-d view indexed by the loop
variable itself (``x[m]`` for ``m in range(n)``: an index such as ``lo + m``
makes numba emit a negative-index test that stops it). And arrays from
``np.empty`` are heap memory, which the compiler must assume may alias the
kernel's arguments; for K <= 8 the recursions' K-vectors, the transition
matrix and the block buffers are therefore stack arrays (:func:`scratch`),
kept in registers where they fit. For K > 8 the products with the
transition matrix are sums of its columns, zero-padded to a multiple of
``PAD``, in vector registers (:func:`~latentlab.hmm._simd.matvec_columns`),
and the sums over a block are formed in 2 x 4 tiles (:func:`_gram`).

Viterbi (log domain): ``d_t(j) = max_i (d_{t-1}(i) + log A_ij) + l_tj`` with
int32 back-pointers.
"""

from __future__ import annotations

import numpy as np
from numba import carray, njit, types
from numba.core import cgutils
from numba.extending import intrinsic, overload

from latentlab.hmm._simd import CHUNK, matvec_columns

#: LLVM fast-math flags that allow reassociation (so sums over states
#: vectorise) but keep IEEE infinities and NaNs, which the kernels test for
FAST = {"reassoc", "contract", "nsz", "arcp"}
#: the same without reassociation, for code whose operations must be
#: evaluated as written
EXACT = {"contract", "nsz", "arcp"}
#: the sum of a forward or backward vector below which it is rescaled
RESCALE = 2.0**-256
#: time steps per block of the vectorised passes
BLOCK = 256
#: for K > 8 the recursions' rows are zero-padded to a multiple of this (the
#: rows :func:`~latentlab.hmm._simd.matvec_columns` forms per pass)
PAD = CHUNK
#: the row length of block buffers: rows exactly 2 KiB apart would share
#: cache sets
WIDTH = BLOCK + 8

__all__ = [
    "state_tag",
    "scratch",
    "exp_nonpositive",
    "scale_emissions",
    "gaussian_diag_logpdf",
    "gaussian_diag_scaled",
    "forward_backward",
    "forward_loglik",
    "column_sums",
    "viterbi",
    "markov_chain",
]


def state_tag(n_states: int):
    """The ``tag`` argument of the kernels: a tuple of length K for K <= 8,
    which numba compiles as a constant (fully unrolled loops, work vectors in
    registers; one cached specialisation per K), else an array (loops over a
    run-time K)."""
    return (0,) * n_states if n_states <= 8 else np.zeros(n_states, dtype=np.int8)


@intrinsic
def _stack_alloc(typingctx, size):
    """A pointer to ``size`` (a literal integer) float64 in the calling
    function's stack frame, allocated once in its entry block."""
    if not isinstance(size, types.IntegerLiteral):
        return None
    n = size.literal_value

    def codegen(context, builder, signature, args):
        return cgutils.alloca_once(builder, context.get_value_type(types.float64), size=n)

    return types.CPointer(types.float64)(size), codegen


def scratch(tag, rows, cols):
    """An uninitialised (rows, cols) float64 work array, each dimension a
    literal integer or ``tag`` (for K): in the stack frame when ``tag`` is a
    tuple (K <= 8), where the compiler keeps small arrays in registers and
    knows that none aliases the kernel's arguments; else on the heap. Valid
    until the calling kernel returns."""
    raise NotImplementedError("scratch is only callable from compiled code")


@overload(scratch, inline="always")
def _scratch(tag, rows, cols):
    by_tag = (rows == tag, cols == tag)
    if isinstance(tag, types.UniTuple):
        if not all(t or isinstance(d, types.IntegerLiteral) for t, d in zip(by_tag, (rows, cols))):
            return None  # numba then retries with the literal values
        r, c = (tag.count if t else d.literal_value for t, d in zip(by_tag, (rows, cols)))
        n = r * c
        return lambda tag, rows, cols: carray(_stack_alloc(n), (r, c))
    if by_tag == (True, True):
        return lambda tag, rows, cols: np.empty((len(tag), len(tag)))
    if by_tag == (True, False):
        return lambda tag, rows, cols: np.empty((len(tag), cols))
    if by_tag == (False, True):
        return lambda tag, rows, cols: np.empty((rows, len(tag)))
    return lambda tag, rows, cols: np.empty((rows, cols))


_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # log 2 to 32 bits: k * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10  # log 2 - _LN2_HI
_ROUND = 6755399441055744.0  # 1.5 * 2^52: adding it rounds to an integer, held in the low bits
_ROUND_BITS = 0x4338000000000000  # the bit pattern of _ROUND


#: 1 / i!, the Taylor coefficients of exp
_C = tuple(1.0 / np.prod(np.arange(1.0, i + 1.0)) for i in range(14))


@njit(cache=True, error_model="numpy", fastmath=EXACT, inline="always")
def exp_nonpositive(z):
    """``exp(z)`` for ``z <= 0`` (NaN stays NaN), within 2 units in the last
    place of the C library's, subnormal results included; 0 below -745.2 and
    at -inf.

    ``z = k log 2 + f`` with ``k = round(z / log 2)`` and ``|f| <= log(2) / 2``
    (Cody & Waite: ``log 2`` in two parts so that ``f`` is exact); ``exp(f)``
    by its Taylor polynomial of degree 13 (remainder below
    ``(log(2)/2)^14 / 14! < 2e-17``), evaluated by Estrin's scheme (a shorter
    dependency chain than Horner's); ``2^k = 2^h 2^(k - h)`` with
    ``h = floor(k / 2)``, both factors normal numbers built from their bits,
    so that a subnormal result is rounded once. No branch and no call: the
    compiler vectorises loops over it."""
    z = -746.0 if z < -746.0 else z
    r = z * _LOG2E + _ROUND
    k = r - _ROUND
    f = z - k * _LN2_HI - k * _LN2_LO
    f2 = f * f
    f4 = f2 * f2
    low_terms = (_C[0] + _C[1] * f) + (_C[2] + _C[3] * f) * f2 + ((_C[4] + _C[5] * f) + (_C[6] + _C[7] * f) * f2) * f4
    high_terms = (_C[8] + _C[9] * f) + (_C[10] + _C[11] * f) * f2 + (_C[12] + _C[13] * f) * f4
    p = low_terms + high_terms * (f4 * f4)
    n = np.float64(r).view(np.uint64) - np.uint64(_ROUND_BITS - 2048)  # k + 2048 >= 0
    h = n >> np.uint64(1)  # floor(k / 2) + 1024
    low = np.uint64((h - np.uint64(1)) << np.uint64(52)).view(np.float64)  # 2^h
    high = np.uint64((n - h - np.uint64(1)) << np.uint64(52)).view(np.float64)  # 2^(k - h)
    return p * low * high


@njit(cache=True, error_model="numpy", fastmath=EXACT)
def _exp_in_place(x):
    """``x = exp(x)`` for a 1-d view of non-positive values (vectorised)."""
    for m in range(x.shape[0]):
        x[m] = exp_nonpositive(x[m])


@njit(cache=True, error_model="numpy", fastmath=EXACT)
def _to_rows(block, n, out, lo, tag):
    """``out[lo + m, k] = block[k, m]`` for ``m < n``."""
    for m in range(n):
        for k in range(len(tag)):
            out[lo + m, k] = block[k, m]


@njit(cache=True, error_model="numpy", fastmath=EXACT)
def _scale_block(block, n, b, shift, lo, tag):
    """From log-densities stored state by state in ``block`` (K, >= n) for
    rows lo:lo+n: ``shift[lo + m] = max_k block[k, m]`` and
    ``b[lo + m, k] = exp(block[k, m] - shift[lo + m])``, in loops along time
    (a row that is -inf in every state keeps ``shift = -inf`` and ``b = 0``)."""
    K = len(tag)
    top = shift[lo:lo + n]
    first = block[0, :n]
    for m in range(n):
        top[m] = first[m]
    for k in range(1, K):
        row = block[k, :n]
        for m in range(n):
            top[m] = max(top[m], row[m])
    for k in range(K):
        row = block[k, :n]
        for m in range(n):
            row[m] -= top[m]
    for m in range(n):
        if top[m] == -np.inf:  # rare: every state impossible
            for k in range(K):
                block[k, m] = -np.inf
    for k in range(K):
        _exp_in_place(block[k, :n])
    _to_rows(block, n, b, lo, tag)


@njit(cache=True, error_model="numpy", fastmath=EXACT)
def scale_emissions(logb, shift, tag):
    """``b_tk = exp(l_tk - m_t)`` in place of the log-densities ``logb``
    (T, K), with the maxima over states ``m_t`` into ``shift`` (T,); a row
    that is -inf in every state keeps ``m_t = -inf`` (and ``b = 0``). Returns
    ``shift``."""
    block = scratch(tag, tag, WIDTH)
    T = logb.shape[0]
    for lo in range(0, T, BLOCK):
        n = min(BLOCK, T - lo)
        for m in range(n):
            for k in range(len(tag)):
                block[k, m] = logb[lo + m, k]
        _scale_block(block, n, logb, shift, lo, tag)
    return shift


@njit(cache=True, error_model="numpy", fastmath=FAST)
def _gaussian_diag_terms(means, covars, tag):
    """Per state: ``-(D log 2 pi + sum_d log var_kd) / 2``, and per feature and
    state (D, K): ``-1 / (2 var_kd)`` and ``mu_kd``."""
    K = len(tag)
    D = means.shape[1]
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
    return const, half_prec, centre


@njit(cache=True, error_model="numpy", fastmath=FAST)
def _gaussian_diag_block(X_t, terms, lo, n, block, tag):
    """``block[k, m] = log N(x_{lo+m}; mu_k, diag(var_k))`` for ``m < n``, from
    the observations stored feature by feature, ``X_t`` (D, T); loops along
    time."""
    const, half_prec, centre = terms
    for k in range(len(tag)):
        row = block[k, :n]
        for m in range(n):
            row[m] = const[k]
        for d in range(X_t.shape[0]):
            x = X_t[d, lo:lo + n]
            mu = centre[d, k]
            h = half_prec[d, k]
            for m in range(n):
                z = x[m] - mu
                row[m] += z * z * h


@njit(cache=True, error_model="numpy", fastmath=FAST)
def gaussian_diag_logpdf(X_t, means, covars, out, tag):
    """``log N(x_t; mu_k, diag(covars_k))`` into ``out`` (T, K), which is
    returned; ``X_t`` (D, T) holds the observations feature by feature."""
    terms = _gaussian_diag_terms(means, covars, tag)
    block = scratch(tag, tag, WIDTH)
    T = X_t.shape[1]
    for lo in range(0, T, BLOCK):
        n = min(BLOCK, T - lo)
        _gaussian_diag_block(X_t, terms, lo, n, block, tag)
        _to_rows(block, n, out, lo, tag)
    return out


@njit(cache=True, error_model="numpy", fastmath=FAST)
def gaussian_diag_scaled(X_t, means, covars, b, shift, tag):
    """:func:`gaussian_diag_logpdf` and :func:`scale_emissions` in one pass,
    block by block: ``b`` (T, K) and ``shift`` (T,), which is returned."""
    terms = _gaussian_diag_terms(means, covars, tag)
    block = scratch(tag, tag, WIDTH)
    T = X_t.shape[1]
    for lo in range(0, T, BLOCK):
        n = min(BLOCK, T - lo)
        _gaussian_diag_block(X_t, terms, lo, n, block, tag)
        _scale_block(block, n, b, shift, lo, tag)
    return shift


@njit(cache=True, error_model="numpy", fastmath=FAST, inline="always")
def _normalise(v, tag):
    """Divide ``v`` (K,) by its sum; returns the log of the sum."""
    K = len(tag)
    c = 0.0
    for k in range(K):
        c += v[k]
    inv = 1.0 / c
    for k in range(K):
        v[k] *= inv
    return np.log(c)


@njit(cache=True, error_model="numpy", fastmath=EXACT)
def _matvec_unrolled(matrix, v, out, tag):
    """``out[r] = sum_i matrix[r, i] v[i]`` for K <= 8 (loops unrolled), each
    sum as two running sums, over the even and the odd ``i``, added at the
    end: half the dependency chain of one sum (compiled without
    reassociation, which would merge them again)."""
    K = len(tag)
    for r in range(K):
        even = 0.0
        odd = 0.0
        for i in range(0, K - 1, 2):
            even += matrix[r, i] * v[i]
            odd += matrix[r, i + 1] * v[i + 1]
        if K % 2 == 1:
            even += matrix[r, K - 1] * v[K - 1]
        out[r] = even + odd


def _matvec(operand, v, out, tag):
    """``out[:K] = M v`` for the matrix ``M`` that ``operand`` holds
    (:func:`_local_copy`): on the recursions' critical path, so
    :func:`_matvec_unrolled` over the rows of ``M`` for K <= 8, and
    :func:`~latentlab.hmm._simd.matvec_columns` over its columns above."""
    raise NotImplementedError("_matvec is only callable from compiled code")


@overload(_matvec, inline="always")
def _matvec_impl(operand, v, out, tag):
    if isinstance(tag, types.UniTuple):
        return lambda operand, v, out, tag: _matvec_unrolled(operand, v, out, tag)
    return lambda operand, v, out, tag: matvec_columns(operand, v, out, len(tag))


def _by_columns(tag):
    """Whether :func:`_matvec` takes its matrix by columns (K > 8)."""
    raise NotImplementedError("_by_columns is only callable from compiled code")


@overload(_by_columns)
def _by_columns_impl(tag):
    columns = not isinstance(tag, types.UniTuple)
    return lambda tag: columns


def _vectors(tag, rows):
    """A (rows, K') float64 work array for the recursions, zero past column
    K, ``rows`` a literal integer or ``tag`` (K rows): on the stack
    (:func:`scratch`, K' = K) for K <= 8, else K' is K rounded up to a
    multiple of ``PAD``, the row length :func:`_matvec` needs."""
    raise NotImplementedError("_vectors is only callable from compiled code")


@overload(_vectors, inline="always")
def _vectors_impl(tag, rows):
    if isinstance(tag, types.UniTuple):
        if not (rows == tag or isinstance(rows, types.IntegerLiteral)):
            return None  # numba then retries with the literal value

        def on_stack(tag, rows):
            out = scratch(tag, rows, tag)
            out[:] = 0.0
            return out

        return on_stack
    if rows == tag:
        return lambda tag, rows: np.zeros((len(tag), (len(tag) + PAD - 1) // PAD * PAD))
    return lambda tag, rows: np.zeros((rows, (len(tag) + PAD - 1) // PAD * PAD))


@njit(cache=True, error_model="numpy", fastmath=FAST, inline="always")
def _local_copy(matrix, transpose, tag):
    """The operand of :func:`_matvec` for ``M = matrix`` (K, K), or its
    transpose, in :func:`_vectors` work space: the rows of ``M`` for K <= 8,
    its columns (stored as rows) above. Being local, the compiler knows that
    stores to the kernel's arrays leave it unchanged and need not load it
    again after each."""
    K = len(tag)
    out = _vectors(tag, tag)
    flip = transpose != _by_columns(tag)
    for i in range(K):
        for j in range(K):
            out[i, j] = matrix[j, i] if flip else matrix[i, j]
    return out


@njit(cache=True, error_model="numpy", fastmath=FAST, inline="always")
def _forward_step(a, operand, b, t, w, out, tag):
    """``w = A' a`` (``operand`` holds ``A'``, :func:`_local_copy`) and
    ``out = b_t * w``; returns ``sum(out)``. When the sum falls below
    ``RESCALE`` the caller divides ``a`` by its sum and takes the step again.

    The callers write that test out in their loops, as they do the backward
    one: behind an inlined helper with a branch of its own, the recursion
    was measured twice as slow (2026-12-04: 8.1 against 4.6 ms for 100,000
    steps at K = 20, 1.35 against 0.6 ms at K = 4)."""
    _matvec(operand, a, w, tag)
    c = 0.0
    for k in range(len(tag)):
        out[k] = b[t, k] * w[k]
        c += out[k]
    return c


@njit(cache=True, error_model="numpy", fastmath=FAST, inline="always")
def _forward_start(b, startprob, a, tag):
    """``a = pi * b_0`` divided by its sum; returns the log of the sum, -inf
    if it is zero."""
    K = len(tag)
    c = 0.0
    for k in range(K):
        a[k] = startprob[k] * b[0, k]
        c += a[k]
    if not c > 0.0:
        return -np.inf
    return _normalise(a, tag)


@njit(cache=True, error_model="numpy", fastmath=FAST, inline="always")
def _backward_step(beta, transmat, b, t, w, out, tag):
    """``w = b_t * beta`` and ``out = A w``; returns ``sum(out)``."""
    K = len(tag)
    for j in range(K):
        w[j] = b[t, j] * beta[j]
    _matvec(transmat, w, out, tag)
    c = 0.0
    for i in range(K):
        c += out[i]
    return c


@njit(cache=True, error_model="numpy", fastmath=FAST)
def _backward_pass(b, transmat, g, tag):
    """Lazily scaled backward recursion over one sequence (``b`` and ``g`` its
    rows; module docstring): row ``t`` of ``g`` gets ``beta_t``, up to a
    positive factor of its own."""
    K = len(tag)
    transmat = _local_copy(transmat, False, tag)
    work = _vectors(tag, 3)
    beta, w, nxt = work[0], work[1], work[2]
    n = b.shape[0]
    for k in range(K):
        beta[k] = 1.0
        g[n - 1, k] = 1.0
    for t in range(n - 1, 0, -1):
        if not _backward_step(beta, transmat, b, t, w, nxt, tag) >= RESCALE:
            _normalise(beta, tag)
            _backward_step(beta, transmat, b, t, w, nxt, tag)
        for k in range(K):
            beta[k] = nxt[k]
            g[t - 1, k] = nxt[k]


@njit(cache=True, error_model="numpy", fastmath=FAST)
def _dot(x, y):
    """``sum_m x[m] y[m]`` for 1-d views of equal length (vectorised)."""
    acc = 0.0
    for m in range(x.shape[0]):
        acc += x[m] * y[m]
    return acc


@njit(cache=True, error_model="numpy", fastmath=FAST)
def _gram_tile(x0, x1, y0, y1, y2, y3, out, i, j):
    """``out[i + r, j + c] += sum_m x_r[m] y_c[m]`` for a 2 x 4 tile: eight sums
    in one pass along time (each loaded value used four or two times)."""
    s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = 0.0
    for m in range(x0.shape[0]):
        a, b = x0[m], x1[m]
        s00 += a * y0[m]
        s01 += a * y1[m]
        s02 += a * y2[m]
        s03 += a * y3[m]
        s10 += b * y0[m]
        s11 += b * y1[m]
        s12 += b * y2[m]
        s13 += b * y3[m]
    out[i, j] += s00
    out[i, j + 1] += s01
    out[i, j + 2] += s02
    out[i, j + 3] += s03
    out[i + 1, j] += s10
    out[i + 1, j + 1] += s11
    out[i + 1, j + 2] += s12
    out[i + 1, j + 3] += s13


@njit(cache=True, error_model="numpy", fastmath=FAST)
def _gram(x, nx, y, y0, ny, n, out):
    """``out[i, j] += sum_m x[i, m] y[j, y0 + m]`` for ``i < nx``, ``j < ny``,
    ``m < n``: 2 x 4 tiles (:func:`_gram_tile`), the rest as dot products."""
    i_end = nx - nx % 2
    j_end = ny - ny % 4
    for i in range(0, i_end, 2):
        for j in range(0, j_end, 4):
            _gram_tile(x[i, :n], x[i + 1, :n], y[j, y0:y0 + n], y[j + 1, y0:y0 + n], y[j + 2, y0:y0 + n],
                       y[j + 3, y0:y0 + n], out, i, j)
    for i in range(nx):
        for j in range(j_end if i < i_end else 0, ny):
            out[i, j] += _dot(x[i, :n], y[j, y0:y0 + n])


@njit(cache=True, error_model="numpy", fastmath=FAST)
def _block_sums(blocks, n, features_t, f0, xi, sums, tag):
    """Add a block of ``n`` saved steps to the sums: ``xi[i, j] += sum_m
    u_m(i) w_m(j)`` and ``sums[k] += sum_m gamma_m(k) [1, phi_m]``, the
    features from column ``f0`` of ``features_t`` on."""
    K = len(tag)
    u_block, w_block, g_block = blocks
    _gram(u_block, K, w_block, 0, K, n, xi)
    _gram(g_block, K, features_t, f0, features_t.shape[0], n, sums[:, 1:])
    for k in range(K):
        row = g_block[k, :n]
        total = 0.0
        for m in range(n):
            total += row[m]
        sums[k, 0] += total


@njit(cache=True, error_model="numpy", fastmath=FAST, inline="always")
def _overlap(a, g, t, tag):
    """``Z_t = sum_k a[k] g[t, k]``."""
    z = 0.0
    for k in range(len(tag)):
        z += a[k] * g[t, k]
    return z


@njit(cache=True, error_model="numpy", fastmath=FAST)
def _forward_statistics(b, startprob, transmat, g, features_t, f0, xi, sums, tag):
    """Forward recursion over one sequence (``b`` and ``g`` its rows, its
    features from column ``f0`` of ``features_t``) after
    :func:`_backward_pass`, with the statistics (module docstring): ``g``
    holds ``beta_t`` on entry and the posteriors on exit; ``xi`` (K, K)
    accumulates ``sum_t u_t(i) w_t(j)`` (the caller multiplies by ``A_ij``)
    and ``sums`` (K, 1 + P) the sums ``sum_t gamma_t(k) [1, phi_t]``. Returns
    ``log L - sum_t m_t``, -inf if the sequence has probability zero."""
    K = len(tag)
    operand = _local_copy(transmat, True, tag)
    work = _vectors(tag, 3)
    a, w, nxt = work[0], work[1], work[2]
    blocks = (scratch(tag, tag, WIDTH), scratch(tag, tag, WIDTH), scratch(tag, tag, WIDTH))
    u_block, w_block, g_block = blocks
    log_c = _forward_start(b, startprob, a, tag)
    _normalise(g[0], tag)
    z = _overlap(a, g, 0, tag)
    if not (log_c > -np.inf and z > 0.0):
        return -np.inf
    for k in range(K):
        g_block[k, 0] = a[k] * g[0, k] / z
        g[0, k] = g_block[k, 0]
        u_block[k, 0] = 0.0  # no transition into the first row
        w_block[k, 0] = 0.0
    _block_sums(blocks, 1, features_t, f0, xi, sums, tag)
    n = b.shape[0]
    for lo in range(1, n, BLOCK):
        size = min(BLOCK, n - lo)
        for m in range(size):
            t = lo + m
            if not _forward_step(a, operand, b, t, w, nxt, tag) >= RESCALE:
                log_c += _normalise(a, tag)  # rescale, and take the step again
                if not _forward_step(a, operand, b, t, w, nxt, tag) > 0.0:
                    return -np.inf
            z = _overlap(nxt, g, t, tag)
            if not z >= RESCALE * RESCALE:  # rare: beta_t scaled far down
                _normalise(g[t], tag)
                z = _overlap(nxt, g, t, tag)
            if not z > 0.0:
                return -np.inf
            inv_z = 1.0 / z
            for k in range(K):
                beta = g[t, k]
                gamma = nxt[k] * beta * inv_z
                g[t, k] = gamma
                g_block[k, m] = gamma
                u_block[k, m] = a[k] * inv_z
                w_block[k, m] = b[t, k] * beta
                a[k] = nxt[k]
        _block_sums(blocks, size, features_t, f0 + lo, xi, sums, tag)
    c = 0.0
    for k in range(K):
        c += a[k]
    return log_c + np.log(c)


@njit(cache=True, error_model="numpy", fastmath=FAST)
def forward_backward(b, shift, startprob, transmat, starts, ends, features_t, g, tag):
    """E-step recursions for every sequence, from scaled emissions ``b``
    (T, K) and their shifts ``shift`` (T,) (:func:`scale_emissions`): the
    backward recursion stores its vectors in ``g`` (T, K) (a buffer owned by
    the caller), the forward recursion replaces them by the state posteriors.

    ``features_t`` (P, T) are per-row features ``phi_t`` stored feature by
    feature (P may be 0); ``tag`` is :func:`state_tag` (K). Returns ``xi``
    (S, K, K) expected transition counts, ``sums`` (S, K, 1 + P) the sums
    ``sum_t gamma_t(k) [1, phi_t]``, and the log-likelihood of each sequence
    (S,), -inf for a sequence of probability zero (its ``g``, ``xi`` and
    ``sums`` are then meaningless).
    """
    K = len(tag)
    S = starts.shape[0]
    xi = np.zeros((S, K, K))
    sums = np.zeros((S, K, 1 + features_t.shape[0]))
    loglik = np.empty(S)
    for s in range(S):
        rows = slice(starts[s], ends[s])
        _backward_pass(b[rows], transmat, g[rows], tag)
        loglik[s] = _forward_statistics(b[rows], startprob, transmat, g[rows], features_t, starts[s], xi[s], sums[s], tag)
        loglik[s] += shift[rows].sum()
        for i in range(K):
            for j in range(K):
                xi[s, i, j] *= transmat[i, j]
    return xi, sums, loglik


@njit(cache=True, error_model="numpy", fastmath=FAST)
def forward_loglik(b, shift, startprob, transmat, starts, ends, tag):
    """The forward recursion alone: the log-likelihood of each sequence (S,),
    -inf for probability zero."""
    K = len(tag)
    S = starts.shape[0]
    loglik = np.empty(S)
    operand = _local_copy(transmat, True, tag)
    work = _vectors(tag, 3)
    a, w, nxt = work[0], work[1], work[2]
    for s in range(S):
        rows = slice(starts[s], ends[s])
        seq = b[rows]
        log_c = _forward_start(seq, startprob, a, tag)
        for t in range(1, seq.shape[0]):
            if log_c == -np.inf:
                break
            if not _forward_step(a, operand, seq, t, w, nxt, tag) >= RESCALE:
                log_c += _normalise(a, tag)  # rescale, and take the step again
                if not _forward_step(a, operand, seq, t, w, nxt, tag) > 0.0:
                    log_c = -np.inf
            for k in range(K):
                a[k] = nxt[k]
        if log_c > -np.inf:
            c = 0.0
            for k in range(K):
                c += a[k]
            log_c += np.log(c)
        loglik[s] = log_c + shift[rows].sum()
    return loglik


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
