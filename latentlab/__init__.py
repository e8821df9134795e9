"""latentlab: maximum likelihood with incomplete data by Expectation-Maximization."""

from .em import EMResult, fit_em
from .exceptions import BoundaryWarning, ConvergenceWarning, MemoryBudgetError, MonotonicityError, NumericalError

__version__ = "0.1.0"

__all__ = [
    "fit_em",
    "EMResult",
    "ConvergenceWarning",
    "BoundaryWarning",
    "MonotonicityError",
    "MemoryBudgetError",
    "NumericalError",
    "__version__",
]
