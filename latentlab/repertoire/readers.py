"""Readers for repertoire tables: AIRR rearrangement TSV and a plain
two-column table of sequences and counts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import as_array, check_counts

__all__ = ["read_airr", "read_counts"]


def read_airr(path, sequence_column: str = "junction") -> pd.DataFrame:
    """Distinct sequences with read and molecule counts from an AIRR
    rearrangement TSV (AIRR Community standard, Vander Heiden et al. 2018).

    ``sequence_column`` names the column holding the sequence to denoise
    (``junction``, the CDR3 with its anchors, by default; ``sequence`` for
    the whole read; ``cdr3`` without anchors). A row with an empty sequence
    is refused, not dropped. Counts come from ``duplicate_count`` (reads; 1
    per row when the column is absent) and ``umi_count`` (molecules) when it
    is present; rows with the same sequence are summed. Returns columns
    sequence, count and, if present, umi_count, largest count first.
    """
    frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    if sequence_column not in frame.columns:
        raise ValueError(f"{path}: no column {sequence_column!r} (columns: {list(frame.columns)})")
    out = pd.DataFrame({"sequence": _sequences(frame[sequence_column], path, sequence_column)})
    out["count"] = _counts(frame, "duplicate_count", path) if "duplicate_count" in frame else 1
    if "umi_count" in frame:
        out["umi_count"] = _counts(frame, "umi_count", path)
    return _summed(out)


def read_counts(path, sep: str = "\t") -> pd.DataFrame:
    """Distinct sequences and counts from a plain table of two columns,
    sequence then count, with or without a header line (a header is
    recognised by a second field that is not a number); repeated sequences
    are summed. Returns columns sequence and count, largest first."""
    frame = pd.read_csv(path, sep=sep, header=None, dtype=str, keep_default_na=False)
    if frame.shape[1] != 2:
        raise ValueError(f"{path}: expected 2 columns (sequence, count); line 1 has {frame.shape[1]}")
    if not frame.iloc[0, 1].strip().lstrip("-").replace(".", "", 1).isdigit():
        frame = frame.iloc[1:]
    frame.columns = ["sequence", "count"]
    out = pd.DataFrame({"sequence": _sequences(frame["sequence"], path, "sequence")})
    out["count"] = _counts(frame, "count", path)
    return _summed(out)


def _sequences(column: pd.Series, path, name: str) -> np.ndarray:
    values = column.str.strip().to_numpy(dtype=object)
    empty = np.flatnonzero(values == "")
    if empty.size:
        raise ValueError(f"{path}: column {name!r} is empty at data row {int(empty[0]) + 1}")
    return values


def _counts(frame: pd.DataFrame, column: str, path) -> np.ndarray:
    raw = frame[column].str.strip()
    numbers = pd.to_numeric(raw, errors="coerce")
    bad = np.flatnonzero(numbers.isna().to_numpy())
    if bad.size:
        raise ValueError(f"{path}: column {column!r} at data row {int(bad[0]) + 1} is {raw.iloc[bad[0]]!r}, not a count")
    return check_counts(as_array(numbers.to_numpy(), f"{path}: {column}", ndim=1), f"{path}: {column}")


def _summed(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.groupby("sequence", sort=False, as_index=False).sum()
    return out.sort_values("count", ascending=False, kind="stable").reset_index(drop=True)
