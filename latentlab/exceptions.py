"""Warnings and errors raised by latentlab."""


class ConvergenceWarning(UserWarning):
    """EM stopped at ``max_iter`` before meeting its convergence rule."""


class BoundaryWarning(UserWarning):
    """An estimate lies on the boundary of its parameter space.

    Wald standard errors do not exist there; they are reported as NaN.
    """


class MonotonicityError(RuntimeError):
    """Plain EM lowered the observed log-likelihood beyond round-off.

    EM never does this when the E- and M-steps are right, so this error
    points at a bug in a model (or at numerical trouble in its E-step).
    """


class NumericalError(FloatingPointError):
    """A fit produced a non-finite log-likelihood or invalid parameters."""


class MemoryBudgetError(MemoryError):
    """A fit stopped because its estimate of the memory it needs exceeds the
    estimator's ``max_memory`` budget (the message gives the estimate, the
    budget and what to use instead)."""
