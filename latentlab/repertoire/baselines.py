"""The usual non-statistical corrections, as baselines for ``ClonotypeEM``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .neighbours import HammingIndex
from .sequences import SequenceTable

__all__ = ["collapse_by_ratio"]


def collapse_by_ratio(sequences, counts, ratio: float = 10.0, max_distance: int = 1) -> pd.DataFrame:
    """Collapse each sequence into a neighbour at most ``max_distance``
    substitutions away that is at least ``ratio`` times more abundant (the
    fixed-ratio rule of MiXCR-style clustering), most abundant first; a
    sequence collapsed into one that is itself collapsed ends in that one's
    parent. Returns the surviving sequences with their summed counts
    (columns sequence, count), largest first."""
    table = SequenceTable.from_sequences(sequences, counts)
    if not (np.isfinite(ratio) and ratio >= 1):
        raise ValueError(f"ratio must be a finite number >= 1; got {ratio!r}")
    order = np.lexsort((table.text, -table.counts))
    pair_i, pair_j, _ = HammingIndex(table, max_distance).pairs(order, tables=False)
    root = np.arange(table.n_sequences)
    rank = np.empty(table.n_sequences, dtype=np.int64)
    rank[order] = np.arange(order.size)
    big = table.counts[pair_i] >= ratio * table.counts[pair_j]
    parent_i, child = pair_i[big], pair_j[big]
    by_rank = np.lexsort((rank[parent_i], child))  # per child, its most abundant qualifying neighbour first
    child, first = np.unique(child[by_rank], return_index=True)
    best = np.full(table.n_sequences, -1)
    best[child] = parent_i[by_rank][first]
    for s in order:  # parents before children: roots resolve in one pass
        if best[s] >= 0:
            root[s] = root[best[s]]
    totals = np.bincount(root, weights=table.counts, minlength=table.n_sequences)
    keep = np.flatnonzero(root == np.arange(table.n_sequences))
    out = pd.DataFrame({"sequence": table.text[keep], "count": totals[keep]})
    return out.sort_values("count", ascending=False, kind="stable").reset_index(drop=True)
