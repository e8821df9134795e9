"""Alignments simulated along a known tree under a known substitution model."""

from __future__ import annotations

import numpy as np

from .._validation import check_positive_int
from ..em import as_generator
from .alignment import Alignment, compress
from .substitution import SubstitutionModel
from .tree import Tree, as_tree

__all__ = ["simulate_alignment", "random_tree"]


def simulate_alignment(tree, model: SubstitutionModel, n_sites: int, random_state=None) -> Alignment:
    """``n_sites`` independent sites evolved along ``tree`` (a :class:`Tree`
    or Newick text with every branch length given) under ``model`` (its
    frequencies must be set): the root state is drawn from the stationary
    frequencies and each node's state from the row of ``P(t)`` of its
    parent's state, root to tips. Returns the tips' :class:`Alignment`."""
    tree = as_tree(tree)
    if not isinstance(model, SubstitutionModel):
        raise TypeError(f"model must be a SubstitutionModel (JC69(), K80(kappa), HKY85(kappa, freqs), GTR(rates, freqs)); "
                        f"got {type(model).__name__}")
    if model.freqs is None:
        raise ValueError(f"model: {model.name} needs its freqs to simulate")
    if not (np.all(np.isfinite(tree.lengths)) and np.all(tree.lengths >= 0)):
        raise ValueError("tree: every branch needs a finite length >= 0 to simulate")
    n_sites = check_positive_int(n_sites, "n_sites")
    rng = as_generator(random_state)
    cumulative = np.cumsum(model.transition(tree.lengths), axis=2)
    states = np.empty((tree.n_nodes, n_sites), dtype=np.int64)
    states[-1] = rng.choice(4, size=n_sites, p=model.freqs)
    for v in range(tree.n_nodes - 2, -1, -1):  # parents have higher numbers: root to tips
        rows = cumulative[v][states[tree.parent[v]]]  # (n_sites, 4)
        states[v] = np.minimum((rng.random(n_sites)[:, None] * rows[:, -1:] > rows).sum(axis=1), 3)
    return compress(tree.names, (1 << states[: tree.n_tips]).astype(np.uint8))


def random_tree(n_tips: int, random_state=None, *, internal=(0.02, 0.1), external=(0.05, 0.3), names=None) -> Tree:
    """A random unrooted binary tree on ``n_tips`` tips.

    The topology is built by random sequential addition: three tips joined
    at one internal node, then each further tip attached to the middle of a
    branch chosen uniformly among the ``2k - 3`` branches of the tree on its
    ``k`` tips so far. Every labelled unrooted binary topology arises from
    exactly one sequence of choices, so the topology is uniform over all
    ``(2n - 5)!!`` of them (not a Yule tree: no ranked branching). Then the
    length of each internal branch (between two internal nodes) is drawn
    from Uniform(``internal``) and that of each external branch (above a
    tip) from Uniform(``external``), all independently.

    Parameters
    ----------
    n_tips : number of tips, an integer >= 3.
    random_state : None, an int, a SeedSequence or a Generator.
    internal, external : ``(low, high)`` with ``0 <= low < high``, finite.
    names : the tips' names (``n_tips`` distinct non-empty strings); by
        default ``t1 .. tn``, ``t1`` the first tip added.

    Returns a :class:`Tree` with ``2 n - 3`` branches, every internal node of
    degree 3.

    Example
    -------
    >>> from latentlab.phylo import HKY85, random_tree, simulate_alignment
    >>> tree = random_tree(20, random_state=1, internal=(0.02, 0.1), external=(0.05, 0.3))
    >>> tree.n_tips, tree.n_branches, tree.is_bifurcating()
    (20, 37, True)
    >>> aln = simulate_alignment(tree, HKY85(4.0, [0.3, 0.2, 0.2, 0.3]), 1000, random_state=2)
    >>> aln.n_sites
    1000
    """
    if isinstance(n_tips, (bool, np.bool_)) or not isinstance(n_tips, (int, np.integer)):
        raise TypeError(f"n_tips must be an integer; got {n_tips!r}")
    if n_tips < 3:
        raise ValueError(f"n_tips: an unrooted binary tree needs at least 3 tips; got {n_tips}")
    n_tips = int(n_tips)
    internal = _length_range(internal, "internal")
    external = _length_range(external, "external")
    if names is None:
        names = tuple(f"t{i + 1}" for i in range(n_tips))
    else:
        if isinstance(names, str):
            raise TypeError("names must be a sequence of strings, one per tip; got a single string")
        names = tuple(names)
        if len(names) != n_tips:
            raise ValueError(f"names: {n_tips} tips need {n_tips} names; got {len(names)}")
        bad = [n for n in names if not isinstance(n, str) or not n]
        if bad:
            raise ValueError(f"names must be non-empty strings; got {bad[0]!r}")
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"names: duplicate names {duplicates}")
    rng = as_generator(random_state)
    n_nodes = 2 * n_tips - 2
    root = n_nodes - 1
    parent = np.full(n_nodes, -1, dtype=np.int64)
    parent[:3] = root
    below = [0, 1, 2]  # the nodes below a branch (every node but the root)
    for k, tip in enumerate(range(3, n_tips)):
        v = below[rng.integers(len(below))]  # the branch above v, uniform among the 2k + 3 so far
        u = n_tips + k  # the new internal node, in the middle of that branch
        parent[u], parent[v], parent[tip] = parent[v], u, u
        below.extend((u, tip))
    lengths = np.where(np.arange(n_nodes - 1) < n_tips,
                       rng.uniform(*external, size=n_nodes - 1), rng.uniform(*internal, size=n_nodes - 1))
    return Tree.from_parents(names, parent, lengths)


def _length_range(value, name: str) -> tuple[float, float]:
    """``(low, high)``: two finite numbers with ``0 <= low < high``."""
    try:
        low, high = (float(x) for x in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (low, high) of numbers; got {value!r}") from None
    if not (np.isfinite(low) and np.isfinite(high) and 0.0 <= low < high):
        raise ValueError(f"{name}: branch lengths are drawn from Uniform(low, high), which needs "
                         f"0 <= low < high (finite); got {value!r}")
    return low, high
