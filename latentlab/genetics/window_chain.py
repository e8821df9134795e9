"""The EM contract for haplotypes as a Markov chain over windows of loci.

Model (a haplotype-block Markov model in the spirit of Greenspan & Geiger
2004, J. Comput. Biol. 11:493, and of the window models of Beagle, Browning &
Browning 2007): the loci are cut into consecutive windows ``1..W``; within
window ``w`` a chromosome carries one of the window's candidate haplotypes,
and the sequence of window haplotypes ``s_1, ..., s_W`` is a first-order
Markov chain,

    P(s_1 .. s_W) = t_1(s_1 | start) prod_{w >= 2} t_w(s_w | s_{w-1}).

The two chromosomes of an individual are independent (Hardy-Weinberg at the
haplotype level). Individual ``i`` is compatible, in window ``w``, with a set
of *ordered* pairs ``(x, y)`` of window haplotypes (chromosome 1 carries
``x``, chromosome 2 ``y``; an unordered pair ``{a, b}``, ``a != b``, gives
the two states ``(a, b)`` and ``(b, a)``). Summing over every sequence of
ordered pairs counts each ordered pair of full chromosomes once, so

    L_i = sum_{(x_w, y_w)_w} prod_w t_w(x_w | x_{w-1}) t_w(y_w | y_{w-1}),

a hidden Markov model whose state in window ``w`` is the ordered pair. The
log-likelihood is ``sum_i log L_i``; with a single window it is
:class:`~latentlab.genetics.haplotype_model.HaplotypeModel`'s.

E-step (scaled forward-backward over windows, Rabiner 1989): with ``alpha``
and ``beta`` the forward and backward variables and ``c_iw`` the scaling
constants, the posterior of a move ``(x, y) -> (x', y')`` across boundary
``w`` is

    xi = alpha_{w-1}(x, y) t_w(x'|x) t_w(y'|y) beta_w(x', y') / c_iw,

and the expected number of chromosomes taking the transition ``a -> b`` is
``n_w(a -> b) = sum xi (1{x=a, x'=b} + 1{y=a, y'=b})``.

M-step: ``t_w(b | a) = n_w(a -> b) / sum_b' n_w(a -> b')`` (a row no
chromosome visits is left uniform over its transitions).

The parameters are the non-zero entries of the transition matrices (only the
moves some individual can make), one group per row: a
:class:`~latentlab.em.GroupedSimplex`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..em import EMModel, GroupedSimplex, Stats
from .candidates import PhasePairs

__all__ = ["WindowChain", "ChainParams", "WindowChainModel", "build_chain", "chain_size"]


@dataclass(frozen=True)
class _Boundary:
    """The moves of every individual across one window boundary.

    src, dst : (C,) state indices before and after (``src`` indexes the
        individuals for the first boundary, from the start), sorted by ``dst``.
    edge1, edge2 : (C,) transition taken by chromosome 1 and by chromosome 2.
    individual : (C,) the individual making the move.
    """

    src: np.ndarray
    dst: np.ndarray
    edge1: np.ndarray
    edge2: np.ndarray
    individual: np.ndarray


@dataclass(frozen=True)
class WindowChain:
    """The data of one fit: ordered states per window, moves per boundary,
    and the transitions they use.

    states : per window, ``(individual, x, y)`` arrays sorted by individual
        (``x``, ``y`` rows of that window's haplotypes).
    boundaries : per window, the :class:`_Boundary` into it.
    edge_window, edge_from, edge_to : (E,) window, source haplotype (-1: the
        start) and target haplotype of each transition, ordered by window.
    edge_group : (E,) row of each transition (one per window and source).
    n_haplotypes : candidate haplotypes of each window.
    n_individuals : individuals in the fit.
    """

    states: list
    boundaries: list
    edge_window: np.ndarray
    edge_from: np.ndarray
    edge_to: np.ndarray
    edge_group: np.ndarray
    n_haplotypes: tuple
    n_individuals: int

    @property
    def n_windows(self) -> int:
        return len(self.states)


def _ordered_states(pairs: PhasePairs):
    """Ordered states ``(individual, x, y)`` of unordered pairs, sorted by individual."""
    het = pairs.first != pairs.second
    ind = np.concatenate([pairs.individual, pairs.individual[het]])
    x = np.concatenate([pairs.first, pairs.second[het]])
    y = np.concatenate([pairs.second, pairs.first[het]])
    order = np.argsort(ind, kind="stable")
    return ind[order], x[order], y[order]


def _moves(prev_ind, cur_ind, n: int):
    """Every (previous state, current state) pair of the same individual, sorted
    by current state; both state lists sorted by individual."""
    n_prev = np.bincount(prev_ind, minlength=n)
    first_prev = np.cumsum(n_prev) - n_prev
    per_state = n_prev[cur_ind]
    dst = np.repeat(np.arange(cur_ind.size), per_state)
    within = np.arange(dst.size) - np.repeat(np.cumsum(per_state) - per_state, per_state)
    src = first_prev[cur_ind][dst] + within
    return src, dst


def chain_size(window_pairs: list[PhasePairs]) -> tuple[int, int, int]:
    """``(states, moves, most moves across one boundary)`` that :func:`build_chain`
    would store, counted without building them: an individual with ``s`` and
    ``s'`` ordered states in two adjacent windows makes ``s s'`` moves."""
    n = window_pairs[0].n_individuals
    prev = np.ones(n, dtype=np.int64)
    states = moves = widest = 0
    for pairs in window_pairs:
        cur = np.bincount(pairs.individual, np.where(pairs.first == pairs.second, 1, 2), minlength=n).astype(np.int64)
        across = int(prev @ cur)
        states, moves, widest = states + int(cur.sum()), moves + across, max(widest, across)
        prev = cur
    return states, moves, widest


def build_chain(window_pairs: list[PhasePairs]) -> WindowChain:
    """The :class:`WindowChain` of the windows' candidate pairs (one
    :class:`PhasePairs` per window, all over the same individuals, each
    individual with at least one pair in every window)."""
    n = window_pairs[0].n_individuals
    states, boundaries = [], []
    keys_w, keys_from, keys_to = [], [], []
    prev = (np.arange(n), np.full(n, -1), np.full(n, -1))
    n_edges = 0
    for w, pairs in enumerate(window_pairs):
        cur = _ordered_states(pairs)
        src, dst = _moves(prev[0], cur[0], n)
        # transitions a -> b coded as one integer, a = -1 (start) shifted to 0
        width = pairs.n_haplotypes
        code1 = (prev[1][src] + 1) * width + cur[1][dst]
        code2 = (prev[2][src] + 1) * width + cur[2][dst]
        codes, inverse = np.unique(np.concatenate([code1, code2]), return_inverse=True)
        edge = inverse + n_edges
        boundaries.append(_Boundary(src, dst, edge[: src.size], edge[src.size:], cur[0][dst]))
        keys_w.append(np.full(codes.size, w))
        keys_from.append(codes // width - 1)
        keys_to.append(codes % width)
        n_edges += codes.size
        states.append(cur)
        prev = cur
    edge_window, edge_from = np.concatenate(keys_w), np.concatenate(keys_from)
    _, group = np.unique(np.column_stack([edge_window, edge_from]), axis=0, return_inverse=True)
    return WindowChain(states, boundaries, edge_window, edge_from, np.concatenate(keys_to), group.ravel(),
                       tuple(p.n_haplotypes for p in window_pairs), n)


@dataclass(frozen=True)
class ChainParams:
    transitions: np.ndarray  # (E,) t_w(b | a) for each transition of the chain


@dataclass(frozen=True)
class _Stats(Stats):
    counts: np.ndarray  # (E,) expected number of chromosomes taking each transition


class WindowChainModel(EMModel):
    """Window haplotypes as a Markov chain (module docstring) over the
    transitions of one :class:`WindowChain`."""

    params_type = ChainParams

    def __init__(self, chain: WindowChain):
        self.chain = chain
        self.constraints = {"transitions": GroupedSimplex(chain.edge_group)}

    # -- parameters -------------------------------------------------------------------
    def _normalise(self, weights: np.ndarray) -> np.ndarray:
        """Weights scaled to sum to one within each row (a row of zeros: uniform)."""
        group = self.chain.edge_group
        total = np.bincount(group, weights)[group]
        size = np.bincount(group)[group]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(total > 0, weights / total, 1.0 / size)

    def from_frequencies(self, frequencies: list[np.ndarray]) -> ChainParams:
        """Transitions that forget the past: ``t_w(b | a)`` proportional to
        ``frequencies[w][b]`` (e.g. each window's haplotype frequencies fitted
        alone), the chain's linkage-equilibrium starting point."""
        c = self.chain  # edges are ordered by window
        weights = np.concatenate([frequencies[w][c.edge_to[c.edge_window == w]] for w in range(c.n_windows)])
        return ChainParams(self._normalise(weights))

    def initialize(self, data: WindowChain, rng: np.random.Generator) -> ChainParams:
        """Uniform random weights for every transition, normalised per row."""
        return ChainParams(self._normalise(rng.uniform(size=data.edge_group.size)))

    # -- E- and M-steps -----------------------------------------------------------------
    def _forward(self, data: WindowChain, t: np.ndarray):
        """Scaled forward variables per window and the log-likelihood."""
        alphas, scales = [], []
        prev = np.ones(data.n_individuals)
        for (ind, _, _), b in zip(data.states, data.boundaries):
            move = prev[b.src] * t[b.edge1] * t[b.edge2]
            alpha = np.bincount(b.dst, move, minlength=ind.size)
            scale = np.bincount(ind, alpha, minlength=data.n_individuals)
            with np.errstate(invalid="ignore", divide="ignore"):
                alpha = alpha / scale[ind]
            alphas.append(alpha)
            scales.append(scale)
            prev = alpha
        with np.errstate(divide="ignore"):
            ll = float(np.sum(np.log(np.stack(scales))))
        return alphas, scales, ll

    @staticmethod
    def _backward(data: WindowChain, t: np.ndarray, scales: list):
        """From the last window to the first, yield ``(w, beta_w, move)``: the
        scaled backward variables of window ``w`` and, for each move into it,
        ``t(x'|x) t(y'|y) beta_w(x', y') / c_iw``."""
        beta = np.ones(data.states[-1][0].size)
        for w in range(data.n_windows - 1, -1, -1):
            b = data.boundaries[w]
            move = t[b.edge1] * t[b.edge2] * beta[b.dst] / scales[w][b.individual]
            yield w, beta, move
            beta = np.bincount(b.src, move, minlength=data.states[w - 1][0].size if w else data.n_individuals)

    def e_step(self, data: WindowChain, params: ChainParams):
        t = params.transitions
        alphas, scales, ll = self._forward(data, t)
        counts = np.zeros(t.size)
        if not np.isfinite(ll):
            return _Stats(counts), ll
        for w, _, move in self._backward(data, t, scales):
            b = data.boundaries[w]
            xi = (alphas[w - 1] if w else np.ones(data.n_individuals))[b.src] * move
            counts += np.bincount(b.edge1, xi, minlength=t.size) + np.bincount(b.edge2, xi, minlength=t.size)
        return _Stats(counts), ll

    def loglik(self, data: WindowChain, params: ChainParams) -> float:
        return self._forward(data, params.transitions)[2]

    def m_step(self, stats: _Stats, current=None, fixed=None) -> ChainParams:
        return ChainParams(self._normalise(stats.counts))

    # -- the fitted chain ---------------------------------------------------------------
    def window_frequencies(self, params: ChainParams) -> list[np.ndarray]:
        """Marginal frequency of each window haplotype: ``m_1(b) = t_1(b | start)``,
        ``m_w(b) = sum_a m_{w-1}(a) t_w(b | a)``."""
        c, t = self.chain, params.transitions
        out, prev = [], np.ones(1)
        for w in range(c.n_windows):
            e = c.edge_window == w
            prev = np.bincount(c.edge_to[e], prev[np.maximum(c.edge_from[e], 0)] * t[e], minlength=c.n_haplotypes[w])
            out.append(prev)
        return out

    def path_probability(self, params: ChainParams, rows: np.ndarray) -> np.ndarray:
        """Probability of chromosomes given as (m, W) window-haplotype rows
        (-1: not a candidate), ``prod_w t_w(s_w | s_{w-1})``; 0 for a move the
        chain does not have."""
        c = self.chain
        index = {key: e for e, key in enumerate(zip(c.edge_window.tolist(), c.edge_from.tolist(), c.edge_to.tolist()))}
        t = params.transitions
        out = np.ones(rows.shape[0])
        for k, row in enumerate(rows.tolist()):
            for w, (a, b) in enumerate(zip([-1] + row[:-1], row)):
                e = index.get((w, a, b))
                out[k] *= 0.0 if e is None or b < 0 else t[e]
        return out

    # -- decoding -------------------------------------------------------------------------
    def state_posteriors(self, data: WindowChain, params: ChainParams) -> list[np.ndarray]:
        """Posterior probability of each ordered state, per window."""
        alphas, scales, _ = self._forward(data, params.transitions)
        out = [None] * data.n_windows
        for w, beta, _ in self._backward(data, params.transitions, scales):
            out[w] = alphas[w] * beta
        return out

    def viterbi(self, data: WindowChain, params: ChainParams) -> list[np.ndarray]:
        """Each individual's most probable sequence of ordered states (the most
        probable ordered pair of full haplotypes): per window, the (n,) index
        of the chosen state."""
        with np.errstate(divide="ignore"):
            logt = np.log(params.transitions)
        delta = np.zeros(data.n_individuals)
        back = []
        for _, b in zip(data.states, data.boundaries):
            score = delta[b.src] + logt[b.edge1] + logt[b.edge2]
            starts = np.flatnonzero(np.r_[True, np.diff(b.dst) != 0])  # every state has a move in
            delta = np.maximum.reduceat(score, starts)
            best = np.flatnonzero(score == delta[b.dst])
            _, first = np.unique(b.dst[best], return_index=True)
            back.append(b.src[best[first]])
        ind = data.states[-1][0]
        order = np.lexsort((-delta, ind))
        last = order[np.r_[True, np.diff(ind[order]) != 0]]
        path = [last]
        for w in range(data.n_windows - 1, 0, -1):
            path.append(back[w][path[-1]])
        return path[::-1]
