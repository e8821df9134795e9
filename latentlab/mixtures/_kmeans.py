"""k-means as hard EM, and the starting responsibilities of the Gaussian mixture.

k-means is the limit of EM for a mixture of spherical Gaussians with equal
weights and a common variance ``s2 -> 0``: the responsibilities become 0/1
("hard") assignments to the nearest centre, and the M-step averages the rows
assigned to each centre (Lloyd 1982; Bishop 2006, section 9.3.2). The objective
that this hard EM increases is the classification log-likelihood at unit
variance,

    l_hard(c) = -1/2 sum_i w_i min_k ||x_i - c_k||^2   (= -inertia / 2),

and each Lloyd step cannot lower it: the assignment step minimises over labels,
the mean step over centres. The engine's monotonicity guard holds it to that.
A centre that loses all its rows keeps its place.

Both start from k-means++ seeds (Arthur & Vassilvitskii 2007;
:func:`latentlab.emissions.kmeans_plusplus`, shared with the HMMs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._degenerate import warn_degenerate
from .._validation import as_array, check_finite, check_magnitude, check_n_components, check_sample_weight
from ..em import EMEstimator, EMModel, Real, Stats
from ..em.features import check_feature_names, feature_names, set_feature_names
from ..em.settings import engine_defaults
from ..emissions import kmeans_plusplus
from ..emissions import squared_distances as _sq_distances

__all__ = ["KMeans", "KMeansModel", "KMeansParams", "initial_responsibilities"]

#: engine settings: the engine's defaults with tol=1e-10, max_iter=300 (scikit-learn's max_iter; Lloyd's steps end exactly, so a tight tol costs nothing)
_ENGINE = engine_defaults(tol=1e-10, max_iter=300)


def initial_responsibilities(X, weights, k: int, init: str, rng: np.random.Generator) -> np.ndarray:
    """Starting responsibilities: rows assigned to the nearest k-means++ seed
    (``"kmeans++"``) or uniform random responsibilities (``"random"``, as
    scikit-learn's ``init_params="random"``)."""
    if init == "random":
        resp = rng.uniform(size=(X.shape[0], k))
        return resp / resp.sum(axis=1, keepdims=True)
    seeds = X[kmeans_plusplus(X, k, weights, rng)]
    resp = np.zeros((X.shape[0], k))
    resp[np.arange(X.shape[0]), _sq_distances(X, seeds).argmin(axis=1)] = 1.0
    return resp


@dataclass(frozen=True)
class KMeansParams:
    centers: np.ndarray  # (K, D)


@dataclass(frozen=True)
class _KMeansData:
    X: np.ndarray
    weights: np.ndarray


@dataclass(frozen=True)
class _KMeansStats(Stats):
    counts: np.ndarray  # (K,) weight assigned to each centre
    sums: np.ndarray  # (K, D) weighted sums of the assigned rows


class KMeansModel(EMModel):
    """Hard EM for the equal-weight, common-variance spherical mixture (module docstring)."""

    params_type = KMeansParams
    constraints = {"centers": Real()}

    def __init__(self, n_clusters: int):
        self.n_clusters = n_clusters

    def initialize(self, data: _KMeansData, rng) -> KMeansParams:
        return KMeansParams(data.X[kmeans_plusplus(data.X, self.n_clusters, data.weights, rng)].copy())

    def e_step(self, data: _KMeansData, params: KMeansParams):
        d2 = _sq_distances(data.X, params.centers)
        labels = d2.argmin(axis=1)
        onehot = np.zeros_like(d2)
        onehot[np.arange(d2.shape[0]), labels] = data.weights
        stats = _KMeansStats(onehot.sum(axis=0), onehot.T @ data.X)
        return stats, -0.5 * float(data.weights @ d2[np.arange(d2.shape[0]), labels])

    def m_step(self, stats: _KMeansStats, current: KMeansParams, fixed=None) -> KMeansParams:
        """Each centre moves to the mean of its rows; an empty one stays put."""
        empty = stats.counts <= 0
        centers = stats.sums / np.where(empty, 1.0, stats.counts)[:, None]
        return KMeansParams(np.where(empty[:, None], current.centers, centers))


class KMeans(EMEstimator):
    """k-means fitted as hard EM on the latentlab engine (for comparison with
    :class:`GaussianMixture`; module docstring).

    Parameters: ``n_clusters``; ``n_init``, ``max_iter``, ``tol``,
    ``random_state`` as for :func:`latentlab.em.fit_em`.

    Attributes after ``fit``: ``cluster_centers_`` (K, D), ``labels_``,
    ``inertia_`` (weighted within-cluster sum of squares).
    """

    _estimator_type = "clusterer"

    def __init__(self, n_clusters: int = 2, *, n_init: int = _ENGINE["n_init"], max_iter: int = _ENGINE["max_iter"], tol: float = _ENGINE["tol"],
                 random_state=None):
        self.n_clusters = n_clusters
        self._set_engine_settings(tol=tol, max_iter=max_iter, n_init=n_init, random_state=random_state)

    def _rows(self, X) -> np.ndarray:
        X = check_magnitude(check_finite(as_array(X, "X", ndim=2), "X"), "X")
        if hasattr(self, "cluster_centers_") and X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but KMeans is expecting {self.n_features_in_} features as input")
        return X

    def fit(self, X, y=None, sample_weight=None) -> KMeans:
        """Lloyd's hard EM from k-means++ seeds; ``y`` is ignored (scikit-learn's signature)."""
        names = feature_names(X)
        X = check_magnitude(check_finite(as_array(X, "X", ndim=2), "X"), "X")
        w = check_sample_weight(sample_weight, X.shape[0], "sample_weight")
        k = check_n_components(self.n_clusters, int(np.count_nonzero(w)), "rows with positive weight")
        self._shift = np.average(X, axis=0, weights=w)  # centred: the distance expansion keeps its precision
        result = self._fit_em(KMeansModel(k), _KMeansData(X - self._shift, w), n_obs=X.shape[0])
        set_feature_names(self, names, X.shape[1])
        self.cluster_centers_ = result.params.centers + self._shift
        self.labels_ = self.predict(X)
        self.inertia_ = -2.0 * result.loglik
        scale = np.sqrt(np.average((X - self._shift) ** 2, axis=0, weights=w))  # a cluster's SD at most
        sizes = np.bincount(self.labels_, weights=w, minlength=k) / w.sum()
        warn_degenerate("KMeans", "cluster", (self.cluster_centers_ - self._shift) / np.where(scale > 0, scale, 1.0),
                        sizes)
        return self

    def _no_likelihood(self, *args, **kwargs):
        raise NotImplementedError(
            "k-means is hard EM with no likelihood, so it has no summary(), aic() or bic(); "
            "use GaussianMixture for estimates with standard errors and information criteria"
        )

    summary = aic = bic = _no_likelihood

    def predict(self, X) -> np.ndarray:
        """Index of the nearest centre of each row."""
        return self._sq_distances(X).argmin(axis=1)

    def fit_predict(self, X, y=None, sample_weight=None) -> np.ndarray:
        """Fit, then the cluster of each row (``labels_``)."""
        return self.fit(X, sample_weight=sample_weight).labels_

    def fit_transform(self, X, y=None, sample_weight=None) -> np.ndarray:
        """Fit, then the distances of each row to each centre."""
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def transform(self, X) -> np.ndarray:
        """Distance of each row to each centre, shape (n, K)."""
        return np.sqrt(self._sq_distances(X))

    def score(self, X, y=None, sample_weight=None) -> float:
        """Minus the weighted within-cluster sum of squares of ``X`` (scikit-learn's sign)."""
        d2 = self._sq_distances(X).min(axis=1)
        return -float(check_sample_weight(sample_weight, d2.size, "sample_weight") @ d2)

    def _sq_distances(self, X) -> np.ndarray:
        self._check_fitted()
        check_feature_names(self, X)
        return _sq_distances(self._rows(X) - self._shift, self.cluster_centers_ - self._shift)
