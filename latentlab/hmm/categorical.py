"""Hidden Markov models with categorical emissions (symbols 0..M-1).

Emission of state k: ``P(x_t = m | z_t = k) = E_km`` (``emissionprob``).

E-step statistic: ``C_km = sum_t gamma_t(k) [x_t = m]`` over observed rows.
M-step: ``E_km = C_km / sum_m' C_km'`` (hmmlearn's with its default
``emissionprob_prior=1``, which is the plain MLE). A symbol that a state never
emits gets probability 0 and keeps it.
"""

from __future__ import annotations

import numpy as np

from .._degenerate import categorical_signature
from .._validation import as_array, missing_rows
from ..em import Simplex
from ..em.settings import engine_defaults
from ..emissions import categorical_log_density, categorical_m_step
from .base import EMPTY, HMMData, HMMModel, transition_constraints
from .estimator import HMMEstimator
from .params import CategoricalHMMParams

#: the largest symbol accepted (the alphabet 0..M-1 is stored as an (K, M) table)
_MAX_SYMBOL = 2**24 - 1

__all__ = ["CategoricalHMM", "CategoricalHMMModel"]

#: engine settings: the engine's defaults
_ENGINE = engine_defaults()


class CategoricalHMMModel(HMMModel):
    """The EM contract of a categorical HMM (module docstring)."""

    params_type = CategoricalHMMParams
    letters = {"startprob": "s", "transmat": "t", "emissionprob": "e"}

    def __init__(self, n_components, n_features, params, given=None):
        super().__init__(n_components, params, given)
        self.n_features = n_features
        self.constraints = {**transition_constraints(), "emissionprob": Simplex(axis=-1)}

    def field_shapes(self):
        k = self.n_components
        return {"startprob": (k,), "transmat": (k, k), "emissionprob": (k, self.n_features)}

    def emission_signature(self, params):
        return categorical_signature(params.emissionprob)

    def log_emission(self, X, params, out):
        return categorical_log_density(X[:, 0], params.emissionprob, out)

    def emission_stats(self, moments, X, weights):
        return np.stack([np.bincount(X[:, 0], weights=w, minlength=self.n_features) for w in weights.T])

    def emission_m_step(self, stats, post, current, held):
        return {"emissionprob": categorical_m_step(stats, current.emissionprob, post <= EMPTY)}

    def init_emission(self, data: HMMData, rng):
        """Rows drawn from Dirichlet(1, ..., 1)."""
        return {"emissionprob": rng.dirichlet(np.ones(self.n_features), self.n_components)}

    def sample_emission(self, states, params, rng):
        cdf = np.cumsum(params.emissionprob, axis=1)
        u = rng.random(states.size)
        symbols = np.minimum((u[:, None] >= cdf[states]).sum(axis=1), self.n_features - 1)
        return symbols[:, None]


class CategoricalHMM(HMMEstimator):
    """Hidden Markov model with categorical emissions, fitted by Baum-Welch.

    ``X`` holds integer symbols ``0..n_features-1``, shape (T,) or (T, 1)
    (hmmlearn's layout); a NaN entry is a missing observation.

    Parameters (hmmlearn's names)
    -----------------------------
    n_components : number of hidden states K.
    n_features : alphabet size M (None: the largest symbol in the data + 1).
    n_iter, tol, params, init_params, n_init, accelerate, random_state,
    progress : as :class:`GaussianHMM`; the emission letter is ``e``.

    Attributes after ``fit``: ``startprob_``, ``transmat_``, ``emissionprob_``
    (K, M), ``result_``, ``loglik_``.
    """

    _letters = "ste"

    def __init__(
        self,
        n_components: int = 1,
        *,
        n_features: int | None = None,
        n_iter: int = _ENGINE["max_iter"],
        tol: float = _ENGINE["tol"],
        params: str = "ste",
        init_params: str = "ste",
        n_init: int = _ENGINE["n_init"],
        accelerate: str | None = _ENGINE["accelerate"],
        random_state=None,
        progress: bool | None = _ENGINE["progress"],
    ):
        self.n_features = n_features
        self._init_common(n_components, n_iter, tol, params, init_params, n_init, accelerate, random_state, progress)

    def _alphabet(self) -> int | None:
        if hasattr(self, "model_"):
            return self.model_.n_features
        if self.n_features is not None:
            if not isinstance(self.n_features, (int, np.integer)) or self.n_features < 1:
                raise ValueError(f"n_features must be a positive integer; got {self.n_features!r}")
        return self.n_features

    def _validate_X(self, X):
        X = as_array(X, "X", ndim=(1, 2))
        X = X.reshape(-1, 1) if X.ndim == 1 else X
        if X.shape[1] != 1:
            raise ValueError(f"X must have one column of symbols; got shape {X.shape}")
        missing = missing_rows(X, "X")
        X = np.where(missing[:, None], 0.0, X)[:, 0]
        bad = (X < 0) | (X != np.round(X)) | (X > _MAX_SYMBOL)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"X must hold non-negative integer symbols; found {X[row]:g} at row {row} "
                f"(symbols are 0, 1, ..., at most {_MAX_SYMBOL:,})"
            )
        alphabet = self._alphabet()
        if alphabet is not None and X.max() >= alphabet:
            row = int(np.argmax(X))
            raise ValueError(
                f"X has symbol {int(X[row])} (row {row}) outside the alphabet 0..{alphabet - 1} (n_features={alphabet})"
            )
        X = X.astype(np.int64)[:, None]
        return X, missing, 0

    def _n_features(self, X):
        alphabet = self._alphabet()
        return alphabet if alphabet is not None else int(X.max()) + 1

    def _make_model(self, n_features, given):
        return CategoricalHMMModel(self.n_components, n_features, self.params, given)
