"""Linkage disequilibrium between two loci from two-locus haplotype frequencies.

For allele ``i`` at locus A (frequency ``p_i``) and allele ``j`` at locus B
(frequency ``q_j``) with two-locus haplotype frequency ``p_ij``:

    D   = p_ij - p_i q_j,
    D'  = D / D_max,   D_max = min(p_i (1 - q_j), (1 - p_i) q_j)  if D > 0,
                              min(p_i q_j, (1 - p_i)(1 - q_j))    if D < 0
          (Lewontin 1964; signed, in [-1, 1]),
    r^2 = D^2 / (p_i (1 - p_i) q_j (1 - q_j))          (Hill & Robertson 1968).

Intervals are Wald intervals from the delta method,
``Var(f) = g' Cov(p) g`` with ``g`` the gradient of the measure in the
two-locus haplotype frequencies (central differences) and ``Cov(p)`` their
covariance from the observed information; they are clipped to the range of
each measure. At ``|D'| = 1`` (a haplotype absent: the boundary) D' gets no
standard error or interval (NaN); near it, or near ``r^2 = 0``, the normal
approximation is poor and the interval is only a rough guide.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

__all__ = ["ld_measures", "ld_table", "pairwise_ld"]

_RANGES = {"D": (-0.25, 0.25), "D'": (-1.0, 1.0), "r2": (0.0, 1.0)}


def ld_measures(table: np.ndarray, i: int, j: int) -> np.ndarray:
    """``[D, D', r^2]`` for alleles ``i`` and ``j`` of a two-locus frequency table."""
    table = table / table.sum()
    p, q, pij = table[i, :].sum(), table[:, j].sum(), table[i, j]
    d = pij - p * q
    dmax = min(p * (1 - q), (1 - p) * q) if d > 0 else min(p * q, (1 - p) * (1 - q))
    var = p * (1 - p) * q * (1 - q)
    with np.errstate(divide="ignore", invalid="ignore"):
        dprime = d / dmax if dmax > 0 else np.nan
        r2 = d * d / var if var > 0 else np.nan
    return np.array([d, dprime, r2])


def ld_table(freqs: np.ndarray, cells: np.ndarray, shape: tuple[int, int], cov: np.ndarray,
             i: int, j: int, level: float) -> pd.DataFrame:
    """Measures with delta-method intervals.

    ``freqs`` (H,) are two-locus haplotype frequencies in table cells ``cells``
    ((H, 2) allele codes), ``cov`` their covariance (NaN rows: held fixed).
    """
    def measures(f):
        table = np.zeros(shape)
        np.add.at(table, (cells[:, 0], cells[:, 1]), f)
        return ld_measures(table, i, j)

    est = measures(freqs)
    C = np.nan_to_num(cov, nan=0.0)
    h = 1e-6
    grad = np.empty((3, freqs.size))
    for k in range(freqs.size):
        up, down = freqs.copy(), freqs.copy()
        up[k] += h
        down[k] -= h
        grad[:, k] = (measures(up) - measures(down)) / (2 * h)
    se = np.sqrt(np.maximum(np.einsum("mk,kl,ml->m", grad, C, grad), 0.0))
    if abs(est[1]) >= 1.0 - 1e-6:  # |D'| = 1 (up to EM's approach to 0) is the boundary: no Wald SE
        se[1] = np.nan
    z = sps.norm.ppf(0.5 + level / 2)
    lo_hi = np.array([_RANGES[m] for m in _RANGES])
    return pd.DataFrame({
        "measure": list(_RANGES),
        "estimate": est,
        "std_error": se,
        "ci_lower": np.clip(est - z * se, lo_hi[:, 0], lo_hi[:, 1]),
        "ci_upper": np.clip(est + z * se, lo_hi[:, 0], lo_hi[:, 1]),
    })


def pairwise_ld(indicator: np.ndarray, freqs: np.ndarray, measure: str) -> np.ndarray:
    """LD matrix of biallelic loci from multi-locus haplotype frequencies.

    ``indicator`` (H, L) is 1 where a haplotype carries the second allele of a
    locus; two-locus frequencies are the marginals of ``freqs``. Monomorphic
    loci give NaN.
    """
    X = indicator.astype(float)
    p = X.T @ freqs
    p11 = X.T @ (freqs[:, None] * X)
    d = p11 - np.outer(p, p)
    if measure == "D":
        return d
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "r2":
            v = p * (1 - p)
            return d * d / np.outer(v, v)
        pos = np.minimum(np.outer(p, 1 - p), np.outer(1 - p, p))
        neg = np.minimum(np.outer(p, p), np.outer(1 - p, 1 - p))
        return d / np.where(d > 0, pos, neg)
