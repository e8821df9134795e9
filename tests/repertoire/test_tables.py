"""Sequence validation, the readers, diversity and the fixed-ratio baseline."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import entropy

from latentlab.repertoire import collapse_by_ratio, diversity, read_airr, read_counts
from latentlab.repertoire.sequences import SequenceTable


@pytest.mark.parametrize(("sequences", "counts", "words"), [
    (["ACGT", "ACGX"], [1, 2], ["sequences[1]", "'X'"]),
    (["ACGT", "acgt"], [1, 2], ["sequences[1]", "upper case"]),
    (["ACGT", "AC-T"], [1, 2], ["sequences[1]", "'-'"]),
    (["ACGT", "ACGÉ"], [1, 2], ["sequences[1]"]),
    (["ACGT", ""], [1, 2], ["sequences[1]", "empty"]),
    (["ACGT", "ACGT"], [1, 2], ["repeats", "sequences[0]"]),
    (["ACGT", 5], [1, 2], ["sequences[1]", "string"]),
    ("ACGT", [1], ["one string"]),
    ([], [], ["empty"]),
    (["ACGT", "ACGA"], [1, -2], ["counts", "negative"]),
    (["ACGT", "ACGA"], [1, 0], ["counts[1]", "at least once"]),
    (["ACGT", "ACGA"], [1, 2.5], ["counts", "non-integer"]),
    (["ACGT", "ACGA"], [1], ["counts", "2 sequences"]),
    (["ACGT", "ACGA"], [1, np.nan], ["counts"]),
])
def test_bad_tables_are_refused_naming_the_problem(sequences, counts, words):
    with pytest.raises((ValueError, TypeError)) as err:
        SequenceTable.from_sequences(sequences, counts)
    for w in words:
        assert w in str(err.value), err.value


def test_sequences_are_coded_and_grouped_by_length():
    table = SequenceTable.from_sequences(["ACGTN", "TT", "GGCCA"], [3, 1, 2])
    ids, codes = table.groups[5]
    np.testing.assert_array_equal(ids, [0, 2])
    np.testing.assert_array_equal(codes, [[0, 1, 2, 3, 4], [2, 2, 1, 1, 0]])
    np.testing.assert_array_equal(table.codes_of(1), [3, 3])


def test_diversity_follows_its_definitions():
    d = diversity([1, 1, 2, 5, 11])
    assert d["richness"] == 5
    assert d["chao1"] == 5 + 2 * 1 / (2 * (1 + 1))
    assert d["shannon"] == pytest.approx(entropy([1, 1, 2, 5, 11]))
    p = np.array([1, 1, 2, 5, 11]) / 20
    assert d["simpson"] == pytest.approx(1 - (p ** 2).sum())


def test_collapse_by_ratio_merges_into_a_tenfold_neighbour_only():
    seqs = ["AAAAAA", "AAAAAC", "AAAACC", "CCCCCC", "CCCCCA"]
    out = collapse_by_ratio(seqs, [100, 10, 1, 50, 6]).set_index("sequence")["count"]
    # AAAAAC (10) joins AAAAAA (100); AAAACC (1) joins AAAAAC and so AAAAAA;
    # CCCCCA (6) is not ten times rarer than CCCCCC (50) and stays
    assert out.to_dict() == {"AAAAAA": 111, "CCCCCC": 50, "CCCCCA": 6}


def test_read_airr_sums_reads_and_molecules_per_sequence(tmp_path):
    path = tmp_path / "rearrangements.tsv"
    path.write_text("sequence_id\tjunction\tduplicate_count\tumi_count\n"
                    "r1\tTGTGCC\t10\t2\nr2\tTGTGCA\t3\t1\nr3\tTGTGCC\t5\t1\n")
    out = read_airr(path)
    assert out.to_dict("list") == {"sequence": ["TGTGCC", "TGTGCA"], "count": [15, 3], "umi_count": [3, 1]}


def test_read_airr_counts_rows_without_duplicate_count(tmp_path):
    path = tmp_path / "rearrangements.tsv"
    path.write_text("sequence_id\tjunction\nr1\tTGT\nr2\tTGT\nr3\tTGA\n")
    assert read_airr(path).to_dict("list") == {"sequence": ["TGT", "TGA"], "count": [2, 1]}


@pytest.mark.parametrize(("text", "words"), [
    ("sequence_id\tjunction\tduplicate_count\nr1\tTGT\tmany\n", ["duplicate_count", "row 1", "many"]),
    ("sequence_id\tjunction\tduplicate_count\nr1\tTGT\t2\nr2\t\t3\n", ["junction", "row 2", "empty"]),
    ("sequence_id\tjunction\tduplicate_count\nr1\tTGT\t-2\n", ["duplicate_count", "negative"]),
    ("sequence_id\tcdr3\nr1\tTGT\n", ["junction", "cdr3"]),
])
def test_read_airr_refuses_bad_rows_naming_them(tmp_path, text, words):
    path = tmp_path / "bad.tsv"
    path.write_text(text)
    with pytest.raises(ValueError) as err:
        read_airr(path)
    for w in words:
        assert w in str(err.value), err.value


def test_read_counts_takes_a_table_with_or_without_header(tmp_path):
    a, b = tmp_path / "a.tsv", tmp_path / "b.csv"
    a.write_text("ACGT\t5\nACGA\t2\nACGT\t1\n")
    b.write_text("cdr3,reads\nACGT,5\nACGA,2\n")
    assert read_counts(a).to_dict("list") == {"sequence": ["ACGT", "ACGA"], "count": [6, 2]}
    pd.testing.assert_frame_equal(read_counts(b, sep=","), pd.DataFrame({"sequence": ["ACGT", "ACGA"], "count": [5, 2]}))


def test_read_counts_refuses_a_third_column(tmp_path):
    path = tmp_path / "c.tsv"
    path.write_text("ACGT\t5\tx\n")
    with pytest.raises(ValueError, match="2 columns"):
        read_counts(path)
