
import numpy as np
import pytest

from latentlab import BoundaryWarning, fit_em
from latentlab.em import covariance, numerical_hessian, wald_table
from latentlab.mixtures.poisson import PoissonMixtureModel, PoissonMixtureParams, _Tabulated


def test_numerical_hessian_of_a_quadratic_and_a_smooth_function():
    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    np.testing.assert_allclose(numerical_hessian(lambda u: -0.5 * u @ A @ u, np.array([0.3, -2.0])), -A, rtol=1e-6)
    H = numerical_hessian(lambda u: np.sin(u[0]) * np.exp(u[1]), np.array([0.4, 0.2]))
    exact = np.exp(0.2) * np.array([[-np.sin(0.4), np.cos(0.4)], [np.cos(0.4), np.sin(0.4)]])
    np.testing.assert_allclose(H, exact, rtol=1e-6, atol=1e-7)


def test_single_poisson_matches_the_closed_form():
    # one component: the MLE is the mean, its variance mean / n
    rng = np.random.default_rng(3)
    x = rng.poisson(4.0, size=500)
    values, freq = np.unique(x, return_counts=True)
    data = _Tabulated(values.astype(float), freq.astype(float))
    model = PoissonMixtureModel(1)
    res = fit_em(model, data, init_params=PoissonMixtureParams(np.ones(1), np.array([1.0])), tol=1e-14)
    mean = x.mean()
    assert res.params.rates[0] == pytest.approx(mean, rel=1e-10)
    cov = covariance(model, data, res.params)
    assert cov[0, 0] == 0.0  # a one-entry simplex: the weight is 1 without uncertainty
    assert np.sqrt(cov[1, 1]) == pytest.approx(np.sqrt(mean / x.size), rel=1e-6)
    table = wald_table(model, res.params, cov)
    lo, hi = table.loc[1, ["ci_lower", "ci_upper"]]
    se = np.sqrt(mean / x.size)
    # log-scale interval: mean * exp(-/+ 1.96 se / mean)
    assert lo == pytest.approx(mean * np.exp(-1.959964 * se / mean), rel=1e-5)
    assert hi == pytest.approx(mean * np.exp(1.959964 * se / mean), rel=1e-5)


def test_boundary_rate_has_no_standard_error_and_warns():
    # a component with rate exactly 0 (a point mass at zero) sits on the boundary
    x = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    data = _Tabulated(x, np.array([60.0, 40.0, 30.0, 15.0, 5.0]))
    model = PoissonMixtureModel(2)
    params = PoissonMixtureParams(np.array([0.3, 0.7]), np.array([0.0, 1.5]))
    with pytest.warns(BoundaryWarning, match=r"rates\[0\]"):
        cov = covariance(model, data, params)
    assert np.isnan(cov[2, 2])
    assert np.all(np.isfinite(cov[np.ix_([0, 1, 3], [0, 1, 3])]))
