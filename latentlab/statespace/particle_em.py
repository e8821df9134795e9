"""``ParticleSSM``: nonlinear state-space models fitted by particle-smoother EM.

The E-step of EM for a nonlinear or non-Gaussian state-space model needs
expectations under the smoothing distribution ``p(x_{1:T} | y_{1:T})``, which
no Kalman smoother gives. A particle smoother draws trajectories from it
approximately, and EM becomes Monte Carlo EM (Wei & Tanner 1990; with
particle smoothers: Olsson, Cappé, Douc & Moulines 2008; Schön, Wills & Ninness
2011). The model (:mod:`latentlab.statespace.particle_models`) supplies the
compiled densities and the complete-data statistics; the engine's
ascent-based MCEM (:mod:`latentlab.em.monte_carlo`) decides when a step is
real and how many particles the next one needs; standard errors come from
Louis' identity over smoothed trajectories.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pandas as pd

from .._validation import as_array, check_level, check_magnitude
from .._warn import user_stacklevel
from ..em import EMEstimator, as_generator, louis_covariance, restart_generators
from ..em.settings import check_int, engine_defaults
from ..exceptions import NumericalError
from .particle_models import BATCHES, ParticleModel, StochasticVolatility, pooled_loglik

__all__ = ["ParticleSSM"]

#: trajectories of the final pass per particle of its filters (``se_particles``)
PATHS_PER_PARTICLE = 4

#: engine settings: tol 5e-5 because the log-likelihood is a Monte Carlo estimate
#: (the rule tests an upper confidence bound of the gain, which cannot reach
#: round-off; the bound's noise falls only like 1 / particles), yet tight
#: enough that EM crawling along a ridge is not stopped short (the linear
#: Gaussian model of the tests: at 1e-4, half of 20 runs ended more than two
#: Monte Carlo standard deviations short of the exact maximum); and at most
#: 200 iterations, each five filter and smoother passes
_ENGINE = engine_defaults(tol=5e-5, max_iter=200)


class ParticleSSM(EMEstimator):
    """A :class:`ParticleModel` fitted by particle-smoother EM.

    Parameters
    ----------
    model : a :class:`~latentlab.statespace.ParticleModel` (default
        :class:`~latentlab.statespace.StochasticVolatility`); its constructor
        takes starting values.
    n_particles : the largest Monte Carlo size, reached as the iterates
        approach the maximum: an E-step runs five independent filters of this
        many particles and draws as many trajectories in all (a fifth from
        each); also the number of trajectories :meth:`smooth` summarises.
    initial_particles : the Monte Carlo size of the first iteration.
    se_particles : particles of each filter of the final pass at the estimate
        (standard errors and :meth:`smooth`), which draws
        ``PATHS_PER_PARTICLE * se_particles`` trajectories; default
        ``5 * n_particles``. Louis' identity subtracts the missing from the
        complete information, and where most information is missing (EM's
        rate near 1) both estimates must be precise: a small particle
        smoother understates the missing part (the standard errors come out
        too small: on the linear Gaussian model, missing fraction above 0.9,
        by about a third with 1,000 particles; with the default the tests
        find them within 10% of the exact observed information's, plus three
        of their Monte Carlo errors), and
        the variance of the trajectories' scores needs many trajectories
        (stochastic volatility, T = 2,000: the information about ``log
        sigma`` is about 4,000 complete minus 3,800 missing). When the
        estimate of the information is not positive definite the standard
        errors are NaN, with a ``RuntimeWarning`` suggesting a larger
        ``se_particles``.
    tol, max_iter, n_init, accelerate, random_state, progress : the engine's
        settings (:func:`latentlab.em.fit_em`; ``accelerate`` must be None).

    Attributes after ``fit``: ``params_`` (the model's parameter dataclass),
    ``loglik_`` and ``loglik_se_`` (the filter's estimate at the end and its
    Monte Carlo standard error), ``result_`` (trace, ``trace_se``,
    ``trace_mc_size``), ``covariance_`` (Louis' identity) and
    ``std_error_mc_`` (Monte Carlo error of each standard error).
    """

    def __init__(self, model: ParticleModel | None = None, *, n_particles: int = 1000, initial_particles: int = 100,
                 se_particles: int | None = None, tol=_ENGINE["tol"], max_iter=_ENGINE["max_iter"], n_init=_ENGINE["n_init"],
                 accelerate=_ENGINE["accelerate"], random_state=_ENGINE["random_state"], progress=_ENGINE["progress"]):
        self.model = model
        self.n_particles = n_particles
        self.initial_particles = initial_particles
        self.se_particles = se_particles
        self._set_engine_settings(tol=tol, max_iter=max_iter, n_init=n_init, accelerate=accelerate,
                                  random_state=random_state, progress=progress)

    def _check_settings(self) -> ParticleModel:
        model = StochasticVolatility() if self.model is None else self.model
        if not isinstance(model, ParticleModel):
            raise TypeError(f"model must be a ParticleModel (e.g. StochasticVolatility()); got {type(model).__name__}")
        check_int(self.n_particles, "n_particles", 2)
        check_int(self.initial_particles, "initial_particles", 2 * BATCHES)
        if self.se_particles is not None:
            check_int(self.se_particles, "se_particles", 2 * BATCHES)
        if self.initial_particles > self.n_particles:
            raise ValueError(
                f"initial_particles ({self.initial_particles}) must not exceed n_particles ({self.n_particles})"
            )
        model = copy.copy(model)
        model.mc_start, model.mc_max = int(self.initial_particles), int(self.n_particles)
        return model

    @staticmethod
    def _validate_y(y) -> np.ndarray:
        y = as_array(y, "y", ndim=(1,))
        if y.size < 2:
            raise ValueError(f"y must hold at least 2 observations; got {y.size}")
        if not np.all(np.isfinite(y)):
            bad = np.flatnonzero(~np.isfinite(y))
            raise ValueError(
                f"y has {bad.size} missing or non-finite values (first at position {bad[0]}); "
                "these particle models need every observation"
            )
        return np.ascontiguousarray(check_magnitude(y, "y"), dtype=float)

    def fit(self, y):
        """Fit the model to the series ``y`` (T,); returns ``self``."""
        model = self._check_settings()
        y = self._validate_y(y)
        self._louis = None
        self._fit_em(model, y, n_obs=float(y.size))
        return self

    # -- results ---------------------------------------------------------------------------
    @property
    def params_(self):
        """The fitted parameters (the model's dataclass)."""
        self._check_fitted()
        return self.result_.params

    @property
    def loglik_se_(self) -> float:
        """Monte Carlo standard error of :attr:`loglik_`."""
        self._check_fitted()
        return float(self.result_.trace_se[-1])

    @property
    def _se_size(self) -> int:
        return 5 * self.n_particles if self.se_particles is None else self.se_particles

    def _final_pass(self):
        """One E-step of ``se_particles`` at the estimate, from its own stream of
        ``random_state`` (computed once): the trajectories and Louis' covariance."""
        self._check_fitted()
        if self._louis is None:
            rng = restart_generators(self.random_state, self.n_init + 2)[-1]
            draw = self.model_.draw(self._data, self.result_.params, self._se_size, rng,
                                    n_paths=PATHS_PER_PARTICLE * self._se_size, keep_paths=self.n_particles)
            try:
                cov, mc_error = louis_covariance(self.model_, draw, self.result_.params, self.result_.fixed)
            except NumericalError as err:
                warnings.warn(
                    f"{err}. Louis' estimate is a difference of two Monte Carlo estimates, noisy where most "
                    f"information is missing: the standard errors are NaN; try a larger se_particles "
                    f"(now {self._se_size})", RuntimeWarning, stacklevel=user_stacklevel(),
                )
                size = self.model_.space.flatten(self.result_.params).size
                cov, mc_error = np.full((size, size), np.nan), np.full(size, np.nan)
            self._louis = (draw, cov, mc_error)
        return self._louis

    @property
    def covariance_(self) -> np.ndarray:
        """Covariance of the flattened parameters by Louis' identity over the
        final pass's ``PATHS_PER_PARTICLE * se_particles`` smoothed
        trajectories (:mod:`latentlab.em.monte_carlo`)."""
        return self._final_pass()[1]

    @property
    def covariance_method_(self) -> str:
        return f"Louis' identity, {PATHS_PER_PARTICLE * self._se_size} smoothed trajectories"

    @property
    def std_error_mc_(self) -> np.ndarray:
        """Monte Carlo standard error of each standard error (from batches of trajectories)."""
        return self._final_pass()[2]

    def summary(self, level: float = 0.95) -> pd.DataFrame:
        """Estimates, standard errors (Louis), Wald intervals at ``level`` and the
        Monte Carlo error of each standard error (``se_mc_error``)."""
        table = super().summary(level)
        table["se_mc_error"] = self.std_error_mc_
        return table

    def _summary_header(self):
        r = self.result_
        lines = [(k, v) for k, v in super()._summary_header() if k != "iterations"]
        return [*lines,
                ("iterations", f"{r.n_iter} (Monte Carlo EM; {r.n_evals} E-steps, {int(r.trace_mc_size[-1])} particles "
                               "at the end)"),
                ("log-likelihood s.e.", f"{self.loglik_se_:.4f} (Monte Carlo)")]

    def smooth(self, level: float = 0.95, transform=None) -> pd.DataFrame:
        """The smoothing distribution of each state (or of ``transform`` of it,
        e.g. ``lambda x: np.exp(x / 2)`` for a volatility) from ``n_particles``
        trajectories of the final pass at the estimate: columns ``t`` (1-based), ``mean``, ``sd``,
        ``lower``, ``upper`` (pointwise ``level`` quantiles)."""
        check_level(level)
        paths = self._final_pass()[0].extra
        if transform is not None:
            paths = np.asarray(transform(paths), dtype=float)
        lo, hi = np.quantile(paths, [0.5 - level / 2, 0.5 + level / 2], axis=0)
        return pd.DataFrame({"t": np.arange(1, paths.shape[1] + 1), "mean": paths.mean(0), "sd": paths.std(0, ddof=1),
                             "lower": lo, "upper": hi})

    def loglik_estimate(self, y=None, n_runs: int = 10, random_state=None) -> tuple[float, float]:
        """Log-likelihood at the estimate from ``n_runs`` independent filters of
        ``n_particles``: ``log`` of the mean of their likelihood estimates
        (unbiased for the likelihood) and its standard error from their spread
        (delta method). ``y`` defaults to the fitted series."""
        self._check_fitted()
        check_int(n_runs, "n_runs", 2)
        y = self._data if y is None else self._validate_y(y)
        logs = self.model_.loglik_estimates(y, self.result_.params, self.model_.mc_max, n_runs, as_generator(random_state))
        return pooled_loglik(logs)

    def plot_states(self, level: float = 0.95, time=None, transform=None, ax=None, label: str = "state"):
        """Smoothed state means with their pointwise ``level`` band against
        ``time`` (1..T by default), of ``transform`` of the state when given
        (:meth:`smooth`). Returns the axes."""
        import matplotlib.pyplot as plt

        table = self.smooth(level, transform)
        time = table["t"].to_numpy() if time is None else np.asarray(time)
        if time.shape != (len(table),):
            raise ValueError(f"time must have one value per observation ({len(table)}); got shape {time.shape}")
        if ax is None:
            _, ax = plt.subplots(figsize=(9, 3))
        ax.plot(time, table["mean"], lw=0.8, label=f"{label} (smoothed mean)")
        ax.fill_between(time, table["lower"], table["upper"], alpha=0.3, lw=0, label=f"{level:.0%} band")
        ax.set_xlabel("time")
        ax.legend(fontsize=8)
        return ax
