"""Phase accuracy: the switch error of an estimated phase against the truth."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["switch_counts", "switch_error"]


def switch_error(true_haplotypes, estimated_haplotypes) -> float:
    """Switch error rate of estimated phases (Lin et al. 2002, Am. J. Hum. Genet.
    70:686; Stephens & Scheet 2005).

    Both inputs are (individuals, 2, loci) allele arrays. For each individual
    take the loci where the true haplotypes differ and the estimated pair holds
    the same two alleles; the estimated phase *switches* between consecutive
    such loci when its first haplotype stops matching the same true haplotype.
    The rate is the total number of switches over the total number of
    consecutive pairs of such loci (``sum_i (het_i - 1)``). Missing alleles
    (None, NaN, -1) are skipped. Returns NaN when no individual has two such loci.
    """
    switches, opportunities = switch_counts(true_haplotypes, estimated_haplotypes)
    return switches / opportunities if opportunities else float("nan")


def switch_counts(true_haplotypes, estimated_haplotypes) -> tuple[int, int]:
    """The numerator and denominator of :func:`switch_error`: the number of
    switches and of consecutive pairs of heterozygous loci counted."""
    t = np.asarray(true_haplotypes, dtype=object)
    e = np.asarray(estimated_haplotypes, dtype=object)
    if t.shape != e.shape or t.ndim != 3 or t.shape[1] != 2:
        raise ValueError(
            "true_haplotypes and estimated_haplotypes must both have shape (individuals, 2, loci); "
            f"got {t.shape} and {e.shape}"
        )
    missing = pd.isna(t) | pd.isna(e) | (t == -1) | (e == -1)
    known = ~missing.any(axis=1)
    het = known & (t[:, 0] != t[:, 1])
    same = (e[:, 0] == t[:, 0]) & (e[:, 1] == t[:, 1])
    swapped = (e[:, 0] == t[:, 1]) & (e[:, 1] == t[:, 0])
    sites = het & (same | swapped)
    switches = opportunities = 0
    for row_sites, row_same in zip(sites, same):
        orient = row_same[row_sites]
        if orient.size > 1:
            switches += int(np.count_nonzero(orient[1:] != orient[:-1]))
            opportunities += orient.size - 1
    return switches, opportunities
