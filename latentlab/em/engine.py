"""The EM loop shared by every model: convergence, restarts, SQUAREM, guard.

Convergence rule (the same for every model)
-------------------------------------------
Plain EM converges linearly: near the optimum each step shrinks the distance
to it by a factor ``c`` (the largest fraction of missing information), so the
log-likelihood gains shrink by ``rho = c^2`` per step. A small gain therefore
does not mean the optimum is near when ``rho`` is close to 1 (overlapping
mixtures, flat ridges, the neighbourhood of a saddle). The rule accounts for
that (an Aitken-type estimate, as in Bohning et al. 1994, Ann. Inst. Statist.
Math. 46:373-388): with ``gain`` the rise of the observed log-likelihood over
one EM step and ``rho`` estimated from the lengths of two successive EM steps,

    rho = (||theta_{k+1} - theta_k|| / ||theta_k - theta_{k-1}||)^2,

a fit has converged when the gain of that step plus the gains still to come,

    gain / (1 - rho) <= tol * (1 + |loglik|)        (rho < 1),

or when the gain is at round-off level, ``gain <= 1e-15 * (1 + |loglik|)``.
It is a relative change of the *total* log-likelihood, so it does not depend on
the sample size. ``tol=0`` switches the rule off: the loop runs exactly
``max_iter`` iterations (and does not warn about reaching them). On the first step (no previous step) ``rho = 0``. Under
SQUAREM the same test is applied to the two EM steps every cycle starts with,
once that cycle starts from a point EM produced rather than an extrapolation
(see ``_Run.squarem``), so both schemes stop by one rule (:func:`has_converged`,
:func:`em_rate`).

A model with a stochastic E-step (particle smoothers, Monte Carlo EM) is
fitted by the Monte Carlo version of this rule, on an upper confidence bound
of the gain (:mod:`latentlab.em.monte_carlo`).

A model may add a first-order optimality test of its own
(``model.is_stationary(data, params, stats)``, e.g. Kuhn-Tucker conditions on a
simplex); the loop then stops only when both hold.

Fixed parameters
----------------
``fit_em(..., fixed=mask)`` holds the entries that ``mask`` (a params-shaped
dataclass of booleans) marks at their starting values: the model's M-step sees
the mask, the engine copies those entries from the current point after every
M-step (so SQUAREM's steps are zero in them), and the covariance gives them no
standard error. It is the one mechanism for holding parameters fixed.

Label order
-----------
The returned parameters are ``model.canonical(params)`` (components by rate,
states by mean, ...), applied once at the end; the trace is unaffected.

Monotonicity guard
------------------
EM never lowers the observed log-likelihood. When a plain EM step lowers it by
more than ``model.monotone_rtol * (1 + m)``, with ``m`` the magnitude of the
sum the log-likelihood was computed from (``model.loglik_magnitude``; by
default ``|loglik|``),  (plus the bound
``model.monotone_slack(stats, params)`` that a model whose M-step is not an
exact maximiser proves for that step) the loop raises
:class:`latentlab.MonotonicityError` naming the model and the iteration.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from .._warn import user_stacklevel
from ..exceptions import ConvergenceWarning, MonotonicityError, NumericalError
from .model import EMModel
from .monte_carlo import StochasticEMModel, ascent_mcem, louis_covariance
from .progress import Progress
from .result import EMResult
from .settings import check_engine_settings
from .squarem import StepLength, extrapolate

__all__ = ["fit_em", "restart_generators", "as_generator", "has_converged", "em_rate", "lowered", "guard_fails"]


#: a gain below this share of ``1 + |loglik|`` is round-off
ROUNDOFF_RTOL = 1e-15


def em_rate(step, previous_step):
    """Estimated factor ``rho`` by which EM's log-likelihood gains shrink per step:
    the squared ratio of the lengths of two successive EM steps (elementwise on
    arrays of step lengths). ``previous_step = inf`` (no previous step) gives 0."""
    step, previous_step = np.asarray(step, dtype=float), np.asarray(previous_step, dtype=float)
    no_previous = np.where(step > 0, np.inf, 0.0)
    ratio = np.divide(step, previous_step, out=no_previous, where=previous_step > 0)
    return ratio**2


def has_converged(gain, loglik, tol: float, rate=0.0):
    """The convergence rule (module docstring), elementwise on arrays:
    ``gain / (1 - rate) <= tol * (1 + |loglik|)`` with ``rate < 1``, or a gain at
    round-off level. A loop that runs many independent fits at once (one per
    locus, say) stops each by the same rule as :func:`fit_em`."""
    scale = 1.0 + np.abs(loglik)
    gain = np.maximum(gain, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        remaining = np.where(rate < 1.0, gain / (1.0 - np.minimum(rate, 1.0)), np.inf)
    return (remaining <= tol * scale) | (gain <= ROUNDOFF_RTOL * scale)


def lowered(ll_old, ll_new, rtol: float):
    """The monotonicity guard's test: ``ll_new < ll_old - rtol * (1 + |ll_old|)``
    (elementwise on arrays)."""
    return ll_new < ll_old - rtol * (1.0 + np.abs(ll_old))


def as_generator(random_state) -> np.random.Generator:
    """A Generator from None, an int, a SeedSequence or a Generator (returned as is)."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    return restart_generators(random_state, 1)[0]


def restart_generators(random_state, n: int) -> list[np.random.Generator]:
    """``n`` independent generators from one seed (int, None, SeedSequence or Generator)."""
    if isinstance(random_state, np.random.Generator):
        seed = np.random.SeedSequence(int(random_state.integers(2**63)))
    elif isinstance(random_state, np.random.SeedSequence):
        seed = random_state
    elif random_state is None or isinstance(random_state, (int, np.integer)):
        seed = np.random.SeedSequence(random_state)
    else:
        raise TypeError(
            f"random_state must be None, an int, a SeedSequence or a Generator; got {type(random_state).__name__}"
        )
    return [np.random.default_rng(s) for s in seed.spawn(n)]


def guard_fails(model: EMModel, data, ll_old: float, ll_new: float, params_old, params_new, slack: float = 0.0) -> bool:
    """The monotonicity guard (module docstring): did an EM step lower the
    log-likelihood by more than round-off and the model's ``slack``?

    Round-off is judged against the sum each log-likelihood was computed from:
    ``monotone_rtol * (1 + m)`` with ``m`` the larger of the two points'
    ``model.loglik_magnitude`` (the sum of the absolute values of the terms;
    by default ``|loglik|``). A log-likelihood of -12 summed from terms of
    size 1e4 carries round-off far above 1e-10 * 12; the magnitudes are only
    computed when the cheap test has already failed.
    """
    if not lowered(ll_old, ll_new + slack, model.monotone_rtol):
        return False
    magnitude = max(model.loglik_magnitude(data, params_old, ll_old), model.loglik_magnitude(data, params_new, ll_new))
    return bool(ll_new + slack < ll_old - model.monotone_rtol * (1.0 + magnitude))


class _Run:
    """One restart: the current point, its E-step output and the bookkeeping."""

    def __init__(self, model: EMModel, data: Any, restart: int, progress: Progress, callback, fixed):
        self.model, self.data, self.restart, self.fixed = model, data, restart, fixed
        self.space = model.space
        self.progress, self.callback = progress, callback
        self.holds = bool(self.space.held_fields(fixed))  # the M-step's output needs held entries restored
        self.n_evals = 0
        self.trace: list[float] = []
        self.trace_evals: list[int] = []
        self.iteration = 0
        self.slack = 0.0  # the model's allowance for the last M-step

    # -- evaluations ----------------------------------------------------------
    def evaluate(self, params, *, strict: bool = True):
        """E-step at ``params``; with ``strict`` a non-finite log-likelihood raises."""
        self.n_evals += 1
        if strict:
            stats, ll = self.model.e_step(self.data, params)
        else:
            with np.errstate(all="ignore"):
                stats, ll = self.model.e_step(self.data, params)
        ll = float(ll)
        if strict and not np.isfinite(ll):
            raise NumericalError(
                f"{self.model.name}: the log-likelihood is {ll} at iteration {self.iteration} "
                f"(restart {self.restart}); the parameters left the region where the data have positive probability"
            )
        return stats, ll

    def m_step(self, stats, current):
        params = self.model.m_step(stats, current, self.fixed)
        if self.holds:
            params = self.space.hold(params, current, self.fixed)
        self.slack = float(self.model.monotone_slack(stats, params))
        if not self.space.is_valid(params):
            raise NumericalError(
                f"{self.model.name}: the M-step at iteration {self.iteration} (restart {self.restart}) "
                f"returned parameters outside their space: {params}"
            )
        return params

    def guard(self, ll_new: float, ll_old: float, params_new, params_old) -> None:
        if guard_fails(self.model, self.data, ll_old, ll_new, params_old, params_new, self.slack):
            raise MonotonicityError(
                f"{self.model.name}: plain EM lowered the log-likelihood at iteration {self.iteration} "
                f"(restart {self.restart}) from {ll_old!r} to {ll_new!r}; EM never does this, so the "
                "E- or M-step of this model is wrong"
            )

    def converged(self, gain: float, ll_new: float, tol: float, rate: float, params, stats) -> bool:
        """The rule (:func:`has_converged`) and the model's own stationarity test
        at the new point ``params`` (``stats`` its E-step output)."""
        if tol == 0:  # tol=0 runs exactly max_iter iterations
            return False
        return bool(has_converged(gain, ll_new, tol, rate)) and self.model.is_stationary(self.data, params, stats)

    def record(self, params, ll: float, change: float) -> None:
        self.trace.append(ll)
        self.trace_evals.append(self.n_evals)
        self.progress.update(self.iteration, ll, change)
        if self.callback is not None:
            self.callback(self.iteration, params, ll)

    # -- schemes ------------------------------------------------------------
    def plain(self, params, tol: float, max_iter: int):
        stats, ll = self.evaluate(params)
        self.trace, self.trace_evals = [ll], [self.n_evals]
        x, previous_step = self.space.flatten(params), np.inf
        for self.iteration in range(1, max_iter + 1):
            new = self.m_step(stats, params)
            stats, ll_new = self.evaluate(new)
            self.guard(ll_new, ll, new, params)
            x_new = self.space.flatten(new)
            step = np.linalg.norm(x_new - x)
            done = self.converged(ll_new - ll, ll_new, tol, em_rate(step, previous_step), new, stats)
            change, params, ll, x, previous_step = ll_new - ll, new, ll_new, x_new, step
            self.record(params, ll, change)
            if done:
                return params, ll, True
        return params, ll, False

    def squarem(self, params, tol: float, max_iter: int):
        """SQUAREM cycles. The convergence rule is checked on the two EM steps
        each cycle starts with, but an extrapolated start excites the fast
        directions and makes the rate look small; so the rule is trusted only
        on a cycle that started from a point EM itself produced (or the
        start). When it passes after an extrapolation, the next cycle starts
        from the EM point ``x2`` to confirm it."""
        steps = StepLength()
        stats0, ll0 = self.evaluate(params)
        self.trace, self.trace_evals = [ll0], [self.n_evals]
        from_em = True
        for self.iteration in range(1, max_iter + 1):
            p1 = self.m_step(stats0, params)
            stats1, ll1 = self.evaluate(p1)
            self.guard(ll1, ll0, p1, params)
            p2 = self.m_step(stats1, p1)
            x0, x1, x2 = (self.space.flatten(p) for p in (params, p1, p2))
            r, v = x1 - x0, x2 - 2.0 * x1 + x0
            rate = em_rate(np.linalg.norm(r + v), np.linalg.norm(r))
            passed = self.converged(ll1 - ll0, ll1, tol, rate, p1, stats1)
            if passed and from_em:
                self.record(p1, ll1, ll1 - ll0)
                return p1, ll1, True
            z0, z1, z2 = (self.model.squarem_coordinates(p) for p in (params, p1, p2))
            rz, vz = z1 - z0, z2 - 2.0 * z1 + z0
            x, step = (None, 1.0) if passed else extrapolate(
                z0, rz, vz, steps.propose(rz, vz),
                lambda z: self.space.is_valid(self.model.from_squarem_coordinates(z, params)),
            )
            from_em = x is None
            if x is None:  # the plain point x2: a step of length 1 that cannot fail
                steps.update(step, accepted=True)
            else:
                new = self.space.tidy(self.model.from_squarem_coordinates(x, params))
                stats_new, ll_new = self.evaluate(new, strict=False)
                accepted = bool(np.isfinite(ll_new) and ll_new >= ll1)
                steps.update(step, accepted)
                from_em = not accepted  # fall back on the plain EM point
            if from_em:
                new = p2
                stats_new, ll_new = self.evaluate(p2)
                self.guard(ll_new, ll1, p2, p1)
            change = ll_new - ll0
            params, stats0, ll0 = new, stats_new, ll_new
            self.record(params, ll0, change)
        return params, ll0, False


def fit_em(
    model: EMModel,
    data: Any,
    *,
    tol: float = 1e-8,
    max_iter: int = 1000,
    n_init: int = 1,
    accelerate: str | None = None,
    random_state=None,
    init_params=None,
    fixed=None,
    progress: bool | None = None,
    callback: Callable[[int, Any, float], None] | None = None,
    std_errors: bool = False,
) -> EMResult:
    """Fit ``model`` to ``data`` by EM and return an :class:`EMResult`.

    Parameters
    ----------
    model : an :class:`~latentlab.em.EMModel`.
    data : whatever the model's ``e_step`` takes (estimators validate it first).
    tol : relative tolerance of the convergence rule (module docstring).
    max_iter : iterations per restart (EM steps, or SQUAREM cycles of two or
        three E-steps); reaching it warns with :class:`ConvergenceWarning`.
    n_init : restarts, each started by ``model.initialize`` from its own
        independent stream spawned from ``random_state``; the restart with the
        highest final log-likelihood is kept.
    accelerate : ``None`` for plain EM or ``"squarem"`` (see
        :mod:`latentlab.em.squarem`).
    init_params : a starting point for the first restart instead of
        ``model.initialize`` (later restarts still draw their own).
    fixed : None, or a params-shaped dataclass of booleans: entries held at
        their starting values (module docstring, "Fixed parameters").
    progress : a progress bar over the restarts and the way to convergence
        (:mod:`latentlab.em.progress`): True shows it, False never, None (the
        default) in a terminal once the fit has run a few seconds.
    callback : called as ``callback(iteration, params, loglik)`` after every
        iteration.
    std_errors : also compute the covariance of the parameters from the
        observed information (:func:`latentlab.em.inference.covariance`).

    A model with a stochastic E-step (a
    :class:`~latentlab.em.monte_carlo.StochasticEMModel`) is fitted by
    ascent-based Monte Carlo EM instead (:mod:`latentlab.em.monte_carlo`):
    the same ``tol``, ``max_iter``, restarts, progress and callback; its
    Monte Carlo sizes come from the model; SQUAREM is refused; the result's
    log-likelihoods are estimates, with ``trace_se`` and ``trace_mc_size``.
    """
    if not isinstance(model, EMModel):
        raise TypeError(f"model must be an EMModel (the contract in latentlab.em.model); got {type(model).__name__}")
    check_engine_settings(tol, max_iter, n_init, accelerate, random_state, progress)
    stochastic = isinstance(model, StochasticEMModel)
    if stochastic and accelerate is not None:
        raise ValueError(
            f"accelerate={accelerate!r} is not available for {model.name}: its E-step is stochastic, and "
            "extrapolating Monte Carlo noise does not accelerate EM; use accelerate=None (ascent-based MCEM)"
        )
    rngs = restart_generators(random_state, n_init + stochastic)  # the last: Louis' draws
    start = time.perf_counter()
    outcomes, errors = [], []
    bar = Progress(model.name, n_init, tol, max_iter, progress)
    try:
        for i, rng in enumerate(rngs[:n_init]):
            bar.start(i)
            params0 = init_params if (i == 0 and init_params is not None) else model.initialize(data, rng)
            run = _Run(model, data, i, bar, callback, model.space.check_fixed(fixed, params0))
            if stochastic:
                def scheme(p, tol, max_iter, run=run, rng=rng):
                    return ascent_mcem(run, p, tol, max_iter, rng)
            else:
                scheme = run.plain if accelerate is None else run.squarem
            try:
                params, ll, converged = scheme(params0, tol, max_iter)
            except NumericalError as err:
                if n_init == 1:
                    raise
                errors.append(err)  # a failed restart among several is skipped, and said
                warnings.warn(f"restart {i} failed and is skipped: {err}", RuntimeWarning, stacklevel=user_stacklevel())
                continue
            finally:
                bar.finish()
            outcomes.append((ll, i, params, converged, run))
    finally:
        bar.close()
    if not outcomes:
        raise errors[0]
    restart_ll = np.full(n_init, -np.inf)
    for ll, i, *_ in outcomes:
        restart_ll[i] = ll
    ll, best, params, converged, run = max(outcomes, key=lambda o: (o[0], -o[1]))
    if not converged and tol > 0:
        remedy = ("raise max_iter, the largest Monte Carlo size or tol (the gains are lost in Monte Carlo noise)"
                  if stochastic else "raise max_iter or try accelerate='squarem'")
        warnings.warn(
            f"{model.name}: EM reached max_iter={max_iter} before converging "
            f"(last change of the log-likelihood above tol={tol:g} relative); {remedy}",
            ConvergenceWarning,
            stacklevel=user_stacklevel(),
        )
    params = model.canonical(params)
    mask = model.space.check_fixed(fixed, params)
    cov = None
    if std_errors:
        if stochastic:
            cov, _ = louis_covariance(model, model.draw(data, params, model.mc_max, rngs[-1]), params, mask)
        else:
            from .inference import covariance

            cov = covariance(model, data, params, fixed=mask)
    return EMResult(
        params=params,
        loglik=ll,
        n_iter=run.iteration,
        n_evals=run.n_evals,
        converged=converged,
        trace=np.asarray(run.trace),
        trace_evals=np.asarray(run.trace_evals),
        elapsed=time.perf_counter() - start,
        restart_logliks=restart_ll,
        best_restart=best,
        accelerate=accelerate,
        model_name=model.name,
        fixed=mask,
        covariance=cov,
        trace_se=np.asarray(run.trace_se) if stochastic else None,
        trace_mc_size=np.asarray(run.trace_mc_size) if stochastic else None,
    )
