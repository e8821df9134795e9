"""GaussianMixture with missing coordinates: every row with an observed value
is used, the estimates are unbiased and beat complete-case analysis, and
impute() returns conditional expectations."""

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from latentlab.mixtures import GaussianMixture, delete_at_random, simulate_gaussian_mixture

TRUTH = dict(
    weights=[0.4, 0.6],
    means=[[0.0, 0.0, 0.0], [2.5, 1.0, -1.0]],
    covariances=[np.eye(3), [[1.0, 0.5, 0.2], [0.5, 1.5, -0.3], [0.2, -0.3, 0.7]]],
)
START = dict(weights_init=TRUTH["weights"], means_init=np.array(TRUTH["means"]) + 0.3,
             precisions_init=np.linalg.inv(TRUTH["covariances"]))


def _with_missing(n, seed, fraction=0.3):
    X, z = simulate_gaussian_mixture(n, **TRUTH, random_state=seed)
    Xm = delete_at_random(X, fraction, random_state=seed + 1000)
    keep = ~np.isnan(Xm).all(axis=1)  # rows with nothing observed carry no information
    return X[keep], Xm[keep], z[keep]


def _align(gm):
    cost = ((gm.means_[:, None, :] - np.array(TRUTH["means"])[None]) ** 2).sum(axis=2)
    rows, cols = linear_sum_assignment(cost)
    return rows[np.argsort(cols)]


@pytest.fixture(scope="module")
def fits():
    X, Xm, _ = _with_missing(6000, 1)
    em = GaussianMixture(2, **START).fit(Xm)
    complete_case = GaussianMixture(2, **START).fit(Xm[~np.isnan(Xm).any(axis=1)])
    return X, Xm, em, complete_case


def test_no_row_with_an_observed_value_is_dropped(fits):
    _, Xm, em, _ = fits
    assert np.isnan(Xm).any(axis=1).mean() > 0.5  # most rows are incomplete
    assert em.n_obs_ == Xm.shape[0]
    scores = em.score_samples(Xm)
    assert np.all(np.isfinite(scores))
    # the fitted log-likelihood is the sum over every row, incomplete ones included
    np.testing.assert_allclose(em.loglik_, scores.sum(), rtol=1e-10)


def test_estimates_near_truth_and_beat_complete_case(fits):
    _, _, em, cc = fits
    for gm in (em, cc):
        gm.order_ = _align(gm)
    se_em = em.summary()["std_error"].to_numpy()
    se_cc = cc.summary()["std_error"].to_numpy()
    # means within 4 standard errors of the truth (the SEs are the fit's own,
    # checked against the engine's Hessian in test_gaussian_se.py)
    K, D = 2, 3
    se_means = se_em[K:K + K * D].reshape(K, D)[em.order_]
    assert np.all(np.abs(em.means_[em.order_] - TRUTH["means"]) < 4 * se_means)
    np.testing.assert_allclose(em.weights_[em.order_], TRUTH["weights"], atol=4 * se_em[:K].max())
    # complete-case analysis keeps 0.7^3 = 34% of the rows: its standard errors
    # are larger for every mean and weight
    assert np.all(se_em[:K + K * D] < se_cc[:K + K * D])


def test_impute_returns_conditional_expectations(fits):
    X, Xm, em, _ = fits
    filled = em.impute(Xm)
    observed = ~np.isnan(Xm)
    np.testing.assert_array_equal(filled[observed], Xm[observed])
    assert not np.isnan(filled).any()
    # conditional means beat column means as predictions of the deleted values
    hidden = ~observed
    col_means = np.nanmean(Xm, axis=0)
    err_cond = np.mean((filled[hidden] - X[hidden]) ** 2)
    err_col = np.mean((np.broadcast_to(col_means, X.shape)[hidden] - X[hidden]) ** 2)
    assert err_cond < 0.8 * err_col
    # one-component check against the closed form E[x_m | x_o] of a single Gaussian
    one = GaussianMixture(1, tol=1e-12).fit(Xm)
    row = np.array([[np.nan, 0.5, np.nan]])
    S, mu = one.covariances_[0], one.means_[0]
    o, m = [1], [0, 2]
    expected = mu[m] + S[np.ix_(m, o)] @ np.linalg.solve(S[np.ix_(o, o)], row[0, o] - mu[o])
    np.testing.assert_allclose(one.impute(row)[0, m], expected, rtol=1e-10)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_missing_rows_work_for_every_covariance_type(covariance_type):
    _, Xm, _ = _with_missing(800, 5)
    gm = GaussianMixture(2, covariance_type=covariance_type, random_state=0).fit(Xm)
    assert gm.converged_ and np.all(np.isfinite(gm.means_)) and np.all(np.isfinite(gm.predict_proba(Xm)))


def test_one_component_em_equals_closed_form_on_monotone_pattern():
    """With one component and a monotone pattern (x2 missing for some rows) the
    MLE is Anderson's (1957) closed form: regress x2 on x1 in complete rows."""
    rng = np.random.default_rng(3)
    X = rng.multivariate_normal([1.0, -2.0], [[2.0, 0.8], [0.8, 1.0]], size=400)
    Xm = X.copy()
    Xm[:150, 1] = np.nan
    gm = GaussianMixture(1, tol=1e-14, max_iter=10000, reg_covar=0.0).fit(Xm)
    x1, cc = X[:, 0], X[150:]
    mu1, s11 = x1.mean(), x1.var()
    beta = np.cov(cc[:, 0], cc[:, 1], bias=True)[0, 1] / cc[:, 0].var()
    alpha = cc[:, 1].mean() - beta * cc[:, 0].mean()
    resid = np.var(cc[:, 1] - alpha - beta * cc[:, 0])
    mu2 = alpha + beta * mu1
    s12, s22 = beta * s11, resid + beta**2 * s11
    np.testing.assert_allclose(gm.means_[0], [mu1, mu2], rtol=1e-7)
    np.testing.assert_allclose(gm.covariances_[0], [[s11, s12], [s12, s22]], rtol=1e-6)


@pytest.mark.slow
def test_replicates_unbiased_and_better_than_complete_case():
    """200 replicates, N=1000, 30% MCAR: the mean error of EM's estimates is
    within 3 Monte Carlo SEs of zero, and its RMSE is below complete case's."""
    err_em, err_cc = [], []
    for rep in range(200):
        _, Xm, _ = _with_missing(1000, 100 + rep)
        em = GaussianMixture(2, **START).fit(Xm)
        cc = GaussianMixture(2, **START).fit(Xm[~np.isnan(Xm).any(axis=1)])
        err_em.append((em.means_[_align(em)] - TRUTH["means"]).ravel())
        err_cc.append((cc.means_[_align(cc)] - TRUTH["means"]).ravel())
    err_em, err_cc = np.array(err_em), np.array(err_cc)
    bias, mcse = err_em.mean(axis=0), err_em.std(axis=0, ddof=1) / np.sqrt(len(err_em))
    print("bias", bias.round(4), "MCSE", mcse.round(4))
    print("RMSE EM", np.sqrt((err_em**2).mean(axis=0)).round(4), "CC", np.sqrt((err_cc**2).mean(axis=0)).round(4))
    assert np.all(np.abs(bias) < 3 * mcse)
    assert np.all((err_em**2).mean(axis=0) < (err_cc**2).mean(axis=0))
