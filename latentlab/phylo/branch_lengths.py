"""Branch lengths and substitution parameters on a fixed tree, by EM.

Model: the sites of an alignment evolve independently along an unrooted tree
under a reversible substitution model (:mod:`latentlab.phylo.substitution`);
branch ``c`` (above node ``c``) has length ``t_c`` in expected substitutions
per site. The observed data are the tips' characters; the missing data are
the states at every internal node. With them the complete-data log-likelihood
of one site is

    log pi_{x_root} + sum_c log P_{x_parent(c) x_c}(t_c; theta),

which depends on the data only through the root state and the (parent state,
child state) pair of every branch.

E-step (Felsenstein 1981 pruning and its outside pass, :mod:`._kernels`): the
expected counts, summed over sites,

    N_c(a, b) = sum_sites Pr(X_parent(c) = a, X_c = b | data),   n(a) = sum_sites Pr(X_root = a | data),

the statistics of Friedman, Ninio, Pe'er & Pupko (2002, J. Comput. Biol.
9:331-353). They add over sites (site patterns weighted by their counts).

M-step: the expected complete-data log-likelihood (Dempster, Laird & Rubin 1977)

    Q(t, theta) = sum_a n(a) log pi_a + sum_c sum_ab N_c(a, b) log P_ab(t_c; theta)

separates over branches for fixed ``theta``. It is maximised in two
conditional steps (ECM, Meng & Rubin 1993, Biometrika 80:267-278), each of
which never lowers ``Q`` (beyond a relative 1e-13 ascribed to round-off in the
length steps), so the likelihood never decreases:

1. every branch length, ``t_c = argmax_t sum_ab N_c(a, b) log P_ab(t)`` on
   ``[min_length, max_length]`` (defaults 1e-8 and 10, IQ-TREE's upper
   bound), by Newton's method in ``log t`` on all branches at once, started at
   the current length, with step halving wherever a step would lower the
   branch's term (``P(t) = A exp(Lambda t) B`` gives ``P'`` and ``P''`` in
   closed form);
2. the substitution parameters ``theta`` (kappa, the GTR rates on
   ``[1e-4, 100]`` as IQ-TREE's, and the base frequencies when estimated) at
   the new lengths: one Newton step on ``Q`` in the log rates and the log
   ratios of the frequencies to that of T, with central-difference
   derivatives, halved until ``Q`` does not fall. This step raises ``Q``
   without maximising it (a generalised EM step, Dempster, Laird & Rubin
   1977, sec. 3), which keeps the likelihood from decreasing; at a fixed
   point the gradient is zero, so the limit is a stationary point of the
   likelihood. (Maximising ``Q`` fully at every iteration cost 85% of the
   time of a fit and no iterations.) With empirical frequencies (the default
   for HKY85 and GTR, IQ-TREE's ``+F``) the frequencies are part of the
   model, not parameters.

The root is an internal node of degree 3; a reversible model's likelihood is
the same wherever the root is (:mod:`latentlab.phylo.tree`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from .._validation import check_positive
from ..em import EMEstimator, EMModel, Interval, Simplex, Stats
from ..em.settings import check_int, engine_defaults
from . import _kernels
from .alignment import Alignment, as_alignment
from .substitution import STATES, SubstitutionModel, discrete_gamma_rates, substitution_model
from .tree import Tree, as_tree

__all__ = ["BranchLengthEM", "BranchLengthModel", "BranchParams", "BranchFreqParams", "BranchGammaParams",
           "BranchFreqGammaParams"]

#: engine settings: the engine's defaults with tol=1e-12, max_iter=20000, accelerate="squarem" (EM on branch
#: lengths converges slowly where the tips say little about a branch; SQUAREM and a tight tol for
#: agreement with direct maximisation to 1e-6)
_ENGINE = engine_defaults(tol=1e-12, max_iter=20000, accelerate="squarem")

MIN_RATE, MAX_RATE = 1e-4, 100.0  # bounds of kappa and the GTR rates (IQ-TREE's)
_FREQ_RATIO = 1e4  # bounds of pi_i / pi_T when the frequencies are estimated
MIN_ALPHA, MAX_ALPHA = 0.02, 1000.0  # bounds of the gamma shape
_START_ALPHA = 0.5  # start of the gamma shape (IQ-TREE's)
_DEFAULT_LENGTH = 0.1  # start of a branch without a length in the Newick text
_NEWTON_MAX, _NEWTON_TOL, _MAX_STEP = 100, 1e-12, 2.0
_TINY = 1e-300  # floor of a transition probability under a logarithm (round-off at the smallest lengths)
_ROUNDOFF = 1e-13  # relative fall of a branch term ascribed to round-off in the Newton steps


@dataclass(frozen=True)
class BranchParams:
    lengths: np.ndarray  # (n_branches,) branch lengths, in the tree's node order
    rates: np.ndarray  # (n_rates,) kappa (K80, HKY85) or the GTR rates; empty for JC69


@dataclass(frozen=True)
class BranchFreqParams(BranchParams):
    freqs: np.ndarray  # (4,) stationary frequencies of A, C, G, T (when estimated)


@dataclass(frozen=True)
class BranchGammaParams(BranchParams):
    alpha: np.ndarray  # (1,) shape of the gamma distribution of rates across sites


@dataclass(frozen=True)
class BranchFreqGammaParams(BranchFreqParams):
    alpha: np.ndarray  # (1,) shape of the gamma distribution of rates across sites


_PARAMS = {(False, False): BranchParams, (True, False): BranchFreqParams, (False, True): BranchGammaParams,
           (True, True): BranchFreqGammaParams}


@dataclass(frozen=True)
class _Stats(Stats):
    root: np.ndarray  # (4,) expected root states n(a)
    pairs: np.ndarray  # (n_categories, n_branches, 4, 4) expected (parent, child) state pairs N_kc(a, b)


@dataclass(frozen=True)
class Passes:
    """Both passes of an E-step over the site patterns (:mod:`._kernels`),
    one per rate category ``k`` (a single one without gamma rates)."""

    stats: _Stats
    loglik: float
    P: np.ndarray  # (n_categories, n_branches, 4, 4) transition matrices of the branches
    weights: np.ndarray  # (n_patterns,) sites per pattern
    lower: np.ndarray  # (n_categories, n_nodes, n_patterns, 4) scaled lower partials L_v
    msg: np.ndarray  # (n_categories, n_branches, n_patterns, 4) messages m_c = P_c L_c
    above: np.ndarray  # (n_categories, n_nodes, n_patterns, 4) scaled outside probabilities U_v (internal nodes)
    site_ll: np.ndarray  # (n_categories, n_patterns) log L_pk, each pattern's log-likelihood in category k
    posterior: np.ndarray  # (n_categories, n_patterns) Pr(category k | pattern p)


class BranchLengthModel(EMModel):
    """The EM contract for branch lengths on a fixed tree (module docstring).

    ``data`` is an :class:`Alignment` whose sequences are in the order of
    ``tree.names``. ``substitution`` gives the starting rates and, unless
    ``estimate_freqs``, the (fixed) base frequencies. ``gamma_categories``
    (0: none) adds discrete gamma rates across sites (module docstring).
    """

    def __init__(self, tree: Tree, substitution: SubstitutionModel, estimate_freqs: bool = False,
                 min_length: float = 1e-8, max_length: float = 10.0, score_tol: float = 1e-6,
                 gamma_categories: int = 0):
        if estimate_freqs and not substitution.free_freqs:
            raise ValueError(f"{substitution.name} has equal base frequencies; they cannot be estimated")
        if not estimate_freqs and substitution.freqs is None:
            raise ValueError(f"{substitution.name}: set its freqs (e.g. the alignment's base_frequencies()) "
                             "or estimate them")
        self.tree, self.substitution, self.estimate_freqs = tree, substitution, bool(estimate_freqs)
        self.min_length, self.max_length = float(min_length), float(max_length)
        self.score_tol = check_positive(score_tol, "score_tol")
        self.start, self.child = tree.children()
        self.gamma_categories = int(gamma_categories)
        self.gamma = self.gamma_categories > 1
        self.n_categories = self.gamma_categories if self.gamma else 1
        self.params_type = _PARAMS[self.estimate_freqs, self.gamma]
        self.constraints = {"lengths": Interval(min_length, max_length, closed=True),
                            "rates": Interval(MIN_RATE, MAX_RATE, closed=True)}
        if estimate_freqs:
            self.constraints["freqs"] = Simplex()
        if self.gamma:
            self.constraints["alpha"] = Interval(MIN_ALPHA, MAX_ALPHA, closed=True)

    def on_tree(self, tree: Tree, score_tol: float | None = None) -> BranchLengthModel:
        """The same model on another tree (and score tolerance)."""
        return BranchLengthModel(tree, self.substitution, self.estimate_freqs, self.min_length, self.max_length,
                                 self.score_tol if score_tol is None else score_tol, self.gamma_categories)

    def category_rates(self, params: BranchParams) -> np.ndarray:
        """The rates ``r_k`` of the categories at ``params`` (one category of rate 1 without gamma)."""
        return discrete_gamma_rates(float(params.alpha[0]), self.n_categories) if self.gamma else np.ones(1)

    def _params(self, lengths, rates, freqs, alpha) -> BranchParams:
        extra = ([freqs] if self.estimate_freqs else []) + ([alpha] if self.gamma else [])
        return self.params_type(lengths, rates, *extra)

    def substitution_at(self, params: BranchParams) -> SubstitutionModel:
        """The substitution model at ``params``."""
        freqs = params.freqs if self.estimate_freqs else self.substitution.freqs
        return self.substitution.with_parameters(params.rates, freqs)

    def _check_data(self, data: Alignment) -> None:
        if data.names != self.tree.names:
            raise ValueError("the alignment's sequences must be in the order of the tree's tips "
                             "(use alignment.take(tree.names))")

    def initialize(self, data: Alignment, rng: np.random.Generator) -> BranchParams:
        """The Newick lengths (0.1 where none), the substitution model's
        rates and the gamma shape 0.5, each times ``exp(N(0, 0.1^2))`` for
        independent restarts; the empirical base frequencies when they are
        estimated."""
        self._check_data(data)
        lengths = np.where(np.isfinite(self.tree.lengths), self.tree.lengths, _DEFAULT_LENGTH)
        lengths = np.clip(lengths * np.exp(rng.normal(0.0, 0.1, lengths.size)), self.min_length, self.max_length)
        rates = np.clip(self.substitution.rates * np.exp(rng.normal(0.0, 0.1, self.substitution.rates.size)),
                        MIN_RATE, MAX_RATE)
        alpha = np.array([_START_ALPHA * np.exp(rng.normal(0.0, 0.1))])
        return self._params(lengths, rates, data.base_frequencies() if self.estimate_freqs else None, alpha)

    # -- E-step --------------------------------------------------------------------------
    def _prune(self, data: Alignment, params: BranchParams):
        """The lower pass in every rate category; each pattern's likelihood
        is the categories' average, ``L_p = (1/K) sum_k L_pk``."""
        self._check_data(data)
        sub = self.substitution_at(params)
        K, n, m = self.n_categories, self.tree.n_nodes, data.n_patterns
        P = sub.transition(self.category_rates(params)[:, None] * params.lengths[None, :])
        lower, msg = np.empty((K, n, m, 4)), np.empty((K, n - 1, m, 4))
        site_ll = np.empty((K, m))
        weights = data.weights.astype(float)
        for k in range(K):
            _kernels.lower_pass(data.partials, self.tree.parent, P[k], sub.freqs, weights, lower[k], msg[k],
                                site_ll[k])
        pattern_ll = special.logsumexp(site_ll, axis=0) - np.log(K)
        return sub, P, weights, lower, msg, site_ll, pattern_ll

    def passes(self, data: Alignment, params: BranchParams) -> Passes:
        """The lower and outside passes: the E-step's counts, the
        log-likelihood, and the partials of every node (rows of ``above`` for
        the tips left unset). With rate categories, category ``k``'s counts
        weigh each pattern by its posterior ``Pr(k | pattern) = L_pk / (K L_p)``."""
        sub, P, weights, lower, msg, site_ll, pattern_ll = self._prune(data, params)
        K = self.n_categories
        posterior = np.exp(site_ll - pattern_ll - np.log(K))
        pairs = np.zeros((K, self.tree.n_branches, 4, 4))
        root = np.zeros(4)
        above = np.empty_like(lower)
        for k in range(K):
            _kernels.expected_counts(self.start, self.child, P[k], sub.freqs, weights * posterior[k], lower[k],
                                     msg[k], pairs[k], root, above[k])
        return Passes(_Stats(root, pairs), float(weights @ pattern_ll), P, weights, lower, msg, above, site_ll,
                      posterior)

    def e_step(self, data: Alignment, params: BranchParams):
        out = self.passes(data, params)
        return out.stats, out.loglik

    def ancestral_states(self, data: Alignment, params: BranchParams, node: int) -> np.ndarray:
        """Posterior probabilities (n_patterns, 4) of the states of internal
        ``node`` at each site pattern: ``U_v(a) L_v(a) / sum_b U_v(b) L_v(b)``
        (:mod:`._kernels`), the marginal reconstruction of Yang, Kumar & Nei (1995);
        with rate categories, their average weighted by each category's posterior."""
        if not self.tree.n_tips <= node < self.tree.n_nodes:
            raise ValueError(f"node must be an internal node, {self.tree.n_tips} to {self.tree.n_nodes - 1}; got {node!r}")
        out = self.passes(data, params)
        joint = out.above[:, node] * out.lower[:, node]
        return np.einsum("kp,kpa->pa", out.posterior, joint / joint.sum(axis=2, keepdims=True))

    def loglik(self, data: Alignment, params: BranchParams) -> float:
        _, _, weights, _, _, _, pattern_ll = self._prune(data, params)
        return float(weights @ pattern_ll)

    # -- M-step --------------------------------------------------------------------------
    def m_step(self, stats: _Stats, current: BranchParams, fixed=None) -> BranchParams:
        """ECM (module docstring): branch lengths, then the substitution parameters."""
        terms = _BranchTerms(stats.pairs, self.substitution_at(current).eigen(), self.category_rates(current))
        lengths = _maximise_lengths(terms, current.lengths, self.min_length, self.max_length)
        if fixed is not None:  # the second step's maximiser depends on the lengths held
            lengths = np.where(fixed.lengths, current.lengths, lengths)
        free_rates = np.ones(current.rates.size, dtype=bool) if fixed is None else ~fixed.rates
        free_freqs = self.estimate_freqs and (fixed is None or not np.any(fixed.freqs))
        free_alpha = self.gamma and (fixed is None or not np.any(fixed.alpha))
        return self._maximise_substitution(stats, lengths, current, free_rates, free_freqs, free_alpha)

    def is_stationary(self, data: Alignment, params: BranchParams, stats: _Stats) -> bool:
        """Every branch length is stationary: its score in ``log t``,
        ``d log L / d log t_c = t_c sum_ab N_c(a, b) P'_ab(t_c) / P_ab(t_c)``
        (Fisher's identity, from the E-step's counts at ``params``), is at
        most ``score_tol`` in absolute value, or points out of the bound the
        length sits on. The change rule alone stops EM where the likelihood is
        flat along a short branch, up to 1e-6 (relative) from the maximum."""
        terms = _BranchTerms(stats.pairs, self.substitution_at(params).eigen(), self.category_rates(params))
        t = params.lengths
        E, P, _ = terms.value(t)
        score = terms.slopes(t, E, P)[0]
        held = ((t <= self.min_length) & (score < 0)) | ((t >= self.max_length) & (score > 0))
        return bool(np.all(held | (np.abs(score) <= self.score_tol)))

    def _maximise_substitution(self, stats: _Stats, lengths, current: BranchParams, free_rates, free_freqs,
                               free_alpha) -> BranchParams:
        """Step 2: one Newton step on ``Q`` in ``z = (log rates, log(pi_A/pi_T),
        log(pi_C/pi_T), log(pi_G/pi_T), log alpha)`` (the free ones;
        :func:`_newton_ascent`), at the new ``lengths``."""
        sub = self.substitution_at(current)
        alpha = current.alpha if self.gamma else None
        n_rates = int(free_rates.sum())
        if n_rates == 0 and not free_freqs and not free_alpha:
            return self._params(lengths, current.rates, sub.freqs if self.estimate_freqs else None, alpha)

        def unpack(z):
            rates = current.rates.copy()
            rates[free_rates] = np.clip(np.exp(z[:n_rates]), MIN_RATE, MAX_RATE)  # exp(log(bound)) may pass it
            freqs, shape = sub.freqs, alpha
            if free_freqs:
                e = np.exp(np.append(z[n_rates:n_rates + 3], 0.0))
                freqs = e / e.sum()
            if free_alpha:
                shape = np.clip(np.exp(z[-1:]), MIN_ALPHA, MAX_ALPHA)
            return rates, freqs, shape

        def q(z):
            rates, freqs, shape = unpack(z)
            r = discrete_gamma_rates(float(shape[0]), self.n_categories) if self.gamma else np.ones(1)
            P = sub.with_parameters(rates, freqs).transition(r[:, None] * lengths[None, :])
            return np.sum(stats.pairs * np.log(np.maximum(P, _TINY))) + stats.root @ np.log(freqs)

        z0 = np.log(current.rates[free_rates])
        lower, upper = np.full(n_rates, np.log(MIN_RATE)), np.full(n_rates, np.log(MAX_RATE))
        if free_freqs:
            z0 = np.append(z0, np.log(sub.freqs[:3] / sub.freqs[3]))
            lower, upper = np.append(lower, [-np.log(_FREQ_RATIO)] * 3), np.append(upper, [np.log(_FREQ_RATIO)] * 3)
        if free_alpha:
            z0 = np.append(z0, np.log(alpha))
            lower, upper = np.append(lower, np.log(MIN_ALPHA)), np.append(upper, np.log(MAX_ALPHA))
        rates, freqs, shape = unpack(_newton_ascent(q, z0, lower, upper))
        return self._params(lengths, rates, freqs if self.estimate_freqs else None, shape)

    # -- reporting -----------------------------------------------------------------------
    def labels(self) -> list[str]:
        """One label per flattened parameter: ``lengths[tips]`` (the tips on
        the smaller side of the branch), ``kappa`` or ``rates[AC]``..., ``freqs[A]``..."""
        names = []
        for clade in self.tree.clades():
            side = clade if 2 * len(clade) <= self.tree.n_tips else [n for n in self.tree.names if n not in clade]
            names.append(f"lengths[{','.join(side)}]")
        rates = self.substitution.rate_names
        names += list(rates) if rates == ("kappa",) else [f"rates[{r}]" for r in rates]
        if self.estimate_freqs:
            names += [f"freqs[{s}]" for s in STATES]
        if self.gamma:
            names.append("alpha")
        return names


def _newton_ascent(q, z0, lower, upper, h: float = 1e-4):
    """One Newton step for ``max q(z)`` on the box ``[lower, upper]`` from
    ``z0``, with central-difference derivatives (step ``h``): the step solves
    ``(-H + mu I) s = g`` with the smallest ``mu >= 0`` (0, or doubled from
    1e-6 |H|) that makes the matrix positive definite, is at most 1 long,
    stays in the box and is halved until ``q`` does not fall; ``z0`` when no
    such step exists. At a fixed point ``g = 0``."""
    d = z0.size
    f0 = q(z0)
    g, H = np.zeros(d), np.zeros((d, d))
    plus, minus = np.zeros(d), np.zeros(d)
    for i in range(d):
        e = np.eye(d)[i] * h
        plus[i], minus[i] = q(z0 + e), q(z0 - e)
        g[i] = (plus[i] - minus[i]) / (2 * h)
        H[i, i] = (plus[i] - 2 * f0 + minus[i]) / h**2
        for j in range(i):
            ej = np.eye(d)[j] * h
            H[i, j] = H[j, i] = (q(z0 + e + ej) - q(z0 + e - ej) - q(z0 - e + ej) + q(z0 - e - ej)) / (4 * h**2)
    mu, scale = 0.0, np.max(np.abs(np.diag(H))) + 1e-300
    while True:
        try:
            chol = np.linalg.cholesky(-H + mu * np.eye(d))
            break
        except np.linalg.LinAlgError:
            mu = max(2.0 * mu, 1e-6 * scale)
    step = np.linalg.solve(chol.T, np.linalg.solve(chol, g))
    step *= min(1.0, 1.0 / (np.linalg.norm(step) + 1e-300))
    step = np.clip(z0 + step, lower, upper) - z0
    for _ in range(60):
        if q(z0 + step) >= f0:
            return z0 + step
        step /= 2.0
    return z0


class _BranchTerms:
    """The branch terms ``f_c(t) = sum_k sum_ab N_kc(a, b) log P_ab(r_k t)``
    of ``Q`` (rate categories ``k`` with rates ``r_k``; one of rate 1
    without gamma) and their derivatives in ``u = log t``, for all branches
    at once.

    With ``P(t) = sum_j C_j exp(lambda_j t)``, ``C_j = A[:, j] B[j, :]``:
    ``f' = sum N P'/P``, ``f'' = sum N (P''/P - (P'/P)^2)`` (``P'`` the
    derivative in ``t``, which brings a factor ``r_k``), and in ``u``
    ``g = t f'``, ``h = t^2 f'' + t f'``. At the point of the E-step that
    gave ``N``, ``g`` is also the score ``d log L / d log t_c`` (Fisher's
    identity)."""

    def __init__(self, pairs: np.ndarray, eigen, scales: np.ndarray):
        lam, a, b = eigen
        self.C = np.einsum("aj,jb->jab", a, b).reshape(4, 16)
        self.rl = np.asarray(scales)[:, None] * lam  # (K, 4): r_k lambda_j
        self.N = pairs.reshape(len(self.rl), -1, 16).transpose(1, 0, 2)  # (branches, K, 16)

    def value(self, t):
        """``(E, P, f)`` at lengths ``t``: ``E = exp(r lambda t)``, ``P`` flattened, per category."""
        E = np.exp(t[:, None, None] * self.rl)
        P = np.maximum(E @ self.C, _TINY)
        return E, P, np.sum(self.N * np.log(P), axis=(1, 2))

    def slack(self, f):
        """The fall of ``f`` ascribed to round-off in a Newton step."""
        return _ROUNDOFF * np.abs(f)

    def slopes(self, t, E, P):
        """``(g, h)``: first and second derivatives of each ``f_c`` in ``log t``."""
        d1 = ((E * self.rl) @ self.C) / P
        d2 = ((E * self.rl**2) @ self.C) / P
        g = t * np.sum(self.N * d1, axis=(1, 2))
        return g, t**2 * np.sum(self.N * (d2 - d1**2), axis=(1, 2)) + g


def _rows(mask, a):
    """``mask`` (n,) shaped to select rows of ``a`` (n, ...) in ``np.where``."""
    return mask.reshape((-1,) + (1,) * (a.ndim - 1))


def _maximise_lengths(terms: _BranchTerms, t0, lo, hi):
    """Step 1: every ``t_c = argmax f_c(t)`` on ``[lo, hi]`` by Newton's method
    in ``u = log t`` (:class:`_BranchTerms`), all branches at once. The step is
    ``-g/h`` where ``h < 0`` and ``sign(g)`` otherwise, at most 2 in ``u``,
    kept inside the bounds and halved until ``f_c`` does not fall (beyond
    ``terms.slack(f)``, round-off)."""
    log_lo, log_hi = np.log(lo), np.log(hi)
    u = np.log(np.clip(t0, lo, hi))
    t = np.exp(u)
    E, P, f = terms.value(t)
    for _ in range(_NEWTON_MAX):
        g, h = terms.slopes(t, E, P)
        step = np.where(h < 0, -g / np.where(h < 0, h, -1.0), np.sign(g))
        step = np.clip(u + np.clip(step, -_MAX_STEP, _MAX_STEP), log_lo, log_hi) - u
        for _ in range(60):
            t_new = np.clip(np.exp(u + step), lo, hi)  # exp(log(hi)) may exceed hi by one ulp
            E_new, P_new, f_new = terms.value(t_new)
            keep = f_new >= f - terms.slack(f)
            if keep.all():
                break
            step = np.where(keep, step, step / 2.0)
        step = np.where(keep, step, 0.0)
        u = u + step
        t = np.where(keep, t_new, t)
        E, P, f = np.where(_rows(keep, E), E_new, E), np.where(_rows(keep, P), P_new, P), np.where(keep, f_new, f)
        if np.max(np.abs(step)) <= _NEWTON_TOL:
            break
    return t


_FREQUENCIES = ("empirical", "estimated")


class BranchLengthEM(EMEstimator):
    """Maximum-likelihood branch lengths and substitution parameters on a
    fixed tree topology, by EM (module docstring).

    Parameters
    ----------
    substitution : 'JC69', 'K80', 'HKY85' or 'GTR' (also 'JC', 'K2P', 'HKY').
    frequencies : for HKY85 and GTR, 'empirical' (the alignment's base
        composition, held fixed: IQ-TREE's ``+F``) or 'estimated' (maximum
        likelihood, IQ-TREE's ``+FO``). JC69 and K80 have equal frequencies.
    gamma_categories : 0 (the default) for one rate at every site, or the
        number of equally probable discrete gamma rate categories (4 is
        IQ-TREE's ``+G4``), the category of each site a further latent
        variable, the gamma shape ``alpha`` estimated (module docstring).
    min_length, max_length : bounds of every branch length (IQ-TREE's upper
        bound is 10).
    score_tol : the fit also stops only when the score of every branch length
        in ``log t`` is at most this (:meth:`BranchLengthModel.is_stationary`).
    callback : called as ``callback(iteration, params, loglik)`` after each
        EM iteration.
    tol, max_iter, n_init, accelerate, random_state, progress : passed to
        :func:`latentlab.em.fit_em`.

    Attributes (after fit)
    ----------------------
    tree_ : the tree in Newick with the fitted branch lengths.
    branch_lengths_ : pandas Series of the lengths, indexed by the tips on the
        smaller side of each branch.
    substitution_ : the fitted :class:`SubstitutionModel`.
    n_sites_, n_patterns_ : sites and distinct site patterns of the alignment.
    result_, loglik_, n_iter_, converged_ : from the engine.

    Example
    -------
    >>> from latentlab.phylo import BranchLengthEM, JC69, simulate_alignment
    >>> tree = "((a:0.1,b:0.2):0.05,c:0.3,(d:0.1,e:0.15):0.1);"
    >>> aln = simulate_alignment(tree, JC69(), 500, random_state=0)
    >>> fit = BranchLengthEM("JC69").fit(aln, tree)
    >>> fit.branch_lengths_.round(2).to_dict()["a"] > 0
    True
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
        tol: float = _ENGINE["tol"],
        max_iter: int = _ENGINE["max_iter"],
        n_init: int = _ENGINE["n_init"],
        accelerate: str | None = _ENGINE["accelerate"],
        random_state=None,
        progress: bool | None = _ENGINE["progress"],
        callback=None,
    ):
        self.substitution = substitution
        self.frequencies = frequencies
        self.gamma_categories = gamma_categories
        self.min_length = min_length
        self.max_length = max_length
        self.score_tol = score_tol
        self.callback = callback
        self._set_engine_settings(tol=tol, max_iter=max_iter, n_init=n_init, accelerate=accelerate,
                                  random_state=random_state, progress=progress)

    def _model(self, data: Alignment, tree: Tree) -> BranchLengthModel:
        sub = substitution_model(self.substitution)
        if self.frequencies not in _FREQUENCIES:
            raise ValueError(f"frequencies must be 'empirical' or 'estimated'; got {self.frequencies!r}")
        estimate = self.frequencies == "estimated"
        if estimate and not sub.free_freqs:
            raise ValueError(f"frequencies='estimated' needs a model with free base frequencies (HKY85, GTR); "
                             f"{sub.name} has equal ones")
        lo, hi = check_positive(self.min_length, "min_length"), check_positive(self.max_length, "max_length")
        if not lo < hi:
            raise ValueError(f"min_length must be below max_length; got {lo!r} and {hi!r}")
        if sub.free_freqs and not estimate:
            sub = sub.with_parameters(sub.rates, data.base_frequencies())
        gamma = check_int(self.gamma_categories, "gamma_categories", 0)
        if gamma == 1:
            raise ValueError("gamma_categories must be 0 (one rate at every site) or at least 2; got 1")
        return BranchLengthModel(tree, sub, estimate, lo, hi, self.score_tol, gamma)

    def fit(self, alignment, tree) -> BranchLengthEM:
        """Fit to ``alignment`` (an :class:`Alignment`, or a FASTA/PHYLIP path
        or text) on ``tree`` (a :class:`Tree`, or Newick text or path; its
        branch lengths, where given, are the starting point)."""
        tree = as_tree(tree)
        return self._fit_tree(as_alignment(alignment).take(tree.names), tree)

    def _fit_tree(self, data: Alignment, tree: Tree, init_params: BranchParams | None = None,
                  **overrides) -> BranchLengthEM:
        """Fit on ``tree`` (``data`` in its tip order; engine settings
        ``overrides``) and set the fitted attributes."""
        model = self._model(data, tree)
        result = self._fit_em(model, data, n_obs=data.n_sites, init_params=init_params, callback=self.callback,
                              **overrides)
        self.n_sites_, self.n_patterns_ = data.n_sites, data.n_patterns
        self.tree_ = tree.with_lengths(result.params.lengths).to_newick()
        labels = [lab[len("lengths["):-1] for lab in model.labels()[: tree.n_branches]]
        self.branch_lengths_ = pd.Series(result.params.lengths, index=labels, name="length")
        self.substitution_ = model.substitution_at(result.params)
        self.alignment_ = data
        return self

    def plot_tree(self, ax=None):
        """The fitted tree as a phylogram (:meth:`latentlab.phylo.Tree.plot`)."""
        self._check_fitted()
        return self.model_.tree.with_lengths(self.result_.params.lengths).plot(ax=ax)

    def ancestral_states(self, clade="root") -> pd.DataFrame:
        """Posterior probabilities of A, C, G and T at an internal node, site
        by site, at the fitted parameters (marginal reconstruction, Yang, Kumar
        & Nei 1995), and the most probable base (``state``). ``clade``:
        ``"root"`` (the node of degree 3 the tree is held at: the first
        trifurcation of its Newick text), or the names of the tips on one
        side of a branch (at least two, and all but at least two): the node
        at that side's end of the branch, the common ancestor of those tips
        when the tree is rooted on the branch's other side (an outgroup).
        Rows are the alignment's sites, numbered from 1 (its site patterns
        where it was built from patterns alone)."""
        self._check_fitted()
        node = self._clade_node(clade)
        post = self.model_.ancestral_states(self.alignment_, self.result_.params, node)
        sites = self.alignment_.site_patterns
        table = pd.DataFrame(post if sites is None else post[sites], columns=list(STATES))
        table.index = pd.RangeIndex(1, len(table) + 1, name="site" if sites is not None else "pattern")
        table["state"] = np.array(list(STATES))[table[list(STATES)].to_numpy().argmax(axis=1)]
        return table

    def _clade_node(self, clade) -> int:
        """The internal node :meth:`ancestral_states` means by ``clade``."""
        tree = self.model_.tree
        if isinstance(clade, str) and clade == "root":
            return tree.n_nodes - 1
        wanted = {str(x) for x in (clade if not isinstance(clade, str) else [clade])}
        unknown = sorted(wanted - set(tree.names))
        if unknown:
            raise ValueError(f"clade: {unknown} are not tips of the fitted tree")
        sides = {frozenset(c): v for v, c in enumerate(tree.clades())}  # the lower side of every branch
        if frozenset(wanted) in sides and sides[frozenset(wanted)] >= tree.n_tips:
            return sides[frozenset(wanted)]
        other = frozenset(set(tree.names) - wanted)
        if other in sides and len(wanted) >= 2 and len(other) >= 2:
            return int(tree.parent[sides[other]])
        raise ValueError(f"clade: {sorted(wanted)} are not the tips on one side of a branch of the fitted tree "
                         "(give 'root', or at least two tips that a branch separates from at least two others)")

    def _parameter_labels(self) -> list[str]:
        return self.model_.labels()

    def _summary_header(self) -> list[tuple[str, str]]:
        return [*super()._summary_header(), ("substitution model", repr(self.substitution_)),
                ("sites (patterns)", f"{self.n_sites_} ({self.n_patterns_})")]
