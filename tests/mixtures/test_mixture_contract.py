"""Every mixture model keeps the engine's contract (latentlab.em.testing.check_model),
including statistics that add over two halves of the rows."""

import numpy as np
import pytest

from latentlab.em.testing import check_model
from latentlab.mixtures import simulate_gaussian_mixture
from latentlab.mixtures._gaussian_model import GaussianData, GaussianMixtureModel
from latentlab.mixtures._kmeans import KMeansModel, _KMeansData
from latentlab.mixtures.poisson import PoissonMixtureModel, _Tabulated


def test_poisson_mixture():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.poisson(1.0, 300), rng.poisson(6.0, 200)])
    values, freq = np.unique(x, return_counts=True)
    data = _Tabulated(values.astype(float), freq.astype(float))
    h = values.size // 2
    parts = [_Tabulated(data.values[:h], data.freq[:h]), _Tabulated(data.values[h:], data.freq[h:])]
    check_model(PoissonMixtureModel(3), data, parts=parts)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
@pytest.mark.parametrize("missing", [False, True])
def test_gaussian_mixture(covariance_type, missing):
    X, _ = simulate_gaussian_mixture(
        400, [0.4, 0.6], [[0.0, 0.0, 0.0], [3.0, 1.0, -1.0]], [np.eye(3), 0.5 * np.eye(3)], random_state=1
    )
    if missing:
        X[np.random.default_rng(2).random(X.shape) < 0.15] = np.nan
        X = X[~np.isnan(X).all(axis=1)]
    w = np.ones(X.shape[0])
    whole = GaussianData(X, w, covariance_type)
    parts = [GaussianData(X[:150], w[:150], covariance_type, shift=whole.shift),
             GaussianData(X[150:], w[150:], covariance_type, shift=whole.shift)]
    model = GaussianMixtureModel(2, 3, covariance_type, reg_covar=1e-6)
    check_model(model, whole, parts=parts, covariance_rtol=2e-3)


def test_kmeans():
    X, _ = simulate_gaussian_mixture(300, [0.5, 0.5], [[0.0, 0.0], [4.0, 4.0]], [np.eye(2), np.eye(2)], random_state=3)
    w = np.ones(X.shape[0])
    parts = [_KMeansData(X[:100], w[:100]), _KMeansData(X[100:], w[100:])]
    check_model(KMeansModel(2), _KMeansData(X, w), parts=parts)
