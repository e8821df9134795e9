"""The engine's settings: their defaults and their validation, in one place.

Every estimator takes the same six settings and passes them to
:func:`latentlab.em.fit_em`, which checks them here. An estimator whose model
needs another default (a slowly converging likelihood, say) says so with
:func:`engine_defaults` and a reason in its docstring; nothing else restates
them.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["DEFAULTS", "engine_defaults", "check_engine_settings", "check_random_state", "check_int", "check_tol",
           "check_progress"]

#: the engine's defaults (see :func:`latentlab.em.fit_em` for their meaning)
DEFAULTS = dict(tol=1e-8, max_iter=1000, n_init=1, accelerate=None, random_state=None, progress=None)

ACCELERATIONS = (None, "squarem")


def engine_defaults(**overrides) -> dict:
    """:data:`DEFAULTS` with an estimator's documented ``overrides``."""
    unknown = set(overrides) - set(DEFAULTS)
    if unknown:
        raise TypeError(f"not engine settings: {sorted(unknown)}")
    return {**DEFAULTS, **overrides}


def check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}")
    return int(value)


def check_tol(tol, name: str = "tol") -> float:
    """A finite number >= 0 (0: never stop before ``max_iter``)."""
    if isinstance(tol, (bool, np.bool_)) or not isinstance(tol, numbers.Real):
        raise TypeError(f"{name} must be a number >= 0; got {tol!r} ({type(tol).__name__})")
    if not (np.isfinite(tol) and tol >= 0):
        raise ValueError(f"{name} must be a finite number >= 0; got {tol!r}")
    return float(tol)


def check_random_state(random_state, name: str = "random_state"):
    """None, a non-negative int, a SeedSequence or a Generator."""
    if random_state is None or isinstance(random_state, (np.random.SeedSequence, np.random.Generator)):
        return random_state
    if isinstance(random_state, (bool, np.bool_)) or not isinstance(random_state, numbers.Integral):
        raise TypeError(
            f"{name} must be None, an int, a numpy SeedSequence or a numpy Generator; "
            f"got {random_state!r} ({type(random_state).__name__})"
        )
    if random_state < 0:
        raise ValueError(f"{name} must be a non-negative int; got {random_state!r}")
    return random_state


def check_engine_settings(tol, max_iter, n_init, accelerate, random_state, progress) -> None:
    """Raise ``TypeError``/``ValueError`` naming the first bad setting."""
    check_tol(tol)
    check_int(max_iter, "max_iter", 1)
    check_int(n_init, "n_init", 1)
    if not (accelerate is None or (isinstance(accelerate, str) and accelerate in ACCELERATIONS)):
        raise ValueError(f"accelerate must be None or 'squarem'; got {accelerate!r}")
    check_random_state(random_state)
    check_progress(progress)


def check_progress(progress) -> None:
    """Raise ``TypeError`` unless ``progress`` is True, False or None."""
    if not (progress is None or isinstance(progress, (bool, np.bool_))):
        raise TypeError(f"progress must be True, False or None (a bar in a terminal for long fits); got {progress!r}")
