"""Input checks and the MARK .inp reader."""

import numpy as np
import pandas as pd
import pytest

from latentlab.ecology import CaptureRecapture, as_capture_data, read_inp


def test_tabulates_individual_rows_into_distinct_histories():
    h = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1], [1, 1, 1]])
    data = as_capture_data(h)
    assert data.n_caught == 4 and data.n_occasions == 3
    table = {tuple(r): f for r, f in zip(data.histories, data.freq)}
    assert table == {(1, 0, 1): 2, (0, 1, 0): 1, (1, 1, 1): 1}
    np.testing.assert_array_equal(data.times_caught(), [0, 1, 2, 1])
    np.testing.assert_array_equal(data.caught_per_occasion(), [3, 2, 3])


def test_frequencies_and_dataframe_give_the_same_data():
    df = pd.DataFrame({"a": [1, 0, 1], "b": [0, 1, 1]})
    from_freq = as_capture_data([[1, 0], [0, 1], [1, 1]], freq=[2, 1, 3])
    individual = as_capture_data(pd.concat([df.iloc[[0, 0, 1, 2, 2, 2]]]))
    np.testing.assert_array_equal(from_freq.histories, individual.histories)
    np.testing.assert_array_equal(from_freq.freq, individual.freq)


@pytest.mark.parametrize(
    "histories, freq, match",
    [
        ([[1, 0, 2], [0, 1, 1]], None, r"only 0 .* and 1 .*row 0, occasion 2 is 2"),
        ([[1, 0, 0.5]], None, r"row 0, occasion 2 is 0.5"),
        ([[1, 0, 1], [0, 0, 0]], None, r"row 1 is all zeros: an animal never caught"),
        ([[1, 0], [0, 0]], [3, 2], r"row 1 is all zeros: an history with positive frequency"),
        ([[1], [1]], None, r"1 occasion\(s\); .* at least 2"),
        ([[1, 0], [0, 1]], [2, -1], r"freq must be non-negative"),
        ([[1, 0], [0, 1]], [2, 1.5], r"freq must hold non-negative integer counts"),
        ([[1, 0], [0, 1]], [2], r"freq has length 1 but the data have 2 rows"),
        ([[1, np.nan]], None, r"non-finite entry at row 0, occasion 1"),
        ([1, 0, 1], None, r"must have 2 dimension"),
    ],
)
def test_bad_histories_raise_clear_errors(histories, freq, match):
    with pytest.raises(ValueError, match=match):
        CaptureRecapture("M0").fit(histories, freq)


def test_bad_settings_raise_clear_errors():
    h = [[1, 0], [1, 1], [0, 1]]
    with pytest.raises(ValueError, match="model must be 'M0', 'Mt', 'Mh<K>'"):
        CaptureRecapture("Mb").fit(h)
    with pytest.raises(ValueError, match="K >= 2"):
        CaptureRecapture("Mh1").fit(h)
    with pytest.raises(ValueError, match="cap_factor must be a number > 1"):
        CaptureRecapture("M0", cap_factor=1).fit(h)


INP = """/* deer-mouse style file
   spanning two comment lines */
111111 1 0.1;
100111 2 0.2 ;   /* a trailing comment */

010000 3 0.5 ;
"""


def test_read_inp_parses_records_comments_and_line_numbers():
    inp = read_inp("111111 1  2.5;\n100111 2 -1e-1;\n\n010000 3 0;\n")
    np.testing.assert_array_equal(inp.histories, [[1] * 6, [1, 0, 0, 1, 1, 1], [0, 1, 0, 0, 0, 0]])
    np.testing.assert_array_equal(inp.freq[:, 0], [1, 2, 3])
    np.testing.assert_allclose(inp.covariates[:, 0], [2.5, -0.1, 0.0])
    np.testing.assert_array_equal(inp.line_numbers, [1, 2, 4])
    fit = CaptureRecapture("M0").fit(inp)
    assert fit.n_caught_ == 6


def test_read_inp_groups_and_file_path(tmp_path):
    path = tmp_path / "two_groups.inp"
    path.write_text("/* two groups */\n1100 2 1;\n0011 0 4;\n1010 1 1;\n")
    inp = read_inp(path, n_groups=2)
    assert inp.freq.tolist() == [[2, 1], [0, 4], [1, 1]] and inp.covariates.shape == (3, 0)
    assert inp.capture_data(1).n_caught == 6 and inp.capture_data(0).n_caught == 3
    assert read_inp(str(path), n_groups=2).freq.sum() == 9


@pytest.mark.parametrize(
    "text, match",
    [
        ("1100 1;\n1020 1;\n", r"line 2: the encounter history must be a string of 0 and 1 .*'1020 1;'"),
        ("1100 1;\n0110 1\n", r"line 2: a record must end with ';'"),
        ("1100 1;\n\n0110 x;\n", r"line 3: 'x' is not a number"),
        ("1100 1;\n011 1;\n", r"line 2: 3 occasions and 0 covariates, but the first record has 4 and 0"),
        ("1100 1;\n0110 -2;\n", r"line 2: group frequencies must be non-negative integers"),
        ("1100 1;\n0110 1.5;\n", r"line 2: group frequencies must be non-negative integers"),
        ("1100;\n", r"line 1: expected 1 group frequency"),
        ("/* open\n1100 1;\n", r"comment is not closed"),
        ("/* nothing */\n", r"no records"),
        ("1.00 1;\n", r"line 1: the encounter history"),
    ],
)
def test_malformed_inp_lines_are_named(text, match):
    with pytest.raises(ValueError, match=match):
        read_inp(text)


def test_inp_comment_lines_keep_line_numbers():
    inp = read_inp(INP)
    np.testing.assert_array_equal(inp.line_numbers, [3, 4, 6])
    with pytest.raises(ValueError, match=r"line 6: 1 occasions and 1 covariates, but the first record has 6 and 1"):
        read_inp(INP.replace("010000 3 0.5", "0 3 0.5"))
