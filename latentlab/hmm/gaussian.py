"""Hidden Markov models with Gaussian emissions (diagonal or full covariance).

Emission of state k: ``x_t | z_t = k ~ N(mu_k, Sigma_k)``, ``Sigma_k``
diagonal (``covariance_type="diag"``) or a full symmetric positive definite
matrix (``"full"``).

E-step statistics (``w_tk = gamma_t(k)`` over observed rows):

    N_k = sum_t w_tk,   S_k = sum_t w_tk x_t,
    Q_k = sum_t w_tk x_t^2 (diag)   or   Q_k = sum_t w_tk x_t x_t' (full).

M-step (the complete-data MLE; hmmlearn's with its priors switched off,
``covars_prior=0``; Huang, Acero & Hon 2001, sec. 8.2):

    mu_k    = S_k / N_k,
    Sigma_k = (Q_k - S_k mu_k' - mu_k S_k' + N_k mu_k mu_k') / N_k,

with ``mu_k`` the held value when the means are fixed. Degenerate variances
are floored at ``min_covar`` (diagonal entries clipped; a full matrix has its
eigenvalues clipped), which is the maximiser of the expected complete-data
log-likelihood under that bound, so EM stays monotone.
"""

from __future__ import annotations

import numpy as np

from .._degenerate import gaussian_signature
from .._validation import as_array, check_magnitude, missing_rows
from ..em import Positive, PositiveDefinite, Real
from ..em.settings import engine_defaults
from ..emissions import gaussian_log_density, gaussian_means, gaussian_scatter, kmeans_plusplus, lloyd
from ..exceptions import NumericalError
from . import _kernels
from .base import EMPTY, HMMData, HMMModel, transition_constraints
from .estimator import HMMEstimator
from .params import GaussianHMMParams

__all__ = ["GaussianHMM", "GaussianHMMModel"]

#: engine settings: the engine's defaults
_ENGINE = engine_defaults()

COVARIANCE_TYPES = ("diag", "full")


class GaussianHMMModel(HMMModel):
    """The EM contract of a Gaussian HMM (module docstring)."""

    params_type = GaussianHMMParams
    letters = {"startprob": "s", "transmat": "t", "means": "m", "covars": "c"}

    def __init__(self, n_components, n_features, covariance_type, min_covar, params, given=None):
        super().__init__(n_components, params, given)
        self.n_features = n_features
        self.covariance_type = covariance_type
        self.min_covar = min_covar
        covars = Positive() if covariance_type == "diag" else PositiveDefinite()
        self.constraints = {**transition_constraints(), "means": Real(), "covars": covars}

    def field_shapes(self) -> dict[str, tuple]:
        k, d = self.n_components, self.n_features
        cov = (k, d) if self.covariance_type == "diag" else (k, d, d)
        return {"startprob": (k,), "transmat": (k, k), "means": (k, d), "covars": cov}

    # -- emissions --------------------------------------------------------------------
    def log_emission(self, X, params, out):
        if self.covariance_type == "diag":
            self._check_variances(params)
            return _kernels.gaussian_diag_logpdf(np.ascontiguousarray(X.T), params.means, params.covars, out, self._tag)
        return gaussian_log_density(X, params.means, params.covars, self.name, out)

    def scaled_emission(self, data, params, b, shift):
        """Diagonal covariances: the log-densities and their scaling in one
        compiled pass (:func:`~latentlab.hmm._kernels.gaussian_diag_scaled`)."""
        if self.covariance_type != "diag":
            return super().scaled_emission(data, params, b, shift)
        self._check_variances(params)
        _kernels.gaussian_diag_scaled(data.X_t, params.means, params.covars, b, shift, self._tag)

    def _check_variances(self, params):
        if not np.all(params.covars > 0):
            raise NumericalError(
                f"{self.name}: a state's variance is {params.covars.min():g} (a state holds a single value, "
                f"e.g. constant data); with min_covar={self.min_covar:g} nothing stops it: set min_covar > 0"
            )

    def feature_axes(self):
        return {"means": (1,), "covars": (1, 2) if self.covariance_type == "full" else (1,)}

    def emission_signature(self, params):
        full = self.covariance_type == "full"
        return gaussian_signature(params.means, np.diagonal(params.covars, axis1=1, axis2=2) if full else params.covars)

    def emission_features(self, X):
        """``[x_t, x_t^2]`` (diag) or ``[x_t, vec(x_t x_t')]`` (full)."""
        second = X * X if self.covariance_type == "diag" else (X[:, :, None] * X[:, None, :]).reshape(X.shape[0], -1)
        return np.hstack([X, second])

    def emission_stats(self, moments, X, weights):
        k, d = moments.shape[0], self.n_features
        first, second = moments[:, :d], moments[:, d:]
        return first, (second if self.covariance_type == "diag" else second.reshape(k, d, d))

    def emission_m_step(self, stats, post, current, held):
        """The shared Gaussian M-step (:mod:`latentlab.emissions`), covariances
        about the held means when the means are held, then floored."""
        first, second = stats
        empty = post <= EMPTY
        n = np.where(empty, 1.0, post)
        means = current.means if "means" in held else gaussian_means(n, first)
        means = np.where(empty[:, None], current.means, means)
        scatter = gaussian_scatter(n, first, second, means)
        if self.covariance_type == "diag":
            cov = np.maximum(scatter / n[:, None], self.min_covar)
            cov = np.where(empty[:, None], current.covars, cov)
        else:
            cov = scatter / n[:, None, None]
            cov = _floor_eigenvalues(0.5 * (cov + cov.transpose(0, 2, 1)), self.min_covar)
            cov[empty] = current.covars[empty]
        return {"means": means, "covars": cov}

    def init_emission(self, data: HMMData, rng):
        """Means by k-means (k-means++ seeding, 10 Lloyd steps, on at most
        10,000 observed rows); every state gets the sample covariance plus
        ``min_covar`` (hmmlearn's start)."""
        X = data.X[data.observed]
        means = kmeans(X, self.n_components, rng)
        if self.covariance_type == "diag":
            covars = np.tile(X.var(axis=0) + self.min_covar, (self.n_components, 1))
        else:
            cov = np.atleast_2d(np.cov(X.T)) + self.min_covar * np.eye(X.shape[1])
            covars = np.tile(cov, (self.n_components, 1, 1))
        return {"means": means, "covars": covars}

    def sample_emission(self, states, params, rng):
        noise = rng.standard_normal((states.size, self.n_features))
        if self.covariance_type == "diag":
            return params.means[states] + np.sqrt(params.covars[states]) * noise
        chol = np.linalg.cholesky(params.covars)
        return params.means[states] + np.einsum("tij,tj->ti", chol[states], noise)


def _floor_eigenvalues(cov: np.ndarray, floor: float) -> np.ndarray:
    """Clip the eigenvalues of each matrix of ``cov`` (K, D, D) at ``floor``."""
    vals, vecs = np.linalg.eigh(cov)
    if np.all(vals >= floor):
        return cov
    vals = np.maximum(vals, floor)
    return np.einsum("kij,kj,klj->kil", vecs, vals, vecs)


def kmeans(X: np.ndarray, k: int, rng: np.random.Generator, n_steps: int = 10, max_rows: int = 10_000) -> np.ndarray:
    """Cluster centres (k, D): k-means++ seeding (Arthur & Vassilvitskii 2007)
    and ``n_steps`` Lloyd iterations on at most ``max_rows`` random rows."""
    if X.shape[0] > max_rows:
        X = X[rng.choice(X.shape[0], max_rows, replace=False)]
    seeds = X[kmeans_plusplus(X, k, np.ones(X.shape[0]), rng)]
    return lloyd(X, seeds, n_steps)


class GaussianHMM(HMMEstimator):
    """Hidden Markov model with Gaussian emissions, fitted by Baum-Welch.

    Parameters (hmmlearn's names)
    -----------------------------
    n_components : number of hidden states K.
    covariance_type : ``"diag"`` or ``"full"``.
    min_covar : floor on the variances (diagonal entries, or eigenvalues of a
        full matrix), applied in the M-step and added to the starting
        covariances; default 1e-3 as hmmlearn's (in the units of ``X`` squared).
    n_iter : maximum EM iterations; tol : the engine's relative convergence
        rule (:mod:`latentlab.em.engine`).
    params, init_params : letters of the parameters to estimate / to
        initialise: ``s`` start, ``t`` transitions, ``m`` means, ``c``
        covariances. A parameter not in ``init_params`` is taken from the
        attribute set on the estimator (e.g. ``model.transmat_ = A``); one not
        in ``params`` stays at its initial value. Zeros of a given
        ``startprob_`` / ``transmat_`` stay zero.
    n_init, accelerate, random_state, progress : see :func:`latentlab.em.fit_em`.

    Attributes after ``fit``: ``startprob_`` (K,), ``transmat_`` (K, K),
    ``means_`` (K, D), ``covars_`` (K, D, D full matrices, as hmmlearn; the
    diagonal form is ``_covars_``), ``result_``, ``loglik_``, ``n_iter_``,
    ``converged_``.
    """

    _letters = "stmc"

    def __init__(
        self,
        n_components: int = 1,
        covariance_type: str = "diag",
        min_covar: float = 1e-3,
        *,
        n_iter: int = _ENGINE["max_iter"],
        tol: float = _ENGINE["tol"],
        params: str = "stmc",
        init_params: str = "stmc",
        n_init: int = _ENGINE["n_init"],
        accelerate: str | None = _ENGINE["accelerate"],
        random_state=None,
        progress: bool | None = _ENGINE["progress"],
    ):
        self.covariance_type = covariance_type
        self.min_covar = min_covar
        self._init_common(n_components, n_iter, tol, params, init_params, n_init, accelerate, random_state, progress)

    @property
    def covars_(self) -> np.ndarray:
        """Covariance matrices (K, D, D), whatever the covariance type."""
        if not hasattr(self, "_covars_"):
            raise AttributeError("covars_ is not set; fit the model or assign it")
        c = np.asarray(self._covars_)
        return np.stack([np.diag(v) for v in c]) if c.ndim == 2 else c

    @covars_.setter
    def covars_(self, value) -> None:
        self._covars_ = np.array(value, dtype=float, copy=True)

    def _get_param(self, field):
        if field == "covars":
            return getattr(self, "_covars_", None)
        return super()._get_param(field)

    def _validate_X(self, X):
        X = as_array(X, "X", ndim=(1, 2))
        X = check_magnitude(X.reshape(-1, 1) if X.ndim == 1 else X, "X")
        return X, missing_rows(X, "X"), 0.0

    def _make_model(self, n_features, given):
        if self.covariance_type not in COVARIANCE_TYPES:
            raise ValueError(f"covariance_type must be one of {COVARIANCE_TYPES}; got {self.covariance_type!r}")
        if not (np.isfinite(self.min_covar) and self.min_covar >= 0):
            raise ValueError(f"min_covar must be a non-negative number; got {self.min_covar!r}")
        return GaussianHMMModel(self.n_components, n_features, self.covariance_type, self.min_covar, self.params, given)
