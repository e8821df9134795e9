"""Finite mixtures of multivariate Gaussians: the estimator, simulation and
model selection.

:class:`GaussianMixture` follows scikit-learn's ``GaussianMixture`` (the same
constructor arguments where they exist, the same fitted attribute names, the
same EM step — so the same iterates from the same start) and adds what it
lacks: rows with missing coordinates (integrated out, not imputed),
``sample_weight``, SQUAREM acceleration, standard errors and the engine's one
convergence rule. The E- and M-steps and their references are in
:mod:`._gaussian_model` and :mod:`._gaussian_missing`; standard errors in
:mod:`._gaussian_se`; k-means as hard EM in :mod:`._kmeans`.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pandas as pd

from .._degenerate import gaussian_signature, warn_degenerate
from .._validation import (
    as_array,
    check_finite,
    check_magnitude,
    check_n_components,
    check_observed_columns,
    check_observed_rows,
    check_sample_weight,
    check_simplex,
)
from ..em import EMEstimator, PositiveDefinite, as_generator
from ..em.features import check_feature_names, feature_labels, feature_names, set_feature_names
from ..em.partitions import PartitionedModel, is_dask_collection
from ..em.settings import engine_defaults
from . import _gaussian_missing as missing
from ._gaussian_model import COVARIANCE_TYPES, GaussianData, GaussianMixtureModel, GaussianMixtureParams

__all__ = ["GaussianMixture", "simulate_gaussian_mixture", "delete_at_random", "select_gaussian_mixture"]

#: engine settings: the engine's defaults
_ENGINE = engine_defaults()


#: the axes of the stored covariances that run over the features, by covariance type
_FEATURE_AXES = {"full": (1, 2), "tied": (0, 1), "diag": (1,), "spherical": ()}


def _check_covariance_type(covariance_type: str) -> str:
    if covariance_type not in COVARIANCE_TYPES:
        raise ValueError(f"covariance_type must be one of {COVARIANCE_TYPES}; got {covariance_type!r}")
    return covariance_type


def _covariance_shape(covariance_type: str, k: int, d: int) -> tuple[int, ...]:
    return {"full": (k, d, d), "tied": (d, d), "diag": (k, d), "spherical": (k,)}[covariance_type]


def _check_covariances(cov, covariance_type: str, k: int, d: int, name: str) -> np.ndarray:
    """Covariances (or precisions) of the shape scikit-learn uses for the type,
    positive definite (positive for diag/spherical)."""
    c = check_finite(as_array(cov, name), name)
    shape = _covariance_shape(covariance_type, k, d)
    if c.shape != shape:
        raise ValueError(f"{name} must have shape {shape} for covariance_type={covariance_type!r}; got {c.shape}")
    ok = PositiveDefinite().is_valid(c) if covariance_type in ("full", "tied") else bool(np.all(c > 0))
    if not ok:
        raise ValueError(f"{name} must be {'symmetric positive definite' if c.ndim >= 2 else 'positive'}")
    return c


def _invert(c: np.ndarray, covariance_type: str) -> np.ndarray:
    return np.linalg.inv(c) if covariance_type in ("full", "tied") else 1.0 / c


class GaussianMixture(EMEstimator):
    """Mixture of ``n_components`` multivariate Gaussians fitted by EM.

    Parameters
    ----------
    n_components : number of components K (at most the number of rows).
    covariance_type : ``"full"``, ``"tied"``, ``"diag"`` or ``"spherical"``.
    init : ``"kmeans++"`` (rows assigned to the nearest of K k-means++ seeds,
        then one M-step) or ``"random"`` (uniform random responsibilities).
    weights_init, means_init, precisions_init : starting values in
        scikit-learn's shapes; each replaces its part of the drawn start in
        every restart.
    reg_covar : added to the diagonal of every covariance in the M-step (as in
        scikit-learn); holds a component that collapses onto a point. See
        :mod:`._gaussian_model` for how the monotonicity guard accounts for it.
    tol, max_iter, n_init, accelerate, random_state, progress : passed to
        :func:`latentlab.em.fit_em` (its convergence rule: a relative change of
        the total log-likelihood below ``tol``).

    Attributes (after ``fit``)
    --------------------------
    weights_, means_, covariances_, precisions_ : as scikit-learn.
    result_ : the :class:`~latentlab.EMResult`; ``loglik_``, ``n_iter_``,
        ``converged_`` mirror it.

    Missing values: NaN marks a missing coordinate. Rows with at least one
    observed coordinate are all used; the E-step integrates the missing ones
    out. Rows with none raise an error.

    Example
    -------
    >>> import numpy as np
    >>> from latentlab.mixtures import GaussianMixture, simulate_gaussian_mixture
    >>> X, z = simulate_gaussian_mixture(
    ...     500, [0.4, 0.6], [[0, 0], [4, 4]], [np.eye(2), np.eye(2)], random_state=0)
    >>> gm = GaussianMixture(2, random_state=0).fit(X)
    >>> np.sort(gm.weights_).round(1)
    array([0.4, 0.6])
    """

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: str = "full",
        init: str = "kmeans++",
        weights_init=None,
        means_init=None,
        precisions_init=None,
        reg_covar: float = 1e-6,
        tol: float = _ENGINE["tol"],
        max_iter: int = _ENGINE["max_iter"],
        n_init: int = _ENGINE["n_init"],
        accelerate: str | None = _ENGINE["accelerate"],
        random_state=None,
        progress: bool | None = _ENGINE["progress"],
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.init = init
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.reg_covar = reg_covar
        self._set_engine_settings(
            tol=tol, max_iter=max_iter, n_init=n_init,
            accelerate=accelerate, random_state=random_state, progress=progress,
        )

    _estimator_type = "density_estimator"
    _allow_nan = True  # NaN marks a missing coordinate, integrated out

    # -- input ------------------------------------------------------------------
    def _rows(self, X) -> np.ndarray:
        self._check_fitted()
        check_feature_names(self, X)
        X = check_observed_rows(as_array(X, "X", ndim=2), "X")
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but GaussianMixture is expecting {self.n_features_in_} features as input"
            )
        return X

    def _user_init(self, k: int, d: int) -> dict:
        out = {}
        if self.weights_init is not None:
            out["weights"] = check_simplex(self.weights_init, "weights_init", k)
        if self.means_init is not None:
            means = check_finite(as_array(self.means_init, "means_init", ndim=2), "means_init")
            if means.shape != (k, d):
                raise ValueError(f"means_init must have shape {(k, d)}; got {means.shape}")
            out["means"] = means
        if self.precisions_init is not None:
            prec = _check_covariances(self.precisions_init, self.covariance_type, k, d, "precisions_init")
            out["covariances"] = _invert(prec, self.covariance_type)
        return out

    def _check_settings(self):
        _check_covariance_type(self.covariance_type)
        if self.init not in ("kmeans++", "random"):
            raise ValueError(f"init must be 'kmeans++' or 'random'; got {self.init!r}")
        if not (isinstance(self.reg_covar, (int, float)) and np.isfinite(self.reg_covar) and self.reg_covar >= 0):
            raise ValueError(f"reg_covar must be a non-negative number; got {self.reg_covar!r}")

    # -- fitting ------------------------------------------------------------------
    def fit(self, X, y=None, sample_weight=None) -> GaussianMixture:
        """Fit by EM; rows may have missing (NaN) coordinates, and
        ``sample_weight`` (non-negative, one per row) weights each row's
        log-likelihood. ``y`` is ignored (scikit-learn's signature). A
        DataFrame's column names are kept (``feature_names_in_``) and label
        the summary and the outputs.

        ``X`` may be a Dask array chunked along its rows: each chunk is a
        partition whose E-step runs where it lives, on the active
        ``dask.distributed`` client if there is one (in this process
        otherwise), kept in memory when it fits and read from its source at
        every pass when it does not (:mod:`latentlab.em.partitions`,
        ``docs/scale.md``). The result equals the fit of the same rows in
        memory from the same start."""
        self._check_settings()
        if is_dask_collection(X):
            return self._fit_partitions(X, sample_weight)
        names = feature_names(X)
        X = check_magnitude(check_observed_columns(check_observed_rows(as_array(X, "X", ndim=2), "X"), "X"), "X")
        w = check_sample_weight(sample_weight, X.shape[0], "sample_weight")
        k = check_n_components(self.n_components, int(np.count_nonzero(w)), "rows with positive weight")
        d = X.shape[1]
        model, start = self._model_and_start(k, d)
        data = GaussianData(X, w, self.covariance_type)
        self._shift = data.shift
        result = self._fit_em(model, data, n_obs=float(w.sum()), init_params=start)  # weights count as frequencies
        set_feature_names(self, names, d)
        return self._set_fitted(model, result.params)

    def _fit_partitions(self, X, sample_weight) -> GaussianMixture:
        """:meth:`fit` on a Dask array: the rows centred at the observed column
        means (one pass), each chunk a partition (:class:`PartitionedModel`)."""
        import dask.array as da

        if sample_weight is not None:
            raise TypeError("sample_weight is not supported with a Dask array X: fit the rows repeated, or in memory")
        if not isinstance(X, da.Array) or X.ndim != 2:
            raise TypeError(f"X must be a 2-d Dask array (or an in-memory table); got {type(X).__name__}")
        if any(np.isnan(X.shape)):
            raise ValueError("X has chunks of unknown size; call X.compute_chunk_sizes() first")
        n, d = X.shape
        k = check_n_components(self.n_components, n, "rows")
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-missing column is reported below
            shift = np.asarray(da.nanmean(X.astype(float), axis=0).compute())
        if np.isnan(shift).any():
            raise ValueError(f"X: column {int(np.flatnonzero(np.isnan(shift))[0])} has no observed value")
        model, start = self._model_and_start(k, d)
        parts = self._partitions(X, functools.partial(_partition, covariance_type=self.covariance_type, shift=shift))
        self._shift = shift
        result = self._fit_em(PartitionedModel(model), parts, n_obs=float(n), init_params=start)
        set_feature_names(self, None, d)
        return self._set_fitted(model, result.params)

    def _model_and_start(self, k: int, d: int) -> tuple[GaussianMixtureModel, GaussianMixtureParams | None]:
        """The model, and the start when the user gave all of it (a complete
        user start needs no draw, as in scikit-learn; later restarts still draw)."""
        user_init = self._user_init(k, d)
        model = GaussianMixtureModel(k, d, self.covariance_type, float(self.reg_covar), self.init, user_init)
        return model, (GaussianMixtureParams(**user_init) if len(user_init) == 3 else None)

    def _set_fitted(self, model: GaussianMixtureModel, p: GaussianMixtureParams) -> GaussianMixture:
        self.weights_, self.means_, self.covariances_ = p.weights, p.means, p.covariances
        self.precisions_ = _invert(p.covariances, self.covariance_type)
        warn_degenerate(model.name, "component", gaussian_signature(p.means, np.diagonal(model.full_covariances(p), axis1=1, axis2=2)), p.weights)
        return self

    # -- use ------------------------------------------------------------------------
    @property
    def covariance_matrices_(self) -> np.ndarray:
        """The fitted covariances as a (K, D, D) stack, whatever ``covariance_type``."""
        self._check_fitted()
        return self.model_.full_covariances(self.result_.params)

    def _log_joint(self, X) -> np.ndarray:
        X = self._rows(X)
        return self.model_.log_joint(self._new_data(X), self.result_.params)

    def _new_data(self, X) -> GaussianData:
        return GaussianData(X, np.ones(X.shape[0]), self.covariance_type, shift=self._shift)

    def score_samples(self, X) -> np.ndarray:
        """Log-density of each row (of its observed coordinates, when some are missing)."""
        lj = self._log_joint(X)
        top = lj.max(axis=1)
        return top + np.log(np.exp(lj - top[:, None]).sum(axis=1))

    def score(self, X, y=None) -> float:
        """Mean log-density per row (scikit-learn's ``score``; ``y`` is ignored)."""
        return float(np.mean(self.score_samples(X)))

    def fit_predict(self, X, y=None, sample_weight=None) -> np.ndarray:
        """Fit, then the most probable component of each row."""
        return self.fit(X, sample_weight=sample_weight).predict(X)

    def _parameter_labels(self) -> list[str]:
        """``weights[k]``, ``means[k, name]`` and the covariances' entries
        (``covariances[k, name, name]``; tied ``covariances[name, name]``;
        diag ``covariances[k, name]``; spherical ``covariances[k]``), features
        named by the fitted DataFrame's columns (0, 1, ... otherwise)."""
        axes = {"means": (1,), "covariances": _FEATURE_AXES[self.covariance_type]}
        return self.model_.space.labels(self.result_.params, feature_labels(self), axes)

    def predict_proba(self, X) -> np.ndarray:
        """Responsibilities ``P(component k | observed part of row i)``, shape (n, K)."""
        lj = self._log_joint(X)
        e = np.exp(lj - lj.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, X) -> np.ndarray:
        """Most probable component of each row."""
        return self.predict_proba(X).argmax(axis=1)

    def impute(self, X):
        """``X`` with each missing value replaced by its conditional expectation
        ``E[x_m | x_o] = sum_k r_k (mu_km + S_mo S_oo^{-1} (x_o - mu_ko))``; a
        DataFrame (same index and columns) for a DataFrame."""
        frame = X if isinstance(X, pd.DataFrame) else None
        X = self._rows(X)
        data = self._new_data(X)
        params = self.result_.params
        covs = self.model_.full_covariances(params)
        with np.errstate(divide="ignore"):
            log_w = np.log(params.weights)
        out = X.copy()
        for p in data.patterns:
            lj, xhat, _ = missing.pattern_conditionals(p, params.means - data.shift, covs, log_w)
            resp = np.exp(lj - lj.max(axis=1, keepdims=True))
            resp /= resp.sum(axis=1, keepdims=True)
            out[np.ix_(p.rows, p.miss)] = np.einsum("nk,knm->nm", resp, xhat) + data.shift[p.miss]
        return out if frame is None else pd.DataFrame(out, index=frame.index, columns=frame.columns)

    def sample(self, n_samples: int = 1, random_state=None) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n_samples`` rows from the fitted mixture; returns (X, components)."""
        self._check_fitted()
        return simulate_gaussian_mixture(n_samples, self.weights_, self.means_, self.covariances_,
                                         self.covariance_type, random_state)

    def _criterion(self, X, penalty) -> float:
        if X is None:
            return -2.0 * self.loglik_ + penalty(self.n_obs_)
        scores = self.score_samples(X)
        return -2.0 * float(scores.sum()) + penalty(scores.size)

    def bic(self, X=None) -> float:
        """``-2 loglik + p log n`` on the training data, or on ``X`` (as scikit-learn)."""
        self._check_fitted()
        return self._criterion(X, lambda n: self.n_parameters_ * np.log(n))

    def aic(self, X=None) -> float:
        """``-2 loglik + 2 p`` on the training data, or on ``X``."""
        self._check_fitted()
        return self._criterion(X, lambda n: 2.0 * self.n_parameters_)


def _partition(block, covariance_type: str, shift: np.ndarray) -> GaussianData:
    """One chunk of a Dask array as validated, centred rows (a partition)."""
    X = check_magnitude(check_observed_rows(as_array(block, "X", ndim=2), "X"), "X")
    return GaussianData(X, np.ones(X.shape[0]), covariance_type, shift=shift)


def simulate_gaussian_mixture(n: int, weights, means, covariances, covariance_type: str = "full",
                              random_state=None) -> tuple[np.ndarray, np.ndarray]:
    """``n`` rows from a Gaussian mixture with known parameters (covariances in
    scikit-learn's shape for ``covariance_type``).

    Returns ``(X, components)``: the rows and the true component of each.
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer; got {n!r}")
    _check_covariance_type(covariance_type)
    mu = check_finite(as_array(means, "means", ndim=2), "means")
    k, d = mu.shape
    w = check_simplex(weights, "weights", k)
    cov = _check_covariances(covariances, covariance_type, k, d, "covariances")
    full = GaussianMixtureModel(k, d, covariance_type).full_covariances(GaussianMixtureParams(w, mu, cov))
    rng = as_generator(random_state)
    z = rng.choice(k, size=n, p=w)
    eps = rng.standard_normal((n, d))
    chol = np.linalg.cholesky(full)
    return mu[z] + np.einsum("nab,nb->na", chol[z], eps), z


def delete_at_random(X, fraction: float, random_state=None) -> np.ndarray:
    """A copy of ``X`` with each value set to NaN independently with
    probability ``fraction`` (missing completely at random). Rows may lose all
    their values; the caller decides what to do with them."""
    X = check_finite(as_array(X, "X", ndim=2), "X")
    if not 0 <= fraction < 1:
        raise ValueError(f"fraction must be in [0, 1); got {fraction!r}")
    out = X.copy()
    out[as_generator(random_state).random(X.shape) < fraction] = np.nan
    return out


def select_gaussian_mixture(X, n_components=range(1, 7), covariance_types=COVARIANCE_TYPES,
                            criterion: str = "bic", sample_weight=None, **settings) -> pd.DataFrame:
    """Fit every (n_components, covariance_type) pair and tabulate the fits.

    ``settings`` go to :class:`GaussianMixture` (``n_init``, ``random_state``,
    ...). Returns a DataFrame sorted by ``criterion`` (``"bic"`` or ``"aic"``,
    smaller is better) with columns n_components, covariance_type, loglik,
    n_parameters, bic, aic, converged, min_variance, degenerate and best.

    ``min_variance`` is the smallest eigenvalue of any fitted covariance. A fit
    is ``degenerate`` when it is at most ``10 * reg_covar``: a component sits
    on a few (near-)identical rows and only ``reg_covar`` keeps its density
    finite, so its likelihood is a spike, not a cluster (Day 1969; McLachlan &
    Peel 2000, section 3.10). ``best`` marks the first non-degenerate row.
    """
    if criterion not in ("bic", "aic"):
        raise ValueError(f"criterion must be 'bic' or 'aic'; got {criterion!r}")
    n_components, covariance_types = list(n_components), list(covariance_types)
    if not n_components:
        raise ValueError("n_components must list at least one number of components; got an empty list")
    if not covariance_types:
        raise ValueError(f"covariance_types must list at least one of {COVARIANCE_TYPES}; got an empty list")
    reg_covar = settings.get("reg_covar", 1e-6)
    rows = []
    for t in covariance_types:
        _check_covariance_type(t)
        for k in n_components:
            gm = GaussianMixture(k, covariance_type=t, **settings).fit(X, sample_weight=sample_weight)
            rows.append({"n_components": k, "covariance_type": t, "loglik": gm.loglik_,
                         "n_parameters": gm.n_parameters_, "bic": gm.bic(), "aic": gm.aic(),
                         "converged": gm.converged_, "min_variance": _smallest_variance(gm)})
    table = pd.DataFrame(rows).sort_values(criterion, kind="stable").reset_index(drop=True)
    table["degenerate"] = table["min_variance"] <= 10.0 * reg_covar
    table["best"] = False
    if not table["degenerate"].all():
        table.loc[table.index[~table["degenerate"]][0], "best"] = True
    return table


def _smallest_variance(gm: GaussianMixture) -> float:
    c = gm.covariances_
    return float(np.min(np.linalg.eigvalsh(c)) if gm.covariance_type in ("full", "tied") else np.min(c))
