"""Compiled kernels of interval mapping: the genotype HMM along a chromosome,
and the EM and Haley-Knott fits at one position, run over every position of a
genome scan in parallel.

Notation at one position: individual ``i`` has phenotype ``y_i``, covariates
``x_i`` (a row of ``X``, no intercept) and prior genotype probabilities
``p_ij`` (from the markers, :func:`forward_backward`) over classes ``j``,
held class by class as a (G, n) array. The model is the mixture

    y_i ~ sum_j p_ij N(mu_j + x_i' beta, sigma^2)

(Lander & Botstein 1989; with covariates, Broman et al. 2003).

E-step: ``w_ij = p_ij phi_ij / sum_k p_ik phi_ik`` with ``phi_ij`` the normal
density of ``y_i`` under class ``j``; the statistics ``N_j = sum_i w_ij``,
``S_j = sum_i w_ij y_i`` and ``C_j = sum_i w_ij x_i`` (with the constants
``X'X``, ``X'y`` and ``y'y``) are sums over individuals.

M-step: weighted least squares of ``y`` on the class indicators and ``X``
over the individuals expanded by class with weights ``w_ij``: the normal
equations

    [diag(N)  C  ] [mu  ]   [S  ]
    [C'       X'X] [beta] = [X'y],    sigma^2 = (y'y - theta'b) / n,

with ``theta = (mu, beta)`` and ``b`` the right-hand side. A class without
weight or a covariate collinear with the classes gets no coefficient (the
solve drops it), as a pivoted QR would.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .._compiled_linalg import normal_equations_solve
from .._fastmath import exp_fast
from ..em.engine import ROUNDOFF_RTOL

_LOG_2PI = np.log(2.0 * np.pi)


@nb.njit(cache=True)
def forward_backward(codes, trans, emit, init):
    """Posterior genotype probabilities at every position of one chromosome.

    ``codes`` (n, P): observed codes (0 missing); ``trans`` (P-1, G, G): the
    transition matrix between successive positions; ``emit`` (codes, G): the
    probability of each observed code given each true genotype; ``init`` (G):
    the genotype frequencies at the first position. Scaled forward and backward
    recursions (Rabiner 1989); returns (n, P, G)."""
    n, P = codes.shape
    G = init.shape[0]
    out = np.empty((n, P, G))
    alpha = np.empty((P, G))
    beta = np.empty((P, G))
    for i in range(n):
        s = 0.0
        for g in range(G):
            alpha[0, g] = init[g] * emit[codes[i, 0], g]
            s += alpha[0, g]
        for g in range(G):
            alpha[0, g] /= s
        for p in range(1, P):
            s = 0.0
            for g in range(G):
                a = 0.0
                for h in range(G):
                    a += alpha[p - 1, h] * trans[p - 1, h, g]
                alpha[p, g] = a * emit[codes[i, p], g]
                s += alpha[p, g]
            for g in range(G):
                alpha[p, g] /= s
        for g in range(G):
            beta[P - 1, g] = 1.0
        for p in range(P - 2, -1, -1):
            s = 0.0
            for h in range(G):
                b = 0.0
                for g in range(G):
                    b += trans[p, h, g] * emit[codes[i, p + 1], g] * beta[p + 1, g]
                beta[p, h] = b
                s += b
            for h in range(G):
                beta[p, h] /= s
        for p in range(P):
            s = 0.0
            for g in range(G):
                out[i, p, g] = alpha[p, g] * beta[p, g]
                s += out[i, p, g]
            for g in range(G):
                out[i, p, g] /= s
    return out


#: stands for an infinite squared residual (a class with ``p_ij = 0``): fastmath code has no infinities
_FAR = 1e300
#: individuals whose per-individual likelihoods are multiplied before one logarithm
_LANES = 8


@nb.njit(cache=True, fastmath=True)
def position_e_step(y, X, prob, mu, beta, sigma2, N, S, C, w, work):
    """E-step at one position (module docstring). ``prob`` is (G, n), class
    by class; fills ``N`` (G), ``S`` (G), ``C`` (G, c) and the posterior
    weights ``w`` (G, n), uses ``work`` (2, n), and returns the observed-data
    log-likelihood ``sum_i log sum_j p_ij phi_ij``.

    Each individual's terms are scaled by its largest possible density (the
    class with the smallest squared residual among those with ``p_ij > 0``),
    and the logarithm is taken of products of ``_LANES`` individual
    likelihoods at a time (one by one where a product would underflow). Every
    pass runs over the individuals of one class, so the sums stay in
    registers."""
    G, n = prob.shape
    c = X.shape[1]
    resid, total = work[0], work[1]
    half = 0.5 / sigma2
    for i in range(n):
        r = y[i]
        for k in range(c):
            r -= X[i, k] * beta[k]
        resid[i] = r
        total[i] = _FAR
    for j in range(G):
        m = mu[j]
        for i in range(n):
            d = (resid[i] - m) ** 2 if prob[j, i] > 0.0 else _FAR
            w[j, i] = d
            total[i] = min(total[i], d)
    quad = 0.0
    for i in range(n):
        quad += total[i]
        resid[i] = total[i]
        total[i] = 0.0
    for j in range(G):
        for i in range(n):
            w[j, i] = prob[j, i] * exp_fast((resid[i] - w[j, i]) * half)
            total[i] += w[j, i]
    ll = 0.0
    products = np.ones(_LANES)
    for i0 in range(0, n - _LANES + 1, _LANES):
        for k in range(_LANES):
            products[k] *= total[i0 + k]
    for i in range(n - n % _LANES, n):
        products[i % _LANES] *= total[i]
    if products.min() > 1e-300:
        for k in range(_LANES):
            ll += np.log(products[k])
    else:
        for i in range(n):
            ll += np.log(total[i])
    for i in range(n):
        total[i] = 1.0 / total[i]
    for j in range(G):
        nj = 0.0
        sj = 0.0
        for i in range(n):
            v = w[j, i] * total[i]
            w[j, i] = v
            nj += v
            sj += v * y[i]
        N[j] = nj
        S[j] = sj
        for k in range(c):
            ck = 0.0
            for i in range(n):
                ck += w[j, i] * X[i, k]
            C[j, k] = ck
    return ll - quad * half - 0.5 * n * (_LOG_2PI + np.log(sigma2))


@nb.njit(cache=True)
def position_m_step(N, S, C, XtX, Xty, yty, n, theta, A, b):
    """M-step (module docstring): fills ``theta = (mu, beta)`` and returns
    ``sigma^2``; ``A`` (m, m) and ``b`` (m) are workspace, ``m = G + c``. A
    class with no weight keeps its entry of ``theta``."""
    G = N.shape[0]
    c = XtX.shape[0]
    m = G + c
    A[:, :] = 0.0
    for j in range(G):
        A[j, j] = N[j]
        b[j] = S[j]
        for k in range(c):
            A[j, G + k] = C[j, k]
            A[G + k, j] = C[j, k]
    for k in range(c):
        b[G + k] = Xty[k]
        for l in range(c):
            A[G + k, G + l] = XtX[k, l]
    kept = normal_equations_solve(A, b, m)
    fit = 0.0
    for j in range(m):
        if kept[j]:
            theta[j] = b[j]
            fit += b[j] * (S[j] if j < G else Xty[j - G])
    return max((yty - fit) / n, 0.0)


@nb.njit(cache=True)
def converged(gain, loglik, tol, rate):
    """The engine's convergence rule for one fit (:func:`latentlab.em.engine.has_converged`):
    ``gain / (1 - rate) <= tol (1 + |loglik|)`` with ``rate < 1``, or a gain at round-off."""
    scale = 1.0 + abs(loglik)
    gain = max(gain, 0.0)
    if gain <= ROUNDOFF_RTOL * scale:
        return True
    return rate < 1.0 and gain / (1.0 - rate) <= tol * scale


@nb.njit(cache=True)
def em_position(y, X, prob, XtX, Xty, yty, tol, max_iter, floor, theta, sigma2, work):
    """EM at one position from ``theta`` and ``sigma2``; ``theta`` is updated
    in place to the estimates. ``work`` holds the buffers of
    :func:`_workspace`. Returns (loglik, iterations, sigma2); iterations is
    ``-1`` if the log-likelihood fell (a bug, never expected) and ``max_iter +
    1`` if the rule was not met. ``floor``: least ``sigma^2``."""
    N, S, C, w, rows, old, A, b = work
    G, n = prob.shape
    m = theta.shape[0]
    old[:] = theta
    old_s2 = sigma2
    ll = position_e_step(y, X, prob, theta[:G], theta[G:], sigma2, N, S, C, w, rows)
    last_step = np.inf
    for it in range(1, max_iter + 1):
        sigma2 = max(position_m_step(N, S, C, XtX, Xty, yty, n, theta, A, b), floor)
        new_ll = position_e_step(y, X, prob, theta[:G], theta[G:], sigma2, N, S, C, w, rows)
        if new_ll < ll - 1e-10 * (1.0 + abs(ll)):
            return new_ll, -1, sigma2
        step = (sigma2 - old_s2) ** 2
        for j in range(m):
            step += (theta[j] - old[j]) ** 2
            old[j] = theta[j]
        old_s2 = sigma2
        step = np.sqrt(step)
        rate = 0.0 if last_step == np.inf else (step / last_step) ** 2 if last_step > 0 else 0.0
        gain = new_ll - ll
        ll = new_ll
        last_step = step
        if converged(gain, ll, tol, rate):
            return ll, it, sigma2
    return ll, max_iter + 1, sigma2


@nb.njit(cache=True)
def _workspace(G, n, c):
    """Buffers of one EM run: N, S, C, the weights, two rows, the previous
    parameters, and the M-step's system."""
    m = G + c
    return (np.empty(G), np.empty(G), np.empty((G, c)), np.empty((G, n)), np.empty((2, n)), np.empty(m),
            np.empty((m, m)), np.empty(m))


@nb.njit(cache=True)
def em_positions(y, X, probs, first, last, XtX, Xty, yty, tol, max_iter, floor, ll, iters):
    """:func:`em_position` at positions ``first`` to ``last - 1`` of
    ``probs`` (P, G, n) into ``ll`` and ``iters``: the first starts from
    Haley-Knott's estimates (:func:`hk_fit`), each next one from its
    neighbour's estimates, which are closer still (positions 1 cM apart have
    nearly the same likelihood), so EM needs fewer steps."""
    G, n = probs.shape[1], probs.shape[2]
    work = _workspace(G, n, X.shape[1])
    theta = np.empty(G + X.shape[1])
    sigma2 = 0.0
    for p in range(first, last):
        if p == first:
            sigma2 = max(hk_fit(y, X, probs[p], XtX, Xty, yty, theta) / n, floor)
        ll[p], iters[p], sigma2 = em_position(y, X, probs[p], XtX, Xty, yty, tol, max_iter, floor, theta, sigma2, work)


@nb.njit(cache=True, parallel=True)
def em_scan(y, X, probs, XtX, Xty, yty, tol, max_iter, floor, segment):
    """:func:`em_positions` over every position of ``probs`` (P, G, n), in
    runs of ``segment`` neighbours, in parallel. Returns the log-likelihoods
    and iteration counts."""
    P = probs.shape[0]
    ll = np.empty(P)
    iters = np.empty(P, dtype=np.int64)
    for s in nb.prange((P + segment - 1) // segment):
        em_positions(y, X, probs, s * segment, min((s + 1) * segment, P), XtX, Xty, yty, tol, max_iter, floor, ll,
                     iters)
    return ll, iters


@nb.njit(cache=True, parallel=True)
def em_permutation_maxima(y, X, probs, orders, XtX, Xty, yty, tol, max_iter, floor, segment):
    """For each row of ``orders`` (a permutation of the individuals), the
    largest log-likelihood over the positions of ``probs`` with the trait and
    covariates permuted, and the smallest and largest iteration counts (the
    sums ``X'X``, ``X'y``, ``y'y`` do not change). Permutations run in
    parallel, each over all positions as :func:`em_scan` runs them."""
    n_perm = orders.shape[0]
    P = probs.shape[0]
    best = np.empty(n_perm)
    fewest = np.empty(n_perm, dtype=np.int64)
    most = np.empty(n_perm, dtype=np.int64)
    for k in nb.prange(n_perm):
        yk = y[orders[k]]
        Xk = np.ascontiguousarray(X[orders[k]])
        ll = np.empty(P)
        iters = np.empty(P, dtype=np.int64)
        for s in range(0, P, segment):
            em_positions(yk, Xk, probs, s, min(s + segment, P), XtX, Xty, yty, tol, max_iter, floor, ll, iters)
        best[k] = ll.max()
        fewest[k] = iters.min()
        most[k] = iters.max()
    return best, fewest, most


@nb.njit(cache=True)
def hk_fit(y, X, prob, XtX, Xty, yty, theta):
    """Haley & Knott's (1992) regression at one position: the least-squares
    fit of ``y`` on the genotype probabilities ``prob`` (G, n) (G columns, which sum to 1 and
    so carry the intercept) and ``X``. Fills ``theta`` and returns the
    residual sum of squares."""
    G, n = prob.shape
    c = X.shape[1]
    m = G + c
    A = np.zeros((m, m))
    b = np.zeros(m)
    for j in range(G):
        for i in range(n):
            b[j] += prob[j, i] * y[i]
        for l in range(j, G):
            for i in range(n):
                A[j, l] += prob[j, i] * prob[l, i]
        for k in range(c):
            for i in range(n):
                A[j, G + k] += prob[j, i] * X[i, k]
    for j in range(G):
        for l in range(j + 1, G):
            A[l, j] = A[j, l]
        for k in range(c):
            A[G + k, j] = A[j, G + k]
    for k in range(c):
        b[G + k] = Xty[k]
        for l in range(c):
            A[G + k, G + l] = XtX[k, l]
    rhs = b.copy()
    kept = normal_equations_solve(A, b, m)
    fit = 0.0
    for j in range(m):
        theta[j] = b[j]
        if kept[j]:
            fit += b[j] * rhs[j]
    return max(yty - fit, 0.0)


@nb.njit(cache=True, parallel=True)
def hk_scan(y, X, probs, XtX, Xty, yty):
    """:func:`hk_fit`'s residual sum of squares at every position of
    ``probs`` (P, G, n), in parallel."""
    P, G, n = probs.shape
    rss = np.empty(P)
    for p in nb.prange(P):
        theta = np.empty(G + X.shape[1])
        rss[p] = hk_fit(y, X, probs[p], XtX, Xty, yty, theta)
    return rss
