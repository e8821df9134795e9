"""``RegressionEM``: linear regression with values missing in the outcome and
in the covariates, through the joint normal model (Little 1992, JASA
87:1227-1237; Little & Rubin 2019, sec. 11.4).

``(y, x)`` is fitted as one multivariate normal by EM
(:mod:`latentlab.missing.mvn`); the regression of ``y`` on ``x`` is a function
of its mean and covariance,

    beta = Sigma_xx^{-1} Sigma_xy,   intercept = mu_y - beta' mu_x,
    sigma^2 = Sigma_yy - Sigma_yx beta,   R^2 = 1 - sigma^2 / Sigma_yy,

and their standard errors come from those of the mean and covariance (the
observed information) by the delta method. When only ``y`` is missing and the
covariates are complete, this is exactly the complete-case least-squares
line (the rows without ``y`` carry no information on ``y | x``), which is also
where the textbook EM that fills the missing outcomes from the current line
and refits converges.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import as_array, check_level
from ..em.inference import delta_method, wald_intervals
from .estimator import MultivariateNormalEM

__all__ = ["RegressionEM", "parse_formula"]


def parse_formula(formula: str, columns) -> tuple[str, list[str]]:
    """``"y ~ a + b"`` as ``("y", ["a", "b"])``, each name a column of the data."""
    if not isinstance(formula, str) or formula.count("~") != 1:
        raise ValueError(f"formula must read 'outcome ~ covariate + covariate ...'; got {formula!r}")
    left, right = (part.strip() for part in formula.split("~"))
    terms = [t.strip() for t in right.split("+")]
    if not left or not all(terms):
        raise ValueError(f"formula must read 'outcome ~ covariate + covariate ...'; got {formula!r}")
    unknown = [name for name in [left, *terms] if name not in columns]
    if unknown:
        raise ValueError(f"formula names {unknown}, which are not columns of the data {list(columns)}")
    if left in terms or len(set(terms)) != len(terms):
        raise ValueError(f"formula repeats a name: {formula!r}")
    return left, terms


class RegressionEM(MultivariateNormalEM):
    """Linear regression of ``y`` on ``x`` with missing values (NaN) in both,
    by EM for the joint normal (module docstring).

    ``fit(data, formula="y ~ a + b")`` with a DataFrame, or ``fit(X, y)``
    with arrays. After ``fit``: ``coef_`` (a Series named by the covariates,
    or an array), ``intercept_``, ``residual_variance_``, ``r_squared_``, and
    ``summary()`` with standard errors and Wald intervals; the joint mean and
    covariance are ``mean_`` and ``cov_`` (outcome first).
    """

    def fit(self, X, y=None, formula: str | None = None):
        if formula is not None:
            if not isinstance(X, pd.DataFrame):
                raise TypeError("a formula needs a DataFrame whose columns it names")
            if y is not None:
                raise ValueError("give either a formula or y, not both")
            outcome, covariates = parse_formula(formula, X.columns)
            joint = X[[outcome, *covariates]]
        else:
            if y is None:
                raise ValueError("give y (the outcome) or a formula")
            outcome = y.name if isinstance(y, pd.Series) and isinstance(y.name, str) else "y"
            covariates = [str(c) for c in X.columns] if isinstance(X, pd.DataFrame) else None
            x = self._validate(X if np.ndim(X) != 1 else np.asarray(X)[:, None])
            y = as_array(y, "y", ndim=1)
            if y.shape[0] != x.shape[0]:
                raise ValueError(f"y has {y.shape[0]} values but X has {x.shape[0]} rows")
            covariates = covariates or [str(j) for j in range(x.shape[1])]
            joint = pd.DataFrame(np.column_stack([y, x]), columns=[outcome, *covariates])
        self.outcome_, self.covariates_ = outcome, covariates
        super().fit(joint)
        coef, intercept, variance = self._regression(np.r_[self.mean_, self.cov_.ravel()])
        named = formula is not None or isinstance(X, pd.DataFrame)
        self.coef_ = pd.Series(coef, index=covariates) if named else coef
        self.intercept_, self.residual_variance_ = intercept, variance
        self.r_squared_ = 1.0 - variance / self.cov_[0, 0]
        return self

    def _regression(self, flat: np.ndarray) -> tuple[np.ndarray, float, float]:
        """(beta, intercept, sigma^2) from the flattened joint mean and covariance."""
        p = self.mean_.size
        mu, S = flat[:p], flat[p:].reshape(p, p)
        beta = np.linalg.solve(S[1:, 1:], S[1:, 0])
        return beta, float(mu[0] - beta @ mu[1:]), float(S[0, 0] - S[0, 1:] @ beta)

    def summary(self, level: float = 0.95) -> pd.DataFrame:
        """Intercept, coefficients and residual variance with standard errors
        (delta method from the joint normal's observed information) and Wald
        intervals (the variance's on the log scale)."""
        check_level(level)
        self._check_fitted()
        flat = np.r_[self.mean_, self.cov_.ravel()]

        def g(v):
            beta, intercept, variance = self._regression(v)
            return np.r_[intercept, beta, variance]

        cov = delta_method(g, flat, self.covariance_)
        est, se = g(flat), np.sqrt(np.diag(cov))
        scales = ["identity"] * (est.size - 1) + ["log"]
        lo, hi = wald_intervals(est, se, scales, level)
        names = ["intercept", *self.covariates_, "residual variance"]
        return pd.DataFrame({"parameter": names, "estimate": est, "std_error": se, "ci_lower": lo, "ci_upper": hi})
