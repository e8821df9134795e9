"""Nonlinear state-space models for particle-smoother EM.

A :class:`ParticleModel` is a scalar-state model

    x_1 ~ mu_theta(.),   x_t | x_{t-1} ~ f_theta(. | x_{t-1}, t),   y_t | x_t ~ g_theta(. | x_t, t),

fitted by ascent-based Monte Carlo EM (:mod:`latentlab.em.monte_carlo`). Its
stochastic E-step (:meth:`ParticleModel.draw`) runs the bootstrap particle
filter and draws as many trajectories as particles by backward simulation
(:mod:`latentlab.statespace._smc`); the complete-data statistics of each
trajectory feed the M-step. The trajectories come in :data:`BATCHES` batches,
each from its own filter, so that Monte Carlo errors measured between
batches include the filter's noise (trajectories of one filter are
independent only given its particles: on the growth model the filter's
noise moved the M-step much further than the spread of the trajectories of
one filter suggests); the log-likelihood estimate and its
standard error pool the batches' filters (:func:`pooled_loglik`).

The protocol for a new model (the built-in ones below are examples):

* ``kernels``: a :class:`Kernels` of five ``numba.njit`` functions of the
  parameter vector ``theta`` (:meth:`theta`): ``sample_initial(theta, z)`` and
  ``sample_transition(theta, x_prev, t, z)``, a draw as a function of a standard
  normal ``z`` (any scalar law can be reached from one, by its quantile
  function of ``Phi(z)`` if need be), ``log_transition(theta, x_prev, x, t)``,
  ``log_observation(theta, x, y, t)`` and ``transition_bound(theta, t)``, an
  upper bound of ``f_theta(x | x_prev, t)`` over ``x`` and ``x_prev`` (for the
  rejection sampler); ``t`` is the 0-based index of the new state;
* ``params_type`` and ``constraints`` as for every model, and :meth:`theta`;
* :meth:`trajectory_stats` (draws, P): statistics of each trajectory, from
  which :meth:`complete_loglik` gives its complete-data log-likelihood;
  :meth:`start` (starting values from the data) and :meth:`observe` (to
  simulate observations; :meth:`simulate` draws the states with the kernels);
* optionally a closed-form ``m_step``; the default maximises the Monte Carlo
  Q-function, the mean of :meth:`complete_loglik` over the draws, numerically
  (BFGS in the free coordinates).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit
from scipy import optimize

from ..em import Interval, MCDraw, Positive, Real, StochasticEMModel, as_generator
from ..em.settings import check_int
from ..exceptions import NumericalError
from . import _smc

__all__ = [
    "Kernels",
    "ParticleModel",
    "StochasticVolatility",
    "SVParams",
    "GrowthModel",
    "GrowthParams",
    "LinearGaussian",
    "LinearGaussianParams",
    "normal_logpdf",
    "normal_terms",
    "normal_max",
]

_LOG_2PI = float(np.log(2.0 * np.pi))
#: independent filters (and smoothers) per E-step: batches for the Monte Carlo errors
BATCHES = 5


class Kernels(NamedTuple):
    """The compiled functions of a :class:`ParticleModel` (module docstring)."""

    sample_initial: object
    sample_transition: object
    log_transition: object
    log_observation: object
    transition_bound: object


class ParticleModel(StochasticEMModel):
    """Base of the scalar-state models fitted by particle-smoother EM."""

    kernels: Kernels

    def theta(self, params) -> np.ndarray:
        """The float vector the compiled functions read."""
        raise NotImplementedError

    def trajectory_stats(self, paths: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Complete-data statistics (draws, P) of trajectories ``paths`` (draws, T)."""
        raise NotImplementedError

    def start(self, y: np.ndarray) -> dict[str, float]:
        """Default starting values from the data."""
        raise NotImplementedError

    def __init__(self, constants: dict | None = None, **start):
        self.given = {k: v for k, v in start.items() if v is not None}
        self.constants = dict(constants or {})

    def __repr__(self) -> str:
        args = {**self.given, **self.constants}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in args.items())})"

    def observe(self, params, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Observations ``y_t ~ g(. | x_t, t)`` of the states ``x`` (T,) (for simulation)."""
        raise NotImplementedError

    def simulate(self, params, n_steps: int, random_state=None) -> tuple[np.ndarray, np.ndarray]:
        """States and observations ``(x, y)``, each (n_steps,), from the model at ``params``."""
        n_steps = check_int(n_steps, "n_steps", 1)
        self.check_inside(params, "params")
        rng = as_generator(random_state)
        k, theta = self.kernels, self.theta(params)
        z = rng.standard_normal(n_steps)
        x = np.empty(n_steps)
        x[0] = k.sample_initial(theta, z[0])
        for t in range(1, n_steps):
            x[t] = k.sample_transition(theta, x[t - 1], t, z[t])
        return x, self.observe(params, x, rng)

    def initialize(self, y: np.ndarray, rng: np.random.Generator):
        """The model's data-based start, with the values given to the
        constructor in place of the defaults (the same for every restart:
        restarts differ by their Monte Carlo draws)."""
        values = {**self.start(y), **self.given}
        params = self.params_type(**{k: np.asarray(float(v)) for k, v in values.items()})
        self.check_inside(params, "starting value")
        return params

    def check_inside(self, params, what: str) -> None:
        """Raise ``ValueError`` naming each field of ``params`` not strictly
        inside its space (a zero variance, ``phi = 1``: the densities are
        undefined there)."""
        bad = [f for f in self.space.fields
               if not (self.constraints[f].is_valid(getattr(params, f))
                       and np.all(self.constraints[f].interior(getattr(params, f))))]
        if bad:
            shown = ", ".join(f"{f}={float(getattr(params, f))!r}" for f in bad)
            raise ValueError(f"{self.name}: {what} outside the parameter space (strictly inside needed): {shown}")

    # -- the stochastic E-step ----------------------------------------------------------
    def filter(self, y: np.ndarray, params, n_particles: int, rng: np.random.Generator):
        """Bootstrap filter keeping every step (:func:`_smc.bootstrap_filter`):
        particles (T, N), normalised weights (T, N) and the log-likelihood estimate."""
        k = self.kernels
        X, W, loglik, dead = _smc.bootstrap_filter(
            y, self.theta(params), n_particles, rng, k.sample_initial, k.sample_transition, k.log_observation
        )
        self._check_alive(loglik, dead, params)
        return X, W, float(loglik)

    def loglik_estimates(self, y: np.ndarray, params, n_particles: int, n_runs: int, rng: np.random.Generator):
        """Log-likelihood estimates (n_runs,) of independent filters
        (:func:`_smc.filter_loglik`, ``O(N)`` memory)."""
        k = self.kernels
        out = np.empty(n_runs)
        for r in range(n_runs):
            loglik, dead = _smc.filter_loglik(y, self.theta(params), n_particles, rng,
                                              k.sample_initial, k.sample_transition, k.log_observation)
            self._check_alive(loglik, dead, params)
            out[r] = loglik
        return out

    def _check_alive(self, loglik: float, dead: int, params) -> None:
        if dead >= 0 or not np.isfinite(loglik):
            raise NumericalError(
                f"{self.name}: every particle has probability zero (or an undefined density) at t = {max(dead, 0) + 1} "
                f"with parameters {params}; the observation is impossible under them"
            )

    def smooth_paths(self, y: np.ndarray, params, n_particles: int, n_paths: int, rng: np.random.Generator):
        """``n_paths`` smoothed trajectories by FFBSi on a filter of
        ``n_particles`` particles, and the filter's log-likelihood estimate."""
        X, W, loglik = self.filter(y, params, n_particles, rng)
        k = self.kernels
        paths, _ = _smc.backward_simulation(
            X, W, self.theta(params), n_paths, int(rng.integers(2**63)), k.log_transition, k.transition_bound
        )
        return paths, loglik

    def draw(self, y, params, size, rng, n_paths: int | None = None, keep_paths: int | None = None) -> MCDraw:
        """The stochastic E-step: :data:`BATCHES` independent filters of
        ``size`` particles, each smoothed into ``n_paths / BATCHES``
        trajectories (``n_paths``, default ``size``, in all, labelled by batch,
        so that the engine's Monte Carlo errors include the filter's own
        noise), and their statistics; the log-likelihood estimate pools the
        filters (:func:`pooled_loglik`). ``extra`` keeps ``keep_paths``
        trajectories (default all), taken evenly from the batches."""
        n_paths = size if n_paths is None else n_paths
        if min(size, n_paths) < 2 * BATCHES:
            raise ValueError(f"{self.name}: a Monte Carlo size of at least {2 * BATCHES} is needed "
                             f"({BATCHES} filters); got size={size}, n_paths={n_paths}")
        chunks = np.array_split(np.arange(n_paths), BATCHES)
        keep = [len(c) if keep_paths is None else int(np.ceil(keep_paths * len(c) / n_paths)) for c in chunks]
        stats, kept, logliks = [], [], []
        for chunk, k in zip(chunks, keep):
            paths, loglik = self.smooth_paths(y, params, size, len(chunk), rng)
            stats.append(self.trajectory_stats(paths, y))
            kept.append(paths[:k])
            logliks.append(loglik)
        loglik, se = pooled_loglik(np.array(logliks))
        batches = np.repeat(np.arange(BATCHES), [len(c) for c in chunks])
        return MCDraw(np.concatenate(stats), loglik, se, n_paths, extra=np.concatenate(kept), batches=batches)

    # -- M-step -------------------------------------------------------------------------
    def m_step(self, stats, current, fixed=None):
        """Numerical maximiser of the Monte Carlo Q-function over the free
        parameters (BFGS in the free coordinates, from ``current``)."""
        space = self.space
        masks = space.free_masks(current, space.check_fixed(fixed, current) if fixed is not None else None)
        u0 = space.to_free(current, masks)
        if u0.size == 0:
            return current

        def minus_q(u):
            value = float(np.mean(self.complete_loglik(space.from_free(u, current, masks), stats)))
            return -value if np.isfinite(value) else np.inf

        best = optimize.minimize(minus_q, u0, method="BFGS", options={"gtol": 1e-9})
        u = best.x if best.fun <= minus_q(u0) else u0
        return space.from_free(u, current, masks)


def _initial_state(m0, p0) -> tuple[float, float]:
    """A known initial distribution ``N(m0, p0)``, checked."""
    if not (isinstance(m0, (int, float, np.integer, np.floating)) and np.isfinite(m0)):
        raise ValueError(f"m0 must be a finite number; got {m0!r}")
    if not (isinstance(p0, (int, float, np.integer, np.floating)) and np.isfinite(p0) and p0 > 0):
        raise ValueError(f"p0 must be a positive finite variance; got {p0!r}")
    return float(m0), float(p0)


def pooled_loglik(logs: np.ndarray) -> tuple[float, float]:
    """``log`` of the mean of independent likelihood estimates ``exp(logs)``
    (still unbiased for the likelihood) and its standard error by the delta
    method, ``sd(exp(logs)) / (sqrt(R) mean(exp(logs)))``."""
    top = float(np.max(logs))
    ratio = np.exp(np.asarray(logs) - top)
    return top + float(np.log(ratio.mean())), float(ratio.std(ddof=1) / np.sqrt(ratio.size) / ratio.mean())


def normal_terms(var: float) -> list[float]:
    """``[sd, 1 / var, log_const]`` of ``N(0, var)``, ``log_const = -log(2 pi
    var) / 2``: what a model's :meth:`ParticleModel.theta` stores for each
    variance, so that the compiled densities need no logarithm, division or
    square root per particle (:func:`normal_logpdf`)."""
    var = float(var)
    return [np.sqrt(var), 1.0 / var, -0.5 * (_LOG_2PI + np.log(var))]


@njit(cache=True, inline="always")
def normal_logpdf(e, precision, log_const):
    """``log N(e; 0, var) = log_const - precision e^2 / 2`` from the
    :func:`normal_terms` of ``var`` (for the compiled densities of a model)."""
    return log_const - 0.5 * precision * e * e


@njit(cache=True, inline="always")
def normal_max(log_const):
    """The largest value of the ``N(., var)`` density, ``exp(log_const)`` from
    :func:`normal_terms`, a ``transition_bound``."""
    return np.exp(log_const)


def _gaussian_loglik(n, sse, var):
    """``sum of n terms log N(e; 0, var)`` from the sum of squares ``sse``."""
    return -0.5 * n * (_LOG_2PI + np.log(var)) - 0.5 * sse / var


def _transition_pairs(paths: np.ndarray) -> np.ndarray:
    """Columns ``sum x_t^2, sum x_{t-1}^2, sum x_t x_{t-1}, sum x_t, sum x_{t-1}``
    over ``t >= 2`` of each trajectory."""
    cur, prev = paths[:, 1:], paths[:, :-1]
    return np.column_stack([(cur * cur).sum(1), (prev * prev).sum(1), (cur * prev).sum(1), cur.sum(1), prev.sum(1)])


# -- stochastic volatility -------------------------------------------------------------
@njit(cache=True)
def _sv_initial(theta, z):
    return theta[0] + theta[6] * z


@njit(cache=True)
def _sv_transition(theta, x_prev, t, z):
    return theta[0] + theta[1] * (x_prev - theta[0]) + theta[3] * z


@njit(cache=True)
def _sv_log_transition(theta, x_prev, x, t):
    return normal_logpdf(x - theta[0] - theta[1] * (x_prev - theta[0]), theta[4], theta[5])


@njit(cache=True)
def _sv_log_observation(theta, x, y, t):
    return -0.5 * (_LOG_2PI + x + y * y * np.exp(-x))


@njit(cache=True)
def _sv_bound(theta, t):
    return normal_max(theta[5])


@dataclass(frozen=True)
class SVParams:
    """``mu`` mean log-variance, ``phi`` persistence, ``sigma`` volatility of the log-variance."""

    mu: np.ndarray
    phi: np.ndarray
    sigma: np.ndarray


class StochasticVolatility(ParticleModel):
    """Stochastic volatility (Taylor 1982; Kim, Shephard & Chib 1998):

        x_1 ~ N(mu, sigma^2 / (1 - phi^2)),   x_t = mu + phi (x_{t-1} - mu) + sigma eta_t,
        y_t = exp(x_t / 2) eps_t,   eta_t, eps_t ~ N(0, 1),

    with ``x_t`` the log-variance of the return ``y_t`` (the model of the
    ``particles`` package's ``StochVol``, its ``rho`` our ``phi``).

    Complete-data statistics of a trajectory: ``x_1``, ``x_1^2`` and the sums
    over ``t >= 2`` of ``x_t^2, x_{t-1}^2, x_t x_{t-1}, x_t, x_{t-1}``; the
    complete-data log-likelihood (state part; the observation part has no
    parameter) is

        log N(x_1; mu, sigma^2 / (1 - phi^2)) + sum_{t>=2} log N(x_t; mu + phi (x_{t-1} - mu), sigma^2).

    M-step: it is linear in the statistics, so the Monte Carlo Q-function is
    its value at their mean; for fixed ``phi`` it is maximised by

        mu(phi)      = ((1 + phi) x_1 + S_x - phi S_p) / ((1 + phi) + (T - 1)(1 - phi)),
        sigma^2(phi) = ((1 - phi^2)(x_1 - mu)^2 + sum_{t>=2} (x_t - mu - phi (x_{t-1} - mu))^2) / T,

    (means over the draws), leaving the profile ``0.5 log(1 - phi^2) - (T/2)
    log sigma^2(phi)`` to maximise over ``phi`` in (-1, 1) (bounded Brent).
    With parameters held fixed the base class's numerical M-step is used.
    Starting values: ``mu`` the log of the mean square of ``y``, ``phi = 0.9``,
    ``sigma = 0.3`` (or those given).
    """

    params_type = SVParams
    constraints = {"mu": Real(), "phi": Interval(-1.0, 1.0), "sigma": Positive()}
    kernels = Kernels(_sv_initial, _sv_transition, _sv_log_transition, _sv_log_observation, _sv_bound)

    def __init__(self, mu=None, phi=None, sigma=None):
        super().__init__(mu=mu, phi=phi, sigma=sigma)

    def theta(self, params):
        """``[mu, phi, sigma, *normal_terms(sigma^2), stationary sd]``."""
        phi, sigma = float(params.phi), float(params.sigma)
        return np.array([params.mu, phi, sigma, *normal_terms(sigma**2), sigma / np.sqrt(1.0 - phi * phi)])

    def start(self, y):
        return {"mu": float(np.log(np.mean(y * y))), "phi": 0.9, "sigma": 0.3}

    def observe(self, params, x, rng):
        return np.exp(x / 2) * rng.standard_normal(x.shape)

    def trajectory_stats(self, paths, y):
        x1 = paths[:, 0]
        n = np.full(paths.shape[0], paths.shape[1] - 1.0)
        return np.column_stack([x1, x1 * x1, _transition_pairs(paths), n])

    @staticmethod
    def _sse(s, mu, phi):
        """``sum_{t>=2} (x_t - mu - phi (x_{t-1} - mu))^2`` from statistics ``s`` (columns)."""
        sxx, spp, sxp, sx, sp, n = s[..., 2], s[..., 3], s[..., 4], s[..., 5], s[..., 6], s[..., 7]
        c = mu * (1.0 - phi)
        return sxx + phi * phi * spp - 2.0 * phi * sxp - 2.0 * c * (sx - phi * sp) + n * c * c

    def complete_loglik(self, params, stats):
        mu, phi, sigma = float(params.mu), float(params.phi), float(params.sigma)
        v0 = sigma**2 / (1.0 - phi**2)
        first = stats[:, 1] - 2.0 * mu * stats[:, 0] + mu * mu
        return _gaussian_loglik(1.0, first, v0) + _gaussian_loglik(stats[:, 7], self._sse(stats, mu, phi), sigma**2)

    def m_step(self, stats, current, fixed=None):
        if fixed is not None and any(np.any(getattr(fixed, f)) for f in ("mu", "phi", "sigma")):
            return super().m_step(stats, current, fixed)
        s = stats.mean(axis=0)
        x1, x1sq, sx, sp, n = s[0], s[1], s[5], s[6], s[7]
        total = n + 1.0

        def profile(phi):
            mu = ((1.0 + phi) * x1 + sx - phi * sp) / ((1.0 + phi) + n * (1.0 - phi))
            s2 = ((1.0 - phi**2) * (x1sq - 2.0 * mu * x1 + mu * mu) + self._sse(s, mu, phi)) / total
            return mu, s2

        def minus(phi):
            _, s2 = profile(phi)
            return -(0.5 * np.log1p(-phi * phi) - 0.5 * total * np.log(s2)) if s2 > 0 else np.inf

        edge = 1.0 - 1e-10
        phi = optimize.minimize_scalar(minus, bounds=(-edge, edge), method="bounded", options={"xatol": 1e-12}).x
        mu, s2 = profile(phi)
        return dataclasses.replace(current, mu=np.asarray(mu), phi=np.asarray(phi), sigma=np.asarray(np.sqrt(s2)))


# -- Kitagawa's nonlinear growth model ---------------------------------------------------
@njit(cache=True)
def _growth_mean(x_prev, t):
    """``x/2 + 25 x / (1 + x^2) + 8 cos(1.2 t)`` with ``t`` 1-based (the kernels pass it 0-based)."""
    return 0.5 * x_prev + 25.0 * x_prev / (1.0 + x_prev * x_prev) + 8.0 * np.cos(1.2 * (t + 1))


@njit(cache=True)
def _growth_initial(theta, z):
    return theta[2] + theta[4] * z


@njit(cache=True)
def _growth_transition(theta, x_prev, t, z):
    return _growth_mean(x_prev, t) + theta[5] * z


@njit(cache=True)
def _growth_log_transition(theta, x_prev, x, t):
    return normal_logpdf(x - _growth_mean(x_prev, t), theta[6], theta[7])


@njit(cache=True)
def _growth_log_observation(theta, x, y, t):
    return normal_logpdf(y - x * x / 20.0, theta[9], theta[10])


@njit(cache=True)
def _growth_bound(theta, t):
    return normal_max(theta[7])


@dataclass(frozen=True)
class GrowthParams:
    """``process_var`` the variance of the state noise, ``obs_var`` of the measurement noise."""

    process_var: np.ndarray
    obs_var: np.ndarray


def _growth_means(paths: np.ndarray) -> np.ndarray:
    """``f(x_{t-1}, t)`` for t = 2..T of each trajectory (numpy twin of the kernel)."""
    prev = paths[:, :-1]
    t = np.arange(2, paths.shape[1] + 1)
    return 0.5 * prev + 25.0 * prev / (1.0 + prev * prev) + 8.0 * np.cos(1.2 * t)


class GrowthModel(ParticleModel):
    """The nonlinear growth model (Kitagawa 1996; Gordon, Salmond & Smith 1993):

        x_1 ~ N(m0, p0),   x_t = x_{t-1}/2 + 25 x_{t-1} / (1 + x_{t-1}^2) + 8 cos(1.2 t) + v_t,
        y_t = x_t^2 / 20 + e_t,   v_t ~ N(0, process_var),   e_t ~ N(0, obs_var),

    ``t = 1..T``; ``m0 = 0`` and ``p0 = 5`` are known. Statistics of a
    trajectory: ``S_v = sum_{t>=2} (x_t - f(x_{t-1}, t))^2`` and ``S_e = sum_t
    (y_t - x_t^2 / 20)^2``; M-step (closed form, each variance separately):
    ``process_var = mean S_v / (T - 1)``, ``obs_var = mean S_e / T``.
    Starting values: both variances 1 (or those given).
    """

    params_type = GrowthParams
    constraints = {"process_var": Positive(), "obs_var": Positive()}
    kernels = Kernels(_growth_initial, _growth_transition, _growth_log_transition, _growth_log_observation, _growth_bound)

    def __init__(self, process_var=None, obs_var=None, m0: float = 0.0, p0: float = 5.0):
        self.m0, self.p0 = _initial_state(m0, p0)
        super().__init__({"m0": self.m0, "p0": self.p0}, process_var=process_var, obs_var=obs_var)

    def theta(self, params):
        """``[process_var, obs_var, m0, p0, sqrt(p0), *normal_terms(process_var), *normal_terms(obs_var)]``."""
        return np.array([params.process_var, params.obs_var, self.m0, self.p0, np.sqrt(self.p0),
                         *normal_terms(params.process_var), *normal_terms(params.obs_var)])

    def start(self, y):
        return {"process_var": 1.0, "obs_var": 1.0}

    def observe(self, params, x, rng):
        return x * x / 20.0 + np.sqrt(float(params.obs_var)) * rng.standard_normal(x.shape)

    def trajectory_stats(self, paths, y):
        sv = ((paths[:, 1:] - _growth_means(paths)) ** 2).sum(1)
        se = ((y - paths * paths / 20.0) ** 2).sum(1)
        n = np.full(paths.shape[0], float(paths.shape[1]))
        return np.column_stack([sv, se, n])

    def complete_loglik(self, params, stats):
        n = stats[:, 2]
        return _gaussian_loglik(n - 1.0, stats[:, 0], float(params.process_var)) + _gaussian_loglik(
            n, stats[:, 1], float(params.obs_var))

    def m_step(self, stats, current, fixed=None):
        s = stats.mean(axis=0)
        return dataclasses.replace(current, process_var=np.asarray(s[0] / (s[2] - 1.0)), obs_var=np.asarray(s[1] / s[2]))


# -- the linear Gaussian model (validation against the Kalman smoother) -------------------------
@njit(cache=True)
def _lg_initial(theta, z):
    return theta[3] + theta[5] * z


@njit(cache=True)
def _lg_transition(theta, x_prev, t, z):
    return theta[0] * x_prev + theta[6] * z


@njit(cache=True)
def _lg_log_transition(theta, x_prev, x, t):
    return normal_logpdf(x - theta[0] * x_prev, theta[7], theta[8])


@njit(cache=True)
def _lg_log_observation(theta, x, y, t):
    return normal_logpdf(y - x, theta[10], theta[11])


@njit(cache=True)
def _lg_bound(theta, t):
    return normal_max(theta[8])


@dataclass(frozen=True)
class LinearGaussianParams:
    """``a`` autoregression, ``q`` state-noise variance, ``r`` measurement-noise variance."""

    a: np.ndarray
    q: np.ndarray
    r: np.ndarray


class LinearGaussian(ParticleModel):
    """The scalar linear Gaussian model, for validation against the exact
    Kalman-smoother EM of :class:`latentlab.statespace.LinearGaussianSSM`:

        x_1 ~ N(m0, p0),   x_t = a x_{t-1} + w_t,   y_t = x_t + v_t,   w_t ~ N(0, q),   v_t ~ N(0, r),

    ``m0`` and ``p0`` known. Statistics of a trajectory: the sums over ``t >=
    2`` of ``x_t^2, x_{t-1}^2, x_t x_{t-1}`` and ``R = sum_t (y_t - x_t)^2``.
    M-step (closed form): ``a = S_xp / S_pp`` (or the held value),
    ``q = (S_xx - 2 a S_xp + a^2 S_pp) / (T - 1)``, ``r = R / T``.
    Starting values: ``a = 0.5``, ``q = r =`` half the sample variance (or those given).
    """

    params_type = LinearGaussianParams
    constraints = {"a": Real(), "q": Positive(), "r": Positive()}
    kernels = Kernels(_lg_initial, _lg_transition, _lg_log_transition, _lg_log_observation, _lg_bound)

    def __init__(self, a=None, q=None, r=None, m0: float = 0.0, p0: float = 1.0):
        self.m0, self.p0 = _initial_state(m0, p0)
        super().__init__({"m0": self.m0, "p0": self.p0}, a=a, q=q, r=r)

    def theta(self, params):
        """``[a, q, r, m0, p0, sqrt(p0), *normal_terms(q), *normal_terms(r)]``."""
        return np.array([params.a, params.q, params.r, self.m0, self.p0, np.sqrt(self.p0),
                         *normal_terms(params.q), *normal_terms(params.r)])

    def start(self, y):
        half = 0.5 * float(np.var(y))
        return {"a": 0.5, "q": half, "r": half}

    def observe(self, params, x, rng):
        return x + np.sqrt(float(params.r)) * rng.standard_normal(x.shape)

    def trajectory_stats(self, paths, y):
        pairs = _transition_pairs(paths)[:, :3]
        resid = ((y - paths) ** 2).sum(1)
        n = np.full(paths.shape[0], float(paths.shape[1]))
        return np.column_stack([pairs, resid, n])

    @staticmethod
    def _sse(stats, a):
        return stats[..., 0] - 2.0 * a * stats[..., 2] + a * a * stats[..., 1]

    def complete_loglik(self, params, stats):
        n, a = stats[:, 4], float(params.a)
        return _gaussian_loglik(n - 1.0, self._sse(stats, a), float(params.q)) + _gaussian_loglik(
            n, stats[:, 3], float(params.r))

    def m_step(self, stats, current, fixed=None):
        s = stats.mean(axis=0)
        held_a = fixed is not None and bool(np.all(fixed.a))
        a = float(current.a) if held_a else s[2] / s[1]
        return dataclasses.replace(
            current, a=np.asarray(a), q=np.asarray(self._sse(s, a) / (s[4] - 1.0)), r=np.asarray(s[3] / s[4])
        )
