"""``MultivariateNormalEM``: mean and covariance from a table with holes."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .._validation import as_array, check_magnitude, check_observed_columns
from .._warn import user_stacklevel
from ..em import EMEstimator
from ..em.features import check_feature_names, feature_labels, feature_names, set_feature_names
from ..em.settings import engine_defaults
from .mvn import MVNData, MVNModel, conditional_means

__all__ = ["MultivariateNormalEM"]

#: engine settings: SQUAREM on, because EM's rate is the fraction of missing
#: information, which is high when many values are missing
_ENGINE = engine_defaults(accelerate="squarem")

#: above this many free parameters summary() refuses to take a numerical Hessian
MAX_PARAMETERS = 120


class MultivariateNormalEM(EMEstimator):
    """Maximum likelihood mean and covariance of a multivariate normal from
    rows with values missing at random (NaN), by EM (module :mod:`latentlab.missing.mvn`).

    Attributes after ``fit``: ``mean_`` (p,), ``cov_`` (p, p), ``loglik_``,
    ``n_iter_``, ``converged_``, ``result_``, ``empty_rows_`` (rows with no
    observed value: kept, not used), ``n_patterns_``; ``summary()`` gives
    standard errors from the observed information (numerical Hessian).
    """

    _allow_nan = True

    def __init__(self, *, tol=_ENGINE["tol"], max_iter=_ENGINE["max_iter"], n_init=_ENGINE["n_init"],
                 accelerate=_ENGINE["accelerate"], random_state=_ENGINE["random_state"],
                 progress=_ENGINE["progress"]):
        self._set_engine_settings(tol=tol, max_iter=max_iter, n_init=n_init, accelerate=accelerate,
                                  random_state=random_state, progress=progress)

    @staticmethod
    def _validate(X) -> np.ndarray:
        if isinstance(X, pd.DataFrame):
            text = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
            if text:
                raise TypeError(f"X has non-numeric column(s) {text}; pass numbers (NaN for a missing value)")
        X = as_array(X, "X", ndim=2)
        if X.shape[0] == 0 or X.shape[1] == 0:
            raise ValueError(f"X is empty (shape {X.shape})")
        if np.isinf(X).any():
            raise ValueError("X has an infinite value; NaN marks a missing value, inf is not allowed")
        return check_magnitude(X, "X")

    def fit(self, X):
        """Estimate the mean and covariance from ``X`` (n, p), NaN for missing values."""
        names = feature_names(X)
        X = self._validate(X)
        check_observed_columns(X, "X")
        data = MVNData.build(X)
        empty = np.flatnonzero(np.isnan(X).all(axis=1))
        if empty.size:
            warnings.warn(
                f"MultivariateNormalEM: {empty.size} row(s) have every value missing (the first is row {empty[0]}); "
                "they carry no information and do not enter the fit (kept: impute() fills them with the mean)",
                UserWarning, stacklevel=user_stacklevel(),
            )
        p = X.shape[1]
        if data.n_rows < p + 1:
            raise ValueError(
                f"X has {data.n_rows} row(s) with an observed value for {p} variables; a covariance of {p} variables "
                f"needs more rows than variables"
            )
        result = self._fit_em(MVNModel(), data, n_obs=float(data.n_rows))
        self.mean_, self.cov_ = result.params.mean, result.params.cov
        self.empty_rows_ = empty
        self.n_patterns_ = len(data.patterns)
        set_feature_names(self, names, p)
        return self

    def impute(self, X=None):
        """``X`` (the fitted data by default) with every missing value replaced
        by its conditional mean given the row's observed values; a DataFrame
        for a DataFrame."""
        self._check_fitted()
        frame = X if isinstance(X, pd.DataFrame) else None
        if X is None:
            values = self._data.X
        else:
            check_feature_names(self, X)
            values = self._validate(X)
            if values.shape[1] != self.n_features_in_:
                raise ValueError(f"X has {values.shape[1]} column(s) but the model was fitted to {self.n_features_in_}")
        out = values.copy()
        observed = ~np.isnan(values)
        keys, inverse = np.unique(observed, axis=0, return_inverse=True)
        for g, key in enumerate(keys):
            rows = np.flatnonzero(np.ravel(inverse) == g)
            out[rows] = conditional_means(values[rows], key, self.result_.params)[0]
        return pd.DataFrame(out, index=frame.index, columns=frame.columns) if frame is not None else out

    def summary(self, level: float = 0.95) -> pd.DataFrame:
        """Mean and covariance entries (lower triangle) with standard errors from
        the observed information (the engine's numerical Hessian, about ``2 k^2``
        log-likelihood evaluations for ``k`` free parameters; refused above
        :data:`MAX_PARAMETERS`)."""
        self._check_fitted()
        k = self.n_parameters_
        if k > MAX_PARAMETERS:
            raise ValueError(
                f"summary() would take a numerical Hessian in {k} free parameters (about {2 * k * k} log-likelihood "
                f"evaluations); that is above {MAX_PARAMETERS}: fit fewer variables at a time"
            )
        table = super().summary(level)
        p = self.mean_.size
        keep = np.r_[np.ones(p, dtype=bool), np.tril(np.ones((p, p), dtype=bool)).ravel()]
        return table[keep].reset_index(drop=True)

    def _parameter_labels(self) -> list[str]:
        return self.model_.space.labels(self.result_.params, feature_labels(self), {"mean": (0,), "cov": (0, 1)})
