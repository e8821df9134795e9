"""``MultivariateNormalEM``: mean and covariance from a table with holes."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats as sps

from .._validation import as_array, check_magnitude, check_observed_columns
from .._warn import user_stacklevel
from ..em import EMEstimator, TestResult, wald_table
from ..em.features import check_feature_names, feature_labels, feature_names, set_feature_names
from ..em.settings import engine_defaults
from .mvn import MVNData, MVNModel, MVNParams, conditional_means

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
        set_feature_names(self, names, p)
        together = data.observed.T.astype(float) @ data.observed.astype(float)
        never = np.argwhere(np.triu(together == 0, 1))
        if never.size:
            j, k = never[0]
            labels = feature_labels(self)
            raise ValueError(
                f"X: variables {labels[j]!r} and {labels[k]!r} are never observed in the same row, so their "
                f"covariance is not identified ({len(never)} such pair(s)); drop one of them or add rows that show both"
            )
        if data.n_rows < p + 1:
            raise ValueError(
                f"X has {data.n_rows} row(s) with an observed value for {p} variables; a covariance of {p} variables "
                f"needs more rows than variables"
            )
        result = self._fit_em(MVNModel(), data, n_obs=float(data.n_rows))
        self.mean_, self.cov_ = result.params.mean, result.params.cov
        self._X = X
        self.empty_rows_ = empty
        self.n_patterns_ = len(data.patterns)
        return self

    def impute(self, X=None):
        """``X`` (the fitted data by default) with every missing value replaced
        by its conditional mean given the row's observed values; a DataFrame
        for a DataFrame."""
        self._check_fitted()
        frame = X if isinstance(X, pd.DataFrame) else None
        if X is None:
            values = self._X
        else:
            check_feature_names(self, X)
            values = self._validate(X)
            if values.shape[1] != self.n_features_in_:
                raise ValueError(f"X has {values.shape[1]} column(s) but the model was fitted to {self.n_features_in_}")
        out = conditional_means(np.ascontiguousarray(values), self.result_.params)[0]
        return pd.DataFrame(out, index=frame.index, columns=frame.columns) if frame is not None else out

    def mcar_test(self) -> TestResult:
        """Little's (1988, JASA 83:1198-1202) test that the values are missing
        completely at random: with ``ybar_g`` the mean of the observed
        variables of the ``n_g`` rows of pattern ``g`` and ``mu_g``,
        ``Sigma_g`` the fitted mean and covariance of those variables,

            d^2 = sum_g n_g (ybar_g - mu_g)' Sigma_g^{-1} (ybar_g - mu_g),

        referred to chi-square with ``sum_g p_g - p`` degrees of freedom
        (``p_g`` observed variables in pattern ``g``). Rows with no observed
        value are left out."""
        self._check_fitted()
        data, params = self._data, self.result_.params
        statistic, df = 0.0, -float(params.mean.size)
        for observed, rows in zip(data.patterns, data.rows):
            gap = data.X[np.ix_(rows, observed)].mean(axis=0) - params.mean[observed]
            statistic += rows.size * float(gap @ np.linalg.solve(params.cov[np.ix_(observed, observed)], gap))
            df += observed.sum()
        if df < 1:
            raise ValueError("Little's test needs at least two missingness patterns (here every row shows the same "
                             "variables, so there is nothing to compare)")
        return TestResult("missing completely at random (Little 1988)", "chi-square", statistic, df,
                          float(sps.chi2.sf(statistic, df)), {"patterns": len(data.patterns)})

    def sem_covariance(self) -> np.ndarray:
        """Covariance of the flattened mean and covariance by the supplemented
        EM algorithm (SEM; Meng & Rubin 1991, JASA 86:899-909), the second
        route to the observed information: EM's map ``M`` is differentiated
        numerically at the MLE in ``theta = (mu, vech Sigma)`` (central
        differences, two EM steps per coordinate), ``J = dM / dtheta`` is the
        fraction of missing information, and

            V = (I - J)^{-1} V_c,

        ``V_c`` the complete-data covariance of the MLE: ``Sigma / n`` for the
        mean and ``(s_ik s_jl + s_il s_jk) / n`` between covariance entries.
        Same layout as :attr:`covariance_`."""
        self._check_fitted()
        model, data, params = self.model_, self._data, self.result_.params
        p = params.mean.size
        rows, cols = np.tril_indices(p)
        theta = np.r_[params.mean, params.cov[rows, cols]]

        def em_map(t):
            S = np.zeros((p, p))
            S[rows, cols] = t[p:]
            S = S + np.tril(S, -1).T
            new = model.m_step(model.e_step(data, MVNParams(t[:p], S))[0], params)
            return np.r_[new.mean, new.cov[rows, cols]]

        h = 1e-5 * np.maximum(1.0, np.abs(theta))
        J = np.column_stack([(em_map(theta + e) - em_map(theta - e)) / (2 * e[i])
                             for i, e in enumerate(np.diag(h))])
        n, S = float(data.n_rows), params.cov
        Vc = np.zeros((theta.size, theta.size))
        Vc[:p, :p] = S / n
        Vc[p:, p:] = (S[np.ix_(rows, rows)] * S[np.ix_(cols, cols)] + S[np.ix_(rows, cols)] * S[np.ix_(cols, rows)]) / n
        V = np.linalg.solve(np.eye(theta.size) - J, Vc)
        V = 0.5 * (V + V.T)
        D = np.zeros((p + p * p, theta.size))  # (mu, vech) -> (mu, vec)
        D[np.arange(p), np.arange(p)] = 1.0
        for k, (i, j) in enumerate(zip(rows, cols)):
            D[p + i * p + j, p + k] = D[p + j * p + i, p + k] = 1.0
        return D @ V @ D.T

    def summary(self, level: float = 0.95, method: str = "observed") -> pd.DataFrame:
        """Mean and covariance entries (lower triangle) with standard errors from
        the observed information: ``method="observed"`` by the engine's
        numerical Hessian (about ``2 k^2`` log-likelihood evaluations for ``k``
        free parameters; refused above :data:`MAX_PARAMETERS`), ``"sem"`` by
        the supplemented EM algorithm (:meth:`sem_covariance`)."""
        self._check_fitted()
        if method not in ("observed", "sem"):
            raise ValueError(f"method must be 'observed' or 'sem'; got {method!r}")
        p = self.mean_.size
        keep = np.r_[np.ones(p, dtype=bool), np.tril(np.ones((p, p), dtype=bool)).ravel()]
        if method == "sem":
            table = wald_table(self.model_, self.result_.params, self.sem_covariance(), level)
            table["parameter"] = self._parameter_labels()
            return table[keep].reset_index(drop=True)
        k = self.n_parameters_
        if k > MAX_PARAMETERS:
            raise ValueError(
                f"summary() would take a numerical Hessian in {k} free parameters (about {2 * k * k} log-likelihood "
                f"evaluations); that is above {MAX_PARAMETERS}: fit fewer variables at a time, or use method='sem'"
            )
        table = super().summary(level)
        return table[keep].reset_index(drop=True)

    def _parameter_labels(self) -> list[str]:
        return self.model_.space.labels(self.result_.params, feature_labels(self), {"mean": (0,), "cov": (0, 1)})
