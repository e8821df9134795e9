"""Input checks shared by the estimators. Each raises ``ValueError`` (or
``TypeError``) whose message names the input, the offending value and what was
expected."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "as_array",
    "check_finite",
    "check_counts",
    "check_sample_weight",
    "check_n_components",
    "check_lengths",
    "missing_rows",
    "check_same_length",
    "check_binary",
    "check_positive_int",
    "check_fraction",
    "check_labels",
    "is_missing_label",
    "tidy_label",
    "check_observed_rows",
    "check_simplex",
]


def as_array(x, name: str, ndim: int | tuple[int, ...] | None = None, dtype=float,
             allow_bool: bool = False) -> np.ndarray:
    """``x`` (array-like or pandas object) as a numpy array with ``ndim`` dimensions.

    Refused rather than coerced: sparse matrices, ragged nested lists, strings
    (even numeric ones), complex values (their imaginary part would be
    dropped), booleans (unless ``allow_bool``: 0/1 indicators) and anything
    else that is not a number."""
    if hasattr(x, "toarray") or type(x).__module__.startswith("scipy.sparse"):
        raise TypeError(f"{name}: sparse input is not supported; pass a dense array (e.g. {name}.toarray())")
    if isinstance(x, (pd.Series, pd.DataFrame)):
        x = x.to_numpy()
    if x is None:
        raise TypeError(f"{name} must be an array of numbers; got None")
    try:
        raw = np.asarray(x) if not isinstance(x, np.ndarray) else x
    except ValueError:
        raise ValueError(f"{name} is ragged (its rows have different lengths); pass a rectangular array") from None
    if not allow_bool and (raw.dtype.kind == "b" or (raw.dtype.kind == "O" and any(
            isinstance(v, (bool, np.bool_)) for v in raw.ravel()))):
        raise TypeError(f"{name} holds booleans; pass numbers (e.g. {name}.astype(int)) if 0 and 1 are meant")
    if raw.dtype.kind in "USO" and _has_text(raw):
        raise TypeError(f"{name} must hold numbers; it holds text such as {_first_text(raw)!r}")
    if raw.dtype.kind == "c" or (raw.dtype.kind == "O" and any(isinstance(v, complex) for v in raw.ravel())):
        raise ValueError(f"Complex data not supported: {name} holds complex values (only real numbers are accepted)")
    try:
        arr = np.asarray(raw, dtype=dtype)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be numeric array-like; got {type(x).__name__} ({err})") from None
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if allowed is not None and arr.ndim not in allowed:
        hint = " Reshape your data: a single feature is X.reshape(-1, 1), a single row X.reshape(1, -1)." \
            if 2 in allowed and arr.ndim == 1 else ""
        raise ValueError(f"{name} must have {' or '.join(map(str, allowed))} dimension(s); got shape {arr.shape}.{hint}")
    if arr.ndim == 2 and arr.shape[1] == 0:
        raise ValueError(f"{name} has 0 feature(s) (shape={arr.shape}) while a minimum of 1 is required.")
    if arr.size == 0:
        raise ValueError(f"{name} is empty; at least one observation is needed")
    return arr


def _has_text(a: np.ndarray) -> bool:
    return a.dtype.kind in "US" or any(isinstance(v, (str, bytes)) for v in a.ravel())


def _first_text(a: np.ndarray):
    return next(v for v in a.ravel() if isinstance(v, (str, bytes, np.str_, np.bytes_)))


def _first_bad(mask: np.ndarray) -> str:
    idx = np.argwhere(mask)[0]
    return str(int(idx[0])) if idx.size == 1 else str(tuple(int(i) for i in idx))


def check_finite(arr: np.ndarray, name: str) -> np.ndarray:
    """Raise if any entry of ``arr`` is NaN or infinite."""
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ValueError(
            f"{name} has {int(bad.sum())} non-finite value(s) (NaN or inf), the first at index "
            f"{_first_bad(bad)}: {arr[tuple(np.argwhere(bad)[0])].item()!r}"
        )
    return arr


#: the largest count accepted: every integer up to it is exact in a float
MAX_COUNT = 2.0**53
#: the largest magnitude accepted for continuous data: EM squares the values
MAX_MAGNITUDE = 1e150


def check_level(level, name: str = "level") -> float:
    """A confidence level: a number strictly between 0 and 1 (bools refused)."""
    if isinstance(level, (bool, np.bool_)) or not isinstance(level, (int, float, np.integer, np.floating)) \
            or not 0 < level < 1:
        raise ValueError(f"{name} must be in (0, 1), a number such as 0.95; got {level!r}")
    return float(level)


def check_magnitude(arr: np.ndarray, name: str, limit: float = MAX_MAGNITUDE) -> np.ndarray:
    """Raise if a (non-NaN) entry exceeds ``limit`` in magnitude: the squares and
    cross-products of the E-step would overflow."""
    big = np.abs(np.nan_to_num(arr)) > limit
    if big.any():
        raise ValueError(
            f"{name} has {np.abs(arr[tuple(np.argwhere(big)[0])]):.3g} at index {_first_bad(big)}; values beyond "
            f"{limit:.0e} in magnitude overflow the sums of squares EM needs: rescale the data"
        )
    return arr


def check_counts(arr: np.ndarray, name: str) -> np.ndarray:
    """Raise unless every entry is a finite non-negative integer up to
    ``MAX_COUNT``; return int64."""
    check_finite(arr, name)
    for bad, what in ((arr < 0, "negative"), (arr != np.round(arr), "non-integer"),
                      (arr > MAX_COUNT, f"beyond {MAX_COUNT:.3g}, where integers are no longer exact")):
        if bad.any():
            raise ValueError(
                f"{name} must hold non-negative integer counts; index {_first_bad(bad)} is {what}: "
                f"{arr[tuple(np.argwhere(bad)[0])].item()!r}"
            )
    return arr.astype(np.int64)


def check_sample_weight(weights, n: int, name: str = "weights") -> np.ndarray:
    """Non-negative finite weights of length ``n`` (None: all ones)."""
    if weights is None:
        return np.ones(n)
    w = as_array(weights, name, ndim=1)
    if w.shape[0] != n:
        raise ValueError(f"{name} has length {w.shape[0]} but the data have {n} rows")
    check_finite(w, name)
    if (w < 0).any():
        raise ValueError(f"{name} must be non-negative; index {_first_bad(w < 0)} is {w[w < 0][0]!r}")
    if w.sum() <= 0:
        raise ValueError(f"{name} sum to zero: no observation carries weight")
    return w


def check_n_components(n_components, n_distinct: int, what: str = "distinct values") -> int:
    """An integer number of components between 1 and the number of ``what``."""
    if not isinstance(n_components, (int, np.integer)) or isinstance(n_components, bool):
        raise TypeError(f"n_components must be an integer; got {n_components!r}")
    if n_components < 1:
        raise ValueError(f"n_components must be at least 1; got {n_components}")
    if n_components > n_distinct:
        raise ValueError(
            f"n_components={n_components} is more than the {n_distinct} {what} in the data; "
            "the extra components would not be identifiable"
        )
    return int(n_components)


def check_lengths(lengths, n: int, name: str = "lengths") -> tuple[np.ndarray, np.ndarray]:
    """Start and end rows of consecutive sequences of the given ``lengths``
    (positive integers summing to ``n``; None: one sequence of length ``n``)."""
    if lengths is None:
        return np.array([0], dtype=np.int64), np.array([n], dtype=np.int64)
    arr = as_array(lengths, name, ndim=1)
    if np.any(arr != np.round(arr)) or np.any(arr < 1):
        bad = (arr != np.round(arr)) | (arr < 1)
        raise ValueError(f"{name} must hold positive integers; index {_first_bad(bad)} is {arr[bad][0]!r}")
    arr = arr.astype(np.int64)
    if arr.sum() != n:
        raise ValueError(f"{name} sum to {int(arr.sum())} but the data have {n} rows; they must be equal")
    ends = np.cumsum(arr)
    return ends - arr, ends


def missing_rows(arr: np.ndarray, name: str) -> np.ndarray:
    """Boolean mask of the rows of 2-d ``arr`` that are entirely NaN (missing
    observations). Raise on infinite entries and on rows only partly NaN."""
    nan = np.isnan(arr)
    if np.isinf(arr).any():
        raise ValueError(f"{name} has infinite value(s), the first at index {_first_bad(np.isinf(arr))}")
    missing = nan.all(axis=1)
    partial = nan.any(axis=1) & ~missing
    if partial.any():
        raise ValueError(
            f"{name} row {_first_bad(partial)} is NaN in some columns only; a missing observation "
            "must be NaN in every column"
        )
    return missing


def check_same_length(**arrays: np.ndarray) -> int:
    """The common length of the named 1-d arrays; raise naming both if two differ."""
    items = [(name, np.shape(a)[0]) for name, a in arrays.items() if a is not None]
    first_name, n = items[0]
    for name, m in items[1:]:
        if m != n:
            raise ValueError(f"{name} has length {m} but {first_name} has length {n}; they must match")
    return n


def check_binary(arr: np.ndarray, name: str) -> np.ndarray:
    """Raise unless every entry is 0 or 1 (booleans allowed); return a bool array."""
    check_finite(arr, name)
    bad = (arr != 0) & (arr != 1)
    if bad.any():
        first = arr[tuple(np.argwhere(bad)[0])].item()
        raise ValueError(f"{name} must hold 0 or 1 (or booleans); index {_first_bad(bad)} is {first!r}")
    return arr.astype(bool)


def check_positive_int(value, name: str) -> int:
    """An integer >= 1 (bools refused)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer; got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1; got {value}")
    return int(value)


def check_positive(value, name: str) -> float:
    """A finite number > 0 (bools refused)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number; got {value!r}")
    return float(value)


def check_fraction(value, name: str, upper: float = 1.0) -> float:
    """A number in ``[0, upper]``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number; got {value!r}")
    if not (0.0 <= value <= upper):
        raise ValueError(f"{name} must be between 0 and {upper}; got {value!r}")
    return float(value)


def check_labels(values, allowed, name: str, what: str, where=None) -> np.ndarray:
    """Positions of ``values`` in the list ``allowed``; raise naming the first
    value that is not one of the ``what`` in ``allowed`` and where it is
    (``where[i]`` describes position ``i``; default ``"entry i"``)."""
    lookup = {v: i for i, v in enumerate(allowed)}
    out = np.empty(len(values), dtype=np.int64)
    for i, v in enumerate(values):
        if v not in lookup:
            shown = ", ".join(map(repr, list(allowed)[:12])) + (", ..." if len(allowed) > 12 else "")
            place = where[i] if where is not None else f"entry {i}"
            raise ValueError(f"{name}: {place} is {v!r}, which is not one of the {what} ({shown})")
        out[i] = lookup[v]
    return out


def is_missing_label(v, missing_values) -> bool:
    """True if the label ``v`` is None, NA, NaN or equal to one of ``missing_values``."""
    if v is None or v is pd.NA:
        return True
    if isinstance(v, float) and np.isnan(v):
        return True
    return any(v == m for m in missing_values)


def tidy_label(v):
    """Integral floats (from a column holding NaN) back to ints; numpy scalars to Python."""
    if isinstance(v, (np.generic,)):
        v = v.item()
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def check_observed_rows(arr: np.ndarray, name: str) -> np.ndarray:
    """Rows of a 2-d array in which NaN marks a missing value: raise on
    infinite values and on rows with no observed value at all."""
    inf = np.isinf(arr)
    if inf.any():
        raise ValueError(f"{name} has an infinite value at index {_first_bad(inf)}; NaN marks a missing value, inf is not allowed")
    return _no_all_missing(arr, name, axis=1, what="row", why="such rows carry no information")


def check_observed_columns(arr: np.ndarray, name: str) -> np.ndarray:
    """Data to fit to: no column may be missing (NaN) in every row."""
    return _no_all_missing(arr, name, axis=0, what="column", why="nothing can be estimated for them")


def _no_all_missing(arr: np.ndarray, name: str, axis: int, what: str, why: str) -> np.ndarray:
    """Raise if a row (``axis=1``) or column (``axis=0``) is NaN throughout."""
    empty = np.isnan(arr).all(axis=axis)
    if empty.any():
        idx = np.flatnonzero(empty)
        raise ValueError(
            f"{name} has {idx.size} {what}(s) with every value missing (NaN), the first is {what} {idx[0]}; "
            f"{why}: remove them"
        )
    return arr


def check_simplex(arr, name: str, size: int, atol: float = 1e-6) -> np.ndarray:
    """A vector of ``size`` non-negative finite values summing to one."""
    w = check_finite(as_array(arr, name, ndim=1), name)
    if w.shape[0] != size:
        raise ValueError(f"{name} must have length {size}; got {w.shape[0]}")
    if (w < 0).any() or abs(w.sum() - 1.0) > atol:
        raise ValueError(f"{name} must be non-negative and sum to 1; got {w} (sum {w.sum()!r})")
    return w / w.sum()
