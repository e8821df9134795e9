"""Genotype probabilities along each chromosome, given the markers.

Between and at typed markers an individual's genotype is hidden; along a
chromosome it is a Markov chain whose transitions come from the recombination
fraction ``r`` between successive positions, and each typed marker is an
observation of it with error probability ``e``. The forward-backward
algorithm gives ``P(genotype at position | all markers on the chromosome)``,
as R/qtl's ``calc.genoprob`` does (Broman et al. 2003; Lander & Green 1987).

Backcross (and the X chromosome of either cross): two states, start (1/2,
1/2), ``P(same) = 1 - r``. Intercross autosomes: three states AA, AB, BB,
start (1/4, 1/2, 1/4), and for the two meioses

    AA->AA (1-r)^2,  AA->AB 2r(1-r),    AA->BB r^2,
    AB->AA r(1-r),   AB->AB (1-r)^2+r^2, AB->BB r(1-r)   (and symmetrically).

Emissions: a typed genotype is right with probability ``1 - e``; a wrong one
is one of the others (``e`` in a backcross, ``e/2`` each in an intercross);
"not BB" has probability ``1 - e/2`` under AA and AB and ``e`` under BB (and
"not AA" likewise); a missing genotype has probability 1.

Map functions (distance ``d`` in cM to recombination fraction): Haldane
``r = (1 - exp(-2d/100))/2``, Kosambi ``r = tanh(2d/100)/2``, Morgan
``r = min(d/100, 1/2)``. The grid of positions is R/qtl's
``create.map(step, off.end=0, stepwidth="fixed")``: every ``step`` cM from the
first marker, plus the markers.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .._validation import check_fraction
from .._warn import user_stacklevel
from ._kernels import forward_backward
from .cross import Chromosome, Cross

__all__ = ["ChromosomeProbabilities", "genotype_probabilities", "MAP_FUNCTIONS", "grid"]

MAP_FUNCTIONS = {
    "haldane": lambda d: 0.5 * (1.0 - np.exp(-2.0 * d / 100.0)),
    "kosambi": lambda d: 0.5 * np.tanh(2.0 * d / 100.0),
    "morgan": lambda d: np.minimum(d / 100.0, 0.5),
}
#: least recombination fraction between two positions (R/qtl's)
_MIN_RF = 1e-14


@dataclass(frozen=True)
class ChromosomeProbabilities:
    """Genotype probabilities on one chromosome: ``probs`` (individuals x
    positions x genotypes) at ``positions`` (cM) named ``names`` (markers, and
    ``c<chr>.loc<cM from the first marker>`` between them, as R/qtl names them)."""

    chromosome: str
    is_x: bool
    positions: np.ndarray
    names: tuple[str, ...]
    is_marker: np.ndarray
    probs: np.ndarray


def grid(chrom: Chromosome, step: float) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Positions, names and marker flags of the scan grid on ``chrom``
    (module docstring). A chromosome with one marker has that position only."""
    pos = chrom.positions
    names = list(chrom.markers)
    if step == 0 or pos.size == 1:
        return pos.copy(), names, np.ones(pos.size, dtype=bool)
    rel = pos - pos[0]
    n = int(np.floor(rel[-1] / step + 1e-10))
    extra = np.arange(n + 1) * step
    extra = extra[~np.isin(extra, rel)]
    allpos = np.r_[rel, extra]
    order = np.argsort(allpos, kind="stable")
    labels = names + [f"c{chrom.name}.loc{a:g}" for a in extra]
    marker = np.r_[np.ones(rel.size, dtype=bool), np.zeros(extra.size, dtype=bool)]
    return allpos[order] + pos[0], [labels[i] for i in order], marker[order]


def _transitions(rf: np.ndarray, states: int) -> np.ndarray:
    """(P-1, G, G) transition matrices for recombination fractions ``rf``."""
    r = rf[:, None, None]
    if states == 2:
        return np.concatenate([np.concatenate([1 - r, r], 2), np.concatenate([r, 1 - r], 2)], 1)
    same, one = (1 - r) ** 2, r * (1 - r)
    return np.concatenate([
        np.concatenate([same, 2 * one, r**2], 2),
        np.concatenate([one, same + r**2, one], 2),
        np.concatenate([r**2, 2 * one, same], 2),
    ], 1)


def _emissions(states: int, error_prob: float) -> np.ndarray:
    """(6, G) probability of each code 0-5 given each true genotype."""
    e = error_prob
    emit = np.ones((6, states))
    if states == 2:
        emit[1:3] = [[1 - e, e], [e, 1 - e]]
    else:
        emit[1:4] = np.where(np.eye(3, dtype=bool), 1 - e, e / 2)
        emit[4] = [1 - e / 2, 1 - e / 2, e]
        emit[5] = [e, 1 - e / 2, 1 - e / 2]
    return emit


def genotype_probabilities(cross: Cross, step: float = 1.0, error_prob: float = 1e-4,
                           map_function: str = "haldane") -> list[ChromosomeProbabilities]:
    """Genotype probabilities of every individual on every chromosome of
    ``cross``, at the markers and every ``step`` cM (0: markers only), as
    R/qtl's ``calc.genoprob(cross, step, error.prob=error_prob,
    map.function=map_function)``. Intercross autosomes have genotypes AA, AB,
    BB; the X chromosome and backcross autosomes g1/AA and g2/AB (see
    :mod:`latentlab.qtl.cross`)."""
    if not isinstance(cross, Cross):
        raise TypeError(f"cross must be a Cross (read_cross_csv or make_cross); got {type(cross).__name__}")
    if isinstance(step, bool) or not isinstance(step, (int, float, np.integer, np.floating)) or not (
            np.isfinite(step) and step >= 0):
        raise ValueError(f"step must be a number of cM >= 0 (0: markers only); got {step!r}")
    error_prob = check_fraction(error_prob, "error_prob", upper=0.5)
    if not isinstance(map_function, str) or map_function not in MAP_FUNCTIONS:
        raise ValueError(f"map_function must be one of {sorted(MAP_FUNCTIONS)}; got {map_function!r}")
    mf = MAP_FUNCTIONS[map_function]
    e = max(error_prob, 1e-50)
    out = []
    for chrom in cross.chromosomes:
        if len(chrom.markers) == 1:
            warnings.warn(f"chromosome {chrom.name} has one marker ({chrom.markers[0]}): it is scanned at that "
                          "marker only", UserWarning, stacklevel=user_stacklevel())
        positions, names, is_marker = grid(chrom, float(step))
        states = 3 if (cross.cross_type == "f2" and not chrom.is_x) else 2
        codes = np.zeros((chrom.genotypes.shape[0], positions.size), dtype=np.int8)
        codes[:, is_marker] = chrom.genotypes
        rf = np.maximum(mf(np.diff(positions)), _MIN_RF)
        init = np.full(2, 0.5) if states == 2 else np.array([0.25, 0.5, 0.25])
        probs = forward_backward(codes, _transitions(rf, states), _emissions(states, e), init)
        out.append(ChromosomeProbabilities(chrom.name, chrom.is_x, positions, tuple(names), is_marker, probs))
    return out
