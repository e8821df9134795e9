"""Trees: Newick through DendroPy into post-order arrays and back; the basal
bifurcation of a rooted tree collapsed; Robinson-Foulds distances."""

import numpy as np
import pytest

from latentlab.phylo import Tree, robinson_foulds

NEWICK = "((a:0.1,b:0.2):0.05,c:0.3,(d:0.1,e_x:0.15):0.1);"


def test_nodes_are_numbered_in_post_order_with_the_root_last():
    tree = Tree.from_newick(NEWICK)
    assert tree.names == ("a", "b", "c", "d", "e_x")
    assert tree.n_nodes == 8 and tree.n_branches == 7
    assert tree.parent[-1] == -1
    assert np.all(tree.parent[:-1] > np.arange(tree.n_nodes - 1))
    clades = dict(zip(tree.clades(), tree.lengths))
    assert clades == {("a",): 0.1, ("b",): 0.2, ("c",): 0.3, ("d",): 0.1, ("e_x",): 0.15,
                      ("a", "b"): 0.05, ("d", "e_x"): 0.1}


def test_a_rooted_tree_has_its_root_branches_joined():
    tree = Tree.from_newick("((a:0.1,b:0.2):0.05,(c:0.3,(d:0.1,e_x:0.15):0.1):0.25);")
    assert tree.n_branches == 7  # 2n - 3
    lengths = dict(zip(tree.clades(), tree.lengths))
    joined = lengths.get(("a", "b"), lengths.get(("c", "d", "e_x")))
    assert joined == pytest.approx(0.30)


def test_newick_round_trip_keeps_topology_and_lengths():
    tree = Tree.from_newick(NEWICK)
    again = Tree.from_newick(tree.to_newick())
    assert robinson_foulds(tree, again) == 0
    assert dict(zip(tree.clades(), tree.lengths)) == dict(zip(again.clades(), again.lengths))
    assert "e_x" in tree.to_newick()  # underscores kept, unquoted


def test_robinson_foulds_counts_the_splits_that_differ():
    nni = "((a:0.1,c:0.2):0.05,b:0.3,(d:0.1,e_x:0.15):0.1);"
    assert robinson_foulds(NEWICK, nni) == 2
    assert robinson_foulds(NEWICK, nni, normalized=True) == pytest.approx(2 / 4)
    with pytest.raises(ValueError, match="different tips"):
        robinson_foulds(NEWICK, "((a,b),c,(d,f));")


def test_missing_lengths_are_nan():
    tree = Tree.from_newick("((a,b),c,(d,e));")
    assert np.isnan(tree.lengths).all()


@pytest.mark.parametrize(("newick", "word"), [
    ("((a:1,b:1):1,(a:1,c:1):1);", "duplicate"), ("(a:1,b:1);", "at least 3"), ("((a,b),c,:0.3);", "name"),
    ("((a:1,b:-1):1,c:1,d:1);", "negative"), ("((a,b),c", "Newick"), ("no_such_tree.nwk", "neither"),
])
def test_bad_trees_get_a_clear_error(newick, word):
    with pytest.raises(ValueError, match=word):
        Tree.from_newick(newick)


def test_the_phylogram_puts_each_tip_at_its_distance_from_the_root():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tree = Tree.from_newick("((a:0.1,b:0.25):0.05,c:0.3,(d:0.12,e:0.07):0.2);")
    ax = tree.plot()
    shown = {t.get_text().strip(): t.get_position()[0] for t in ax.texts}
    d = tree.to_dendropy()
    depth = {leaf.taxon.label: leaf.distance_from_root() for leaf in d.leaf_node_iter()}  # DendroPy's own sums
    assert set(shown) == set(depth)
    for name, x in shown.items():
        assert x == pytest.approx(depth[name], rel=1e-12)
    plt.close(ax.figure)


def test_a_tree_without_lengths_is_refused_by_the_phylogram():
    with pytest.raises(ValueError, match="needs a length"):
        Tree.from_newick("((a,b),c,(d,e));").plot()
