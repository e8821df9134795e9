"""Equivalence classes of fragments: the data of transcript quantification.

Fragments compatible with the same set of transcripts (and, for salmon's
"rich" classes, with the same conditional probabilities) are collapsed into one
class with a count (kallisto, Bray et al. 2016; salmon, Patro et al. 2017).
A class ``j`` holds transcripts ``t`` with weights ``w_jt`` (the fragments'
conditional probability given ``t``; 1 when not given) and a count ``n_j``;
each transcript has an effective length ``l_t`` (the number of positions a
fragment can start from, averaged over the fragment-length distribution).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._validation import as_array, check_finite

__all__ = ["EquivalenceClasses"]


@dataclass(frozen=True)
class EquivalenceClasses:
    """Classes in CSR form: class ``j`` holds ``members[ptr[j]:ptr[j + 1]]``
    (transcript indices) with ``weights`` at the same positions."""

    transcripts: np.ndarray  # (T,) names
    effective_lengths: np.ndarray  # (T,) > 0
    ptr: np.ndarray  # (J + 1,)
    members: np.ndarray  # (nnz,) transcript index
    weights: np.ndarray  # (nnz,) > 0
    counts: np.ndarray  # (J,) >= 0
    lengths: np.ndarray | None = None  # (T,) transcript lengths, if known

    @property
    def n_transcripts(self) -> int:
        return self.transcripts.size

    @property
    def n_classes(self) -> int:
        return self.counts.size

    @property
    def n_fragments(self) -> float:
        return float(self.counts.sum())

    @classmethod
    def from_lists(cls, transcripts, effective_lengths, classes, counts, weights=None, lengths=None,
                   where: str = "classes") -> EquivalenceClasses:
        """Validated classes from Python lists: ``classes[j]`` a list of
        transcript names (or indices into ``transcripts``), ``weights[j]`` the
        matching weights (None: all 1). ``where`` names the source in errors."""
        names = _names(transcripts)
        eff = _positive(effective_lengths, "effective_lengths", names.size)
        n = as_array(counts, "counts", ndim=1)
        check_finite(n, "counts")
        if n.size != len(classes):
            raise ValueError(f"counts has {n.size} entries but there are {len(classes)} classes")
        if np.any(n < 0):
            raise ValueError(f"counts must be >= 0; class {int(np.argmax(n < 0))} has {n[n < 0][0]!r}")
        index = {name: i for i, name in enumerate(names)}
        sizes = np.fromiter((len(c) for c in classes), dtype=np.int64, count=len(classes))
        if np.any(sizes == 0):
            raise ValueError(f"{where}: class {int(np.argmax(sizes == 0))} lists no transcript")
        members = np.empty(sizes.sum(), dtype=np.int64)
        pos = 0
        for j, c in enumerate(classes):
            members[pos:pos + len(c)] = [_lookup(index, t, names.size, where, j) for t in c]
            pos += len(c)
        w = np.ones(members.size) if weights is None else _weights(weights, sizes, where)
        ptr = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        lens = None if lengths is None else _positive(lengths, "lengths", names.size)
        return cls(names, eff, ptr, members, w, n.astype(float), lens)

    def with_counts(self, counts: np.ndarray) -> EquivalenceClasses:
        """The same classes with other counts (a bootstrap or simulated replicate)."""
        return EquivalenceClasses(self.transcripts, self.effective_lengths, self.ptr, self.members, self.weights,
                                  np.asarray(counts, dtype=float), self.lengths)

    def split(self, n_parts: int) -> list[EquivalenceClasses]:
        """The classes cut into ``n_parts`` consecutive groups (partitions
        for a fit on a Dask cluster: :meth:`TranscriptQuantifier.fit`)."""
        if isinstance(n_parts, bool) or not isinstance(n_parts, (int, np.integer)) or not 1 <= n_parts <= self.n_classes:
            raise ValueError(f"n_parts must be an integer from 1 to the {self.n_classes} classes; got {n_parts!r}")
        cuts = np.array_split(np.arange(self.n_classes), n_parts)
        out = []
        for rows in cuts:
            lo, hi = rows[0], rows[-1] + 1
            p0, p1 = self.ptr[lo], self.ptr[hi]
            out.append(EquivalenceClasses(self.transcripts, self.effective_lengths, self.ptr[lo:hi + 1] - p0,
                                          self.members[p0:p1], self.weights[p0:p1], self.counts[lo:hi], self.lengths))
        return out

    @classmethod
    def concatenate(cls, parts) -> EquivalenceClasses:
        """One set of classes from partitions over the same transcripts (same
        names and effective lengths, else ValueError)."""
        first = parts[0]
        for k, p in enumerate(parts):
            if not isinstance(p, EquivalenceClasses):
                raise TypeError(f"classes[{k}] must be an EquivalenceClasses; got {type(p).__name__}")
            if not (np.array_equal(p.transcripts, first.transcripts)
                    and np.array_equal(p.effective_lengths, first.effective_lengths)):
                raise ValueError(f"classes[{k}] has other transcripts or effective lengths than classes[0]; "
                                 "partitions must share them")
        sizes = np.concatenate([np.diff(p.ptr) for p in parts])
        return cls(first.transcripts, first.effective_lengths, np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
                   np.concatenate([p.members for p in parts]), np.concatenate([p.weights for p in parts]),
                   np.concatenate([p.counts for p in parts]), first.lengths)

    def frame(self) -> pd.DataFrame:
        """One row per class: its transcripts (names joined by ``,``), weights and count."""
        names = [",".join(self.transcripts[self.members[a:b]]) for a, b in zip(self.ptr[:-1], self.ptr[1:])]
        return pd.DataFrame({"transcripts": names, "count": self.counts})


def _names(transcripts) -> np.ndarray:
    if isinstance(transcripts, str) or transcripts is None:
        raise TypeError(f"transcripts must be a sequence of names; got {transcripts!r}")
    names = np.asarray([str(t) for t in transcripts], dtype=object)
    if names.size == 0:
        raise ValueError("transcripts is empty")
    uniq, first = np.unique(names, return_index=True)
    if uniq.size < names.size:
        dup = sorted(set(range(names.size)) - set(first.tolist()))[0]
        raise ValueError(f"transcripts[{dup}] = {names[dup]!r} is named twice")
    return names


def _positive(values, name: str, size: int) -> np.ndarray:
    x = as_array(values, name, ndim=1)
    check_finite(x, name)
    if x.size != size:
        raise ValueError(f"{name} has {x.size} entries but there are {size} transcripts")
    if np.any(x <= 0):
        i = int(np.argmax(x <= 0))
        raise ValueError(f"{name} must be > 0; entry {i} is {x[i]!r}")
    return x.astype(float)


def _lookup(index: dict, t, n: int, where: str, j: int) -> int:
    if isinstance(t, (int, np.integer)) and not isinstance(t, bool):
        if 0 <= t < n:
            return int(t)
        raise ValueError(f"{where}: class {j} names transcript index {t}, but there are {n} transcripts")
    if t not in index:
        raise ValueError(f"{where}: class {j} names transcript {t!r}, which is not among the transcripts")
    return index[t]


def _weights(weights, sizes, where: str) -> np.ndarray:
    if len(weights) != sizes.size:
        raise ValueError(f"weights has {len(weights)} entries but there are {sizes.size} classes")
    out = np.empty(sizes.sum())
    pos = 0
    for j, (w, k) in enumerate(zip(weights, sizes)):
        w = np.asarray(w, dtype=float)
        if w.shape != (k,):
            raise ValueError(f"{where}: class {j} lists {k} transcripts but {w.size} weights")
        if not np.all(np.isfinite(w) & (w > 0)):
            raise ValueError(f"{where}: class {j} has a weight that is not a positive number: {w.tolist()}")
        out[pos:pos + k] = w
        pos += k
    return out
