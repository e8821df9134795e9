"""Equivalence classes from alignments to the transcriptome (BAM or SAM).

Aligners that map reads to transcript sequences (RSEM's bowtie2 step, salmon
``--writeMappings``, bowtie2 ``-k``) report every transcript a read fits, as
primary and secondary alignments. Each fragment's class is the set of
transcripts it aligns to (as a proper pair, for paired-end reads); the
fragment-length distribution is the empirical one of the fragments that align
to a single transcript; effective lengths follow from it
(:mod:`latentlab.transcripts.lengths`). Reading BAM needs pysam (``pip install
latentlab[bam]``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .classes import EquivalenceClasses
from .lengths import effective_lengths, normal_fragment_lengths

__all__ = ["classes_from_alignments", "AlignedClasses"]

#: fewer single-transcript fragments than this: the empirical distribution is not trusted
MIN_FRAGMENTS_FOR_LENGTHS = 100


@dataclass(frozen=True)
class AlignedClasses:
    """``classes`` built from the alignments; ``fragment_lengths``: the
    fragment-length distribution used for the effective lengths (length,
    probability); ``skipped``: alignment records left out, by reason."""

    classes: EquivalenceClasses
    fragment_lengths: pd.DataFrame
    skipped: dict


def classes_from_alignments(path, *, fragment_length=None, max_fragment_length: int = 1000) -> AlignedClasses:
    """Classes, fragment-length distribution and effective lengths from a
    transcriptome-coordinate BAM/SAM whose alignments are grouped by read
    name (as aligners write them, or after ``samtools sort -n``).

    Paired-end: a fragment counts when its mates align as a proper pair (to
    the same transcript); its length is the template length. Single-end, or
    fewer than 100 fragments on a single transcript: give ``fragment_length``
    as ``(mean, sd)`` (a discretised normal distribution). Unmapped reads,
    supplementary alignments, improper pairs and fragments longer than
    ``max_fragment_length`` are skipped (their records counted in ``skipped``).
    """
    try:
        import pysam
    except ImportError:  # pragma: no cover - the extra is in the test environment
        raise ImportError("reading alignments needs pysam: pip install 'latentlab[bam]'") from None
    counts, lengths_seen, skipped = Counter(), [], Counter()
    with pysam.AlignmentFile(str(path), "r" if str(path).endswith(".sam") else "rb") as bam:
        names = np.asarray(bam.references, dtype=object)
        tx_lengths = np.asarray(bam.lengths, dtype=float)
        if names.size == 0:
            raise ValueError(f"{path}: the header lists no reference sequences (transcripts)")
        for group in _by_name(bam, path):
            targets, frag = _fragment(group, skipped, max_fragment_length)
            if not targets:
                continue
            counts[targets] += 1
            if len(targets) == 1 and frag is not None:
                lengths_seen.append(frag)
    if not counts:
        raise ValueError(f"{path}: no fragment aligned (skipped: {dict(skipped)})")
    f, pf = _distribution(lengths_seen, fragment_length, path)
    eff = effective_lengths(tx_lengths, f, pf)
    keys = list(counts)
    classes = EquivalenceClasses.from_lists(names, eff, [list(k) for k in keys], [counts[k] for k in keys],
                                            lengths=tx_lengths, where=str(path))
    return AlignedClasses(classes, pd.DataFrame({"length": f, "probability": pf}), dict(skipped))


def _by_name(bam, path):
    """Consecutive alignments of each read name; refuses a file whose names
    come back after another name (not grouped by name)."""
    done, current, group = set(), None, []
    for a in bam.fetch(until_eof=True):
        if a.query_name != current:
            if current is not None:
                yield group
                done.add(current)
            if a.query_name in done:
                raise ValueError(f"{path}: the alignments of read {a.query_name!r} are not together; "
                                 "group them by read name (samtools sort -n)")
            current, group = a.query_name, []
        group.append(a)
    if current is not None:
        yield group


def _fragment(group, skipped: Counter, max_length: int):
    """The transcripts (sorted tuple of reference ids) one read or pair aligns
    to, and its fragment length (None for single-end or several lengths)."""
    targets, lengths = set(), set()
    for a in group:
        if a.is_unmapped:
            skipped["unmapped"] += 1
            continue
        if a.is_supplementary:
            skipped["supplementary"] += 1
            continue
        if a.is_paired:
            if not a.is_read1:
                continue
            if not a.is_proper_pair or a.next_reference_id != a.reference_id:
                skipped["improper pair"] += 1
                continue
            tlen = abs(a.template_length)
            if tlen > max_length:
                skipped["longer than max_fragment_length"] += 1
                continue
            lengths.add(tlen)
        targets.add(a.reference_id)
    frag = lengths.pop() if len(lengths) == 1 else None
    return tuple(sorted(targets)), frag


def _distribution(seen, fragment_length, path):
    if fragment_length is not None:
        mean, sd = fragment_length
        return normal_fragment_lengths(float(mean), float(sd))
    if len(seen) < MIN_FRAGMENTS_FOR_LENGTHS:
        raise ValueError(f"{path}: {len(seen)} fragments on a single transcript with a known length, fewer than "
                         f"{MIN_FRAGMENTS_FOR_LENGTHS}; give fragment_length=(mean, sd)")
    hist = np.bincount(np.asarray(seen, dtype=np.int64))
    f = np.flatnonzero(hist)
    return f, hist[f] / hist.sum()
