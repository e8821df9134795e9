"""A simulated repertoire with known truth: clone sizes from a power law, PCR
amplification with errors shared down the amplification tree, then
sequencing errors."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._validation import check_fraction, check_positive_int
from ..em import as_generator
from .sequences import ALPHABET

__all__ = ["simulate_repertoire", "SimulatedRepertoire"]

_ASCII = np.frombuffer(ALPHABET.encode(), dtype=np.uint8)
#: Phred scores given to the reads of the two quality classes
HIGH_QUALITY, LOW_QUALITY = 35, 20


@dataclass(frozen=True)
class SimulatedRepertoire:
    """``observed``: distinct read sequences with counts (columns sequence,
    count; with low-quality reads also quality, the reads' Phred score, and
    one row per sequence and quality); ``truth``: the clonotypes (sequence,
    share: its probability of giving a read, reads: reads that came from it,
    parent: the clonotype a family member was derived from, -1 for none);
    ``read_error_rate``: the realised fraction of read bases that differ from
    their clonotype (PCR and sequencing errors together), and
    ``read_error_rates`` the same by quality."""

    observed: pd.DataFrame
    truth: pd.DataFrame
    read_error_rate: float
    read_error_rates: dict


def simulate_repertoire(
    n_clonotypes: int = 10_000,
    n_reads: int = 1_000_000,
    error_rate: float = 0.01,
    *,
    exponent: float = 2.5,
    lengths=(33, 36, 39, 42, 45, 48, 51),
    family_fraction: float = 0.05,
    pcr_cycles: int = 25,
    pcr_error_rate: float = 1e-5,
    reads_per_template: float = 5.0,
    low_quality_fraction: float = 0.0,
    low_quality_error_rate: float = 0.03,
    random_state=None,
) -> SimulatedRepertoire:
    """Simulate reads from a repertoire of ``n_clonotypes`` receptor sequences.

    1. Clonotypes: random nucleotide sequences, lengths drawn uniformly from
       ``lengths``; a ``family_fraction`` of them are instead copies of an
       earlier clonotype with 1 to 3 substitutions (convergent or related
       clonotypes, the hard cases for denoising).
    2. Sizes: clone shares proportional to Pareto draws with density exponent
       ``exponent`` (``P(size > x) ~ x^-(exponent - 1)``); reads per clone are
       multinomial(``n_reads``, shares).
    3. PCR: each clone's reads come from ``ceil(reads / reads_per_template)``
       template molecules; each read is a random leaf of its template's
       amplification tree of ``pcr_cycles`` doublings, and every branch of
       that tree gains a substitution at rate ``pcr_error_rate`` per base,
       inherited by all reads below it (early errors are shared by many).
    4. Sequencing: each base is misread with probability ``error_rate`` as
       one of the other three bases; a ``low_quality_fraction`` of the reads
       (Phred 20, against 35 for the others) at ``low_quality_error_rate``.
    """
    n_clonotypes = check_positive_int(n_clonotypes, "n_clonotypes")
    n_reads = check_positive_int(n_reads, "n_reads")
    check_fraction(error_rate, "error_rate", upper=0.75)
    check_fraction(family_fraction, "family_fraction")
    check_fraction(pcr_error_rate, "pcr_error_rate", upper=0.75)
    check_fraction(low_quality_fraction, "low_quality_fraction")
    check_fraction(low_quality_error_rate, "low_quality_error_rate", upper=0.75)
    if not exponent > 2:
        raise ValueError(f"exponent must be > 2 (a finite mean clone size); got {exponent!r}")
    rng = as_generator(random_state)
    clones, clone_len, parent = _clonotypes(n_clonotypes, np.asarray(lengths, dtype=np.int64), family_fraction, rng)
    shares = rng.pareto(exponent - 1.0, n_clonotypes) + 1.0
    shares /= shares.sum()
    reads_per_clone = rng.multinomial(n_reads, shares)
    clone_of_read = np.repeat(np.arange(n_clonotypes), reads_per_clone)
    reads = clones[clone_of_read].copy()
    read_len = clone_len[clone_of_read]
    _pcr_errors(reads, read_len, clone_of_read, reads_per_clone, pcr_cycles, pcr_error_rate, reads_per_template, rng)
    quality = np.where(rng.random(n_reads) < low_quality_fraction, LOW_QUALITY, HIGH_QUALITY)
    _sequencing_errors(reads, read_len, np.where(quality == LOW_QUALITY, low_quality_error_rate, error_rate), rng)
    valid = np.arange(reads.shape[1]) < read_len[:, None]
    wrong = ((reads != clones[clone_of_read]) & valid).sum(axis=1)
    realised = {int(q): float(wrong[quality == q].sum() / read_len[quality == q].sum()) for q in np.unique(quality)}
    truth = pd.DataFrame({"sequence": _text(clones, clone_len), "share": shares, "reads": reads_per_clone,
                          "parent": parent})
    observed = _tabulate(reads, read_len, quality if low_quality_fraction > 0 else None)
    return SimulatedRepertoire(observed, truth, float(wrong.sum() / read_len.sum()), realised)


def _clonotypes(n, lengths, family_fraction, rng):
    """Distinct clonotype codes (padded, shape (n, max length)), their
    lengths, and the parent of each family member (-1 for none)."""
    width = int(lengths.max())
    codes = rng.integers(0, 4, size=(n, width), dtype=np.uint8)
    clone_len = rng.choice(lengths, size=n)
    parent = np.full(n, -1)
    for k in np.flatnonzero(rng.random(n) < family_fraction):
        if k == 0:
            continue
        p = int(rng.integers(0, k))
        parent[k], clone_len[k] = p, clone_len[p]
        codes[k] = codes[p]
        pos = rng.choice(clone_len[p], size=int(rng.integers(1, 4)), replace=False)
        codes[k, pos] = (codes[k, pos] + rng.integers(1, 4, size=pos.size)) % 4
    codes[np.arange(width) >= clone_len[:, None]] = 0
    text = _text(codes, clone_len)
    _, first = np.unique(text, return_index=True)
    if first.size < n:  # a random collision: redraw (vanishingly rare at these lengths)
        return _clonotypes(n, lengths, family_fraction, rng)
    return codes, clone_len, parent


def _pcr_errors(reads, read_len, clone_of_read, reads_per_clone, cycles, rate, per_template, rng) -> None:
    """Add PCR errors in place: a read's lineage is the path to a random leaf
    of its template's tree; the branch at cycle ``c`` is shared by every read
    of the template whose leaf agrees on the first ``c`` bits."""
    if rate == 0 or cycles == 0:
        return
    templates = np.maximum(np.ceil(reads_per_clone / per_template).astype(np.int64), 1)
    first_template = np.concatenate([[0], np.cumsum(templates)[:-1]])
    template = first_template[clone_of_read] + rng.integers(0, templates[clone_of_read])
    leaf = rng.integers(0, 2 ** cycles, size=reads.shape[0], dtype=np.int64)
    for c in range(1, cycles + 1):
        branch, inverse = np.unique(template * 2 ** c + (leaf >> (cycles - c)), return_inverse=True)
        first_read = np.zeros(branch.size, dtype=np.int64)
        first_read[inverse[::-1]] = np.arange(reads.shape[0])[::-1]
        hit = np.flatnonzero(rng.random(branch.size) < -np.expm1(-rate * read_len[first_read]))
        if hit.size == 0:
            continue
        pos = (rng.random(hit.size) * read_len[first_read[hit]]).astype(np.int64)
        shift = rng.integers(1, 4, size=hit.size)
        error_of_branch = np.full(branch.size, -1)
        error_of_branch[hit] = np.arange(hit.size)
        affected = np.flatnonzero(error_of_branch[inverse] >= 0)
        e = error_of_branch[inverse[affected]]
        reads[affected, pos[e]] = (reads[affected, pos[e]] + shift[e]) % 4


def _sequencing_errors(codes, lengths, rates, rng, chunk=200_000) -> None:
    """Misread each base (within each row's length) with its row's
    probability ``rates`` as one of the other three, in place (in chunks of
    rows, to bound memory)."""
    for lo in range(0, codes.shape[0], chunk):
        rows = codes[lo:lo + chunk]
        mask = (rng.random(rows.shape) < rates[lo:lo + chunk, None]) \
            & (np.arange(rows.shape[1]) < lengths[lo:lo + chunk, None])
        rows[mask] = (rows[mask] + rng.integers(1, 4, size=int(mask.sum()), dtype=np.uint8)) % 4


def _text(codes, lengths) -> np.ndarray:
    ascii_ = _ASCII[codes]
    return np.array([row[:n].tobytes().decode() for row, n in zip(ascii_, lengths)], dtype=object)


def _tabulate(reads, lengths, quality=None) -> pd.DataFrame:
    """Distinct reads (by sequence, and by quality if given) with their
    counts, most abundant first."""
    parts = []
    groups = [(None, np.ones(lengths.size, bool))] if quality is None else \
        [(q, quality == q) for q in (HIGH_QUALITY, LOW_QUALITY)]
    for q, in_group in groups:
        for length in np.unique(lengths[in_group]):
            rows = np.ascontiguousarray(_ASCII[reads[in_group & (lengths == length), :length]])
            values, counts = np.unique(rows.view(f"S{length}").ravel(), return_counts=True)
            part = pd.DataFrame({"sequence": values.astype(str).astype(object), "count": counts})
            if q is not None:
                part.insert(1, "quality", q)
            parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["count", "sequence"], ascending=[False, True], kind="stable").reset_index(drop=True)
