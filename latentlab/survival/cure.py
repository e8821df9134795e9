"""The exponential mixture cure model, by EM with the latent cured status.

Model: a fraction ``pi`` is cured and never fails; the others have
``T ~ Exp(lambda)``. An observation ``[L_i, R_i]``
(:mod:`latentlab.survival._censoring`) has probability

    P_i = (1 - pi) P_exp(L_i <= T <= R_i) + pi [R_i = inf].

Complete data: the cured indicator ``Z_i`` and, for the uncured, the exact
lifetime. E-step: the posterior probability of being uncured,

    u_i = (1 - pi) exp(-lambda L_i) / ((1 - pi) exp(-lambda L_i) + pi)   (right-censored)
    u_i = 1                                                              (otherwise),

and, for the uncured, the conditional mean lifetime ``E_i`` of
:func:`~latentlab.survival._censoring.expected_time`. Sufficient statistics
``U = sum u_i`` and ``S = sum u_i E_i``. M-step: ``pi = 1 - U / n``,
``lambda = U / S`` (Farewell 1982, Biometrics 38:1041-1046; Peng & Dear
2000 for EM in cure models).

Convergence: besides the engine's change rule, the score per observation in
the free coordinates ``(logit pi, log lambda)`` must be at most ``score_tol``
in absolute value (a change of the log-likelihood resolves the parameters only
to about ``sqrt(machine epsilon)``). By Fisher's identity the scores are

    dl/dlogit(pi)  = pi (1 - pi) sum_i dlogP_i/dpi,
                     dlogP_i/dpi = (1 - exp(-lambda L_i)) / P_i (right-censored), -1/(1 - pi) (otherwise)
    dl/dlog(lambda) = sum_i u_i dlogP_exp,i/deta.

Boundary. ``pi = 0`` is the MLE when the score for ``pi`` at ``(0, lambda_0)``,
with ``lambda_0`` the plain exponential MLE, is not positive:
``sum_{i right-censored} exp(lambda_0 L_i) - n <= 0``. Then the fit is
``(0, lambda_0)``, a :class:`~latentlab.BoundaryWarning` is issued, and the
interval for ``pi`` is ``[0, upper]`` from the profile likelihood with the
boundary critical value ``chi2_1(1 - 2 alpha)`` (Self & Liang 1987: the
likelihood-ratio statistic is a 50:50 mixture of 0 and chi2_1 there).
Otherwise the interval is the Wald interval on the logit scale from the
observed information (:func:`latentlab.em.covariance`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize
from scipy import stats as sps

from .._validation import check_level, check_positive
from .._warn import user_stacklevel
from ..em import EMEstimator, EMModel, Positive, Stats, UnitInterval
from ..em.settings import engine_defaults
from ..exceptions import BoundaryWarning
from . import _censoring as cens
from .exponential import CensoredExponential

__all__ = ["ExponentialCure", "ExponentialCureModel", "CureParams"]

#: engine settings: the engine's defaults with tol=1e-10, max_iter=10000, accelerate="squarem" (the cure fraction is weakly identified: SQUAREM and a tight tol for the score test at the boundary)
_ENGINE = engine_defaults(tol=1e-10, max_iter=10000, accelerate="squarem")


@dataclass(frozen=True)
class CureParams:
    cure_fraction: np.ndarray  # () pi
    rate: np.ndarray  # () lambda of the uncured


@dataclass(frozen=True)
class _Stats(Stats):
    uncured: float  # U
    time: float  # S
    n: int


class ExponentialCureModel(EMModel):
    """The EM contract of the exponential mixture cure model (module docstring)."""

    params_type = CureParams
    constraints = {"cure_fraction": UnitInterval(), "rate": Positive()}

    def __init__(self, score_tol: float = 1e-9):
        self.score_tol = check_positive(score_tol, "score_tol")

    def initialize(self, data: cens.Intervals, rng: np.random.Generator) -> CureParams:
        """Cure fraction uniform on (0.05, 0.95) times the right-censored share;
        rate the crude rate (:meth:`Intervals.crude_rate`)."""
        pi = rng.uniform(0.05, 0.95) * data.right_censored.mean()
        return CureParams(np.asarray(pi), np.asarray(data.crude_rate()))

    def _log_parts(self, data: cens.Intervals, params: CureParams):
        """``log((1 - pi) P_exp)`` and ``log P_i`` per observation."""
        pi, rate = float(params.cure_fraction), float(params.rate)
        with np.errstate(divide="ignore"):
            log_uncured = np.log1p(-pi) + cens.log_prob(data, rate)
            log_total = np.where(data.right_censored, np.logaddexp(log_uncured, np.log(pi)), log_uncured)
        return log_uncured, log_total

    def e_step(self, data: cens.Intervals, params: CureParams):
        log_uncured, log_total = self._log_parts(data, params)
        u = np.exp(log_uncured - log_total)
        times = cens.expected_time(data, float(params.rate))
        return _Stats(float(u.sum()), float(u @ times), data.n), float(log_total.sum())

    def loglik(self, data: cens.Intervals, params: CureParams) -> float:
        return float(self._log_parts(data, params)[1].sum())

    def score(self, data: cens.Intervals, params: CureParams) -> np.ndarray:
        """Score in ``(logit pi, log lambda)`` (module docstring)."""
        pi, rate = float(params.cure_fraction), float(params.rate)
        log_uncured, log_total = self._log_parts(data, params)
        with np.errstate(divide="ignore"):
            d_pi = np.where(
                data.right_censored, -np.expm1(-rate * data.lower) * np.exp(-log_total), -1.0 / (1.0 - pi)
            )
        d_eta = np.exp(log_uncured - log_total) @ cens.eta_derivatives(data, rate)[0]
        return np.array([pi * (1.0 - pi) * d_pi.sum(), d_eta])

    def is_stationary(self, data: cens.Intervals, params: CureParams, stats: _Stats) -> bool:
        return bool(np.max(np.abs(self.score(data, params))) <= self.score_tol * data.n)

    def m_step(self, stats: _Stats, current=None, fixed=None) -> CureParams:
        return CureParams(np.asarray(max(1.0 - stats.uncured / stats.n, 0.0)), np.asarray(stats.uncured / stats.time))


class ExponentialCure(EMEstimator):
    """Exponential mixture cure model fitted by EM.

    ``fit(durations, event_observed)`` for right-censored data, or
    ``fit_interval_censoring(lower_bound, upper_bound)``. Only observations
    with no finite upper bound (still event-free at the end) can be cured.

    Parameters
    ----------
    level : level of the interval for the cure fraction.
    tol, max_iter, n_init, accelerate, random_state, progress : passed to
        :func:`latentlab.em.fit_em`.

    Attributes (after fit)
    ----------------------
    cure_fraction_, rate_ : estimates; ``rate_`` is the failure rate of the uncured.
    cure_fraction_ci_ : (lower, upper) interval for the cure fraction (module docstring).
    on_boundary_ : True when the cure fraction is estimated as 0.
    result_, loglik_, n_iter_, converged_ : from the engine.
    """

    def __init__(
        self,
        *,
        level: float = 0.95,
        tol: float = _ENGINE["tol"],
        max_iter: int = _ENGINE["max_iter"],
        n_init: int = _ENGINE["n_init"],
        accelerate: str | None = _ENGINE["accelerate"],
        random_state=None,
        progress: bool | None = _ENGINE["progress"],
    ):
        self.level = level
        self._set_engine_settings(
            tol=tol, max_iter=max_iter, n_init=n_init,
            accelerate=accelerate, random_state=random_state, progress=progress,
        )

    def fit(self, durations, event_observed=None) -> ExponentialCure:
        """Fit to right-censored durations (``event_observed`` 1 event, 0 censored)."""
        return self._fit(cens.from_durations(durations, event_observed))

    def fit_interval_censoring(self, lower_bound, upper_bound) -> ExponentialCure:
        """Fit to bounds ``lower_bound <= T <= upper_bound`` (``inf``: event-free at the end)."""
        return self._fit(cens.from_bounds(lower_bound, upper_bound))

    def _fit(self, data: cens.Intervals) -> ExponentialCure:
        check_level(self.level)
        rate0 = CensoredExponential(tol=self.tol).fit_interval_censoring(data.lower, data.upper).rate_
        score0 = float(np.sum(np.exp(rate0 * data.lower[data.right_censored])) - data.n)
        self.on_boundary_ = score0 <= 0.0
        model = ExponentialCureModel()
        init = CureParams(np.asarray(0.0), np.asarray(rate0)) if self.on_boundary_ else None
        result = self._fit_em(model, data, n_obs=data.n, init_params=init)
        self.cure_fraction_ = float(result.params.cure_fraction)
        self.rate_ = float(result.params.rate)
        if self.on_boundary_:
            warnings.warn(
                f"ExponentialCure: the cure fraction is estimated at the boundary 0 (score at 0 is {score0:.4g} "
                "<= 0); no Wald interval, the interval is from the profile likelihood",
                BoundaryWarning,
                stacklevel=user_stacklevel(),
            )
            self.cure_fraction_ci_ = (0.0, self._profile_upper(model, data))
        else:
            row = super().summary(self.level).iloc[0]
            self.cure_fraction_ci_ = (float(row["ci_lower"]), float(row["ci_upper"]))
        return self

    def _profile_upper(self, model: ExponentialCureModel, data: cens.Intervals) -> float:
        """Largest ``pi`` with ``2 (l_max - l_p(pi)) <= chi2_1(1 - 2 alpha)``."""
        crit = sps.chi2.ppf(1.0 - 2.0 * (1.0 - self.level), 1) / 2.0

        def profile(pi):
            res = optimize.minimize_scalar(
                lambda eta: -model.loglik(data, CureParams(np.asarray(pi), np.asarray(np.exp(eta)))),
                bracket=(np.log(self.rate_) - 1.0, np.log(self.rate_) + 1.0),
            )
            return -res.fun

        drop = lambda pi: self.loglik_ - profile(pi) - crit  # noqa: E731
        top = 1.0 - 1e-9
        return 1.0 if drop(top) <= 0 else float(optimize.brentq(drop, 0.0, top, xtol=1e-10))

    def _parameter_labels(self) -> list[str]:
        return ["cure_fraction", "rate"]

    def summary(self, level: float | None = None) -> pd.DataFrame:
        """Estimates, standard errors and intervals (the cure fraction's interval
        as in ``cure_fraction_ci_`` when on the boundary)."""
        self._check_fitted()
        level = self.level if level is None else level
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BoundaryWarning)  # already warned at fit
            table = super().summary(level)
        if self.on_boundary_ and level == self.level:
            table.loc[0, ["ci_lower", "ci_upper"]] = self.cure_fraction_ci_
        return table
