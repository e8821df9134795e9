"""Multiple imputation by bootstrap and EM, Rubin's rules, and simulated
missingness with a known mechanism.

``multiple_imputations`` follows Honaker, King & Blackwell's EMB (R's
Amelia): each of the ``m`` imputations fits the multivariate normal by EM to
a bootstrap resample of the rows, then draws every row's missing values from
their conditional normal distribution under those estimates,
``x_m ~ N(mu_m + B (x_o - mu_o), Sigma_mm - B Sigma_om)``, ``B = Sigma_mo
Sigma_oo^{-1}``. The bootstrap carries the estimates' uncertainty into the
imputations, so analyses of the completed tables combined by
:func:`pool` have honest intervals.

``pool`` applies Rubin's (1987) rules to one estimate per completed table
and its squared standard error: the pooled estimate is the mean ``Qbar``,
its variance ``T = Ubar + (1 + 1/m) B`` (``Ubar`` the mean within-imputation
variance, ``B`` the between-imputation variance), with Student-t intervals on
``nu = (m - 1) (1 + Ubar / ((1 + 1/m) B))^2`` degrees of freedom.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats as sps

from .._validation import as_array, check_fraction, check_level, check_positive_int
from ..em import as_generator, restart_generators
from .estimator import MultivariateNormalEM
from .mvn import pattern_groups

__all__ = ["multiple_imputations", "pool", "simulate_missing", "MECHANISMS"]

MECHANISMS = ("MCAR", "MAR", "MNAR")


def multiple_imputations(X, m: int = 20, random_state=None) -> list:
    """``m`` completed copies of ``X`` (NaN for missing; a DataFrame gives
    DataFrames) by bootstrap and EM (module docstring)."""
    check_positive_int(m, "m")
    frame = X if isinstance(X, pd.DataFrame) else None
    values = MultivariateNormalEM._validate(X)
    out = []
    for rng in restart_generators(random_state, m):
        sample = values[rng.integers(0, values.shape[0], values.shape[0])]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an empty resampled row is reported by the fit on X itself
            fit = MultivariateNormalEM(random_state=rng).fit(sample)
        completed = _draw(values, fit.mean_, fit.cov_, rng)
        out.append(pd.DataFrame(completed, index=frame.index, columns=frame.columns) if frame is not None else completed)
    return out


def _draw(X: np.ndarray, mean: np.ndarray, cov: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``X`` with each row's missing values drawn from their conditional normal."""
    out = X.copy()
    for o, rows in zip(*pattern_groups(~np.isnan(X))):
        mis = ~o
        if not mis.any():
            continue
        if o.any():
            B = np.linalg.solve(cov[np.ix_(o, o)], cov[np.ix_(o, mis)]).T
            centre = mean[mis] + (X[np.ix_(rows, o)] - mean[o]) @ B.T
            spread = cov[np.ix_(mis, mis)] - B @ cov[np.ix_(o, mis)]
        else:
            centre, spread = np.broadcast_to(mean[mis], (rows.size, int(mis.sum()))), cov[np.ix_(mis, mis)]
        L = np.linalg.cholesky(0.5 * (spread + spread.T))
        out[np.ix_(rows, mis)] = centre + rng.standard_normal((rows.size, int(mis.sum()))) @ L.T
    return out


def pool(estimates, variances, names=None, level: float = 0.95) -> pd.DataFrame:
    """Rubin's rules (module docstring) for ``estimates`` and ``variances``
    (squared standard errors), each (m, k): one row per completed table.
    Returns estimate, std_error, ci_lower, ci_upper (the summary columns),
    then df, the between- and within-imputation variances and the fraction
    of missing information ``(1 + 1/m) B / T``."""
    check_level(level)
    Q = as_array(estimates, "estimates", ndim=(1, 2))
    U = as_array(variances, "variances", ndim=(1, 2))
    Q, U = Q.reshape(Q.shape[0], -1), U.reshape(U.shape[0], -1)
    if Q.shape != U.shape:
        raise ValueError(f"estimates {Q.shape} and variances {U.shape} must have the same shape (m, k)")
    m = Q.shape[0]
    if m < 2:
        raise ValueError(f"pooling needs at least 2 completed tables; got {m}")
    if not (np.all(np.isfinite(Q)) and np.all(np.isfinite(U)) and np.all(U >= 0)):
        raise ValueError("estimates must be finite and variances finite and non-negative")
    qbar, ubar, b = Q.mean(axis=0), U.mean(axis=0), Q.var(axis=0, ddof=1)
    total = ubar + (1.0 + 1.0 / m) * b
    with np.errstate(divide="ignore"):
        df = (m - 1) * (1.0 + ubar / ((1.0 + 1.0 / m) * b)) ** 2
    half = sps.t.ppf(0.5 + level / 2.0, df) * np.sqrt(total)
    return pd.DataFrame({
        "parameter": names if names is not None else [str(j) for j in range(Q.shape[1])],
        "estimate": qbar, "std_error": np.sqrt(total), "ci_lower": qbar - half, "ci_upper": qbar + half,
        "df": df, "between": b, "within": ubar, "missing_information": (1.0 + 1.0 / m) * b / total,
    })


def _probabilities(weight: np.ndarray, fraction: float) -> np.ndarray:
    """``min(1, c weight)`` with ``c`` found by bisection so that the mean is ``fraction``."""
    lo, hi = 0.0, 1.0 / weight.min()
    for _ in range(100):
        c = 0.5 * (lo + hi)
        lo, hi = (c, hi) if np.minimum(1.0, c * weight).mean() < fraction else (lo, c)
    return np.minimum(1.0, 0.5 * (lo + hi) * weight)


def simulate_missing(X, fraction: float, mechanism: str = "MCAR", columns=None, driver=None,
                     random_state=None) -> np.ndarray:
    """A copy of ``X`` (complete) with about ``fraction`` of the values of
    ``columns`` (default: all but the first) deleted:

    * ``"MCAR"``: each value independently with probability ``fraction``;
    * ``"MAR"``: with probability rising with the row's value of the fully
      observed column ``driver`` (default: the first column not deleted),
      ``p_i = min(1, c exp(z_i))`` (``z`` the standardised driver), ``c``
      chosen so that the probabilities average ``fraction``;
    * ``"MNAR"``: the same, driven by the deleted value itself.

    Returns an array (the truth is ``X`` itself)."""
    values = as_array(X, "X", ndim=2).copy()
    if np.isnan(values).any():
        raise ValueError("X must be complete: simulate_missing deletes values from a complete table")
    check_fraction(fraction, "fraction")
    if mechanism not in MECHANISMS:
        raise ValueError(f"mechanism must be one of {MECHANISMS}; got {mechanism!r}")
    p = values.shape[1]
    columns = list(range(1, p)) if columns is None else [int(c) for c in columns]
    if not columns or any(not 0 <= c < p for c in columns):
        raise ValueError(f"columns must name columns 0..{p - 1}; got {columns}")
    rng = as_generator(random_state)
    if mechanism == "MAR":
        driver = next((c for c in range(p) if c not in columns), None) if driver is None else int(driver)
        if driver is None or driver in columns:
            raise ValueError("MAR needs a driver column that is observed (not among columns)")
    for c in columns:
        if mechanism == "MCAR":
            prob = np.full(values.shape[0], fraction)
        else:
            source = values[:, driver] if mechanism == "MAR" else values[:, c]
            z = (source - source.mean()) / (source.std() or 1.0)
            prob = _probabilities(np.exp(z), fraction)
        values[rng.random(values.shape[0]) < prob, c] = np.nan
    return values
