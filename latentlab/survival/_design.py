"""Covariates to a design matrix for the log-linear rate ``log(lambda_i) = x_i' beta``.

A DataFrame's numeric (and boolean) columns enter as they are; text and
categorical columns are dummy-coded against their first level (sorted), the
levels learned at ``fit`` and reused for prediction. A numpy array enters
column by column as ``x0, x1, ...``. An intercept column comes first.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import as_array, check_finite

__all__ = ["Design"]


class Design:
    """The encoding of one covariate table, learned once and reapplied."""

    def __init__(self, covariates):
        frame = self._as_frame(covariates)
        self.columns = list(frame.columns)
        self.levels = {
            c: sorted(frame[c].dropna().unique().tolist())
            for c in self.columns
            if not (pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]))
        }
        self.names = ["intercept"]
        for c in self.columns:
            if c in self.levels:
                self.names += [f"{c}[{lev}]" for lev in self.levels[c][1:]]
            else:
                self.names.append(str(c))

    @staticmethod
    def _as_frame(covariates) -> pd.DataFrame:
        if isinstance(covariates, pd.Series):
            return covariates.to_frame()
        if isinstance(covariates, pd.DataFrame):
            if covariates.shape[1] == 0:
                raise ValueError("covariates has no columns")
            return covariates.reset_index(drop=True)
        arr = as_array(covariates, "covariates", ndim=(1, 2), allow_bool=True)
        arr = arr.reshape(arr.shape[0], -1)
        return pd.DataFrame(arr, columns=[f"x{j}" for j in range(arr.shape[1])])

    def transform(self, covariates) -> np.ndarray:
        """The design matrix (intercept first) of ``covariates``."""
        frame = self._as_frame(covariates)
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            raise ValueError(f"covariates lack the column(s) {missing} used in the fit")
        parts = [np.ones((len(frame), 1))]
        for c in self.columns:
            col = frame[c]
            if c in self.levels:
                unknown = ~col.isin(self.levels[c])
                if unknown.any():
                    i = int(np.argmax(unknown.to_numpy()))
                    raise ValueError(
                        f"covariates column {c!r} row {i} has level {col.iloc[i]!r}, not one of {self.levels[c]}"
                    )
                parts.append(np.column_stack([(col == lev).to_numpy(float) for lev in self.levels[c][1:]]))
            else:
                values = col.to_numpy(dtype=float)
                check_finite(values, f"covariates column {c!r}")
                parts.append(values[:, None])
        return np.hstack([p for p in parts if p.shape[1] > 0])

    def fit_matrix(self, covariates, n: int) -> np.ndarray:
        """The design matrix of the fitting data: ``n`` rows, full column rank."""
        X = self.transform(covariates)
        if X.shape[0] != n:
            raise ValueError(f"covariates has {X.shape[0]} rows but there are {n} observations")
        rank = np.linalg.matrix_rank(X)
        if rank < X.shape[1]:
            raise ValueError(
                f"the design matrix from covariates (columns {self.names}) has rank {rank} < {X.shape[1]}: "
                "a column is constant or a combination of others (the intercept is added automatically)"
            )
        return X
