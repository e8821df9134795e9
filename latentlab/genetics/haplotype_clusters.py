"""Phase and imputation along a chromosome: :class:`HaplotypeClusterEM`, the
haplotype-cluster HMM of fastPHASE (model, E- and M-steps in
:mod:`latentlab.genetics.haplotype_cluster_model`).

Why a third phasing estimator. :class:`~latentlab.genetics.HaplotypeEM` gives
each full-length haplotype a frequency and
:class:`~latentlab.genetics.WindowedHaplotypeEM` chains windows whose length
the user must choose. The cluster model has no window: linkage
disequilibrium decays through the jump probabilities estimated between every
pair of adjacent loci, the cost is linear in the number of loci and of
individuals (``O(n L K^2)`` per EM iteration) and the memory that of the
data, the genotype probabilities and the phase (about 3.5 times the
``n L 3`` likelihoods at the peak).

How the field fits it (Scheet & Stephens 2006): EM from several random starts,
a fixed, modest number of iterations each (the model has ``L (2K + 1)``
parameters), imputations averaged over the starts, and ``K`` chosen by the
error of imputing genotypes masked at random. This estimator does the same on
the engine: ``n_starts`` seeded starts, each run by :func:`latentlab.em.fit_em`
for at most ``max_iter`` iterations; ``genotype_probabilities_`` average the
starts; ``haplotypes_`` take, between consecutive heterozygous loci, the
relative phase most starts' Viterbi pairs agree on (:func:`consensus_phase`).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .._validation import check_fraction, check_positive_int
from ..em import fit_em
from ..em.engine import restart_generators
from ..em.estimator import EMEstimator
from ..em.settings import engine_defaults
from ..exceptions import ConvergenceWarning
from .chromosome_inputs import check_genotype_matrix, check_positions, dosages
from .haplotype_cluster_model import ClusterData, HaplotypeClusterModel
from .observations import scale_likelihoods

__all__ = ["HaplotypeClusterEM"]

#: engine settings: at most 100 iterations to a relative change of 1e-6 per start (the field stops early: Scheet & Stephens 2006 use 25)
_ENGINE = engine_defaults(tol=1e-6, max_iter=100)


class HaplotypeClusterEM(EMEstimator):
    """fastPHASE's haplotype-cluster model fitted by EM (module docstring).

    Parameters
    ----------
    n_clusters : number of clusters ``K``; None (default) chooses it from
        ``cluster_grid`` by the error of imputing a random ``holdout`` share
        of the observed genotypes (one start each), as fastPHASE's
        cross-validation does.
    cluster_grid : the candidates for ``K`` (default 4, 8, 12, 16, 20).
    holdout : share of observed genotypes masked to choose ``K`` (default 0.02).
    n_starts : random starts; their genotype probabilities are averaged
        (default 3).
    tol, max_iter, accelerate, random_state, progress : passed to
        :func:`latentlab.em.fit_em` for each start (``max_iter`` is reached
        without a warning: a fixed budget is the field's practice).

    Attributes (after ``fit``)
    --------------------------
    n_clusters_ : the ``K`` used; cluster_selection_ : DataFrame of the
        held-out imputation error of each candidate (when ``K`` was chosen).
    haplotypes_ : (n, 2, L) alleles 0/1 (int8): each start's most probable
        pair of cluster paths (Viterbi), combined by :func:`consensus_phase`
        (with one or two starts: the best start's). At a missing genotype the
        alleles are the best start's Viterbi guess, which can differ from the
        most probable genotype of ``genotype_probabilities_`` (averaged over
        starts): write both to a VCF knowing that.
    genotype_probabilities_ : (n, L, 3) posterior probabilities of genotypes
        0/1/2, averaged over the starts; dosages_ : (n, L) their means.
    allele_frequencies_ : (L, K) allele-1 frequency of each cluster;
        cluster_weights_ : (L, K) the clusters' weights at a jump (best start).
    jump_probabilities_ : DataFrame, one row per pair of adjacent loci:
        ``from``, ``to`` (0-based locus indices), ``probability`` (and
        ``distance`` and ``rate`` ``= -log(1 - probability) / distance``,
        fastPHASE's ``r``, infinite or NaN at distance 0, when positions were
        given).
    start_logliks_ : log-likelihood of each start; loglik_ and result_ are
        the best start's.
    """

    def __init__(self, *, n_clusters: int | None = None, cluster_grid=(4, 8, 12, 16, 20), holdout: float = 0.02,
                 n_starts: int = 3, tol: float = _ENGINE["tol"], max_iter: int = _ENGINE["max_iter"],
                 accelerate: str | None = _ENGINE["accelerate"], random_state=None,
                 progress: bool | None = _ENGINE["progress"]):
        self.n_clusters = n_clusters
        self.cluster_grid = cluster_grid
        self.holdout = holdout
        self.n_starts = n_starts
        self._set_engine_settings(tol=tol, max_iter=max_iter, accelerate=accelerate, random_state=random_state,
                                  progress=progress)

    # -- input -------------------------------------------------------------------------
    def fit(self, G, positions=None) -> HaplotypeClusterEM:
        """Fit to genotypes ``G``: (individuals, loci) alternate-allele counts
        0/1/2 of biallelic SNPs, ``-1`` or NaN for a missing genotype.
        ``positions`` (optional, non-decreasing) give the distances of
        :attr:`jump_probabilities_`."""
        X, missing = check_genotype_matrix(G)
        lik = np.empty(X.shape + (3,))
        one_hot = np.vstack([np.eye(3), np.ones(3)])  # genotypes 0, 1, 2 and missing
        for j in range(X.shape[1]):  # locus by locus: no temporary the size of the data
            lik[:, j] = one_hot[np.where(missing[:, j], 3, X[:, j]).astype(np.intp)]
        return self._fit(ClusterData(lik), positions)

    def fit_likelihoods(self, gl, scale: str = "ln", positions=None) -> HaplotypeClusterEM:
        """Fit to genotype likelihoods ``gl`` (individuals, loci, 3) of
        biallelic SNPs in VCF order (0/0, 0/1, 1/1) on the ``ln``, ``log10``
        (VCF GL) or ``phred`` (VCF PL) scale; an all-NaN triple is a missing
        genotype. A genotype known only as a call (a VCF site or sample with
        GT but no GL or PL reads as all NaN) must be given as likelihoods
        here, e.g. 0 for the called genotype and -inf for the others on the
        ln scale, or it is treated as missing."""
        scaled = scale_likelihoods(gl, scale, ndim=3)
        if scaled.n_alleles != 2:
            raise ValueError(f"gl must hold the 3 genotypes of a biallelic SNP per locus; got {scaled.rel.shape[-1]}")
        offset = np.where(scaled.missing, 0.0, scaled.top).sum(axis=1)
        return self._fit(ClusterData(np.ascontiguousarray(scaled.rel), offset), positions)

    # -- fitting -----------------------------------------------------------------------
    def _fit(self, data: ClusterData, positions) -> HaplotypeClusterEM:
        n, L = data.n_individuals, data.n_loci
        if L < 2:
            raise ValueError(f"the cluster model needs at least 2 loci; got {L}")
        self.positions_ = check_positions(positions, L)
        starts = check_positive_int(self.n_starts, "n_starts")
        share = check_fraction(self.holdout, "holdout", upper=0.5)
        grid = sorted({check_positive_int(k, "cluster_grid") for k in np.atleast_1d(self.cluster_grid)})
        if not grid:
            raise ValueError("cluster_grid is empty: give at least one number of clusters to choose from")
        selection, *rngs = restart_generators(self.random_state, starts + 1)
        if self.n_clusters is None:
            self.n_clusters_, self.cluster_selection_ = self._choose_clusters(data, grid, share, selection)
        else:
            self.n_clusters_ = check_positive_int(self.n_clusters, "n_clusters")
            self.cluster_selection_ = None
        model = HaplotypeClusterModel(self.n_clusters_)
        results = [self._run(model, data, rng) for rng in rngs]
        best = int(np.argmax([r.loglik for r in results]))
        self.start_logliks_ = np.array([r.loglik for r in results])
        self.model_, self._data, self._covariance = model, data, None
        self.n_obs_ = n
        self.result_ = results[best]
        probabilities = model.genotype_posteriors(data, results[0].params)
        for r in results[1:]:
            probabilities += model.genotype_posteriors(data, r.params)
        probabilities /= probabilities.sum(axis=2, keepdims=True)
        self.genotype_probabilities_ = probabilities
        self.haplotypes_ = consensus_phase(np.array([model.most_likely_haplotypes(data, r.params) for r in results]),
                                           best)
        return self

    def _run(self, model: HaplotypeClusterModel, data: ClusterData, rng: np.random.Generator):
        """One start: EM from ``model.initialize(data, rng)`` for at most ``max_iter`` iterations."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return fit_em(model, data, init_params=model.initialize(data, rng), tol=self.tol,
                          max_iter=self.max_iter, accelerate=self.accelerate, progress=self.progress)

    def _choose_clusters(self, data: ClusterData, grid: list[int], share: float,
                         rng: np.random.Generator) -> tuple[int, pd.DataFrame]:
        """The ``K`` of ``cluster_grid`` with the smallest error of imputing a
        random ``holdout`` share of the confidently called genotypes (the
        other two genotype likelihoods summing to at most 2% of the best; every called
        genotype when the input is genotypes), one start each."""
        flat = data.lik.reshape(-1, 3)
        called = np.flatnonzero(flat.sum(axis=1) - 1.0 <= 0.02)
        size = int(round(share * called.size))
        if size == 0:
            raise ValueError(f"holdout={share} masks no genotype of the {called.size} confidently called ones; "
                             "raise holdout or give n_clusters")
        held = rng.choice(called, size=size, replace=False)
        truth = np.argmax(flat[held], axis=1)
        masked = flat.copy()
        masked[held] = 1.0
        masked_data = ClusterData(masked.reshape(data.lik.shape))
        errors = []
        for K in grid:
            model = HaplotypeClusterModel(K)
            result = self._run(model, masked_data, rng)
            post = model.genotype_posteriors(masked_data, result.params).reshape(-1, 3)[held]
            errors.append(float(np.mean(np.argmax(post, axis=1) != truth)))
        table = pd.DataFrame({"n_clusters": grid, "imputation_error": errors, "held_out": len(held)})
        return int(grid[int(np.argmin(errors))]), table

    # -- results ------------------------------------------------------------------------
    @property
    def dosages_(self) -> np.ndarray:
        """(n, L) expected alternate-allele counts ``P(1) + 2 P(2)``."""
        self._check_fitted()
        return dosages(self.genotype_probabilities_)

    @property
    def allele_frequencies_(self) -> np.ndarray:
        self._check_fitted()
        return self.result_.params.theta

    @property
    def cluster_weights_(self) -> np.ndarray:
        self._check_fitted()
        return self.result_.params.alpha

    @property
    def jump_probabilities_(self) -> pd.DataFrame:
        self._check_fitted()
        rho = self.result_.params.rho
        table = pd.DataFrame({"from": np.arange(rho.size), "to": np.arange(1, rho.size + 1), "probability": rho})
        if self.positions_ is not None:
            d = np.diff(self.positions_)
            table["distance"] = d
            with np.errstate(divide="ignore", invalid="ignore"):  # distance 0 (split multi-allelic sites)
                table["rate"] = -np.log1p(-rho) / d
        return table

    def summary(self, level: float = 0.95) -> pd.DataFrame:
        """Not available: the model has ``L (2K + 1)`` parameters, too many
        for an observed information matrix; the uncertainty a user needs is
        in :attr:`genotype_probabilities_` (imputation) and the posterior of
        the fit."""
        self._check_fitted()
        raise ValueError(
            f"summary() is not available for HaplotypeClusterEM: its {self.n_parameters_} free parameters are too "
            "many for standard errors from the observed information; use genotype_probabilities_ for the "
            "uncertainty of imputed genotypes"
        )


def consensus_phase(haplotypes: np.ndarray, best: int) -> np.ndarray:
    """The phase the starts agree on: ``haplotypes`` (starts, n, 2, L) are
    each start's phased alleles.

    At the loci heterozygous in every start, the phase of each such locus
    relative to the previous one is the majority of the starts' (ties: start
    ``best``'s), and the chromosomes are rebuilt from these relative phases.
    The other loci heterozygous in start ``best`` (genotypes the starts
    impute differently) keep their phase relative to the nearest such locus
    before them (or the first one), so no switch is added there; all other
    loci are start ``best``'s. Switch errors of different starts fall in
    different places, so the majority tends to correct them; with one or two
    starts the result is start ``best``'s phase.
    """
    S, n = haplotypes.shape[:2]
    out = haplotypes[best].copy()
    everywhere = np.all(haplotypes[:, :, 0] != haplotypes[:, :, 1], axis=0)  # (n, L)
    in_best = out[:, 0] != out[:, 1]
    for i in range(n):
        sites = np.flatnonzero(everywhere[i])
        if sites.size < 2:
            continue
        first = haplotypes[:, i, 0, sites]  # (starts, sites): the allele on the first chromosome
        relative = first[:, 1:] ^ first[:, :-1]  # 1 where the phase flips from the previous site
        votes = relative.sum(axis=0)
        majority = np.where(2 * votes == S, relative[best], 2 * votes > S)
        orient = np.concatenate(([first[best, 0]], first[best, 0] ^ (np.cumsum(majority) % 2)))
        flip = orient != first[best]  # the consensus swaps start best's chromosomes here
        hets = np.flatnonzero(in_best[i])
        nearest = np.maximum(np.searchsorted(sites, hets, side="right") - 1, 0)
        swap = hets[flip[nearest]]
        out[i, :, swap] = out[i, ::-1, swap]
    return out
