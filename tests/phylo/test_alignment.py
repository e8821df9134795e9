"""Alignment readers: FASTA and relaxed PHYLIP (sequential, interleaved),
gaps and ambiguity codes as partial data, site patterns, clear errors."""

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from latentlab.phylo import Alignment, read_alignment

DATA = Path(__file__).resolve().parents[2] / "data" / "phylo"
SEQS = {"alpha": "ACGTRYNACG", "beta": "ACGTAC-ACG", "gamma": "acgtAC?ACT", "delta": "ACGAACGACG"}
FASTA = "".join(f">{name} some description\n{seq[:6]}\n{seq[6:]}\n" for name, seq in SEQS.items())
SEQUENTIAL = "4 10\n" + "".join(f"{name}  {seq}\n" for name, seq in SEQS.items())
SEQUENTIAL_WRAPPED = "4 10\n" + "".join(f"{name} {seq[:4]}\n{seq[4:]}\n" for name, seq in SEQS.items())
INTERLEAVED = "4 10\n" + "".join(f"{name} {seq[:5]}\n" for name, seq in SEQS.items()) + "\n" + \
    "".join(f"{seq[5:7]} {seq[7:]}\n" for seq in SEQS.values())


@pytest.mark.parametrize("text", [FASTA, SEQUENTIAL, SEQUENTIAL_WRAPPED, INTERLEAVED],
                         ids=["fasta", "phylip-sequential", "phylip-sequential-wrapped", "phylip-interleaved"])
def test_every_format_reads_the_same_alignment(text):
    aln = read_alignment(text)
    want = Alignment.from_sequences(SEQS)
    assert aln.names == tuple(SEQS)
    np.testing.assert_array_equal(aln.patterns, want.patterns)
    np.testing.assert_array_equal(aln.weights, want.weights)


def test_patterns_are_compressed_with_counts_of_the_distinct_columns():
    aln = Alignment.from_sequences(SEQS)
    counts = Counter(tuple(c.upper() for c in col) for col in zip(*SEQS.values()))  # no '-' vs '?' clash here
    assert aln.n_sites == 10 and aln.n_patterns == len(counts)
    assert sorted(aln.weights) == sorted(counts.values())


def test_gaps_and_ambiguity_codes_are_partial_tip_likelihoods():
    aln = Alignment.from_sequences({"a": "AR-N?Y", "b": "ACGTAC", "c": "ACGTAC"})
    tips = {tuple(v) for v in aln.partials[0]}
    assert tips == {(1, 0, 0, 0), (1, 0, 1, 0), (1, 1, 1, 1), (0, 1, 0, 1)}


def test_empirical_frequencies_skip_gaps_and_split_ambiguity():
    aln = Alignment.from_sequences({"a": "AR-", "b": "AC-", "c": "GT-"})
    # A: 1 + 1/2 + 1, C: 1, G: 1/2 + 1, T: 1 over 6 observed characters
    np.testing.assert_allclose(aln.base_frequencies(), np.array([2.5, 1.0, 1.5, 1.0]) / 6.0)


def test_primates_reads_from_a_path():
    aln = read_alignment(DATA / "primates.fasta")
    assert aln.n_taxa == 14 and aln.n_sites == 232
    assert aln.names[0] == "Mouse" and "Crab-E.Mac" in aln.names


def test_a_tab_after_the_name_separates_it_from_the_characters():
    aln = read_alignment("3 8\na\tACGT ACGT\nb ACGTACGT\nc ACGTACGT\n")
    assert aln.names == ("a", "b", "c") and aln.n_sites == 8


BAD = [
    ("unequal lengths (FASTA)", ">a\nACGT\n>b\nACG\n>c\nACGT\n", "'b'"),
    ("unequal lengths (PHYLIP)", "3 4\na ACGT\nb ACG\nc ACGT\n", "'b'"),
    ("more PHYLIP lines than sequences", "3 4\na ACGT\nb ACGT\nc ACGT\nd ACGT\n", "neither the sequential nor"),
    ("unknown character", ">a\nACGT\n>b\nACJT\n>c\nACGT\n", "'b' has the unknown character 'J' at site 3"),
    ("unknown non-ASCII character", ">a\nACGT\n>b\nACGT\n>c\nAC\u00e9T\n", "'c'"),
    ("duplicate names", ">a\nACGT\n>b\nACGT\n>a\nACGT\n", "duplicate sequence name 'a'"),
    ("two taxa", ">a\nACGT\n>b\nACGT\n", "at least 3"),
    ("not an alignment", "hello world\nagain\n", "FASTA"),
    ("record without a name", ">\nACGT\n>b\nACGT\n>c\nACGT\n", "no name"),
    ("PHYLIP with too few lines", "4 4\na ACGT\nb ACGT\n", "4 sequences"),
    ("no such file", "no_such_alignment.fasta", "not found"),
]


@pytest.mark.parametrize(("label", "text", "words"), BAD, ids=[b[0] for b in BAD])
def test_bad_alignments_get_a_clear_error(label, text, words):
    with pytest.raises(ValueError, match=None) as err:
        read_alignment(text)
    assert words in str(err.value), str(err.value)


def test_from_sequences_names_the_sequence_that_is_not_text():
    with pytest.raises(TypeError, match="'b'"):
        Alignment.from_sequences([("a", "ACGT"), ("b", 1234), ("c", "ACGT")])


def test_take_reorders_and_refuses_other_names():
    aln = Alignment.from_sequences(SEQS)
    moved = aln.take(["delta", "alpha", "gamma", "beta"])
    np.testing.assert_array_equal(moved.patterns[1], aln.patterns[0])
    with pytest.raises(ValueError, match="omega"):
        aln.take(["alpha", "beta", "gamma", "omega"])
