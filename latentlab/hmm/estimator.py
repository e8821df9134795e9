"""The hmmlearn-style estimator shared by the HMMs.

Constructor arguments and fitted attributes follow hmmlearn (``n_components``,
``n_iter``, ``tol``, ``params``, ``init_params``, ``startprob_``,
``transmat_``, ...), so users can switch; the differences are documented in
``docs/hmm.md``: ``tol`` is the engine's relative rule (not hmmlearn's absolute
change of the total log-likelihood), restarts (``n_init``), SQUAREM
(``accelerate``), missing rows (NaN) and standard errors come with it.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pandas as pd

from .._degenerate import warn_degenerate
from .._validation import check_n_components
from ..em import EMEstimator, as_generator
from ..em.features import check_feature_names, feature_labels, feature_names, set_feature_names
from ..em.partitions import PartitionedModel, is_dask_collection
from ..em.settings import check_int
from .base import HMMData, HMMModel

__all__ = ["HMMEstimator"]


class HMMEstimator(EMEstimator):
    """Base of :class:`GaussianHMM`, :class:`CategoricalHMM`, :class:`PoissonHMM`.

    A subclass sets ``_letters`` (all its parameter letters) and implements
    ``_validate_X(X) -> (X2d, missing, fill)`` and
    ``_make_model(n_features, given) -> HMMModel``; ``_n_features(X2d)`` may be
    overridden.
    """

    _letters: str
    _engine_name = {"max_iter": "n_iter"}  # hmmlearn's name

    def _init_common(self, n_components, n_iter, tol, params, init_params, n_init, accelerate, random_state, progress):
        self.n_components = n_components
        self.n_iter = n_iter  # hmmlearn's name for max_iter
        self.params = params
        self.init_params = init_params
        self._set_engine_settings(
            tol=tol, n_init=n_init, accelerate=accelerate, random_state=random_state, progress=progress
        )

    # -- hooks --------------------------------------------------------------------------
    def _validate_X(self, X):
        raise NotImplementedError

    def _make_model(self, n_features: int, given: dict) -> HMMModel:
        raise NotImplementedError

    def _n_features(self, X: np.ndarray) -> int:
        return X.shape[1]

    def _get_param(self, field: str):
        """The user-set (or fitted) value of ``field``, or None."""
        return getattr(self, field + "_", None)

    def _set_param(self, field: str, value: np.ndarray) -> None:
        setattr(self, field + "_", value)

    # -- checks ---------------------------------------------------------------------------
    def _check_letters(self) -> None:
        for name in ("params", "init_params"):
            value = getattr(self, name)
            if not isinstance(value, str) or set(value) - set(self._letters):
                raise ValueError(
                    f"{name} must be a string of the letters {self._letters!r}; got {value!r}"
                )
        check_int(self.n_iter, "n_iter", 1)

    def _as_data(self, X, lengths) -> HMMData:
        X2d, missing, fill = self._validate_X(X)
        return HMMData.build(X2d, missing, lengths, fill)

    def _given(self, model: HMMModel) -> dict[str, np.ndarray]:
        """Values of the fields whose letter is not in ``init_params`` and that
        are set on the estimator, checked against the model's shapes and spaces."""
        given = {}
        shapes = model.field_shapes()
        for field, letter in model.letters.items():
            value = self._get_param(field)
            if letter in self.init_params or value is None:
                continue
            value = np.asarray(value, dtype=float)
            if value.shape != shapes[field]:
                raise ValueError(f"{field}_ must have shape {shapes[field]}; got {value.shape}")
            if not model.constraints[field].is_valid(value):
                raise ValueError(f"{field}_ is outside its space ({type(model.constraints[field]).__name__}): {value}")
            given[field] = value
        return given

    # -- fitting -------------------------------------------------------------------------
    def fit(self, X, lengths=None):
        """Estimate the parameters by Baum-Welch (EM) from ``X``, one or many
        sequences stored end to end (``lengths``: their lengths, summing to
        ``len(X)``). Rows that are entirely NaN are missing observations.

        ``X`` may be a Dask bag whose elements are whole sequences: each bag
        partition is one partition of the data (its sequences end to end),
        and the E-steps run where the partitions live, on the active
        ``dask.distributed`` client (or in this process); the start is drawn
        from the first partition (or given by the fitted attributes and
        ``init_params``), and the fit equals the fit of the same sequences in
        memory from the same start."""
        self._check_letters()
        if is_dask_collection(X):
            return self._fit_bag(X, lengths)
        names = feature_names(X)
        data = self._as_data(X, lengths)
        check_n_components(self.n_components, data.n_observed, "observed time steps")
        self._fit_model(data, data, data.n_observed)
        set_feature_names(self, names, data.X.shape[1])
        return self

    def _fit_model(self, data, first: HMMData, n_obs: float) -> None:
        """Build the model (its shapes from ``first``), run the engine on
        ``data`` (an :class:`HMMData` or partitions of them), store the fit."""
        probe = self._make_model(self._n_features(first.X), {})
        model = self._make_model(self._n_features(first.X), self._given(probe))
        fitted = model if isinstance(data, HMMData) else PartitionedModel(model)
        try:
            result = self._fit_em(fitted, data, n_obs=n_obs, fixed=model.held())
        finally:
            model.release()
        self._n_columns = first.X.shape[1]
        self._n_rows = n_obs
        for field in model.letters:
            self._set_param(field, getattr(result.params, field))
        warn_degenerate(model.name, "state", model.emission_signature(result.params))

    def _fit_bag(self, bag, lengths) -> HMMEstimator:
        """``fit`` on a Dask bag of sequences (see :meth:`fit`)."""
        if lengths is not None:
            raise TypeError("lengths is not used with a Dask bag of sequences: each element is one whole sequence")
        if type(bag).__name__ != "Bag":
            raise TypeError(f"X must be an array or a Dask bag of sequences; got a Dask {type(bag).__name__}")
        blank = type(self)(**self.get_params())  # sent to the workers: settings only, no fitted state
        data = self._partitions(bag, functools.partial(_bag_partition, blank))
        first = data.first
        check_n_components(self.n_components, first.n_observed, "observed time steps in the first partition")
        n_obs = data.map_sum(_observed_steps, None, None)
        self._fit_model(data, first, n_obs)
        set_feature_names(self, None, first.X.shape[1])
        return self

    def _fitted_data(self, X, lengths) -> HMMData:
        self._check_fitted()
        check_feature_names(self, X)
        data = self._as_data(X, lengths)
        if data.X.shape[1] != self._n_columns:
            raise ValueError(f"X has {data.X.shape[1]} column(s) but the model was fitted to {self._n_columns}")
        return data

    # -- use -----------------------------------------------------------------------------
    def score(self, X, lengths=None) -> float:
        """Log-likelihood of ``X`` under the fitted model."""
        data = self._fitted_data(X, lengths)
        try:
            return self.model_.loglik(data, self.result_.params)
        finally:
            self.model_.release()

    def score_samples(self, X, lengths=None) -> tuple[float, np.ndarray]:
        """Log-likelihood of ``X`` and the state posteriors (T, K)."""
        data = self._fitted_data(X, lengths)
        try:
            gamma, _, ll = self.model_.posteriors(data, self.result_.params)
        finally:
            self.model_.release()
        return float(ll.sum()), gamma

    def predict_proba(self, X, lengths=None) -> np.ndarray:
        """State posteriors ``P(z_t = k | X)``, shape (T, K)."""
        return self.score_samples(X, lengths)[1]

    def decode(self, X, lengths=None, algorithm: str = "viterbi") -> tuple[float, np.ndarray]:
        """The most probable state path (Viterbi) and its log-probability;
        ``algorithm="map"`` gives the states of highest posterior instead."""
        if algorithm == "viterbi":
            data = self._fitted_data(X, lengths)
            return self.model_.viterbi(data, self.result_.params)
        if algorithm == "map":
            ll, gamma = self.score_samples(X, lengths)
            return ll, gamma.argmax(axis=1)
        raise ValueError(f"algorithm must be 'viterbi' or 'map'; got {algorithm!r}")

    def predict(self, X, lengths=None) -> np.ndarray:
        """The Viterbi state path of ``X``."""
        return self.decode(X, lengths)[1]

    def sample(self, n_samples: int = 1, random_state=None) -> tuple[np.ndarray, np.ndarray]:
        """One sequence of ``n_samples`` draws from the fitted model: (X, states)."""
        self._check_fitted()
        if not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer; got {n_samples!r}")
        return self.model_.sample(self.result_.params, int(n_samples), as_generator(random_state))

    # -- criteria and inference ---------------------------------------------------------
    def _criterion(self, X, lengths, penalty_per_parameter) -> float:
        if X is None:
            ll, n = self.loglik_, self.n_obs_
        else:
            ll, n = self.score(X, lengths), self._fitted_data(X, lengths).n_observed
        return -2.0 * ll + self.n_parameters_ * penalty_per_parameter(n)

    def bic(self, X=None, lengths=None) -> float:
        """``-2 loglik + p log n`` (n: observed time steps) on the fitted data,
        or on ``X`` if given (as hmmlearn)."""
        return self._criterion(X, lengths, np.log)

    def aic(self, X=None, lengths=None) -> float:
        """``-2 loglik + 2 p`` on the fitted data, or on ``X`` if given."""
        return self._criterion(X, lengths, lambda n: 2.0)

    def summary(self, level: float = 0.95, max_parameters: int = 80) -> pd.DataFrame:
        """Estimates, standard errors and Wald intervals (observed information
        by the engine's numerical Hessian of the forward-pass log-likelihood).

        The Hessian costs about ``2 p^2`` forward passes for ``p`` free
        parameters; above ``max_parameters`` this raises instead of running
        for a long time (raise the limit to insist).
        """
        self._check_fitted()
        p = self.n_parameters_
        if p > max_parameters:
            raise ValueError(
                f"summary() would take a numerical Hessian in {p} free parameters (about {2 * p * p} "
                f"forward passes over {self._n_rows:.0f} observed rows); that is above max_parameters="
                f"{max_parameters}. Pass a larger max_parameters to run it anyway, or hold some "
                "parameters fixed (the params argument)"
            )
        return super().summary(level)

    def _parameter_labels(self) -> list[str]:
        """``field[i, ...]``, with the features of the emission fields named by
        the fitted DataFrame's columns (0, 1, ... otherwise)."""
        return self.model_.space.labels(self.result_.params, feature_labels(self), self.model_.feature_axes())

    def _covariance_fixed(self):
        """The covariance is conditional on the start distribution: with few
        sequences its MLE sits at a vertex of the simplex, where the information
        is singular, so ``startprob`` is held and gets no standard error (NaN)."""
        fixed = self.result_.fixed
        return dataclasses.replace(fixed, startprob=np.ones_like(fixed.startprob, dtype=bool))

    @property
    def covariance_(self) -> np.ndarray:
        try:
            return super().covariance_
        finally:
            self.model_.release()


def _bag_partition(estimator: HMMEstimator, sequences) -> HMMData:
    """One partition of a Dask bag of sequences as :class:`HMMData`: the
    sequences end to end, validated by ``estimator`` (runs where the
    partition lives)."""
    seqs = [np.asarray(s) for s in sequences]
    if not seqs:
        raise ValueError("a partition of the Dask bag holds no sequence; repartition the bag")
    return estimator._as_data(np.concatenate(seqs), [len(s) for s in seqs])


def _observed_steps(model, part: HMMData, params) -> float:
    """The observed time steps of one partition (summed over partitions)."""
    return float(part.n_observed)
