"""Receptor sequences as codes, grouped by length.

A repertoire is a table of distinct nucleotide sequences (CDR3s, say) with read
counts. The sequences are validated (only ``A``, ``C``, ``G``, ``T`` and ``N``;
no silent upper-casing), coded 0-3 for ``ACGT`` and 4 for ``N``, and grouped by
length: substitution errors keep a read's length, so only sequences of equal
length can be a read and its parent (indels are not modelled).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._validation import as_array, check_counts, check_finite

__all__ = ["SequenceTable", "QualityRows", "read_rows", "ALPHABET", "N_CODE"]

#: the nucleotides, in code order
ALPHABET = "ACGT"
#: code of an unknown base ``N``: against a base it is a mismatch for the
#: distance bound (against another ``N`` it is not); the error model ignores it
N_CODE = 4

_LOOKUP = np.full(256, 255, dtype=np.uint8)
for _code, _base in enumerate("ACGTN"):
    _LOOKUP[ord(_base)] = _code


@dataclass(frozen=True)
class SequenceTable:
    """Distinct sequences with their counts, coded and grouped by length.

    ``text[i]`` and ``counts[i]`` describe sequence ``i``; ``groups`` maps each
    length ``L`` to ``(ids, codes)``: the indices of the sequences of that
    length and their codes, an ``(n_L, L)`` uint8 array.
    """

    text: np.ndarray  # (M,) object array of str
    counts: np.ndarray  # (M,) float read (or molecule) counts, >= 1
    lengths: np.ndarray  # (M,) int
    groups: dict

    @property
    def n_sequences(self) -> int:
        return self.text.size

    @classmethod
    def from_sequences(cls, sequences, counts, *, name: str = "sequences",
                       counts_name: str = "counts") -> SequenceTable:
        """Validate and code ``sequences`` (distinct strings) with ``counts``
        (positive integers, one per sequence)."""
        text = _as_text(sequences, name)
        n = _as_counts(counts, counts_name, text.size)
        _check_distinct(text, name)
        lengths = np.fromiter((len(s) for s in text), dtype=np.int64, count=text.size)
        if np.any(lengths == 0):
            raise ValueError(f"{name}[{int(np.argmax(lengths == 0))}] is an empty string")
        if not all(x.isascii() for x in text):
            bad = next(i for i, x in enumerate(text) if not x.isascii())
            raise ValueError(f"{name}[{bad}] = {text[bad]!r} holds characters other than A, C, G, T, N")
        groups = {}
        for length in np.unique(lengths):
            ids = np.flatnonzero(lengths == length)
            raw = np.array(text[ids].tolist(), dtype=f"S{length}").view(np.uint8).reshape(ids.size, length)
            codes = _LOOKUP[raw]
            if np.any(codes == 255):
                row = int(np.argmax((codes == 255).any(axis=1)))
                _raise_bad_character(text, ids[row], name)
            groups[int(length)] = (ids, codes)
        return cls(text, n, lengths, groups)

    def codes_of(self, i: int) -> np.ndarray:
        """The codes of sequence ``i``."""
        ids, codes = self.groups[int(self.lengths[i])]
        return codes[np.searchsorted(ids, i)]

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({"sequence": self.text, "count": self.counts})


@dataclass(frozen=True)
class QualityRows:
    """The input rows: each a distinct sequence (its index in the
    :class:`SequenceTable`) in one quality class, with its count."""

    sequence: np.ndarray  # (R,) index into the table
    classes: np.ndarray  # (R,) quality class, 0 .. n_classes - 1
    counts: np.ndarray  # (R,)
    labels: tuple  # label of each quality class
    identity: bool  # one row per sequence, in table order (no qualities given)

    @property
    def n_classes(self) -> int:
        return len(self.labels)


def read_rows(sequences, counts, qualities=None, bins=(20.0, 30.0)) -> tuple[SequenceTable, QualityRows]:
    """The table of distinct sequences and the rows of the input.

    Without ``qualities`` each row must be a distinct sequence. With
    ``qualities`` (a mean Phred quality per row) rows fall into quality
    classes cut at ``bins`` (``q < 20``, ``20 <= q < 30``, ``q >= 30`` by
    default; only classes that occur are kept), and a sequence may appear in
    several rows, once per class (reads tabulated by sequence and binned
    quality)."""
    if qualities is None:
        table = SequenceTable.from_sequences(sequences, counts)
        n = table.n_sequences
        return table, QualityRows(np.arange(n), np.zeros(n, dtype=np.int64), table.counts, ("all",), True)
    text = _as_text(sequences, "sequences")
    n = _as_counts(counts, "counts", text.size)
    q = check_finite(as_array(qualities, "qualities", ndim=1), "qualities")
    if q.size != text.size:
        raise ValueError(f"qualities has {q.size} entries but there are {text.size} sequences")
    if np.any(q < 0):
        raise ValueError(f"qualities must be mean Phred scores >= 0; qualities[{int(np.argmax(q < 0))}] is {q[q < 0][0]!r}")
    raw = np.searchsorted(np.asarray(bins, dtype=float), q, side="right")
    present, classes = np.unique(raw, return_inverse=True)
    seq_id, distinct = pd.factorize(pd.Series(text, dtype=object))
    labels = tuple(_class_label(k, bins) for k in present)
    key = seq_id * present.size + classes
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    repeated = np.flatnonzero(first[inverse] != np.arange(key.size))
    if repeated.size:
        i = int(repeated[0])
        raise ValueError(f"sequences[{i}] repeats sequences[{first[inverse[i]]}] ({text[i]!r}) in quality class "
                         f"{labels[classes[i]]}; give each sequence once per quality class with its total count")
    table = SequenceTable.from_sequences(np.asarray(distinct, dtype=object), np.bincount(seq_id, weights=n))
    return table, QualityRows(seq_id.astype(np.int64), classes.astype(np.int64), n, labels, False)


def _class_label(k: int, bins) -> str:
    if k == 0:
        return f"q < {bins[0]:g}"
    if k == len(bins):
        return f"q >= {bins[-1]:g}"
    return f"{bins[k - 1]:g} <= q < {bins[k]:g}"


def _as_text(sequences, name: str) -> np.ndarray:
    if isinstance(sequences, str):
        raise TypeError(f"{name} must be a sequence of strings, not one string")
    if isinstance(sequences, pd.Series):
        sequences = sequences.to_numpy()
    if sequences is None:
        raise TypeError(f"{name} must be a sequence of strings; got None")
    arr = np.asarray(list(sequences), dtype=object)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional; got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty; at least one sequence is needed")
    for i, s in enumerate(arr):
        if not isinstance(s, str):
            raise TypeError(f"{name}[{i}] is {s!r} ({type(s).__name__}); every sequence must be a string")
    return arr


def _as_counts(counts, name: str, size: int) -> np.ndarray:
    n = check_counts(as_array(counts, name, ndim=1), name)
    if n.size != size:
        raise ValueError(f"{name} has {n.size} entries but there are {size} sequences")
    if np.any(n == 0):
        raise ValueError(f"{name}[{int(np.argmax(n == 0))}] is 0: every listed sequence must be observed at least once")
    return n.astype(float)


def _check_distinct(text: np.ndarray, name: str) -> None:
    seen: dict[str, int] = {}
    for i, s in enumerate(text):
        if s in seen:
            raise ValueError(
                f"{name}[{i}] repeats {name}[{seen[s]}] ({s!r}); give each distinct sequence once with its total count"
            )
        seen[s] = i


def _raise_bad_character(text, i, name) -> None:
    bad = sorted({c for c in text[i] if c not in "ACGTN"})
    hint = " (lower case is not accepted; use upper case)" if all(c.upper() in "ACGTN" for c in bad) else ""
    raise ValueError(f"{name}[{i}] = {text[i]!r} holds {bad}: only A, C, G, T and N are allowed{hint}")
