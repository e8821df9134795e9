"""Simulated trials with a known truth: exponential lifetimes, a cured fraction,
administrative end of study, random drop-out and periodic visits."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import as_array
from ..em import as_generator

__all__ = ["simulate_censored_exponential"]


def _positive_or_none(value, name: str):
    if value is not None and not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive finite number or None; got {value!r}")


def simulate_censored_exponential(
    n: int,
    rate,
    *,
    study_end: float | None = None,
    dropout_rate: float | None = None,
    visit_interval: float | None = None,
    cure_fraction: float = 0.0,
    random_state=None,
) -> pd.DataFrame:
    """``n`` subjects of a trial with exponential lifetimes and a known truth.

    Each subject is cured with probability ``cure_fraction`` (never fails) and
    otherwise fails at ``T ~ Exp(rate)`` (``rate`` a number or one per subject,
    e.g. ``exp(X @ beta)`` for a regression truth). Follow-up ends at
    ``C = min(study_end, D)``, ``D ~ Exp(dropout_rate)`` the drop-out time
    (either may be None: no such limit; with neither every lifetime but the
    cured is observed).

    Without ``visit_interval`` the failure time is seen exactly when
    ``T <= C``: ``lower = upper = T``; otherwise right-censored at ``C``
    (``lower = C``, ``upper = inf``). With visits every ``visit_interval`` (at
    ``v, 2v, ...`` up to ``C``) a failure is known only to lie between the last
    visit before it and the first visit after it: ``(lower, upper]``; a subject
    who has not failed by the last visit ``<= C`` is right-censored there.

    Returns a DataFrame with columns ``lower, upper`` (the observation),
    ``duration, event`` (``duration = lower`` when right-censored, ``upper``
    otherwise; ``event = upper < inf``), and the truth ``true_time`` (inf when
    cured), ``cured``.
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer; got {n!r}")
    rates = as_array(rate, "rate", ndim=(0, 1))
    if rates.ndim == 1 and rates.shape[0] != n:
        raise ValueError(f"rate has length {rates.shape[0]} but n is {n}")
    if not (np.all(np.isfinite(rates)) and np.all(rates > 0)):
        raise ValueError(f"rate must be positive and finite; got {rate!r}")
    for value, name in ((study_end, "study_end"), (dropout_rate, "dropout_rate"), (visit_interval, "visit_interval")):
        _positive_or_none(value, name)
    if not 0 <= cure_fraction < 1:
        raise ValueError(f"cure_fraction must be in [0, 1); got {cure_fraction!r}")
    rng = as_generator(random_state)
    cured = rng.random(n) < cure_fraction
    true_time = np.where(cured, np.inf, rng.exponential(1.0, n) / rates)
    end = np.full(n, np.inf if study_end is None else float(study_end))
    if dropout_rate is not None:
        end = np.minimum(end, rng.exponential(1.0 / dropout_rate, n))
    if visit_interval is None:
        seen = true_time <= end
        lower = np.where(seen, true_time, end)
        upper = np.where(seen, true_time, np.inf)
    else:
        v = float(visit_interval)
        last_visit = np.floor(end / v) * v
        after = np.ceil(true_time / v) * v  # first visit at or after the failure
        seen = after <= last_visit
        lower = np.where(seen, after - v, last_visit)
        upper = np.where(seen, after, np.inf)
    if np.isinf(lower).any():
        raise ValueError("with no study_end and no dropout_rate, cured subjects are never censored; set one of them")
    return pd.DataFrame(
        {
            "lower": lower,
            "upper": upper,
            "duration": np.where(seen, upper, lower),
            "event": seen.astype(int),
            "true_time": true_time,
            "cured": cured,
        }
    )
