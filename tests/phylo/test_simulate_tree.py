"""random_tree: random unrooted binary trees by sequential addition of tips,
internal and external branch lengths from their own uniform ranges."""

import doctest
from collections import Counter

import numpy as np
import pytest

from latentlab.phylo import Tree, random_tree, simulate


@pytest.mark.parametrize("n_tips", [3, 4, 5, 20, 50])
def test_tips_branches_and_degrees(n_tips):
    tree = random_tree(n_tips, random_state=0)
    assert isinstance(tree, Tree)
    assert tree.names == tuple(f"t{i}" for i in range(1, n_tips + 1))
    assert tree.n_tips == n_tips and tree.n_nodes == 2 * n_tips - 2 and tree.n_branches == 2 * n_tips - 3
    assert tree.is_bifurcating()
    degree = np.bincount(tree.parent[:-1], minlength=tree.n_nodes) + (tree.parent != -1)
    assert np.all(degree[:n_tips] == 1) and np.all(degree[n_tips:] == 3)
    assert np.all(tree.parent[:-1] > np.arange(tree.n_nodes - 1))  # post-order numbering, root last


def test_lengths_in_their_ranges():
    tree = random_tree(40, random_state=3, internal=(0.002, 0.02), external=(0.5, 0.8))
    is_tip = np.arange(tree.n_branches) < tree.n_tips
    assert np.all((tree.lengths[is_tip] >= 0.5) & (tree.lengths[is_tip] < 0.8))
    assert np.all((tree.lengths[~is_tip] >= 0.002) & (tree.lengths[~is_tip] < 0.02))
    assert tree.lengths[~is_tip].size == 40 - 3


def test_reproducible_with_a_seed_and_different_across_seeds():
    a, b, c = random_tree(12, random_state=7), random_tree(12, random_state=7), random_tree(12, random_state=8)
    np.testing.assert_array_equal(a.parent, b.parent)
    np.testing.assert_array_equal(a.lengths, b.lengths)
    assert not np.array_equal(a.lengths, c.lengths)
    rng = np.random.default_rng(1)
    assert not np.array_equal(random_tree(12, rng).lengths, random_tree(12, rng).lengths)


def test_names_are_used_in_order():
    tree = random_tree(4, random_state=0, names=["w", "x", "y", "z"])
    assert tree.names == ("w", "x", "y", "z")


def test_the_topology_is_uniform_over_the_15_five_tip_trees():
    """Sequential addition onto a uniform branch gives each of the (2n-5)!! = 15
    unrooted five-tip topologies probability 1/15 (chi-square, 15 cells)."""
    counts = Counter(frozenset(_splits(random_tree(5, rng))) for rng in np.random.default_rng(5).spawn(3000))
    assert len(counts) == 15
    expected = 3000 / 15
    chi2 = sum((n - expected) ** 2 / expected for n in counts.values())
    assert chi2 < 36.1  # the 0.999 quantile of chi-square with 14 degrees of freedom


def _splits(tree):
    """The non-trivial splits of a tree, each as the side without tip 0."""
    every = frozenset(tree.names)
    out = set()
    for clade in tree.clades():
        side = frozenset(clade) if tree.names[0] not in clade else every - frozenset(clade)
        if 1 < len(side) < len(every) - 1:
            out.add(side)
    return out


def test_newick_round_trip():
    pytest.importorskip("dendropy")
    from latentlab.phylo import robinson_foulds

    tree = random_tree(15, random_state=2)
    back = Tree.from_newick(tree.to_newick(precision=17))
    assert robinson_foulds(tree, back) == 0
    np.testing.assert_allclose(sorted(back.lengths), sorted(tree.lengths), rtol=1e-15)


def test_the_docstring_example_runs():
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in finder.find(simulate.random_tree, "random_tree", globs={}):
        runner.run(test)
    assert runner.summarize(verbose=False).failed == 0


@pytest.mark.parametrize("kwargs, error, word", [
    ({"n_tips": 2}, ValueError, "n_tips"),
    ({"n_tips": 0}, ValueError, "n_tips"),
    ({"n_tips": 5.0}, TypeError, "n_tips"),
    ({"n_tips": True}, TypeError, "n_tips"),
    ({"n_tips": 5, "internal": (0.1, 0.1)}, ValueError, "internal"),
    ({"n_tips": 5, "internal": (0.2, 0.1)}, ValueError, "internal"),
    ({"n_tips": 5, "internal": (-0.1, 0.1)}, ValueError, "internal"),
    ({"n_tips": 5, "internal": (0.0, np.inf)}, ValueError, "internal"),
    ({"n_tips": 5, "internal": 0.1}, ValueError, "internal"),
    ({"n_tips": 5, "internal": (0.1, 0.2, 0.3)}, ValueError, "internal"),
    ({"n_tips": 5, "external": (0.3, "x")}, ValueError, "external"),
    ({"n_tips": 5, "external": (np.nan, 0.3)}, ValueError, "external"),
    ({"n_tips": 3, "names": ["a", "b"]}, ValueError, "names"),
    ({"n_tips": 3, "names": ["a", "b", "a"]}, ValueError, "names"),
    ({"n_tips": 3, "names": ["a", "b", ""]}, ValueError, "names"),
    ({"n_tips": 3, "names": "abc"}, TypeError, "names"),
    ({"n_tips": 3, "random_state": "seed"}, TypeError, "random_state"),
])
def test_bad_input_gets_a_clear_error(kwargs, error, word):
    with pytest.raises(error, match=word):
        random_tree(**kwargs)
