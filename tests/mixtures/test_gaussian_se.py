"""Standard errors of GaussianMixture: the model's observed information (the
analytic score differentiated once) against the engine's second differences of
the log-likelihood in log-Cholesky coordinates, an independent route."""

import numpy as np
import pytest

from latentlab.em import covariance
from latentlab.mixtures import GaussianMixture, delete_at_random, simulate_gaussian_mixture
from latentlab.mixtures._gaussian_model import GaussianMixtureModel
from latentlab.mixtures._gaussian_se import total_score


class _EngineHessian(GaussianMixtureModel):
    """The same model without its analytic covariance: the engine differentiates."""

    def analytic_covariance(self, data, params):
        return None


TRUTH = dict(weights=[0.4, 0.6], means=[[0.0, 0.0], [2.5, 1.0]],
             covariances=[np.eye(2), [[1.0, 0.5], [0.5, 1.5]]])


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
@pytest.mark.parametrize("fraction_missing", [0.0, 0.3])
def test_observed_information_matches_engine_hessian(covariance_type, fraction_missing):
    X, _ = simulate_gaussian_mixture(1000, **TRUTH, random_state=0)
    X = delete_at_random(X, fraction_missing, random_state=1)
    X = X[~np.isnan(X).all(axis=1)]
    gm = GaussianMixture(2, covariance_type=covariance_type, tol=1e-13, max_iter=20000,
                         accelerate="squarem", random_state=0).fit(X)
    params = gm.result_.params
    engine = _EngineHessian(2, 2, covariance_type, gm.reg_covar)
    se_engine = np.sqrt(np.diag(covariance(engine, gm._data, params)))
    se_model = gm.summary()["std_error"].to_numpy()
    # both are finite-difference estimates of the same matrix; the engine's
    # second differences carry relative error ~ eps^(1/2) ~ 1e-8 / curvature,
    # i.e. well below 1e-3 here
    np.testing.assert_allclose(se_model, se_engine, rtol=2e-3)


def test_score_vanishes_at_the_mle():
    X, _ = simulate_gaussian_mixture(1000, **TRUTH, random_state=2)
    gm = GaussianMixture(2, tol=1e-14, max_iter=20000, accelerate="squarem", random_state=0).fit(X)
    score = total_score(gm.model_, gm._data, gm.result_.params)
    # relative to the typical size of one row's score times sqrt(n)
    assert np.max(np.abs(score)) < 1e-3


@pytest.mark.slow
def test_standard_errors_match_monte_carlo_spread():
    """200 replicates of N=1000: the mean reported SE of each mean and weight
    is within 15% of the Monte Carlo SD of the estimates (SD of an SD estimate
    from 200 draws is ~5%, so 15% is 3 of those)."""
    est, ses = [], []
    start = dict(weights_init=TRUTH["weights"], means_init=TRUTH["means"],
                 precisions_init=np.linalg.inv(TRUTH["covariances"]))
    for rep in range(200):
        X, _ = simulate_gaussian_mixture(1000, **TRUTH, random_state=500 + rep)
        gm = GaussianMixture(2, **start).fit(X)
        table = gm.summary()
        est.append(table["estimate"].to_numpy()[:6])
        ses.append(table["std_error"].to_numpy()[:6])
    sd, mean_se = np.std(est, axis=0, ddof=1), np.mean(ses, axis=0)
    print("MC SD", sd.round(4), "mean SE", mean_se.round(4))
    np.testing.assert_allclose(mean_se, sd, rtol=0.15)


def test_one_component_standard_errors_are_the_closed_form():
    """K=1: SE(mean) = sigma / sqrt(n) and SE(variance) = sigma^2 sqrt(2 / n)."""
    X = np.random.default_rng(4).normal(2.0, 1.5, size=(400, 1))
    gm = GaussianMixture(1, reg_covar=0.0, tol=1e-14).fit(X)
    var, n = X.var(), X.shape[0]
    se = gm.summary().set_index("parameter")["std_error"]
    np.testing.assert_allclose(se["means[0, 0]"], np.sqrt(var / n), rtol=1e-5)
    np.testing.assert_allclose(se["covariances[0, 0, 0]"], var * np.sqrt(2.0 / n), rtol=1e-5)
