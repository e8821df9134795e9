"""Capture histories: checking and tabulating them, and reading MARK ``.inp`` files.

A closed-population study records, for every animal caught at least once, a
0/1 *capture history* over ``T`` occasions. The likelihood depends on the data
only through the distinct histories ``h_j`` and their frequencies ``f_j``, so
every input is reduced to that form (:class:`CaptureData`):

* an animals x occasions 0/1 matrix (numpy array or DataFrame), one row per
  animal -- a row of zeros is an error, since an animal never caught cannot be
  in the data;
* distinct histories with frequencies ``freq`` (non-negative integers);
* the records of a MARK ``.inp`` file (:func:`read_inp`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._validation import as_array, check_counts, check_sample_weight

__all__ = ["CaptureData", "as_capture_data", "InpFile", "read_inp"]


@dataclass(frozen=True)
class CaptureData:
    """Distinct capture histories with their frequencies.

    Attributes
    ----------
    histories : (J, T) int array of distinct 0/1 histories, none all-zero.
    freq : (J,) float array of frequencies ``f_j`` (positive integers).
    """

    histories: np.ndarray
    freq: np.ndarray

    @property
    def n_caught(self) -> int:
        """``n = sum_j f_j``, the number of distinct animals caught."""
        return int(round(self.freq.sum()))

    @property
    def n_occasions(self) -> int:
        return self.histories.shape[1]

    def times_caught(self) -> np.ndarray:
        """Observed number of animals caught exactly ``y`` times, ``y = 0..T`` (``y = 0`` is 0)."""
        return np.bincount(self.histories.sum(axis=1), weights=self.freq, minlength=self.n_occasions + 1)

    def caught_per_occasion(self) -> np.ndarray:
        """Observed number of animals caught on each occasion ``n_t``."""
        return self.freq @ self.histories


def _check_binary(h: np.ndarray, name: str) -> None:
    bad = (h != 0) & (h != 1)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(
            f"{name} must hold only 0 (not caught) and 1 (caught); row {row}, occasion {col} is {float(h[row, col]):g}"
        )


def as_capture_data(histories, freq=None, name: str = "histories") -> CaptureData:
    """Check capture histories and tabulate them into distinct histories.

    Parameters
    ----------
    histories : (animals or distinct histories) x occasions array-like of 0/1.
    freq : None when each row is one animal; otherwise the frequency of each row
        (non-negative integers; rows with frequency 0 carry no animal).

    Raises ``ValueError`` for entries other than 0/1 (naming row and occasion),
    fewer than 2 occasions, a row of zeros (an animal never caught) and
    frequencies that are negative or not integers.
    """
    h = as_array(histories, name, ndim=2, allow_bool=True)
    if h.shape[1] < 2:
        raise ValueError(
            f"{name} has {h.shape[1]} occasion(s); closed-population models need at least 2 capture occasions"
        )
    if not np.all(np.isfinite(h)):
        row, col = np.argwhere(~np.isfinite(h))[0]
        raise ValueError(f"{name} has a missing or non-finite entry at row {row}, occasion {col}: {float(h[row, col]):g}")
    _check_binary(h, name)
    h = h.astype(np.int64)
    f = check_sample_weight(freq, h.shape[0], "freq")
    check_counts(f, "freq")
    never = (h.sum(axis=1) == 0) & (f > 0)
    if never.any():
        row = int(np.flatnonzero(never)[0])
        what = "animal" if freq is None else "history with positive frequency"
        raise ValueError(
            f"{name} row {row} is all zeros: an {what} never caught cannot be observed "
            "(the unseen animals are what the model estimates); remove such rows"
        )
    distinct, inverse = np.unique(h, axis=0, return_inverse=True)
    counts = np.bincount(inverse.ravel(), weights=f, minlength=distinct.shape[0])
    keep = counts > 0
    return CaptureData(distinct[keep], counts[keep])


# --------------------------------------------------------------------------- MARK .inp
@dataclass(frozen=True)
class InpFile:
    """The records of a MARK ``.inp`` encounter-history file.

    Attributes
    ----------
    histories : (R, T) int array, one row per record.
    freq : (R, G) int array of the group frequencies of each record.
    covariates : (R, C) float array of individual covariates (C may be 0).
    line_numbers : (R,) the line of the file where each record starts.
    """

    histories: np.ndarray
    freq: np.ndarray
    covariates: np.ndarray
    line_numbers: np.ndarray

    def capture_data(self, group: int = 0) -> CaptureData:
        """Distinct histories of group ``group`` (0-based) with their frequencies."""
        if not 0 <= group < self.freq.shape[1]:
            raise ValueError(f"group must be in 0..{self.freq.shape[1] - 1}; got {group!r}")
        return as_capture_data(self.histories, self.freq[:, group])


_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _strip_comments(text: str) -> str:
    """Remove ``/* ... */`` comments, keeping their newlines so line numbers hold."""
    return _COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), text)


def _parse_record(line: str, lineno: int, n_groups: int):
    def fail(why: str):
        raise ValueError(f"MARK .inp line {lineno}: {why}: {line.strip()!r}")

    body = line.strip()
    if not body.endswith(";"):
        fail("a record must end with ';'")
    fields = body[:-1].split()
    if not fields:
        fail("empty record")
    history, rest = fields[0], fields[1:]
    if not re.fullmatch(r"[01]+", history):
        fail("the encounter history must be a string of 0 and 1 only (no '.' or other codes)")
    if len(rest) < n_groups:
        fail(f"expected {n_groups} group frequenc{'y' if n_groups == 1 else 'ies'} after the history")
    for token in rest:
        if not _NUMBER.match(token):
            fail(f"{token!r} is not a number")
    freqs = [float(t) for t in rest[:n_groups]]
    if not all(np.isfinite(f) for f in freqs):
        fail("group frequencies must be finite (a frequency overflows to inf)")
    if any(f < 0 or f != int(f) for f in freqs):
        fail("group frequencies must be non-negative integers (losses on capture are not supported)")
    return [int(c) for c in history], [int(f) for f in freqs], [float(t) for t in rest[n_groups:]]


def read_inp(source, n_groups: int = 1) -> InpFile:
    """Read a MARK ``.inp`` encounter-history file.

    Each record is an encounter history of 0/1 characters, then ``n_groups``
    group frequencies, then any individual covariates, ended by ``;``::

        /* deer mice, 6 occasions */
        111111 1;
        100111 2  0.5;

    ``/* ... */`` comments (also over several lines) and blank lines are
    skipped. ``source`` is a path or the text itself (a string containing a
    newline or a ';'). A malformed record raises ``ValueError`` naming its line
    number and content; so do records whose history length or number of fields
    differs from the first record's.
    """
    if isinstance(source, Path) or (isinstance(source, str) and "\n" not in source and ";" not in source):
        text = Path(source).read_text()
    elif isinstance(source, str):
        text = source
    else:
        raise TypeError(f"source must be a path or the text of a .inp file; got {type(source).__name__}")
    if not isinstance(n_groups, (int, np.integer)) or n_groups < 1:
        raise ValueError(f"n_groups must be an integer >= 1; got {n_groups!r}")
    if text.count("/*") != text.count("*/"):
        raise ValueError("MARK .inp: a '/*' comment is not closed by '*/'")
    records, shape = [], None
    for lineno, line in enumerate(_strip_comments(text).splitlines(), start=1):
        if not line.strip():
            continue
        hist, freqs, covs = _parse_record(line, lineno, n_groups)
        if shape is None:
            shape = (len(hist), len(covs))
        elif (len(hist), len(covs)) != shape:
            raise ValueError(
                f"MARK .inp line {lineno}: {len(hist)} occasions and {len(covs)} covariates, but the first "
                f"record has {shape[0]} and {shape[1]}: {line.strip()!r}"
            )
        records.append((hist, freqs, covs, lineno))
    if not records:
        raise ValueError("MARK .inp: no records found")
    hist, freqs, covs, lines = zip(*records)
    return InpFile(
        np.array(hist, dtype=np.int64),
        np.array(freqs, dtype=np.int64),
        np.array(covs, dtype=float).reshape(len(records), shape[1]),
        np.array(lines),
    )
