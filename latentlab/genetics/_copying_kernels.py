"""Compiled pieces of the Li & Stephens copying-model phaser
(:mod:`latentlab.genetics.haplotype_copying`).

Each chromosome of an individual is a mosaic of ``K`` conditioning
haplotypes ``c_1..c_K`` (other individuals' current haplotypes): hidden state
``z_m`` = the haplotype copied at locus ``m``, transition
``T_m(j, k) = (1 - rho_m) [j = k] + rho_m / K`` and emission
``e_m(k) = 1 - eps`` when the copied allele ``c_km`` equals the chromosome's
allele, ``eps`` otherwise, and 1 where the genotype is missing (Li & Stephens
2003; MaCH, Li et al. 2010). Because ``T_m`` is the identity plus a constant,
a forward or backward step is ``O(K)``:

    F_m(k) = e_m(k) ((1 - rho) F_{m-1}(k) + rho / K sum_j F_{m-1}(j)),
    G_m(k) = e_m(k) ((1 - rho) G_{m+1}(k) + rho / K sum_j G_{m+1}(j)),

with ``F_m(k) = P(x_1..x_m, z_m = k)`` and ``G_m(k) = P(x_m..x_L | z_m = k)``
(the backward vector with the emission at ``m`` included), both rescaled to
sum to one at every locus.

Phase update (one individual, its two current haplotypes ``h1``, ``h2``,
:func:`phase_pass`): the backward vectors of both are computed first; a
forward pass then decides, at each heterozygous locus ``m``, which chromosome
carries allele 1 there and so which prefix joins which suffix, by the
probabilities of the two joins (:func:`_joins`),

    one_first = s(1, allele 1, suffix carrying 1) s(2, allele 0, the other suffix),
    zero_first = s(1, allele 0, the other suffix) s(2, allele 1, suffix carrying 1),
    s(c, x, suffix) = F_c T (e_m(x) * (G_{m+1} T)),

taking the larger (a tie keeps the current orientation). When the suffixes'
own heterozygous loci are in their backward vectors (``suffix_hets=True``),
two more joins are weighed, the locus changing sides alone:

    one_first_cross = s(1, allele 1, the other suffix) s(2, allele 0, suffix carrying 1),
    zero_first_cross = s(1, allele 0, suffix carrying 1) s(2, allele 1, the other suffix),

and one of them is taken when it beats both of the first two (a lone wrong
phase is a fixed point of switches alone). The scales of ``F`` and ``G``
cancel in each comparison, as every product has one factor from each
suffix. With ``suffix_hets=True`` each decision maximises the pair's
probability given the decided prefix and the current suffixes, so with the conditioning haplotypes fixed such a pass never lowers
``P(h1) P(h2)`` (missing genotypes emit nothing). This is the
heterozygote-by-heterozygote update Beagle 5 makes with two haploid models
(Browning et al. 2021).

The rates' E-step (:func:`haploid_posteriors`, :func:`expected_counts`) is a
separate forward-backward over each chromosome with its phase fixed: the
posteriors ``P(z_m = k) ~ F_m(k) G_m(k) / e_m(k)`` give the expected jumps
and mismatches (the rates' EM, as MaCH) and the alleles at missing genotypes.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def pbwt_neighbours(haplotypes, anchors, depth):
    """The positional Burrows-Wheeler transform of ``haplotypes`` (H, L)
    (Durbin 2014): at each anchor locus ``anchors[a]``, the ``depth``
    haplotypes just above and just below each haplotype in the order of
    their reversed prefixes, which are those with the longest matches ending
    there. Returns (H, n_anchors, 2 depth) int32, -1 past either end."""
    H, L = haplotypes.shape
    order = np.arange(H)
    zeros = np.empty(H, dtype=np.int64)
    ones = np.empty(H, dtype=np.int64)
    out = np.full((H, anchors.size, 2 * depth), -1, dtype=np.int32)
    a = 0
    for m in range(L):
        n0 = n1 = 0
        for r in range(H):
            h = order[r]
            if haplotypes[h, m] == 0:
                zeros[n0] = h
                n0 += 1
            else:
                ones[n1] = h
                n1 += 1
        order[:n0] = zeros[:n0]
        order[n0:] = ones[:n1]
        while a < anchors.size and anchors[a] == m:
            for r in range(H):
                h = order[r]
                for d in range(depth):
                    if r - 1 - d >= 0:
                        out[h, a, d] = order[r - 1 - d]
                    if r + 1 + d < H:
                        out[h, a, depth + d] = order[r + 1 + d]
            a += 1
    return out


@njit(cache=True)
def choose_states(neighbours, i, n_states, hits):
    """Conditioning haplotypes of individual ``i`` (haplotypes ``2i``,
    ``2i + 1``): the PBWT neighbours of either of its haplotypes at any
    anchor (``neighbours`` from :func:`pbwt_neighbours`), other than its own,
    at most ``n_states`` (when there are more, the most often chosen). ``hits`` (H,) is zero
    on entry and on return."""
    for own in range(2):
        for a in range(neighbours.shape[1]):
            for d in range(neighbours.shape[2]):
                h = neighbours[2 * i + own, a, d]
                if h >= 0 and h // 2 != i:
                    hits[h] += 1
    chosen = np.nonzero(hits)[0]
    if chosen.size > n_states:
        chosen = chosen[np.argsort(-hits[chosen], kind="mergesort")[:n_states]]
    hits[:] = 0
    return chosen


@njit(cache=True)
def fill_states(hap, chosen, reverse, buffer):
    """The alleles of the ``chosen`` haplotypes (``h``: chromosome ``h % 2``
    of individual ``h // 2`` of ``hap`` (n, 2, L)) as an (L, K) array in
    ``buffer``, loci reversed when ``reverse``."""
    L, K = hap.shape[2], chosen.size
    states = buffer[:L * K].reshape(L, K)
    for k in range(K):
        h = chosen[k]
        for m in range(L):
            states[L - 1 - m if reverse else m, k] = hap[h // 2, h % 2, m]
    return states


@njit(cache=True)
def _advance(out, prev, p, states, x, hit, miss):
    """One step of a scaled forward (or backward) recursion: ``out(k) =
    e(k) ((1 - p) prev(k) + p / K)`` for ``prev`` summing to one, with
    ``e(k) = hit`` when ``states[k] == x``, ``miss`` otherwise, 1 when
    ``x < 0``; ``out`` is rescaled to sum one and the log of the scale
    returned (``out`` may be ``prev``)."""
    K = states.size
    jump = p / K
    s = 0.0
    if x < 0:
        for k in range(K):
            out[k] = (1.0 - p) * prev[k] + jump
        return 0.0
    for k in range(K):
        v = ((1.0 - p) * prev[k] + jump) * (hit if states[k] == x else miss)
        out[k] = v
        s += v
    inv = 1.0 / s
    for k in range(K):
        out[k] *= inv
    return np.log(s)


@njit(cache=True)
def _start(out, states, x, hit, miss):
    """The first locus: ``out(k) ~ e(k)`` (uniform start), rescaled; returns
    the log of ``sum_k e(k) / K``."""
    K = states.size
    s = 0.0
    for k in range(K):
        v = 1.0 if x < 0 else (hit if states[k] == x else miss)
        out[k] = v
        s += v
    for k in range(K):
        out[k] /= s
    return np.log(s / K)


@njit(cache=True)
def _suffixes(alleles, states, rho, hit, miss, G):
    """Scaled backward vectors ``G[m] ~ P(x_m..x_L | z_m)`` (emission at
    ``m`` included) of one chromosome's ``alleles`` (L,) (-1: no emission)."""
    L = states.shape[0]
    _start(G[L - 1], states[L - 1], alleles[L - 1], hit, miss)
    for m in range(L - 2, -1, -1):
        _advance(G[m], G[m + 1], rho[m], states[m], alleles[m], hit, miss)


@njit(cache=True)
def _joins(F0, F1, G_one, G_zero, p_in, p_out, states, hit, miss):
    """The ways of joining the decided prefixes to the alleles of a
    heterozygous locus ``m`` and to the two current suffixes, up to a common
    factor. ``G_one`` is the suffix from ``m + 1`` of the chromosome that
    carries allele 1 now, ``G_zero`` the other's. Returns

    - ``one_first``: chromosome 0 takes allele 1 and ``G_one``, chromosome 1
      allele 0 and ``G_zero``; ``zero_first`` the reverse (the current
      alleles stay with their suffixes: a switch or not);
    - ``one_first_cross``: chromosome 0 takes allele 1 and ``G_zero``,
      chromosome 1 allele 0 and ``G_one``; ``zero_first_cross`` the reverse
      (locus ``m`` alone changes sides relative to its suffix).

    Each factor is ``F_c T_in (e(x) * (G T_out))``: ``T_in`` the transition
    into ``m`` (``p_in``) and ``p_out`` the transition out of ``m`` (``G
    T_out = 1`` at the last locus); for ``F`` and ``G`` summing to one,
    ``F T_in v = (1 - p_in) F.v + p_in / K sum v``."""
    K = states.size
    jump_out = p_out / K
    # F_c . (e(x) * (G T_out)) for chromosome c, allele x and suffix G (n: G_one, z: G_zero)
    f0_1n = f0_1z = f0_0n = f0_0z = f1_1n = f1_1z = f1_0n = f1_0z = 0.0
    s_1n = s_1z = s_0n = s_0z = 0.0  # sum_k e(x) (G T_out)(k)
    for k in range(K):
        e1 = hit if states[k] == 1 else miss
        e0 = miss if states[k] == 1 else hit
        n_k = (1.0 - p_out) * G_one[k] + jump_out
        z_k = (1.0 - p_out) * G_zero[k] + jump_out
        b_1n, b_1z, b_0n, b_0z = e1 * n_k, e1 * z_k, e0 * n_k, e0 * z_k
        f0_1n += F0[k] * b_1n
        f0_1z += F0[k] * b_1z
        f0_0n += F0[k] * b_0n
        f0_0z += F0[k] * b_0z
        f1_1n += F1[k] * b_1n
        f1_1z += F1[k] * b_1z
        f1_0n += F1[k] * b_0n
        f1_0z += F1[k] * b_0z
        s_1n += b_1n
        s_1z += b_1z
        s_0n += b_0n
        s_0z += b_0z
    q = 1.0 - p_in
    j = p_in / K
    one_first = (q * f0_1n + j * s_1n) * (q * f1_0z + j * s_0z)
    zero_first = (q * f0_0z + j * s_0z) * (q * f1_1n + j * s_1n)
    one_first_cross = (q * f0_1z + j * s_1z) * (q * f1_0n + j * s_0n)
    zero_first_cross = (q * f0_0n + j * s_0n) * (q * f1_1z + j * s_1z)
    return one_first, zero_first, one_first_cross, zero_first_cross


@njit(cache=True)
def phase_pass(genotypes, hap, states, rho, hit, miss, suffix_hets, G, F):
    """Sequential phase update of one individual, left to right, in place
    on ``hap`` (2, L) int8, copying ``states`` (L, K) (module docstring).

    The alleles at missing genotypes become the more probable one given
    the decided prefix and the suffix (:func:`_likely_allele`; a later
    heterozygous locus may swap the suffix joined to that prefix, so this is
    a working guess: the last E-step re-imputes every missing allele).

    Each chromosome's suffix probabilities ``G`` (2, L, K) are computed from
    the current haplotypes first: with their heterozygous loci
    (``suffix_hets=True``) or with those treated as unknown (``False``: the
    suffix then carries no phase, the robust choice while the current phase
    is poor). At heterozygous locus ``m`` allele 1 goes to chromosome 0,
    joined to the suffix that carries allele 1, when ``s(0, 1) s(1, 0) >
    s(0, 0) s(1, 1)`` (:func:`_joins`). With the suffix's heterozygous loci
    (and before the last locus) the locus may also change sides relative to
    its suffix, allele 1 joined to the other chromosome's suffix, when one
    of those two joins is more probable than both of the others: a single
    heterozygous genotype in the wrong phase, which would otherwise need
    two switches each less probable than none, is mended in one step.
    ``F`` (2, K) is scratch.
    """
    L, K = states.shape
    orig = hap.copy()
    alleles = np.empty(L, dtype=np.int8)
    for src in range(2):
        if src == 1 and not suffix_hets:
            G[1] = G[0]  # without the heterozygous loci the two chromosomes' suffixes are the same
            break
        for m in range(L):
            g = genotypes[m]
            alleles[m] = -1 if g < 0 or (g == 1 and not suffix_hets) else orig[src, m]
        _suffixes(alleles, states, rho, hit, miss, G[src])
    flip = 0
    ones = np.ones(K)
    for m in range(L):
        g = genotypes[m]
        if g == 1 and m > 0:
            s1 = 0 if orig[0, m] == 1 else 1  # the current chromosome carrying allele 1
            last = m == L - 1
            one_first, zero_first, one_cross, zero_cross = _joins(
                F[0], F[1], ones if last else G[s1, m + 1], ones if last else G[1 - s1, m + 1], rho[m - 1],
                0.0 if last else rho[m], states[m], hit, miss)
            cross = suffix_hets and not last and max(one_cross, zero_cross) > max(one_first, zero_first)
            if cross:
                # locus m changes sides relative to its suffix; chromosome 0 takes allele 1 with G_zero
                # (suffix of chromosome 1 - s1) or allele 0 with G_one; a tie keeps the current suffixes
                if one_cross > zero_cross or (one_cross == zero_cross and flip == 1 - s1):
                    flip = 1 - s1
                else:
                    flip = s1
            elif one_first > zero_first:
                flip = s1
            elif zero_first > one_first:
                flip = 1 - s1
            # a tie (always at the first heterozygous locus, where both forward vectors are equal) keeps
            # the current orientation, so the alleles already imputed stay with the suffix they were imputed from
        else:
            cross = False
        for c in range(2):
            hap[c, m] = orig[c ^ flip ^ (1 if cross else 0), m]
            x = hap[c, m] if g >= 0 else -1
            if m == 0:
                _start(F[c], states[0], x, hit, miss)
            else:
                _advance(F[c], F[c], rho[m - 1], states[m], x, hit, miss)
            if g < 0:
                hap[c, m] = _likely_allele(F[c], ones if m == L - 1 else G[c ^ flip, m + 1],
                                           0.0 if m == L - 1 else rho[m], states[m])


@njit(cache=True)
def _likely_allele(F, G, p, states):
    """The more probable allele at a locus without emission, from the
    forward vector ``F`` there and the suffix ``G`` from the next locus
    (``P(z = k) ~ F(k) (G T)(k)``; copying errors are symmetric, so the
    copied allele's probability decides)."""
    K = states.size
    one = total = 0.0
    for k in range(K):
        w = F[k] * ((1.0 - p) * G[k] + p / K)
        total += w
        if states[k] == 1:
            one += w
    return 1 if 2.0 * one > total else 0


@njit(cache=True)
def haploid_posteriors(alleles, states, rho, hit, miss, G, F, posterior, jumps, mismatches):
    """Forward-backward of one chromosome with ``alleles`` (L,) (-1 missing)
    copying ``states`` (L, K). Writes ``P(allele 1)`` at each locus to
    ``posterior`` (L,) (the allele itself where observed); adds the expected
    jumps per interval, ``(rho / K) / F_{m-1} T G_m`` for normalised ``F``
    and ``G``, to ``jumps`` (L - 1,), the expected mismatches (posterior
    ``~ F_m G_m / e_m`` on copied alleles other than the observed one) to
    ``mismatches[0]`` and the emitting loci to ``mismatches[1]``; returns
    the log-likelihood. ``G`` (L, K), ``F`` (K,) are scratch."""
    L, K = states.shape
    _suffixes(alleles, states, rho, hit, miss, G)
    loglik = 0.0
    for m in range(L):
        x = alleles[m]
        cm = states[m]
        if m == 0:
            loglik += _start(F, cm, x, hit, miss)
        else:
            p = rho[m - 1]
            dot = 0.0
            for k in range(K):
                dot += F[k] * G[m, k]
            jumps[m - 1] += (p / K) / ((1.0 - p) * dot + p / K)
            loglik += _advance(F, F, p, cm, x, hit, miss)
        same = other = 0.0
        target = 1 if x < 0 else x
        for k in range(K):
            w = F[k] * G[m, k]
            if cm[k] == target:
                same += w
            else:
                other += w
        if x < 0:
            p1 = same / (same + other)
            posterior[m] = p1 * hit + (1.0 - p1) * miss
        else:
            same /= hit
            other /= miss
            mismatches[0] += other / (same + other)
            mismatches[1] += 1.0
            posterior[m] = x
    return loglik


@njit(cache=True)
def sweep(genotypes, hap, neighbours, n_states, rho, hit, miss, suffix_hets, reverse):
    """:func:`phase_pass` for every individual in turn (each copies the
    others' latest haplotypes, chosen by :func:`choose_states` from the
    PBWT ``neighbours``), right to left when ``reverse``. Returns the number
    of heterozygous loci whose phase relative to the previous one changed."""
    n, L = genotypes.shape
    hits = np.zeros(neighbours.shape[0], dtype=np.int64)
    state_buf = np.empty(L * n_states, dtype=np.int8)
    G_buf = np.empty(2 * L * n_states)
    F_buf = np.empty(2 * n_states)
    r = rho[::-1].copy() if reverse else rho
    g = np.empty(L, dtype=np.int8)
    h = np.empty((2, L), dtype=np.int8)
    changed = 0
    for i in range(n):
        states = fill_states(hap, choose_states(neighbours, i, n_states, hits), reverse, state_buf)
        K = states.shape[1]
        for m in range(L):
            src = L - 1 - m if reverse else m
            g[m] = genotypes[i, src]
            h[0, m] = hap[i, 0, src]
            h[1, m] = hap[i, 1, src]
        phase_pass(g, h, states, r, hit, miss, suffix_hets, G_buf[:2 * L * K].reshape(2, L, K),
                   F_buf[:2 * K].reshape(2, K))
        last_old = last_new = -1
        for m in range(L):
            src = L - 1 - m if reverse else m
            if g[m] == 1:
                old, new = hap[i, 0, src], h[0, m]
                if last_old >= 0 and (old ^ last_old) != (new ^ last_new):
                    changed += 1
                last_old, last_new = old, new
            hap[i, 0, src] = h[0, m]
            hap[i, 1, src] = h[1, m]
    return changed


@njit(cache=True)
def expected_counts(genotypes, hap, neighbours, n_states, rho, hit, miss, individuals, posterior):
    """The rates' E-step (:func:`haploid_posteriors`) over both chromosomes
    of each of ``individuals``, given the current haplotypes: expected jumps
    per interval (L - 1,), [expected mismatches, emitting loci] and the
    summed log-likelihood. Each chromosome's allele-1 posteriors go to
    ``posterior`` (n, 2, L) (the rows of ``individuals``), and the alleles at
    missing genotypes are set to the more probable one."""
    n, L = genotypes.shape
    hits = np.zeros(neighbours.shape[0], dtype=np.int64)
    state_buf = np.empty(L * n_states, dtype=np.int8)
    G_buf = np.empty(L * n_states)
    F = np.empty(n_states)
    alleles = np.empty(L, dtype=np.int8)
    jumps = np.zeros(L - 1)
    mismatches = np.zeros(2)
    loglik = 0.0
    for i in individuals:
        states = fill_states(hap, choose_states(neighbours, i, n_states, hits), False, state_buf)
        K = states.shape[1]
        for c in range(2):
            for m in range(L):
                alleles[m] = hap[i, c, m] if genotypes[i, m] >= 0 else -1
            loglik += haploid_posteriors(alleles, states, rho, hit, miss, G_buf[:L * K].reshape(L, K), F[:K],
                                         posterior[i, c], jumps, mismatches)
            for m in range(L):
                if genotypes[i, m] < 0:
                    hap[i, c, m] = 1 if posterior[i, c, m] > 0.5 else 0
    return jumps, mismatches, loglik
