"""Simulated hidden Markov data with a known truth."""

from __future__ import annotations

import numpy as np

from .._validation import as_array
from ..em import as_generator
from .categorical import CategoricalHMMModel
from .gaussian import GaussianHMMModel
from .params import CategoricalHMMParams, GaussianHMMParams, PoissonHMMParams
from .poisson import PoissonHMMModel

__all__ = ["simulate_hmm"]


def simulate_hmm(
    n_samples: int,
    startprob,
    transmat,
    *,
    means=None,
    covars=None,
    emissionprob=None,
    lambdas=None,
    random_state=None,
) -> tuple[np.ndarray, np.ndarray]:
    """One sequence of ``n_samples`` observations from a hidden Markov model.

    Give the emissions of exactly one family: ``means`` and ``covars``
    (Gaussian; ``covars`` (K, D) variances or (K, D, D) matrices),
    ``emissionprob`` (categorical, (K, M)) or ``lambdas`` (Poisson, (K, D)).

    Returns ``(X, states)``: X is (n, D) for Gaussian and Poisson emissions and
    (n, 1) integer symbols for categorical ones; ``states`` (n,) the true path.
    """
    if not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer; got {n_samples!r}")
    pi = as_array(startprob, "startprob", ndim=1)
    A = as_array(transmat, "transmat", ndim=2)
    k = pi.size
    families = [name for name, v in (("means", means), ("emissionprob", emissionprob), ("lambdas", lambdas)) if v is not None]
    if len(families) != 1:
        raise ValueError(f"give the emissions of exactly one family (means+covars, emissionprob or lambdas); got {families}")
    if means is not None:
        if covars is None:
            raise ValueError("Gaussian emissions need covars as well as means")
        mu = as_array(means, "means", ndim=2)
        cov = as_array(covars, "covars", ndim=(2, 3))
        model = GaussianHMMModel(k, mu.shape[1], "diag" if cov.ndim == 2 else "full", 0.0, "")
        params = GaussianHMMParams(pi, A, mu, cov)
    elif emissionprob is not None:
        E = as_array(emissionprob, "emissionprob", ndim=2)
        model = CategoricalHMMModel(k, E.shape[1], "")
        params = CategoricalHMMParams(pi, A, E)
    else:
        lam = as_array(lambdas, "lambdas", ndim=2)
        model = PoissonHMMModel(k, lam.shape[1], "")
        params = PoissonHMMParams(pi, A, lam)
    _check_params(model, params)
    return model.sample(params, int(n_samples), as_generator(random_state))


def _check_params(model, params) -> None:
    shapes = model.field_shapes()
    for field, shape in shapes.items():
        value = np.asarray(getattr(params, field))
        if value.shape != shape:
            raise ValueError(f"{field} must have shape {shape} for {model.n_components} states; got {value.shape}")
        if not model.constraints[field].is_valid(value):
            raise ValueError(f"{field} is outside its space ({type(model.constraints[field]).__name__}): {value}")
