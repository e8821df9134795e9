"""Stochastic E-steps: ascent-based Monte Carlo EM, and Louis' standard errors.

When the E-step's expectations can only be approximated by simulation (a
particle smoother, MCMC, importance sampling), EM becomes Monte Carlo EM (Wei &
Tanner 1990): the Q-function is replaced by its average over ``m`` draws
``z_1..z_m`` of the hidden data given the observed data at ``theta_k``,

    Q~(theta | theta_k) = (1/m) sum_j l_c(theta; y, z_j),

and the M-step maximises it. Two things EM relied on break: the
log-likelihood is only estimated, so a fall of it proves nothing; and with a
fixed ``m`` the iterates stall in a cloud of Monte Carlo noise instead of
converging. A model declares its E-step stochastic by subclassing
:class:`StochasticEMModel`; :func:`latentlab.em.fit_em` then runs this
module's scheme instead of plain EM (SQUAREM is refused: its extrapolation
amplifies Monte Carlo noise).

Ascent-based MCEM (Caffo, Jank & Jones 2005, JRSS B 67:235-251)
------------------------------------------------------------------
Each iteration draws ``m_k`` samples at ``theta_k``, maximises ``Q~`` to get
``theta'`` and measures the gain on the same draws,

    dQ = (1/m) sum_j [l_c(theta'; z_j) - l_c(theta_k; z_j)] - nu,   se = sd_j(.) / sqrt(m),

with the standard error between batch means when the model's draws come in
independent batches (a particle smoother's trajectories are independent only
given one filter's particles; :class:`MCDraw`), else between draws, and
Student's t quantiles on its degrees of freedom. ``nu = tr(I_c^{-1} V) / 2``
(:func:`noise_and_rate`) removes the gain that the noise alone produces: ``theta'``
maximises the draws' own ``Q~``, so even at the maximum it lies a noise
``delta ~ N(0, I_c^{-1} V I_c^{-1})`` away, where ``Q~`` is higher by
``delta' I_c delta / 2`` on average (``I_c`` the complete-data information,
minus the Hessian of ``Q~``; ``V`` the Monte Carlo variance of the mean
complete-data score, measured like ``se``). Without it the test of Caffo et
al. passes steps that are pure noise when the smoothing distribution is wide
(on the growth model of :mod:`latentlab.statespace` the Monte Carlo size then
stayed small while the log-likelihood jumped between iterations).

* **Monte Carlo-aware guard.** ``theta'`` maximises ``Q~`` on these draws, so
  ``dQ >= 0`` exactly; a negative ``dQ`` beyond round-off means the M-step
  does not maximise the Q-function it was given, and raises
  :class:`~latentlab.MonotonicityError` (this replaces the guard on the
  log-likelihood, which is now noisy).
* **Growing the Monte Carlo size.** If the lower bound ``dQ - z_alpha se`` is
  not positive, the gain may be noise: the step is redrawn at ``theta_k`` with
  ``m <- ceil(4 m / 3)`` (Caffo et al. append ``m / 3`` draws; a particle
  smoother redraws from a larger filter) until the bound is positive or ``m``
  reaches ``mc_max``. The step is then accepted.
* **Next size.** ``m_{k+1} = max(m_k, sigma^2 (z_alpha + z_beta)^2 / dQ^2)``
  with ``sigma^2 = m se^2`` the per-draw variance: the size at which a gain like
  this one would be detected with power ``1 - beta`` (capped at ``mc_max``).
* **Convergence rule**: the engine's rule (:mod:`latentlab.em.engine`), the
  gain of a step plus the gains still to come, ``gain / (1 - rho)``, below
  ``tol * (1 + |l^|)`` (``l^`` the estimated log-likelihood), with the gain
  replaced by its upper bound ``dQ + z_gamma se`` and ``rho``, the factor by
  which gains shrink per step, taken from the information rather than from
  the lengths of noisy steps: ``rho = lambda^2`` with ``lambda`` EM's rate,
  the largest eigenvalue of ``I_c^{-1} I_m`` (the largest fraction of missing
  information; Dempster, Laird & Rubin 1977), ``I_m`` the covariance of the
  draws' complete-data scores. It must hold on :data:`STABLE` consecutive
  iterations, with the model's ``is_stationary`` test (called with the
  draw in place of the statistics). Near the maximum ``dQ`` is noise of
  standard deviation ``se``, which falls like ``1 / m``: a ``tol`` the
  largest Monte Carlo size cannot reach ends at ``max_iter`` with a
  :class:`~latentlab.ConvergenceWarning` (raise the size or ``tol``).
  Stopping instead as soon as the gains are lost in the noise stops early
  where EM crawls along a ridge (the linear Gaussian model of
  :mod:`latentlab.statespace`, whose missing fraction is above 0.9): the gain
  per step is then far smaller than the distance still to go.
  With ``tol = 0`` the loop runs ``max_iter`` iterations.

Levels (this package's choices): ``alpha = beta = 0.25``, ``gamma = 0.05``
(one-sided; Student's t quantiles on the degrees of freedom of ``se``, e.g.
0.741 and 2.132 for five batches, normal ones for many independent draws). The trace records, per iteration, the
estimated log-likelihood ``l^`` at the accepted point, its Monte Carlo
standard error (the model's estimate) and ``m``
(``EMResult.trace_se``, ``EMResult.trace_mc_size``). Each restart draws from its
own stream of ``random_state``, so a fit is reproducible.

Standard errors by Louis' identity (Louis 1982)
-----------------------------------------------
The observed information is the expected complete-data information minus the
conditional variance of the complete-data score,

    I(theta) = E[-d^2 l_c / dtheta^2 | y] - Var[d l_c / dtheta | y],

both estimated from ``m`` draws at the estimate (the variance by the sample
covariance of the per-draw scores). The derivatives are central differences
of the model's per-draw ``complete_loglik`` in the free coordinates of
:mod:`latentlab.em.inference`, carried to the natural parameters by the delta
method. Their Monte Carlo error is estimated from ``B`` batches of the draws:
the standard deviation of the batch estimates over ``sqrt(B)``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as sps

from .._warn import user_stacklevel
from ..exceptions import MonotonicityError, NumericalError
from .inference import invert_information, jacobian, numerical_hessian
from .model import EMModel
from .settings import check_int

__all__ = ["StochasticEMModel", "MCDraw", "ascent_mcem", "louis_covariance", "noise_and_rate", "STABLE", "ALPHA", "BETA", "GAMMA"]

#: one-sided levels of the ascent test, the sample-size rule and the stopping bound
ALPHA, BETA, GAMMA = 0.25, 0.25, 0.05
#: consecutive iterations that must pass the convergence rule
STABLE = 3
#: growth of the Monte Carlo size when a step's gain is within Monte Carlo error
GROWTH = 4.0 / 3.0
#: smallest ``1 - rate`` the convergence rule divides by
RATE_FLOOR = 1e-3


@dataclass(frozen=True)
class MCDraw:
    """One stochastic E-step: ``stats`` the per-draw complete-data statistics
    (first axis: draws), what ``m_step`` and ``complete_loglik`` read;
    ``loglik`` the estimated observed-data log-likelihood at the point drawn
    from and ``loglik_se`` its Monte Carlo standard error (NaN if unknown);
    ``size`` the Monte Carlo size (the number of draws); ``extra`` anything
    else the model keeps (e.g. the trajectories); ``batches`` None when the
    draws are independent, else each draw's batch label (0..B-1), batches
    independent of each other but not the draws within one (e.g. trajectories
    of one particle filter): Monte Carlo errors are then taken between batch
    means (batch means, as Caffo et al. do for MCMC draws)."""

    stats: np.ndarray
    loglik: float
    loglik_se: float
    size: int
    extra: Any = None
    batches: np.ndarray | None = None

    def mean_and_cov(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
        """Mean over the draws of ``values`` (draws, ...) flattened to (draws,
        k), the covariance matrix of that mean (k, k), and its degrees of
        freedom (draws - 1, or batches - 1)."""
        v = np.asarray(values, dtype=float).reshape(len(values), -1)
        if self.batches is None:
            units = v
        else:
            labels = np.unique(self.batches)
            units = np.stack([v[self.batches == b].mean(axis=0) for b in labels])
        centred = units - units.mean(axis=0)
        n = units.shape[0]
        return v.mean(axis=0), centred.T @ centred / ((n - 1) * n), n - 1


class StochasticEMModel(EMModel):
    """A model whose E-step is simulated (module docstring).

    Instead of ``e_step`` it implements

    ``draw(data, params, size, rng) -> MCDraw``
        ``size`` draws of the hidden data given the observed data at
        ``params``, their statistics and the log-likelihood estimate;
    ``complete_loglik(params, stats) -> ndarray``
        the complete-data log-likelihood of each draw at ``params`` (terms
        that do not depend on the parameters may be left out);
    ``m_step(stats, current, fixed)``
        the maximiser of the Monte Carlo Q-function, the mean of
        ``complete_loglik`` over the draws;

    and sets ``mc_start`` and ``mc_max``, the first and the largest Monte
    Carlo size.
    """

    mc_start: int = 100
    mc_max: int = 1000

    def draw(self, data: Any, params, size: int, rng: np.random.Generator) -> MCDraw:
        raise NotImplementedError

    def complete_loglik(self, params, stats: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def e_step(self, data: Any, params):
        raise TypeError(
            f"{self.name} has a stochastic E-step: it is fitted by Monte Carlo EM through fit_em, "
            "which calls draw(); there is no exact e_step or log-likelihood"
        )


def _quantile(level: float, dof: int) -> float:
    """Upper ``level`` quantile of Student's t with ``dof`` degrees of freedom
    (the normal's for many)."""
    return float(sps.t.ppf(1.0 - level, dof)) if dof < 1000 else float(sps.norm.ppf(1.0 - level))


def noise_and_rate(model: StochasticEMModel, draw: MCDraw, params, fixed=None) -> tuple[float, float]:
    """At ``params``: the gain ``dQ`` that Monte Carlo noise alone produces,
    ``tr(I_c^{-1} Var(s)) / 2``, and EM's rate of convergence, the largest
    eigenvalue of ``I_c^{-1} I_m`` (module docstring), in the free
    coordinates. ``I_c`` is minus the Hessian of ``Q~``, ``Var(s)`` the Monte
    Carlo variance of the mean complete-data score (between batches when the
    draws come in batches) and ``I_m`` the covariance of the per-draw scores.
    ``(0, 1)`` when ``I_c`` is not positive definite (the rate unknown: the
    slowest is assumed, which blocks the convergence rule)."""
    space = model.space
    masks = space.free_masks(params, fixed)
    if not space.flatten_mask(masks).any():
        return 0.0, 0.0
    scores, hessian = _derivatives(model, draw.stats, params, masks)
    _, var_mean, _ = draw.mean_and_cov(scores)
    centred = scores - scores.mean(axis=0)
    missing = centred.T @ centred / scores.shape[0]
    try:
        chol = np.linalg.cholesky(-hessian)
    except np.linalg.LinAlgError:
        return 0.0, 1.0  # no estimate of the rate: assume the slowest, so the rule cannot pass

    def whitened(m):  # L^{-1} m L^{-T}: same eigenvalues and trace as I_c^{-1} m
        return np.linalg.solve(chol, np.linalg.solve(chol, m).T)

    noise = 0.5 * float(np.trace(whitened(var_mean)))
    rate = float(np.clip(np.linalg.eigvalsh(whitened(missing)).max(), 0.0, 1.0))
    return noise, rate


def _gain(model: StochasticEMModel, draw: MCDraw, old, new) -> tuple[float, float, float, int]:
    """``dQ``, its standard error and degrees of freedom, and the scale of
    ``Q~`` (for round-off)."""
    l_old = np.asarray(model.complete_loglik(old, draw.stats), dtype=float)
    diff = np.asarray(model.complete_loglik(new, draw.stats), dtype=float) - l_old
    if not (np.all(np.isfinite(diff)) and np.all(np.isfinite(l_old))):
        raise NumericalError(f"{model.name}: the complete-data log-likelihood of a draw is not finite")
    mean, var, dof = draw.mean_and_cov(diff)
    se = float(np.sqrt(var[0, 0])) if dof > 0 else np.inf
    return float(mean[0]), se, float(np.abs(l_old).mean()), dof


def ascent_mcem(run, params, tol: float, max_iter: int, rng: np.random.Generator):
    """The scheme of the module docstring for one restart. ``run`` is the
    engine's run record (its model, data, ``m_step``, ``record``, counters);
    returns ``(params, loglik estimate, converged)`` and leaves the Monte
    Carlo trace in ``run.trace_se`` and ``run.trace_mc_size``."""
    model = run.model
    check_int(model.mc_start, "mc_start", 2)
    check_int(model.mc_max, "mc_max", int(model.mc_start))
    size = int(model.mc_start)
    draw = _draw(run, params, size, rng)
    run.trace, run.trace_evals = [draw.loglik], [run.n_evals]
    run.trace_se, run.trace_mc_size = [draw.loglik_se], [size]
    passed = 0
    for run.iteration in range(1, max_iter + 1):
        while True:
            new = run.m_step(draw.stats, params)
            gain, se, scale, dof = _gain(model, draw, params, new)
            z_a, z_b, z_g = (_quantile(level, dof) for level in (ALPHA, BETA, GAMMA))
            if gain < -model.monotone_rtol * (1.0 + scale):
                raise MonotonicityError(
                    f"{model.name}: the M-step at iteration {run.iteration} (restart {run.restart}) lowered the "
                    f"Monte Carlo Q-function it maximises by {-gain:.3g}; the M-step of this model is wrong"
                )
            noise, rate = noise_and_rate(model, draw, params, run.fixed)
            gain -= noise  # the part of dQ that noise explains
            if gain - z_a * se > 0 or size >= model.mc_max:
                break
            size = min(model.mc_max, math.ceil(GROWTH * size))
            draw = _draw(run, params, size, rng)
        sigma2 = se * se * draw.size  # the variance one draw's worth of Monte Carlo size carries
        if gain > 0:
            size = max(size, math.ceil(min(sigma2 * (z_a + z_b) ** 2 / gain**2, model.mc_max)))
        params, old_ll = new, run.trace[-1]
        draw = _draw(run, params, size, rng)
        remaining = (max(gain, 0.0) + z_g * se) / max(1.0 - rate**2, RATE_FLOOR)
        small = tol > 0 and remaining <= tol * (1.0 + abs(draw.loglik))
        passed = passed + 1 if small and model.is_stationary(run.data, params, draw) else 0
        run.trace_se.append(draw.loglik_se)
        run.trace_mc_size.append(size)
        run.record(params, draw.loglik, draw.loglik - old_ll)
        if passed >= STABLE:
            return params, draw.loglik, True
    return params, draw.loglik, False


def _draw(run, params, size: int, rng: np.random.Generator) -> MCDraw:
    run.n_evals += 1
    draw = run.model.draw(run.data, params, size, rng)
    if not np.isfinite(draw.loglik):
        raise NumericalError(
            f"{run.model.name}: the estimated log-likelihood is {draw.loglik} at iteration {run.iteration} "
            f"(restart {run.restart}); every particle or draw had probability zero"
        )
    return draw


def louis_covariance(model: StochasticEMModel, draw: MCDraw, params, fixed=None, batches: int = 10):
    """Covariance of the flattened natural parameters by Louis' identity from
    ``draw`` (taken at the estimate ``params``), and the Monte Carlo standard
    error of each standard error from ``batches`` batches of the draws
    (module docstring). Entries held fixed or on the boundary get NaN."""
    space = model.space
    masks = space.free_masks(params, space.check_fixed(fixed, params))
    cov = _louis(model, draw.stats, params, masks)
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    if draw.batches is None:
        parts = np.array_split(np.arange(draw.size), batches)
    else:
        parts = [np.flatnonzero(draw.batches == b) for b in np.unique(draw.batches)]
    batch_se = []
    for part in parts:
        try:
            batch_se.append(np.sqrt(np.clip(np.diag(_louis(model, draw.stats[part], params, masks)), 0.0, None)))
        except NumericalError:
            continue
    if len(batch_se) < 2:
        warnings.warn(f"{model.name}: too few batches with a positive definite information for a Monte Carlo error "
                      "of the standard errors", RuntimeWarning, stacklevel=user_stacklevel())
        mc_error = np.full(se.shape, np.nan)
    else:
        mc_error = np.std(batch_se, axis=0, ddof=1) / math.sqrt(len(batch_se))
    not_free = ~space.flatten_mask(masks)
    cov[not_free, :] = np.nan
    cov[:, not_free] = np.nan
    mc_error[not_free] = np.nan
    return cov, mc_error


def _derivatives(model: StochasticEMModel, stats: np.ndarray, params, masks) -> tuple[np.ndarray, np.ndarray]:
    """Per-draw complete-data scores (draws, p) and the Hessian (p, p) of their
    mean, by central differences in the free coordinates of ``masks``."""
    space = model.space
    u0 = space.to_free(params, masks)

    def per_draw(u):
        return np.asarray(model.complete_loglik(space.from_free(u, params, masks), stats), dtype=float)

    return jacobian(per_draw, u0), numerical_hessian(lambda u: float(per_draw(u).mean()), u0)


def _louis(model: StochasticEMModel, stats: np.ndarray, params, masks) -> np.ndarray:
    """``J I(u)^{-1} J'`` with ``I(u) = mean(-H_j) - cov(s_j)`` over the draws."""
    space = model.space
    u0 = space.to_free(params, masks)
    scores, hessian = _derivatives(model, stats, params, masks)
    centred = scores - scores.mean(axis=0)
    info = -hessian - centred.T @ centred / scores.shape[0]
    cov_u = invert_information(info, model.name)
    J = jacobian(lambda u: space.flatten(space.from_free(u, params, masks)), u0)
    return J @ cov_u @ J.T
