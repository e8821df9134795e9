"""Expected sufficient statistics that add.

An E-step returns statistics summed over independent units (observations,
individuals, sequences, equivalence classes, ...). Because they are sums, the
statistics of two disjoint sets of units added field by field are those of
their union:

    stats(A u B) = stats(A) + stats(B),

which is what lets an E-step be computed chunk by chunk (or on many machines)
and summed before one M-step. A model's statistics subclass :class:`Stats`, a
frozen dataclass whose fields are numbers, numpy arrays, nested :class:`Stats`
or None; ``+`` adds them field by field.

Statistics hold sums only: no parameters (the M-step receives the current
parameters itself) and no means (keep the sum and the count instead).
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["Stats", "stats_allclose"]


@dataclasses.dataclass(frozen=True)
class Stats:
    """Base of every model's sufficient statistics (a frozen dataclass).

    Subclasses declare their fields with ``@dataclass(frozen=True)``.
    """

    def __add__(self, other: "Stats") -> "Stats":
        if type(other) is not type(self):
            return NotImplemented
        return dataclasses.replace(
            self, **{f.name: _add(getattr(self, f.name), getattr(other, f.name), f.name) for f in dataclasses.fields(self)}
        )

    def __radd__(self, other):
        # sum([s1, s2, ...]) starts from 0
        if isinstance(other, int) and other == 0:
            return self
        return NotImplemented


def _add(a, b, name: str):
    if a is None and b is None:
        return None
    if a is None or b is None:
        raise TypeError(f"statistic {name!r} is None on one side only; cannot add")
    if isinstance(a, Stats):
        return a + b
    return a + b


def stats_allclose(a, b, rtol: float = 1e-9, atol: float = 1e-9) -> list[str]:
    """Names of the fields of two statistics that differ (empty: all agree)."""
    if type(a) is not type(b):
        return [f"type {type(a).__name__} != {type(b).__name__}"]
    bad = []
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, Stats):
            bad.extend(f"{f.name}.{n}" for n in stats_allclose(x, y, rtol, atol))
        elif x is None or y is None:
            if (x is None) != (y is None):
                bad.append(f.name)
        elif np.shape(x) != np.shape(y) or not np.allclose(x, y, rtol=rtol, atol=atol, equal_nan=True):
            bad.append(f.name)
    return bad
