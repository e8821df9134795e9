"""Candidate parents: every pair of sequences within a Hamming distance bound,
found without comparing all pairs.

Pigeonhole index (Baeza-Yates & Navarro's partitioning filter; used for
approximate string matching since Wu & Manber 1992): cut sequences of length
``L`` into ``d + 1`` segments; two sequences that differ at ``d`` or fewer
positions agree exactly on at least one segment. Each segment of each sequence
is hashed and sorted, so the sequences sharing a segment with a query are a
contiguous run found by binary search, and only those are compared. A pair met
through several segments is kept at the first (a later segment skips a
candidate whose earlier segment hash equals the query's), so each pair is
compared once.

Each pair found also carries its 4 x 4 table of aligned bases (parent base by
read base, positions where both are ``A``/``C``/``G``/``T``): the sufficient
statistics of the substitution model (:mod:`latentlab.repertoire.model`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .sequences import SequenceTable

__all__ = ["HammingIndex"]

_FNV_OFFSET = np.uint64(14695981039346656037)
_FNV_PRIME = np.uint64(1099511628211)


@njit(cache=True)
def _segment_keys(codes, bounds):
    """FNV-1a hash of each segment of each row: (n_segments, n) uint64."""
    n = codes.shape[0]
    n_seg = bounds.size - 1
    keys = np.empty((n_seg, n), dtype=np.uint64)
    for s in range(n_seg):
        for i in range(n):
            h = _FNV_OFFSET
            for p in range(bounds[s], bounds[s + 1]):
                h = (h ^ np.uint64(codes[i, p] + 1)) * _FNV_PRIME
            keys[s, i] = h
    return keys


@njit(cache=True)
def _grow(arr, size):
    out = np.empty((2 * arr.shape[0],) + arr.shape[1:], dtype=arr.dtype)
    out[:size] = arr[:size]
    return out


@njit(cache=True)
def _pairs_within(codes, keys, orders, sorted_keys, queries, max_distance, is_target, with_tables):
    """All (query, target) rows within ``max_distance`` mismatches (an ``N``
    against a base counts as one), targets restricted to ``is_target``, and (if
    ``with_tables``) each pair's aligned-base table, flattened
    ``4 * parent_base + read_base``."""
    n_seg, L = keys.shape[0], codes.shape[1]
    cap = max(16, 2 * queries.size)
    out_q = np.empty(cap, dtype=np.int64)
    out_t = np.empty(cap, dtype=np.int64)
    out_tab = np.zeros((cap if with_tables else 1, 16), dtype=np.uint16)
    size = 0
    for q in queries:
        for s in range(n_seg):
            key = keys[s, q]
            lo = np.searchsorted(sorted_keys[s], key, side="left")
            hi = np.searchsorted(sorted_keys[s], key, side="right")
            for r in range(lo, hi):
                t = orders[s, r]
                if not is_target[t]:
                    continue
                seen = False
                for s0 in range(s):
                    if keys[s0, t] == keys[s0, q]:
                        seen = True
                        break
                if seen:
                    continue
                d = 0
                for p in range(L):
                    if codes[q, p] != codes[t, p]:
                        d += 1
                        if d > max_distance:
                            break
                if d > max_distance:
                    continue
                if size == out_q.size:
                    out_q = _grow(out_q, size)
                    out_t = _grow(out_t, size)
                    if with_tables:
                        out_tab = _grow(out_tab, size)
                out_q[size] = q
                out_t[size] = t
                if with_tables:
                    for k in range(16):
                        out_tab[size, k] = 0
                    for p in range(L):
                        a, b = codes[q, p], codes[t, p]
                        if a < 4 and b < 4:
                            out_tab[size, 4 * a + b] += 1
                size += 1
    return out_q[:size], out_t[:size], out_tab[:size if with_tables else 0]


class HammingIndex:
    """The pigeonhole index of a :class:`SequenceTable` for ``max_distance``.

    ``pairs(ids)`` returns every ``(i, j, table)`` with ``i`` in ``ids`` and
    ``j`` any sequence of the same length within ``max_distance`` mismatches
    (``j == i`` included), ``table`` the 16 aligned-base counts of ``i``
    (as parent) against ``j`` (as read); ``targets`` restricts ``j``.
    """

    def __init__(self, table: SequenceTable, max_distance: int):
        self.table = table
        self.max_distance = max_distance
        self._groups = {}
        for length, (ids, codes) in table.groups.items():
            n_seg = max_distance + 1
            bounds = np.linspace(0, length, n_seg + 1).round().astype(np.int64)
            keys = _segment_keys(codes, bounds)
            orders = np.argsort(keys, axis=1, kind="stable")
            sorted_keys = np.take_along_axis(keys, orders, axis=1)
            self._groups[length] = (ids, codes, keys, orders, sorted_keys)

    def pairs(self, ids, targets=None, tables: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pairs ``(i, j, table)`` with ``i`` in ``ids``; ``j`` only among
        ``targets`` if given; ``table`` of shape (n_pairs, 16), or (0, 16)
        without ``tables``."""
        ids = np.asarray(ids, dtype=np.int64)
        is_target = np.ones(self.table.n_sequences, dtype=bool)
        if targets is not None:
            is_target[:] = False
            is_target[targets] = True
        out_i, out_j, out_tab = [np.empty(0, np.int64)], [np.empty(0, np.int64)], [np.empty((0, 16), np.uint16)]
        lengths = self.table.lengths[ids]
        for length in np.unique(lengths):
            group_ids, codes, keys, orders, sorted_keys = self._groups[int(length)]
            local = np.searchsorted(group_ids, ids[lengths == length])
            q, t, tab = _pairs_within(codes, keys, orders, sorted_keys, local, self.max_distance,
                                      is_target[group_ids], tables)
            out_i.append(group_ids[q])
            out_j.append(group_ids[t])
            out_tab.append(tab)
        return np.concatenate(out_i), np.concatenate(out_j), np.concatenate(out_tab)
