"""Which sequences are genuine clonotypes: the abundance test and the greedy
choice of new clonotypes (divisive partitioning, after DADA2: Rosen et al.
2012, Callahan et al. 2016).

Under the fitted mixture, a sequence ``s_i`` that is not itself a clonotype is
expected ``E_i = N sum_c w_c P_ic`` times among the ``N`` assigned reads (as
errors of the clonotypes within reach). Its abundance p-value is the chance
of seeing it at least ``n_i`` times given that it was seen at all:

    p_i = P(X >= n_i | X >= 1),   X ~ Poisson(E_i)

A sequence is significant when ``p_i * M < alpha``, ``M`` the number of
distinct sequences (Bonferroni), i.e. too abundant to be errors. A singleton
(``n_i = 1``) is never significant (``p_i = 1``); a sequence with no
clonotype within reach has ``E_i = 0`` and is significant once seen twice.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import poisson

__all__ = ["abundance_log_pvalues", "greedy_batch"]


def abundance_log_pvalues(counts: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """``log P(X >= n | X >= 1)`` for ``X ~ Poisson(expected)`` (``-inf`` when
    ``expected`` is 0 and ``n >= 2``; 0 for ``n = 1``)."""
    counts = np.asarray(counts, dtype=float)
    expected = np.asarray(expected, dtype=float)
    out = np.zeros(counts.shape)
    many = counts >= 2
    pos = many & (expected > 0)
    e = expected[pos]
    out[pos] = poisson.logsf(counts[pos] - 1, e) - np.log(-np.expm1(-e))
    out[many & (expected <= 0)] = -np.inf
    return np.minimum(out, 0.0)


def greedy_batch(candidates: np.ndarray, pair_i: np.ndarray, pair_j: np.ndarray) -> np.ndarray:
    """The candidates to add this round: in the given order (most significant
    first), a candidate is taken unless a candidate taken before it is within
    reach of it (``(pair_i, pair_j)``: the pairs of candidates within reach). A
    sequence near a new clonotype is then tested again against it in the next
    round, rather than called together with it."""
    taken = np.zeros(0, dtype=np.int64)
    if candidates.size == 0:
        return taken
    order = np.argsort(pair_i, kind="stable")
    pi, pj = pair_i[order], pair_j[order]
    starts = np.searchsorted(pi, candidates, side="left")
    ends = np.searchsorted(pi, candidates, side="right")
    is_taken = {}
    out = []
    for c, lo, hi in zip(candidates.tolist(), starts.tolist(), ends.tolist()):
        if any(j in is_taken for j in pj[lo:hi].tolist() if j != c):
            continue
        is_taken[c] = True
        out.append(c)
    return np.asarray(out, dtype=np.int64)
