"""Unphased multi-locus genotypes coded as small integers.

Two input forms are accepted (see :func:`encode_genotypes`):

* an ``(individuals, loci, 2)`` array of allele labels: any hashable labels
  (numbers or strings, one kind per locus), multi-allelic allowed, with
  ``None``, ``NaN`` or a value listed in ``missing_values`` for a missing
  allele;
* an ``(individuals, loci)`` matrix of alternate-allele counts ``0/1/2`` of
  biallelic SNPs, with ``NaN`` or ``-1`` for a missing genotype. Allele ``0``
  is the reference allele and ``1`` the alternate one.

Alleles of a locus are coded ``0 .. K-1`` in sorted label order, ``K`` being
the number of distinct labels *observed* at that locus (as in haplo.stats);
``-1`` codes a missing allele.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._validation import as_array, is_missing_label, tidy_label

__all__ = ["CodedGenotypes", "encode_genotypes"]

MISSING = -1


@dataclass(frozen=True)
class CodedGenotypes:
    """Genotypes as allele codes.

    codes : (n, L, 2) int array, ``-1`` for a missing allele: ``int8`` when no
        locus has more than 127 alleles (every SNP matrix), else ``int16``
        (``int32`` beyond 32,767).
    alleles : per locus, the allele labels in code order.
    loci : locus names.
    """

    codes: np.ndarray
    alleles: tuple[tuple, ...]
    loci: tuple[str, ...]

    @property
    def n_alleles(self) -> np.ndarray:
        return np.array([len(a) for a in self.alleles], dtype=np.int64)

    def all_missing(self) -> np.ndarray:
        """Indices of individuals with no allele typed at any locus."""
        return np.flatnonzero(np.all(self.codes < 0, axis=(1, 2)))

    def labels(self, locus: int, codes: np.ndarray) -> np.ndarray:
        """Allele labels of ``codes`` at ``locus`` (None where missing)."""
        table = np.array(list(self.alleles[locus]) + [None], dtype=object)
        return table[np.where(codes < 0, len(self.alleles[locus]), codes)]

    def haplotype_labels(self, codes: np.ndarray) -> np.ndarray:
        """Allele labels of (..., L) haplotype codes, one locus per last-axis
        entry (an object array; None where a code is missing)."""
        out = np.empty(codes.shape, dtype=object)
        for j in range(codes.shape[-1]):
            out[..., j] = self.labels(j, codes[..., j])
        return out

    def haplotype_strings(self, codes: np.ndarray, first_locus: int = 0) -> list[str]:
        """Each row of (H, m) haplotype codes over loci ``first_locus ..
        first_locus + m - 1`` as one string: allele labels joined, with ``-``
        between them unless every allele label there is one character."""
        m = codes.shape[1]
        cols = [self.labels(first_locus + j, codes[:, j]).astype(str) for j in range(m)]
        single = all(len(str(a)) == 1 for alleles in self.alleles[first_locus:first_locus + m] for a in alleles)
        return [("" if single else "-").join(parts) for parts in zip(*cols)]


def _label_kind(value) -> str:
    """'number' or 'string' (or the type name for anything else)."""
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, numbers.Number):
        return "number"
    if isinstance(value, str):
        return "string"
    return type(value).__name__


def _encode_locus(column: np.ndarray, name: str, missing_values) -> tuple[np.ndarray, tuple]:
    """Codes (n, 2) and sorted labels of one locus of allele labels (integral
    floats, as from a column holding NaN, become ints)."""
    flat = np.empty(column.size, dtype=object)
    flat[:] = [tidy_label(v) for v in column.ravel()]
    missing = np.array([is_missing_label(v, missing_values) for v in flat], dtype=bool)
    present = flat[~missing]
    kinds = {}
    for row, value in zip(np.flatnonzero(~missing) // 2, present):
        kinds.setdefault(_label_kind(value), (row, value))
    if len(kinds) > 1:
        examples = "; ".join(f"{kind} {value!r} (row {row})" for kind, (row, value) in kinds.items())
        raise ValueError(
            f"genotypes: locus {name!r} mixes allele label types ({examples}); "
            "use one kind of label (all numbers or all strings) per locus"
        )
    labels = tuple(sorted(set(present.tolist())))
    lookup = {lab: k for k, lab in enumerate(labels)}
    codes = np.full(flat.shape, MISSING, dtype=np.int64)
    codes[~missing] = [lookup[v] for v in present.tolist()]
    return codes.reshape(column.shape), labels


def _encode_counts(G: np.ndarray, loci) -> CodedGenotypes:
    """(n, L) alternate-allele counts 0/1/2 -> codes."""
    try:
        X = as_array(G, "genotypes", ndim=2)
    except TypeError as err:
        raise TypeError(
            f"{err}. A 2-d input holds alternate-allele counts 0/1/2 (numbers); "
            "for allele labels pass an (individuals, loci, 2) array"
        ) from None
    missing = np.isnan(X) | (X == -1)
    bad = ~missing & ~np.isin(X, (0.0, 1.0, 2.0))
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise ValueError(
            f"genotypes: alternate-allele counts must be 0, 1 or 2 (NaN or -1 for missing); "
            f"individual {i}, locus {j} is {X[i, j]:g} ({int(bad.sum())} such entries)"
        )
    codes = np.empty(X.shape + (2,), dtype=np.int8)
    codes[..., 0] = X >= 2
    codes[..., 1] = X >= 1
    codes[missing] = MISSING
    del X, missing, bad
    alleles = []
    for j in range(codes.shape[1]):
        seen = np.unique(codes[:, j][codes[:, j] >= 0])
        alleles.append(tuple(int(a) for a in seen))
        # recode so that codes run 0..K-1 over the observed alleles
        if seen.size == 1 and seen[0] == 1:
            codes[:, j][codes[:, j] == 1] = 0
    return CodedGenotypes(codes, tuple(alleles), tuple(loci))


def _locus_names(loci, n_loci: int) -> tuple[str, ...]:
    if loci is None:
        return tuple(f"L{j + 1}" for j in range(n_loci))
    names = tuple(str(x) for x in loci)
    if len(names) != n_loci:
        raise ValueError(f"loci: {len(names)} names given for {n_loci} loci")
    if len(set(names)) != len(names):
        raise ValueError(f"loci: names must be distinct; got {list(names)}")
    return names


def encode_genotypes(G, loci=None, missing_values=(-1,)) -> CodedGenotypes:
    """Validate and code genotypes (module docstring for the two input forms).

    ``loci`` names the loci (default: a DataFrame's columns, else L1, L2, ...).
    """
    if isinstance(G, pd.DataFrame) and loci is None:
        loci = list(G.columns)
    if isinstance(G, (pd.DataFrame, pd.Series)):
        G = G.to_numpy()
    arr = np.asarray(G, dtype=object) if not isinstance(G, np.ndarray) else G
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] != 2):
        raise ValueError(
            "genotypes must be an (individuals, loci, 2) array of allele labels or an "
            f"(individuals, loci) matrix of 0/1/2 counts; got shape {arr.shape}"
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"genotypes is empty (shape {arr.shape}); at least one individual and one locus are needed")
    names = _locus_names(loci, arr.shape[1])
    if arr.ndim == 2:
        coded = _encode_counts(arr, names)
    else:
        obj = arr.astype(object)
        codes = np.empty(arr.shape, dtype=np.int32)
        alleles = []
        for j, name in enumerate(names):
            codes[:, j], labels = _encode_locus(obj[:, j], name, missing_values)
            alleles.append(labels)
        most = max(len(labels) for labels in alleles)
        small = np.int8 if most <= 127 else np.int16 if most <= 32767 else np.int32
        coded = CodedGenotypes(codes.astype(small, copy=False), tuple(alleles), names)
    empty = [name for name, labels in zip(names, coded.alleles) if not labels]
    if empty:
        raise ValueError(f"genotypes: no allele is typed at locus {empty[0]!r}"
                         f"{f' (nor at {len(empty) - 1} other loci)' if len(empty) > 1 else ''}; drop it")
    return coded
