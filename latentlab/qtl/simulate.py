"""Simulated crosses with known QTL."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import check_fraction, check_positive_int
from ..em import as_generator
from .cross import Chromosome, Cross
from .genoprob import MAP_FUNCTIONS

__all__ = ["simulate_cross"]


def simulate_cross(n: int, cross_type: str = "bc", chromosome_lengths=(100.0, 100.0, 100.0), marker_spacing: float = 10.0,
                   qtl=(), residual_sd: float = 1.0, missing: float = 0.0, error_prob: float = 0.0,
                   map_function: str = "haldane", random_state=None) -> Cross:
    """A backcross or intercross of ``n`` individuals with known QTL.

    Chromosomes ``"1"``, ``"2"``, ... (autosomes) have the given lengths (cM)
    and evenly spaced markers every ``marker_spacing`` cM. Genotypes along a
    chromosome are a Markov chain with recombination from ``map_function``
    (a backcross: AA or AB; an intercross: AA, AB or BB from two independent
    meioses). ``qtl`` lists ``(chromosome, position, effect)`` or, in an
    intercross, ``(chromosome, position, additive, dominance)``: the trait is

        backcross:  effect * [genotype is AB] + N(0, residual_sd^2),
        intercross: additive * (number of B alleles - 1) + dominance * [AB] + N(0, residual_sd^2).

    Each genotype is missing with probability ``missing``, and replaced by
    another genotype with probability ``error_prob``. The phenotype column is
    ``trait``; the true QTL genotypes are not part of the cross.
    """
    n = check_positive_int(n, "n")
    if cross_type not in ("bc", "f2"):
        raise ValueError(f"cross_type must be 'bc' or 'f2'; got {cross_type!r}")
    lengths = np.asarray(chromosome_lengths, dtype=float)
    if lengths.ndim != 1 or lengths.size == 0 or not (lengths > 0).all():
        raise ValueError(f"chromosome_lengths must be positive numbers of cM; got {chromosome_lengths!r}")
    if not (np.isfinite(marker_spacing) and marker_spacing > 0):
        raise ValueError(f"marker_spacing must be a positive number of cM; got {marker_spacing!r}")
    missing = check_fraction(missing, "missing", upper=0.99)
    error_prob = check_fraction(error_prob, "error_prob", upper=0.5)
    if not (np.isfinite(residual_sd) and residual_sd > 0):
        raise ValueError(f"residual_sd must be positive; got {residual_sd!r}")
    if map_function not in MAP_FUNCTIONS:
        raise ValueError(f"map_function must be one of {sorted(MAP_FUNCTIONS)}; got {map_function!r}")
    rng = as_generator(random_state)
    effects = _check_qtl(qtl, lengths, cross_type)
    trait = residual_sd * rng.standard_normal(n)
    chromosomes = []
    for c, length in enumerate(lengths):
        name = str(c + 1)
        markers = np.arange(0.0, length + 1e-9, marker_spacing)
        here = [e for e in effects if e[0] == name]
        positions = np.unique(np.r_[markers, [e[1] for e in here]])
        geno = _meioses(n, positions, cross_type, MAP_FUNCTIONS[map_function], rng)
        for _, pos, add, dom in here:
            g = geno[:, np.searchsorted(positions, pos)]
            trait += add * (g == 2) if cross_type == "bc" else add * (g - 2) + dom * (g == 2)
        typed = geno[:, np.isin(positions, markers)].astype(np.int8)
        typed = _errors(typed, cross_type, error_prob, rng)
        typed[rng.random(typed.shape) < missing] = 0
        names = tuple(f"c{name}m{k + 1}" for k in range(markers.size))
        chromosomes.append(Chromosome(name, names, markers, typed, False))
    return Cross(cross_type, tuple(chromosomes), pd.DataFrame({"trait": trait}))


def _check_qtl(qtl, lengths, cross_type) -> list[tuple[str, float, float, float]]:
    out = []
    for spec in qtl:
        if cross_type == "bc" and len(spec) != 3:
            raise ValueError(f"qtl: a backcross QTL is (chromosome, position, effect); got {spec!r}")
        if cross_type == "f2" and len(spec) != 4:
            raise ValueError(f"qtl: an intercross QTL is (chromosome, position, additive, dominance); got {spec!r}")
        name, pos = str(spec[0]), float(spec[1])
        if not name.isdigit() or not 1 <= int(name) <= lengths.size:
            raise ValueError(f"qtl: chromosome {spec[0]!r} does not exist (chromosomes are '1' to '{lengths.size}')")
        if not 0 <= pos <= lengths[int(name) - 1]:
            raise ValueError(f"qtl: position {pos:g} is off chromosome {name} (0 to {lengths[int(name) - 1]:g} cM)")
        add = float(spec[2])
        out.append((name, pos, add, float(spec[3]) if cross_type == "f2" else 0.0))
    return out


def _meioses(n, positions, cross_type, mf, rng) -> np.ndarray:
    """Genotype codes (1 AA, 2 AB, 3 BB) at ``positions``: one backcross
    meiosis (the F1 gamete: allele B or A) or two for an intercross."""
    rf = mf(np.diff(positions))

    def gamete():
        first = rng.random((n, 1)) < 0.5
        switch = rng.random((n, rf.size)) < rf
        return np.concatenate([first, first ^ (np.cumsum(switch, axis=1) % 2 == 1)], axis=1)

    b = gamete().astype(int)
    if cross_type == "f2":
        b = b + gamete()
    return 1 + b


def _errors(codes, cross_type, error_prob, rng) -> np.ndarray:
    """Each typed genotype replaced by another with probability ``error_prob``."""
    if error_prob == 0:
        return codes
    wrong = rng.random(codes.shape) < error_prob
    k = 2 if cross_type == "bc" else 3
    shift = rng.integers(1, k, codes.shape)
    codes = codes.copy()
    codes[wrong] = (codes[wrong] - 1 + shift[wrong]) % k + 1
    return codes
