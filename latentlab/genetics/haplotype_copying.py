"""Phase and imputation along a chromosome with the copying model of Li &
Stephens (2003): :class:`HaplotypeCopyingEM`.

Each chromosome of an individual is modelled as a mosaic of a few hundred
other chromosomes of the sample (its conditioning haplotypes), copied with
a small error rate and jumping from one to another at a rate that grows with
distance. The phase of every individual is updated in turn given the others'
current haplotypes, and the model's two rates are re-estimated by EM from the
expected jumps and mismatches, as MaCH does (Li et al. 2010); Beagle and
SHAPEIT reach their accuracy by iterating the same kind of model over
conditioning haplotypes selected by the positional Burrows-Wheeler transform
(PBWT, Durbin 2014), and so does this estimator. The kernels and their
formulas are in :mod:`latentlab.genetics._copying_kernels`.

One iteration:

1. **Conditioning haplotypes.** The PBWT of the current haplotypes is built
   locus by locus; every ``anchor_spacing`` loci the ``pbwt_depth``
   haplotypes on either side of each of an individual's two haplotypes in
   PBWT order (those with the longest matches ending there) are collected,
   and the ``n_states`` collected most often become its conditioning set.
2. **Phase (a conditional maximisation).** For each individual in turn,
   every heterozygous genotype's phase relative to the previous one is set
   to the more probable of the two orientations under the copying model,
   given the decided prefix and the current suffix of both chromosomes
   (``_copying_kernels.phase_pass``). The first ``n_burnin`` iterations
   ignore the suffix's heterozygous genotypes (the phase there is still
   random); later ones use them, and may also move a heterozygous genotype
   alone to the other side of its suffix (a lone wrong phase, which two
   switches could not mend one at a time). Iterations alternate direction.
3. **Rates (one EM step).** With the haplotypes fixed, the copying paths
   are hidden: forward-backward over each chromosome gives the expected
   number of jumps in each interval, ``J_m``, and of mismatches. The
   error rate is ``eps = mismatches / emitting loci``; the jump probability
   is ``rho_m = 1 - exp(-lambda d_m)`` for the distance ``d_m`` between
   loci (1 per interval without positions), and ``lambda`` maximises
   ``sum_m J_m log rho_m - (N - J_m) lambda d_m`` (``N`` chromosomes), the
   expected complete-data log-likelihood. Alleles at missing genotypes are
   set to their posterior mode.

The fit stops when an iteration after burn-in changes the relative phase of
at most ``tol`` of the heterozygous genotypes, or after ``max_iter``
iterations. Dosages and genotype probabilities come from
the last E-step: ``P(allele 1)`` on each chromosome (``p1``, ``p2``) gives
``P(g = 0) = (1 - p1)(1 - p2)`` and so on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from ..em.engine import as_generator
from ..em.estimator import Estimator, NotFittedError
from ..em.progress import AUTO_DELAY
from ..em.settings import check_int, check_progress, check_random_state, check_tol
from ._copying_kernels import expected_counts, pbwt_neighbours, sweep
from .chromosome_inputs import check_genotype_matrix, check_positions, dosages

__all__ = ["HaplotypeCopyingEM"]

#: the error rate is kept in [EPS_MIN, EPS_MAX]: 0 would forbid any mismatch (a
#: single genotype error or mutation would then make a chromosome impossible)
EPS_MIN, EPS_MAX = 1e-8, 0.1


class HaplotypeCopyingEM(Estimator):
    """The Li & Stephens copying model iterated over PBWT-selected
    conditioning haplotypes, its rates estimated by EM (module docstring).

    Parameters
    ----------
    n_states : conditioning haplotypes per individual, at most (default 400;
        never more than the other individuals' ``2 (n - 1)`` chromosomes).
    pbwt_depth : PBWT neighbours taken on each side of each haplotype at each
        anchor; None (default): ``max(8, ceil(n_states / anchors))``, so that
        an individual's two haplotypes collect at least ``4 n_states``
        candidates (about 4 per state to choose from) even on a short region
        with few anchors; 8 on long regions.
    anchor_spacing : loci between anchors; None (default): 20, or
        ``L // 12`` when that is smaller, so that short regions still have
        about 12 anchors.
    n_burnin : first iterations whose phase update ignores the suffix's
        heterozygous genotypes (default 3).
    max_iter : iterations at most (default 12).
    tol : after burn-in, stop when an iteration changes the relative phase of
        at most this share of the heterozygous genotypes (default 1e-4).
    rate_sample : individuals whose chromosomes give the rates' E-step in
        each iteration (default 200, all when fewer; drawn once from
        ``random_state``; the last E-step, which gives the genotype
        probabilities, runs over everyone).
    random_state : seed of the initial phase and of the alleles first put at
        missing genotypes.
    progress : a bar over the iterations: True, False, or None (default) in a
        terminal after a few seconds.

    Attributes (after ``fit``)
    --------------------------
    haplotypes_ : (n, 2, L) alleles 0/1 (int8); at missing genotypes the
        posterior mode of each chromosome.
    genotype_probabilities_ : (n, L, 3), one-hot where a genotype was
        observed; dosages_ : (n, L).
    error_rate_ : the copying error ``eps``; jump_rate_ : ``lambda`` (per
        unit of ``positions``, or per interval); jump_probabilities_ :
        DataFrame with one row per interval.
    loglik_ : the copying model's log-likelihood of the final haplotypes,
        each chromosome given the conditioning set chosen at the start of the
        last iteration; distances_ : the distances between adjacent loci the
        jumps used (1 each without positions); trace_ : DataFrame, one
        row per iteration: phase changes, the log-likelihood of the
        ``rate_sample`` individuals' chromosomes and the rates it was
        computed with.
    """

    def __init__(self, *, n_states: int = 400, pbwt_depth: int | None = None, anchor_spacing: int | None = None,
                 n_burnin: int = 3, max_iter: int = 12, tol: float = 1e-4, rate_sample: int = 200,
                 random_state=None, progress: bool | None = None):
        self.n_states = n_states
        self.pbwt_depth = pbwt_depth
        self.anchor_spacing = anchor_spacing
        self.n_burnin = n_burnin
        self.max_iter = max_iter
        self.tol = tol
        self.rate_sample = rate_sample
        self.random_state = random_state
        self.progress = progress

    # -- input ---------------------------------------------------------------------------
    def fit(self, G, positions=None) -> HaplotypeCopyingEM:
        """Phase and impute genotypes ``G``: (individuals, loci) alternate-allele
        counts 0/1/2 of biallelic SNPs, ``-1`` or NaN for a missing genotype.
        ``positions`` (optional, non-decreasing, e.g. base pairs) make the
        jump probability grow with distance; two loci at the same position
        allow no jump between them."""
        X, missing = check_genotype_matrix(G)
        n, L = X.shape
        if n < 2:
            raise ValueError(f"the copying model phases an individual from the others' haplotypes: it needs at least "
                             f"2 individuals; got {n}")
        if L < 2:
            raise ValueError(f"phasing needs at least 2 loci; got {L}")
        unseen = missing.all(axis=0)
        if unseen.any():
            raise ValueError(f"genotypes: locus {int(np.argmax(unseen))} (0-based) has no observed genotype "
                             f"({int(unseen.sum())} such loci): the copying model has nothing to copy there; "
                             "drop those loci")
        genotypes = np.where(missing, -1, X).astype(np.int8)
        distances = self._distances(positions, L)
        n_states = min(check_int(self.n_states, "n_states", 1), 2 * (n - 1))  # the other individuals' chromosomes
        spacing = (default_spacing(L) if self.anchor_spacing is None
                   else check_int(self.anchor_spacing, "anchor_spacing", 1))
        depth = (default_depth(n_states, anchor_loci(L, spacing).size) if self.pbwt_depth is None
                 else check_int(self.pbwt_depth, "pbwt_depth", 1))
        n_burnin = check_int(self.n_burnin, "n_burnin", 0)
        max_iter = check_int(self.max_iter, "max_iter", 1)
        if max_iter <= n_burnin:
            raise ValueError(f"max_iter = {max_iter} leaves no iteration after n_burnin = {n_burnin}: the phase "
                             "would never use the suffix's heterozygous genotypes; raise max_iter or lower n_burnin")
        tol = check_tol(self.tol)
        rate_sample = check_int(self.rate_sample, "rate_sample", 1)
        check_random_state(self.random_state)
        check_progress(self.progress)
        self._run(genotypes, distances, n_states, depth, spacing, n_burnin, max_iter, tol, rate_sample)
        return self

    @staticmethod
    def _distances(positions, L: int) -> np.ndarray:
        """Distances between adjacent loci: from ``positions``, or 1 each."""
        pos = check_positions(positions, L)
        if pos is None:
            return np.ones(L - 1)
        d = np.diff(pos)
        if not np.any(d > 0):
            raise ValueError("positions are all equal: give distinct positions, or none")
        return d

    # -- fitting -------------------------------------------------------------------------
    def _run(self, genotypes, distances, n_states, depth, spacing, n_burnin, max_iter, tol, rate_sample) -> None:
        from tqdm.auto import tqdm

        n, L = genotypes.shape
        rng = as_generator(self.random_state)
        hap = initial_haplotypes(genotypes, rng)
        sample = np.sort(rng.choice(n, size=min(rate_sample, n), replace=False))
        anchors = anchor_loci(L, spacing)
        hets = max(int(np.sum(genotypes == 1)), 1)
        rate = 0.01 / np.mean(distances)  # about one jump in a hundred intervals to start
        eps = 1e-3
        posterior = np.empty((n, 2, L))
        rows = []
        bar = tqdm(total=max_iter, desc=type(self).__name__, unit="iteration", leave=False,
                   disable=None if self.progress is None else not self.progress,
                   delay=AUTO_DELAY if self.progress is None else 0.0)
        for it in range(max_iter):
            neighbours = pbwt_neighbours(hap.reshape(2 * n, L), anchors, depth)
            refine = it >= n_burnin
            rho = jump_probabilities(rate, distances)
            changed = sweep(genotypes, hap, neighbours, n_states, rho, 1.0 - eps, eps, refine, it % 2 == 1)
            jumps, mismatches, loglik = expected_counts(genotypes, hap, neighbours, n_states, rho, 1.0 - eps, eps,
                                                        sample, posterior)
            rows.append({"iteration": it + 1, "suffix_phase": refine, "phase_changes": int(changed),
                         "sample_loglik": loglik, "error_rate": eps, "jump_rate": rate})
            eps, rate = self._m_step(jumps, mismatches, 2 * sample.size, distances, eps)
            bar.update()
            bar.set_postfix_str(f"phase changes {changed}")
            if refine and changed <= tol * hets:
                break
        bar.close()
        self.error_rate_, self.jump_rate_ = eps, rate
        jumps, mismatches, loglik = expected_counts(genotypes, hap, neighbours, n_states,
                                                    jump_probabilities(rate, distances), 1.0 - eps, eps,
                                                    np.arange(n), posterior)
        self.haplotypes_ = hap
        self.n_iter_ = it + 1
        self.trace_ = pd.DataFrame(rows)
        self.loglik_ = float(loglik)
        self.distances_ = distances
        observed = genotypes >= 0
        p1 = np.where(observed, hap[:, 0], posterior[:, 0])
        p2 = np.where(observed, hap[:, 1], posterior[:, 1])
        self.genotype_probabilities_ = np.stack([(1 - p1) * (1 - p2), p1 * (1 - p2) + p2 * (1 - p1), p1 * p2], axis=2)

    @staticmethod
    def _m_step(jumps, mismatches, chromosomes, distances, eps):
        """The rates' M-step: ``eps`` = expected mismatches per emitting locus
        (kept in [EPS_MIN, EPS_MAX]) and ``lambda`` from :func:`jump_rate`."""
        if mismatches[1]:
            eps = float(np.clip(mismatches[0] / mismatches[1], EPS_MIN, EPS_MAX))
        return eps, jump_rate(jumps, chromosomes, distances)

    # -- results -------------------------------------------------------------------------
    def _check_fitted(self):
        if not hasattr(self, "haplotypes_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit(...) first")

    @property
    def dosages_(self) -> np.ndarray:
        """(n, L) expected alternate-allele counts ``P(1) + 2 P(2)``."""
        self._check_fitted()
        return dosages(self.genotype_probabilities_)

    @property
    def jump_probabilities_(self) -> pd.DataFrame:
        """One row per pair of adjacent loci: ``from``, ``to``, ``distance``
        and the ``probability`` ``1 - exp(-jump_rate_ distance)`` of a jump
        to a uniformly chosen conditioning haplotype."""
        self._check_fitted()
        d = self.distances_
        return pd.DataFrame({"from": np.arange(d.size), "to": np.arange(1, d.size + 1), "distance": d,
                             "probability": jump_probabilities(self.jump_rate_, d)})

    def summary(self, level: float = 0.95) -> pd.DataFrame:
        """Not available: the haplotypes are estimated by conditional
        maximisation, not integrated over, so no standard error of the two
        rates would be honest; the uncertainty of imputed genotypes is in
        :attr:`genotype_probabilities_`."""
        self._check_fitted()
        raise ValueError("summary() is not available for HaplotypeCopyingEM: its rates are estimated given "
                         "maximised haplotypes, so standard errors from them would be too small; use "
                         "genotype_probabilities_ for the uncertainty of imputed genotypes")


def default_spacing(L: int) -> int:
    """Loci between anchors by default: 20, or ``L // 12`` when that is
    smaller (at least 1), so that short regions still have about 12."""
    return max(1, min(20, L // 12))


def anchor_loci(L: int, spacing: int) -> np.ndarray:
    """The loci where the PBWT neighbours are taken: every ``spacing`` loci,
    from ``spacing // 2``."""
    return np.arange(min(spacing // 2, L - 1), L, spacing)


def default_depth(n_states: int, n_anchors: int) -> int:
    """``max(8, ceil(n_states / n_anchors))``: an individual's two haplotypes
    then collect ``2 x 2 x depth x n_anchors >= 4 n_states`` candidates. With
    8 on a short region (100 loci, 12 anchors) the collected haplotypes would
    not even fill 400 states, and the conditioning set would be whatever the
    few anchors happened to give."""
    return max(8, -(-n_states // n_anchors))


def initial_haplotypes(genotypes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(n, 2, L) int8: heterozygous genotypes in random phase, missing ones
    drawn from the locus's observed allele frequency."""
    n, L = genotypes.shape
    observed = genotypes >= 0
    counts = np.where(observed, genotypes, 0).sum(axis=0)
    freq = counts / np.maximum(2 * observed.sum(axis=0), 1)
    first = rng.integers(0, 2, size=(n, L)).astype(np.int8)
    hap = np.empty((n, 2, L), dtype=np.int8)
    hap[:, 0] = np.where(genotypes == 1, first, genotypes // 2)
    hap[:, 1] = np.where(genotypes == 1, 1 - first, genotypes // 2)
    for c in range(2):
        draw = (rng.random((n, L)) < freq).astype(np.int8)
        hap[:, c] = np.where(observed, hap[:, c], draw)
    return hap


def jump_probabilities(rate: float, distances: np.ndarray) -> np.ndarray:
    """``rho_m = 1 - exp(-rate d_m)``."""
    return -np.expm1(-rate * distances)


def jump_rate(jumps: np.ndarray, chromosomes: int, distances: np.ndarray) -> float:
    """The M-step for ``lambda``: the root of
    ``sum_m d_m (J_m exp(-lambda d_m) / (1 - exp(-lambda d_m)) - (N - J_m)) = 0``,
    the derivative of ``sum_m J_m log rho_m - (N - J_m) lambda d_m`` (concave
    in ``lambda``), for expected jumps ``J_m`` out of ``N`` chromosomes."""
    positive = distances > 0
    J, d = jumps[positive], distances[positive]

    def score(log_rate):
        with np.errstate(over="ignore"):  # exp(x) = inf at the upper bracket: J / inf = 0, as it should
            return float(np.sum(d * (J / np.expm1(np.exp(log_rate) * d) - (chromosomes - J))))

    lo, hi = np.log(1e-12 / d.max()), np.log(50.0 / d.min())
    if score(hi) >= 0:
        return float(np.exp(hi))
    if score(lo) <= 0:
        return float(np.exp(lo))
    return float(np.exp(brentq(score, lo, hi, xtol=1e-10)))
