"""Incomplete tables: the multivariate normal with values missing at random,
linear regression with missing outcomes and covariates, fitted by EM, and
multiple imputation by bootstrap and EM."""

from .estimator import MultivariateNormalEM
from .imputation import MECHANISMS, multiple_imputations, pool, simulate_missing
from .mvn import MVNData, MVNModel, MVNParams, conditional_means
from .regression import RegressionEM, parse_formula

__all__ = ["MultivariateNormalEM", "RegressionEM", "multiple_imputations", "pool", "simulate_missing", "MECHANISMS",
           "parse_formula", "MVNModel", "MVNParams", "MVNData", "conditional_means"]
