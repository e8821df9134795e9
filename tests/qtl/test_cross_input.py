"""Reading crosses, and the bad inputs issue 17 names: markers out of
order, a genotype code the cross does not have, phenotypes with NaN
(dropped and reported), a chromosome with one marker."""

import io

import numpy as np
import pandas as pd
import pytest

from latentlab.qtl import IntervalMapping, genotype_probabilities, make_cross, read_cross_csv

CSV = """trait,sex,m1,m2,m3,m4,m5
,,1,1,1,2,X
,,0,10,25,5,3
1.2,male,A,H,H,A,A
0.7,male,H,H,-,H,B
2.5,male,A,A,A,-,A
1.1,male,H,-,H,A,B
"""


def _read(text, **kw):
    return read_cross_csv(io.StringIO(text), **kw)


def test_reads_rqtl_csv():
    cross = _read(CSV)
    assert cross.cross_type == "bc" and cross.chromosome_names == ["1", "2", "X"]
    assert cross.chromosome("1").genotypes.tolist() == [[1, 2, 2], [2, 2, 0], [1, 1, 1], [2, 0, 2]]
    # males on the X: AA -> g1 (AY), BB -> g2 (BY)
    assert cross.chromosome("X").genotypes[:, 0].tolist() == [1, 2, 1, 2]
    assert cross.sex.tolist() == [1, 1, 1, 1]
    assert cross.markers()["position"].tolist() == [0, 10, 25, 5, 3]


def test_markers_out_of_order_are_refused():
    with pytest.raises(ValueError, match=r"out of order on chromosome 1: 'm2' at 30 cM follows 'm1' at 40"):
        _read(CSV.replace(",,0,10,25,5,3", ",,40,30,25,5,3"))


def test_a_genotype_code_the_cross_does_not_have_is_refused():
    with pytest.raises(ValueError, match=r"marker 'm2' is BB, a genotype a 'bc' cross does not have"):
        _read(CSV.replace("1.2,male,A,H", "1.2,male,A,B"), cross_type="bc")
    with pytest.raises(ValueError, match=r"'Q', which is not a genotype code"):
        _read(CSV.replace("1.2,male,A,H", "1.2,male,A,Q"))


def test_a_male_heterozygote_on_x_is_refused():
    with pytest.raises(ValueError, match="X marker 'm5', a genotype a male"):
        _read(CSV.replace("2.5,male,A,A,A,-,A", "2.5,male,A,A,A,-,H"))


def test_phenotypes_with_nan_are_dropped_and_reported():
    cross = _read(CSV.replace("0.7,male", "NA,male"))
    with pytest.warns(UserWarning, match="1 individual.* dropped"):
        scan = IntervalMapping("hk", step=5).fit(cross, "trait")
    assert scan.dropped_.tolist() == [1]
    assert scan.n_obs_ == 3


def test_a_one_marker_chromosome_warns_and_is_scanned_at_its_marker():
    cross = _read(CSV)
    with pytest.warns(UserWarning, match="chromosome 2 has one marker"):
        probs = genotype_probabilities(cross, step=1)
    assert probs[1].positions.tolist() == [5.0]


def test_dataframe_interface_equals_the_reader():
    cross = _read(CSV)
    geno = pd.DataFrame([["A", "H", "H", "A", "A"], ["H", "H", None, "H", "B"], ["A", "A", "A", None, "A"],
                         ["H", None, "H", "A", "B"]], columns=["m1", "m2", "m3", "m4", "m5"])
    markers = pd.DataFrame({"chromosome": ["1", "1", "1", "2", "X"], "position": [0, 10, 25, 5, 3]},
                           index=["m1", "m2", "m3", "m4", "m5"])
    other = make_cross(geno, markers, cross.phenotypes)
    for a, b in zip(cross.chromosomes, other.chromosomes):
        np.testing.assert_array_equal(a.genotypes, b.genotypes)


@pytest.mark.parametrize("change, word", [
    (("trait,sex", "trait,sex"), None),
    ((",,0,10,25,5,3", ",,0,x,25,5,3"), "position"),
    (("1.2,male", "1.2,alien"), "sex"),
])
def test_other_bad_files(change, word):
    text = CSV.replace(*change)
    if word is None:
        _read(text)
        return
    with pytest.raises(ValueError, match=word):
        _read(text)
