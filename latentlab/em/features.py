"""DataFrame in, names out: the column names an estimator was fitted on.

scikit-learn's convention: ``n_features_in_`` always, ``feature_names_in_``
(an object array of strings) only when ``fit`` was given a DataFrame whose
column names are all strings; new data with other names is refused.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["feature_names", "set_feature_names", "check_feature_names", "feature_labels"]


def feature_names(X) -> np.ndarray | None:
    """The column names of a DataFrame (all strings), else None."""
    if isinstance(X, pd.DataFrame) and len(X.columns) and all(isinstance(c, str) for c in X.columns):
        return np.asarray(X.columns, dtype=object)
    return None


def set_feature_names(estimator, names: np.ndarray | None, n_features: int) -> None:
    """Set ``n_features_in_`` and, with names, ``feature_names_in_``."""
    estimator.n_features_in_ = int(n_features)
    if names is not None:
        estimator.feature_names_in_ = names
    elif hasattr(estimator, "feature_names_in_"):
        del estimator.feature_names_in_


def check_feature_names(estimator, X) -> None:
    """Refuse a DataFrame whose columns differ from the fitted ones."""
    fitted = getattr(estimator, "feature_names_in_", None)
    given = feature_names(X)
    if fitted is not None and given is not None and not np.array_equal(fitted, given):
        raise ValueError(
            f"X has feature names {list(given)}, but {type(estimator).__name__} was fitted with {list(fitted)}; "
            "the columns must be the same, in the same order"
        )


def feature_labels(estimator) -> list[str]:
    """Names to label the features by: the fitted column names, else 0, 1, ..."""
    names = getattr(estimator, "feature_names_in_", None)
    return [str(n) for n in names] if names is not None else [str(i) for i in range(estimator.n_features_in_)]
