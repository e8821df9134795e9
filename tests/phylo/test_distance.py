"""JC69 distances and neighbour joining, against closed forms, additive trees
and DendroPy's own neighbour joining (its PhylogeneticDistanceMatrix.nj_tree)."""

import io

import numpy as np
import pandas as pd
import pytest

from latentlab.phylo import Tree, jc_distances, neighbour_joining, read_alignment, robinson_foulds

dendropy = pytest.importorskip("dendropy")

TREE = "((a:0.1,b:0.25):0.05,(c:0.3,(d:0.12,e:0.07):0.2):0.04,(f:0.5,g:0.02):0.33);"


def _patristic(tree) -> pd.DataFrame:
    """Path lengths between tips, by DendroPy."""
    t = (tree if isinstance(tree, Tree) else Tree.from_newick(tree)).to_dendropy()
    pdm = t.phylogenetic_distance_matrix()
    taxa = sorted(t.taxon_namespace, key=lambda x: x.label)
    names = [x.label for x in taxa]
    return pd.DataFrame([[pdm.patristic_distance(x, y) for y in taxa] for x in taxa], index=names, columns=names)


def test_additive_distances_give_back_their_tree():
    D = _patristic(TREE)
    nj = neighbour_joining(D)
    assert robinson_foulds(nj, TREE) == 0
    np.testing.assert_allclose(_patristic(nj).loc[D.index, D.columns], D, rtol=1e-12, atol=1e-14)


def test_primates_tree_equals_dendropys_neighbour_joining():
    D = jc_distances(read_alignment("data/phylo/primates.fasta"))
    ours = neighbour_joining(D)
    pdm = dendropy.PhylogeneticDistanceMatrix.from_csv(
        io.StringIO(D.to_csv()), is_first_row_column_names=True, is_first_column_row_names=True, delimiter=",")
    theirs = pdm.nj_tree().as_string(schema="newick", suppress_rooting=True).strip()
    assert robinson_foulds(ours, theirs) == 0
    np.testing.assert_allclose(_patristic(ours), _patristic(theirs).loc[_patristic(ours).index, _patristic(ours).columns],
                               rtol=1e-9)


def test_jc_distance_counts_only_sites_where_both_bases_are_known():
    # a-b: 10 sites, one gap and one ambiguity code in b -> 8 compared, 2 differ
    aln = read_alignment(">a\nACGTACGTAC\n>b\nA-GTRCGTTT\n>c\nACGTACGTAC\n")
    D = jc_distances(aln)
    p = 2 / 8
    assert D.loc["a", "b"] == pytest.approx(-0.75 * np.log(1 - 4 / 3 * p), rel=1e-14)
    assert D.loc["b", "a"] == D.loc["a", "b"] and D.loc["a", "c"] == 0.0


def test_saturated_pairs_take_the_cap():
    aln = read_alignment(">a\nAAAA\n>b\nCCCC\n>c\nAAAC\n")
    D = jc_distances(aln, max_distance=7.5)
    assert D.loc["a", "b"] == 7.5 and np.isfinite(D.to_numpy()).all()


GOOD = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 1.5], [2.0, 1.5, 0.0]])


@pytest.mark.parametrize(("distances", "names", "match"), [
    (GOOD[:2], ["a", "b", "c"], "square"),
    (GOOD[:2, :2], ["a", "b"], "at least 3"),
    (GOOD, None, "names"),
    (GOOD, ["a", "b"], "2 names"),
    (GOOD, ["a", "a", "c"], "duplicate name 'a'"),
    (np.where(np.eye(3) == 1, 0.0, -1.0), ["a", "b", "c"], "non-negative"),
    (np.where(np.eye(3) == 1, 0.0, np.nan), ["a", "b", "c"], "'a' and 'b'"),
    (GOOD + np.triu(np.ones((3, 3)), 1), ["a", "b", "c"], "not symmetric"),
    (GOOD + np.eye(3), ["a", "b", "c"], "diagonal"),
    ("no", ["a", "b", "c"], "square matrix of numbers"),
])
def test_bad_distance_matrices_are_refused(distances, names, match):
    with pytest.raises((ValueError, TypeError), match=match):
        neighbour_joining(distances, names)


def test_a_pair_without_shared_sites_is_named():
    with pytest.raises(ValueError, match="'a' and 'b' share no site"):
        jc_distances(read_alignment(">a\nAC--\n>b\n--GT\n>c\nACGT\n"))


def test_a_negative_length_is_clamped_the_same_way_whatever_the_order_of_the_taxa():
    """The pair's path keeps its length D_ij (review: the clamp used to depend on which of the two came first)."""
    D = np.array([[0, 1, 5, 7], [1, 0, 7, 7], [5, 7, 0, 6], [7, 7, 6, 0.0]])
    swap = [1, 0, 2, 3]
    for tree in (neighbour_joining(D, list("abcd")), neighbour_joining(D[np.ix_(swap, swap)], list("bacd"))):
        lengths = dict(zip(tree.clades(), tree.lengths))
        assert lengths[("a",)] == 0.0 and lengths[("b",)] == pytest.approx(1.0)


def test_names_with_newick_punctuation_survive_and_empty_names_are_refused():
    D = np.array([[0, 1, 2.0], [1, 0, 2], [2, 2, 0]])
    tree = neighbour_joining(D, ['q"r', "a b", "x\ny"])
    assert set(tree.names) == {'q"r', "a b", "x\ny"}
    with pytest.raises(ValueError, match="non-empty name"):
        neighbour_joining(D, ["", "b", "c"])
