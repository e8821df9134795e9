"""Plain EM for the Gaussian mixture never lowers the log-likelihood (beyond
the bound proven for reg_covar, see _gaussian_model), with missing values and
sample weights, for every covariance type; and k-means as hard EM."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.cluster import KMeans as SkKMeans

from latentlab import ConvergenceWarning
from latentlab.em import fit_em
from latentlab.mixtures import GaussianMixture, KMeans, delete_at_random
from latentlab.mixtures._kmeans import KMeansModel, KMeansParams, _KMeansData


@settings(max_examples=20, deadline=None, derandomize=True)
@given(
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(30, 200),
    d=st.integers(1, 4),
    k=st.integers(1, 4),
    covariance_type=st.sampled_from(["full", "tied", "diag", "spherical"]),
    fraction_missing=st.sampled_from([0.0, 0.2, 0.4]),
    weighted=st.booleans(),
    reg_covar=st.sampled_from([1e-6, 1e-3, 0.1]),
)
def test_plain_em_trace_never_decreases(seed, n, d, k, covariance_type, fraction_missing, weighted, reg_covar):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) + 3.0 * rng.integers(0, 2, size=(n, 1))
    X = delete_at_random(X, fraction_missing, random_state=rng)
    X = X[~np.isnan(X).all(axis=1)]
    if X.shape[0] < k:
        return
    w = rng.gamma(1.0, size=X.shape[0]) if weighted else None
    gm = GaussianMixture(k, covariance_type=covariance_type, reg_covar=reg_covar, max_iter=60,
                         random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm.fit(X, sample_weight=w)  # the engine's guard raises MonotonicityError on a fall
    assert gm.model_.monotone_rtol == 1e-10  # the guard was not loosened
    smallest_variance = np.linalg.eigvalsh(gm.covariance_matrices_).min()
    if reg_covar == 1e-6 and smallest_variance >= 0.5:
        # the proven bound sum_k n_k/2 sum_j (reg/lambda_j)^2 / 2 is below 1e-10
        # relative when no fitted variance is under 0.5 (reg/lambda <= 2e-6), as for
        # these unit-variance clusters, so the trace itself must not fall beyond
        # round-off; a component collapsing onto a few points (small lambda) is
        # covered by the guard with the model's slack instead
        trace = gm.result_.trace
        assert np.all(np.diff(trace) >= -1e-10 * (1.0 + np.abs(trace[:-1])))
    assert np.all(np.isfinite(gm.means_)) and np.all(np.isfinite(gm.covariances_))


def test_kmeans_hard_em_matches_scikit_learn_lloyd():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(c, 0.8, size=(150, 2)) for c in ([0, 0], [4, 0], [2, 3])])
    centers0 = X[[0, 200, 400]] + 0.5
    ours = fit_em(KMeansModel(3), _KMeansData(X, np.ones(len(X))), init_params=KMeansParams(centers0), tol=1e-14)
    sk = SkKMeans(3, init=centers0, n_init=1, algorithm="lloyd", tol=0.0).fit(X)
    np.testing.assert_allclose(ours.params.centers, sk.cluster_centers_, atol=1e-10)
    np.testing.assert_allclose(-2.0 * ours.loglik, sk.inertia_, rtol=1e-10)
    assert np.all(np.diff(ours.trace) >= 0)  # the hard-EM objective never falls


def test_kmeans_estimator_and_hard_limit_of_the_mixture():
    """k-means is EM for equal-weight spherical mixtures as the variance goes to
    0: on well separated clusters its partition equals the mixture's."""
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(c, 0.5, size=(100, 2)) for c in ([0, 0], [5, 0], [0, 5])])
    km = KMeans(3, n_init=3, random_state=0).fit(X)
    gm = GaussianMixture(3, covariance_type="spherical", random_state=0).fit(X)
    same_km = km.labels_[:, None] == km.labels_[None, :]
    same_gm = gm.predict(X)[:, None] == gm.predict(X)[None, :]
    np.testing.assert_array_equal(same_km, same_gm)  # the same partition, up to labels
    assert km.inertia_ > 0 and km.cluster_centers_.shape == (3, 2)
    with pytest.raises(ValueError, match="non-finite"):
        KMeans(2).fit(np.array([[0.0, np.nan], [1.0, 1.0], [2.0, 2.0]]))
    with pytest.raises(ValueError, match="X has 3 features, but KMeans is expecting 2"):
        km.predict(np.ones((2, 3)))


def test_kmeans_has_no_likelihood_summary():
    X = np.random.default_rng(2).normal(size=(40, 2)) + 100.0
    km = KMeans(2, random_state=0).fit(X)
    for method in (km.summary, km.aic, km.bic):
        with pytest.raises(NotImplementedError, match="no likelihood"):
            method()
