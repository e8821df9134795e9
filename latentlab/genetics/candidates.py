"""Candidate haplotype pairs, built by progressive insertion of loci.

For each individual the EM needs the unordered pairs ``{h, k}`` of haplotypes
compatible with its genotype. Listing them all at once costs
``2^(heterozygous loci - 1)`` pairs per person. Progressive insertion
(haplo.stats' ``haplo.em``; Clayton's SNPHAP) grows the haplotypes one locus
at a time instead:

1. start from one empty haplotype, every individual carrying the pair
   ``{(), ()}``;
2. **insert** a locus: every pair ``{h, k}`` is extended by every ordered
   allele assignment ``(x, y)`` compatible with the individual's genotype at
   that locus -- ``(a, b)`` and ``(b, a)`` for a typed heterozygote ``a/b``,
   ``(a, a)`` for a homozygote, every allele of the locus in place of a missing
   one -- giving ``{h+x, k+y}``; identical unordered pairs are merged;
3. after a batch of insertions, run EM on the current pairs and **trim** the
   pairs whose posterior probability is below a threshold, and all but the
   ``max_pairs`` most probable pairs of an individual (keeping each
   individual's most probable pair), then drop haplotypes no pair uses.

With a batch of ``b`` biallelic loci a pair has at most ``2^b`` extensions, and
trimming keeps the pairs per individual few, so the cost grows about linearly
in the number of loci. With one batch holding all loci and no trimming the
enumeration is exhaustive and the EM is the ordinary one (Excoffier & Slatkin
1995).

Storage. Before a trimming the candidates of a batch number up to ``2^b``
times those kept, and over many loci each of them is a long row of codes. A
:class:`Candidates` therefore stores a haplotype as a row of a shared
``prefix`` table (the haplotypes kept at the last trimming, over the loci
inserted until then) followed by its own codes at the loci inserted since
(``suffix``): an insertion extends only the short suffixes, and only the
haplotypes a trimming keeps are written out in full
(:meth:`Candidates.select`). Codes are ``int8`` when every locus has at most
127 alleles (``int16`` otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["PhasePairs", "Candidates", "assignment_counts", "code_dtype", "empty_candidates", "extended_size", "insert_locus", "ligate", "trim_pairs"]


@dataclass(frozen=True)
class PhasePairs:
    """Candidate pairs of all individuals: the data of one EM fit.

    individual, first, second : (P,) int arrays sorted by individual, with
        ``first <= second`` (haplotype indices).
    n_individuals, n_haplotypes : sizes of the index ranges.
    """

    individual: np.ndarray
    first: np.ndarray
    second: np.ndarray
    n_individuals: int
    n_haplotypes: int

    @property
    def multiplicity(self) -> np.ndarray:
        """2 for a heterozygous pair ``h != k`` (two orders), 1 for ``h = k``."""
        return np.where(self.first == self.second, 1.0, 2.0)

    @property
    def n_pairs(self) -> int:
        return int(self.individual.size)


@dataclass(frozen=True)
class Candidates:
    """Haplotypes over the loci inserted so far, and the pairs using them.

    Haplotype ``h`` is ``prefix[parent[h]]`` followed by ``suffix[h]``
    (module docstring, "Storage"); :attr:`haplotypes` writes them all out.

    prefix : (H0, m0) allele codes shared by the haplotypes.
    parent : (H,) row of ``prefix`` each haplotype starts with.
    suffix : (H, k) allele codes of each haplotype at the last ``k`` loci.
    pairs : the :class:`PhasePairs` indexing the ``H`` haplotypes.
    """

    prefix: np.ndarray
    parent: np.ndarray
    suffix: np.ndarray
    pairs: PhasePairs

    @property
    def n_loci(self) -> int:
        return self.prefix.shape[1] + self.suffix.shape[1]

    @property
    def n_haplotypes(self) -> int:
        return int(self.parent.size)

    @property
    def haplotypes(self) -> np.ndarray:
        """(H, m) allele codes of every candidate haplotype (``prefix`` itself
        when that is all of them, as after :meth:`select`; else a new array)."""
        every = np.arange(self.n_haplotypes)
        if not self.suffix.shape[1] and self.prefix.shape[0] == every.size and np.array_equal(self.parent, every):
            return self.prefix
        return self.rows(every)

    def rows(self, index: np.ndarray) -> np.ndarray:
        """(len(index), m) allele codes of haplotypes ``index``, written
        block by block so that no second full-width copy is made."""
        m0 = self.prefix.shape[1]
        out = np.empty((index.size, self.n_loci), dtype=self.prefix.dtype)
        out[:, m0:] = self.suffix[index]
        if m0:
            step = max(1, _BLOCK // m0)
            for lo in range(0, index.size, step):
                out[lo:lo + step, :m0] = self.prefix[self.parent[index[lo:lo + step]]]
        return out

    def select(self, index: np.ndarray, pairs: PhasePairs) -> Candidates:
        """Haplotypes ``index`` written out as a new prefix, used by ``pairs``."""
        rows = self.rows(index)
        return Candidates(rows, np.arange(index.size, dtype=np.int64), rows[:, :0], pairs)


#: codes copied per block in :meth:`Candidates.rows` (bytes at int8)
_BLOCK = 1 << 24


def code_dtype(n_alleles) -> np.dtype:
    """The integer type of haplotype codes for loci with ``n_alleles`` alleles:
    ``int8`` up to 127 alleles per locus, ``int16`` beyond."""
    return np.dtype(np.int8 if int(np.max(n_alleles, initial=0)) <= 127 else np.int16)


def empty_candidates(n_individuals: int, dtype=np.int16) -> Candidates:
    """One empty haplotype; every individual carries the pair of it."""
    zeros = np.zeros(n_individuals, dtype=np.int64)
    pairs = PhasePairs(np.arange(n_individuals, dtype=np.int64), zeros, zeros.copy(), n_individuals, 1)
    table = np.zeros((1, 0), dtype=dtype)
    return Candidates(table, np.zeros(1, dtype=np.int64), table, pairs)


def _assignments(codes: np.ndarray, n_alleles: int):
    """Ordered allele assignments ``(x, y)`` compatible with each genotype.

    ``codes`` is (n, 2) with -1 for a missing allele. Returns CSR arrays
    ``start, count`` (per individual) into ``x, y``.
    """
    classes, inverse = np.unique(codes, axis=0, return_inverse=True)
    every = range(n_alleles)
    lists = []
    for a, b in classes:
        if a >= 0 and b >= 0:
            pairs = {(a, b), (b, a)}
        elif a >= 0 or b >= 0:
            typed = a if a >= 0 else b
            pairs = {(typed, x) for x in every} | {(x, typed) for x in every}
        else:
            pairs = {(x, y) for x in every for y in every}
        lists.append(sorted(pairs))
    sizes = np.array([len(p) for p in lists], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    flat = np.array([xy for p in lists for xy in p], dtype=np.int64).reshape(-1, 2)
    inverse = inverse.ravel()
    return offsets[inverse], sizes[inverse], flat[:, 0], flat[:, 1]


def _merge_pairs(individual, first, second, n_individuals, n_haplotypes) -> PhasePairs:
    """Sort pairs by individual, order each as ``first <= second``, drop duplicates."""
    lo, hi = np.minimum(first, second), np.maximum(first, second)
    order = np.lexsort((hi, lo, individual))
    ind, lo, hi = individual[order], lo[order], hi[order]
    keep = np.ones(ind.size, dtype=bool)
    keep[1:] = (np.diff(ind) != 0) | (np.diff(lo) != 0) | (np.diff(hi) != 0)
    return PhasePairs(ind[keep], lo[keep], hi[keep], n_individuals, n_haplotypes)


def _extend(cands: Candidates, start, count, ax, ay, right: np.ndarray):
    """Extend every pair ``{h, k}`` of individual ``i`` to ``{h+x, k+y}`` for
    each ordered assignment ``(x, y)`` of ``i`` (CSR ``start, count`` per
    individual into ``ax, ay``), ``x, y`` rows of the (R, m) codes ``right``.

    Returns the new :class:`Candidates` and, for each new haplotype, its
    ``parent`` (row of the old haplotypes) and ``suffix`` (row of ``right``).
    """
    pairs, n_right = cands.pairs, right.shape[0]
    c = count[pairs.individual]
    rep = np.repeat(np.arange(pairs.n_pairs), c)
    within = np.arange(rep.size) - np.repeat(np.cumsum(c) - c, c)
    slot = start[pairs.individual][rep] + within
    key1 = pairs.first[rep] * n_right + ax[slot]
    key2 = pairs.second[rep] * n_right + ay[slot]
    del c, within, slot
    keys, inverse = np.unique(np.concatenate([key1, key2]), return_inverse=True)
    del key1, key2
    parent, suffix = keys // n_right, keys % n_right
    tails = np.column_stack([cands.suffix[parent], right[suffix].astype(cands.prefix.dtype)])
    new1, new2 = inverse[: rep.size], inverse[rep.size:]
    merged = _merge_pairs(pairs.individual[rep], new1, new2, pairs.n_individuals, keys.size)
    return Candidates(cands.prefix, cands.parent[parent], tails, merged), parent, suffix


def assignment_counts(codes: np.ndarray, n_alleles: int) -> np.ndarray:
    """(n,) number of ordered allele assignments of each individual at one
    locus (``codes`` (n, 2)): 2 for a heterozygote, 1 for a homozygote, more
    for missing alleles."""
    return _assignments(codes, n_alleles)[1]


def extended_size(cands: Candidates, codes: np.ndarray, n_alleles: int) -> int:
    """How many pairs (before merging duplicates) :func:`insert_locus` would list."""
    _, count, _, _ = _assignments(codes, n_alleles)
    return int(count[cands.pairs.individual].sum())


def insert_locus(cands: Candidates, codes: np.ndarray, n_alleles: int):
    """Extend every candidate pair by one locus (module docstring, step 2).

    ``codes`` is the (n, 2) allele codes of that locus. Returns the new
    :class:`Candidates` and, for each new haplotype, its ``parent`` (row of
    the old haplotypes) and the ``allele`` appended.
    """
    start, count, ax, ay = _assignments(codes, n_alleles)
    return _extend(cands, start, count, ax, ay, np.arange(n_alleles).reshape(-1, 1))


def ligate(left: Candidates, right: Candidates):
    """Join the candidates of two adjacent segments (partition-ligation,
    Qin, Niu & Liu 2002): individual ``i`` with pairs ``{a1, a2}`` on the left
    and ``{b1, b2}`` on the right gets ``{a1+b1, a2+b2}`` and ``{a1+b2, a2+b1}``
    -- :func:`insert_locus` with the right segment's pairs, in both orders,
    as the assignments of a "locus" whose alleles are the right haplotypes.

    Returns the joined :class:`Candidates`, and for each joined haplotype its
    left and right haplotype (rows of ``left.haplotypes``/``right.haplotypes``).
    """
    pairs = right.pairs
    count = 2 * np.bincount(pairs.individual, minlength=pairs.n_individuals)
    start = np.cumsum(count) - count
    ax = np.column_stack([pairs.first, pairs.second]).ravel()
    ay = np.column_stack([pairs.second, pairs.first]).ravel()
    return _extend(left, start, count, ax, ay, right.haplotypes)


def trim_pairs(cands: Candidates, posterior: np.ndarray, min_posterior: float, max_pairs: int, check=None):
    """Drop pairs with posterior below ``min_posterior`` (module docstring, step 3),
    and keep at most the ``max_pairs`` most probable pairs of each individual
    (a beam, as partition-ligation keeps the top haplotypes of each segment).

    Each individual keeps at least its most probable pair. ``check(kept)``, if
    given, is called with the number of haplotypes kept before they are
    written out. Returns the new :class:`Candidates` and the old indices of
    the haplotypes kept.
    """
    pairs = cands.pairs
    order = np.lexsort((-posterior, pairs.individual))
    starts = np.flatnonzero(np.r_[True, np.diff(pairs.individual[order]) != 0])
    rank = np.empty(pairs.n_pairs, dtype=np.int64)
    rank[order] = np.arange(pairs.n_pairs) - np.repeat(starts, np.diff(np.r_[starts, pairs.n_pairs]))
    keep = ((posterior >= min_posterior) & (rank < max_pairs)) | (rank == 0)
    first, second = pairs.first[keep], pairs.second[keep]
    used = np.unique(np.concatenate([first, second]))
    remap = np.full(pairs.n_haplotypes, -1, dtype=np.int64)
    remap[used] = np.arange(used.size)
    trimmed = PhasePairs(pairs.individual[keep], remap[first], remap[second], pairs.n_individuals, used.size)
    if check is not None:
        check(used.size)
    return cands.select(used, trimmed), used
