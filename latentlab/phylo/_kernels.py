"""Compiled likelihood recursions on a tree (numba, cached on disk).

Nodes are numbered in post-order with the root last (:mod:`latentlab.phylo.tree`);
``P[c]`` is the transition matrix of the branch above node ``c``, ``tips``
the 0/1 tip likelihoods (n_tips, n_patterns, 4) and ``weights`` the number of
sites of each pattern. The loops run over nodes and patterns inside the
kernels; nothing loops over sites in Python.

Lower pass: Felsenstein's (1981) pruning. The partial likelihood of node ``v``,
the probability of the tips below it given its state ``a``, is

    L_v(a) = prod_{c child of v} m_c(a),      m_c(a) = sum_b P_c(a, b) L_c(b),

and a site's likelihood is ``sum_a pi_a L_root(a)``. Each internal ``L_v`` is
divided by its largest entry per pattern and the logarithms of the divisors
are added up per pattern, so nothing underflows on large trees:
``log L = sum_patterns w (log sum_a pi_a L_root(a) + sum of log divisors)``.

Upper (outside) pass: the probability of everything outside the subtree of
``c``, jointly with the state ``a`` of its parent ``u``, is

    O_c(a) = U_u(a) prod_{c' child of u, c' != c} m_{c'}(a),
    U_root(a) = pi_a,    U_c(b) = sum_a O_c(a) P_c(a, b),

so the joint posterior of the states at the two ends of branch ``c`` is

    Pr(X_u = a, X_c = b | data) = O_c(a) P_c(a, b) L_c(b) / sum_{a'} O_c(a') m_c(a'),

the expected substitution counts of Friedman, Ninio, Pe'er & Pupko (2002,
J. Comput. Biol. 9:331-353). The normalisation makes the scale of ``O`` and
``U`` irrelevant; each ``U_c`` is divided by its largest entry per pattern.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["lower_pass", "expected_counts", "nni_pair_counts"]


@njit(cache=True)
def lower_pass(tips, parent, P, pi, weights, lower, msg, site_ll):
    """Pruning: fill ``lower`` (n_nodes, n_patterns, 4) with the scaled partial
    likelihoods, ``msg`` (n_nodes - 1, n_patterns, 4) with the messages
    ``m_c`` and ``site_ll`` (n_patterns,) with each pattern's ``log L_p``;
    return the log-likelihood ``sum_p w_p log L_p``."""
    n_tips, m = tips.shape[0], tips.shape[1]
    n = parent.shape[0]
    logscale = np.zeros(m)
    lower[:n_tips] = tips
    lower[n_tips:] = 1.0
    for c in range(n):
        if c >= n_tips:  # every child of c has a lower number: L_c is complete
            for s in range(m):
                mx = max(max(lower[c, s, 0], lower[c, s, 1]), max(lower[c, s, 2], lower[c, s, 3]))
                if mx > 0.0:
                    inv = 1.0 / mx
                    for a in range(4):
                        lower[c, s, a] *= inv
                    logscale[s] += np.log(mx)
                else:
                    logscale[s] = -np.inf
        if c == n - 1:
            break
        p = parent[c]
        for s in range(m):
            l0, l1, l2, l3 = lower[c, s, 0], lower[c, s, 1], lower[c, s, 2], lower[c, s, 3]
            for a in range(4):
                x = P[c, a, 0] * l0 + P[c, a, 1] * l1 + P[c, a, 2] * l2 + P[c, a, 3] * l3
                msg[c, s, a] = x
                lower[p, s, a] *= x
    root = n - 1
    total = 0.0
    for s in range(m):
        site = pi[0] * lower[root, s, 0] + pi[1] * lower[root, s, 1] + pi[2] * lower[root, s, 2] \
            + pi[3] * lower[root, s, 3]
        site_ll[s] = np.log(site) + logscale[s]
        total += weights[s] * site_ll[s]
    return total


@njit(cache=True)
def expected_counts(start, child, P, pi, weights, lower, msg, counts, root_counts, above):
    """Outside pass after :func:`lower_pass`: add to ``counts`` (n_nodes - 1,
    4, 4) the expected (parent state, child state) pairs of every branch and
    to ``root_counts`` (4,) the expected root states, summed over patterns
    with their weights; ``above`` (n_nodes, n_patterns, 4) receives ``U_v``
    of every internal node (scaled), so that ``U_v(a) L_v(a)``, normalised,
    is the posterior of node ``v``'s state."""
    n, m = lower.shape[0], lower.shape[1]
    root = n - 1
    out = np.empty(4)
    for s in range(m):
        z = 0.0
        for a in range(4):
            above[root, s, a] = pi[a]
            z += pi[a] * lower[root, s, a]
        for a in range(4):
            root_counts[a] += weights[s] * pi[a] * lower[root, s, a] / z
    for u in range(n - 1, -1, -1):
        if start[u + 1] == start[u]:  # a tip
            continue
        for k in range(start[u], start[u + 1]):
            c = child[k]
            internal = start[c + 1] > start[c]
            for s in range(m):
                for a in range(4):
                    out[a] = above[u, s, a]
                for k2 in range(start[u], start[u + 1]):
                    if k2 != k:
                        for a in range(4):
                            out[a] *= msg[child[k2], s, a]
                z = 0.0
                for a in range(4):
                    z += out[a] * msg[c, s, a]
                f = weights[s] / z
                for a in range(4):
                    fa = f * out[a]
                    for b in range(4):
                        counts[c, a, b] += fa * P[c, a, b] * lower[c, s, b]
                if internal:
                    mx = 0.0
                    for b in range(4):
                        x = out[0] * P[c, 0, b] + out[1] * P[c, 1, b] + out[2] * P[c, 2, b] + out[3] * P[c, 3, b]
                        above[c, s, b] = x
                        mx = max(mx, x)
                    for b in range(4):
                        above[c, s, b] /= mx


@njit(cache=True)
def nni_pair_counts(start, child, parent, n_tips, P, weights, lower, msg, above, near, far, sibling):
    """The expected state pairs of the node pairs that a nearest-neighbour
    interchange would join, after :func:`lower_pass` and
    :func:`expected_counts` (``above`` filled).

    For every internal branch ``c`` (an internal node other than the root)
    with parent ``p``, children ``c1 < c2`` and ``s`` the first child of
    ``p`` other than ``c``, add over patterns (with their weights)

        near[c](a, b) = Pr(X_p = a, X_c1 = b | data),   far[c] likewise for c2,
        sibling[c](a, b) = Pr(X_c = a, X_s = b | data).

    With ``O(a) = U_p(a) prod_{c' child of p, c' != c} m_c'(a)`` (the
    outside of branch ``c``) and ``O_s`` the same product without ``m_s``:

        Pr(X_p = a, X_c1 = b) ∝ O(a) sum_x P_c(a, x) m_c2(x) P_c1(x, b) L_c1(b),
        Pr(X_c = a, X_s = b)  ∝ sum_x O_s(x) P_c(x, a) L_c(a) P_s(x, b) L_s(b),

    each normalised per pattern (the scales of ``U``, ``L`` and ``m`` cancel).
    """
    n, m = lower.shape[0], lower.shape[1]
    out = np.empty(4)
    out_s = np.empty(4)
    y = np.empty(4)
    joint = np.empty((4, 4))
    for c in range(n_tips, n - 1):
        p = parent[c]
        s = child[start[p]] if child[start[p]] != c else child[start[p] + 1]
        for k in range(m):
            for a in range(4):
                out[a] = above[p, k, a]
                out_s[a] = above[p, k, a]
            for kk in range(start[p], start[p + 1]):
                cc = child[kk]
                if cc != c:
                    for a in range(4):
                        out[a] *= msg[cc, k, a]
                        if cc != s:
                            out_s[a] *= msg[cc, k, a]
            for which in range(2):
                g = child[start[c] + which]
                o = child[start[c] + 1 - which]
                z = 0.0
                for a in range(4):
                    for x in range(4):
                        y[x] = P[c, a, x] * msg[o, k, x]
                    for b in range(4):
                        v = out[a] * (y[0] * P[g, 0, b] + y[1] * P[g, 1, b] + y[2] * P[g, 2, b]
                                      + y[3] * P[g, 3, b]) * lower[g, k, b]
                        joint[a, b] = v
                        z += v
                f = weights[k] / z
                target = near if which == 0 else far
                for a in range(4):
                    for b in range(4):
                        target[c, a, b] += f * joint[a, b]
            z = 0.0
            for a in range(4):
                for b in range(4):
                    v = 0.0
                    for x in range(4):
                        v += out_s[x] * P[c, x, a] * P[s, x, b]
                    v *= lower[c, k, a] * lower[s, k, b]
                    joint[a, b] = v
                    z += v
            f = weights[k] / z
            for a in range(4):
                for b in range(4):
                    sibling[c, a, b] += f * joint[a, b]
