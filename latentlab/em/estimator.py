"""What every user-facing estimator shares: fitting through the engine, the
fitted attributes that mirror :class:`EMResult`, information criteria and the
``summary()`` table of estimates with standard errors and Wald intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .engine import fit_em
from .inference import covariance, wald_table
from .model import EMModel

__all__ = ["EMEstimator", "NotFittedError"]


class NotFittedError(AttributeError):
    """An estimator was used before ``fit``."""


#: the settings of :func:`fit_em` an estimator may take, with the engine's defaults
ENGINE_SETTINGS = dict(tol=1e-8, max_iter=1000, n_init=1, accelerate=None, random_state=None, progress=False)


class EMEstimator:
    """Mixin for estimators built on one :class:`EMModel`.

    A subclass stores its settings in ``__init__`` (the engine's through
    :meth:`_set_engine_settings`), builds a model and validated data in ``fit``
    and calls :meth:`_fit_em`.
    """

    def _set_engine_settings(self, **settings) -> None:
        """Keep engine settings (a subset of ``ENGINE_SETTINGS``) as attributes
        of the same names, as given (scikit-learn's constructor convention)."""
        unknown = set(settings) - set(ENGINE_SETTINGS)
        if unknown:
            raise TypeError(f"not engine settings: {sorted(unknown)}")
        for name, value in settings.items():
            setattr(self, name, value)

    def _fit_em(self, model: EMModel, data, n_obs: int, init_params=None, **overrides):
        """Run the engine with this estimator's settings; set ``result_``."""
        settings = {name: getattr(self, name, default) for name, default in ENGINE_SETTINGS.items()}
        settings.update(overrides)
        self.model_ = model
        self._data = data
        self.n_obs_ = n_obs  # observations (a sum of frequency weights may be fractional)
        self.result_ = fit_em(model, data, init_params=init_params, **settings)
        return self.result_

    # -- mirrors of the EMResult --------------------------------------------------
    def _check_fitted(self):
        if not hasattr(self, "result_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit(...) first")

    @property
    def loglik_(self) -> float:
        self._check_fitted()
        return self.result_.loglik

    @property
    def n_iter_(self) -> int:
        self._check_fitted()
        return self.result_.n_iter

    @property
    def converged_(self) -> bool:
        self._check_fitted()
        return self.result_.converged

    # -- inference ------------------------------------------------------------------
    @property
    def covariance_(self) -> np.ndarray:
        """Covariance of the flattened parameters from the observed information
        (computed on first use and kept)."""
        self._check_fitted()
        if self.result_.covariance is None:
            self.result_.covariance = covariance(self.model_, self._data, self.result_.params)
        return self.result_.covariance

    @property
    def n_parameters_(self) -> int:
        """Number of free parameters (a simplex of k weights counts k - 1)."""
        self._check_fitted()
        params = self.result_.params
        return self.model_.space.n_parameters(params, self.model_.fixed_mask(params))

    def aic(self) -> float:
        """Akaike's criterion ``-2 loglik + 2 k`` of the fitted model."""
        return -2.0 * self.loglik_ + 2.0 * self.n_parameters_

    def bic(self) -> float:
        """Schwarz's criterion ``-2 loglik + k log n`` of the fitted model."""
        return -2.0 * self.loglik_ + self.n_parameters_ * np.log(self.n_obs_)

    def _parameter_labels(self) -> list[str] | None:
        """Readable labels of the flattened parameters (subclasses override)."""
        return None

    def summary(self, level: float = 0.95) -> pd.DataFrame:
        """Estimates with standard errors and Wald intervals at ``level``.

        Columns: parameter, estimate, std_error, ci_lower, ci_upper. Intervals
        are on the log scale for rates and the logit scale for probabilities.
        """
        self._check_fitted()
        table = wald_table(self.model_, self.result_.params, self.covariance_, level)
        labels = self._parameter_labels()
        if labels is not None:
            table["parameter"] = labels
        return table
