"""The Kaplan-Meier product-limit estimator (reference curve for plots).

At the distinct event times ``t_j`` with ``n_j`` at risk and ``d_j`` events,

    S(t) = prod_{t_j <= t} (1 - d_j / n_j),

Greenwood's variance ``Var S(t) = S(t)^2 sum_{t_j <= t} d_j / (n_j (n_j - d_j))``
and the pointwise interval on the log(-log) scale (Kalbfleisch & Prentice;
the "exponential Greenwood" interval lifelines reports):

    exp(-exp(log(-log S) -/+ z sqrt(v))),  v = sum d_j/(n_j (n_j - d_j)) / (log S)^2.

Censored times tied with event times count as at risk at that time. Where
everyone at risk fails, S drops to 0 and is reported with standard error 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from .._validation import check_level
from ..em.estimator import Estimator, NotFittedError
from . import _censoring as cens

__all__ = ["KaplanMeier"]


class KaplanMeier(Estimator):
    """Kaplan-Meier estimate of the survival function of right-censored data.

    Attributes (after fit)
    ----------------------
    survival_function_ : DataFrame indexed by time (0 and each distinct
        observed time) with at_risk, events, censored, survival, std_error
        (Greenwood), ci_lower, ci_upper.
    median_ : smallest time with ``S(t) <= 0.5`` (inf if never reached).
    """

    def __init__(self, level: float = 0.95):
        self.level = level

    def fit(self, durations, event_observed=None) -> KaplanMeier:
        """Fit to positive durations with 0/1 event flags (None: all events)."""
        check_level(self.level)
        data = cens.from_durations(durations, event_observed)
        t, event = data.lower, data.exact
        times, inverse = np.unique(t, return_inverse=True)
        events = np.bincount(inverse, weights=event).astype(int)
        removed = np.bincount(inverse).astype(int)
        at_risk = data.n - np.concatenate([[0], np.cumsum(removed)[:-1]])
        with np.errstate(divide="ignore", invalid="ignore"):
            surv = np.cumprod(1.0 - events / at_risk)
            # a time where everyone at risk fails drops S to 0: its Greenwood term is
            # infinite, and the curve is 0 with no spread from there on
            green = np.cumsum(np.where((events > 0) & (at_risk > events), events / (at_risk * (at_risk - events)), 0.0))
            z = sps.norm.ppf(0.5 + self.level / 2.0)
            log_s = np.log(surv)
            half = z * np.sqrt(green) / np.abs(log_s)
            centre = np.log(-log_s)
            lo = np.exp(-np.exp(centre + half))
            hi = np.exp(-np.exp(centre - half))
        degenerate = (surv <= 0) | (surv >= 1)  # interval undefined: collapse onto the estimate
        self.survival_function_ = pd.DataFrame(
            {
                "at_risk": np.concatenate([[data.n], at_risk]),
                "events": np.concatenate([[0], events]),
                "censored": np.concatenate([[0], removed - events]),
                "survival": np.concatenate([[1.0], surv]),
                "std_error": np.concatenate([[0.0], surv * np.sqrt(green)]),
                "ci_lower": np.concatenate([[1.0], np.where(degenerate, surv, lo)]),
                "ci_upper": np.concatenate([[1.0], np.where(degenerate, surv, hi)]),
            },
            index=pd.Index(np.concatenate([[0.0], times]), name="time"),
        )
        below = np.flatnonzero(self.survival_function_["survival"].to_numpy() <= 0.5)
        self.median_ = float(self.survival_function_.index[below[0]]) if below.size else np.inf
        return self

    def summary(self) -> pd.DataFrame:
        """The library's summary columns (parameter, estimate, std_error,
        ci_lower, ci_upper) for ``S(t)`` at each distinct event time, with
        at_risk and events; the interval is at the fitted ``level``."""
        if not hasattr(self, "survival_function_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit(...) first")
        sf = self.survival_function_[self.survival_function_["events"] > 0]
        return pd.DataFrame({
            "parameter": [f"S({t:g})" for t in sf.index],
            "estimate": sf["survival"].to_numpy(),
            "std_error": sf["std_error"].to_numpy(),
            "ci_lower": sf["ci_lower"].to_numpy(),
            "ci_upper": sf["ci_upper"].to_numpy(),
            "at_risk": sf["at_risk"].to_numpy(),
            "events": sf["events"].to_numpy(),
        })

    def _check_fitted(self):
        if not hasattr(self, "survival_function_"):
            raise AttributeError("this KaplanMeier is not fitted yet; call fit(...) first")

    def survival_function(self, times) -> pd.Series:
        """``S(t)`` at ``times`` (right-continuous step function)."""
        self._check_fitted()
        t = np.asarray(times, dtype=float).ravel()
        sf = self.survival_function_
        idx = np.searchsorted(sf.index.to_numpy(), t, side="right") - 1
        return pd.Series(sf["survival"].to_numpy()[np.maximum(idx, 0)], index=pd.Index(t, name="time"))

    def plot(self, ax=None, ci: bool = True, **kwargs):
        """Step plot of the estimate (with its band when ``ci``); returns the axes."""
        import matplotlib.pyplot as plt

        self._check_fitted()
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        sf = self.survival_function_
        kwargs.setdefault("label", "Kaplan-Meier")
        line = ax.step(sf.index, sf["survival"], where="post", **kwargs)[0]
        if ci:
            ax.fill_between(
                sf.index, sf["ci_lower"], sf["ci_upper"], step="post", color=line.get_color(), alpha=0.12, lw=0
            )
        return ax
