"""Classes, fragment lengths and effective lengths from transcriptome alignments."""

import numpy as np
import pysam
import pytest

from latentlab.transcripts.alignments import classes_from_alignments

LENGTHS = {"A": 1000, "B": 1500, "C": 800}


def _pair(bam, name, ref, pos, tlen, secondary=False, proper=True):
    for first in (True, False):
        a = pysam.AlignedSegment(bam.header)
        a.query_name, a.reference_id = name, bam.get_tid(ref)
        a.reference_start = pos if first else pos + tlen - 50
        a.next_reference_id, a.next_reference_start = a.reference_id, pos + tlen - 50 if first else pos
        a.template_length = tlen if first else -tlen
        a.flag = 1 | (2 if proper else 0) | (64 if first else 128) | (32 if first else 16) | (256 if secondary else 0)
        a.cigarstring, a.query_sequence, a.mapping_quality = "50M", "A" * 50, 255
        bam.write(a)


def _write(path, fragments):
    header = {"HD": {"VN": "1.6", "SO": "unsorted"}, "SQ": [{"SN": k, "LN": v} for k, v in LENGTHS.items()]}
    with pysam.AlignmentFile(str(path), "wb", header=header) as bam:
        for name, refs, tlen, proper in fragments:
            for i, ref in enumerate(refs):
                _pair(bam, name, ref, 10, tlen, secondary=i > 0, proper=proper)


def _fragments(rng):
    out = [(f"a{i}", ["A"], int(rng.integers(200, 301)), True) for i in range(150)]
    out += [(f"ab{i}", ["A", "B"], 250, True) for i in range(40)]
    out += [(f"bc{i}", ["C", "B"], 260, True) for i in range(7)]
    out += [("loose", ["C"], 250, False)]
    return out


def test_classes_lengths_and_effective_lengths(tmp_path):
    rng = np.random.default_rng(0)
    frags = _fragments(rng)
    path = tmp_path / "aln.bam"
    _write(path, frags)
    got = classes_from_alignments(path)
    c = got.classes
    classes = {tuple(c.transcripts[c.members[a:b]]): n for a, b, n in zip(c.ptr[:-1], c.ptr[1:], c.counts)}
    assert classes == {("A",): 150, ("A", "B"): 40, ("B", "C"): 7}
    assert got.skipped == {"improper pair": 1}
    # the fragment-length distribution is the empirical one of the single-transcript fragments
    single = np.array([t for _, refs, t, _ in frags[:150]])
    fl = got.fragment_lengths
    np.testing.assert_allclose(fl["probability"], np.bincount(single)[fl["length"]] / single.size)
    for name, length in LENGTHS.items():  # effective length from its definition
        f, p = fl["length"].to_numpy(), fl["probability"].to_numpy()
        fits = f <= length
        expected = (p[fits] * (length - f[fits] + 1)).sum() / p[fits].sum()
        assert c.effective_lengths[list(c.transcripts).index(name)] == pytest.approx(expected)


def test_too_few_fragments_need_a_given_distribution(tmp_path):
    path = tmp_path / "few.bam"
    _write(path, [(f"a{i}", ["A"], 250, True) for i in range(10)])
    with pytest.raises(ValueError, match="fragment_length"):
        classes_from_alignments(path)
    got = classes_from_alignments(path, fragment_length=(250, 25))
    assert got.classes.counts.tolist() == [10]
    assert got.fragment_lengths["probability"].sum() == pytest.approx(1.0)


def test_alignments_not_grouped_by_name_are_refused(tmp_path):
    path = tmp_path / "mixed.bam"
    _write(path, [("r1", ["A"], 250, True), ("r2", ["A"], 250, True), ("r1", ["B"], 250, True)])
    with pytest.raises(ValueError, match="'r1'.*samtools sort -n"):
        classes_from_alignments(path, fragment_length=(250, 25))


def test_classes_from_salmons_own_mappings_are_salmons_classes():
    """salmon 1.10's mappings (--writeMappings) of 20,000 simulated pairs and
    its classes from the same run (data/rnaseq_simulation, made by
    tests/references/transcripts/make_alignment_reference.py)."""
    from pathlib import Path

    from latentlab.transcripts import read_salmon_eq_classes

    sim = Path(__file__).resolve().parents[2] / "data" / "rnaseq_simulation"
    got = classes_from_alignments(sim / "salmon_subset_mappings.bam")
    salmon = read_salmon_eq_classes(sim / "salmon_subset_eq_classes.txt.gz", sim / "salmon_subset_quant.sf.gz")

    def by_set(c):
        return {tuple(sorted(c.transcripts[c.members[a:b]])): n for a, b, n in zip(c.ptr[:-1], c.ptr[1:], c.counts)}

    ours, theirs = by_set(got.classes), by_set(salmon)
    differ = sum(abs(ours.get(k, 0) - theirs.get(k, 0)) for k in set(ours) | set(theirs))
    # salmon also counts a few pairs whose mates are not a proper pair (orphans): 0.1% of fragments at most
    assert differ <= 0.001 * salmon.n_fragments
    # effective lengths from the empirical fragment lengths; salmon smooths its distribution with a prior
    eff = dict(zip(got.classes.transcripts, got.classes.effective_lengths))
    ratio = np.array([eff[t] for t in salmon.transcripts]) / salmon.effective_lengths
    assert np.median(np.abs(ratio - 1)) < 0.02 and np.max(np.abs(ratio - 1)) < 0.05
    mean = (got.fragment_lengths["length"] * got.fragment_lengths["probability"]).sum()
    assert 240 < mean < 255  # simulated Normal(250, 25), long fragments cut at short transcripts
