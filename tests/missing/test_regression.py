"""RegressionEM: closed forms (complete data: ordinary least squares; only y
missing: complete-case least squares), the bias of complete cases under MAR
that EM removes, the formula interface, and clear errors."""

import numpy as np
import pandas as pd
import pytest

from latentlab.missing import RegressionEM

BETA = np.array([1.5, -0.8])


def _data(n, seed):
    rng = np.random.default_rng(seed)
    X = rng.multivariate_normal([0.0, 1.0], [[1.0, 0.5], [0.5, 2.0]], n)
    y = 2.0 + X @ BETA + rng.normal(0.0, 1.0, n)
    return X, y, rng


def _ols(X, y):
    design = np.c_[np.ones(len(y)), X]
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ coef
    variance = resid @ resid / len(y)  # maximum likelihood
    se = np.sqrt(variance * np.diag(np.linalg.inv(design.T @ design)))
    return coef, variance, se


def test_complete_data_give_least_squares_and_its_standard_errors():
    X, y, _ = _data(400, 0)
    fit = RegressionEM(random_state=0, tol=1e-12).fit(X, y)
    coef, variance, se = _ols(X, y)
    assert np.allclose(np.r_[fit.intercept_, fit.coef_], coef, atol=1e-6)
    assert fit.residual_variance_ == pytest.approx(variance, rel=1e-6)
    assert np.allclose(fit.summary().std_error[:3], se, rtol=1e-3)


def test_only_y_missing_gives_the_complete_case_line():
    X, y, rng = _data(400, 1)
    y[rng.random(400) < 0.3] = np.nan
    fit = RegressionEM(random_state=0, tol=1e-12).fit(X, y)
    keep = ~np.isnan(y)
    coef, variance, _ = _ols(X[keep], y[keep])
    assert np.allclose(np.r_[fit.intercept_, fit.coef_], coef, atol=1e-6)
    assert fit.residual_variance_ == pytest.approx(variance, rel=1e-6)


def test_covariates_missing_at_random_on_y_bias_complete_cases_but_not_em():
    """x1 is missing more often when y is large (missing at random: y is
    observed). n = 20,000: EM's slope is within 4 of its standard errors of
    the truth; the complete-case slope is not."""
    X, y, rng = _data(20_000, 2)
    X[rng.random(20_000) < 1.0 / (1.0 + np.exp(-(y - 2.5))), 0] = np.nan
    fit = RegressionEM(random_state=0).fit(X, y)
    table = fit.summary()
    assert abs(fit.coef_[0] - BETA[0]) <= 4 * table.std_error[1]
    keep = ~np.isnan(X).any(axis=1)
    complete_case, _, se = _ols(X[keep], y[keep])
    assert abs(complete_case[1] - BETA[0]) > 4 * se[1]


def test_a_formula_names_the_columns():
    X, y, _ = _data(200, 3)
    frame = pd.DataFrame({"outcome": y, "dose": X[:, 0], "age": X[:, 1], "unused": 0.0})
    fit = RegressionEM(random_state=0).fit(frame, formula="outcome ~ dose + age")
    assert list(fit.coef_.index) == ["dose", "age"]
    assert list(fit.summary().parameter) == ["intercept", "dose", "age", "residual variance"]
    assert 0.0 < fit.r_squared_ < 1.0


@pytest.mark.parametrize(("formula", "message"), [
    ("outcome dose", "formula must read"), ("outcome ~ dose + weight", "not columns"),
    ("outcome ~ outcome", "repeats"), ("~ dose", "formula must read"),
])
def test_bad_formulas_are_refused(formula, message):
    X, y, _ = _data(50, 4)
    frame = pd.DataFrame({"outcome": y, "dose": X[:, 0]})
    with pytest.raises(ValueError, match=message):
        RegressionEM().fit(frame, formula=formula)


def test_y_is_required_and_must_match():
    X, y, _ = _data(50, 5)
    with pytest.raises(ValueError, match="give y"):
        RegressionEM().fit(X)
    with pytest.raises(ValueError, match="y has 49 values"):
        RegressionEM().fit(X, y[:-1])
