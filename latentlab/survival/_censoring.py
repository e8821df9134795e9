"""Censored lifetimes as intervals, and the exponential distribution on them.

Every observation is an interval known to contain the lifetime ``T``:

========================  =======================  ==========================
kind                      lower ``L``              upper ``R``
========================  =======================  ==========================
exact (event observed)    t                        t
right-censored            last time seen alive     ``inf``
left-censored             0                        first time seen failed
interval-censored         last visit before        first visit after
========================  =======================  ==========================

For ``T ~ Exp(lambda)`` and ``w = R - L`` the log-probability of an
observation and, by the memoryless property, the conditional mean of ``T``
are

    log P = log(lambda) - lambda t                         (exact)
    log P = -lambda L + log(1 - exp(-lambda w))            (L < R; 0 when R = inf)
    E[T | L < T <= R] = L + w g(lambda w),    g(a) = 1/a - 1/(e^a - 1)

so a right-censored time gets ``L + 1/lambda`` (``w g(lambda w) -> 1/lambda``).
The derivatives in ``eta = log(lambda)``, used for the observed information,
are, with ``a = lambda w``,

    dlogP/deta   = 1 - lambda t                 | -lambda L + a / (e^a - 1)
    d2logP/deta2 = -lambda t                    | -lambda L + a/(e^a - 1) - a^2 e^a / (e^a - 1)^2
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import as_array, check_binary, check_finite, check_same_length

__all__ = ["Intervals", "from_durations", "from_bounds"]

_SMALL = 1e-4  # below this a = lambda w, g(a) and a/(e^a - 1) use their Taylor series


@dataclass(frozen=True)
class Intervals:
    """Observations as ``lower <= T <= upper`` (``lower == upper``: exact)."""

    lower: np.ndarray
    upper: np.ndarray

    @property
    def n(self) -> int:
        return self.lower.shape[0]

    @property
    def exact(self) -> np.ndarray:
        return self.lower == self.upper

    @property
    def right_censored(self) -> np.ndarray:
        return np.isinf(self.upper)

    def crude_rate(self) -> float:
        """A starting rate: observations with a finite upper bound over the total
        time, counting closed intervals at their midpoints."""
        finite = ~self.right_censored
        t = np.where(finite, (self.lower + np.where(finite, self.upper, 0.0)) / 2.0, self.lower)
        return max(int(finite.sum()), 1) / max(float(t.sum()), 1e-300)


def from_durations(durations, event_observed=None, *, left: bool = False) -> Intervals:
    """Intervals from durations and 0/1 event flags (None: all events).

    A flag of 0 means right-censored at the duration (``left=False``) or
    left-censored, i.e. failed before the duration (``left=True``).
    """
    t = check_finite(as_array(durations, "durations", ndim=1), "durations")
    if (t <= 0).any():
        i = int(np.argmax(t <= 0))
        raise ValueError(f"durations must be positive; index {i} is {t[i].item()!r}")
    if event_observed is None:
        event = np.ones(t.shape[0], dtype=bool)
    else:
        event = check_binary(as_array(event_observed, "event_observed", ndim=1, allow_bool=True), "event_observed")
        check_same_length(durations=t, event_observed=event)
    if left:
        return Intervals(np.where(event, t, 0.0), t.copy())
    return Intervals(t.copy(), np.where(event, t, np.inf))


def from_bounds(lower, upper) -> Intervals:
    """Intervals from bounds ``0 <= lower <= upper <= inf`` (equal bounds: exact, positive)."""
    lo = as_array(lower, "lower_bound", ndim=1)
    hi = as_array(upper, "upper_bound", ndim=1)
    check_same_length(lower_bound=lo, upper_bound=hi)
    check_finite(lo, "lower_bound")
    if np.isnan(hi).any():
        i = int(np.argmax(np.isnan(hi)))
        raise ValueError(f"upper_bound has NaN at index {i}; use inf for right-censored observations")
    for bad, what in (
        (lo < 0, "lower_bound must be non-negative"),
        (lo > hi, "lower_bound must not exceed upper_bound"),
        (hi <= 0, "upper_bound must be positive"),
    ):
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"{what}; index {i} has lower_bound={lo[i].item()!r}, upper_bound={hi[i].item()!r}")
    return Intervals(lo, hi)


def _log1mexp(a: np.ndarray) -> np.ndarray:
    """``log(1 - exp(-a))`` for ``a > 0``, accurate at both ends (Maechler 2012)."""
    with np.errstate(divide="ignore"):
        return np.where(a < np.log(2.0), np.log(-np.expm1(-a)), np.log1p(-np.exp(-a)))


def _a_over_expm1(a: np.ndarray) -> np.ndarray:
    """``a / (e^a - 1)`` (1 at 0, 0 at inf)."""
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.where(a < _SMALL, 1.0 - a / 2.0 + a * a / 12.0, a / np.expm1(a))
    return np.where(np.isinf(a), 0.0, out)


def log_prob(data: Intervals, rate: np.ndarray) -> np.ndarray:
    """Per-observation ``log P(L <= T <= R)`` (density for exact) under Exp(rate)."""
    rate = np.broadcast_to(rate, data.lower.shape)
    exact = data.exact
    with np.errstate(divide="ignore", invalid="ignore"):
        width = np.where(exact, 1.0, data.upper - data.lower)
        a = rate * width
        cens = -rate * data.lower + np.where(np.isinf(a), 0.0, _log1mexp(a))
        return np.where(exact, np.log(rate) - rate * data.lower, cens)


def expected_time(data: Intervals, rate: np.ndarray) -> np.ndarray:
    """``E[T | L <= T <= R]`` under Exp(rate) (module docstring)."""
    rate = np.broadcast_to(rate, data.lower.shape)
    width = data.upper - data.lower
    a = rate * width
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        g = np.where(a < _SMALL, 0.5 - a / 12.0, 1.0 / a - 1.0 / np.expm1(a))
        extra = np.where(np.isinf(width), 1.0 / rate, width * g)
    return np.where(data.exact, data.lower, data.lower + extra)


def eta_derivatives(data: Intervals, rate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and second derivatives of ``log P`` in ``eta = log(rate)`` (module docstring)."""
    rate = np.broadcast_to(rate, data.lower.shape)
    exact = data.exact
    width = np.where(exact, 0.0, data.upper - data.lower)
    a = rate * width
    q = _a_over_expm1(a)
    with np.errstate(over="ignore", invalid="ignore"):
        # a^2 e^a / (e^a - 1)^2 = q^2 e^a: 1 at a = 0, 0 at a = inf
        curv = np.where(a > 700.0, 0.0, q * q * np.exp(np.minimum(a, 700.0)))
    base = -rate * data.lower
    d1 = np.where(exact, 1.0 + base, base + q)
    d2 = np.where(exact, base, base + q - curv)
    return d1, d2
