"""Distances between aligned sequences and neighbour-joining trees: the start
of a tree search.

JC69 distance (Jukes & Cantor 1969): with ``p`` the proportion of sites at
which two sequences differ, among the sites where both have an unambiguous
base (gaps, missing and ambiguous characters are left out pair by pair),

    d = -3/4 log(1 - 4/3 p),

the maximum-likelihood number of substitutions per site between them under
JC69. It is infinite for ``p >= 3/4`` (saturation); such a distance is set to
``max_distance`` (10 by default, the upper bound of a branch length here and
in IQ-TREE).

Neighbour joining (Saitou & Nei 1987, in the form of Studier & Keppler
1988): while more than three clusters remain, join the pair ``(i, j)``
minimising

    Q_ij = (n - 2) D_ij - r_i - r_j,    r_i = sum_k D_ik,

into a new node ``u`` with branch lengths ``d_iu = D_ij / 2 + (r_i - r_j) /
(2 (n - 2))``, ``d_ju = D_ij - d_iu`` and distances ``D_uk = (D_ik + D_jk -
D_ij) / 2``; the last three clusters meet at one node. On distances that are
the path lengths of a tree (additive), it returns that tree exactly. A
negative branch length (possible on distances that are not additive) is set
to 0 and its partner to ``D_ij``, so that the pair's path keeps its length.
Ties go to the first pair in the order of the clusters (the names, then the
joined clusters in the order they were made), among values that are equal
in floating point. On additive distances whose tree has a multifurcation,
the tree comes back resolved with branches of length 0.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from .alignment import MIN_TAXA, as_alignment
from .tree import Tree

__all__ = ["jc_distances", "neighbour_joining"]

_SINGLE = np.array([1, 2, 4, 8], dtype=np.uint8)  # an unambiguous base's state bits
_NEWICK_SPECIAL = set(" ()[]:;,'\"\t\n\r")


def jc_distances(alignment, max_distance: float = 10.0) -> pd.DataFrame:
    """JC69 distances between every pair of sequences (module docstring), a
    symmetric DataFrame indexed by the names. Raises ``ValueError`` naming a
    pair that shares no site where both have an unambiguous base."""
    aln = as_alignment(alignment)
    if not (isinstance(max_distance, numbers.Real) and not isinstance(max_distance, (bool, np.bool_))
            and np.isfinite(max_distance) and max_distance > 0):
        raise ValueError(f"max_distance must be a positive finite number; got {max_distance!r}")
    single = np.isin(aln.patterns, _SINGLE)  # (taxa, patterns)
    w = aln.weights.astype(float)
    both = (single[:, None, :] & single[None, :, :]).astype(float) @ w  # sites compared, per pair
    differ = ((aln.patterns[:, None, :] != aln.patterns[None, :, :]) & single[:, None, :] & single[None, :, :]) @ w
    n = len(aln.names)
    empty = [(aln.names[i], aln.names[j]) for i in range(n) for j in range(i + 1, n) if both[i, j] == 0]
    if empty:
        raise ValueError(f"sequences {empty[0][0]!r} and {empty[0][1]!r} share no site where both have an "
                         "unambiguous base: their distance is undefined")
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(both > 0, differ / np.where(both > 0, both, 1.0), 0.0)
        d = np.where(p < 0.75, -0.75 * np.log1p(-4.0 / 3.0 * p), np.inf)
    d = np.minimum(d, float(max_distance))
    np.fill_diagonal(d, 0.0)
    return pd.DataFrame(d, index=list(aln.names), columns=list(aln.names))


def _checked_matrix(distances, names) -> tuple[np.ndarray, list[str]]:
    if isinstance(distances, pd.DataFrame):
        if names is not None:
            raise ValueError("names: give them as the DataFrame's index, not separately")
        if list(distances.index) != list(distances.columns):
            raise ValueError("distances: the DataFrame's index and columns must hold the same names in the same order")
        names, distances = [str(x) for x in distances.index], distances.to_numpy()
    try:
        D = np.asarray(distances, dtype=float)
    except (TypeError, ValueError):
        raise TypeError("distances must be a square matrix of numbers (array or DataFrame)") from None
    if D.ndim != 2 or D.shape[0] != D.shape[1]:
        raise ValueError(f"distances must be a square matrix; got shape {D.shape}")
    if D.shape[0] < MIN_TAXA:
        raise ValueError(f"distances: a tree needs at least {MIN_TAXA} taxa; got {D.shape[0]}")
    if names is None:
        raise ValueError("names: give the taxa's names (or pass a DataFrame indexed by them)")
    names = [str(x) for x in names]
    if len(names) != D.shape[0]:
        raise ValueError(f"names: {len(names)} names for a {D.shape[0]} x {D.shape[0]} matrix")
    if any(not x for x in names):
        raise ValueError("names: every taxon needs a non-empty name")
    if len(set(names)) != len(names):
        raise ValueError(f"names: duplicate name {next(x for x in names if names.count(x) > 1)!r}")
    bad = np.argwhere(~np.isfinite(D) | (D < 0))
    if bad.size:
        i, j = bad[0]
        raise ValueError(f"distances: the entry for {names[i]!r} and {names[j]!r} is {D[i, j]!r}; "
                         "distances must be finite and non-negative")
    asym = np.argwhere(np.abs(D - D.T) > 1e-12 * (1.0 + np.abs(D)))
    if asym.size:
        i, j = asym[0]
        raise ValueError(f"distances: not symmetric ({names[i]!r}, {names[j]!r}: {D[i, j]!r} against {D[j, i]!r})")
    if np.any(np.diag(D) != 0):
        raise ValueError("distances: the diagonal must be 0")
    return D, names


def _label(name: str) -> str:
    """A tip name as Newick text (quoted where it holds Newick's punctuation)."""
    return "'" + name.replace("'", "''") + "'" if _NEWICK_SPECIAL & set(name) else name


def neighbour_joining(distances, names=None) -> Tree:
    """The neighbour-joining tree (module docstring) of a distance matrix: a
    DataFrame indexed by the taxa's names (as :func:`jc_distances` returns), or
    a square array with ``names``. Returns an unrooted :class:`Tree`."""
    D, names = _checked_matrix(distances, names)
    clusters = [_label(x) for x in names]
    D = D.copy()
    while len(clusters) > 3:
        n = len(clusters)
        r = D.sum(axis=1)
        Q = (n - 2) * D - r[:, None] - r[None, :]
        np.fill_diagonal(Q, np.inf)
        i, j = np.unravel_index(np.argmin(Q), Q.shape)
        i, j = min(i, j), max(i, j)
        d_i = min(max(0.5 * D[i, j] + (r[i] - r[j]) / (2.0 * (n - 2)), 0.0), D[i, j])
        d_j = D[i, j] - d_i
        joined = f"({clusters[i]}:{float(d_i)!r},{clusters[j]}:{float(d_j)!r})"
        to_new = 0.5 * (D[i] + D[j] - D[i, j])
        keep = [k for k in range(n) if k not in (i, j)]
        D = np.block([[D[np.ix_(keep, keep)], to_new[keep, None]], [to_new[None, keep], np.zeros((1, 1))]])
        clusters = [clusters[k] for k in keep] + [joined]
    a, b, c = range(3)
    lengths = [max(0.5 * (D[a, b] + D[a, c] - D[b, c]), 0.0), max(0.5 * (D[a, b] + D[b, c] - D[a, c]), 0.0),
               max(0.5 * (D[a, c] + D[b, c] - D[a, b]), 0.0)]
    return Tree.from_newick("(" + ",".join(f"{x}:{float(d)!r}" for x, d in zip(clusters, lengths)) + ");")
