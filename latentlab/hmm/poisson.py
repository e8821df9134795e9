"""Hidden Markov models with Poisson emissions (independent counts per feature).

Emission of state k: ``x_td | z_t = k ~ Poisson(lambda_kd)`` independently
over the D features.

E-step statistics over observed rows: ``N_k = sum_t gamma_t(k)``,
``S_kd = sum_t gamma_t(k) x_td``. M-step: ``lambda_kd = S_kd / N_k``
(hmmlearn's with its default ``lambdas_prior=0, lambdas_weight=0``, the
plain MLE).
"""

from __future__ import annotations

import numpy as np

from .._degenerate import poisson_signature
from .._validation import as_array, check_counts, missing_rows
from ..em import Positive
from ..em.settings import engine_defaults
from ..emissions import poisson_log_density, poisson_m_step
from .base import EMPTY, HMMData, HMMModel, transition_constraints
from .estimator import HMMEstimator
from .params import PoissonHMMParams

__all__ = ["PoissonHMM", "PoissonHMMModel"]

#: engine settings: the engine's defaults
_ENGINE = engine_defaults()


class PoissonHMMModel(HMMModel):
    """The EM contract of a Poisson HMM (module docstring)."""

    params_type = PoissonHMMParams
    letters = {"startprob": "s", "transmat": "t", "lambdas": "l"}

    def __init__(self, n_components, n_features, params, given=None):
        super().__init__(n_components, params, given)
        self.n_features = n_features
        self.constraints = {**transition_constraints(), "lambdas": Positive()}

    def field_shapes(self):
        k = self.n_components
        return {"startprob": (k,), "transmat": (k, k), "lambdas": (k, self.n_features)}

    def log_emission(self, X, params, out):
        """``sum_d x_td log lambda_kd - lambda_kd - log x_td!`` (:mod:`latentlab.emissions`)."""
        return poisson_log_density(X, params.lambdas, out)

    def feature_axes(self):
        return {"lambdas": (1,)}

    def emission_signature(self, params):
        return poisson_signature(params.lambdas)

    def emission_features(self, X):
        """The counts ``x_t``."""
        return X

    def emission_stats(self, moments, X, weights):
        return moments

    def emission_m_step(self, stats, post, current, held):
        return {"lambdas": poisson_m_step(post, stats, current.lambdas, post <= EMPTY)}

    def init_emission(self, data: HMMData, rng):
        """Gamma draws with the mean and variance of each feature (method of
        moments, as hmmlearn); exponential draws around the mean when the
        counts are not overdispersed."""
        X = data.X[data.observed]
        mean, var = X.mean(axis=0), X.var(axis=0)
        shape = (self.n_components, self.n_features)
        mean = np.maximum(mean, 1e-3)
        if np.all(var > 0):
            draws = rng.gamma(mean**2 / var, var / mean, size=shape)
        else:
            draws = mean * rng.exponential(size=shape)
        return {"lambdas": np.maximum(draws, 1e-3 * mean)}

    def sample_emission(self, states, params, rng):
        return rng.poisson(params.lambdas[states])


class PoissonHMM(HMMEstimator):
    """Hidden Markov model with Poisson emissions, fitted by Baum-Welch.

    ``X`` holds non-negative integer counts, shape (T,) or (T, D); a row of
    NaN is a missing observation.

    Parameters (hmmlearn's names)
    -----------------------------
    n_components : number of hidden states K.
    n_iter, tol, params, init_params, n_init, accelerate, random_state,
    progress : as :class:`GaussianHMM`; the emission letter is ``l``.

    Attributes after ``fit``: ``startprob_``, ``transmat_``, ``lambdas_``
    (K, D), ``result_``, ``loglik_``.
    """

    _letters = "stl"

    def __init__(
        self,
        n_components: int = 1,
        *,
        n_iter: int = _ENGINE["max_iter"],
        tol: float = _ENGINE["tol"],
        params: str = "stl",
        init_params: str = "stl",
        n_init: int = _ENGINE["n_init"],
        accelerate: str | None = _ENGINE["accelerate"],
        random_state=None,
        progress: bool | None = _ENGINE["progress"],
    ):
        self._init_common(n_components, n_iter, tol, params, init_params, n_init, accelerate, random_state, progress)

    def _validate_X(self, X):
        X = as_array(X, "X", ndim=(1, 2))
        X = X.reshape(-1, 1) if X.ndim == 1 else X
        missing = missing_rows(X, "X")
        check_counts(np.where(missing[:, None], 0.0, X), "X")
        return X, missing, 0.0

    def _make_model(self, n_features, given):
        return PoissonHMMModel(self.n_components, n_features, self.params, given)
