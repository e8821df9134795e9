"""Incomplete tables: the multivariate normal with values missing at random,
fitted by EM."""

from .estimator import MultivariateNormalEM
from .mvn import MVNData, MVNModel, MVNParams, conditional_means

__all__ = ["MultivariateNormalEM", "MVNModel", "MVNParams", "MVNData", "conditional_means"]
