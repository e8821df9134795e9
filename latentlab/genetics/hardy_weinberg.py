"""Tests of Hardy-Weinberg equilibrium.

Exact test (Wigginton, Cutler & Abecasis 2005, Am. J. Hum. Genet. 76:887-893)
------------------------------------------------------------------------------
For a biallelic locus with ``N`` complete genotypes and ``n_A`` copies of the
rarer allele, the number of heterozygotes ``n_AB`` has, under HWE and given the
allele counts, the distribution

    P(n_AB | n_A, N) = N! / (n_AA! n_AB! n_BB!) * 2^n_AB * n_A! n_B! / (2N)!

on ``n_AB = n_A, n_A - 2, ..., (0 or 1)``. The p-value is the total
probability of the tables no more probable than the observed one. As in
Wigginton et al. the probabilities come from the ratio of successive terms,
normalised to sum to one; the recurrence runs as a cumulative sum in log
space (no overflow at any ``N``), vectorised over loci. Tables whose probability equals the observed one
up to a relative ``1e-7`` count as ties and are included (as in PLINK).

Likelihood-ratio test
---------------------
``2 (l_1 - l_0)`` with ``l_0`` the Hardy-Weinberg fit and ``l_1`` the fit with
free genotype frequencies on the same data (by EM when alleles are half
missing or genotypes are known only through likelihoods; the saturated model
of the phenotype counts for phenotype data), referred to a chi-square with
``(G - 1) - (K - 1)`` degrees of freedom (``#phenotypes - K`` for phenotypes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from ..em import EMModel, Simplex, Stats, TestResult, fit_em
from .allele_model import LocusData, expected_genotype_counts
from .genotypes import n_genotypes

__all__ = ["hwe_exact_test", "hwe_lrt", "GenotypeFrequencyModel", "GenotypeFrequencyParams"]

_TIE_RTOL = 1e-7
_CHUNK = 512  # loci per block at most
_CELLS = 2**22  # heterozygote states per block at most (32 MiB per float array)
#: the exact test enumerates ``n_A / 2 + 1`` tables; past this many copies of the
#: rarer allele it is refused (use the likelihood-ratio test, which is exact enough there)
MAX_EXACT_RARE_ALLELES = 2_000_000


def hwe_exact_test(n_aa, n_ab, n_bb) -> np.ndarray | float:
    """Exact HWE p-value(s) of biallelic genotype counts (arrays broadcast;
    a scalar in, a float out). Loci with no genotypes, or monomorphic, get 1.
    Memory is bounded (blocks of at most ``2**22`` tables); a locus with more
    than ``MAX_EXACT_RARE_ALLELES`` copies of its rarer allele is refused."""
    n_aa, n_ab, n_bb = (np.asarray(x) for x in np.broadcast_arrays(n_aa, n_ab, n_bb))
    for name, x in (("n_aa", n_aa), ("n_ab", n_ab), ("n_bb", n_bb)):
        if not (np.all(x >= 0) and np.all(x == np.round(x))):
            raise ValueError(f"{name} must hold non-negative integer genotype counts; got {x}")
    shape = n_aa.shape
    aa, ab, bb = (x.ravel().astype(np.int64) for x in (n_aa, n_ab, n_bb))
    n_a = 2 * aa + ab
    rare = np.minimum(n_a, 2 * (aa + ab + bb) - n_a)
    if rare.size and rare.max() > MAX_EXACT_RARE_ALLELES:
        raise ValueError(
            f"hwe_exact_test: a locus has {int(rare.max()):,} copies of its rarer allele; the exact test enumerates "
            f"half as many tables and is limited to {MAX_EXACT_RARE_ALLELES:,} copies: use the likelihood-ratio "
            "test (AlleleFrequencies(...).hwe_test('lrt')), which the sample size makes accurate"
        )
    out = np.empty(aa.size)
    order = np.argsort(rare, kind="stable")  # blocks of similar width: memory stays below _CELLS per array
    start = 0
    while start < aa.size:
        end = min(start + _CHUNK, aa.size)
        end = start + max(1, min(end - start, _CELLS // (int(rare[order[end - 1]]) // 2 + 1)))
        sl = order[start:end]
        out[sl] = _exact_chunk(aa[sl], ab[sl], bb[sl])
        start = end
    return float(out[0]) if shape == () else out.reshape(shape)


def _exact_chunk(aa: np.ndarray, ab: np.ndarray, bb: np.ndarray) -> np.ndarray:
    """Wigginton et al.'s recurrence ``P(h + 2) / P(h) = (r - h)(2N - r - h) /
    ((h + 1)(h + 2))`` (``r`` the rare-allele count), summed in log space by a
    cumulative sum over ``h = h0, h0 + 2, ...`` for every locus at once."""
    n = aa + ab + bb
    n_a = 2 * aa + ab
    rare = np.minimum(n_a, 2 * n - n_a)
    h0 = rare % 2
    steps = np.arange(int(rare.max(initial=0)) // 2 + 1)[None, :]
    het = h0[:, None] + 2 * steps  # (loci, J + 1)
    valid = het <= rare[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (
            np.log(rare[:, None] - het[:, :-1]) + np.log(2 * n[:, None] - rare[:, None] - het[:, :-1])
            - np.log(het[:, :-1] + 1.0) - np.log(het[:, :-1] + 2.0)
        )
    ratio = np.where(valid[:, 1:], ratio, 0.0)
    logp = np.concatenate([np.zeros((aa.size, 1)), np.cumsum(ratio, axis=1)], axis=1)
    logp = np.where(valid, logp, -np.inf)
    logp -= logp.max(axis=1, keepdims=True)
    prob = np.exp(logp)
    prob /= prob.sum(axis=1, keepdims=True)
    observed = np.take_along_axis(logp, ((ab - h0) // 2)[:, None], axis=1)
    p = np.where(logp <= observed + np.log1p(_TIE_RTOL), prob, 0.0).sum(axis=1)
    return np.where(rare == 0, 1.0, np.minimum(p, 1.0))


@dataclass(frozen=True)
class GenotypeFrequencyParams:
    frequencies: np.ndarray  # (G,) genotype frequencies, on the simplex


@dataclass(frozen=True)
class GenotypeCounts(Stats):
    counts: np.ndarray  # (G,) expected genotype counts n_g


class GenotypeFrequencyModel(EMModel):
    """Free genotype frequencies ``P_g`` (the alternative of the LRT).

    E-step: ``n_g = P_g sum_i w_i L_ig / sum_h P_h L_ih``; M-step:
    ``P_g = n_g / N``.
    """

    params_type = GenotypeFrequencyParams
    constraints = {"frequencies": Simplex()}

    def __init__(self, n_geno: int):
        self.n_geno = n_geno

    def initialize(self, data: LocusData, rng: np.random.Generator):
        return GenotypeFrequencyParams(rng.dirichlet(np.full(self.n_geno, 2.0 * self.n_geno)))

    def e_step(self, data: LocusData, params):
        counts, ll = expected_genotype_counts(data, params.frequencies)
        return GenotypeCounts(counts), ll

    def m_step(self, stats, current=None, fixed=None):
        return GenotypeFrequencyParams(stats.counts / stats.counts.sum())


def hwe_lrt(obs, kind: str, loglik_hwe: float, n_alleles: int, tol: float) -> TestResult:
    """Likelihood-ratio test of HWE for the observations of a fitted locus
    (module docstring)."""
    if kind == "phenotypes":
        w = obs.data.weights
        loglik_free = float(np.sum(w * np.log(w / w.sum())))
        df = len(obs.information) - n_alleles
        if df <= 0:
            raise ValueError(
                f"the phenotype system has {len(obs.information)} phenotypes for {n_alleles} alleles: "
                "no degrees of freedom are left to test Hardy-Weinberg equilibrium"
            )
    else:
        G = n_genotypes(n_alleles)
        result = fit_em(GenotypeFrequencyModel(G), obs.data, tol=tol, max_iter=20000, random_state=0)
        loglik_free = result.loglik
        df = G - n_alleles
    stat = max(0.0, 2.0 * (loglik_free - loglik_hwe))
    return TestResult("Hardy-Weinberg equilibrium", "lrt", stat, int(df), float(sps.chi2.sf(stat, df)),
                      {"loglik_hwe": loglik_hwe, "loglik_free": loglik_free})
