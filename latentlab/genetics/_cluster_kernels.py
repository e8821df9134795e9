"""Compiled forward-backward of the diploid haplotype-cluster HMM
(:mod:`latentlab.genetics.haplotype_clusters`), one individual at a time.

Hidden state at locus ``m``: the ordered pair ``(k1, k2)`` of clusters copied
by the individual's two chromosomes. Each chromosome moves independently with
``T_m(j, k) = (1 - rho_m) [j = k] + rho_m alpha_mk``, so the pair's transition
is ``T_m (x) T_m``. Because ``T_m`` is the identity plus a rank-one matrix, a
forward step needs only the row and column sums ``r``, ``c`` of the previous
(normalised) forward matrix ``S``:

    pred(k1, k2) = (1-rho)^2 S(k1, k2) + (1-rho) rho (alpha_k2 r(k1) + alpha_k1 c(k2))
                   + rho^2 alpha_k1 alpha_k2,

and a backward step, with ``W = E_m * B_m``, the ``alpha``-weighted sums of
``W``'s rows and columns: ``O(K^2)`` per locus instead of ``O(K^4)`` (Scheet &
Stephens 2006, appendix A). The emission of the pair is

    E_m(k1, k2) = l0 (1-a)(1-b) + l1 (a(1-b) + b(1-a)) + l2 a b,
    a = theta_mk1, b = theta_mk2,

with ``l_g`` the likelihood of the data at the locus given genotype ``g``
(one-hot for a called genotype, 1 for a missing one, the genotype likelihoods
otherwise). Forward vectors are normalised at every locus (scale ``s_m``,
``loglik = sum_m log s_m``) and backward vectors divided by the same scales,
so ``F_m * B_m`` is the posterior of the pair. ``rho`` has ``L - 1``
entries: ``rho[m - 1]`` is the jump probability between loci ``m - 1`` and ``m``.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _emission(lik, theta, E):
    """E[k1, k2]: the pair emission at one locus (module docstring)."""
    K = theta.size
    l0, l1, l2 = lik[0], lik[1], lik[2]
    for k1 in range(K):
        a = theta[k1]
        for k2 in range(K):
            b = theta[k2]
            E[k1, k2] = l0 * (1.0 - a) * (1.0 - b) + l1 * (a * (1.0 - b) + b * (1.0 - a)) + l2 * a * b


@njit(cache=True)
def _forward(lik, alpha, theta, rho, P, R, scale, S, E):
    """Scaled forward pass; returns log P(data).

    Stores, for each locus, ``P[m] = pred_m / s_m`` (the prediction before
    the emission, so the posterior is ``P_m * E_m * B_m`` and no division by
    ``E`` is needed), ``R[m]`` the row sums of the normalised forward matrix
    ``F_m = P_m * E_m`` (its column sums are the same: the two chromosomes
    are exchangeable, so ``F_m`` is symmetric) and the scale ``s_m``.
    """
    L, K = theta.shape
    total = 0.0
    for m in range(L):
        _emission(lik[m], theta[m], E)
        a = alpha[m]
        Pm = P[m]
        if m == 0:
            for k1 in range(K):
                for k2 in range(K):
                    Pm[k1, k2] = a[k1] * a[k2]
        else:
            p = rho[m - 1]
            stay2, cross, both = (1.0 - p) * (1.0 - p), (1.0 - p) * p, p * p
            r = R[m - 1]
            for k1 in range(K):
                for k2 in range(K):
                    Pm[k1, k2] = stay2 * S[k1, k2] + cross * (a[k2] * r[k1] + a[k1] * r[k2]) + both * a[k1] * a[k2]
        s = 0.0
        for k1 in range(K):
            for k2 in range(K):
                S[k1, k2] = Pm[k1, k2] * E[k1, k2]
                s += S[k1, k2]
        if not s > 0.0:
            return -np.inf
        scale[m] = s
        total += np.log(s)
        inv = 1.0 / s
        for k1 in range(K):
            row = 0.0
            for k2 in range(K):
                Pm[k1, k2] *= inv
                S[k1, k2] *= inv
                row += S[k1, k2]
            R[m, k1] = row
    return total


@njit(cache=True)
def _backward(lik, alpha, theta, rho, P, R, scale, E, B, W, row, allele, copies, jumps, genotypes, stats):
    """Backward pass after :func:`_forward`, adding either the expected
    statistics (``stats``) or the genotype posteriors (``genotypes``, (L, 3)).

    With ``W = E_m * B_m``, the posterior of the pair is ``P_m * W``, and
    ``P_m * B_m`` is the posterior divided by the emission. By the symmetry
    of the two chromosomes the first chromosome's statistics are counted
    twice:

    * allele: ``2 P B a (l2 b + l1 (1-b))`` to cluster ``k1``;
    * copies: ``2 P W`` to ``k1``;
    * jumps (m >= 1): ``2 rho alpha_k1 ((1-rho) r(k2) + rho alpha_k2) W / s_m``
      to ``k1``, with ``r`` the row sums of ``F_{m-1}``;
    * genotype ``g``: ``P B l_g P(g | a, b)``.

    The step back is ``B_{m-1}(j1, j2) = (stay2 W(j1, j2) + cross (row(j1) +
    row(j2)) + both sum_k alpha_k row(k)) / s_m``, ``row(j) = sum_k alpha_k W(j, k)``.
    """
    L, K = theta.shape
    for k1 in range(K):
        for k2 in range(K):
            B[k1, k2] = 1.0
    for m in range(L - 1, -1, -1):
        _emission(lik[m], theta[m], E)
        t = theta[m]
        a_m = alpha[m]
        l0, l1, l2 = lik[m, 0], lik[m, 1], lik[m, 2]
        Pm = P[m]
        p = rho[m - 1] if m > 0 else 0.0
        inv = 1.0 / scale[m]
        for k1 in range(K):
            a = t[k1]
            acc_allele, acc_copies, acc_jumps, acc_row = 0.0, 0.0, 0.0, 0.0
            for k2 in range(K):
                w = E[k1, k2] * B[k1, k2]
                W[k1, k2] = w
                acc_row += a_m[k2] * w
                pb = Pm[k1, k2] * B[k1, k2]
                b = t[k2]
                if stats:
                    acc_allele += pb * a * (l2 * b + l1 * (1.0 - b))
                    acc_copies += pb * E[k1, k2]
                    if m > 0:
                        acc_jumps += ((1.0 - p) * R[m - 1, k2] + p * a_m[k2]) * w
                else:
                    genotypes[m, 0] += pb * l0 * (1.0 - a) * (1.0 - b)
                    genotypes[m, 1] += pb * l1 * (a * (1.0 - b) + b * (1.0 - a))
                    genotypes[m, 2] += pb * l2 * a * b
            row[k1] = acc_row
            if stats:
                allele[m, k1] += 2.0 * acc_allele
                copies[m, k1] += 2.0 * acc_copies
                if m > 0:
                    jumps[m, k1] += 2.0 * p * a_m[k1] * acc_jumps * inv
        if m > 0:
            stay2, cross, both = (1.0 - p) * (1.0 - p), (1.0 - p) * p, p * p
            total = 0.0
            for k in range(K):
                total += a_m[k] * row[k]
            for j1 in range(K):
                for j2 in range(K):
                    B[j1, j2] = (stay2 * W[j1, j2] + cross * (row[j1] + row[j2]) + both * total) * inv


@njit(cache=True)
def _buffers(L, K):
    """P (L, K, K), R (L, K), scale (L,), and K x K buffers S, E, B, W, the row vector."""
    return (np.empty((L, K, K)), np.empty((L, K)), np.empty(L), np.empty((K, K)), np.empty((K, K)),
            np.empty((K, K)), np.empty((K, K)), np.empty(K))


@njit(cache=True)
def expected_statistics(lik, alpha, theta, rho):
    """Statistics (allele, copies, jumps), each (L, K), summed over
    individuals, and the log-likelihood, for likelihoods ``lik`` (n, L, 3)."""
    n, L = lik.shape[0], lik.shape[1]
    K = theta.shape[1]
    P, R, scale, S, E, B, W, row = _buffers(L, K)
    allele = np.zeros((L, K))
    copies = np.zeros((L, K))
    jumps = np.zeros((L, K))
    none = np.empty((0, 3))
    total = 0.0
    for i in range(n):
        ll = _forward(lik[i], alpha, theta, rho, P, R, scale, S, E)
        total += ll
        if ll > -np.inf:
            _backward(lik[i], alpha, theta, rho, P, R, scale, E, B, W, row, allele, copies, jumps, none, True)
    return allele, copies, jumps, total


@njit(cache=True)
def log_likelihoods(lik, alpha, theta, rho):
    """Each individual's log-likelihood (n,) by the forward pass alone."""
    n, L = lik.shape[0], lik.shape[1]
    K = theta.shape[1]
    P, R, scale, S, E, _, _, _ = _buffers(L, K)
    out = np.empty(n)
    for i in range(n):
        out[i] = _forward(lik[i], alpha, theta, rho, P, R, scale, S, E)
    return out


@njit(cache=True)
def genotype_posteriors(lik, alpha, theta, rho):
    """P(genotype g at locus m | data of individual i), (n, L, 3):
    ``sum_{k1,k2} P(k1, k2) l_g P(g | k1, k2) / E(k1, k2)``."""
    n, L = lik.shape[0], lik.shape[1]
    K = theta.shape[1]
    P, R, scale, S, E, B, W, row = _buffers(L, K)
    none = np.empty((0, K))
    out = np.zeros((n, L, 3))
    for i in range(n):
        _forward(lik[i], alpha, theta, rho, P, R, scale, S, E)
        _backward(lik[i], alpha, theta, rho, P, R, scale, E, B, W, row, none, none, none, out[i], False)
    return out


@njit(cache=True)
def viterbi_haplotypes(lik, alpha, theta, rho):
    """Each individual's most probable pair of cluster paths together with the
    alleles the two chromosomes carry, (n, 2, L) alleles 0/1 (int8).

    The joint state at a locus is ``(k1, k2, x1, x2)``; for a pair the best
    alleles are chosen locus by locus (``max_x l_{x1+x2} P(x1|a) P(x2|b)``).
    The max-product step factorises as the sum-product one does: because
    ``T(j, k) = rho alpha_k + (1-rho)[j = k] >= rho alpha_k``, the best
    predecessor of ``(k1, k2)`` is the best of staying in both, jumping on one
    chromosome (the row or column maximum) and jumping on both (the global
    maximum), ``O(K^2)`` per locus.
    """
    n, L = lik.shape[0], lik.shape[1]
    K = theta.shape[1]
    delta = np.empty((K, K))
    new = np.empty((K, K))
    back = np.empty((L, K, K), dtype=np.int64)  # predecessor j1 * K + j2
    best_x = np.empty((L, K, K), dtype=np.int8)  # alleles: x1 * 2 + x2
    rowmax = np.empty(K)
    rowarg = np.empty(K, dtype=np.int64)
    colmax = np.empty(K)
    colarg = np.empty(K, dtype=np.int64)
    out = np.empty((n, 2, L), dtype=np.int8)
    for i in range(n):
        for m in range(L):
            t = theta[m]
            for k1 in range(K):
                for k2 in range(K):
                    a, b = t[k1], t[k2]
                    best, arg = -1.0, 0
                    for x in range(4):
                        x1, x2 = x >> 1, x & 1
                        v = lik[i, m, x1 + x2] * (a if x1 else 1.0 - a) * (b if x2 else 1.0 - b)
                        if v > best:
                            best, arg = v, x
                    new[k1, k2] = best
                    best_x[m, k1, k2] = arg
            if m == 0:
                for k1 in range(K):
                    for k2 in range(K):
                        delta[k1, k2] = alpha[0, k1] * alpha[0, k2] * new[k1, k2]
            else:
                p = rho[m - 1]
                a = alpha[m]
                gmax, garg = -1.0, 0
                for k in range(K):
                    rowmax[k] = -1.0
                    colmax[k] = -1.0
                for k1 in range(K):
                    for k2 in range(K):
                        v = delta[k1, k2]
                        if v > rowmax[k1]:
                            rowmax[k1], rowarg[k1] = v, k2
                        if v > colmax[k2]:
                            colmax[k2], colarg[k2] = v, k1
                        if v > gmax:
                            gmax, garg = v, k1 * K + k2
                for k1 in range(K):
                    stay1 = p * a[k1] + 1.0 - p
                    for k2 in range(K):
                        stay2 = p * a[k2] + 1.0 - p
                        best, arg = delta[k1, k2] * stay1 * stay2, k1 * K + k2
                        v = rowmax[k1] * stay1 * p * a[k2]
                        if v > best:
                            best, arg = v, k1 * K + rowarg[k1]
                        v = colmax[k2] * p * a[k1] * stay2
                        if v > best:
                            best, arg = v, colarg[k2] * K + k2
                        v = gmax * p * a[k1] * p * a[k2]
                        if v > best:
                            best, arg = v, garg
                        back[m, k1, k2] = arg
                        new[k1, k2] *= best
                s = 0.0
                for k1 in range(K):
                    for k2 in range(K):
                        delta[k1, k2] = new[k1, k2]
                        if new[k1, k2] > s:
                            s = new[k1, k2]
                if s > 0.0:
                    for k1 in range(K):
                        for k2 in range(K):
                            delta[k1, k2] /= s
        state, best = 0, -1.0
        for k1 in range(K):
            for k2 in range(K):
                if delta[k1, k2] > best:
                    best, state = delta[k1, k2], k1 * K + k2
        for m in range(L - 1, -1, -1):
            k1, k2 = state // K, state % K
            x = best_x[m, k1, k2]
            out[i, 0, m] = x >> 1
            out[i, 1, m] = x & 1
            if m > 0:
                state = back[m, k1, k2]
    return out
