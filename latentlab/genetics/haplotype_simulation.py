"""Simulated unphased genotypes with known haplotypes and block structure.

Model (a mosaic of founders, in the spirit of Li & Stephens 2003): the region
is cut into ``B`` blocks of SNPs. There are ``K`` founder haplotypes with
frequencies ``f``; within block ``b`` founder ``k`` carries pool haplotype
``k`` of that block (a random set of ``K`` distinct SNP haplotypes, every SNP
polymorphic). A chromosome copies founder ``z_1 ~ f`` over the first block; at
each block boundary it recombines with probability ``rho`` onto a founder
drawn afresh from ``f`` (possibly the same), otherwise keeps copying the same
founder; finally each allele mutates (flips) independently with probability
``mu``. Individuals carry two independent chromosomes.

The population frequency of any haplotype ``h`` is exact by a forward sum over
blocks: with ``e_b(k) = prod_{j in b} (1 - mu)^{[h_j = F_kj]} mu^{[h_j != F_kj]}``,

    a_1(k) = f_k e_1(k),
    a_b(k) = ((1 - rho) a_{b-1}(k) + rho f_k sum_l a_{b-1}(l)) e_b(k),
    P(h)   = sum_k a_B(k).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import as_array, check_fraction, check_positive_int
from ..em import Simplex, as_generator

__all__ = ["SimulatedHaplotypes", "simulate_founder_mosaics", "simulate_haplotypes"]


@dataclass(frozen=True)
class SimulatedHaplotypes:
    """A simulated sample and the truth behind it.

    genotypes : (n, L) alternate-allele counts 0/1/2 (-1 missing).
    haplotypes : (n, 2, L) true phases, alleles 0/1.
    founders : (K, L) founder haplotypes (block pools side by side).
    frequencies : (K,) founder frequencies.
    block_starts : first SNP of each block.
    recombination, mutation : ``rho`` and ``mu`` of the module docstring.
    """

    genotypes: np.ndarray
    haplotypes: np.ndarray
    founders: np.ndarray
    frequencies: np.ndarray
    block_starts: np.ndarray
    recombination: float
    mutation: float

    def frequency(self, haplotypes) -> np.ndarray:
        """Exact population frequency of each row of ``haplotypes`` ((m, L) 0/1)."""
        h = np.atleast_2d(np.asarray(haplotypes, dtype=np.int64))
        if h.shape[1] != self.founders.shape[1]:
            raise ValueError(f"haplotypes must have {self.founders.shape[1]} loci; got {h.shape[1]}")
        mu, rho, f = self.mutation, self.recombination, self.frequencies
        match = h[:, None, :] == self.founders[None, :, :]  # (m, K, L)
        with np.errstate(divide="ignore"):
            log_e = np.where(match, np.log1p(-mu), np.log(mu) if mu > 0 else -np.inf)
        bounds = list(self.block_starts) + [h.shape[1]]
        alpha = None
        for b in range(len(self.block_starts)):
            e = np.exp(log_e[:, :, bounds[b]:bounds[b + 1]].sum(axis=2))
            if alpha is None:
                alpha = f * e
            else:
                alpha = ((1 - rho) * alpha + rho * f * alpha.sum(axis=1, keepdims=True)) * e
        return alpha.sum(axis=1)


def _block_pool(rng, n_haplotypes: int, n_snps: int) -> np.ndarray:
    """``n_haplotypes`` distinct 0/1 haplotypes with every SNP polymorphic."""
    if n_haplotypes > 2 ** n_snps or n_haplotypes < 2:
        raise ValueError(
            f"haplotypes_per_block must be between 2 and 2^snps_per_block = {2 ** n_snps}; got {n_haplotypes}"
        )
    while True:
        pool = rng.integers(0, 2, size=(n_haplotypes, n_snps))
        polymorphic = np.all(pool.min(axis=0) != pool.max(axis=0))
        if polymorphic and np.unique(pool, axis=0).shape[0] == n_haplotypes:
            return pool


def simulate_haplotypes(n_individuals: int, *, n_blocks: int = 1, snps_per_block: int = 10,
                        haplotypes_per_block: int = 4, recombination: float = 0.05, mutation: float = 0.0,
                        frequencies=None, missing_rate: float = 0.0, random_state=None) -> SimulatedHaplotypes:
    """Simulate ``n_individuals`` genotypes from the block model (module docstring).

    ``frequencies`` are the founder frequencies (default: Dirichlet(2, ..., 2)
    sorted in decreasing order); ``missing_rate`` sets each genotype missing
    (-1) independently with that probability.
    """
    n = check_positive_int(n_individuals, "n_individuals")
    B = check_positive_int(n_blocks, "n_blocks")
    S = check_positive_int(snps_per_block, "snps_per_block")
    K = check_positive_int(haplotypes_per_block, "haplotypes_per_block")
    rho = check_fraction(recombination, "recombination")
    mu = check_fraction(mutation, "mutation", upper=0.5)
    miss = check_fraction(missing_rate, "missing_rate", upper=0.99)
    rng = as_generator(random_state)
    if frequencies is None:
        f = np.sort(rng.dirichlet(np.full(K, 2.0)))[::-1]
    else:
        f = as_array(frequencies, "frequencies", ndim=1)
        if f.shape != (K,) or not Simplex().is_valid(f):
            raise ValueError(f"frequencies must be {K} non-negative numbers summing to 1; got {f}")
    founders = np.hstack([_block_pool(rng, K, S) for _ in range(B)])
    return _mosaics(rng, n, founders, f, np.arange(0, B * S, S), rho, mu, miss)


def _mosaics(rng, n: int, founders: np.ndarray, f: np.ndarray, block_starts: np.ndarray, rho: float, mu: float,
             miss: float) -> SimulatedHaplotypes:
    """``2 n`` chromosomes copying ``founders`` block by block (module
    docstring), paired into ``n`` individuals, with missing genotypes."""
    K, L = founders.shape
    B = block_starts.size
    z = np.empty((2 * n, B), dtype=np.int64)
    z[:, 0] = rng.choice(K, size=2 * n, p=f)
    for b in range(1, B):
        z[:, b] = z[:, b - 1]
        switch = rng.random(2 * n) < rho
        z[switch, b] = rng.choice(K, size=int(switch.sum()), p=f)
    block_of = np.repeat(np.arange(B), np.diff(np.append(block_starts, L)))
    chrom = founders[z[:, block_of], np.arange(L)]
    chrom ^= (rng.random(chrom.shape) < mu).astype(chrom.dtype)
    haplotypes = chrom.reshape(n, 2, L)
    genotypes = haplotypes.sum(axis=1)
    genotypes[rng.random(genotypes.shape) < miss] = -1
    return SimulatedHaplotypes(genotypes, haplotypes, founders, f, block_starts, rho, mu)


def simulate_founder_mosaics(n_individuals: int, n_loci: int = 100, *, n_founders: int = 20,
                             concentration: float = 0.7, switch: float = 0.01, mutation: float = 0.002,
                             missing_rate: float = 0.0, random_state=None) -> SimulatedHaplotypes:
    """Chromosomes as mosaics of ``n_founders`` founder haplotypes, SNP by SNP:
    the haplotype-cluster model of fastPHASE (Scheet & Stephens 2006) with
    constant rates, i.e. the block model of the module docstring with one SNP
    per block.

    Founder alleles are 0/1 at random (every SNP polymorphic among the
    founders); founder frequencies are Dirichlet(``concentration``); between
    adjacent SNPs a chromosome switches with probability ``switch`` to a
    founder drawn afresh from the frequencies; each allele then flips with
    probability ``mutation``. The defaults are the founder-mosaic panel of
    issue 20.
    """
    n = check_positive_int(n_individuals, "n_individuals")
    L = check_positive_int(n_loci, "n_loci")
    K = check_positive_int(n_founders, "n_founders")
    if K < 2:
        raise ValueError(f"n_founders must be at least 2; got {K}")
    if not np.isfinite(concentration) or concentration <= 0:
        raise ValueError(f"concentration must be a positive number; got {concentration!r}")
    rho = check_fraction(switch, "switch")
    mu = check_fraction(mutation, "mutation", upper=0.5)
    miss = check_fraction(missing_rate, "missing_rate", upper=0.99)
    rng = as_generator(random_state)
    f = rng.dirichlet(np.full(K, float(concentration)))
    founders = rng.integers(0, 2, size=(K, L))
    flat = founders.min(axis=0) == founders.max(axis=0)
    founders[rng.integers(0, K, size=int(flat.sum())), np.flatnonzero(flat)] ^= 1
    return _mosaics(rng, n, founders, f, np.arange(L), rho, mu, miss)
