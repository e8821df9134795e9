"""Alignments simulated along a known tree under a known substitution model."""

from __future__ import annotations

import numpy as np

from .._validation import check_positive_int
from ..em import as_generator
from .alignment import Alignment, compress
from .substitution import SubstitutionModel
from .tree import as_tree

__all__ = ["simulate_alignment"]


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
