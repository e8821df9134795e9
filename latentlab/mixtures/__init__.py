"""Finite mixture models fitted by EM."""

from ._kmeans import KMeans
from .gaussian import GaussianMixture, delete_at_random, select_gaussian_mixture, simulate_gaussian_mixture
from .poisson import PoissonMixture, PoissonMixtureModel, PoissonMixtureParams, simulate_poisson_mixture

__all__ = [
    "PoissonMixture",
    "PoissonMixtureModel",
    "PoissonMixtureParams",
    "simulate_poisson_mixture",
    "GaussianMixture",
    "simulate_gaussian_mixture",
    "select_gaussian_mixture",
    "delete_at_random",
    "KMeans",
]
