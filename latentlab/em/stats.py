"""Expected sufficient statistics that add.

An E-step returns statistics summed over independent units (observations,
individuals, sequences, equivalence classes, ...). Because they are sums, the
statistics of two disjoint sets of units added field by field are those of
their union:

    stats(A u B) = stats(A) + stats(B),

which is what lets an E-step be computed chunk by chunk (or on many machines)
and summed before one M-step. A model's statistics subclass :class:`Stats`, a
frozen dataclass whose fields are numbers, numpy arrays, tuples of arrays, nested
:class:`Stats` or None; ``+`` adds them field by field.

Statistics hold sums only: no parameters (the M-step receives the current
parameters itself) and no means (keep the sum and the count instead). A field
that describes how the sums were taken rather than being one (the centre the
data were shifted by before summing, say) is named in the class attribute
``shared``: it is carried, not added, and two statistics with different values
of it cannot be added.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np

__all__ = ["Stats", "stats_allclose"]


@dataclasses.dataclass(frozen=True)
class Stats:
    """Base of every model's sufficient statistics (a frozen dataclass).

    Subclasses declare their fields with ``@dataclass(frozen=True)``;
    ``shared`` names the fields that are carried rather than added.
    """

    shared: ClassVar[tuple[str, ...]] = ()

    def __add__(self, other: Stats) -> Stats:
        if type(other) is not type(self):
            return NotImplemented
        values = {}
        for f in dataclasses.fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if f.name in self.shared:
                if not np.array_equal(a, b):
                    raise ValueError(f"cannot add statistics taken with different {f.name!r}: {a!r} and {b!r}")
                values[f.name] = a
            else:
                values[f.name] = _add(a, b, f.name)
        return dataclasses.replace(self, **values)

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
    if isinstance(a, tuple):  # a tuple of arrays adds entry by entry
        return tuple(_add(x, y, name) for x, y in zip(a, b, strict=True))
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
        elif isinstance(x, tuple):
            if len(x) != len(y) or not all(
                np.shape(u) == np.shape(v) and np.allclose(u, v, rtol=rtol, atol=atol) for u, v in zip(x, y)
            ):
                bad.append(f.name)
        elif x is None or y is None:
            if (x is None) != (y is None):
                bad.append(f.name)
        elif np.shape(x) != np.shape(y) or not np.allclose(x, y, rtol=rtol, atol=atol, equal_nan=True):
            bad.append(f.name)
    return bad
