"""Profile-likelihood interval for the population size N.

The profile log-likelihood is ``l_p(N) = max_theta log L(N, theta)``; each
evaluation is an EM fit with ``U = N - n`` held fixed (the models of
:mod:`latentlab.ecology.capture_models` with ``U`` held by the engine's ``fixed`` mask). The
``level`` interval is ``{N >= n : l_p(N) >= l_p(N_hat) - chi2_1(level) / 2}``
(Venzon & Moolgavkar 1988; for capture-recapture Cormack 1992, Biometrics 48:567-576).

The search:

* lower limit: if ``l_p(n)`` is above the cut-off the interval reaches the
  number caught and the lower limit is ``n`` (no smaller N is possible);
  otherwise Brent's root of ``l_p(N) - cut`` on ``[n, N_hat]``;
* upper limit: ``N_hat + d, N_hat + 2d, N_hat + 4d, ...`` until ``l_p`` drops
  below the cut-off, then Brent's root in the last bracket. The search stops at
  ``cap``; if ``l_p(cap)`` is still above the cut-off (or ``N_hat`` itself is
  beyond the cap) the upper limit is **unbounded** and reported as ``inf``
  (with a warning from the caller), never as the cap.

``l_p`` is assumed unimodal (it is for M0 and Mt; for mixtures the EM inside
each evaluation is started from the nearest point already profiled, a
continuation that follows the ridge of the likelihood).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.stats import chi2

from .._validation import check_level

__all__ = ["ProfileInterval", "profile_interval"]


@dataclass(frozen=True)
class ProfileInterval:
    """A profile-likelihood interval for N.

    Attributes
    ----------
    lower, upper : limits (``upper = inf`` when the profile stays above the
        cut-off up to ``cap``).
    level : coverage level; ``cutoff`` the log-likelihood threshold.
    cap : the largest N searched.
    points : every (N, profile log-likelihood) evaluated, sorted by N.
    """

    lower: float
    upper: float
    level: float
    cutoff: float
    cap: float
    points: pd.DataFrame

    @property
    def bounded(self) -> bool:
        return bool(np.isfinite(self.upper))


def profile_interval(
    profile: Callable[[float], float],
    n_caught: float,
    n_hat: float,
    loglik_hat: float,
    *,
    level: float = 0.95,
    cap: float,
    step: float,
    xtol: float = 1e-4,
) -> ProfileInterval:
    """Profile-likelihood interval for N (module docstring).

    ``profile(N)`` returns ``l_p(N)``; ``step`` is the first step ``d`` of the
    upward search (e.g. the Wald standard error); ``xtol`` the absolute accuracy
    of the limits in animals.
    """
    check_level(level)
    if not cap > n_caught:
        raise ValueError(f"the profile cap ({cap}) must exceed the number caught ({n_caught})")
    seen: dict[float, float] = {}

    def lp(N: float) -> float:
        N = float(N)
        if N not in seen:
            seen[N] = float(profile(N))
        return seen[N]

    cut = loglik_hat - chi2.ppf(level, 1) / 2.0

    def excess(N):
        return lp(N) - cut

    top = min(float(n_hat), float(cap))  # an estimate beyond the cap: search below it only
    if top == n_hat:
        seen[top] = float(loglik_hat)
    if top <= n_caught or excess(n_caught) >= 0:
        lower = float(n_caught)
    elif excess(top) < 0:
        raise ValueError(f"the profile at N = {top} is below its cut-off: N = {n_hat} is not the maximum")
    else:
        lower = brentq(excess, n_caught, top, xtol=xtol)

    upper, prev, d = np.inf, top, max(float(step), 1e-3 * top, 0.5)
    while prev < cap:
        N = min(prev + d, cap)
        if excess(N) < 0:
            upper = brentq(excess, prev, N, xtol=xtol)
            break
        prev, d = N, 2.0 * d
    points = pd.DataFrame(sorted(seen.items()), columns=["N", "profile_loglik"])
    return ProfileInterval(float(lower), float(upper), level, float(cut), float(cap), points)
