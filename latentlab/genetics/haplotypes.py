"""Haplotype frequencies, phase and linkage disequilibrium from unphased
genotypes: the user-facing estimator :class:`HaplotypeEM`.

The likelihood, E- and M-steps and the observed information are in
:mod:`latentlab.genetics.haplotype_model`; the candidate pairs and the
progressive insertion with posterior trimming in
:mod:`latentlab.genetics.candidates`; LD measures in
:mod:`latentlab.genetics.linkage`.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats as sps

from .._validation import check_fraction, check_positive, check_positive_int
from .._warn import user_stacklevel
from ..em import EMEstimator, TestResult, fit_em
from ..em.settings import check_int, engine_defaults
from .allele_coding import encode_genotypes
from .candidates import (
    Candidates,
    assignment_counts,
    code_dtype,
    empty_candidates,
    extended_size,
    insert_locus,
    ligate,
    trim_pairs,
)
from .haplotype_model import HaplotypeModel, HaplotypeParams
from .linkage import ld_table, pairwise_ld
from .memory_budget import MAX_MEMORY, MemoryBudget, check_max_memory

__all__ = ["HaplotypeEM", "PhasingEstimator"]

#: engine settings: the engine's defaults with max_iter=5000, accelerate="squarem" (EM over many haplotypes crawls near boundaries: SQUAREM by default)
_ENGINE = engine_defaults(max_iter=5000, accelerate="squarem")
#: restarts of the final EM by default when a locus has more than two alleles (``n_init`` in HaplotypeEM)
MULTI_ALLELIC_RESTARTS = 50
#: restarts run to this tolerance; only the best continues to ``tol``
SCREEN_TOL = 1e-5

#: most candidate pairs one insertion may list (roughly 100 bytes each while they
#: are built); a batch is cut short before an insertion that would list more
PAIR_BUDGET = 5_000_000

#: haplotypes counted as present in the degrees of freedom of the LD test
#: (haplo.stats' convention)
_PRESENT = 1e-7

#: batches whose candidate haplotypes per pair the projection of the last batch averages
RATIO_BATCHES = 10
def encode_and_report(G, loci, missing_values):
    """Code the genotypes (:func:`~.allele_coding.encode_genotypes`) and warn
    about individuals with no typed allele at any locus, which are kept out of
    the fit. Returns the coded genotypes, those individuals' rows and the rows
    fitted."""
    coded = encode_genotypes(G, loci, missing_values)
    empty = coded.all_missing()  # not everyone: every locus has a typed allele
    if empty.size:
        warnings.warn(
            f"{empty.size} individual(s) have no typed allele at any locus (rows {empty[:10].tolist()}"
            f"{' ...' if empty.size > 10 else ''}); they are kept but contribute nothing to the "
            "likelihood, and have no phase (see all_missing_)",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    return coded, empty, np.setdiff1d(np.arange(coded.codes.shape[0]), empty)


def _allele_frequencies(codes: np.ndarray, n_alleles: int) -> np.ndarray:
    typed = codes[codes >= 0]
    return np.bincount(typed, minlength=n_alleles) / max(typed.size, 1)


def _fit_stage(model, cands: Candidates, freqs: np.ndarray, fit, trim: bool, min_posterior: float, max_pairs: int,
               budget: MemoryBudget | None = None, loci: str = ""):
    """EM on the current candidate pairs from ``freqs`` (normalised), then, if
    ``trim``, trimming of improbable pairs (:func:`~.candidates.trim_pairs`);
    ``budget`` is checked before the kept haplotypes are written out.

    Returns the (trimmed) candidates, the fitted frequencies of their
    haplotypes, the :class:`EMResult` and a log entry.
    """
    result = fit(model, cands.pairs, HaplotypeParams(freqs / freqs.sum()))
    entry = {"pairs": cands.pairs.n_pairs, "haplotypes": cands.pairs.n_haplotypes,
             "loglik": result.loglik, "iterations": result.n_iter}
    freqs = result.params.frequencies
    if trim:
        post, _ = model.posteriors(cands.pairs, result.params)

        def check(kept):
            if budget is not None:
                H, P = cands.n_haplotypes, cands.pairs.n_pairs
                budget.check(budget.table(cands.prefix.shape[0], cands.prefix.shape[1])
                             + budget.table(H, cands.suffix.shape[1]) + budget.table(kept, cands.n_loci)
                             + budget.working(0, P, H),
                             f"writing out the {kept:,} candidate haplotypes kept of {H:,} after loci {loci}")

        cands, kept = trim_pairs(cands, post, min_posterior, max_pairs, check)
        freqs = freqs[kept]
        entry.update(pairs_after_trim=cands.pairs.n_pairs, haplotypes_after_trim=cands.pairs.n_haplotypes)
    return cands, freqs, result, entry


def progressive_fit(codes: np.ndarray, n_alleles, *, batch_size: int, min_posterior: float, max_pairs: int,
                    stage_fit, final_fit, trim_last: bool = False, first_locus: int = 0,
                    budget: MemoryBudget | None = None):
    """Insert the loci in batches, fitting and trimming after each batch.

    ``codes`` (n, L, 2) of individuals with at least one typed allele.
    ``stage_fit(model, pairs, init)`` and ``final_fit(model, pairs, init)`` run
    the EM (returning an :class:`EMResult`); the last batch is trimmed only if
    ``trim_last``. A batch holds ``batch_size`` loci, or fewer when inserting
    the next locus would list more than ``PAIR_BUDGET`` pairs (missing alleles
    at multi-allelic loci multiply the pairs: ``K^2`` assignments per missing
    genotype). A new haplotype starts at its parent's frequency times the
    allele's frequency. Returns the final :class:`Candidates`, their
    frequencies, the final result and a log of the stages (loci numbered from
    ``first_locus``).

    ``budget`` (a :class:`MemoryBudget`) is checked after every insertion
    and before every trimming writes out the haplotypes it keeps, on the
    memory of that moment (the kept candidates' codes, the batch's short
    suffixes, the pairs' working memory). When the last batch's candidates
    are the output (``trim_last`` false) it is also checked on what the end of
    the fit needs, where the candidates of the last batch, untrimmed, are
    written out over every locus (``haplotype_codes_``): at the start and
    after every trimming, on a projection -- the last batch (if the batches
    run on in steps of ``batch_size``) extends every pair an individual keeps
    by each ordered assignment of that individual's alleles at its loci, known
    from the data, so it lists ``sum_i kept_i prod_{j in last batch} a_ij``
    pairs, ``kept_i`` taken as the pairs individual ``i`` keeps now (they grow
    along a region, so the projection rises as the fit goes), with as many
    candidate haplotypes per pair as the last ``RATIO_BATCHES`` batches listed
    (one before the first; measured 0.9 to 1.25 at the end of 2,000 x 4,500
    SNP regions, at most 2) -- and in the last batch itself on its actual
    candidates. A batch lists at most ``PAIR_BUDGET``
    pairs (it is cut short before more), so the projection does too. The fit
    stops at the first estimate above the budget.
    """
    n, L = codes.shape[:2]
    model = HaplotypeModel()
    cands: Candidates = empty_candidates(n, code_dtype(n_alleles))
    freqs = np.ones(1)
    log = []
    last = None  # the last batch's loci and each individual's assignments there, for the projection
    if budget is not None and not trim_last:
        k = (L - 1) % batch_size + 1
        growth = np.ones(n)
        for j in range(L - k, L):
            growth *= assignment_counts(codes[:, j], int(n_alleles[j]))
        last = (f"{first_locus + L - k}-{first_locus + L - 1}", growth, [])  # [], candidates per pair by batch
        _check_last_batch(budget, cands, *last)
    start = 0  # first locus of the current batch
    for j in range(L):
        size = extended_size(cands, codes[:, j], int(n_alleles[j]))
        if size > PAIR_BUDGET and j > start:
            loci = f"{first_locus + start}-{first_locus + j - 1}"
            if last is not None:
                last[2].append(cands.n_haplotypes / cands.pairs.n_pairs)
            cands, freqs, _, entry = _fit_stage(model, cands, freqs, stage_fit, True, min_posterior, max_pairs,
                                                budget, loci)
            log.append({"stage": "insertion", "loci": loci, **entry})
            if last is not None:
                _check_last_batch(budget, cands, *last)
            start = j
            size = extended_size(cands, codes[:, j], int(n_alleles[j]))
        if size > PAIR_BUDGET:
            raise MemoryError(
                f"inserting locus {first_locus + j} would list {size:,} candidate haplotype pairs (more than "
                f"PAIR_BUDGET = {PAIR_BUDGET:,}) even after trimming; {int(np.sum(np.all(codes[:, j] < 0, axis=1)))} "
                f"individuals miss both alleles there ({int(n_alleles[j])} alleles). Lower max_pairs, or leave out "
                "individuals untyped at this locus"
            )
        cands, parent, allele = insert_locus(cands, codes[:, j], int(n_alleles[j]))
        freqs = freqs[parent] * _allele_frequencies(codes[:, j], int(n_alleles[j]))[allele]
        loci = f"{first_locus + start}-{first_locus + j}"
        if budget is not None:
            _check_insertion(budget, cands, size, loci, output=last is not None and L - start <= batch_size)
        final = j == L - 1
        if final or j + 1 - start == batch_size:
            if last is not None:
                last[2].append(cands.n_haplotypes / cands.pairs.n_pairs)
            cands, freqs, result, entry = _fit_stage(model, cands, freqs, final_fit if final else stage_fit,
                                                     trim_last or not final, min_posterior, max_pairs, budget, loci)
            log.append({"stage": "insertion", "loci": loci, **entry})
            if last is not None and not final:
                _check_last_batch(budget, cands, *last)
            start = j + 1
    return cands, freqs, result, log


def _check_insertion(budget: MemoryBudget, cands: Candidates, listed: int, loci: str, output: bool) -> None:
    """The check of :func:`progressive_fit` after an insertion (its docstring);
    ``output``: this is the last batch and its candidates are the output."""
    H, P, kept = cands.n_haplotypes, cands.pairs.n_pairs, cands.prefix.shape[0]
    work = budget.working(listed, P, H)
    if output:
        budget.check(budget.table(H + kept, budget.n_loci) + work,
                     f"with {H:,} candidate haplotypes and {P:,} pairs after inserting loci {loci}, the last batch, "
                     f"whose candidates are written out over all {budget.n_loci:,} loci")
    else:
        budget.check(budget.table(kept, cands.prefix.shape[1]) + budget.table(H, cands.suffix.shape[1]) + work,
                     f"with {H:,} candidate haplotypes and {P:,} pairs after inserting loci {loci}")


def _check_last_batch(budget: MemoryBudget, cands: Candidates, loci: str, growth: np.ndarray, ratios: list) -> None:
    """The projection of :func:`progressive_fit` (its docstring) for the last
    batch, loci ``loci``, where each pair of individual ``i`` becomes
    ``growth[i]`` pairs; ``ratios``: candidate haplotypes per pair of the
    batches so far."""
    listed = min(int(growth[cands.pairs.individual].sum()), PAIR_BUDGET)  # a batch lists at most PAIR_BUDGET
    per_pair = float(np.mean(ratios[-RATIO_BATCHES:])) if ratios else 1.0
    H = int(per_pair * listed)
    now = f"after loci 0-{cands.n_loci - 1}" if cands.n_loci else "at the start"
    budget.check(budget.table(H + cands.n_haplotypes, budget.n_loci) + budget.working(listed, listed, H),
                 f"with {cands.pairs.n_pairs:,} candidate pairs kept {now}, the last batch (loci {loci}) would list "
                 f"about {listed:,} pairs and {H:,} haplotypes if the individuals then keep as many, and those "
                 f"haplotypes are written out over all {budget.n_loci:,} loci")


def partition_ligation_fit(codes: np.ndarray, n_alleles, *, atom_size: int, batch_size: int, min_posterior: float,
                           max_pairs: int, stage_fit, final_fit, budget: MemoryBudget | None = None):
    """Partition-ligation (Qin, Niu & Liu 2002, Am. J. Hum. Genet. 71:1242).

    1. **Partition** the loci into atoms of ``atom_size`` consecutive loci and
       phase each atom alone (:func:`progressive_fit`), then trim its pairs
       (posterior below ``min_posterior``, beyond the ``max_pairs`` most
       probable of an individual), so each individual keeps its probable
       atom-haplotype pairs;
    2. **ligate** adjacent segments hierarchically (atoms 1+2, 3+4, ..., then
       the results in pairs again, until one segment spans all loci): each
       individual's joined candidates are the two ways of combining one of its
       left pairs with one of its right pairs (:func:`~.candidates.ligate`); a
       joined haplotype starts at the product of its parts' frequencies; EM on
       the joined pairs, then trimming -- except after the last ligation,
       whose EM (``final_fit``) is the estimate.

    Same arguments and return values as :func:`progressive_fit`. ``budget``
    is checked in the atoms as there, and before and after each ligation on
    the joined candidates written out over every locus (what the last
    ligation leaves, if it joins as many).
    """
    L = codes.shape[1]
    if L <= atom_size:
        return progressive_fit(codes, n_alleles, batch_size=batch_size, min_posterior=min_posterior,
                               max_pairs=max_pairs, stage_fit=stage_fit, final_fit=final_fit, budget=budget)
    model = HaplotypeModel()
    segments, log = [], []
    for start in range(0, L, atom_size):
        stop = min(start + atom_size, L)
        cands, freqs, _, atom_log = progressive_fit(
            codes[:, start:stop], n_alleles[start:stop], batch_size=batch_size, min_posterior=min_posterior,
            max_pairs=max_pairs, stage_fit=stage_fit, final_fit=stage_fit, trim_last=True, first_locus=start,
            budget=budget)
        segments.append((start, cands, freqs))
        log += [{**entry, "stage": "atom"} for entry in atom_log]
    while len(segments) > 1:
        joined = []
        last = len(segments) == 2
        for (start, left, f_left), (_, right, f_right) in zip(segments[::2], segments[1::2]):
            if budget is not None:
                listed = int(np.sum(2 * np.bincount(right.pairs.individual, minlength=right.pairs.n_individuals)[
                    left.pairs.individual]))
                held = budget.table(left.n_haplotypes + right.n_haplotypes, L)
                budget.check(held + budget.working(listed), f"ligating at locus {start + left.n_loci} "
                             f"({listed:,} candidate pairs to list)")
            cands, in_left, in_right = ligate(left, right)
            if budget is not None:
                H = cands.n_haplotypes
                budget.check(held + budget.table(H, L) + budget.working(0, cands.pairs.n_pairs, H),
                             f"with {H:,} candidate haplotypes and {cands.pairs.n_pairs:,} pairs after ligating at "
                             f"locus {start + left.n_loci} (a last ligation joining as many writes them out over "
                             f"all {L:,} loci)")
            stop = start + cands.n_loci
            cands, freqs, result, entry = _fit_stage(model, cands, f_left[in_left] * f_right[in_right],
                                                     final_fit if last else stage_fit, not last,
                                                     min_posterior, max_pairs, budget, f"{start}-{stop - 1}")
            log.append({"stage": "ligation", "loci": f"{start}-{stop - 1}", **entry})
            joined.append((start, cands, freqs))
        segments = joined + segments[len(joined) * 2:]
    return segments[0][1], segments[0][2], result, log


#: the ways of building the candidate pairs (``HaplotypeEM(method=...)``)
_METHODS = {"progressive": progressive_fit, "partition-ligation": partition_ligation_fit}


class PhasingEstimator(EMEstimator):
    """What :class:`HaplotypeEM` and :class:`~latentlab.genetics.WindowedHaplotypeEM`
    share: the settings of the candidate pairs (progressive insertion with
    trimming), their validation, and the coding of the genotypes."""

    def _set_candidate_settings(self, *, batch_size, min_posterior, max_pairs, missing_values, stage_tol, max_memory):
        self.batch_size = batch_size
        self.min_posterior = min_posterior
        self.max_pairs = max_pairs
        self.missing_values = missing_values
        self.stage_tol = stage_tol
        self.max_memory = max_memory

    def _prepare(self, G, loci) -> dict:
        """Validate the settings, code ``G`` (setting ``genotypes_``,
        ``all_missing_`` and the rows fitted), start the memory budget
        (``memory_``, a :class:`MemoryBudget`) and return the keyword arguments
        of :func:`progressive_fit` but ``final_fit``; ``stage_fit`` runs the EM
        to ``max(stage_tol, tol)``."""
        settings = dict(batch_size=check_positive_int(self.batch_size, "batch_size"),
                        min_posterior=check_fraction(self.min_posterior, "min_posterior", upper=0.5),
                        max_pairs=check_positive_int(self.max_pairs, "max_pairs"))
        stage_tol = max(check_positive(self.stage_tol, "stage_tol"), check_positive(self.tol, "tol"))
        limit = check_max_memory(self.max_memory)
        self.genotypes_, self.all_missing_, self._used = encode_and_report(G, loci, self.missing_values)
        codes = self._used_codes()
        self.memory_ = settings["budget"] = MemoryBudget(
            limit, type(self).__name__, codes.shape[1], code_dtype(self.genotypes_.n_alleles).itemsize,
            self.genotypes_.codes.nbytes + (codes.nbytes if codes is not self.genotypes_.codes else 0))
        self.memory_.check(0, f"holding the coded genotypes ({codes.shape[0]:,} individuals x {codes.shape[1]:,} loci)")

        def stage_fit(model, pairs, init):
            return fit_em(model, pairs, init_params=init, tol=stage_tol, max_iter=self.max_iter,
                          accelerate=self.accelerate)

        return {**settings, "stage_fit": stage_fit}

    def _used_codes(self) -> np.ndarray:
        """The coded genotypes of the individuals fitted (no copy when that is everyone)."""
        codes = self.genotypes_.codes
        return codes if self._used.size == codes.shape[0] else codes[self._used]


class HaplotypeEM(PhasingEstimator):
    """Haplotype frequencies by EM over the phases compatible with each genotype.

    ``method="progressive"`` (default): loci are inserted ``batch_size`` at a
    time; after each batch but the last, EM runs on the current candidate
    pairs and pairs with posterior probability below ``min_posterior`` are
    trimmed (haplo.stats' progressive insertion). ``batch_size >= n_loci`` and
    ``min_posterior=0`` give the exhaustive EM.

    ``method="partition-ligation"`` (Qin, Niu & Liu 2002): the loci are cut
    into atoms of ``atom_size`` consecutive loci, each atom is phased alone
    (progressive insertion within the atom) and trimmed as above, then
    adjacent segments are ligated hierarchically, each individual's candidates
    being the combinations of its surviving left and right pairs
    (:func:`partition_ligation_fit`). Either way the final fit is the EM over
    the final candidate pairs through :func:`latentlab.em.fit_em`.

    Parameters
    ----------
    method : ``"progressive"`` or ``"partition-ligation"``.
    atom_size : loci per atom for partition-ligation (default 8: an atom has
        at most ``2^7 = 128`` phases per individual).
    batch_size : loci inserted between EM runs (haplo.stats' default 6).
    min_posterior : trimming threshold for pair posteriors (default 1e-9).
    max_pairs : at most this many pairs per individual survive a trimming
        (the most probable ones); bounds memory when many phases stay
        equally likely (rare haplotypes over many loci).
    missing_values : labels meaning "missing allele" besides None and NaN.
    stage_tol : convergence tolerance of the EM runs between batches (the
        final run uses ``tol``); trimming needs only rough posteriors.
    max_memory : the memory budget of ``fit``, in bytes (default
        ``MAX_MEMORY``, 2 GiB = 2 * 1024**3; None: no budget). The fit
        estimates the memory it allocates (:class:`MemoryBudget`: the coded
        genotypes, the candidate haplotypes' codes, the pairs' working memory)
        before it starts and after every insertion, including what its end
        will need if its last batch lists as many candidates as the current
        one (:func:`progressive_fit`), and stops with a
        :class:`~latentlab.exceptions.MemoryBudgetError` (a ``MemoryError``)
        naming the estimate, the budget and the models for chromosome-scale
        data (:class:`~latentlab.genetics.HaplotypeCopyingEM`,
        :class:`~latentlab.genetics.HaplotypeClusterEM`), as soon as the
        estimate exceeds the budget.
        The interpreter, the caller's input and the tables built after the
        fit on request (``haplotypes_``, ``phase_posteriors()``, ``summary()``:
        labels of every candidate haplotype at every locus) are not counted.
    n_init : restarts of the final EM run (random pair posteriors over the
        final candidate pairs; the first restart starts from the
        progressive-insertion or partition-ligation estimate). None (default):
        1 when every locus is biallelic, ``MULTI_ALLELIC_RESTARTS`` (50) when a
        locus has more alleles, whose likelihood has many local maxima: on
        haplo.stats' HLA DQB-DRB-B data about one restart in seven reaches
        haplo.stats' default fit, so 50 restarts miss it with probability
        about 0.86^50 < 1e-3 (20 restarts missed it for 1 seed in 30).
        Restarts are screened: each runs to ``SCREEN_TOL`` (1e-5) and only the
        best continues to ``tol`` (``screening_`` keeps the short runs).
    tol, max_iter, accelerate, random_state, progress : passed to
        :func:`latentlab.em.fit_em` for the final EM run.

    Attributes (after ``fit``)
    --------------------------
    frequencies_ : (H,) haplotype frequencies, in the order of ``haplotype_codes_``.
    haplotype_codes_ : (H, L) allele codes of the candidate haplotypes.
    genotypes_ : the coded input (:class:`~latentlab.genetics.allele_coding.CodedGenotypes`).
    all_missing_ : indices of individuals with no typed allele (kept out of the
        likelihood: they contribute a factor 1).
    insertion_log_ : DataFrame, one row per EM stage (``stage``: insertion,
        atom or ligation; ``loci`` spanned; pairs, haplotypes, loglik).
    screening_ : with several restarts, the :class:`~latentlab.em.EMResult` of
        the short runs (``restart_logliks``: where each ended); None otherwise.
    memory_ : the :class:`MemoryBudget` of the fit; ``memory_.peak`` is the
        largest estimate (bytes) it made.
    loglik_ : log-likelihood (haplo.stats' ``lnlike``) over the final
        candidate pairs; exact when nothing was trimmed, otherwise the
        likelihood of the trimmed model.
    """

    def __init__(self, *, method: str = "progressive", atom_size: int = 8, batch_size: int = 6, min_posterior: float = 1e-9, max_pairs: int = 30, missing_values=(-1,),
                 stage_tol: float = 1e-6, max_memory: float | None = MAX_MEMORY, tol: float = _ENGINE["tol"], max_iter: int = _ENGINE["max_iter"], n_init: int | None = None,
                 accelerate: str | None = _ENGINE["accelerate"], random_state=None, progress: bool | None = _ENGINE["progress"]):
        self.method = method
        self.atom_size = atom_size
        self._set_candidate_settings(batch_size=batch_size, min_posterior=min_posterior, max_pairs=max_pairs,
                                     missing_values=missing_values, stage_tol=stage_tol, max_memory=max_memory)
        self._set_engine_settings(
            tol=tol, max_iter=max_iter, n_init=n_init,
            accelerate=accelerate, random_state=random_state, progress=progress,
        )

    # -- fitting ----------------------------------------------------------------------
    def _restarts(self) -> int:
        """``n_init``, or its default for these genotypes (class docstring)."""
        if self.n_init is not None:
            return check_int(self.n_init, "n_init", 1)
        return 1 if max(self.genotypes_.n_alleles) <= 2 else MULTI_ALLELIC_RESTARTS

    def _final_fit(self, model, pairs, init):
        """The final EM over the candidate pairs. With several restarts each
        runs only to ``SCREEN_TOL`` and the best continues to ``tol`` (short
        runs then one long run: Biernacki, Celeux & Govaert 2003, CSDA 41:561);
        ``screening_`` keeps the short runs (their ``restart_logliks``)."""
        n_init = self._restarts()
        self.screening_ = None
        if n_init > 1:
            settings = {**self._engine_settings(), "n_init": n_init, "tol": max(SCREEN_TOL, self.tol)}
            self.screening_ = fit_em(model, pairs, init_params=init, **settings)
            init = self.screening_.params
        return self._fit_em(model, pairs, n_obs=pairs.n_individuals, init_params=init, n_init=1)

    def fit(self, G, loci=None) -> HaplotypeEM:
        """Fit to genotypes ``G`` (see :func:`latentlab.genetics.allele_coding.encode_genotypes`)."""
        if self.method not in _METHODS:
            raise ValueError(f"method must be one of {list(_METHODS)}; got {self.method!r}")
        atom = check_positive_int(self.atom_size, "atom_size")
        settings = self._prepare(G, loci)

        def final_fit(model, pairs, init):
            return self._final_fit(model, pairs, init)

        settings["final_fit"] = final_fit
        if self.method == "partition-ligation":
            settings["atom_size"] = atom
        codes = self._used_codes()
        cands, _, result, log = _METHODS[self.method](codes, self.genotypes_.n_alleles, **settings)
        self.haplotype_codes_ = cands.haplotypes
        self.frequencies_ = result.params.frequencies
        self.insertion_log_ = pd.DataFrame(log)
        self._se = None
        return self

    # -- labels -------------------------------------------------------------------------
    def _haplotype_strings(self, codes: np.ndarray) -> list[str]:
        return self.genotypes_.haplotype_strings(codes)

    def _parameter_labels(self) -> list[str]:
        return [f"freq[{s}]" for s in self._haplotype_strings(self.haplotype_codes_)]

    # -- results ------------------------------------------------------------------------
    @property
    def haplotypes_(self) -> pd.DataFrame:
        """One row per candidate haplotype, most frequent first: one column per
        locus (allele labels), ``frequency`` and its ``std_error`` (NaN for
        haplotypes on the boundary -- expected copies below
        ``haplotype_model.BOUNDARY_COUNT`` -- or beyond the ``MAX_FREE`` most
        frequent, or on a ridge of the likelihood)."""
        self._check_fitted()
        g = self.genotypes_
        table = pd.DataFrame({name: g.labels(j, self.haplotype_codes_[:, j]) for j, name in enumerate(g.loci)})
        table["frequency"] = self.frequencies_
        table["std_error"] = self._standard_errors()
        return table.sort_values("frequency", ascending=False, kind="stable").reset_index(drop=True)

    def _standard_errors(self) -> np.ndarray:
        """Standard errors of the frequencies (NaN where none), computed once."""
        if getattr(self, "_se", None) is None or self._se.size != self.frequencies_.size:
            idx, cov = self.model_.free_covariance(self._data, self.result_.params)
            self._se = np.full(self.frequencies_.size, np.nan)
            self._se[idx] = np.sqrt(np.clip(np.diag(cov), 0.0, None))
        return self._se

    def _final_posteriors(self) -> np.ndarray:
        post, _ = self.model_.posteriors(self._data, self.result_.params)
        return post

    def phase_posteriors(self) -> pd.DataFrame:
        """Every candidate pair of every individual with its posterior probability.

        Columns: ``individual`` (row of the input), ``haplotype_1``,
        ``haplotype_2`` (allele labels joined), ``posterior``, ``most_likely``
        (True for each individual's most probable pair). Individuals with no
        typed allele have no rows.
        """
        self._check_fitted()
        pairs, post = self._data, self._final_posteriors()
        names = np.array(self._haplotype_strings(self.haplotype_codes_), dtype=object)
        best = _best_pair(pairs, post)
        flag = np.zeros(pairs.n_pairs, dtype=bool)
        flag[best] = True
        return pd.DataFrame({
            "individual": self._used[pairs.individual],
            "haplotype_1": names[pairs.first],
            "haplotype_2": names[pairs.second],
            "posterior": post,
            "most_likely": flag,
        })

    def most_likely_haplotypes(self) -> np.ndarray:
        """(individuals, 2, loci) allele labels of each individual's most probable
        pair (None for individuals with no typed allele)."""
        self._check_fitted()
        pairs = self._data
        best = _best_pair(pairs, self._final_posteriors())
        n, L = self.genotypes_.codes.shape[:2]
        codes = np.full((n, 2, L), -1, dtype=self.haplotype_codes_.dtype)
        codes[self._used, 0] = self.haplotype_codes_[pairs.first[best]]
        codes[self._used, 1] = self.haplotype_codes_[pairs.second[best]]
        return self.genotypes_.haplotype_labels(codes)

    # -- linkage disequilibrium -----------------------------------------------------------
    def _locus_index(self, locus) -> int:
        names = self.genotypes_.loci
        if isinstance(locus, (int, np.integer)) and 0 <= locus < len(names):
            return int(locus)
        if locus in names:
            return names.index(locus)
        raise ValueError(f"locus {locus!r} is neither a locus name {list(names)} nor an index below {len(names)}")

    def _allele_index(self, locus: int, allele) -> int:
        alleles = self.genotypes_.alleles[locus]
        if allele is None:
            if len(alleles) != 2:
                raise ValueError(
                    f"locus {self.genotypes_.loci[locus]!r} has {len(alleles)} alleles {list(alleles)}; "
                    "name the allele to measure LD for"
                )
            return 1
        if allele not in alleles:
            raise ValueError(f"allele {allele!r} is not observed at locus {self.genotypes_.loci[locus]!r}: {list(alleles)}")
        return alleles.index(allele)

    def _exhaustive_fit(self, loci: list[int]):
        """Exhaustive EM (no trimming) on a subset of loci; returns (pairs, result, haplotypes)."""
        codes = self.genotypes_.codes[:, loci]
        codes = codes[~np.all(codes < 0, axis=(1, 2))]
        n_alleles = self.genotypes_.n_alleles[loci]

        def run(model, pairs, init):
            return fit_em(model, pairs, init_params=init, tol=self.tol, max_iter=self.max_iter, accelerate="squarem")

        cands, _, result, _ = progressive_fit(codes, n_alleles, batch_size=len(loci), min_posterior=0.0, max_pairs=1,
                                           stage_fit=run, final_fit=run)
        return cands, result

    def linkage_disequilibrium(self, locus_a, locus_b, allele_a=None, allele_b=None, level: float = 0.95) -> pd.DataFrame:
        """D, D' and r^2 between two loci, with delta-method Wald intervals.

        The two-locus haplotype frequencies are re-estimated by exhaustive EM on
        the two loci alone (so the pair's LD does not depend on the other loci
        or on trimming). For a locus with more than two alleles name the allele
        (``allele_a``/``allele_b``); biallelic loci default to their second allele.
        Formulas in :mod:`latentlab.genetics.linkage`.
        """
        self._check_fitted()
        a, b = self._locus_index(locus_a), self._locus_index(locus_b)
        if a == b:
            raise ValueError(f"linkage disequilibrium needs two different loci; got {locus_a!r} twice")
        i, j = self._allele_index(a, allele_a), self._allele_index(b, allele_b)
        cands, result = self._exhaustive_fit([a, b])
        cov = HaplotypeModel().analytic_covariance(cands.pairs, result.params)  # K_a K_b entries at most
        shape = (int(self.genotypes_.n_alleles[a]), int(self.genotypes_.n_alleles[b]))
        return ld_table(result.params.frequencies, cands.haplotypes, shape, cov, i, j, level)

    def ld_matrix(self, measure: str = "r2") -> pd.DataFrame:
        """LD between every pair of loci (biallelic loci only), from the
        two-locus marginals of the fitted multi-locus haplotype frequencies.

        ``measure`` is ``"r2"``, ``"D'"`` or ``"D"``.
        """
        self._check_fitted()
        if measure not in ("r2", "D'", "D"):
            raise ValueError(f"measure must be 'r2', \"D'\" or 'D'; got {measure!r}")
        multi = [name for name, k in zip(self.genotypes_.loci, self.genotypes_.n_alleles) if k > 2]
        if multi:
            raise ValueError(f"ld_matrix needs biallelic loci; {multi} have more than two alleles "
                             "(use linkage_disequilibrium with named alleles)")
        values = pairwise_ld(self.haplotype_codes_ == 1, self.frequencies_, measure)
        return pd.DataFrame(values, index=list(self.genotypes_.loci), columns=list(self.genotypes_.loci))

    def linkage_equilibrium_test(self) -> TestResult:
        """Likelihood-ratio test of linkage equilibrium.

        Under linkage equilibrium (and Hardy-Weinberg) the likelihood factorises
        over loci, so its maximum is the sum of single-locus EM fits (missing
        alleles handled as in the full model). ``LR = 2 (l_full - l_LE)`` on
        ``df = (haplotypes with frequency > 1e-7) - 1 - sum_j (K_j - 1)``
        degrees of freedom (haplo.stats' convention; the chi-square reference is
        approximate when frequencies sit on the boundary). Under strong LD so few
        haplotypes are present that ``df <= 0``: there is then no chi-square
        reference, the p-value is NaN and a warning says so.
        """
        self._check_fitted()
        l_le = sum(self._exhaustive_fit([j])[1].loglik for j in range(len(self.genotypes_.loci)))
        lr = 2.0 * (self.loglik_ - l_le)
        df = int(np.sum(self.frequencies_ > _PRESENT)) - 1 - int(np.sum(self.genotypes_.n_alleles - 1))
        if df <= 0:
            warnings.warn(
                f"linkage_equilibrium_test: only {int(np.sum(self.frequencies_ > _PRESENT))} haplotypes are present, "
                f"so df = {df} <= 0 and the LR statistic ({lr:.4g}) has no chi-square reference; p_value is NaN",
                RuntimeWarning,
                stacklevel=user_stacklevel(),
            )
        p = float(sps.chi2.sf(lr, df)) if df > 0 else np.nan
        return TestResult("linkage equilibrium", "lrt", lr, df, p,
                          {"lr": lr, "loglik": self.loglik_, "loglik_equilibrium": l_le})


def _best_pair(pairs, post: np.ndarray) -> np.ndarray:
    """Index of each individual's most probable pair (first on ties)."""
    order = np.lexsort((-post, pairs.individual))
    first = np.ones(order.size, dtype=bool)
    first[1:] = np.diff(pairs.individual[order]) != 0
    return order[first]
