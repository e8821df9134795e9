"""One kind of result for every hypothesis test in latentlab."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["TestResult"]


@dataclass(frozen=True)
class TestResult:
    """The outcome of a hypothesis test.

    Attributes
    ----------
    test : what was tested (e.g. ``"Hardy-Weinberg equilibrium"``).
    method : how (e.g. ``"likelihood ratio"``, ``"exact"``).
    statistic : the test statistic (NaN for an exact test that has none).
    df : degrees of freedom of its reference distribution (NaN if none).
    p_value : the p-value.
    details : further named quantities of the test (log-likelihoods, counts).

    ``result["name"]`` reads an attribute or a detail by name;
    :meth:`to_series` gives everything as one pandas Series.
    """

    __test__ = False  # not a pytest test class

    test: str
    method: str
    statistic: float
    df: float
    p_value: float
    details: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str):
        if name in ("test", "method", "statistic", "df", "p_value"):
            return getattr(self, name)
        if name in self.details:
            return self.details[name]
        raise KeyError(f"{name!r} is not a field of this test result; it has {list(self.to_series().index)}")

    def to_series(self) -> pd.Series:
        return pd.Series({"test": self.test, "method": self.method, "statistic": self.statistic, "df": self.df,
                          "p_value": self.p_value, **self.details})

    def __str__(self) -> str:
        stat = "" if np.isnan(self.statistic) else f"statistic {self.statistic:.4g}, "
        df = "" if np.isnan(self.df) else f"df {self.df:g}, "
        return f"{self.test} ({self.method}): {stat}{df}p = {self.p_value:.4g}"
