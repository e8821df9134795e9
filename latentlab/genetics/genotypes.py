"""Genotypes of one locus: their order, labels, allele content, and the
observation patterns of allele-pair data.

Order (the VCF order)
---------------------
With alleles ``0 .. K-1`` the ``G = K (K + 1) / 2`` unordered genotypes
``j/k`` (``j <= k``) are numbered ``index(j, k) = k (k + 1) / 2 + j``, the
order of the VCF ``GL``/``PL`` fields: for two alleles ``0/0, 0/1, 1/1``; for
three ``0/0, 0/1, 1/1, 0/2, 1/2, 2/2``.

Observation patterns of allele pairs
------------------------------------
An individual typed as an allele pair is one of three kinds:

* complete ``j/k``: likelihood 1 for genotype ``j/k`` and 0 for the others;
* half-missing ``j/?`` (one allele typed, the other missing): under the
  assumption that the allele which failed did so at random, whatever its type,
  the probability of typing ``j`` from genotype ``g`` is ``m_j(g) / 2`` with
  ``m_j(g)`` the number of copies of ``j`` in ``g``. Under Hardy-Weinberg this
  gives the individual a likelihood ``p_j``: one allele drawn from the pool;
* fully missing ``?/?``: likelihood 1 for every genotype (no information).

So every kind is a likelihood vector over genotypes, and all the allele-pair
data of a locus are summarised by counts of the ``G + K`` informative patterns
(complete genotypes first, then half genotypes) and the number missing.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "n_genotypes",
    "n_alleles_from_genotypes",
    "genotype_index",
    "genotype_alleles",
    "genotype_labels",
    "allele_content",
    "homozygote_index",
    "pattern_likelihoods",
    "pattern_code",
    "pattern_counts",
]


def n_genotypes(n_alleles: int) -> int:
    """``K (K + 1) / 2`` unordered genotypes of ``K`` alleles."""
    return n_alleles * (n_alleles + 1) // 2


def n_alleles_from_genotypes(n_geno: int) -> int | None:
    """``K`` with ``K (K + 1) / 2 = n_geno``, or None if there is none."""
    k = int(round((np.sqrt(8 * n_geno + 1) - 1) / 2))
    return k if n_genotypes(k) == n_geno else None


def genotype_index(a, b):
    """VCF index of the unordered genotype ``a/b`` (arrays broadcast)."""
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    return hi * (hi + 1) // 2 + lo


def genotype_alleles(n_alleles: int) -> np.ndarray:
    """``(G, 2)`` array of the two alleles ``(j, k)``, ``j <= k``, of each genotype."""
    return np.array([(j, k) for k in range(n_alleles) for j in range(k + 1)], dtype=np.int64).reshape(-1, 2)


def genotype_labels(alleles) -> list[str]:
    """``"a/b"`` labels of the genotypes in VCF order, from the allele labels."""
    names = [str(a) for a in alleles]
    return [f"{names[j]}/{names[k]}" for j, k in genotype_alleles(len(names))]


def allele_content(n_alleles: int) -> np.ndarray:
    """``(G, K)`` matrix ``m[g, a]``: copies of allele ``a`` in genotype ``g``."""
    pairs = genotype_alleles(n_alleles)
    m = np.zeros((pairs.shape[0], n_alleles))
    np.add.at(m, (np.arange(pairs.shape[0]), pairs[:, 0]), 1.0)
    np.add.at(m, (np.arange(pairs.shape[0]), pairs[:, 1]), 1.0)
    return m


def homozygote_index(n_alleles: int) -> np.ndarray:
    """Genotype index of ``a/a`` for each allele ``a``."""
    a = np.arange(n_alleles)
    return genotype_index(a, a)


def pattern_likelihoods(n_alleles: int) -> np.ndarray:
    """``(G + K, G)`` likelihoods of the informative allele-pair patterns
    (module docstring): the identity for the complete genotypes, then
    ``m_j(g) / 2`` for each half genotype ``j/?``."""
    G = n_genotypes(n_alleles)
    return np.vstack([np.eye(G), allele_content(n_alleles).T / 2.0])


def pattern_code(pairs: np.ndarray, n_alleles: int) -> np.ndarray:
    """Pattern of each allele pair ``(..., 2)`` (``-1`` missing): the genotype
    index for a complete pair, ``G + j`` for a half pair ``j/?`` and ``G + K``
    for a fully missing one. One table look-up per pair, indexed by
    ``(a + 1) (K + 1) + (b + 1)``."""
    K = n_alleles
    G = n_genotypes(K)
    a = np.arange(-1, K)[:, None]
    b = np.arange(-1, K)[None, :]
    table = np.where(
        (a >= 0) & (b >= 0),
        genotype_index(a, b),
        np.where((a < 0) & (b < 0), G + K, G + np.maximum(a, b)),
    ).ravel()
    small = np.int32 if (K + 1) ** 2 < 2**31 else np.int64
    code = (pairs[..., 0].astype(small) + 1) * (K + 1) + (pairs[..., 1].astype(small) + 1)
    return table[code]


def pattern_counts(pairs: np.ndarray, n_alleles: int) -> tuple[np.ndarray, np.ndarray]:
    """Counts of the ``G + K`` patterns and of fully missing individuals.

    ``pairs`` is an integer array ``(..., n, 2)`` of allele indices with ``-1``
    for a missing allele; returns ``(counts (..., G + K), n_missing (...))``.
    Vectorised over the leading axes (one ``bincount`` for all of them).
    """
    pairs = np.asarray(pairs)
    lead = pairs.shape[:-2]
    flat = pairs.reshape(-1, pairs.shape[-2], 2)
    n_pat = n_genotypes(n_alleles) + n_alleles + 1  # the last slot counts fully missing individuals
    offset = (np.arange(flat.shape[0]) * n_pat)[:, None]
    code = pattern_code(flat, n_alleles) + offset
    counts = np.bincount(code.ravel(), minlength=flat.shape[0] * n_pat).reshape(*lead, n_pat).astype(float)
    return counts[..., :-1], counts[..., -1]
