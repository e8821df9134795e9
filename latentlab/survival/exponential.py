"""Exponential lifetimes under right, left and interval censoring, by EM.

Model: ``T_i ~ Exp(lambda_i)`` with the log-linear rate
``log(lambda_i) = x_i' beta`` (``x_i = 1`` without covariates, so
``lambda = exp(beta_0)``). Each observation is an interval ``[L_i, R_i]``
holding ``T_i`` (:mod:`latentlab.survival._censoring`); the unseen exact
times are the missing data.

E-step (memoryless property): the expected complete-data statistic of unit
``i`` is its conditional mean lifetime

    E_i = E[T_i | L_i <= T_i <= R_i] = L_i + 1/lambda_i          (right-censored)
                                     = L_i + w_i g(lambda_i w_i)  (finite interval, w_i = R_i - L_i)

M-step: the complete data are ``n`` exact lifetimes, whose log-likelihood
``Q(beta) = sum_i (x_i' beta - exp(x_i' beta) E_i)`` is that of a Poisson
GLM with response 1 and offset ``log E_i``. Without covariates it is maximised
in closed form by ``lambda = n / sum_i E_i``, and the fixed point is the
familiar ``lambda = d / sum_i t_i`` for right-censored data (``d`` events,
``sum_i t_i`` total time at risk). With covariates the M-step runs Newton's
method on ``Q`` (started at the current ``beta``, with step halving) to
convergence, so each iteration is a full EM step and the likelihood never
decreases.

Convergence: besides the engine's change rule the fit must be stationary: the
Newton decrement ``sqrt(U' I^{-1} U)`` (``U`` the score, ``I`` the observed
information), which is the distance to the MLE in standard errors, must be at
most ``score_tol``. A change of the log-likelihood cannot resolve the rate
beyond about ``sqrt(machine epsilon)`` relative; the score can.

Standard errors: the observed information ``I = -sum_i x_i x_i' d2logP_i/deta2``
in closed form (``_censoring.eta_derivatives``); for right-censored data
without covariates ``Var(log lambda) = 1/d`` and ``SE(lambda) = sqrt(d) / sum t``.

When every observation is right-censored the likelihood increases as
``lambda -> 0`` (rate 0, unbounded mean); when every observation is censored
on the left at 0 it increases as ``lambda -> inf``. Neither has a finite MLE
and ``fit`` raises ``ValueError`` saying so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from .._validation import check_level, check_positive
from ..em import EMEstimator, EMModel, Real, Stats
from ..em.settings import engine_defaults
from ..exceptions import NumericalError
from . import _censoring as cens
from ._design import Design
from .kaplan_meier import KaplanMeier

__all__ = ["CensoredExponential", "ExponentialModel", "ExponentialParams"]

#: engine settings: the engine's defaults with tol=1e-10, max_iter=10000, accelerate="squarem" (censoring makes plain EM slow; SQUAREM and a tight tol for agreement with closed forms)
_ENGINE = engine_defaults(tol=1e-10, max_iter=10000, accelerate="squarem")

_NEWTON_MAX = 100
_NEWTON_TOL = 1e-13
_QUADRATIC = 1e-6  # Newton decrement below which Q is locally quadratic enough for full steps


@dataclass(frozen=True)
class ExponentialParams:
    coef: np.ndarray  # (p,) coefficients of the log rate, intercept first


@dataclass(frozen=True)
class _Stats(Stats):
    """``E_i`` for every subject: the regression's M-step weighs each
    subject's expected lifetime by its own rate ``exp(x_i' beta)``, so the
    statistics are one entry per subject (with covariates these do not reduce
    to a sum). Statistics of disjoint sets of subjects add when each is laid
    out over all subjects, zero elsewhere."""

    times: np.ndarray  # (n,) E_i, expected lifetimes


class ExponentialModel(EMModel):
    """The EM contract for censored exponential regression (module docstring).

    ``data`` is an :class:`~latentlab.survival._censoring.Intervals`; the design
    matrix ``X`` (n, p) is held by the model.
    """

    params_type = ExponentialParams
    constraints = {"coef": Real()}

    def __init__(self, X: np.ndarray, score_tol: float = 1e-9):
        self.X = X
        self.score_tol = check_positive(score_tol, "score_tol")

    def rate(self, params: ExponentialParams) -> np.ndarray:
        with np.errstate(over="ignore"):
            return np.exp(self.X @ params.coef)

    def initialize(self, data: cens.Intervals, rng: np.random.Generator) -> ExponentialParams:
        """Least-squares fit of ``log(lambda_i)`` to the log of the crude rate
        (:meth:`Intervals.crude_rate`), plus N(0, 0.1^2) jitter for restarts."""
        coef = np.linalg.lstsq(self.X, np.full(data.n, np.log(data.crude_rate())), rcond=None)[0]
        return ExponentialParams(coef + rng.normal(0.0, 0.1, coef.shape))

    def e_step(self, data: cens.Intervals, params: ExponentialParams):
        rate = self.rate(params)
        return _Stats(cens.expected_time(data, rate)), float(np.sum(cens.log_prob(data, rate)))

    def loglik(self, data: cens.Intervals, params: ExponentialParams) -> float:
        return float(np.sum(cens.log_prob(data, self.rate(params))))

    def _q(self, coef: np.ndarray, times: np.ndarray) -> float:
        eta = self.X @ coef
        with np.errstate(over="ignore"):
            return float(np.sum(eta - np.exp(eta) * times))

    def m_step(self, stats: _Stats, current: ExponentialParams, fixed=None) -> ExponentialParams:
        """Newton's method on ``Q(beta)``: gradient ``X'(1 - mu)``, Hessian
        ``-X' diag(mu) X`` with ``mu_i = exp(x_i' beta) E_i``. Far from the
        maximum (Newton decrement ``g' H^{-1} g`` above ``_QUADRATIC``) steps are
        halved until ``Q`` rises; inside that region full steps are taken, since
        there the rise of ``Q`` is below its round-off and cannot be tested."""
        X, times = self.X, stats.times
        coef = current.coef.astype(float)  # Newton starts from the E-step's point
        for _ in range(_NEWTON_MAX):
            mu = np.exp(X @ coef) * times
            grad = X.T @ (1.0 - mu)
            step = np.linalg.solve(X.T @ (X * mu[:, None]), grad)
            if grad @ step > _QUADRATIC:
                q, length = self._q(coef, times), 1.0
                while self._q(coef + length * step, times) < q and length > 1e-12:
                    length /= 2.0
                step = length * step
            coef = coef + step
            if np.max(np.abs(step)) <= _NEWTON_TOL * (1.0 + np.max(np.abs(coef))):
                break
        return ExponentialParams(coef)

    def _score_and_chol(self, data: cens.Intervals, params: ExponentialParams):
        """Score ``X' dlogP/deta`` and the Cholesky factor of ``I = X' diag(-d2logP/deta2) X``."""
        d1, d2 = cens.eta_derivatives(data, self.rate(params))
        info = self.X.T @ (self.X * (-d2)[:, None])
        try:
            chol = np.linalg.cholesky(info)
        except np.linalg.LinAlgError:
            raise NumericalError(
                f"{self.name}: the observed information is not positive definite; no standard errors"
            ) from None
        return self.X.T @ d1, chol

    def is_stationary(self, data: cens.Intervals, params: ExponentialParams, stats: _Stats) -> bool:
        """Newton decrement ``sqrt(U' I^{-1} U) <= score_tol`` (module docstring)."""
        score, chol = self._score_and_chol(data, params)
        return bool(np.linalg.norm(np.linalg.solve(chol, score)) <= self.score_tol)

    def analytic_covariance(self, data: cens.Intervals, params: ExponentialParams) -> np.ndarray:
        """Inverse of the observed information ``I = X' diag(-d2logP/deta2) X``."""
        inv = np.linalg.inv(self._score_and_chol(data, params)[1])
        return inv.T @ inv


def _check_identifiable(data: cens.Intervals) -> None:
    if data.right_censored.all():
        raise ValueError(
            f"all {data.n} observations are right-censored (no event, no finite upper bound): the likelihood "
            "increases as the rate goes to 0, so the MLE is rate 0 with an unbounded mean lifetime; "
            "there is nothing finite to estimate"
        )
    if ((data.lower == 0) & ~data.exact).all():
        raise ValueError(
            f"all {data.n} observations are left-censored at 0 (failed before their upper bound, never seen "
            "alive): the likelihood increases as the rate goes to infinity, so there is no finite MLE"
        )


def _z(level: float) -> float:
    check_level(level)
    return float(sps.norm.ppf(0.5 + level / 2.0))


class CensoredExponential(EMEstimator):
    """Exponential lifetimes (optionally an exponential regression) fitted by EM.

    Three ways to give the data, as in lifelines:

    * ``fit(durations, event_observed)``: right-censored (flag 0: alive at the duration);
    * ``fit_left_censoring(durations, event_observed)``: flag 0 means failed before the duration;
    * ``fit_interval_censoring(lower_bound, upper_bound)``: ``L <= T <= R``; ``L == R`` exact,
      ``R = inf`` right-censored, ``L = 0`` left-censored.

    Each takes ``covariates`` (a DataFrame, Series or array with one row per
    observation) for the log-linear rate ``log(lambda_i) = x_i' beta``; text
    columns are dummy-coded against their first level.

    Parameters
    ----------
    score_tol : the fit also stops only when the Newton decrement (distance
        to the MLE in standard errors) is at most this (module docstring).
    callback : called as ``callback(iteration, params, loglik)`` after each
        EM iteration (``params.coef`` holds the coefficients), e.g. to record
        the iterates.
    tol, max_iter, accelerate, random_state, progress : passed to
        :func:`latentlab.em.fit_em`.

    Attributes (after fit)
    ----------------------
    coef_ : pandas Series of log-rate coefficients (``intercept`` first).
    rate_, mean_, median_ : rate, mean ``1/rate`` and median ``log 2 / rate``
        (without covariates; with covariates use :meth:`predict_rate`).
    n_events_, n_right_censored_, n_left_censored_, n_interval_censored_ : counts.
    result_, loglik_, n_iter_, converged_ : from the engine.

    Example
    -------
    >>> from latentlab.survival import CensoredExponential
    >>> fit = CensoredExponential().fit([6, 6, 6, 7, 10, 13, 16], [1, 1, 1, 0, 1, 1, 0])
    >>> round(fit.rate_, 6)  # 5 events / 64 weeks
    0.078125
    """

    def __init__(
        self,
        *,
        score_tol: float = 1e-9,
        tol: float = _ENGINE["tol"],
        max_iter: int = _ENGINE["max_iter"],
        accelerate: str | None = _ENGINE["accelerate"],
        random_state=None,
        progress: bool | None = _ENGINE["progress"],
        callback=None,
    ):
        self.callback = callback
        self.score_tol = score_tol
        self._set_engine_settings(
            tol=tol, max_iter=max_iter, accelerate=accelerate,
            random_state=random_state, progress=progress,
        )

    # -- fitting ------------------------------------------------------------------
    def fit(self, durations, event_observed=None, covariates=None) -> CensoredExponential:
        """Fit to right-censored durations (``event_observed`` 1 event, 0 censored; None: all events)."""
        return self._fit(cens.from_durations(durations, event_observed), covariates)

    def fit_left_censoring(self, durations, event_observed=None, covariates=None) -> CensoredExponential:
        """Fit to left-censored durations (flag 0: the event happened before the duration)."""
        return self._fit(cens.from_durations(durations, event_observed, left=True), covariates)

    def fit_interval_censoring(self, lower_bound, upper_bound, covariates=None) -> CensoredExponential:
        """Fit to bounds ``lower_bound <= T <= upper_bound`` (``inf`` allowed above)."""
        return self._fit(cens.from_bounds(lower_bound, upper_bound), covariates)

    def _fit(self, data: cens.Intervals, covariates) -> CensoredExponential:
        _check_identifiable(data)
        if covariates is None:
            self.design_ = None
            X, names = np.ones((data.n, 1)), ["intercept"]
        else:
            self.design_ = Design(covariates)
            X, names = self.design_.fit_matrix(covariates, data.n), self.design_.names
        exact, right = data.exact, data.right_censored
        self.n_events_ = int(exact.sum())
        self.n_right_censored_ = int(right.sum())
        self.n_left_censored_ = int(((data.lower == 0) & ~exact).sum())
        self.n_interval_censored_ = int(data.n - self.n_events_ - self.n_right_censored_ - self.n_left_censored_)
        result = self._fit_em(ExponentialModel(X, self.score_tol), data, n_obs=data.n, callback=self.callback)
        self.coef_ = pd.Series(result.params.coef, index=names, name="coef")
        if covariates is None:
            self.rate_ = float(np.exp(result.params.coef[0]))
            self.mean_ = 1.0 / self.rate_
            self.median_ = np.log(2.0) / self.rate_
        return self

    # -- prediction -----------------------------------------------------------------
    def _design_rows(self, covariates) -> np.ndarray:
        self._check_fitted()
        if self.design_ is None:
            if covariates is not None:
                raise ValueError("this model was fitted without covariates; do not pass covariates")
            return np.ones((1, 1))
        if covariates is None:
            raise ValueError("this model was fitted with covariates; pass the covariates to predict at")
        return self.design_.transform(covariates)

    def predict_rate(self, covariates=None) -> np.ndarray:
        """Fitted rate ``exp(x' beta)`` at each row of ``covariates``."""
        return np.exp(self._design_rows(covariates) @ self.coef_.to_numpy())

    def predict_median(self, covariates=None) -> np.ndarray:
        """Median lifetime ``log 2 / rate`` at each row of ``covariates``."""
        return np.log(2.0) / self.predict_rate(covariates)

    def survival_function(self, times, covariates=None, level: float = 0.95) -> pd.DataFrame:
        """``S(t) = exp(-lambda t)`` with a pointwise band from the Wald interval of
        ``log(lambda) = x' beta`` (one covariate row, or none without covariates).

        Columns: survival, ci_lower, ci_upper; index: time.
        """
        x = self._design_rows(covariates)
        if x.shape[0] != 1:
            raise ValueError(f"survival_function takes one covariate row; got {x.shape[0]}")
        t = np.asarray(times, dtype=float).ravel()
        eta = float(x[0] @ self.coef_.to_numpy())
        se = float(np.sqrt(x[0] @ self.covariance_ @ x[0]))
        z = _z(level)
        surv = lambda e: np.exp(-np.exp(e) * t)  # noqa: E731
        return pd.DataFrame(
            {"survival": surv(eta), "ci_lower": surv(eta + z * se), "ci_upper": surv(eta - z * se)},
            index=pd.Index(t, name="time"),
        )

    # -- reporting ------------------------------------------------------------------
    def _parameter_labels(self) -> list[str]:
        return list(self.coef_.index)

    def summary(self, level: float = 0.95) -> pd.DataFrame:
        """lifelines-style table.

        Without covariates: rows ``rate``, ``mean``, ``median`` (estimate,
        std_error by the delta method, Wald interval formed on the log scale).
        With covariates: one row per coefficient with ``estimate`` (the log-rate
        coefficient), ``std_error``, Wald interval, then ``exp(coef)`` (the rate
        ratio), ``z`` and two-sided ``p``.
        """
        self._check_fitted()
        z = _z(level)
        se = np.sqrt(np.diag(self.covariance_))
        coef = self.coef_.to_numpy()
        if self.design_ is None:
            # rate = e^eta, mean = e^-eta, median = log 2 e^-eta: each is c * exp(sign * eta),
            # so its SE is estimate * SE(eta) and its interval moves eta by -/+ z SE(eta)
            eta, s = coef[0], se[0]
            forms = {"rate": (1.0, 1.0), "mean": (1.0, -1.0), "median": (np.log(2.0), -1.0)}
            rows = []
            for name, (c, sign) in forms.items():
                est, ends = c * np.exp(sign * eta), sorted(c * np.exp(sign * (eta + np.array([-z, z]) * s)))
                rows.append({"parameter": name, "estimate": est, "std_error": est * s,
                             "ci_lower": ends[0], "ci_upper": ends[1]})
            return pd.DataFrame(rows)
        zs = coef / se
        return pd.DataFrame(
            {
                "parameter": self.coef_.index,
                "estimate": coef,
                "std_error": se,
                "ci_lower": coef - z * se,
                "ci_upper": coef + z * se,
                "exp(coef)": np.exp(coef),
                "z": zs,
                "p": 2.0 * sps.norm.sf(np.abs(zs)),
            }
        )

    def _summary_header(self) -> list[tuple[str, str]]:
        """The common header plus the censoring counts and the rate's model."""
        censoring = (f"{self.n_events_} exact, {self.n_right_censored_} right-, {self.n_left_censored_} left-, "
                     f"{self.n_interval_censored_} interval-censored")
        model = "intercept" if self.design_ is None else " + ".join(f"{c}" for c in self.coef_.index)
        return [*super()._summary_header(), ("observations by kind", censoring), ("log(rate)", model)]

    def plot_survival(self, ax=None, covariates=None, level: float = 0.95, label: str | None = None):
        """The fitted survival curve with its band and, overlaid, the nonparametric
        estimate of the same data: Kaplan-Meier when all observations are exact or
        right-censored, the Turnbull NPMLE otherwise. Returns the axes."""
        import matplotlib.pyplot as plt

        from .turnbull import Turnbull

        self._check_fitted()
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        data = self._data
        horizon = float(np.max(np.where(np.isinf(data.upper), data.lower, data.upper)))
        sf = self.survival_function(np.linspace(0.0, horizon, 200), covariates, level)
        line = ax.plot(sf.index, sf["survival"], label=label or "exponential (EM)")[0]
        ax.fill_between(sf.index, sf["ci_lower"], sf["ci_upper"], color=line.get_color(), alpha=0.2, lw=0)
        if (data.exact | data.right_censored).all():
            KaplanMeier().fit(data.lower, data.exact).plot(ax, color="k", label="Kaplan-Meier")
        else:
            Turnbull().fit(data.lower, data.upper).plot(ax, color="k", label="Turnbull NPMLE")
        ax.set_xlabel("time")
        ax.set_ylabel("survival probability")
        ax.set_ylim(0.0, 1.02)
        ax.legend()
        return ax
