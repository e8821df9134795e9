"""The readers refuse malformed files naming the line, and read good ones."""

import gzip

import numpy as np
import pytest

from latentlab.transcripts.readers import read_kallisto_classes, read_quant_sf, read_salmon_eq_classes

QUANT = "Name\tLength\tEffectiveLength\tTPM\tNumReads\nA\t500\t300.5\t1\t10\nB\t800\t600\t1\t20\n"


def _write(tmp_path, name, text, gz=False):
    path = tmp_path / name
    path.write_bytes(gzip.compress(text.encode()) if gz else text.encode())
    return path


@pytest.mark.parametrize("gz", [False, True])
def test_salmon_classes_with_and_without_weights(tmp_path, gz):
    quant = _write(tmp_path, "quant.sf", QUANT)
    plain = read_salmon_eq_classes(_write(tmp_path, "eq.txt", "2\n2\nA\nB\n1 0 7\n2 0 1 5\n", gz), quant)
    assert plain.transcripts.tolist() == ["A", "B"] and plain.counts.tolist() == [7, 5]
    np.testing.assert_allclose(plain.effective_lengths, [300.5, 600])
    np.testing.assert_allclose(plain.weights, 1.0)
    weighted = read_salmon_eq_classes(_write(tmp_path, "eqw.txt", "2\n2\nA\nB\n1 0 1.0 7\n2 0 1 0.25 0.75 5\n", gz),
                                      quant)
    # salmon's combined weights carry 1 / effective length: multiplied back
    np.testing.assert_allclose(weighted.weights, [300.5, 0.25 * 300.5, 0.75 * 600])


def test_a_salmon_output_folder_is_read(tmp_path):
    (tmp_path / "aux_info").mkdir()
    _write(tmp_path, "quant.sf", QUANT)
    _write(tmp_path / "aux_info", "eq_classes.txt.gz", "2\n1\nA\nB\n2 0 1 4\n", gz=True)
    assert read_salmon_eq_classes(tmp_path).counts.tolist() == [4]


@pytest.mark.parametrize(("text", "words"), [
    ("x\n2\nA\nB\n1 0 7\n", ["line 1", "number of transcripts"]),
    ("2\n2\nA\nB\n1 0 7\n", ["expected 2 transcript names and 2 class lines"]),
    ("2\n2\nA\nB\n1 0 7\n2 0 x 5\n", ["line 6", "not a class line"]),
    ("2\n2\nA\nB\n1 0 7\n3 0 1 5\n", ["line 6", "not a class line"]),
    ("2\n2\nA\nB\n1 0 7\n2 0 9 5\n", ["line 6", "index 9"]),
    ("2\n2\nA\nB\n1 0 -7\n2 0 1 5\n", ["line 5", "count"]),
    ("2\n2\nA\nB\n1 0 7.5\n2 0 1 5\n", ["line 5", "count"]),
    ("2\n2\nA\nC\n1 0 7\n2 0 1 5\n", ["'C'", "quant.sf"]),
    ("2\n2\nA\nB\n1 0 0.5 7\n2 0 1 5\n", ["weights"]),
])
def test_malformed_salmon_classes_are_refused_naming_the_line(tmp_path, text, words):
    quant = _write(tmp_path, "quant.sf", QUANT)
    with pytest.raises(ValueError) as err:
        read_salmon_eq_classes(_write(tmp_path, "eq.txt", text), quant)
    for w in words:
        assert w in str(err.value), err.value


def test_quant_sf_and_folders_are_checked(tmp_path):
    with pytest.raises(ValueError, match="NumReads"):
        read_quant_sf(_write(tmp_path, "q.sf", "Name\tLength\tEffectiveLength\tTPM\nA\t1\t1\t1\n"))
    with pytest.raises(ValueError, match="--dumpEq"):
        read_salmon_eq_classes(tmp_path)
    with pytest.raises(ValueError, match="quant_sf"):
        read_salmon_eq_classes(_write(tmp_path, "eq.txt", "1\n1\nA\n1 0 3\n"))


ABUNDANCE = "target_id\tlength\teff_length\test_counts\ttpm\nA\t500\t310\t8\t1\nB\t800\t610\t9\t1\n"


def test_kallisto_classes_are_read_with_their_lengths(tmp_path):
    ab = _write(tmp_path, "abundance.tsv", ABUNDANCE)
    c = read_kallisto_classes(_write(tmp_path, "p.ec", "0\t0\n1\t1\n2\t0,1\n"), _write(tmp_path, "p.tsv", "0\t3\n2\t5\n"), ab)
    assert c.counts.tolist() == [3, 0, 5]
    np.testing.assert_allclose(c.effective_lengths, [310, 610])


@pytest.mark.parametrize(("ec", "tsv", "words"), [
    ("0\t0\n1\tx\n", "0\t1\n", ["p.ec", "line 2"]),
    ("0\t0\n1\t0,7\n", "0\t1\n", ["p.ec", "line 2", "index 7"]),
    ("0\t0\n", "0\tmany\n", ["p.tsv", "line 1"]),
    ("0\t0\n", "5\t1\n", ["p.tsv", "line 1", "class 5"]),
    ("0\t0\n", "0\t-1\n", ["p.tsv", "line 1"]),
])
def test_malformed_kallisto_files_are_refused_naming_the_line(tmp_path, ec, tsv, words):
    ab = _write(tmp_path, "abundance.tsv", ABUNDANCE)
    with pytest.raises(ValueError) as err:
        read_kallisto_classes(_write(tmp_path, "p.ec", ec), _write(tmp_path, "p.tsv", tsv), ab)
    for w in words:
        assert w in str(err.value), err.value
