"""Incomplete tables: the multivariate normal with values missing at random,
and linear regression with missing outcomes and covariates, fitted by EM."""

from .estimator import MultivariateNormalEM
from .mvn import MVNData, MVNModel, MVNParams, conditional_means
from .regression import RegressionEM, parse_formula

__all__ = ["MultivariateNormalEM", "RegressionEM", "parse_formula", "MVNModel", "MVNParams", "MVNData",
           "conditional_means"]
