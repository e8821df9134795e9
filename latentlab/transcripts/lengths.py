"""Fragment-length distributions and effective lengths.

A fragment of length ``f`` can start at ``L - f + 1`` positions of a
transcript of length ``L``; averaged over the fragment-length distribution
restricted to fragments that fit (``f <= L``), the effective length is

    l_t = sum_{f <= L_t} p(f) (L_t - f + 1) / sum_{f <= L_t} p(f)

(kallisto, Bray et al. 2016; salmon's without its bias models). A transcript
shorter than every fragment gets 1, as salmon clamps it.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

__all__ = ["normal_fragment_lengths", "effective_lengths"]


def normal_fragment_lengths(mean: float, sd: float) -> tuple[np.ndarray, np.ndarray]:
    """Integer fragment lengths and their probabilities: a normal
    distribution discretised over ``mean +- 4 sd`` (lengths >= 1)."""
    if not (np.isfinite(mean) and np.isfinite(sd) and mean >= 1 and sd > 0):
        raise ValueError(f"a fragment-length distribution needs mean >= 1 and sd > 0; got ({mean!r}, {sd!r})")
    f = np.arange(max(1, int(mean - 4 * sd)), int(mean + 4 * sd) + 1)
    p = norm.pdf(f, mean, sd)
    return f, p / p.sum()


def effective_lengths(lengths, f: np.ndarray, pf: np.ndarray) -> np.ndarray:
    """Effective length of each transcript (module docstring)."""
    lengths = np.asarray(lengths, dtype=float)
    fits = f[None, :] <= lengths[:, None]
    mass = (pf * fits).sum(axis=1)
    starts = (pf * fits * (lengths[:, None] - f[None, :] + 1)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(mass > 0, starts / mass, 1.0)
    return np.maximum(out, 1.0)
