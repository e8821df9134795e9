"""GaussianMixture: parity with scikit-learn, recovery of a simulated truth,
model selection, sample weights, degenerate data and bad inputs."""

import warnings

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment
from sklearn.mixture import GaussianMixture as SkGaussianMixture

from latentlab import ConvergenceWarning
from latentlab.mixtures import GaussianMixture, select_gaussian_mixture, simulate_gaussian_mixture

TRUTH = dict(
    weights=[0.3, 0.3, 0.4],
    means=[[0.0, 0.0], [4.5, 0.5], [1.0, 5.0]],
    covariances=[np.eye(2), [[1.0, 0.6], [0.6, 0.8]], [[0.4, -0.2], [-0.2, 1.0]]],
)

#: closer means: EM is still moving after 25 steps, so parity is tested on moving iterates
OVERLAPPING = dict(TRUTH, means=[[0.0, 0.0], [3.0, 1.0], [1.0, 4.0]])


@pytest.fixture(scope="module")
def data5000():
    return simulate_gaussian_mixture(5000, **TRUTH, random_state=11)


def _match(est_means, true_means):
    """Permutation of the estimated components that best matches the truth."""
    cost = ((np.asarray(est_means)[:, None, :] - np.asarray(true_means)[None]) ** 2).sum(axis=2)
    rows, cols = linear_sum_assignment(cost)
    return rows[np.argsort(cols)]


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_parity_with_scikit_learn(covariance_type):
    # shifted away from the origin, so the centring of the features matters
    X, _ = simulate_gaussian_mixture(1500, **OVERLAPPING, random_state=1)
    X = X + 30.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = SkGaussianMixture(3, covariance_type=covariance_type, max_iter=1, random_state=0).fit(X)
        init = dict(weights_init=start.weights_, means_init=start.means_, precisions_init=start.precisions_)
        n_iter = 25
        sk = SkGaussianMixture(3, covariance_type=covariance_type, max_iter=n_iter, tol=0.0, **init).fit(X)
        ours = GaussianMixture(3, covariance_type=covariance_type, max_iter=n_iter, tol=1e-300, **init).fit(X)
    assert ours.n_iter_ == sk.n_iter_ == n_iter
    # the thresholds: mean log-likelihood 1e-8, means 1e-6 (both are
    # double-precision computations of the same iterates)
    assert abs(ours.loglik_ / X.shape[0] - sk.score(X)) < 1e-8
    np.testing.assert_allclose(ours.means_, sk.means_, atol=1e-6, rtol=0)
    np.testing.assert_allclose(ours.weights_, sk.weights_, atol=1e-8, rtol=0)
    np.testing.assert_allclose(ours.covariances_, sk.covariances_, atol=1e-6, rtol=0)
    np.testing.assert_allclose(ours.predict_proba(X), sk.predict_proba(X), atol=1e-6)
    assert abs(ours.bic() - sk.bic(X)) < 1e-5 * abs(sk.bic(X))


def test_recovery_of_simulated_truth(data5000):
    X, z = data5000
    gm = GaussianMixture(3, n_init=3, random_state=0).fit(X)
    assert gm.converged_
    order = _match(gm.means_, TRUTH["means"])
    # standard errors at N=5000 (the fit's own summary(), overlap included): means
    # 0.014-0.028, weights ~0.007, so 0.1 and 0.03 are about 3.6 and 4 SE
    np.testing.assert_allclose(gm.means_[order], TRUTH["means"], atol=0.1)
    np.testing.assert_allclose(gm.weights_[order], TRUTH["weights"], atol=0.03)
    # covariances: an entry's SE is ~ sd^2 * sqrt(2 / 1500) <= 0.04
    np.testing.assert_allclose(gm.covariances_[order], TRUTH["covariances"], atol=0.15)
    # labels agree with the truth for well over 90% of rows
    assert np.mean(np.argsort(order)[gm.predict(X)] == z) > 0.9


def test_bic_selects_three_components(data5000):
    X, _ = data5000
    table = select_gaussian_mixture(X, n_components=range(1, 6), covariance_types=("full",), n_init=2,
                                    accelerate="squarem", random_state=0)
    assert table.loc[0, "n_components"] == 3 and table.loc[0, "best"]
    assert list(table.columns) == ["n_components", "covariance_type", "loglik", "n_parameters", "bic",
                                   "aic", "converged", "min_variance", "degenerate", "best"]
    assert not table["degenerate"].any()
    assert table["bic"].is_monotonic_increasing
    # parameter count as scikit-learn: 3 weights - 1 + 6 means + 3 * 3 covariance entries
    assert table.set_index("n_components").loc[3, "n_parameters"] == 2 + 6 + 9


def test_selection_skips_a_degenerate_spike():
    """Integer-valued data let a component sit on tied rows, held only by
    reg_covar: its huge likelihood must not win the selection."""
    rng = np.random.default_rng(8)
    X = np.vstack([rng.normal(0, 1, size=(200, 2)), np.column_stack([rng.normal(3, 1, 20), np.full(20, 2.0)])])
    table = select_gaussian_mixture(X, n_components=[1, 2], covariance_types=("diag",), random_state=0,
                                    n_init=3)
    spike = table[(table["n_components"] == 2)].iloc[0]
    assert spike["degenerate"] and spike["min_variance"] <= 1e-5
    assert table.loc[table["best"], "n_components"].item() == 1


def test_integer_weights_equal_repeated_rows():
    X, _ = simulate_gaussian_mixture(300, **TRUTH, random_state=2)
    counts = np.random.default_rng(3).integers(0, 4, X.shape[0])
    init = dict(weights_init=[0.3, 0.3, 0.4], means_init=TRUTH["means"],
                precisions_init=np.linalg.inv(TRUTH["covariances"]))
    weighted = GaussianMixture(3, **init, tol=1e-12).fit(X, sample_weight=counts)
    repeated = GaussianMixture(3, **init, tol=1e-12).fit(np.repeat(X, counts, axis=0))
    np.testing.assert_allclose(weighted.means_, repeated.means_, atol=1e-9)
    np.testing.assert_allclose(weighted.covariances_, repeated.covariances_, atol=1e-9)
    np.testing.assert_allclose(weighted.loglik_, repeated.loglik_, rtol=1e-10)
    # weights are frequencies, so the BIC's n is their sum, as for the repeated rows
    assert weighted.n_obs_ == repeated.n_obs_ == counts.sum()
    assert weighted.bic() == pytest.approx(repeated.bic(), rel=1e-10)


def test_squarem_reaches_the_same_optimum(data5000):
    X, _ = data5000
    plain = GaussianMixture(3, random_state=4, tol=1e-10).fit(X)
    fast = GaussianMixture(3, random_state=4, tol=1e-10, accelerate="squarem").fit(X)
    assert fast.converged_ and fast.result_.n_evals < plain.result_.n_evals
    assert abs(fast.loglik_ - plain.loglik_) < 1e-6 * abs(plain.loglik_)


def test_collapsed_component_is_held_by_reg_covar():
    rng = np.random.default_rng(5)
    X = np.vstack([rng.normal(size=(200, 2)), np.tile([5.0, 5.0], (30, 1))])  # 30 identical rows
    gm = GaussianMixture(2, random_state=0).fit(X)
    assert np.all(np.isfinite(gm.covariances_)) and np.all(np.isfinite(gm.means_))
    k = np.argmin(np.linalg.det(gm.covariances_))
    np.testing.assert_allclose(gm.covariances_[k], 1e-6 * np.eye(2), rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(gm.means_[k], [5.0, 5.0])
    assert np.isfinite(gm.loglik_)


def test_sample_score_and_attributes(data5000):
    X, _ = data5000
    gm = GaussianMixture(3, covariance_type="diag", random_state=0).fit(X)
    np.testing.assert_allclose(gm.score(X), gm.loglik_ / X.shape[0], rtol=1e-10)
    np.testing.assert_allclose(gm.precisions_, 1.0 / gm.covariances_)
    draws, comp = gm.sample(2000, random_state=1)
    assert draws.shape == (2000, 2) and comp.max() < 3
    np.testing.assert_allclose(gm.bic(X), gm.bic(), rtol=1e-10)
    np.testing.assert_allclose(gm.aic(X), gm.aic(), rtol=1e-10)
    assert gm.aic() == pytest.approx(-2 * gm.loglik_ + 2 * (2 + 6 + 6))


def test_summary_has_standard_errors(data5000):
    X, _ = data5000
    gm = GaussianMixture(3, random_state=0).fit(X[:1500])
    table = gm.summary()
    assert list(table.columns) == ["parameter", "estimate", "std_error", "ci_lower", "ci_upper"]
    assert len(table) == 3 + 6 + 12
    assert np.all(np.isfinite(table["std_error"])) and np.all(table["std_error"] > 0)


def test_max_iter_warns():
    X, _ = simulate_gaussian_mixture(500, **TRUTH, random_state=6)
    with pytest.warns(ConvergenceWarning):
        GaussianMixture(3, max_iter=2, random_state=0).fit(X)


@pytest.mark.parametrize(
    "kwargs, X, match",
    [
        (dict(n_components=5), np.zeros((3, 2)) + np.arange(3)[:, None], "n_components=5 is more than the 3"),
        (dict(covariance_type="banana"), np.ones((5, 2)), "covariance_type"),
        (dict(reg_covar=-1.0), np.ones((5, 2)), "reg_covar"),
        (dict(init="kmeans"), np.ones((5, 2)), "init must be"),
        (dict(n_components=2), np.array([[1.0, 2.0], [np.nan, np.nan], [3.0, 1.0]]), "row 1"),
        (dict(n_components=2), np.array([[1.0, 2.0], [np.inf, 0.0], [3.0, 1.0]]), "infinite"),
        (dict(n_components=2, means_init=np.zeros((3, 2))), np.eye(4)[:, :2], r"means_init must have shape \(2, 2\)"),
        (dict(n_components=2, weights_init=[0.5, 0.6]), np.eye(4)[:, :2], "sum to 1"),
        (dict(n_components=2, precisions_init=np.ones((2, 2, 2))), np.eye(4)[:, :2], "positive definite"),
        (dict(n_components=2, covariance_type="diag", precisions_init=np.ones((2, 3))), np.eye(4)[:, :2], "shape"),
    ],
)
def test_bad_inputs(kwargs, X, match):
    with pytest.raises(ValueError, match=match):
        GaussianMixture(**kwargs).fit(X)


def test_predict_dimension_mismatch_and_unfitted():
    X, _ = simulate_gaussian_mixture(100, **TRUTH, random_state=7)
    gm = GaussianMixture(2, random_state=0)
    with pytest.raises(AttributeError, match="not fitted"):
        gm.predict(X)
    gm.fit(X)
    with pytest.raises(ValueError, match="X has 3 features, but GaussianMixture is expecting 2 features"):
        gm.predict(np.ones((4, 3)))
    with pytest.raises(ValueError, match="sample_weight has length"):
        gm.fit(X, sample_weight=np.ones(5))
