"""The haplotype-cluster model of fastPHASE (Scheet & Stephens 2006, Am. J.
Hum. Genet. 78:629) on the EM engine.

Model. Each chromosome is a mosaic of ``K`` clusters along the ``L`` loci: its
cluster at the first locus is drawn from ``alpha_1``; between loci ``m - 1``
and ``m`` it *jumps* with probability ``rho_m`` to a cluster drawn afresh from
``alpha_m`` (possibly the same one) and otherwise stays; at locus ``m`` a
chromosome in cluster ``k`` carries allele 1 with probability ``theta_mk``.
An individual carries two independent chromosomes; its genotype is the sum of
their alleles, observed through likelihoods ``l_g = P(data | genotype g)``
(one-hot for called genotypes, 1 for missing ones). The diploid hidden chain
over ordered cluster pairs is run by :mod:`latentlab.genetics._cluster_kernels`
in ``O(L K^2)`` per individual.

E-step (forward-backward, statistics in the kernels' docstrings), summed over
individuals: ``allele_mk`` the expected number of chromosomes in cluster ``k``
at ``m`` carrying allele 1, ``copies_mk`` the expected number in cluster ``k``,
``jumps_mk`` the expected number that jump between ``m - 1`` and ``m`` and land
in ``k``.

M-step (Scheet & Stephens 2006, appendix A; each is the complete-data MLE):

    theta_mk = allele_mk / copies_mk            (clipped to [eps, 1 - eps]),
    alpha_1k = copies_1k / sum_l copies_1l,
    alpha_mk = jumps_mk / sum_l jumps_ml,       m >= 2,
    rho_m    = sum_k jumps_mk / sum_k copies_mk  (= expected jumps / 2n).

The clip keeps every allele possible in every cluster (a genotyping error or a
mutation otherwise has probability zero); the complete-data log-likelihood of
``theta_mk`` is a binomial one, concave, so the clipped value maximises it
over the interval and EM stays monotone. A cluster with no expected copies
(or a locus with no expected jumps) keeps its previous values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..em import EMModel, Interval, Simplex, Stats, UnitInterval
from . import _cluster_kernels as kernels

__all__ = ["ClusterData", "ClusterParams", "ClusterStats", "HaplotypeClusterModel", "THETA_BOUND"]

#: allele frequencies of a cluster are kept in [THETA_BOUND, 1 - THETA_BOUND]
THETA_BOUND = 1e-3
#: expected count below which a cluster (or a locus's jumps) keeps its values
EMPTY = 1e-12


@dataclass(frozen=True)
class ClusterData:
    """Per-individual genotype likelihoods ``lik`` (n, L, 3), scaled so each
    locus's largest is 1 (a missing genotype: all 1), and ``offset`` (n,) or
    None, each individual's sum of the logarithms of those scales (added to
    its log-likelihood; None: all zero, as for called genotypes)."""

    lik: np.ndarray
    offset: np.ndarray | None = None

    @property
    def n_individuals(self) -> int:
        return self.lik.shape[0]

    @property
    def n_loci(self) -> int:
        return self.lik.shape[1]

    @property
    def total_offset(self) -> float:
        return 0.0 if self.offset is None else float(self.offset.sum())

    def subset(self, rows) -> ClusterData:
        """The individuals ``rows``."""
        return ClusterData(np.ascontiguousarray(self.lik[rows]), None if self.offset is None else self.offset[rows])


@dataclass(frozen=True)
class ClusterParams:
    """``alpha`` (L, K) cluster weights at a jump (rows on the simplex; the
    first row is the distribution of the first cluster), ``theta`` (L, K)
    allele-1 frequencies, ``rho`` (L - 1,) jump probabilities between
    adjacent loci."""

    alpha: np.ndarray
    theta: np.ndarray
    rho: np.ndarray


@dataclass(frozen=True)
class ClusterStats(Stats):
    """Expected counts, each (L, K) (module docstring)."""

    allele: np.ndarray
    copies: np.ndarray
    jumps: np.ndarray


class HaplotypeClusterModel(EMModel):
    """fastPHASE's haplotype-cluster HMM with ``n_clusters`` clusters (module docstring)."""

    params_type = ClusterParams
    constraints = {
        "alpha": Simplex(axis=-1),
        "theta": Interval(THETA_BOUND, 1.0 - THETA_BOUND, closed=True),
        "rho": UnitInterval(),
    }

    def __init__(self, n_clusters: int):
        self.n_clusters = int(n_clusters)

    def initialize(self, data: ClusterData, rng: np.random.Generator) -> ClusterParams:
        """A random start as fastPHASE's: uniform cluster weights, allele
        frequencies uniform on (0.01, 0.99), and a jump probability of 0.01
        between adjacent loci (about one jump per 100 loci)."""
        L, K = data.n_loci, self.n_clusters
        alpha = np.full((L, K), 1.0 / K)
        theta = rng.uniform(0.01, 0.99, size=(L, K))
        rho = np.full(L - 1, 0.01)
        return ClusterParams(alpha, theta, rho)

    def e_step(self, data: ClusterData, params: ClusterParams) -> tuple[ClusterStats, float]:
        allele, copies, jumps, ll = kernels.expected_statistics(data.lik, params.alpha, params.theta, params.rho)
        return ClusterStats(allele, copies, jumps), float(ll) + data.total_offset

    def loglik(self, data: ClusterData, params: ClusterParams) -> float:
        return float(kernels.log_likelihoods(data.lik, params.alpha, params.theta, params.rho).sum()) + data.total_offset

    def m_step(self, stats: ClusterStats, current: ClusterParams, fixed=None) -> ClusterParams:
        copies, jumps = stats.copies, stats.jumps
        seen = copies > EMPTY
        theta = np.where(seen, stats.allele / np.where(seen, copies, 1.0), current.theta)
        theta = np.clip(theta, THETA_BOUND, 1.0 - THETA_BOUND)
        landing = jumps.copy()
        landing[0] = copies[0]
        total = landing.sum(axis=1, keepdims=True)
        moved = total[:, 0] > EMPTY
        alpha = np.where(moved[:, None], landing / np.where(total > EMPTY, total, 1.0), current.alpha)
        rho = np.clip(jumps[1:].sum(axis=1) / copies[1:].sum(axis=1), 0.0, 1.0)
        return ClusterParams(alpha, theta, rho)

    def genotype_posteriors(self, data: ClusterData, params: ClusterParams) -> np.ndarray:
        """(n, L, 3) posterior probabilities of genotypes 0/1/2."""
        return kernels.genotype_posteriors(data.lik, params.alpha, params.theta, params.rho)

    def most_likely_haplotypes(self, data: ClusterData, params: ClusterParams) -> np.ndarray:
        """(n, 2, L) alleles of each individual's Viterbi pair of cluster paths."""
        return kernels.viterbi_haplotypes(data.lik, params.alpha, params.theta, params.rho)
