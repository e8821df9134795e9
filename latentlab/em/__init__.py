"""The EM engine: one loop, one convergence rule, SQUAREM, restarts and
standard errors for every model. See :mod:`latentlab.em.engine` for the rule
and :mod:`latentlab.em.model` for the contract a model implements;
:func:`latentlab.em.testing.check_model` checks a model against it."""

from .constraints import (
    Constraint,
    DiagonalCovariance,
    GroupedSimplex,
    Interval,
    Positive,
    PositiveDefinite,
    Real,
    Simplex,
    UnitInterval,
)
from .engine import as_generator, em_rate, fit_em, has_converged, lowered, restart_generators
from .estimator import EMEstimator, NotFittedError
from .inference import covariance, delta_method, invert_information, numerical_hessian, wald_intervals, wald_table
from .model import EMModel, ParamSpace
from .monte_carlo import MCDraw, StochasticEMModel, louis_covariance
from .result import EMResult
from .settings import DEFAULTS as ENGINE_DEFAULTS
from .stats import Stats
from .test_result import TestResult

__all__ = [
    "EMModel",
    "StochasticEMModel",
    "MCDraw",
    "louis_covariance",
    "EMResult",
    "Stats",
    "TestResult",
    "ENGINE_DEFAULTS",
    "EMEstimator",
    "NotFittedError",
    "ParamSpace",
    "Constraint",
    "Real",
    "Positive",
    "UnitInterval",
    "Interval",
    "Simplex",
    "GroupedSimplex",
    "PositiveDefinite",
    "DiagonalCovariance",
    "fit_em",
    "has_converged",
    "em_rate",
    "lowered",
    "restart_generators",
    "as_generator",
    "covariance",
    "delta_method",
    "invert_information",
    "numerical_hessian",
    "wald_intervals",
    "wald_table",
]
