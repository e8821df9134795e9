"""Diversity of a repertoire from abundances: richness (observed and Chao1),
Shannon entropy and the Gini-Simpson index."""

from __future__ import annotations

import numpy as np

__all__ = ["diversity"]


def diversity(abundances) -> dict:
    """Diversity of a table of abundances (reads per clonotype or per distinct
    sequence; fractional estimates are rounded for Chao1).

    - ``richness``: number of types with positive abundance;
    - ``chao1``: bias-corrected Chao1, ``S + f1 (f1 - 1) / (2 (f2 + 1))`` with
      ``f1``, ``f2`` the types seen once and twice (Chao 1984; Chao 1987);
    - ``shannon``: ``-sum p log p`` (natural log), ``p`` the shares;
    - ``simpson``: Gini-Simpson ``1 - sum p^2``, the chance that two reads
      drawn with replacement come from different types.
    """
    a = np.asarray(abundances, dtype=float)
    a = a[a > 0]
    p = a / a.sum()
    rounded = np.round(a)
    f1, f2 = np.sum(rounded == 1), np.sum(rounded == 2)
    return {
        "richness": int(a.size),
        "chao1": float(a.size + f1 * (f1 - 1) / (2.0 * (f2 + 1))),
        "shannon": float(-(p @ np.log(p))),
        "simpson": float(1.0 - p @ p),
    }
