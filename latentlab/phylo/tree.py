"""Unrooted trees as arrays for the compiled kernels; Newick through DendroPy.

A :class:`Tree` numbers its nodes so that a single pass over the numbers is a
post-order traversal: the tips are ``0 .. n_tips-1`` (in the order they appear
in the Newick text), the internal nodes follow with every child numbered
before its parent, and the root is the last node. ``parent[v]`` is the parent
of node ``v`` (``-1`` at the root) and ``lengths[v]`` the length of the branch
above ``v`` for every node but the root, so branch ``v`` is identified by its
lower node.

Rooting: the likelihood of a reversible model does not depend on where the
tree is rooted (Felsenstein's pulley principle), so the tree is unrooted and
the kernels root it at an internal node. A Newick tree whose root has two
children (a rooted tree) has its basal bifurcation collapsed: the two
branches at the root become one branch, of their summed length, and the root
moves to an internal node of degree 3. This is the unrooted tree that IQ-TREE,
RAxML and PhyML also fit; its ``2n - 3`` branch lengths are identifiable, the
two root branches of a rooted tree separately are not.

Newick parsing and writing and the Robinson-Foulds distance come from
DendroPy (Sukumaran & Holder 2010), an optional dependency:
``pip install latentlab[phylo]``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["Tree", "robinson_foulds"]

_INSTALL = "the phylogenetics package needs DendroPy for Newick trees: pip install latentlab[phylo]"


def _dendropy():
    try:
        import dendropy
    except ImportError as err:
        raise ImportError(_INSTALL) from err
    return dendropy


@dataclass(frozen=True)
class Tree:
    """An unrooted tree in post-order arrays (module docstring).

    Attributes
    ----------
    names : tuple of the tip names (tips are nodes ``0 .. n_tips-1``).
    parent : (n_nodes,) int64, ``-1`` at the root (the last node).
    lengths : (n_nodes - 1,) length of the branch above each non-root node
        (NaN where the Newick text gives none).
    """

    names: tuple[str, ...]
    parent: np.ndarray
    lengths: np.ndarray

    @property
    def n_tips(self) -> int:
        return len(self.names)

    @property
    def n_nodes(self) -> int:
        return int(self.parent.size)

    @property
    def n_branches(self) -> int:
        return self.n_nodes - 1

    def children(self) -> tuple[np.ndarray, np.ndarray]:
        """``(start, child)`` in compressed form: the children of node ``v``
        are ``child[start[v]:start[v + 1]]``, in increasing order."""
        child = np.argsort(self.parent[:-1], kind="stable").astype(np.int64)
        counts = np.bincount(self.parent[:-1], minlength=self.n_nodes)
        return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64), child

    def clades(self) -> list[tuple[str, ...]]:
        """The tip names below each branch (tips in node order)."""
        below: list[list[int]] = [[v] for v in range(self.n_tips)] + [[] for _ in range(self.n_tips, self.n_nodes)]
        for v in range(self.n_nodes - 1):
            below[self.parent[v]].extend(below[v])
        return [tuple(self.names[i] for i in sorted(below[v])) for v in range(self.n_branches)]

    def is_bifurcating(self) -> bool:
        """Every internal node has degree 3: two children, the root three."""
        counts = np.bincount(self.parent[:-1], minlength=self.n_nodes)
        return bool(np.all(counts[self.n_tips:-1] == 2) and counts[-1] == 3)

    @classmethod
    def from_parents(cls, names, parent, lengths) -> Tree:
        """A tree from a parent array whose tips are nodes ``0 .. len(names)-1``
        and whose root is its last node (``parent[-1] == -1``), the internal
        nodes in any order; ``lengths[v]`` is the length above node ``v``.
        Internal nodes are renumbered in post-order, the root kept last."""
        parent = np.asarray(parent, dtype=np.int64)
        n, n_tips = parent.size, len(names)
        if parent[-1] != -1 or np.any(parent[:-1] < 0):
            raise ValueError("parent: the root must be the last node and the only one without a parent")
        kids: list[list[int]] = [[] for _ in range(n)]
        for v in range(n - 1):
            kids[parent[v]].append(v)
        new = np.full(n, -1, dtype=np.int64)
        new[:n_tips] = np.arange(n_tips)
        order, stack = [], [(n - 1, False)]
        while stack:  # iterative depth-first walk: a node is numbered after its children
            v, expanded = stack.pop()
            if expanded:
                order.append(v)
            elif v >= n_tips:
                stack.append((v, True))
                stack.extend((k, False) for k in sorted(kids[v], reverse=True))
        if len(order) != n - n_tips:
            raise ValueError("parent: not a tree (some internal node is not below the root)")
        new[np.array(order)] = np.arange(n_tips, n)
        new_parent = np.full(n, -1, dtype=np.int64)
        new_lengths = np.empty(n - 1)
        new_parent[new[:-1]] = new[parent[:-1]]
        new_lengths[new[:-1]] = np.asarray(lengths, dtype=float)
        return cls(tuple(names), new_parent, new_lengths)

    def with_lengths(self, lengths) -> Tree:
        lengths = np.asarray(lengths, dtype=float)
        if lengths.shape != (self.n_branches,):
            raise ValueError(f"lengths must have one entry per branch ({self.n_branches}); got shape {lengths.shape}")
        return Tree(self.names, self.parent, lengths)

    @classmethod
    def from_newick(cls, source) -> Tree:
        """A tree from Newick text or a path to a Newick file.

        Tip names keep their underscores; a basal bifurcation is collapsed
        (module docstring). Raises ``ValueError`` for unnamed or duplicate
        tips, fewer than 3 tips, or negative branch lengths."""
        text = _newick_text(source)
        dendropy = _dendropy()
        try:
            tree = dendropy.Tree.get(data=text, schema="newick", preserve_underscores=True, rooting="force-unrooted")
        except Exception as err:  # DendroPy raises its own error classes for malformed Newick
            raise ValueError(f"tree: not a valid Newick tree ({err})") from None
        tree.suppress_unifurcations()
        tree.collapse_basal_bifurcation(set_as_unrooted_tree=True)
        return cls._from_dendropy(tree)

    @classmethod
    def _from_dendropy(cls, tree) -> Tree:
        leaves = list(tree.leaf_node_iter())
        names = []
        for leaf in leaves:
            if leaf.taxon is None or not leaf.taxon.label:
                raise ValueError("tree: every tip needs a name")
            names.append(leaf.taxon.label)
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"tree: duplicate tip names {duplicates}")
        if len(names) < 3:
            raise ValueError(f"tree: an unrooted tree needs at least 3 tips; got {len(names)}")
        index = {id(leaf): i for i, leaf in enumerate(leaves)}
        for node in tree.postorder_node_iter():
            if node.is_internal():
                index[id(node)] = len(index)
        parent = np.full(len(index), -1, dtype=np.int64)
        lengths = np.full(len(index) - 1, np.nan)
        for node in tree.preorder_node_iter():
            if node.parent_node is not None:
                v = index[id(node)]
                parent[v] = index[id(node.parent_node)]
                if node.edge.length is not None:
                    lengths[v] = float(node.edge.length)
        if np.any(lengths < 0):
            raise ValueError(f"tree: negative branch length {np.nanmin(lengths)}")
        return cls(tuple(names), parent, lengths)

    def to_dendropy(self, taxon_namespace=None):
        """The tree as a ``dendropy.Tree`` (unrooted; tips labelled by name)."""
        dendropy = _dendropy()
        namespace = taxon_namespace if taxon_namespace is not None else dendropy.TaxonNamespace()
        nodes = [dendropy.Node() for _ in range(self.n_nodes)]
        for v, name in enumerate(self.names):
            nodes[v].taxon = namespace.require_taxon(label=name)
        for v in range(self.n_branches):
            nodes[self.parent[v]].add_child(nodes[v])
            if np.isfinite(self.lengths[v]):
                nodes[v].edge.length = float(self.lengths[v])
        return dendropy.Tree(seed_node=nodes[-1], taxon_namespace=namespace, is_rooted=False)

    def plot(self, ax=None, scale_label: str = "substitutions per site"):
        """Draw the tree as a phylogram hanging from its root (the node of
        degree 3): each branch a horizontal line as long as its length, tips
        labelled, in the order of a depth-first walk that visits children by
        node number (tips first). Returns the axes."""
        import matplotlib.pyplot as plt

        if not np.all(np.isfinite(self.lengths)):
            raise ValueError("tree: every branch needs a length to be drawn as a phylogram (fit the tree first)")
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 0.3 * self.n_tips + 1.0))
        start, child = self.children()
        x = np.zeros(self.n_nodes)
        for v in range(self.n_nodes - 2, -1, -1):  # parents have higher numbers: walk down from the root
            x[v] = x[self.parent[v]] + self.lengths[v]
        y = np.zeros(self.n_nodes)
        row = 0

        def place(v):
            nonlocal row
            kids = child[start[v]:start[v + 1]]
            if kids.size == 0:
                y[v], row = row, row + 1
                return
            for k in kids:
                place(k)
            y[v] = 0.5 * (y[kids[0]] + y[kids[-1]])

        place(self.n_nodes - 1)
        for v in range(self.n_nodes - 1):
            p = self.parent[v]
            ax.plot([x[p], x[v]], [y[v], y[v]], color="black", lw=1)
            ax.plot([x[p], x[p]], [y[p], y[v]], color="black", lw=1)
        for v in range(self.n_tips):
            ax.text(x[v], y[v], " " + self.names[v], va="center", fontsize=9)
        ax.set_yticks([])
        ax.invert_yaxis()
        ax.set_xlim(0, 1.25 * x.max() if x.max() > 0 else 1.0)
        ax.set_xlabel(scale_label)
        for side in ("left", "right", "top"):
            ax.spines[side].set_visible(False)
        return ax

    def to_newick(self, precision: int = 10) -> str:
        """Newick text (unrooted, tips as named, lengths to ``precision`` significant digits)."""
        return self.to_dendropy().as_string(
            schema="newick", suppress_rooting=True, unquoted_underscores=True,
            real_value_format_specifier=f".{precision}g",
        ).strip()


def _newick_text(source) -> str:
    if isinstance(source, os.PathLike) or (isinstance(source, str) and not source.lstrip().startswith("(")):
        path = Path(source)
        if not path.is_file():
            raise ValueError(f"tree: {str(source)[:60]!r} is neither Newick text (starting with '(') nor a file")
        return path.read_text()
    if not isinstance(source, str):
        raise TypeError(f"tree must be Newick text, a path or a Tree; got {type(source).__name__}")
    return source


def as_tree(tree) -> Tree:
    """``tree`` if it is a :class:`Tree`, else parsed from Newick text or a file."""
    return tree if isinstance(tree, Tree) else Tree.from_newick(tree)


def robinson_foulds(tree1, tree2, normalized: bool = False) -> float:
    """The Robinson-Foulds distance between two unrooted trees on the same
    tips: the number of splits in one and not the other (DendroPy's
    symmetric difference); with ``normalized``, divided by its maximum
    ``2 (n - 3)``."""
    dendropy = _dendropy()
    from dendropy.calculate import treecompare

    a, b = as_tree(tree1), as_tree(tree2)
    if set(a.names) != set(b.names):
        raise ValueError(f"the trees have different tips: {sorted(set(a.names) ^ set(b.names))}")
    namespace = dendropy.TaxonNamespace()
    da, db = a.to_dendropy(namespace), b.to_dendropy(namespace)
    distance = float(treecompare.symmetric_difference(da, db))
    return distance / (2.0 * (a.n_tips - 3)) if normalized and a.n_tips > 3 else distance
