"""An independent implementation to test against: rate matrices from their
textbook definitions, transition matrices by scipy's matrix exponential and
likelihoods by enumerating every assignment of states to the nodes (no
pruning, no eigendecomposition, no code from latentlab.phylo but the tree's
parent array)."""

from __future__ import annotations

import itertools

import numpy as np
from scipy import integrate, stats

TRANSITIONS = {(0, 2), (2, 0), (1, 3), (3, 1)}  # A<->G, C<->T


def hky_rate_matrix(kappa: float, freqs) -> np.ndarray:
    """HKY85: q_ij = kappa pi_j for transitions, pi_j for transversions,
    scaled to one expected substitution per unit time (kappa = 1 and equal
    freqs: JC69)."""
    pi = np.asarray(freqs, dtype=float)
    q = np.array([[(kappa if (i, j) in TRANSITIONS else 1.0) * pi[j] if i != j else 0.0 for j in range(4)]
                  for i in range(4)])
    q -= np.diag(q.sum(axis=1))
    return q / -(pi @ np.diag(q))


def jc_transition(t: float) -> np.ndarray:
    """Jukes-Cantor in closed form."""
    same = 0.25 + 0.75 * np.exp(-4.0 * t / 3.0)
    return np.where(np.eye(4, dtype=bool), same, (1.0 - same) / 3.0)


def transitions(lengths, q) -> np.ndarray:
    """``exp(Q t)`` for each length, by scaling and squaring a Taylor series
    (analytic in ``t``, so complex lengths give complex-step derivatives)."""
    a = np.asarray(lengths)[:, None, None] * q
    squarings = max(0, int(np.ceil(np.log2(np.abs(a).sum(axis=2).max() + 1e-300))) + 4)
    a = a / 2.0**squarings
    term = total = np.broadcast_to(np.eye(4), a.shape).astype(a.dtype)
    for k in range(1, 19):
        term = term @ a / k
        total = total + term
    for _ in range(squarings):
        total = total @ total
    return total


def enumerate_states(parent: np.ndarray, n_tips: int, P: np.ndarray, freqs, tips: np.ndarray):
    """Sum over every assignment of states to all nodes (tips included, each
    weighted by its 0/1 tip likelihood): returns the site likelihoods
    (n_patterns,) and the joint posteriors of (parent state, child state) per
    branch (n_branches, n_patterns, 4, 4)."""
    n = parent.size
    states = np.array(list(itertools.product(range(4), repeat=n)))  # (4^n, n)
    prob = np.asarray(freqs)[states[:, -1]][:, None] * np.ones(tips.shape[1])
    for v in range(n_tips):
        prob = prob * tips[v][:, states[:, v]].T
    for c in range(n - 1):
        prob = prob * P[c][states[:, parent[c]], states[:, c]][:, None]
    site = prob.sum(axis=0)
    pairs = np.zeros((n - 1, tips.shape[1], 4, 4))
    for c in range(n - 1):
        for a in range(4):
            for b in range(4):
                pick = (states[:, parent[c]] == a) & (states[:, c] == b)
                pairs[c, :, a, b] = prob[pick].sum(axis=0) / site
    return site, pairs


def internal_sum_loglik(parent: np.ndarray, n_tips: int, P: np.ndarray, freqs, tips: np.ndarray, weights):
    """log-likelihood summing over the internal nodes' states only (the tips
    enter through ``P_c @ tip``): fast enough for 6 taxa inside an optimiser.
    Complex ``P`` gives a complex result (for complex-step derivatives)."""
    n = parent.size
    internal = np.arange(n_tips, n)
    states = np.zeros((4 ** internal.size, n), dtype=int)
    states[:, internal] = np.array(list(itertools.product(range(4), repeat=internal.size)))
    prob = np.asarray(freqs)[states[:, -1]][:, None] * np.ones(tips.shape[1])
    for c in range(n - 1):
        if c < n_tips:
            prob = prob * (P[c] @ tips[c].T)[states[:, parent[c]]]
        else:
            prob = prob * P[c][states[:, parent[c]], states[:, c]][:, None]
    return np.asarray(weights) @ np.log(prob.sum(axis=0))


def node_pair_posteriors(parent: np.ndarray, n_tips: int, P: np.ndarray, freqs, tips: np.ndarray, u: int, v: int):
    """The joint posterior of the states of any two nodes ``u`` and ``v``
    (n_patterns, 4, 4), enumerating every assignment of states to the
    internal nodes and to ``u`` and ``v``; the other tips enter through
    ``P_c @ tip``."""
    n = parent.size
    listed = sorted(set(range(n_tips, n)) | {u, v})
    states = np.zeros((4 ** len(listed), n), dtype=int)
    states[:, listed] = np.array(list(itertools.product(range(4), repeat=len(listed))))
    prob = np.asarray(freqs)[states[:, -1]][:, None] * np.ones(tips.shape[1])
    for c in range(n - 1):
        up = states[:, parent[c]]
        if c in listed:
            prob = prob * P[c][up, states[:, c]][:, None]
            if c < n_tips:
                prob = prob * tips[c][:, states[:, c]].T
        else:
            prob = prob * (tips[c] @ P[c].T)[:, up].T
    joint = np.zeros((tips.shape[1], 4, 4))
    for a in range(4):
        for b in range(4):
            joint[:, a, b] = prob[(states[:, u] == a) & (states[:, v] == b)].sum(axis=0)
    return joint / prob.sum(axis=0)[:, None, None]


def gamma_category_rates(alpha: float, k: int) -> np.ndarray:
    """Each of ``k`` equally probable categories' mean rate, by numerical
    integration of the Gamma(alpha, rate alpha) density between scipy's
    quantiles."""
    dist = stats.gamma(alpha, scale=1.0 / alpha)
    cuts = dist.ppf(np.arange(k + 1) / k)
    return np.array([k * integrate.quad(lambda x: x * dist.pdf(x), lo, hi)[0] for lo, hi in zip(cuts[:-1], cuts[1:])])
