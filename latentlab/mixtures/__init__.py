"""Finite mixture models fitted by EM."""

from .poisson import PoissonMixture, PoissonMixtureModel, PoissonMixtureParams, simulate_poisson_mixture

__all__ = ["PoissonMixture", "PoissonMixtureModel", "PoissonMixtureParams", "simulate_poisson_mixture"]
