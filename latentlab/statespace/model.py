"""Linear Gaussian state-space model on the EM engine (Shumway & Stoffer 1982;
Ghahramani & Hinton 1996).

Model, per independent sequence (:mod:`latentlab.statespace._kalman`)::

    x_1 ~ N(mu0, P0),  x_t = A x_{t-1} + b + w_t,  y_t = C x_t + d + v_t,
    w_t ~ N(0, Q),     v_t ~ N(0, R).

The complete data are the states and every coordinate of every ``y_t``
(missing ones included). With ``z = (x, 1)``, ``B = [A b]`` and ``D = [C d]``
the expected complete-data log-likelihood depends on the data through

    Szz = sum_{t<T} E[z_t z_t'],  Sxz = sum_{t>1} E[x_t z_{t-1}'],
    Sxx = sum_{t>1} E[x_t x_t'],  n_trans = sum_s (T_s - 1),
    Szo = sum_t E[z_t z_t'],      Syz = sum_t E[y_t z_t'],
    Syy = sum_t E[y_t y_t'],      n_steps = sum_s T_s,
    x1 = sum_s E[x_1],            X11 = sum_s E[x_1 x_1'],   n_seq,

all conditional on the observed values (E-step: the Kalman filter and RTS
smoother; the missing coordinates of ``y_t`` through their Gaussian
conditional given ``x_t`` and the observed ones, Shumway & Stoffer 1982,
sec. 3). Summed over sequences, these add.

M-step (complete-data MLE; Shumway & Stoffer 2017, *Time Series Analysis and
Its Applications*, Property 6.8; Ghahramani & Hinton 1996, eqs. 10-16):

    B = Sxz Szz^{-1},   Q = (Sxx - B Sxz' - Sxz B' + B Szz B') / n_trans,
    D = Syz Szo^{-1},   R = (Syy - D Syz' - Syz D' + D Szo D') / n_steps,
    mu0 = x1 / n_seq,   P0 = X11 / n_seq - mu0 mu0'.

A diagonal covariance keeps the diagonal of that matrix and a spherical one
its mean diagonal entry times the identity (the maximisers under those
structures). When some entries of ``B`` (or ``D``) are held fixed, the free
ones solve the generalised least-squares equations with the current ``Q``
(or ``R``), ``[(Szz (x) Q^{-1}) vec B]_free = [vec(Q^{-1} Sxz)]_free``, and the
covariance is then updated given the new ``B``: a conditional maximisation
(ECM; Meng & Rubin 1993), which keeps EM's monotone ascent. Without held
entries, or with a diagonal covariance, that solution is the exact joint
maximiser.

A **diffuse** initial state (the default for the estimator) is
``x_1 ~ N(mu0, kappa I)`` with ``mu0`` the first observed value of each
series mapped through ``C`` (held, not estimated) and ``kappa`` 10^6 times the largest variance of
the first differences of an observed series (:func:`diffuse_kappa`: the scale
of one step's change, which keeps the round-off of the filter's first steps,
of relative size ``1e-16 kappa / Var(y_t | x_t)``, far below the guard's
allowance even for a trending series); its log-likelihood is reported as ``log L_kappa + (n/2) log
kappa`` per sequence, the quantity whose limit as ``kappa -> infinity`` is
Durbin & Koopman's diffuse log-likelihood (2012, sec. 5.2 and 7.2.2). The
gap to the limit is of order ``(y_1 - C mu0 - d)' (y_1 - C mu0 - d) / kappa``,
which the centring keeps small; against statsmodels' exact diffuse filter it
is measured in the tests. The limit exists only when the data determine the
first state: a sequence that ends with a state variance above
:data:`UNRESOLVED` times ``kappa`` (a direction ``C`` does not see) raises
:class:`~latentlab.NumericalError` instead of returning a log-likelihood
that is off by ``log kappa``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import check_lengths
from ..em import DiagonalCovariance, EMModel, PositiveDefinite, Real, Stats
from ..exceptions import NumericalError
from . import _kalman

__all__ = ["SSMParams", "SSMData", "SSMStats", "LinearGaussianSSMModel", "COVARIANCE_TYPES", "DIFFUSE_FACTOR", "diffuse_kappa", "step_variances",
           "ssm_constraints"]

COVARIANCE_TYPES = ("full", "diag", "spherical")
#: kappa of the diffuse start, relative to the scale of the observed series (:func:`diffuse_kappa`)
DIFFUSE_FACTOR = 1e6
#: a diffuse start is unresolved when a state variance at a sequence's end exceeds this share of kappa
UNRESOLVED = 1e-4


@dataclass(frozen=True)
class SSMParams:
    A: np.ndarray  # (n, n) transition matrix
    b: np.ndarray  # (n,) state offset
    C: np.ndarray  # (p, n) observation matrix
    d: np.ndarray  # (p,) observation offset
    Q: np.ndarray  # (n, n) state noise covariance
    R: np.ndarray  # (p, p) observation noise covariance
    mu0: np.ndarray  # (n,) mean of the first state
    P0: np.ndarray  # (n, n) covariance of the first state


@dataclass(frozen=True)
class SSMData:
    """Observations ``Y`` (T, p) with NaN for missing values, the mask of
    observed values, and sequence boundaries ``bounds`` (sequence s is
    ``Y[bounds[s]:bounds[s+1]]``)."""

    Y: np.ndarray
    observed: np.ndarray
    bounds: np.ndarray

    @classmethod
    def build(cls, Y: np.ndarray, lengths=None) -> SSMData:
        starts, ends = check_lengths(lengths, Y.shape[0])
        bounds = np.append(starts, ends[-1]).astype(np.int64)
        observed = ~np.isnan(Y)
        return cls(np.ascontiguousarray(Y, dtype=float), np.ascontiguousarray(observed), bounds)

    @property
    def n_sequences(self) -> int:
        return self.bounds.size - 1

    def sequence(self, s: int) -> SSMData:
        """Sequence ``s`` alone."""
        lo, hi = self.bounds[s], self.bounds[s + 1]
        return SSMData(self.Y[lo:hi], self.observed[lo:hi], np.array([0, hi - lo], dtype=np.int64))


@dataclass(frozen=True)
class SSMStats(Stats):
    Szz: np.ndarray
    Sxz: np.ndarray
    Sxx: np.ndarray
    n_trans: float
    Szo: np.ndarray
    Syz: np.ndarray
    Syy: np.ndarray
    n_steps: float
    x1: np.ndarray
    X11: np.ndarray
    n_seq: float


def _first_observed(Y: np.ndarray) -> np.ndarray:
    """The first observed value of each series (columns with none: 0)."""
    seen = ~np.isnan(Y)
    first = np.argmax(seen, axis=0)
    return np.where(seen.any(axis=0), Y[first, np.arange(Y.shape[1])], 0.0)


def step_variances(data: SSMData) -> np.ndarray:
    """Per series, the variance of its first differences within sequences (the
    scale of one step's change; the variance of the series itself where no two
    consecutive values are observed, 0 where fewer than two are)."""
    Y = data.Y
    same = np.ones(max(Y.shape[0] - 1, 0), dtype=bool)
    same[data.bounds[1:-1] - 1] = False  # pairs that straddle two sequences
    out = np.zeros(Y.shape[1])
    for j in range(Y.shape[1]):
        steps = np.diff(Y[:, j])[same]
        steps = steps[~np.isnan(steps)]
        values = Y[~np.isnan(Y[:, j]), j]
        out[j] = np.var(steps) if steps.size > 1 else np.var(values) if values.size > 1 else 0.0
    return out


def diffuse_kappa(data: SSMData) -> float:
    """``kappa`` of a diffuse start for ``data``: :data:`DIFFUSE_FACTOR` times the
    largest of the :func:`step_variances` (1 if they are all 0)."""
    largest = float(np.max(step_variances(data)))
    return DIFFUSE_FACTOR * (largest if largest > 0 else 1.0)


def covariance_constraint(kind: str):
    """The constraint of a noise covariance of type ``kind`` (see
    :data:`COVARIANCE_TYPES`); a zero variance of a diagonal one is a valid
    boundary value, which the estimator's boundary step may reach."""
    if kind == "full":
        return PositiveDefinite()
    return DiagonalCovariance(spherical=kind == "spherical")


def ssm_constraints(Q_type: str, R_type: str) -> dict:
    """The constraint of each field of :class:`SSMParams`."""
    return {
        "A": Real(), "b": Real(), "C": Real(), "d": Real(),
        "Q": covariance_constraint(Q_type), "R": covariance_constraint(R_type),
        "mu0": Real(), "P0": PositiveDefinite(),
    }


class LinearGaussianSSMModel(EMModel):
    """The EM contract of the linear Gaussian state-space model (module docstring).

    ``start`` holds starting values (a dict of arrays, any subset of the
    fields); ``kappa`` is the diffuse scale, or None for an initial state
    ``N(mu0, P0)`` with its own parameters.
    """

    params_type = SSMParams

    def __init__(self, n_states: int, n_obs: int, Q_type: str = "full", R_type: str = "full",
                 kappa: float | None = None, start: dict | None = None):
        self.n_states = n_states
        self.n_obs = n_obs
        self.Q_type = Q_type
        self.R_type = R_type
        self.kappa = kappa
        self.start = dict(start or {})
        self.constraints = ssm_constraints(Q_type, R_type)

    @property
    def diffuse(self) -> bool:
        return self.kappa is not None

    # -- start ---------------------------------------------------------------------------
    def initialize(self, data: SSMData, rng: np.random.Generator) -> SSMParams:
        """Given starting values, and for the others: ``C`` the leading
        principal axes of the observations (random directions beyond their
        number), ``A = 0.9 I``, ``d`` the series means, ``b = 0``, ``R`` half
        and ``Q`` a tenth of the variances of one step's change
        (:func:`step_variances`: for a trending series the variance of the
        series itself says nothing about its noise), ``mu0`` the first
        observations mapped through ``C``; each perturbed by ``rng`` so that
        restarts differ."""
        n, p = self.n_states, self.n_obs
        Y = data.Y
        mean = np.nanmean(Y, axis=0)
        var = np.nanvar(Y, axis=0)
        var = np.where(var > 0, var, 1.0)
        step = step_variances(data)
        step = np.where(step > 0, step, var)
        s = self.start
        C = s.get("C")
        if C is None:
            filled = np.where(np.isnan(Y), mean, Y) - mean
            _, _, vt = np.linalg.svd(filled[: min(len(filled), 10_000)], full_matrices=False)
            C = np.zeros((p, n))
            k = min(n, p)
            C[:, :k] = vt[:k].T * np.sqrt(var.mean())
            C += 0.1 * np.sqrt(var.mean()) * rng.standard_normal((p, n))
        A = s["A"] if "A" in s else 0.9 * np.eye(n) + 0.05 * rng.standard_normal((n, n))
        d = s.get("d", mean * (1 + 0.01 * rng.standard_normal(p)))
        b = s.get("b", np.zeros(n))
        R = s.get("R", _structured(np.diag(0.5 * step), self.R_type))
        gain = max(np.mean(np.square(C)) * n, 1e-300)  # from state to observation scale
        Q = s.get("Q", _structured(0.1 * step.mean() / gain * np.eye(n), self.Q_type))
        scale = var.mean() / gain
        centre = np.linalg.lstsq(C, _first_observed(Y) - d, rcond=None)[0]
        if self.diffuse:  # centred on the data: the limit is approached as (y_1 - C mu0 - d)^2 / kappa
            mu0, P0 = centre, self.kappa * np.eye(n)
        else:
            mu0, P0 = s.get("mu0", centre), s.get("P0", scale * np.eye(n))
        return SSMParams(*(np.array(v, dtype=float) for v in (A, b, C, d, Q, R, mu0, P0)))

    # -- E-step ------------------------------------------------------------------------------
    def _offset(self, data: SSMData) -> float:
        """``(n/2) log kappa`` per sequence with an observed value, for a
        diffuse start (module docstring); a sequence with none has likelihood 1."""
        if not self.diffuse:
            return 0.0
        seen = np.logical_or.reduceat(data.observed.any(axis=1), data.bounds[:-1])
        return 0.5 * self.n_states * np.log(self.kappa) * int(np.count_nonzero(seen))

    def filter(self, data: SSMData, params: SSMParams, store: bool = True):
        """Kalman filter: ``(loglik, xp, Pp, xf, Pf)`` (predicted and filtered
        means and covariances; length-1 placeholders without ``store``)."""
        T, n = data.Y.shape[0], self.n_states
        size = T if store else 1
        xp, xf = np.empty((size, n)), np.empty((size, n))
        Pp, Pf = np.empty((size, n, n)), np.empty((size, n, n))
        p = params
        unresolved = UNRESOLVED * self.kappa if self.diffuse else np.inf
        ll, bad, vague = _kalman.kalman_filter(data.Y, data.observed, data.bounds, p.A, p.b, p.C, p.d, p.Q, p.R,
                                               p.mu0, p.P0, store, xp, Pp, xf, Pf, unresolved)
        if bad >= 0:
            raise NumericalError(
                f"{self.name}: the innovation covariance at time step {bad} is not positive definite "
                "(R or the predicted state covariance has collapsed)"
            )
        if vague >= 0:
            raise NumericalError(
                f"{self.name}: under a diffuse start the data of sequence {vague} do not determine the state: its "
                f"variance at the sequence's end is still above {UNRESOLVED:g} of the diffuse variance (some state "
                "direction is not observed through C, or C has nearly lost rank while being estimated). Hold C "
                "(or enough of it), use fewer states, or use initial='estimated'"
            )
        return ll + self._offset(data), xp, Pp, xf, Pf

    def smooth(self, data: SSMData, params: SSMParams, keep: bool = True):
        """Filter and RTS smoother: ``(stats, loglik, xs, Ps)``."""
        ll, xp, Pp, xf, Pf = self.filter(data, params)
        n, p = self.n_states, self.n_obs
        T = data.Y.shape[0]
        size = T if keep else 1
        xs, Ps = np.empty((size, n)), np.empty((size, n, n))
        arrays = dict(Szz=np.zeros((n + 1, n + 1)), Sxz=np.zeros((n, n + 1)), Sxx=np.zeros((n, n)),
                      Syy=np.zeros((p, p)), Syz=np.zeros((p, n + 1)), Szo=np.zeros((n + 1, n + 1)),
                      x1=np.zeros(n), X11=np.zeros((n, n)))  # in the kernel's argument order
        a = params
        bad = _kalman.smoother_stats(data.Y, data.observed, data.bounds, a.A, a.C, a.d, a.R, xp, Pp, xf, Pf,
                                     keep, xs, Ps, *arrays.values())
        if bad >= 0:
            raise NumericalError(f"{self.name}: the predicted state covariance at time step {bad} is not positive definite")
        n_seq = data.n_sequences
        stats = SSMStats(n_trans=float(T - n_seq), n_steps=float(T), n_seq=float(n_seq), **arrays)
        return stats, ll, xs, Ps

    def e_step(self, data: SSMData, params: SSMParams):
        stats, ll, _, _ = self.smooth(data, params, keep=False)
        return stats, ll

    def loglik(self, data: SSMData, params: SSMParams) -> float:
        return self.filter(data, params, store=False)[0]

    # -- M-step -----------------------------------------------------------------------------
    def m_step(self, stats: SSMStats, current: SSMParams, fixed=None) -> SSMParams:
        n = self.n_states
        held = fixed is not None
        if stats.n_trans > 0:
            B = _regression(stats.Sxz, stats.Szz, np.column_stack([current.A, current.b]),
                            np.column_stack([fixed.A, fixed.b]) if held else None, current.Q)
            Q = _structured(_residual(stats.Sxx, stats.Sxz, stats.Szz, B) / stats.n_trans, self.Q_type)
        else:  # sequences of length 1 carry no information on the dynamics
            B, Q = np.column_stack([current.A, current.b]), current.Q
        D = _regression(stats.Syz, stats.Szo, np.column_stack([current.C, current.d]),
                        np.column_stack([fixed.C, fixed.d]) if held else None, current.R)
        R = _structured(_residual(stats.Syy, stats.Syz, stats.Szo, D) / stats.n_steps, self.R_type)
        if self.diffuse:
            mu0, P0 = current.mu0, current.P0
        else:
            mu0 = stats.x1 / stats.n_seq
            P0 = stats.X11 / stats.n_seq - np.outer(mu0, mu0)
            P0 = 0.5 * (P0 + P0.T)
        # C-ordered copies: the regressions come back in Fortran order, and the compiled filter would
        # otherwise be compiled a second time for that layout
        return SSMParams(A=np.ascontiguousarray(B[:, :n]), b=B[:, n].copy(), C=np.ascontiguousarray(D[:, :n]),
                         d=D[:, n].copy(), Q=Q, R=R, mu0=mu0, P0=P0)


def _structured(S: np.ndarray, kind: str) -> np.ndarray:
    """The maximiser of the Gaussian likelihood with scatter ``S`` under a
    covariance structure: ``S`` itself, its diagonal, or its mean diagonal
    entry times the identity."""
    if kind == "full":
        return 0.5 * (S + S.T)
    if kind == "diag":
        return np.diag(np.diag(S))
    return np.eye(S.shape[0]) * np.mean(np.diag(S))


def _residual(Syy, Syz, Szz, B) -> np.ndarray:
    """``Syy - B Syz' - Syz B' + B Szz B'``: the expected residual scatter."""
    BSyz = B @ Syz.T
    return Syy - BSyz - BSyz.T + B @ Szz @ B.T


def _regression(Syz, Szz, B_current, fixed, Sigma) -> np.ndarray:
    """Maximiser over the free entries of ``B`` of
    ``-1/2 tr(Sigma^{-1} (Syy - B Syz' - Syz B' + B Szz B'))`` (module docstring)."""
    free = np.ones(B_current.shape, dtype=bool) if fixed is None else ~np.asarray(fixed, dtype=bool)
    if not free.any():
        return B_current
    try:
        if free.all():
            return np.linalg.solve(Szz, Syz.T).T
        W = np.linalg.inv(Sigma)
        K = np.kron(Szz, W)  # acts on vec(B), column-major
        g = (W @ Syz).ravel(order="F")
        beta = B_current.ravel(order="F").copy()
        f = free.ravel(order="F")
        rhs = g[f] - K[np.ix_(f, ~f)] @ beta[~f]
        beta[f] = np.linalg.solve(K[np.ix_(f, f)], rhs)
    except np.linalg.LinAlgError:
        raise NumericalError(
            "LinearGaussianSSMModel: the M-step's normal equations are singular (the expected second moments "
            "of the states are: a state without variance, or two states that move together); hold more "
            "parameters or use fewer states"
        ) from None
    return beta.reshape(B_current.shape, order="F")
