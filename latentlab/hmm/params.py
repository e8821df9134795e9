"""Parameter dataclasses of the hidden Markov models (fields named as
hmmlearn's attributes without the trailing underscore)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["GaussianHMMParams", "CategoricalHMMParams", "PoissonHMMParams"]


@dataclass(frozen=True)
class GaussianHMMParams:
    startprob: np.ndarray  # (K,) initial state distribution
    transmat: np.ndarray  # (K, K) transition matrix, rows on the simplex
    means: np.ndarray  # (K, D)
    covars: np.ndarray  # (K, D) variances ("diag") or (K, D, D) matrices ("full")


@dataclass(frozen=True)
class CategoricalHMMParams:
    startprob: np.ndarray  # (K,)
    transmat: np.ndarray  # (K, K)
    emissionprob: np.ndarray  # (K, M) symbol probabilities, rows on the simplex


@dataclass(frozen=True)
class PoissonHMMParams:
    startprob: np.ndarray  # (K,)
    transmat: np.ndarray  # (K, K)
    lambdas: np.ndarray  # (K, D) Poisson rates
