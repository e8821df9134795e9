"""``LinearGaussianSSM``: the user-facing linear Gaussian state-space model.

Notation and conventions (statsmodels' ``MLEModel`` in other letters: its
``transition``, ``state_intercept``, ``design``, ``obs_intercept``,
``state_cov`` (with ``selection = I``) and ``obs_cov`` are ``A``, ``b``, ``C``,
``d``, ``Q``, ``R`` here, and its ``a1``, ``P1`` are ``mu0``, ``P0``)::

    x_1 ~ N(mu0, P0),  x_t = A x_{t-1} + b + w_t,  y_t = C x_t + d + v_t,
    w_t ~ N(0, Q),     v_t ~ N(0, R).

Each matrix argument is a starting value (``None``: a data-driven start)
except the offsets, where ``None`` means no offset (zero, held). Names listed
in ``fixed`` are held at their given values; a dict of boolean masks holds
single entries. The likelihood, EM and standard errors are in
:mod:`latentlab.statespace.model`.

Variances on the boundary
-------------------------
When the maximum likelihood estimate of a noise variance is 0 (a slope that
never moves, a state noise without variance in some direction), EM only
crawls towards it: the fraction of missing information tends to 1 there, and
EM's steps shrink faster than the distance left (measured on the Nile's local
linear trend: 401 SQUAREM cycles at ``tol=1e-12`` still leave the slope
variance at 0.0036 and the log-likelihood 1e-3 below the maximum). So after EM
stops, the fit tries the boundary points next to it, an active-set step like
the support reduction of the NPMLE: each free variance of a diagonal or
spherical covariance set to 0 and held there. A point whose log-likelihood
(the other parameters as fitted) is at least the fit's is a start for EM
again, and the result is kept if it raises the log-likelihood; this repeats
until no boundary point helps. The trace runs on through these fits. An
estimate on the boundary has no Wald standard error (NaN, with a
:class:`~latentlab.BoundaryWarning`).

A full covariance whose maximum is singular (the unrestricted ``Q`` of a
constant-velocity model fitted to a short track, typically) is approached
at EM's crawl, and no boundary step is tried: setting its smallest
eigenvalue to 0 also freezes the direction of that eigenvector (EM keeps a
null direction of ``Q`` when ``A`` is held), so EM from there finds the best
point of that face, not the maximum. Use a diagonal type, or hold the
covariance's structure, when such a boundary is expected;
``docs/statespace.md`` shows the crawl.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from .._validation import as_array, check_level, check_magnitude, check_observed_columns, check_positive_int
from .._warn import user_stacklevel
from ..em import EMEstimator, EMResult, as_generator, fit_em
from ..em.features import check_feature_names, feature_labels, feature_names, set_feature_names
from ..em.settings import engine_defaults
from ..exceptions import NumericalError
from .model import COVARIANCE_TYPES, LinearGaussianSSMModel, SSMData, SSMParams, diffuse_kappa, ssm_constraints
from .simulate import simulate_ssm

__all__ = ["LinearGaussianSSM", "StateEstimates", "local_level", "local_linear_trend"]

#: engine settings: SQUAREM on and a higher iteration cap, because EM on a
#: state-space model crawls along the ridge where the state and observation
#: noise trade off (the Nile: about 400 plain EM steps, 25 SQUAREM cycles)
_ENGINE = engine_defaults(accelerate="squarem", max_iter=10_000)

FIELDS = ("A", "b", "C", "d", "Q", "R", "mu0", "P0")
INITIAL = ("diffuse", "estimated")
#: what a given value must be, by covariance type (None: not a covariance)
VALID = {
    None: "matrix (finite values)",
    "full": "full covariance matrix (symmetric, positive definite)",
    "diag": "diag covariance matrix (positive variances, zero off the diagonal)",
    "spherical": "spherical covariance matrix (equal positive variances, zero off the diagonal)",
}


@dataclass(frozen=True)
class StateEstimates:
    """State means (T, n_states) and covariances (T, n_states, n_states) from
    the filter or the smoother, with the log-likelihood of the data."""

    means: np.ndarray
    covariances: np.ndarray
    loglik: float

    def std_errors(self) -> np.ndarray:
        """Standard deviations of the state estimates, shape (T, n_states)."""
        return np.sqrt(np.diagonal(self.covariances, axis1=1, axis2=2))

    def plot(self, states=None, time=None, level: float = 0.95, ax=None):
        """Plot the means of ``states`` (indices; all by default) against
        ``time`` (0, 1, ... by default) with their pointwise ``level`` bands.
        Returns the matplotlib axes."""
        import matplotlib.pyplot as plt

        check_level(level)
        T, n = self.means.shape
        states = range(n) if states is None else states
        time = np.arange(T) if time is None else np.asarray(time)
        if time.shape != (T,):
            raise ValueError(f"time must have one value per step ({T}); got shape {time.shape}")
        if ax is None:
            _, ax = plt.subplots(figsize=(8, 3))
        z = sps.norm.ppf(0.5 + level / 2.0)
        se = self.std_errors()
        for i in states:
            line, = ax.plot(time, self.means[:, i], lw=1.0, label=f"state {i}")
            ax.fill_between(time, self.means[:, i] - z * se[:, i], self.means[:, i] + z * se[:, i],
                            color=line.get_color(), alpha=0.2, lw=0)
        ax.set_xlabel("time")
        ax.set_ylabel(f"state (mean, {level:.0%} band)")
        ax.legend(fontsize=8)
        return ax


class LinearGaussianSSM(EMEstimator):
    """Linear Gaussian state-space model fitted by EM with a Kalman-smoother E-step.

    Parameters
    ----------
    n_states : dimension of the state ``x_t``.
    A, b, C, d, Q, R, mu0, P0 : starting values (module docstring); ``b`` and
        ``d`` default to no offset, the others to a data-driven start.
    fixed : names of the matrices held at their given values (e.g.
        ``("A", "C")``), or a dict mapping names to ``True`` or to boolean
        masks of the entries held. A full covariance is held whole or not at
        all; a diagonal one entry by entry.
    Q_type, R_type : ``"full"``, ``"diag"`` or ``"spherical"`` (a variance
        times the identity).
    initial : ``"diffuse"`` (the first state unknown, with a flat prior, as
        statsmodels' exact diffuse initialisation) or ``"estimated"`` (``mu0``
        and ``P0`` estimated unless held).
    tol, max_iter, n_init, accelerate, random_state, progress : the engine's
        settings (:func:`latentlab.em.fit_em`); SQUAREM is on by default.

    Attributes after ``fit``: ``A_, b_, C_, d_, Q_, R_, mu0_, P0_``,
    ``loglik_``, ``n_iter_``, ``converged_``, ``result_`` (with the trace),
    ``empty_sequences_`` (indices of sequences without any observed value).
    """

    _allow_nan = True

    def __init__(self, n_states=1, *, A=None, b=None, C=None, d=None, Q=None, R=None, mu0=None, P0=None,
                 fixed=(), Q_type="full", R_type="full", initial="diffuse",
                 tol=_ENGINE["tol"], max_iter=_ENGINE["max_iter"], n_init=_ENGINE["n_init"],
                 accelerate=_ENGINE["accelerate"], random_state=_ENGINE["random_state"],
                 progress=_ENGINE["progress"]):
        self.n_states = n_states
        self.A, self.b, self.C, self.d, self.Q, self.R, self.mu0, self.P0 = A, b, C, d, Q, R, mu0, P0
        self.fixed = fixed
        self.Q_type = Q_type
        self.R_type = R_type
        self.initial = initial
        self._set_engine_settings(tol=tol, max_iter=max_iter, n_init=n_init, accelerate=accelerate,
                                  random_state=random_state, progress=progress)

    # -- checks ------------------------------------------------------------------------
    def _check_settings(self) -> None:
        check_positive_int(self.n_states, "n_states")
        for name in ("Q_type", "R_type"):
            if getattr(self, name) not in COVARIANCE_TYPES:
                raise ValueError(f"{name} must be one of {COVARIANCE_TYPES}; got {getattr(self, name)!r}")
        if self.initial not in INITIAL:
            raise ValueError(f"initial must be one of {INITIAL}; got {self.initial!r}")
        if self.initial == "diffuse" and (self.mu0 is not None or self.P0 is not None):
            raise ValueError("mu0 and P0 are parameters of initial='estimated'; a diffuse start has neither")

    def _validate_Y(self, Y) -> np.ndarray:
        Y = as_array(Y, "Y", ndim=(1, 2))
        if Y.ndim == 1:
            Y = Y[:, None]
        if Y.shape[0] == 0 or Y.shape[1] == 0:
            raise ValueError(f"Y is empty (shape {Y.shape}); it needs at least one time step and one series")
        if np.isinf(Y).any():
            raise ValueError("Y has an infinite value; NaN marks a missing value, inf is not allowed")
        if np.isnan(Y).all():
            raise ValueError("Y has every value missing (NaN): there is nothing to fit")
        return check_magnitude(Y, "Y")

    def _shapes(self, p: int) -> dict[str, tuple[int, ...]]:
        n = self.n_states
        return dict(A=(n, n), b=(n,), C=(p, n), d=(p,), Q=(n, n), R=(p, p), mu0=(n,), P0=(n, n))

    def _start(self, p: int) -> dict[str, np.ndarray]:
        """The given starting values, checked for shape and space."""
        constraints = ssm_constraints(self.Q_type, self.R_type)
        start = {}
        for name, shape in self._shapes(p).items():
            value = getattr(self, name)
            if value is None:
                continue
            arr = as_array(value, name)
            if arr.size == 1 and int(np.prod(shape)) == 1:
                arr = arr.reshape(shape)
            if arr.shape != shape:
                raise ValueError(f"{name} must have shape {shape} (n_states={self.n_states}, {p} series); got {arr.shape}")
            if not _strictly_inside(constraints[name], arr):
                kind = {"Q": self.Q_type, "R": self.R_type, "P0": "full"}.get(name)
                raise ValueError(f"{name} is not a valid {VALID[kind]}: {arr.tolist()}")
            start[name] = arr
        for name in ("b", "d"):
            start.setdefault(name, np.zeros(self._shapes(p)[name]))
        return start

    def _held(self, diffuse: bool, p: int) -> SSMParams:
        """The engine's mask: the user's ``fixed`` (checked) plus the structure."""
        structure = self._structure_mask(diffuse, p)
        return SSMParams(**{f: getattr(structure, f) | mask for f, mask in self._user_mask(p).items()})

    def _user_mask(self, p: int) -> dict[str, np.ndarray]:
        """The entries ``fixed`` holds, by field, checked against the covariance types."""
        held = {f: np.zeros(shape, dtype=bool) for f, shape in self._shapes(p).items()}
        fixed = self.fixed
        if isinstance(fixed, str) or not isinstance(fixed, (Mapping, list, tuple, set, frozenset)):
            raise TypeError(f"fixed must be a tuple of names or a dict of masks; got {fixed!r}")
        items = fixed.items() if isinstance(fixed, Mapping) else ((name, True) for name in fixed)
        for name, mask in items:
            if name not in FIELDS:
                raise ValueError(f"fixed names unknown parameter {name!r}; the parameters are {FIELDS}")
            if getattr(self, name) is None:
                raise ValueError(f"fixed holds {name} but no value was given: pass {name}=... with the value to hold")
            mask = np.broadcast_to(np.asarray(mask), held[name].shape) if np.ndim(mask) == 0 else np.asarray(mask)
            if mask.dtype != bool or mask.shape != held[name].shape:
                raise ValueError(f"fixed[{name!r}] must be True or a boolean mask of shape {held[name].shape}")
            held[name] = held[name] | mask
        for name, kind in (("Q", self.Q_type), ("R", self.R_type), ("P0", "full")):
            if kind == "full" and held[name].any() and not held[name].all():
                raise ValueError(
                    f"{name} is a full covariance: it is held whole or not at all (a covariance with some entries "
                    "held has no closed-form M-step); use a diagonal type to hold single variances"
                )
            diag = np.diag(held[name])
            if kind == "spherical" and diag.any() and not diag.all():
                raise ValueError(f"{name} is spherical (one variance): hold it whole or not at all")
        return held

    def _structure_mask(self, diffuse: bool, p: int) -> SSMParams:
        """The entries held by the model's structure, not by ``fixed``: absent
        offsets, the zeros off a diagonal or spherical covariance, and the
        start of a diffuse model."""
        mask = {f: np.zeros(shape, dtype=bool) for f, shape in self._shapes(p).items()}
        for name in ("b", "d"):
            mask[name][:] = getattr(self, name) is None
        for name, kind in (("Q", self.Q_type), ("R", self.R_type)):
            if kind != "full":
                mask[name] = ~np.eye(mask[name].shape[0], dtype=bool)
        if diffuse:
            mask["mu0"][:] = True
            mask["P0"][:] = True
        return SSMParams(**mask)

    # -- fitting ------------------------------------------------------------------------
    def _as_data(self, Y, lengths) -> SSMData:
        return SSMData.build(self._validate_Y(Y), lengths)

    def fit(self, Y, lengths=None):
        """Estimate the parameters by EM from ``Y`` (T, p), NaN for missing
        values, one or several sequences stored end to end (``lengths``).

        A sequence with every value missing has likelihood 1 under any
        parameters, so it does not enter the fit; it is kept (``smooth`` and
        ``filter`` give its prediction) and reported in ``empty_sequences_``
        with a warning.
        """
        self._check_settings()
        names = feature_names(Y)
        data = self._as_data(Y, lengths)
        check_observed_columns(data.Y, "Y")
        empty = [s for s in range(data.n_sequences) if not data.sequence(s).observed.any()]
        if empty:
            warnings.warn(
                f"LinearGaussianSSM: sequence(s) {empty} have every value missing; they carry no information "
                "and do not enter the fit (kept: smooth() and filter() give their prediction)",
                UserWarning, stacklevel=user_stacklevel(),
            )
        fit_data = _drop_sequences(data, empty)
        p = data.Y.shape[1]
        kappa = diffuse_kappa(fit_data) if self.initial == "diffuse" else None
        model = LinearGaussianSSMModel(self.n_states, p, self.Q_type, self.R_type, kappa, self._start(p))
        fixed = self._held(model.diffuse, p)
        if self.initial == "estimated" and not fixed.P0.all() and fit_data.n_sequences < 2:
            raise ValueError(
                "P0 cannot be estimated from a single sequence (its maximum likelihood estimate collapses to 0): "
                "give P0 and hold it (fixed=('P0',)), or use initial='diffuse'"
            )
        if not fixed.C.all() and not fixed.Q.all():
            warnings.warn(
                "LinearGaussianSSM: C and Q are both estimated, so the states' scale and basis are not identified "
                "(x -> T x, C -> C T^-1, Q -> T Q T' gives the same likelihood): EM may drift along that ridge and "
                "there are no standard errors; hold C (a known design) or Q (e.g. Q=np.eye(n_states), "
                "fixed=('Q',)) to pin the states down",
                UserWarning, stacklevel=user_stacklevel(),
            )
        self._fit_em(model, fit_data, n_obs=float(np.count_nonzero(fit_data.observed.any(axis=1))), fixed=fixed)
        self.result_ = self._boundary_step(model, fit_data, self.result_)
        for f in FIELDS:
            setattr(self, f + "_", getattr(self.result_.params, f))
        self.empty_sequences_ = empty
        self._fitted = data
        set_feature_names(self, names, p)
        return self

    def _boundary_step(self, model: LinearGaussianSSMModel, data: SSMData, result: EMResult) -> EMResult:
        """EM again from boundary points while that raises the log-likelihood
        (module docstring, "Variances on the boundary")."""
        settings = {**self._engine_settings(), "n_init": 1}
        mask = result.fixed
        for _ in range(2 * (model.n_states + model.n_obs)):
            for start, start_mask in self._boundary_points(result.params, mask):
                try:
                    if model.loglik(data, start) < result.loglik:
                        continue
                    refit = fit_em(model, data, init_params=start, fixed=start_mask, **settings)
                except NumericalError:  # e.g. a zero observation variance the filter cannot invert
                    continue
                if refit.loglik > result.loglik:
                    result, mask = result.followed_by(refit), start_mask
                    break
            else:
                break
        return result

    def _boundary_points(self, params: SSMParams, fixed: SSMParams):
        """``(params, fixed)`` with one free variance of a diagonal or
        spherical covariance set to 0 and held."""
        for name, kind in (("Q", self.Q_type), ("R", self.R_type)):
            S, held = getattr(params, name), getattr(fixed, name)
            if held.all():
                continue
            if kind == "full":  # the boundary is a singular matrix: see the module docstring
                continue
            diag = np.diag(S)
            for i in np.flatnonzero(~np.diag(held) & (diag > 0)):
                zeroed, mask = S.copy(), held.copy()
                zeroed[i, i] = 0.0
                mask[i, i] = True
                if kind == "spherical":
                    zeroed, mask = np.zeros_like(S), np.ones_like(held)
                yield dataclasses.replace(params, **{name: zeroed}), dataclasses.replace(fixed, **{name: mask})
                if kind == "spherical":
                    break

    # -- use --------------------------------------------------------------------------
    def _use_data(self, Y, lengths) -> SSMData:
        self._check_fitted()
        if Y is None:
            if lengths is not None:
                raise ValueError("lengths is given without Y; pass both, or neither to use the fitted data")
            return self._fitted
        check_feature_names(self, Y)
        data = self._as_data(Y, lengths)
        if data.Y.shape[1] != self.n_features_in_:
            raise ValueError(f"Y has {data.Y.shape[1]} series but the model was fitted to {self.n_features_in_}")
        return data

    def score(self, Y, lengths=None) -> float:
        """Log-likelihood of ``Y`` under the fitted model (diffuse log-likelihood
        for a diffuse start)."""
        return float(self.model_.loglik(self._use_data(Y, lengths), self.result_.params))

    def filter(self, Y=None, lengths=None) -> StateEstimates:
        """Filtered states ``E[x_t | y_1..y_t]`` and their covariances (the
        fitted data by default)."""
        data = self._use_data(Y, lengths)
        ll, _, _, xf, Pf = self.model_.filter(data, self.result_.params)
        return StateEstimates(xf, Pf, float(ll))

    def smooth(self, Y=None, lengths=None) -> StateEstimates:
        """Smoothed states ``E[x_t | all of y]`` and their covariances (RTS
        smoother; the fitted data by default)."""
        data = self._use_data(Y, lengths)
        _, ll, xs, Ps = self.model_.smooth(data, self.result_.params)
        return StateEstimates(xs, Ps, float(ll))

    def forecast(self, steps: int, Y=None, lengths=None, level: float = 0.95) -> pd.DataFrame:
        """Forecasts of ``y`` for ``steps`` steps after the end of the last
        sequence (of the fitted data, or of ``Y``): one row per step and
        series with the mean, its standard error and the ``level`` prediction
        interval (normal; the parameters' own uncertainty is not included)."""
        check_positive_int(steps, "steps")
        check_level(level)
        data = self._use_data(Y, lengths)
        p = self.result_.params
        _, _, _, xf, Pf = self.model_.filter(data, p)
        x, P = xf[-1], Pf[-1]
        z = sps.norm.ppf(0.5 + level / 2.0)
        rows = []
        labels = feature_labels(self)
        for h in range(1, steps + 1):
            x = p.A @ x + p.b
            P = p.A @ P @ p.A.T + p.Q
            mean = p.C @ x + p.d
            se = np.sqrt(np.diag(p.C @ P @ p.C.T + p.R))
            rows.extend(
                dict(step=h, series=labels[j], mean=mean[j], std_error=se[j],
                     ci_lower=mean[j] - z * se[j], ci_upper=mean[j] + z * se[j])
                for j in range(mean.size)
            )
        return pd.DataFrame(rows)

    def sample(self, n_steps: int, random_state=None, initial_state=None) -> tuple[np.ndarray, np.ndarray]:
        """One sequence of ``n_steps`` from the fitted model: ``(states, Y)``.

        The first state is ``initial_state`` if given; else a draw from
        ``N(mu0, P0)`` for an estimated start, or the smoothed first state of
        the fitted data for a diffuse one (which has no distribution to draw
        from)."""
        self._check_fitted()
        check_positive_int(n_steps, "n_steps")
        p = self.result_.params
        if initial_state is None and self.model_.diffuse:
            initial_state = self.smooth().means[0]
        return simulate_ssm(p.A, p.C, p.Q, p.R, n_steps, b=p.b, d=p.d, mu0=p.mu0, P0=p.P0,
                            initial_state=initial_state, random_state=as_generator(random_state))

    # -- inference ------------------------------------------------------------------------
    def _shown(self) -> np.ndarray:
        """Summary rows: the free and user-held entries, the lower triangle of
        a covariance, no structural zeros and no diffuse start."""
        structure = self._structure_mask(self.model_.diffuse, self.n_features_in_)
        shown = []
        for f in FIELDS:
            keep = ~getattr(structure, f)
            if f in ("Q", "R", "P0"):
                keep &= np.tril(np.ones(keep.shape, dtype=bool))
            shown.append(keep.ravel())
        return np.concatenate(shown)

    def summary(self, level: float = 0.95, max_filter_steps: float = 2e9) -> pd.DataFrame:
        """Estimates, standard errors (observed information: the numerical
        Hessian of the Kalman log-likelihood) and Wald intervals of the
        parameters, without the structural zeros, the upper triangles of the
        covariances, and the start of a diffuse model.

        The Hessian costs about ``2 k^2`` filter passes for ``k`` free
        parameters; when that is more than ``max_filter_steps`` time steps of
        filtering (minutes on one core), this raises instead of running for a
        long time (raise the limit to insist)."""
        self._check_fitted()
        k, T = self.n_parameters_, self._data.Y.shape[0]
        if 2 * k * k * T > max_filter_steps:
            raise ValueError(
                f"summary() would take a numerical Hessian in {k} free parameters: about {2 * k * k} Kalman filter "
                f"passes over {T} steps, above max_filter_steps={max_filter_steps:g}. Pass a larger "
                "max_filter_steps to run it anyway, hold some parameters fixed, or use a shorter stretch of data"
            )
        table = super().summary(level)
        return table[self._shown()].reset_index(drop=True)

    def _parameter_labels(self) -> list[str]:
        return self.model_.space.labels(self.result_.params, feature_labels(self), {"C": (0,), "d": (0,), "R": (0, 1)})


def _strictly_inside(constraint, value: np.ndarray) -> bool:
    """Valid, with no variance of a covariance at 0 (a start or a held value
    must not sit on the boundary)."""
    if not constraint.is_valid(value):
        return False
    return value.ndim != 2 or bool(np.all(np.diag(constraint.interior(value))))


def _drop_sequences(data: SSMData, drop: list[int]) -> SSMData:
    """``data`` without the sequences ``drop``."""
    if not drop:
        return data
    keep = [s for s in range(data.n_sequences) if s not in drop]
    parts = [data.sequence(s) for s in keep]
    lengths = [part.Y.shape[0] for part in parts]
    return SSMData.build(np.concatenate([part.Y for part in parts]), lengths)


def local_level(**kwargs) -> LinearGaussianSSM:
    """The local-level model ``y_t = mu_t + v_t``, ``mu_t = mu_{t-1} + w_t``
    (statsmodels' ``UnobservedComponents(y, "local level")``): one state,
    ``A = C = 1`` held, variances ``Q`` (level) and ``R`` (irregular)
    estimated (``"diag"`` type, so their intervals are on the log scale),
    diffuse start. Keyword arguments go to :class:`LinearGaussianSSM`."""
    settings = dict(A=np.eye(1), C=np.eye(1), fixed=("A", "C"), Q_type="diag", R_type="diag")
    return LinearGaussianSSM(1, **{**settings, **kwargs})


def local_linear_trend(**kwargs) -> LinearGaussianSSM:
    """The local linear trend ``y_t = mu_t + v_t``, ``mu_t = mu_{t-1} + beta_{t-1}
    + w_t``, ``beta_t = beta_{t-1} + zeta_t`` (statsmodels' ``"local linear
    trend"``): states (level, slope), ``A = [[1, 1], [0, 1]]`` and ``C = [1, 0]``
    held, independent level and slope disturbances (``Q_type="diag"``),
    diffuse start. Keyword arguments go to :class:`LinearGaussianSSM`."""
    settings = dict(A=np.array([[1.0, 1.0], [0.0, 1.0]]), C=np.array([[1.0, 0.0]]), fixed=("A", "C"), Q_type="diag")
    return LinearGaussianSSM(2, **{**settings, **kwargs})
