"""Simulated genotypes and sequencing genotype likelihoods with a known truth."""

from __future__ import annotations

import numpy as np
from scipy.special import xlogy

from .._validation import as_array
from ..em import Simplex, as_generator
from .genotypes import genotype_alleles
from .observations import GL_SCALES

__all__ = ["simulate_genotypes", "simulate_genotype_likelihoods"]


def _check_fraction(x, name: str) -> float:
    if not (isinstance(x, (int, float, np.floating, np.integer)) and 0 <= x <= 1):
        raise ValueError(f"{name} must be a number in [0, 1]; got {x!r}")
    return float(x)


def _check_positive_int(n, name: str) -> int:
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"{name} must be a positive integer; got {n!r}")
    return int(n)


def simulate_genotypes(
    n_individuals: int,
    frequencies,
    *,
    inbreeding: float = 0.0,
    missing: float = 0.0,
    half_missing: float = 0.0,
    n_loci: int | None = None,
    random_state=None,
) -> np.ndarray:
    """Allele pairs drawn under HWE (or with inbreeding coefficient ``F``).

    Each individual's two alleles are identical by descent with probability
    ``inbreeding`` (one draw from ``frequencies``, so a homozygote), otherwise
    two independent draws. Then, independently of the genotype, an individual
    is fully missing with probability ``missing`` or loses one allele (chosen
    at random) with probability ``half_missing``; a missing allele is ``-1``.

    ``frequencies`` is ``(K,)`` or, with ``n_loci``, ``(K,)`` for all loci or
    ``(n_loci, K)``. Returns allele indices of shape ``(n_individuals, 2)``,
    or ``(n_loci, n_individuals, 2)`` when ``n_loci`` is given.
    """
    n = _check_positive_int(n_individuals, "n_individuals")
    F = _check_fraction(inbreeding, "inbreeding")
    miss, half = _check_fraction(missing, "missing"), _check_fraction(half_missing, "half_missing")
    if miss + half > 1:
        raise ValueError(f"missing + half_missing must be at most 1; got {miss} + {half}")
    p = as_array(frequencies, "frequencies", ndim=(1, 2))
    loci = 1 if n_loci is None else _check_positive_int(n_loci, "n_loci")
    p = np.broadcast_to(p, (loci, p.shape[-1])) if p.ndim == 1 else p
    if p.shape[0] != loci or p.shape[1] < 2:
        raise ValueError(f"frequencies must be (K,) or (n_loci={loci}, K) with K >= 2; got shape {p.shape}")
    if not Simplex(atol=1e-6).is_valid(p):
        raise ValueError("frequencies must be non-negative and sum to 1 (per locus)")
    rng = as_generator(random_state)
    cum = np.cumsum(p, axis=1)
    cum[:, -1] = 1.0

    def draw():
        u = rng.random((loci, n))
        return (u[:, :, None] >= cum[:, None, :-1]).sum(axis=2)

    first, second = draw(), draw()
    ibd = rng.random((loci, n)) < F
    pairs = np.stack([first, np.where(ibd, first, second)], axis=2)
    u = rng.random((loci, n))
    pairs[u < miss] = -1
    lose = (u >= miss) & (u < miss + half)
    slot = rng.integers(0, 2, size=(loci, n))
    pairs[lose, slot[lose]] = -1
    return pairs[0] if n_loci is None else pairs


def simulate_genotype_likelihoods(
    genotypes,
    depth: float,
    error_rate: float = 0.01,
    *,
    n_alleles: int | None = None,
    scale: str = "ln",
    random_state=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Genotype likelihoods from reads drawn from the true genotypes.

    Each individual gets ``d ~ Poisson(depth)`` reads; a read copies one of its
    two alleles chosen at random and is misread, with probability
    ``error_rate``, as one of the ``K - 1`` other alleles (uniformly). The
    likelihood of genotype ``j/k`` is

        L(j/k) = prod_reads (q(b | j) + q(b | k)) / 2,
        q(b | a) = 1 - e if b = a else e / (K - 1),

    returned in VCF genotype order on ``scale`` (``ln``, ``log10`` or
    ``phred``), shape ``genotypes.shape[:-1] + (G,)``. An individual with no
    read has a flat row (all zero on the log scales). Returns ``(gl, depth)``
    with the number of reads of each individual.
    """
    g = np.asarray(genotypes)
    if g.ndim < 2 or g.shape[-1] != 2 or not np.issubdtype(g.dtype, np.integer):
        raise ValueError(f"genotypes must be an integer array (..., n, 2) of allele indices; got {g.dtype} {g.shape}")
    if (g < 0).any():
        raise ValueError("genotypes must be complete (true genotypes); found a missing allele (-1)")
    if not (np.isfinite(depth) and depth > 0):
        raise ValueError(f"depth must be a positive number (mean reads per individual); got {depth!r}")
    e = _check_fraction(error_rate, "error_rate")
    if scale not in GL_SCALES:
        raise ValueError(f"scale must be one of {list(GL_SCALES)}; got {scale!r}")
    K = int(g.max()) + 1 if n_alleles is None else _check_positive_int(n_alleles, "n_alleles")
    K = max(K, 2)
    if g.max() >= K:
        raise ValueError(f"genotypes hold allele {int(g.max())} but n_alleles is {K}")
    rng = as_generator(random_state)
    q = np.full((K, K), e / (K - 1))  # q[a, b] = P(read b | allele a)
    np.fill_diagonal(q, 1.0 - e)
    pairs = genotype_alleles(K)
    read_prob = (q[pairs[:, 0]] + q[pairs[:, 1]]) / 2.0  # (G, K)
    reads = rng.poisson(depth, size=g.shape[:-1])
    true_prob = (q[g[..., 0]] + q[g[..., 1]]) / 2.0  # (..., n, K)
    allele_reads = rng.multinomial(reads, true_prob)
    log_l = xlogy(allele_reads[..., None, :], read_prob).sum(axis=-1)  # (..., n, G); 0 log 0 = 0
    return log_l / GL_SCALES[scale], reads
