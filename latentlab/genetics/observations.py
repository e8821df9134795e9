"""Turning the three kinds of input of one locus into likelihood rows over
genotypes (:class:`latentlab.genetics.allele_model.LocusData`).

* allele pairs (complete, half-missing, missing): :func:`from_allele_pairs`;
* phenotype counts under a phenotype system: :func:`from_phenotypes`;
* genotype likelihoods in ln, log10 (VCF ``GL``) or phred (VCF ``PL``) scale:
  :func:`from_likelihoods`.

Each returns the data, the allele labels, and the row of the data each
individual (or phenotype) maps to, so posterior genotype probabilities can be
given back per individual.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._validation import as_array, check_counts, check_labels, is_missing_label, tidy_label
from .allele_model import LocusData
from .genotypes import (
    genotype_index,
    genotype_labels,
    n_alleles_from_genotypes,
    n_genotypes,
    pattern_code,
    pattern_counts,
    pattern_likelihoods,
)

__all__ = [
    "Observations",
    "ScaledLikelihoods",
    "from_allele_pairs",
    "from_phenotypes",
    "from_likelihoods",
    "scale_likelihoods",
    "ABO",
    "GL_SCALES",
]

#: The ABO blood-group system: phenotype -> compatible genotypes.
ABO = {
    "A": [("A", "A"), ("A", "O")],
    "B": [("B", "B"), ("B", "O")],
    "AB": [("A", "B")],
    "O": [("O", "O")],
}

#: factor turning each scale into natural logs of likelihoods
GL_SCALES = {"ln": 1.0, "log10": np.log(10.0), "phred": -np.log(10.0) / 10.0}


@dataclass(frozen=True)
class Observations:
    data: LocusData  # informative rows only
    alleles: list  # allele labels, in index order
    row_of: np.ndarray  # (n_units,) row of ``data`` for each unit, -1 if uninformative
    information: pd.Series  # how many units carried each kind of information


def from_allele_pairs(genotypes, alleles=None, missing_values=(-1,)) -> Observations:
    """Allele pairs ``(n, 2)``; an allele is missing if it is None, NaN or in
    ``missing_values``. Alleles are the sorted observed labels unless
    ``alleles`` lists them (then any other label is an error)."""
    if isinstance(genotypes, pd.DataFrame):
        genotypes = genotypes.to_numpy(dtype=object)
    arr = np.asarray(genotypes, dtype=object)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"genotypes must be an (n, 2) array of allele pairs; got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError("genotypes is empty; at least one individual is needed")
    flat = [tidy_label(v) for v in arr.ravel()]
    missing = np.array([is_missing_label(v, missing_values) for v in flat])
    present = [v for v, m in zip(flat, missing) if not m]
    for i, v in enumerate(flat):
        if not missing[i] and (isinstance(v, bool) or (isinstance(v, float) and not np.isfinite(v))):
            raise ValueError(
                f"genotypes row {i // 2} allele {i % 2 + 1} is {v!r}, which is not an allele label "
                "(labels are integers or strings; None, NaN or a missing_values code marks a missing allele)"
            )
    if not present:
        raise ValueError("genotypes: every allele of every individual is missing; nothing to estimate from")
    if alleles is None:
        try:
            alleles = sorted(set(present))
        except TypeError:
            raise TypeError("genotypes mix allele labels that cannot be ordered; pass alleles=[...]") from None
    alleles = [tidy_label(a) for a in alleles]
    if len(set(alleles)) != len(alleles):
        raise ValueError(f"alleles has repeated labels: {alleles}")
    if len(alleles) < 2:
        raise ValueError(f"at least two alleles are needed; the locus has {alleles}")
    idx = np.full(len(flat), -1, dtype=np.int64)
    where_present = np.flatnonzero(~missing)
    where = [f"row {i // 2} allele {i % 2 + 1}" for i in where_present]
    idx[where_present] = check_labels(present, alleles, "genotypes", "alleles", where)
    pairs = idx.reshape(-1, 2)
    return _from_pairs_index(pairs, alleles)


def _from_pairs_index(pairs: np.ndarray, alleles: list) -> Observations:
    K = len(alleles)
    G = n_genotypes(K)
    counts, n_missing = pattern_counts(pairs, K)
    keep = np.flatnonzero(counts > 0)
    lookup = np.full(G + K + 1, -1, dtype=np.int64)  # fully missing (code G + K) -> -1
    lookup[keep] = np.arange(keep.size)
    row_of = lookup[pattern_code(pairs, K)]
    lik = pattern_likelihoods(K)[keep]
    scale = lik.max(axis=1)
    data = LocusData(lik / scale[:, None], counts[keep], np.log(scale))
    info = pd.Series(
        {"complete": int(counts[:G].sum()), "half_missing": int(counts[G:].sum()), "missing": int(n_missing)},
        name="individuals",
    )
    return Observations(data, alleles, row_of, info)


def _system_alleles(system: Mapping) -> list:
    seen = []
    for genos in system.values():
        for g in genos:
            if len(g) != 2:
                raise ValueError(f"system: genotype {g!r} is not an allele pair")
            for a in g:
                if a not in seen:
                    seen.append(a)
    try:
        return sorted(seen)
    except TypeError:
        return seen


def from_phenotypes(counts, system="ABO") -> Observations:
    """Phenotype counts (a mapping or Series phenotype -> count) under a system
    mapping each phenotype to its compatible genotypes (allele pairs). The
    genotype sets must partition all genotypes of the system's alleles."""
    if isinstance(system, str):
        if system.upper() != "ABO":
            raise ValueError(f"system must be 'ABO' or a mapping phenotype -> genotypes; got {system!r}")
        system = ABO
    if not isinstance(system, Mapping) or not system:
        raise TypeError(f"system must be 'ABO' or a non-empty mapping phenotype -> genotypes; got {system!r}")
    alleles = _system_alleles(system)
    K = len(alleles)
    if K < 2:
        raise ValueError(f"system has fewer than two alleles: {alleles}")
    G = n_genotypes(K)
    phen = list(system)
    lik = np.zeros((len(phen), G))
    for r, name in enumerate(phen):
        for a, b in system[name]:
            g = genotype_index(alleles.index(a), alleles.index(b))
            if lik[:, g].any():
                raise ValueError(f"system: genotype {a}/{b} is listed under two phenotypes (the second is {name!r})")
            lik[r, g] = 1.0
    uncovered = np.flatnonzero(lik.sum(axis=0) == 0)
    if uncovered.size:
        names = [genotype_labels(alleles)[g] for g in uncovered]
        raise ValueError(f"system: genotypes {names} belong to no phenotype; every genotype must have one")
    if isinstance(counts, pd.Series):
        counts = counts.to_dict()
    if not isinstance(counts, Mapping):
        raise TypeError(f"counts must be a mapping or Series phenotype -> count; got {type(counts).__name__}")
    names = list(counts)
    rows = check_labels(names, phen, "counts", "phenotypes of the system", [f"phenotype {n!r}" for n in names])
    values = check_counts(as_array([counts[n] for n in names], "counts", ndim=1), "counts")
    w = np.zeros(len(phen))
    np.add.at(w, rows, values)
    if w.sum() <= 0:
        raise ValueError("counts: no individual observed (all phenotype counts are zero)")
    keep = np.flatnonzero(w > 0)
    data = LocusData(lik[keep], w[keep], np.zeros(keep.size))
    row_of = np.full(len(phen), -1, dtype=np.int64)
    row_of[keep] = np.arange(keep.size)
    info = pd.Series(w, index=phen, name="individuals").astype(int)
    return Observations(data, alleles, row_of, info)


@dataclass(frozen=True)
class ScaledLikelihoods:
    """Genotype likelihoods ``(..., n, G)`` as ``exp(top) * rel`` with each
    row of ``rel`` scaled to a maximum of 1."""

    n_alleles: int
    rel: np.ndarray  # (..., n, G); rows of missing individuals are all ones
    top: np.ndarray  # (..., n) log of each row's largest likelihood (0 if missing)
    missing: np.ndarray  # (..., n) all-NaN rows
    flat: np.ndarray  # (..., n) rows with equal likelihoods (no information)


def _where(mask: np.ndarray) -> str:
    idx = tuple(int(i) for i in np.argwhere(mask)[0])
    return f"row {idx[0]}" if len(idx) == 1 else f"[{', '.join(map(str, idx))}]"


def scale_likelihoods(gl, scale: str, ndim: int) -> ScaledLikelihoods:
    """Check genotype likelihoods on ``scale`` (``ln``, ``log10``, ``phred``)
    with ``ndim`` dimensions, the last over genotypes in VCF order, and scale
    each row. An all-NaN row is a missing individual; a partly NaN row, a
    row of zero likelihoods, an infinite likelihood or a number of columns that
    is not ``K (K + 1) / 2`` is an error naming the row."""
    if scale not in GL_SCALES:
        raise ValueError(f"scale must be one of {list(GL_SCALES)}; got {scale!r}")
    x = as_array(gl, "gl", ndim=ndim)
    G = x.shape[-1]
    K = n_alleles_from_genotypes(G)
    if K is None or K < 2:
        raise ValueError(
            f"gl has {G} likelihoods per individual, which is not K(K+1)/2 genotypes for K >= 2 alleles "
            "(3, 6, 10, ...)"
        )
    nan = np.isnan(x)
    missing = nan.all(axis=-1)
    part = nan.any(axis=-1) & ~missing
    if part.any():
        raise ValueError(f"gl {_where(part)} is partly NaN; give all {G} likelihoods or mark the row all NaN (missing)")
    sign_ok = {"phred": x >= 0, "log10": x <= 0}.get(scale)
    if sign_ok is not None and not (sign_ok | nan).all():
        bad = ~(sign_ok | nan)
        rule = "PHRED-scaled likelihoods (VCF PL) are >= 0" if scale == "phred" else "log10 likelihoods (VCF GL) are <= 0"
        raise ValueError(f"gl {_where(bad.any(axis=-1))} has {x[bad][0]:g}: {rule}")
    log_l = np.where(nan, 0.0, x * GL_SCALES[scale])
    if np.isposinf(log_l).any():
        raise ValueError(f"gl {_where(np.isposinf(log_l).any(axis=-1))} has an infinite likelihood on the {scale} scale")
    zero = ~missing & np.all(np.isneginf(log_l), axis=-1)
    if zero.any():
        raise ValueError(f"gl {_where(zero)} gives every genotype likelihood zero (on the {scale} scale)")
    top = log_l.max(axis=-1)
    rel = np.exp(log_l - top[..., None])
    flat = ~missing & np.all(rel == 1.0, axis=-1)
    return ScaledLikelihoods(K, rel, top, missing, flat)


def from_likelihoods(gl, scale: str = "ln", alleles=None) -> Observations:
    """Genotype likelihoods ``(n, G)`` in VCF order on the scale ``ln``,
    ``log10`` (VCF GL) or ``phred`` (VCF PL) (checks in
    :func:`scale_likelihoods`). Identical rows are pooled."""
    sc = scale_likelihoods(gl, scale, ndim=2)
    K = sc.n_alleles
    if alleles is None:
        alleles = list(range(K))
    if len(alleles) != K:
        raise ValueError(f"gl has {sc.rel.shape[1]} columns, the genotypes of {K} alleles, but alleles lists {len(alleles)}")
    informative = ~sc.missing & ~sc.flat
    if not informative.any():
        raise ValueError("gl: no individual carries information (all rows missing or flat)")
    uniq, inverse = np.unique(sc.rel[informative], axis=0, return_inverse=True)
    inverse = inverse.ravel()
    w = np.bincount(inverse, minlength=uniq.shape[0]).astype(float)
    offset = np.bincount(inverse, weights=sc.top[informative], minlength=uniq.shape[0])
    row_of = np.full(sc.rel.shape[0], -1, dtype=np.int64)
    row_of[informative] = inverse
    data = LocusData(uniq, w, offset / w)
    info = pd.Series(
        {"informative": int(informative.sum()), "flat": int(sc.flat.sum()), "missing": int(sc.missing.sum())},
        name="individuals",
    )
    return Observations(data, list(alleles), row_of, info)
