"""Finite mixtures of Poisson distributions.

Model: a count ``x`` comes from component ``k`` with probability ``pi_k`` and is
then Poisson with rate ``lambda_k``:

    P(x) = sum_k pi_k exp(-lambda_k) lambda_k^x / x!

Data are held as distinct values ``x_j`` with frequencies ``w_j`` (raw counts
are tabulated first), so the cost of an iteration is the number of distinct
values, not of observations.

E-step (responsibilities and expected sufficient statistics):

    r_jk = pi_k Pois(x_j; lambda_k) / sum_l pi_l Pois(x_j; lambda_l)
    N_k  = sum_j w_j r_jk,        S_k = sum_j w_j r_jk x_j

M-step (complete-data MLE): ``pi_k = N_k / sum_l N_l`` and
``lambda_k = S_k / N_k``. A component that receives no mass (``N_k = 0``) gets
weight 0 and the overall mean as its rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._degenerate import poisson_signature, warn_degenerate
from .._logsumexp import logsumexp
from .._validation import as_array, check_counts, check_n_components, check_sample_weight
from ..em import EMEstimator, EMModel, Positive, Simplex, Stats, as_generator
from ..em.partitions import is_dask_collection
from ..em.settings import engine_defaults
from ..emissions import poisson_log_density, poisson_m_step

__all__ = ["PoissonMixture", "PoissonMixtureParams", "PoissonMixtureModel", "simulate_poisson_mixture"]

#: engine settings: the engine's defaults with max_iter=5000 (plain EM on overlapping Poisson components needs thousands of steps (Hasselblad's data: 2,296))
_ENGINE = engine_defaults(max_iter=5000)


@dataclass(frozen=True)
class PoissonMixtureParams:
    weights: np.ndarray  # (K,) mixing proportions, on the simplex
    rates: np.ndarray  # (K,) Poisson rates, positive


@dataclass(frozen=True)
class _Tabulated:
    values: np.ndarray  # distinct counts x_j
    freq: np.ndarray  # their frequencies w_j


@dataclass(frozen=True)
class _Stats(Stats):
    mass: np.ndarray  # N_k
    total: np.ndarray  # S_k


class PoissonMixtureModel(EMModel):
    """The EM contract for a K-component Poisson mixture (module docstring)."""

    params_type = PoissonMixtureParams
    constraints = {"weights": Simplex(), "rates": Positive()}

    def __init__(self, n_components: int):
        self.n_components = n_components

    def initialize(self, data: _Tabulated, rng: np.random.Generator) -> PoissonMixtureParams:
        """Dirichlet(1, ..., 1) weights; rates spread around the sample mean."""
        mean = np.average(data.values, weights=data.freq)
        rates = np.sort(mean * rng.uniform(0.2, 2.0, self.n_components)) + 1e-3
        return PoissonMixtureParams(rng.dirichlet(np.ones(self.n_components)), rates)

    def log_joint(self, values: np.ndarray, params: PoissonMixtureParams) -> np.ndarray:
        """``log pi_k + log Pois(x_j; lambda_k)``, shape (J, K)."""
        with np.errstate(divide="ignore"):
            log_w = np.log(params.weights)
        return poisson_log_density(values[:, None], params.rates[:, None]) + log_w

    def e_step(self, data: _Tabulated, params: PoissonMixtureParams):
        lj = self.log_joint(data.values, params)
        log_px = logsumexp(lj, axis=1)
        resp = np.exp(lj - log_px[:, None]) * data.freq[:, None]
        stats = _Stats(resp.sum(axis=0), resp.T @ data.values)
        return stats, float(data.freq @ log_px)

    def loglik(self, data: _Tabulated, params: PoissonMixtureParams) -> float:
        return float(data.freq @ logsumexp(self.log_joint(data.values, params), axis=1))

    def m_step(self, stats: _Stats, current: PoissonMixtureParams, fixed=None) -> PoissonMixtureParams:
        mean = stats.total.sum() / stats.mass.sum()
        rates = poisson_m_step(stats.mass, stats.total[:, None], mean, stats.mass <= 0)[:, 0]
        return PoissonMixtureParams(stats.mass / stats.mass.sum(), rates)

    def canonical(self, params: PoissonMixtureParams) -> PoissonMixtureParams:
        """Components in increasing order of rate."""
        order = np.argsort(params.rates, kind="stable")
        return PoissonMixtureParams(params.weights[order], params.rates[order])


class PoissonMixture(EMEstimator):
    """Mixture of ``n_components`` Poisson distributions fitted by EM.

    Parameters
    ----------
    n_components : number of components K (at least 1, at most the number of
        distinct values observed).
    weights_init, rates_init : starting values (arrays of length K); used by the
        first restart, later restarts draw their own.
    tol, max_iter, n_init, accelerate, random_state, progress : passed to
        :func:`latentlab.em.fit_em`.

    Attributes (after ``fit``)
    --------------------------
    weights_, rates_ : estimates, components ordered by increasing rate.
    result_ : the :class:`~latentlab.EMResult`; ``loglik_``, ``n_iter_``,
        ``converged_`` mirror it.

    Example
    -------
    >>> from latentlab.mixtures import PoissonMixture
    >>> deaths = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    >>> days = [162, 267, 271, 185, 111, 61, 27, 8, 3, 1]
    >>> fit = PoissonMixture(2, accelerate="squarem", random_state=0).fit(deaths, weights=days)
    >>> fit.rates_.round(3)
    array([1.256, 2.663])
    """

    def __init__(
        self,
        n_components: int = 2,
        *,
        weights_init=None,
        rates_init=None,
        tol: float = _ENGINE["tol"],
        max_iter: int = _ENGINE["max_iter"],
        n_init: int = _ENGINE["n_init"],
        accelerate: str | None = _ENGINE["accelerate"],
        random_state=None,
        progress: bool | None = _ENGINE["progress"],
    ):
        self.n_components = n_components
        self.weights_init = weights_init
        self.rates_init = rates_init
        self._set_engine_settings(
            tol=tol, max_iter=max_iter, n_init=n_init,
            accelerate=accelerate, random_state=random_state, progress=progress,
        )

    # -- input ------------------------------------------------------------------
    @staticmethod
    def _tabulate(counts, weights) -> _Tabulated:
        x = check_counts(as_array(counts, "counts", ndim=1), "counts")
        w = check_sample_weight(weights, x.shape[0], "weights")
        values, inverse = np.unique(x, return_inverse=True)
        freq = np.bincount(inverse, weights=w)
        keep = freq > 0
        return _Tabulated(values[keep].astype(float), freq[keep])

    def _initial_params(self):
        if self.weights_init is None and self.rates_init is None:
            return None
        if self.weights_init is None or self.rates_init is None:
            raise ValueError("give both weights_init and rates_init, or neither")
        k = self.n_components
        w = as_array(self.weights_init, "weights_init", ndim=1)
        r = as_array(self.rates_init, "rates_init", ndim=1)
        if w.shape != (k,) or r.shape != (k,):
            raise ValueError(f"weights_init and rates_init must have length n_components={k}")
        params = PoissonMixtureParams(w, r)
        if not PoissonMixtureModel.constraints["weights"].is_valid(w):
            raise ValueError(f"weights_init must be non-negative and sum to 1; got {w}")
        if not (np.all(r > 0) and np.all(np.isfinite(r))):
            raise ValueError(f"rates_init must be positive and finite; got {r}")
        return params

    # -- fitting ------------------------------------------------------------------
    @staticmethod
    def _tabulate_dask(counts, weights) -> _Tabulated:
        """The table of a Dask array of counts, made where its chunks live (one
        pass, each chunk validated there); the fit then runs on the table,
        which is all the data a Poisson mixture needs."""
        import dask
        import dask.array as da

        if weights is not None:
            raise TypeError("weights is not supported with a Dask array of counts: give the raw counts")
        if not isinstance(counts, da.Array) or counts.ndim != 1:
            raise TypeError(f"counts must be a 1-d Dask array (or an in-memory sequence); got {type(counts).__name__}")
        checked = counts.map_blocks(_checked_counts, dtype=counts.dtype)
        values, freq = dask.compute(*da.unique(checked, return_counts=True))
        return _Tabulated(values.astype(float), freq.astype(float))

    def fit(self, counts, weights=None) -> PoissonMixture:
        """Fit to raw counts, or to distinct values ``counts`` with frequencies
        ``weights``. ``counts`` may be a Dask array: it is tabulated where its
        chunks live (on the active ``dask.distributed`` client, if any) and
        the fit runs on the table, equal to the fit of the same counts in memory."""
        data = self._tabulate_dask(counts, weights) if is_dask_collection(counts) else self._tabulate(counts, weights)
        k = check_n_components(self.n_components, data.values.size)
        model = PoissonMixtureModel(k)
        result = self._fit_em(model, data, n_obs=round(data.freq.sum()), init_params=self._initial_params())
        self.weights_ = result.params.weights
        self.rates_ = result.params.rates
        warn_degenerate(model.name, "component", poisson_signature(self.rates_), self.weights_)
        return self

    def _parameter_labels(self) -> list[str]:
        k = self.n_components
        return [f"weight[{i}]" for i in range(k)] + [f"rate[{i}]" for i in range(k)]

    # -- use ------------------------------------------------------------------------
    def predict_proba(self, counts) -> np.ndarray:
        """Posterior component probabilities, shape (n, K)."""
        self._check_fitted()
        x = check_counts(as_array(counts, "counts", ndim=1), "counts").astype(float)
        lj = self.model_.log_joint(x, self.result_.params)
        return np.exp(lj - logsumexp(lj, axis=1, keepdims=True))

    def predict(self, counts) -> np.ndarray:
        """Most probable component of each count."""
        return self.predict_proba(counts).argmax(axis=1)

    def score_samples(self, counts) -> np.ndarray:
        """Log-probability of each count under the fitted mixture."""
        self._check_fitted()
        x = check_counts(as_array(counts, "counts", ndim=1), "counts").astype(float)
        return logsumexp(self.model_.log_joint(x, self.result_.params), axis=1)

    def expected_frequencies(self) -> pd.DataFrame:
        """Observed against fitted frequencies of each distinct value."""
        self._check_fitted()
        data = self._data
        fitted = data.freq.sum() * np.exp(self.score_samples(data.values))
        return pd.DataFrame({"value": data.values.astype(int), "observed": data.freq, "expected": fitted})

    def sample(self, n: int, random_state=None) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` counts from the fitted mixture; returns (counts, components)."""
        self._check_fitted()
        return simulate_poisson_mixture(n, self.weights_, self.rates_, random_state)


def _checked_counts(block: np.ndarray) -> np.ndarray:
    """One chunk of a Dask array of counts, validated (non-negative integers)."""
    return check_counts(as_array(block, "counts", ndim=1), "counts")


def simulate_poisson_mixture(n: int, weights, rates, random_state=None) -> tuple[np.ndarray, np.ndarray]:
    """``n`` draws from a Poisson mixture with known ``weights`` and ``rates``.

    Returns ``(counts, components)``: the counts and the true component of each.
    """
    w = as_array(weights, "weights", ndim=1)
    r = as_array(rates, "rates", ndim=1)
    if w.shape != r.shape:
        raise ValueError(f"weights and rates must have the same length; got {w.size} and {r.size}")
    if not Simplex().is_valid(w):
        raise ValueError(f"weights must be non-negative and sum to 1; got {w}")
    if not Positive().is_valid(r):
        raise ValueError(f"rates must be non-negative and finite; got {r}")
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer; got {n!r}")
    rng = as_generator(random_state)
    z = rng.choice(w.size, size=n, p=w)
    return rng.poisson(r[z]), z
