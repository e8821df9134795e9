"""Aligned DNA sequences: FASTA and relaxed PHYLIP readers, site patterns.

Characters are read case-insensitively. ``A C G T`` (``U`` as ``T``) are
observed states; the IUPAC ambiguity codes are partial data and ``- ? N X``
are missing data. Each character is stored as a 4-bit set of the states it
allows (A = 1, C = 2, G = 4, T = 8), and its tip likelihood is the 0/1 vector
of those bits: ``R`` (A or G) gives ``(1, 0, 1, 0)``, a gap ``(1, 1, 1, 1)``.
So a gap is treated as missing data, as IQ-TREE, RAxML and PhyML do.

Sites with the same characters in every sequence have the same likelihood:
an :class:`Alignment` keeps each distinct column (a *site pattern*) once,
with its number of sites as an integer weight.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["Alignment", "read_alignment", "as_alignment", "IUPAC"]

#: the states allowed by each character (missing data: all four)
IUPAC = {
    "A": "A", "C": "C", "G": "G", "T": "T", "U": "T",
    "R": "AG", "Y": "CT", "S": "CG", "W": "AT", "K": "GT", "M": "AC",
    "B": "CGT", "D": "AGT", "H": "ACT", "V": "ACG",
    "N": "ACGT", "X": "ACGT", "-": "ACGT", "?": "ACGT",
}
_CODE = np.zeros(256, dtype=np.uint8)  # byte -> state bits (0: not a DNA character)
for _char, _states in IUPAC.items():
    for _case in {_char, _char.lower()}:
        _CODE[ord(_case)] = sum(1 << "ACGT".index(s) for s in _states)
#: tip likelihoods (16, 4) of each 4-bit state set
BITS = ((np.arange(16)[:, None] >> np.arange(4)) & 1).astype(float)
MIN_TAXA = 3


@dataclass(frozen=True)
class Alignment:
    """Aligned DNA sequences compressed to site patterns.

    Attributes
    ----------
    names : tuple of the sequence names, in file order.
    patterns : (n_taxa, n_patterns) uint8 array, each entry the set of states
        a character allows (bits A = 1, C = 2, G = 4, T = 8; 15 missing).
    weights : (n_patterns,) number of sites showing each pattern.
    site_patterns : (n_sites,) the pattern of each site, in site order (None
        for an alignment built from patterns alone).
    partials : (n_taxa, n_patterns, 4) tip likelihoods (0/1), from ``patterns``.
    """

    names: tuple[str, ...]
    patterns: np.ndarray
    weights: np.ndarray
    site_patterns: np.ndarray | None = field(default=None, repr=False, compare=False)
    partials: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "partials", np.ascontiguousarray(BITS[self.patterns]))

    @property
    def n_taxa(self) -> int:
        return len(self.names)

    @property
    def n_patterns(self) -> int:
        return int(self.weights.size)

    @property
    def n_sites(self) -> int:
        return int(self.weights.sum())

    @classmethod
    def from_sequences(cls, sequences: Mapping[str, str] | Iterable[tuple[str, str]]) -> Alignment:
        """An alignment from ``{name: sequence}`` or ``(name, sequence)`` pairs
        (checked as :func:`read_alignment` checks a file)."""
        pairs = list(sequences.items() if isinstance(sequences, Mapping) else sequences)
        return _from_pairs(pairs)

    def take(self, names) -> Alignment:
        """The same alignment with its sequences in the order of ``names``
        (which must be exactly this alignment's names)."""
        names = tuple(names)
        missing = sorted(set(names) - set(self.names))
        extra = sorted(set(self.names) - set(names))
        if missing or extra or len(names) != len(self.names):
            raise ValueError(
                f"the tree's tips and the alignment's sequences differ: tips without a sequence {missing}, "
                f"sequences without a tip {extra}"
            )
        index = {n: i for i, n in enumerate(self.names)}
        return Alignment(names, self.patterns[[index[n] for n in names]], self.weights, self.site_patterns)

    def base_frequencies(self) -> np.ndarray:
        """Empirical frequencies of A, C, G, T over all sequences and sites.

        Missing characters are left out; an ambiguity code counts as an equal
        share of each state it allows (``R`` as half an A and half a G)."""
        allowed = BITS[self.patterns]  # (n_taxa, n_patterns, 4)
        n_allowed = allowed.sum(axis=2, keepdims=True)
        share = np.where(n_allowed < 4, allowed / n_allowed, 0.0)
        counts = np.einsum("tpa,p->a", share, self.weights)
        if counts.sum() == 0:
            raise ValueError("the alignment holds no observed nucleotide: every character is missing")
        return counts / counts.sum()


def read_alignment(source) -> Alignment:
    """Read aligned DNA from FASTA or relaxed PHYLIP (sequential or interleaved).

    ``source`` is a path (``str`` or ``os.PathLike``) or the text of the file
    itself (a string holding a line break). The format is recognised from the
    first line: ``>name`` starts FASTA, two integers (taxa, sites) PHYLIP.

    FASTA: the name is the first word of each ``>`` line; the sequence is the
    following lines with white space removed. Relaxed PHYLIP: a line ``ntax
    nchar``, then each sequence as a name, white space and its characters
    (spaces inside a sequence are ignored), either one sequence after another
    (each possibly over several lines) or interleaved (the first block with
    names, then blocks of further characters in the same order).

    Raises ``ValueError`` naming the sequence for unequal lengths, an unknown
    character (with its position), a duplicate name, or fewer than 3 sequences.
    """
    text = _source_text(source)
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        raise ValueError("the alignment is empty: no sequences found")
    if lines[0].startswith(">"):
        pairs = _parse_fasta(lines)
    elif len(lines[0].split()) == 2 and all(tok.isdigit() for tok in lines[0].split()):
        pairs = _parse_phylip(lines)
    else:
        raise ValueError(
            f"not an alignment in FASTA (first line '>name') or PHYLIP (first line 'ntax nchar'): "
            f"the first line is {lines[0][:60]!r}"
        )
    return _from_pairs(pairs)


def _source_text(source) -> str:
    """The text of ``source``: a path, or the file's text itself."""
    if isinstance(source, os.PathLike) or (isinstance(source, str) and "\n" not in source
                                            and not source.lstrip().startswith(">")):
        path = Path(source)
        if not path.is_file():
            raise ValueError(f"alignment file {str(path)!r} not found (pass a path or the text of the alignment)")
        return path.read_text()
    if not isinstance(source, str):
        raise TypeError(f"the alignment must be a path or the text of a FASTA/PHYLIP file; got {type(source).__name__}")
    return source


def _parse_fasta(lines: list[str]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, list[str]]] = []
    for line in lines:
        if line.startswith(">"):
            words = line[1:].split()
            if not words:
                raise ValueError(f"FASTA record {len(pairs) + 1} has no name after '>'")
            pairs.append((words[0], []))
        else:
            pairs[-1][1].append("".join(line.split()))
    return [(name, "".join(chunks)) for name, chunks in pairs]


def _parse_phylip(lines: list[str]) -> list[tuple[str, str]]:
    ntax, nchar = (int(tok) for tok in lines[0].split())
    body = lines[1:]
    if len(body) < ntax:
        raise ValueError(f"the PHYLIP header announces {ntax} sequences but only {len(body)} lines follow it")
    for layout in (_phylip_sequential, _phylip_interleaved):
        pairs = layout(body, ntax, nchar)
        if pairs is not None and all(len(seq) == nchar for _, seq in pairs):
            return pairs
    # neither layout fits: report the sequences of the first block (one line each)
    pairs = _phylip_interleaved(body, ntax, nchar) or [_name_and_characters(line) for line in body[:ntax]]
    bad = next(((name, len(seq)) for name, seq in pairs if len(seq) != nchar), None)
    if bad is None:  # each of the first lines is a whole sequence, but more lines follow than either layout reads
        raise ValueError(f"the PHYLIP header announces {ntax} sequences of {nchar} sites, but {len(body)} lines "
                         "follow it, which is neither the sequential nor the interleaved layout")
    raise ValueError(
        f"sequence {bad[0]!r} has {bad[1]} characters but the PHYLIP header announces {nchar} sites "
        f"(sequences of unequal length, or a layout that is neither sequential nor interleaved)"
    )


def _name_and_characters(line: str) -> tuple[str, str]:
    parts = line.split(None, 1)
    return parts[0], "".join(parts[1].split()) if len(parts) > 1 else ""


def _phylip_sequential(body, ntax, nchar):
    """Each sequence in turn: a name line, then more lines until ``nchar`` characters."""
    pairs, i = [], 0
    for _ in range(ntax):
        if i >= len(body):
            return None
        name, seq = _name_and_characters(body[i])
        i += 1
        while len(seq) < nchar and i < len(body):
            seq += "".join(body[i].split())
            i += 1
        pairs.append((name, seq))
    return pairs if i == len(body) else None


def _phylip_interleaved(body, ntax, nchar):
    """A first block of ``ntax`` name lines, then blocks of characters in the same order."""
    if len(body) % ntax:
        return None
    pairs = [_name_and_characters(line) for line in body[:ntax]]
    seqs = [[seq] for _, seq in pairs]
    for k, line in enumerate(body[ntax:]):
        seqs[k % ntax].append("".join(line.split()))
    return [(name, "".join(chunks)) for (name, _), chunks in zip(pairs, seqs)]


def _from_pairs(pairs: list[tuple[str, str]]) -> Alignment:
    """Check (name, sequence) pairs and compress them to site patterns."""
    seen: dict[str, int] = {}
    for k, (name, _) in enumerate(pairs):
        if not isinstance(name, str) or not name:
            raise ValueError(f"sequence {k + 1} has no name")
        if name in seen:
            raise ValueError(f"duplicate sequence name {name!r} (sequences {seen[name] + 1} and {k + 1})")
        seen[name] = k
    if len(pairs) < MIN_TAXA:
        raise ValueError(f"an alignment needs at least {MIN_TAXA} sequences for an unrooted tree; got {len(pairs)}")
    first_name, first = pairs[0]
    for name, seq in pairs:
        if not isinstance(seq, str):
            raise TypeError(f"sequence {name!r} must be a string of nucleotides; got {type(seq).__name__}")
        if len(seq) != len(first):
            raise ValueError(
                f"sequences of unequal length: {name!r} has {len(seq)} characters, {first_name!r} has {len(first)}"
            )
    if not first:
        raise ValueError("the sequences are empty: an alignment needs at least one site")
    codes = np.empty((len(pairs), len(first)), dtype=np.uint8)
    for k, (name, seq) in enumerate(pairs):
        raw = np.frombuffer(seq.encode("utf-8", "replace"), dtype=np.uint8)
        if raw.size != len(seq):  # a character outside ASCII
            pos = next(i for i, ch in enumerate(seq) if ord(ch) > 127)
            raise ValueError(f"sequence {name!r} has the unknown character {seq[pos]!r} at site {pos + 1}")
        codes[k] = _CODE[raw]
        bad = np.flatnonzero(codes[k] == 0)
        if bad.size:
            raise ValueError(
                f"sequence {name!r} has the unknown character {seq[bad[0]]!r} at site {bad[0] + 1} "
                f"(DNA: A C G T U, IUPAC ambiguity codes, - ? N X for missing)"
            )
    return compress(tuple(name for name, _ in pairs), codes)


def compress(names: tuple[str, ...], codes: np.ndarray) -> Alignment:
    """The site patterns of ``codes`` (n_taxa, n_sites) of state bits, with their counts."""
    patterns, site_patterns, weights = np.unique(codes, axis=1, return_inverse=True, return_counts=True)
    return Alignment(names, np.ascontiguousarray(patterns), weights.astype(np.int64), site_patterns.ravel())


def as_alignment(alignment) -> Alignment:
    """``alignment`` if it is an :class:`Alignment`, else read from FASTA/PHYLIP text or a path."""
    return alignment if isinstance(alignment, Alignment) else read_alignment(alignment)
