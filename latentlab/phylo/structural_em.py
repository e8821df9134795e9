"""Tree topology, branch lengths and substitution parameters by structural EM.

Structural EM (Friedman 1998; for phylogenies SEMPHY, Friedman, Ninio, Pe'er &
Pupko 2002, J. Comput. Biol. 9:331-353) keeps the hidden variables of EM on a
fixed tree, the states of the internal nodes, and lets the M-step change
which pairs of nodes are joined by a branch as well as the branch lengths.

The complete-data log-likelihood of one site on an unrooted binary tree with
edges ``E`` is, rooting it at any node ``r`` (reversibility,
``pi_a P_ab(t) = pi_b P_ba(t)``, makes the choice immaterial),

    log pi_{x_r} + sum_{(u -> v) in E, directed away from r} log P_{x_u x_v}(t_uv),

so its expectation given the data at the current tree is

    Q(E, t) = sum_a n_r(a) log pi_a + sum_{(u -> v) in E} sum_ab N_uv(a, b) log P_ab(t_uv),

where ``N_uv(a, b)`` is the expected number of sites at which node ``u`` is
in state ``a`` and node ``v`` in state ``b``, for any two nodes of the
current tree (joined by a branch or not). ``Q`` is a sum of one term per
edge of the *new* tree, each maximised over its own length by the
one-dimensional Newton step of :mod:`.branch_lengths`; so a new tree whose
edges raise the sum of their maximised terms raises ``Q``, and with it the
likelihood (Dempster, Laird & Rubin 1977): structural EM never lowers the
likelihood, across topology changes too.

The M-step's search here is over nearest-neighbour interchanges (the
alternative SEMPHY names to its maximum spanning tree), each scored exactly
by the change of ``Q``. The interchange at the internal branch between node
``c`` and its parent ``p`` that swaps ``c``'s child ``g`` with ``p``'s other
child ``s`` replaces the edges ``c -> g`` and ``p -> s`` by ``p -> g`` and
``c -> s`` and leaves every other edge, and the nodes' degrees, as they were,
so it changes ``Q`` by

    max_t f_pg(t) + max_t f_cs(t) - max_t f_cg(t) - max_t f_ps(t),     f_uv(t) = sum_ab N_uv(a, b) log P_ab(t).

The two new pairs are two branches apart on the current tree; their expected
state pairs come from the E-step's lower and outside partials
(:func:`._kernels.nni_pair_counts`). Interchanges that touch disjoint sets of
nodes change disjoint sets of edges, so their gains add: the M-step applies,
greedily by gain, every interchange that raises ``Q`` by more than
``min_gain`` and touches no node of one already chosen, sets every length to
its maximiser, and keeps the substitution parameters (a conditional
maximisation, ECM). The root keeps its node; the new tree is renumbered in
post-order.

The Q-scored step alone gets stuck. The expected state pairs come from the
posterior under the current tree, in which a hidden node is bound to its
current neighbours more tightly than to nodes two branches away; an
interchange that raises the likelihood usually lowers ``Q``. Measured on
simulated alignments (20 taxa, 1,000 sites, JC69, five starts each one to
five interchanges from the true tree): no interchange raised ``Q`` after 1,
2, 5, 20 or 1,000 EM iterations on the start topology. The search therefore
has a second step for when the structural step takes none: interchanges
scored by the likelihood itself (:func:`interchange_step`), taken only
when they raise it. Both steps keep the likelihood from decreasing, so the
trace of a search never falls, across topology changes too.

The fit alternates EM on the current topology (:class:`BranchLengthModel`
on the engine) with a topology step, the structural one when it finds an
interchange, the likelihood one otherwise, and stops when neither finds
one gaining more than ``min_gain``. It starts from the neighbour-joining tree
of the JC69 distances (or a given tree), then from the best tree so far
after random interchanges on a share ``perturbation`` of its internal
branches (the escape from local optima of IQ-TREE's search, Nguyen et al.
2015, Mol. Biol. Evol. 32:268-274), keeping a search's tree when it raises
the log-likelihood by more than ``min_gain``, until ``n_perturbations``
searches in a row have not. The chosen topology's branch lengths and
parameters are then fitted with the estimator's own settings, with
standard errors.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .._validation import check_positive
from ..em import as_generator, fit_em
from ..em.progress import counting
from ..em.settings import check_engine_settings, check_int
from ..exceptions import ConvergenceWarning, MonotonicityError
from . import _kernels
from .alignment import Alignment, as_alignment
from .branch_lengths import (
    _ENGINE,
    _TINY,
    BranchLengthEM,
    BranchLengthModel,
    BranchParams,
    Passes,
    _BranchTerms,
    _maximise_lengths,
)
from .distance import jc_distances, neighbour_joining
from .tree import Tree, as_tree

__all__ = ["StructuralEM"]

#: the allowance for round-off when a structural step is checked not to lower the likelihood (relative), and
#: in the value of a quartet's log-likelihood ratio (per site)
_ROUNDOFF = 1e-10
#: the convergence rule's tolerance and the score tolerance of the branch-length fits between structural
#: steps, at least (the final fit uses the estimator's ``tol`` and ``score_tol``)
_SEARCH_TOL, _SEARCH_SCORE_TOL = 1e-8, 1e-3


@dataclass(frozen=True)
class _Search:
    """One search's end: its tree (lengths set), parameters, log-likelihood and trace."""

    tree: Tree
    params: BranchParams
    loglik: float
    trace: list[float]
    steps: list[tuple[str, int, float]]  # ("structural" or "likelihood", interchanges, gain) of each step


def q_gains(model: BranchLengthModel, out: Passes, params: BranchParams):
    """The change of ``Q`` (module docstring) of each interchange, from the
    E-step ``out`` at ``params``: ``gains`` (2, n_internal), row ``which``
    for the swap of child ``which`` of each internal branch with its
    sibling (:func:`_quartets`); and the maximising lengths ``best``: of
    every current branch (n_branches), then of the new pairs ``(p, c1)``,
    ``(p, c2)`` and ``(c, s)`` of each internal branch; and the rise of
    ``Q`` from setting every current branch to its maximiser."""
    tree = model.tree
    K, n = model.n_categories, tree.n_nodes
    near, far, sibling = (np.zeros((K, n, 4, 4)) for _ in range(3))
    for k in range(K):  # each rate category's pairs, the patterns weighted by the category's posterior
        _kernels.nni_pair_counts(model.start, model.child, tree.parent, tree.n_tips, out.P[k],
                                 out.weights * out.posterior[k], out.lower[k], out.msg[k], out.above[k], near[k],
                                 far[k], sibling[k])
    inner, kids, sib = _quartets(model)
    t = params.lengths
    pairs = np.concatenate([out.stats.pairs, near[:, inner], far[:, inner], sibling[:, inner]], axis=1)
    start = np.concatenate([t, t[inner] + t[kids[0]], t[inner] + t[kids[1]], t[inner] + t[sib]])
    terms = _BranchTerms(pairs, model.substitution_at(params).eigen(), model.category_rates(params))
    best = _maximise_lengths(terms, start, model.min_length, model.max_length)
    value = terms.value(best)[2]
    m, nb = inner.size, tree.n_branches
    g_cur, g_near, g_far, g_sib = value[:nb], value[nb:nb + m], value[nb + m:nb + 2 * m], value[nb + 2 * m:]
    gains = np.stack([g_near + g_sib - g_cur[kids[0]] - g_cur[sib], g_far + g_sib - g_cur[kids[1]] - g_cur[sib]])
    return gains, best, float(np.sum(g_cur - terms.value(start)[2][:nb]))


def structural_step(model: BranchLengthModel, out: Passes, params: BranchParams, min_gain: float):
    """The M-step over topologies (module docstring) from the E-step ``out``
    at ``params`` on ``model.tree``: ``(tree, params, n_interchanges,
    gain)`` with the new tree's lengths in its own node order, or None when
    no interchange raises ``Q`` by more than ``min_gain``."""
    tree = model.tree
    inner, kids, sib = _quartets(model)
    gains, best, rise = q_gains(model, out, params)
    m, nb = inner.size, tree.n_branches
    chosen = _disjoint(tree, inner, kids, sib, gains, min_gain)
    if not chosen:
        return None
    lengths = best[:nb].copy()
    for which, i in chosen:
        lengths[kids[which][i]], lengths[sib[i]] = best[nb + which * m + i], best[nb + 2 * m + i]
    gain = sum(float(gains[which, i]) for which, i in chosen) + rise
    new = _interchanged(tree, inner, kids, sib, chosen, lengths)
    return new, replace(params, lengths=new.lengths), len(chosen), gain


def interchange_step(model: BranchLengthModel, out: Passes, params: BranchParams, min_gain: float, data: Alignment):
    """Interchanges scored by the likelihood itself, for when no structural
    step raises ``Q``: each of the two interchanges at every internal branch,
    with the five branch lengths around it re-optimised and every other
    length kept (:class:`_Quartets`, the likelihood of the interchanged tree
    exactly). The interchanges that raise the log-likelihood by more than
    ``min_gain`` and touch disjoint nodes are made together when the
    log-likelihood of the result confirms it (their five-branch sets may
    share a branch, which that check covers), the best one alone otherwise.
    Returns ``(tree, params, n_interchanges, gain)`` or None."""
    inner, kids, sib = _quartets(model)
    if inner.size == 0:  # three tips: no internal branch
        return None
    gains, found = _interchange_gains(model, out, params)
    chosen = _disjoint(model.tree, inner, kids, sib, gains, min_gain, also=found[0].nodes[0, :, 0])
    if not chosen:
        return None
    for attempt in (chosen, chosen[:1]) if len(chosen) > 1 else (chosen,):
        new, moved = _move(model, params, attempt, found)
        gain = model.on_tree(new).loglik(data, moved) - out.loglik
        if gain > min_gain:
            return new, moved, len(attempt), gain
    return None


def _interchange_gains(model: BranchLengthModel, out: Passes, params: BranchParams):
    """The log-likelihood gain of each interchange (2, n_internal) with the
    five branches around it re-optimised (:class:`_Quartets`), and those
    lengths (2, n_internal, 5)."""
    quartets = _Quartets(model, out, params)
    gains, lengths = quartets.optimise()
    return gains, (quartets, lengths)


def _move(model: BranchLengthModel, params: BranchParams, chosen, found):
    """The tree and parameters after the interchanges ``chosen``, with the
    five lengths around each from ``found`` (:func:`_interchange_gains`)."""
    quartets, five = found
    inner, kids, sib = _quartets(model)
    lengths = params.lengths.copy()
    for which, i in chosen:
        lengths[quartets.nodes[which, i]] = five[which, i]
    new = _interchanged(model.tree, inner, kids, sib, chosen, lengths)
    return new, replace(params, lengths=new.lengths)


class _Quartets:
    """The log-likelihood around each internal branch ``c`` (parent ``p``)
    as a function of the five branch lengths there, for the current
    arrangement of the four subtrees around it and the two interchanges.

    The subtrees are pseudo-tips with partials ``Lambda``: ``c``'s children
    ``c1``, ``c2`` and ``p``'s child ``s`` (their lower partials), and the
    rest of the tree above ``p``, ``O_p / pi`` (``O_p``, the outside of
    ``p``'s branch at ``p``'s parent; by reversibility ``pi_x (P_p
    O_p/pi)(x) = (O_p' P_p)(x)``) or, when ``p`` is the root, its third
    child. With ``X, Y`` at ``p`` and ``Z, W`` at ``c`` and ``m_e = P(r_k
    t_e) Lambda_e``, a pattern's likelihood in rate category ``k`` is, up to
    factors common to all arrangements and lengths,

        h_k = sum_x pi_x m_X(x) m_Y(x) sum_z P_c(x, z) m_Z(z) m_W(z),

    and relative to the current tree ``L_p(new) / L_p = sum_k Pr(k | p)
    h_k(new) / h_k(current)``. Each length enters as ``F' P(r_k t) G``, so
    the five are maximised in turn (centre first) by :func:`._maximise_lengths`,
    as IQ-TREE scores its interchanges (Nguyen et al. 2015)."""

    def __init__(self, model: BranchLengthModel, out: Passes, params: BranchParams):
        tree = model.tree
        inner, kids, sib = _quartets(model)
        root = tree.n_nodes - 1
        p = tree.parent[inner]
        up_node = p.copy()
        up = np.empty((model.n_categories, inner.size) + out.lower.shape[2:])
        for i in range(inner.size):
            siblings = model.child[model.start[p[i]]:model.start[p[i] + 1]]
            if p[i] == root:  # the root's third child
                up_node[i] = next(k for k in siblings if k not in (inner[i], sib[i]))
                up[:, i] = out.lower[:, up_node[i]]
            else:
                g = tree.parent[p[i]]
                outside = out.above[:, g].copy()
                for k in model.child[model.start[g]:model.start[g + 1]]:
                    if k != p[i]:
                        outside *= out.msg[:, k]
                up[:, i] = outside
        sub = model.substitution_at(params)
        self.pi = sub.freqs
        up[:, np.flatnonzero(p != root)] /= self.pi
        self.lam, self.a, self.b = sub.eigen()
        self.rl = model.category_rates(params)[:, None] * self.lam  # (K, 4)
        tips = {"up": up, "s": out.lower[:, sib], "c1": out.lower[:, kids[0]], "c2": out.lower[:, kids[1]]}
        nodes = {"up": up_node, "s": sib, "c1": kids[0], "c2": kids[1]}
        self.weights, self.lo, self.hi = out.weights, model.min_length, model.max_length
        self._arrange(tips, nodes, inner, params.lengths, [("up", "s", "c1", "c2")])
        h_now = self._h()  # the current tree's, which the interchanges are measured against
        #: (2, n_internal, 5) the nodes whose branches are X, Y, Z, W and the centre, per interchange
        self._arrange(tips, nodes, inner, params.lengths, [("up", "c1", "s", "c2"), ("up", "c2", "c1", "s")])
        self.share = np.tile(out.posterior[:, None, :] / h_now, (1, 2, 1))  # (K, 2 n_internal, patterns)

    def _arrange(self, tips, nodes, inner, lengths, arrangements):
        """Candidates: each arrangement at every internal branch, at the current lengths."""
        self.nodes = np.stack([np.stack([nodes[r] for r in roles] + [inner], axis=1) for roles in arrangements])
        self.tips = [np.concatenate([tips[roles[j]] for roles in arrangements], axis=1) for j in range(4)]
        self.t = np.concatenate(list(lengths[self.nodes]))  # (n_candidates, 5)

    def _transition(self, t):
        """``P(r_k t)`` (K, n, 4, 4) for lengths ``t`` (n,)."""
        return (self.a * np.exp(self.rl[:, None, :] * t[None, :, None])[:, :, None, :]) @ self.b

    def _messages(self):
        return [self.tips[j] @ self._transition(self.t[:, j]).swapaxes(-1, -2) for j in range(4)]

    def _h(self):
        mX, mY, mZ, mW = self._messages()
        below = (mZ * mW) @ self._transition(self.t[:, 4]).swapaxes(-1, -2)
        return (mX * mY * below) @ self.pi

    def _terms(self, j) -> _BranchOfQuartet:
        """Branch ``j`` (X, Y, Z, W, centre) as ``F' P(r_k t) G`` per candidate."""
        mX, mY, mZ, mW = self._messages()
        Pc = self._transition(self.t[:, 4])
        if j == 4:
            F, G = self.pi * mX * mY, mZ * mW
        elif j < 2:
            other = mY if j == 0 else mX
            F, G = self.pi * other * ((mZ * mW) @ Pc.swapaxes(-1, -2)), self.tips[j]
        else:
            other = mW if j == 2 else mZ
            F, G = other * ((self.pi * mX * mY) @ Pc), self.tips[j]
        coef = (F @ self.a) * (G @ self.b.T) * self.share[..., None]
        K, n, m = coef.shape[:3]
        return _BranchOfQuartet(coef.transpose(1, 2, 0, 3).reshape(n, m, 4 * K), self.rl.reshape(-1), self.weights)

    def optimise(self):
        """Each interchange's gain over the current tree with its five
        lengths maximised in turn (centre first), and those lengths."""
        for j in (4, 0, 1, 2, 3):
            self.t[:, j] = _maximise_lengths(self._terms(j), self.t[:, j], self.lo, self.hi)
        value = self._terms(4).value(self.t[:, 4])[2]
        k = value.size // 2
        return np.stack([value[:k], value[k:]]), np.stack([self.t[:k], self.t[k:]])


class _BranchOfQuartet:
    """``f_i(t) = sum_p w_p log sum_j c_ipj exp(lambda_j t)`` for many ``i``
    at once, with its derivatives in ``log t`` (the interface of
    :class:`._BranchTerms`, for :func:`._maximise_lengths`)."""

    def __init__(self, coef, lam, weights):
        self.coef, self.lam, self.w = coef, lam, weights

    def value(self, t):
        E = np.exp(t[:, None] * self.lam)
        H = np.maximum((self.coef @ E[:, :, None])[:, :, 0], _TINY)
        return E, H, np.log(H) @ self.w

    def slack(self, f):
        """Round-off of ``f``: each pattern's term is a logarithm of a ratio near 1."""
        return _ROUNDOFF * np.sum(self.w)

    def slopes(self, t, E, H):
        d = (self.coef @ np.stack([E * self.lam, E * self.lam**2], axis=2)) / H[:, :, None]
        d1, d2 = d[:, :, 0], d[:, :, 1]
        g = t * (d1 @ self.w)
        return g, t**2 * ((d2 - d1**2) @ self.w) + g


def _quartets(model: BranchLengthModel):
    """The internal branches ``c`` (internal nodes but the root), their
    children ``(c1, c2)`` and ``s``, the first child of ``c``'s parent other
    than ``c`` (as in :func:`._kernels.nni_pair_counts`)."""
    inner = np.arange(model.tree.n_tips, model.tree.n_nodes - 1)
    kids = model.child[model.start[inner]], model.child[model.start[inner] + 1]
    parent = model.tree.parent[inner]
    first, second = model.child[model.start[parent]], model.child[model.start[parent] + 1]
    return inner, kids, np.where(first != inner, first, second)


def _disjoint(tree: Tree, inner, kids, sib, gains, min_gain: float, also=None) -> list[tuple[int, int]]:
    """Greedily by gain, the interchanges ``(which, i)`` (swap ``kids[which][i]``
    with ``sib[i]``) gaining more than ``min_gain`` whose four nodes (the
    branch's two ends and the two swapped, and ``also[i]`` when given) are
    untouched by one chosen before."""
    used = np.zeros(tree.n_nodes, dtype=bool)
    chosen = []
    m = inner.size
    for flat in np.argsort(-gains, axis=None, kind="stable"):
        which, i = divmod(int(flat), m)
        if not gains[which, i] > min_gain:
            break
        touched = [inner[i], tree.parent[inner[i]], kids[which][i], sib[i]] + ([] if also is None else [also[i]])
        if not used[touched].any():
            used[touched] = True
            chosen.append((which, i))
    return chosen


def _interchanged(tree: Tree, inner, kids, sib, chosen, lengths) -> Tree:
    """``tree`` with the interchanges ``chosen`` made (``lengths`` in its node
    order; each length travels with its lower node), renumbered."""
    parent = tree.parent.copy()
    for which, i in chosen:
        parent[kids[which][i]], parent[sib[i]] = tree.parent[inner[i]], inner[i]
    return Tree.from_parents(tree.names, parent, lengths)


def perturb(tree: Tree, share: float, rng: np.random.Generator) -> Tree:
    """``tree`` after random nearest-neighbour interchanges: a share ``share``
    of its internal branches chosen at random, each with one of its two
    interchanges at random, skipped where it would touch a node already
    moved (so fewer are made: about 6 of the 14 asked for on 27 internal
    branches at share 0.5); lengths travel with their nodes."""
    start, child = tree.children()
    parent, lengths = tree.parent.copy(), tree.lengths.copy()
    used = np.zeros(tree.n_nodes, dtype=bool)
    inner = np.arange(tree.n_tips, tree.n_nodes - 1)
    chosen = rng.permutation(inner)[: max(1, int(round(share * inner.size)))]
    for c in chosen:
        p = tree.parent[c]
        g = child[start[c] + rng.integers(2)]
        s = child[start[p]] if child[start[p]] != c else child[start[p] + 1]
        if used[[c, p, g, s]].any():
            continue
        used[[c, p, g, s]] = True
        parent[g], parent[s] = p, c
    return Tree.from_parents(tree.names, parent, lengths)


class StructuralEM(BranchLengthEM):
    """Maximum-likelihood tree topology, branch lengths and substitution
    parameters by structural EM (module docstring).

    Parameters
    ----------
    substitution, frequencies, gamma_categories, min_length, max_length, score_tol : as
        for :class:`BranchLengthEM`.
    min_gain : a structural step is taken when it raises the expected
        complete-data log-likelihood by more than this, and a perturbed
        search's tree is kept when it raises the log-likelihood by more (log
        units; 1e-3).
    n_perturbations : the search stops after this many searches in a row,
        each started from the best tree so far after random interchanges,
        have not raised the log-likelihood by more than ``min_gain``
        (IQ-TREE's stopping rule, its default 100; 0: only the search from
        the starting tree).
    perturbation : the share of internal branches interchanged at random to
        start each of those searches.
    tol, max_iter, accelerate : the engine's settings for every branch-length
        fit (between structural steps with a looser score test).
    n_init : restarts of the final branch-length fit on the chosen topology.
    random_state : seeds the perturbations and every fit.
    progress : a bar over the searches (:func:`latentlab.em.progress.counting`).
    callback : called as ``callback(iteration, params, loglik)`` after each
        iteration of the final fit.

    Attributes (after fit)
    ----------------------
    tree_, branch_lengths_, substitution_, loglik_, result_, ... : as for
        :class:`BranchLengthEM`, on the chosen topology.
    start_tree_ : the starting tree in Newick (neighbour joining unless given).
    search_ : a DataFrame with one row per search: its start ("start" or
        "perturbation k"), the interchanges taken by structural steps and by
        likelihood-scored steps, its log-likelihood, and whether its tree
        was kept.
    search_trace_ : the log-likelihood after every EM iteration of the
        search that found the chosen tree, topology steps included (never
        decreasing under plain EM).

    Example
    -------
    >>> from latentlab.phylo import JC69, StructuralEM, robinson_foulds, simulate_alignment
    >>> truth = "((a:0.1,b:0.2):0.05,c:0.3,((d:0.1,e:0.15):0.08,f:0.2):0.1);"
    >>> aln = simulate_alignment(truth, JC69(), 2000, random_state=0)
    >>> fit = StructuralEM("JC69", random_state=0).fit(aln)
    >>> robinson_foulds(fit.tree_, truth)
    0.0
    """

    def __init__(
        self,
        substitution: str = "HKY85",
        *,
        frequencies: str = "empirical",
        gamma_categories: int = 0,
        min_length: float = 1e-8,
        max_length: float = 10.0,
        score_tol: float = 1e-6,
        min_gain: float = 1e-3,
        n_perturbations: int = 10,
        perturbation: float = 0.5,
        tol: float = _ENGINE["tol"],
        max_iter: int = _ENGINE["max_iter"],
        n_init: int = _ENGINE["n_init"],
        accelerate: str | None = _ENGINE["accelerate"],
        random_state=None,
        progress: bool | None = _ENGINE["progress"],
        callback=None,
    ):
        super().__init__(substitution, frequencies=frequencies, gamma_categories=gamma_categories,
                         min_length=min_length, max_length=max_length,
                         score_tol=score_tol, tol=tol, max_iter=max_iter, n_init=n_init, accelerate=accelerate,
                         random_state=random_state, progress=progress, callback=callback)
        self.min_gain = min_gain
        self.n_perturbations = n_perturbations
        self.perturbation = perturbation

    def fit(self, alignment, tree=None) -> StructuralEM:
        """Fit to ``alignment`` (an :class:`Alignment`, or FASTA/PHYLIP text or
        a path), starting from ``tree`` (a bifurcating :class:`Tree` or
        Newick text or path; by default the neighbour-joining tree of the
        JC69 distances)."""
        check_engine_settings(**self._engine_settings())  # before the searches use them
        min_gain = check_positive(self.min_gain, "min_gain")
        n_perturbations = check_int(self.n_perturbations, "n_perturbations", 0)
        share = check_positive(self.perturbation, "perturbation")
        if share > 1:
            raise ValueError(f"perturbation must be a share of the internal branches in (0, 1]; got {share!r}")
        aln = as_alignment(alignment)
        start = neighbour_joining(jc_distances(aln)) if tree is None else as_tree(tree)
        if not start.is_bifurcating():
            raise ValueError("tree: the starting tree must be bifurcating (every internal node of degree 3)")
        if start.n_tips < 4:  # one unrooted topology: nothing to search
            n_perturbations = 0
        data = aln.take(start.names)
        model = self._model(data, start)  # validates the settings before any search
        seeds = np.random.SeedSequence(_entropy(self.random_state))
        best = self._search(data, model, start, None, seeds.spawn(1)[0], min_gain)
        rows = [_row("start", best, kept=True)]
        failures = 0
        for k in counting(itertools.count(1), None, f"{type(self).__name__} searches", "search", self.progress):
            if failures >= n_perturbations:
                break
            seed = seeds.spawn(1)[0]
            moved = perturb(best.tree, share, as_generator(seed))
            found = self._search(data, model, moved, best.params, seed, min_gain)
            kept = found.loglik > best.loglik + min_gain
            rows.append(_row(f"perturbation {k}", found, kept))
            best, failures = (found, 0) if kept else (best, failures + 1)
        self.start_tree_ = start.to_newick()
        self.search_ = pd.DataFrame(rows)
        self.search_trace_ = np.array(best.trace)
        return self._fit_tree(data, best.tree, best.params, random_state=seeds.spawn(1)[0])

    def _search(self, data: Alignment, model: BranchLengthModel, tree: Tree, like, seed, min_gain: float) -> _Search:
        """EM on the topology, then a structural step, until no step is taken;
        from ``tree``'s lengths and the rates (and frequencies) of ``like``, or
        from ``model.initialize`` when ``like`` is None."""
        params = None if like is None else replace(like, lengths=tree.lengths.clip(model.min_length, model.max_length))
        trace: list[float] = []
        steps: list[tuple[str, int, float]] = []
        while True:
            model = model.on_tree(tree, max(self.score_tol, _SEARCH_SCORE_TOL))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                result = fit_em(model, data, tol=max(self.tol, _SEARCH_TOL), max_iter=self.max_iter, accelerate=self.accelerate,
                                random_state=seed, init_params=params, progress=False)
            if trace and result.trace[0] < trace[-1] - _ROUNDOFF * (1.0 + abs(trace[-1])):
                raise MonotonicityError(f"{type(self).__name__}: a structural step lowered the log-likelihood "
                                        f"from {trace[-1]!r} to {result.trace[0]!r}; EM never does this")
            trace.extend(result.trace)
            params = result.params
            out = model.passes(data, params)
            step = structural_step(model, out, params, min_gain)
            kind = "structural"
            if step is None:
                step, kind = interchange_step(model, out, params, min_gain, data), "likelihood"
            if step is None:
                return _Search(tree.with_lengths(params.lengths), params, result.loglik, trace, steps)
            tree, params, count, gain = step
            steps.append((kind, count, gain))


def _row(start: str, search: _Search, kept: bool) -> dict:
    count = {kind: sum(c for k, c, _ in search.steps if k == kind) for kind in ("structural", "likelihood")}
    return {"start": start, "structural_interchanges": count["structural"],
            "likelihood_interchanges": count["likelihood"], "loglik": search.loglik, "kept": kept}


def _entropy(random_state):
    """A SeedSequence's entropy from an estimator's ``random_state`` (fresh when None)."""
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**63))
    if isinstance(random_state, np.random.SeedSequence):
        return random_state.entropy
    return random_state
