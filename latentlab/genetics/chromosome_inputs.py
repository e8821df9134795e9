"""What the chromosome-scale phasers (:class:`~latentlab.genetics.HaplotypeClusterEM`,
:class:`~latentlab.genetics.HaplotypeCopyingEM`) share: the checks of their
genotype matrix and positions, and dosages from genotype probabilities."""

from __future__ import annotations

import numpy as np

from .._validation import as_array

__all__ = ["check_genotype_matrix", "check_positions", "dosages"]


def check_genotype_matrix(G) -> tuple[np.ndarray, np.ndarray]:
    """``G``: (individuals, loci) alternate-allele counts 0/1/2, ``-1`` or NaN
    missing. Returns the values as floats and the missing mask; any other
    value is a ValueError naming its place."""
    X = as_array(G, "genotypes", ndim=2)
    missing = np.isnan(X) | (X == -1)
    bad = ~missing & ~np.isin(X, (0.0, 1.0, 2.0))
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise ValueError(f"genotypes[{i}, {j}] = {X[i, j]!r}: genotypes are alternate-allele counts 0, 1 or 2, "
                         "with -1 or NaN for missing")
    return X, missing


def check_positions(positions, L: int) -> np.ndarray | None:
    """``positions`` of ``L`` loci (None allowed): finite and non-decreasing."""
    if positions is None:
        return None
    pos = as_array(positions, "positions", ndim=1)
    if pos.size != L:
        raise ValueError(f"positions has {pos.size} entries for {L} loci")
    bad = ~np.isfinite(pos) | np.r_[False, np.diff(pos) < 0]
    if bad.any():
        j = int(np.argmax(bad))
        raise ValueError(f"positions[{j}] = {pos[j]!r}: positions must be finite and non-decreasing along the loci")
    return pos


def dosages(genotype_probabilities: np.ndarray) -> np.ndarray:
    """Expected alternate-allele counts ``P(1) + 2 P(2)`` from (..., 3) probabilities."""
    return genotype_probabilities[..., 1] + 2.0 * genotype_probabilities[..., 2]
