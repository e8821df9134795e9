"""The EM model of allele frequencies at one locus (gene counting), with an
optional inbreeding coefficient.

Data
----
Each distinct kind of observation ``i`` (a complete or half genotype, a
phenotype, a vector of genotype likelihoods) is a likelihood vector
``L_ig = P(observation i | genotype g)`` over the ``G`` genotypes in VCF order
(:mod:`latentlab.genetics.genotypes`), seen ``w_i`` times. Rows are stored
scaled to a maximum of 1 with the log of the scale kept in ``log_offset``, so
genotype likelihoods of any magnitude neither overflow nor underflow.

Model
-----
Genotype probabilities with allele frequencies ``p`` and inbreeding
coefficient ``F`` (``F = 0``: Hardy-Weinberg equilibrium):

    pi(a/a) = (1 - F) p_a^2 + F p_a,      pi(a/b) = 2 (1 - F) p_a p_b.

``F`` is the probability that the two alleles of an individual are identical
by descent (a latent indicator ``Z``; ``Z = 1`` gives a homozygote ``a/a`` with
probability ``p_a``), so it lies in ``[0, 1]``: an excess of heterozygotes
(``F < 0``) is outside this model.

Observed log-likelihood: ``l = sum_i w_i log sum_g pi_g L_ig``.

E-step (expected complete-data counts; Dempster, Laird & Rubin 1977, the
gene-counting algorithm of Ceppellini, Siniscalco & Smith 1955):

    n_g = pi_g sum_i w_i L_ig / sum_h pi_h L_ih      (expected genotype counts)
    z_a = n_{a/a} F p_a / pi(a/a)                     (expected IBD homozygotes)

M-step (complete-data MLE, gene counting): with ``c_a = sum_g m_a(g) n_g``
the expected copies of allele ``a`` and ``N = sum_i w_i``,

    F = 0:  p_a = c_a / (2 N);
    F free: p_a = (c_a - z_a) / (2 N - sum_b z_b),   F = sum_b z_b / N

(an IBD homozygote carries one independent allele, not two).

Every function here takes arrays with any leading batch axes (one fit per
entry), which is how :func:`latentlab.genetics.allele_frequencies_by_locus`
runs thousands of loci at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..em import EMModel, Simplex, Stats, UnitInterval
from .genotypes import allele_content, genotype_alleles, homozygote_index

__all__ = [
    "AlleleFrequencyParams",
    "InbredAlleleFrequencyParams",
    "LocusData",
    "AlleleFrequencyModel",
    "genotype_prior",
    "expected_genotype_counts",
    "posterior_genotypes",
]


@dataclass(frozen=True)
class AlleleFrequencyParams:
    frequencies: np.ndarray  # (..., K) allele frequencies, on the simplex


@dataclass(frozen=True)
class InbredAlleleFrequencyParams:
    frequencies: np.ndarray  # (..., K) allele frequencies, on the simplex
    inbreeding: np.ndarray  # (...,) inbreeding coefficient F in [0, 1]


@dataclass(frozen=True)
class LocusData:
    """Distinct observations of one locus (or a batch of loci)."""

    lik: np.ndarray  # (..., P, G) likelihoods, each row scaled to a maximum of 1
    weights: np.ndarray  # (..., P) how many individuals show each row
    log_offset: np.ndarray  # (..., P) log of the scale taken out of each row


@dataclass(frozen=True)
class _Stats(Stats):
    genotype_counts: np.ndarray  # (..., G) n_g
    autozygous: np.ndarray | None  # (..., K) z_a, or None under HWE
    n: np.ndarray  # (...,) N


def genotype_prior(frequencies: np.ndarray, inbreeding=None) -> np.ndarray:
    """Genotype probabilities ``pi_g`` (module docstring), shape ``(..., G)``."""
    p = np.asarray(frequencies, dtype=float)
    pairs = genotype_alleles(p.shape[-1])
    pj, pk = p[..., pairs[:, 0]], p[..., pairs[:, 1]]
    hom = pairs[:, 0] == pairs[:, 1]
    prior = np.where(hom, 1.0, 2.0) * pj * pk
    if inbreeding is not None:
        F = np.asarray(inbreeding, dtype=float)[..., None]
        prior = (1.0 - F) * prior + np.where(hom, F * pj, 0.0)
    return prior


def _marginal(data: LocusData, prior: np.ndarray) -> np.ndarray:
    """``sum_g pi_g L_ig`` for each row, shape ``(..., P)``."""
    return np.einsum("...pg,...g->...p", data.lik, prior)


def _loglik_from_marginal(data: LocusData, marginal: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):  # rows of zero weight may have m = 0
        log_m = np.log(marginal)
        terms = np.where(data.weights > 0, data.weights * (log_m + data.log_offset), 0.0)
    return terms.sum(axis=-1)


def expected_genotype_counts(data: LocusData, prior: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """E-step core: expected genotype counts ``n_g`` and the log-likelihood.

    ``n_g = pi_g sum_i (w_i / m_i) L_ig`` with ``m_i = sum_h pi_h L_ih``.
    """
    marginal = _marginal(data, prior)
    ratio = np.divide(data.weights, marginal, out=np.zeros_like(marginal), where=data.weights > 0)
    counts = prior * np.einsum("...p,...pg->...g", ratio, data.lik)
    return counts, _loglik_from_marginal(data, marginal)


def posterior_genotypes(data: LocusData, prior: np.ndarray) -> np.ndarray:
    """``P(genotype g | observation i) = pi_g L_ig / m_i``, shape ``(..., P, G)``."""
    joint = prior[..., None, :] * data.lik
    return joint / joint.sum(axis=-1, keepdims=True)


class AlleleFrequencyModel(EMModel):
    """The EM contract for allele frequencies (and optionally ``F``) at a locus
    with ``n_alleles`` alleles (module docstring)."""

    def __init__(self, n_alleles: int, inbreeding: bool = False):
        self.n_alleles = n_alleles
        self.inbreeding = inbreeding
        self._content = allele_content(n_alleles)
        self._hom = homozygote_index(n_alleles)
        if inbreeding:
            self.params_type = InbredAlleleFrequencyParams
            self.constraints = {"frequencies": Simplex(), "inbreeding": UnitInterval()}
        else:
            self.params_type = AlleleFrequencyParams
            self.constraints = {"frequencies": Simplex()}

    def make_params(self, frequencies, inbreeding=None):
        """Parameters of this model's type (``inbreeding`` ignored under HWE)."""
        if self.inbreeding:
            return InbredAlleleFrequencyParams(np.asarray(frequencies, float), np.asarray(inbreeding, float))
        return AlleleFrequencyParams(np.asarray(frequencies, float))

    def prior(self, params) -> np.ndarray:
        """Genotype probabilities ``pi_g`` at ``params``."""
        return genotype_prior(params.frequencies, getattr(params, "inbreeding", None))

    def initialize(self, data: LocusData, rng: np.random.Generator):
        """Frequencies from Dirichlet(2K, ..., 2K) (interior, near uniform); F uniform on (0.05, 0.5)."""
        batch = data.weights.shape[:-1]
        freq = rng.dirichlet(np.full(self.n_alleles, 2.0 * self.n_alleles), size=batch)
        return self.make_params(freq, rng.uniform(0.05, 0.5, size=batch))

    def e_step(self, data: LocusData, params):
        prior = self.prior(params)
        counts, ll = expected_genotype_counts(data, prior)
        auto = None
        if self.inbreeding:
            p, F = params.frequencies, np.asarray(params.inbreeding)[..., None]
            hom_prior = prior[..., self._hom]
            share = np.divide(F * p, hom_prior, out=np.zeros_like(p), where=hom_prior > 0)
            auto = counts[..., self._hom] * share
        return _Stats(counts, auto, data.weights.sum(axis=-1)), ll

    def loglik(self, data: LocusData, params):
        return _loglik_from_marginal(data, _marginal(data, self.prior(params)))

    def m_step(self, stats: _Stats, current=None, fixed=None):
        alleles = stats.genotype_counts @ self._content
        if not self.inbreeding:
            return AlleleFrequencyParams(alleles / (2.0 * stats.n[..., None]))
        z = stats.autozygous.sum(axis=-1)
        freq = (alleles - stats.autozygous) / (2.0 * stats.n - z)[..., None]
        return InbredAlleleFrequencyParams(freq, z / stats.n)
