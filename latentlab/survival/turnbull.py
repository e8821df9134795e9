"""The Turnbull nonparametric MLE for interval-censored lifetimes.

Endpoint convention. By default an observation ``(L, R]`` means
``L < T <= R`` (half-open, as in R's icenReg and npsurv), with ``L == R``
an exact time and ``R = inf`` right-censoring. With ``closed=True`` it means
``L <= T <= R`` (lifelines' convention). The convention decides ties: under
``(L, R]`` an interval ending at 8 and one starting at 8 do not overlap; under
``[L, R]`` they share the point 8.

Turnbull intervals (Turnbull 1976, JRSS B 38:290-295). Sort all endpoints,
left before right at a shared value when both are closed there, right before
left when the left one is open. Every left endpoint immediately followed by a
right endpoint bounds a Turnbull (innermost) interval ``I_j``; the NPMLE puts
all its mass ``p_j`` on these intervals. ``alpha_ij = 1`` when ``I_j`` lies in
observation ``i``.

Self-consistency EM. With ``P_i = sum_j alpha_ij p_j`` and ``w_i`` the
multiplicity of observation ``i`` (``n = sum_i w_i``):

    E-step:  expected count in I_j   N_j = p_j d_j,   d_j = sum_i w_i alpha_ij / P_i
    M-step:  p_j = N_j / n
    log-likelihood  l(p) = sum_i w_i log P_i,  with gradient dl/dp_j = d_j.

Convergence (Kuhn-Tucker conditions; Gentleman & Geyer 1994, Biometrika
81:618-623). ``l`` is concave on the simplex and ``sum_j p_j d_j = n`` at
every ``p``, so ``p`` is the NPMLE exactly when ``d_j <= n`` for every ``j``
(with equality where ``p_j > 0``). The fit stops when the engine's change rule
holds *and* ``max_j d_j / n - 1 <= kkt_tol``. EM approaches masses that are 0
at the MLE only slowly, so SQUAREM is the default; its extrapolations that
leave the simplex are pulled back (:mod:`latentlab.em.squarem`).

Constrained Newton method (the default, ``method="cnm"``; Wang 2007, JRSS B
69:185-198; Wang 2008, Comput. Stat. Data Anal. 52:2388-2402, as in R's
npsurv). Self-consistency EM approaches the many masses that are 0 at the
NPMLE only slowly; CNM works on a small support ``S`` instead. Each iteration
adds to ``S`` the interval of largest gradient ``d_j`` in every gap between
support points where that gradient exceeds ``n`` (a direction in which ``l``
rises), then solves the quadratic approximation of ``l`` at ``p``,

    minimise  sum_i w_i (sum_{j in S} alpha_ij q_j / P_i - 2)^2  over q >= 0

(a non-negative least-squares problem), normalises ``q`` to the simplex, and
moves from ``p`` towards it with a backtracking (Armijo) line search, dropping
the intervals whose mass is then 0. It stops at the same Kuhn-Tucker test,
and the engine's EM then starts from that point: its E-step's expected counts
and the same test confirm the maximum (it stops after one or two steps), so
the fit keeps the EM record.

The survival function is determined only outside the Turnbull intervals; inside
one, any way of spreading ``p_j`` over it has the same likelihood. The estimator
reports both envelopes: ``upper`` keeps each mass to the right end of its
interval, ``lower`` moves it to the left end.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import nnls

from .._validation import check_positive
from ..em import EMEstimator, EMModel, EMResult, Simplex, Stats
from ..em.settings import check_int, engine_defaults
from . import _censoring as cens

__all__ = ["Turnbull", "TurnbullModel", "TurnbullParams", "turnbull_intervals"]

#: engine settings: the engine's defaults with tol=1e-10, max_iter=100000, accelerate="squarem" (self-consistency EM for the NPMLE crawls (issue 23): SQUAREM and room for many iterations)
_ENGINE = engine_defaults(tol=1e-10, max_iter=100000, accelerate="squarem")

METHODS = ("cnm", "em")

_CLOSED_LEFT, _RIGHT, _OPEN_LEFT = 0, 1, 2  # order of tied endpoints at one value


@dataclass(frozen=True)
class TurnbullParams:
    masses: np.ndarray  # (m,) probability of each Turnbull interval


@dataclass(frozen=True)
class _Data:
    alpha: sparse.csr_matrix  # (k, m) 1.0 where Turnbull interval j lies in distinct observation i
    weights: np.ndarray  # (k,) multiplicity of each distinct observation


@dataclass(frozen=True)
class _Stats(Stats):
    counts: np.ndarray  # N_j = p_j d_j
    gradient: np.ndarray  # d_j


def turnbull_intervals(lower: np.ndarray, upper: np.ndarray, closed: bool):
    """Turnbull intervals of the observations and which observations hold each.

    Returns ``(left, right, left_open, alpha)``: the interval bounds, whether
    each left bound is excluded, and the (n, m) 0/1 matrix ``alpha`` (sparse
    CSR). The Turnbull intervals inside one observation are consecutive, so a
    row of ``alpha`` is one run of ones and memory is the total run length,
    not ``n * m``.
    """
    n = lower.shape[0]
    exact = lower == upper
    left_rank = np.where(closed | exact, _CLOSED_LEFT, _OPEN_LEFT)
    values = np.concatenate([lower, upper])
    ranks = np.concatenate([left_rank, np.full(n, _RIGHT)])
    order = np.lexsort((ranks, values))
    v, r = values[order], ranks[order]
    new = np.concatenate([[True], (v[1:] != v[:-1]) | (r[1:] != r[:-1])])
    code_sorted = np.cumsum(new) - 1
    code = np.empty(2 * n, dtype=int)
    code[order] = code_sorted
    is_right = r[new] == _RIGHT  # kind of each distinct endpoint, in order
    starts = np.flatnonzero(~is_right[:-1] & is_right[1:])  # a left code followed by a right code
    distinct_values, distinct_ranks = v[new], r[new]
    lo_code, hi_code = code[:n], code[n:]
    first = np.searchsorted(starts, lo_code, side="left")  # first interval starting at or after L_i
    stop = np.searchsorted(starts, hi_code - 1, side="right")  # past the last one ending by R_i
    width = stop - first
    indptr = np.concatenate([[0], np.cumsum(width)])
    cols = np.arange(indptr[-1]) - np.repeat(indptr[:-1] - first, width)
    alpha = sparse.csr_matrix((np.ones(indptr[-1]), cols, indptr), shape=(n, starts.size))
    return distinct_values[starts], distinct_values[starts + 1], distinct_ranks[starts] == _OPEN_LEFT, alpha


class TurnbullModel(EMModel):
    """The self-consistency EM of the Turnbull NPMLE (module docstring)."""

    params_type = TurnbullParams
    constraints = {"masses": Simplex()}

    def __init__(self, kkt_tol: float = 1e-8):
        self.kkt_tol = check_positive(kkt_tol, "kkt_tol")

    def initialize(self, data: _Data, rng: np.random.Generator) -> TurnbullParams:
        """Each observation's weight spread evenly over the Turnbull intervals it holds."""
        per_row = np.asarray(data.alpha.sum(axis=1)).ravel()
        p = data.alpha.T @ (data.weights / per_row)
        return TurnbullParams(p / p.sum())

    def e_step(self, data: _Data, params: TurnbullParams):
        p = params.masses
        prob = data.alpha @ p
        with np.errstate(divide="ignore"):
            ll = float(data.weights @ np.log(prob))
            gradient = data.alpha.T @ (data.weights / prob)
        return _Stats(p * gradient, gradient), ll

    def loglik(self, data: _Data, params: TurnbullParams) -> float:
        with np.errstate(divide="ignore"):
            return float(data.weights @ np.log(data.alpha @ params.masses))

    def m_step(self, stats: _Stats, current=None, fixed=None) -> TurnbullParams:
        return TurnbullParams(stats.counts / stats.counts.sum())

    @staticmethod
    def kkt_gap(data: _Data, stats: _Stats) -> float:
        """``max_j d_j / n - 1``: at most 0 exactly at the NPMLE."""
        return float(stats.gradient.max() / data.weights.sum() - 1.0)

    def is_stationary(self, data: _Data, params: TurnbullParams, stats: _Stats) -> bool:
        return self.kkt_gap(data, stats) <= self.kkt_tol


def constrained_newton(data: _Data, kkt_tol: float, max_iter: int):
    """The constrained Newton method (module docstring), from equal masses on
    the fewest intervals that meet every observation (:func:`_stabbing_start`).

    Returns ``(p, logliks, converged)``: the masses at the end, the
    log-likelihood after each iteration (the first entry at the start), and
    whether the Kuhn-Tucker gap reached ``kkt_tol`` (the other stops: no step
    raises the log-likelihood, or ``max_iter`` iterations).
    """
    alpha = data.alpha.tocsc()
    w, n = data.weights, data.weights.sum()
    sqrt_w = np.sqrt(w)
    p = _stabbing_start(data)
    prob = data.alpha @ p
    ll = float(w @ np.log(prob))
    logliks = [ll]
    converged = False
    for _ in range(max_iter):
        gradient = data.alpha.T @ (w / prob)
        converged = gradient.max() / n - 1.0 <= kkt_tol
        if converged:
            break
        support = np.union1d(np.flatnonzero(p > 0), _new_support(p > 0, gradient, n))
        target = np.zeros_like(p)
        target[support] = _simplex_nnls((alpha[:, support].toarray() / prob[:, None]) * sqrt_w[:, None], 2.0 * sqrt_w)
        step, slope = 1.0, float((target - p) @ gradient)
        while True:
            trial = p + step * (target - p)
            trial_prob = data.alpha @ trial
            with np.errstate(divide="ignore"):
                trial_ll = float(w @ np.log(trial_prob))
            if trial_ll >= ll + step * slope / 3.0 or step < 1e-10:
                break
            step /= 2.0
        if not trial_ll > ll:  # no ascent left at this precision
            break
        p, prob, ll = np.where(trial > 0, trial, 0.0), trial_prob, trial_ll
        logliks.append(ll)
    return p / p.sum(), logliks, bool(converged)


def _simplex_nnls(design: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``argmin ||design q - target||`` over ``q >= 0`` with ``sum(q) = 1``:
    the equality enters as one heavily weighted row (Lawson & Hanson 1974,
    ch. 22, the weighting method), then ``q`` is renormalised."""
    weight = 1e4 * np.sqrt(np.sum(design**2) / design.shape[1])
    q, _ = nnls(np.vstack([design, np.full(design.shape[1], weight)]), np.r_[target, weight])
    return q / q.sum()


def _stabbing_start(data: _Data) -> np.ndarray:
    """Equal masses on the fewest Turnbull intervals that meet every
    observation: each observation holds a run of consecutive intervals, and
    taking, in order of the runs' ends, the end of every run not yet met gives
    the smallest such set (the greedy solution of interval stabbing)."""
    alpha = data.alpha
    first = alpha.indices[alpha.indptr[:-1]]
    last = alpha.indices[alpha.indptr[1:] - 1]
    chosen, reach = [], -1
    for i in np.argsort(last, kind="stable"):
        if first[i] > reach:
            reach = last[i]
            chosen.append(reach)
    p = np.zeros(alpha.shape[1])
    p[chosen] = 1.0 / len(chosen)
    return p


def _new_support(support: np.ndarray, gradient: np.ndarray, n: float) -> np.ndarray:
    """In each run of intervals between support points, the one of largest
    gradient, if that gradient exceeds ``n``."""
    gaps = np.cumsum(support)  # a new run starts after each support point
    candidates = np.flatnonzero(~support & (gradient > n))
    if candidates.size == 0:
        return candidates
    runs = gaps[candidates]
    order = np.lexsort((-gradient[candidates], runs))
    first = np.r_[True, runs[order][1:] != runs[order][:-1]]
    return candidates[order][first]


class Turnbull(EMEstimator):
    """Nonparametric MLE of the lifetime distribution from interval-censored data.

    Parameters
    ----------
    closed : False (default) reads a row as ``L < T <= R`` (icenReg, npsurv),
        True as ``L <= T <= R`` (lifelines). ``L == R`` is an exact time either way.
    method : ``"cnm"`` (default): the constrained Newton method finds the
        NPMLE and EM confirms it from there; ``"em"``: EM alone (module
        docstring). Both stop at the same Kuhn-Tucker test.
    kkt_tol : stop only when ``max_j d_j / n - 1 <= kkt_tol`` (module docstring).
    tol, max_iter, accelerate, progress : passed to :func:`latentlab.em.fit_em`
        (``max_iter`` also bounds the Newton iterations).

    Attributes (after fit)
    ----------------------
    intervals_ : DataFrame of Turnbull intervals: left, right, left_open, mass.
    masses_ : their masses (numpy array).
    kkt_gap_ : ``max_j d_j / n - 1`` at the fit (<= kkt_tol when converged).
    survival_function_ : DataFrame indexed by the interval endpoints with the
        ``lower`` and ``upper`` envelopes of ``S(t) = P(T > t)``.
    result_, loglik_, n_iter_, converged_ : from the engine; with
        ``method="cnm"`` the record starts with the Newton iterations (their
        log-likelihoods lead the trace) and ends with EM's confirmation.

    Example
    -------
    >>> from latentlab.survival import Turnbull
    >>> fit = Turnbull(closed=True).fit([1, 8, 8, 7], [7, 8, 10, 16])
    >>> fit.intervals_[["left", "right"]].to_numpy().tolist()
    [[7.0, 7.0], [8.0, 8.0]]
    """

    def __init__(
        self,
        *,
        closed: bool = False,
        method: str = "cnm",
        kkt_tol: float = 1e-8,
        tol: float = _ENGINE["tol"],
        max_iter: int = _ENGINE["max_iter"],
        accelerate: str | None = _ENGINE["accelerate"],
        progress: bool | None = _ENGINE["progress"],
    ):
        self.closed = closed
        self.method = method
        self.kkt_tol = kkt_tol
        self._set_engine_settings(tol=tol, max_iter=max_iter, accelerate=accelerate, progress=progress)

    def fit(self, lower_bound, upper_bound) -> Turnbull:
        """Fit to bounds (``upper_bound`` may be inf; equal bounds are exact times)."""
        if not isinstance(self.closed, (bool, np.bool_)):
            raise TypeError(f"closed must be True or False; got {self.closed!r}")
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}; got {self.method!r}")
        obs = cens.from_bounds(lower_bound, upper_bound)
        pairs, weights = np.unique(np.column_stack([obs.lower, obs.upper]), axis=0, return_counts=True)
        left, right, left_open, alpha = turnbull_intervals(pairs[:, 0], pairs[:, 1], bool(self.closed))
        data = _Data(alpha, weights.astype(float))
        model = TurnbullModel(self.kkt_tol)
        if self.method == "cnm":
            newton = self._newton(model, data)
            confirmed = self._fit_em(model, data, n_obs=obs.n, init_params=newton.params)
            self.result_ = result = newton.followed_by(confirmed)
        else:
            result = self._fit_em(model, data, n_obs=obs.n)
        self.masses_ = result.params.masses
        self.kkt_gap_ = model.kkt_gap(data, model.e_step(data, result.params)[0])
        self.intervals_ = pd.DataFrame({"left": left, "right": right, "left_open": left_open, "mass": self.masses_})
        times = np.unique(np.concatenate([[0.0], left, right[np.isfinite(right)]]))
        self.survival_function_ = self.survival_function(times)
        return self

    def _newton(self, model: TurnbullModel, data: _Data) -> EMResult:
        """The constrained Newton method's fit, recorded as the engine records EM's."""
        check_int(self.max_iter, "max_iter", 1)
        start = time.perf_counter()
        p, logliks, converged = constrained_newton(data, model.kkt_tol, self.max_iter)
        steps = len(logliks) - 1
        return EMResult(
            params=TurnbullParams(p), loglik=logliks[-1], n_iter=steps, n_evals=steps + 1, converged=converged,
            trace=np.asarray(logliks), trace_evals=np.arange(1, steps + 2), elapsed=time.perf_counter() - start,
            restart_logliks=np.array([logliks[-1]]), best_restart=0, accelerate="constrained Newton",
            model_name=model.name,
        )

    def summary(self, level: float = 0.95) -> pd.DataFrame:
        """The mass of each Turnbull interval, in the columns every summary has
        (parameter, estimate, std_error, ci_lower, ci_upper) followed by the
        interval's ``left``, ``right`` and ``left_open``. The NPMLE has no Wald
        standard errors (NaN, whatever ``level``): its masses sit on a simplex
        with zeros at the boundary and their number grows with n."""
        self._check_fitted()
        iv = self.intervals_
        label = [f"mass{'(' if o else '['}{a:g}, {b:g}]" for a, b, o in zip(iv["left"], iv["right"], iv["left_open"])]
        nan = np.full(len(iv), np.nan)
        return pd.DataFrame({"parameter": label, "estimate": iv["mass"].to_numpy(), "std_error": nan, "ci_lower": nan,
                             "ci_upper": nan, "left": iv["left"], "right": iv["right"], "left_open": iv["left_open"]})

    @property
    def covariance_method_(self) -> str:
        return "none (the NPMLE has no Wald standard errors)"

    def survival_function(self, times) -> pd.DataFrame:
        """Envelopes of ``S(t) = P(T > t)`` at ``times``: ``upper`` with every mass at
        the right end of its interval, ``lower`` with it at the left end."""
        self._check_fitted()
        t = np.asarray(times, dtype=float).ravel()[:, None]
        iv = self.intervals_
        left, right = iv["left"].to_numpy(), iv["right"].to_numpy()
        # mass at the left end: just after an open left bound, on a closed one
        lower = np.where(iv["left_open"].to_numpy(), left >= t, left > t) @ self.masses_
        upper = (right > t) @ self.masses_
        return pd.DataFrame({"lower": lower, "upper": upper}, index=pd.Index(t.ravel(), name="time"))

    def plot(self, ax=None, **kwargs):
        """The NPMLE as a step function: flat outside Turnbull intervals, a shaded
        box where it is not unique (inside an interval). Returns the axes."""
        import matplotlib.pyplot as plt

        self._check_fitted()
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        iv = self.intervals_
        finite_right = iv["right"].to_numpy()[np.isfinite(iv["right"])]
        end = float(max(iv["left"].max(), finite_right.max() if finite_right.size else 0.0)) * 1.05 or 1.0
        sf = self.survival_function(np.linspace(0.0, end, 600))
        kwargs.setdefault("label", "Turnbull NPMLE")
        line = ax.step(sf.index, sf["upper"], where="post", **kwargs)[0]
        ax.fill_between(sf.index, sf["lower"], sf["upper"], step="post", color=line.get_color(), alpha=0.25, lw=0)
        return ax
