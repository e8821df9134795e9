"""``ClonotypeEM``: clonotype abundances and error rates from a table of
distinct receptor sequences with read counts."""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.stats import binom

from .._validation import check_level
from .._warn import user_stacklevel
from ..em import EMEstimator
from ..em.estimator import SUMMARY_COLUMNS
from ..em.inference import numerical_hessian, wald_intervals
from ..em.settings import check_int, engine_defaults
from ..em.sparse_simplex import SparseSimplexInformation
from ..exceptions import BoundaryWarning, ConvergenceWarning
from .diversity import diversity
from .model import ERROR_MODELS, ClonotypeMixtureModel, ClonotypeParams, PairData, error_rates, uniform_substitution
from .neighbours import HammingIndex
from .selection import abundance_log_pvalues, greedy_batch
from .sequences import ALPHABET, QualityRows, SequenceTable, read_rows

__all__ = ["ClonotypeEM"]

#: engine settings: SQUAREM by default (thousands of mixture weights; plain EM
#: crawls where clonotypes share many error neighbours)
_ENGINE = engine_defaults(accelerate="squarem")


class ClonotypeEM(EMEstimator):
    """True clonotypes, their abundances and the sequencing error rates, from
    distinct sequences with read counts, by EM with divisive partitioning.

    The mixture (:mod:`latentlab.repertoire.model`) explains every read as a
    copy of a true clonotype through a substitution process; which sequences
    are clonotypes is decided in rounds (:mod:`latentlab.repertoire.selection`):
    start from the most abundant sequence of each length; fit the mixture by
    EM; test every other sequence's abundance against what the fitted errors
    predict; add the significant ones (most significant first, none within
    reach of another added in the same round); repeat until no sequence is
    significant.

    Parameters
    ----------
    max_distance : the largest Hamming distance between a read and its
        clonotype (default 4). A read further than this from every clonotype
        is left unassigned unless it is itself called; the fit warns when the
        fitted error rate puts more than 0.1% of reads beyond it.
    alpha : family-wise level of the abundance test (Bonferroni over the
        distinct sequences; default 1e-3). Smaller calls fewer clonotypes.
    error_model : ``"uniform"`` (one per-base error rate, the default) or
        ``"matrix"`` (a 4 x 4 substitution matrix, 12 rates); one per
        quality class when qualities are given to ``fit``.
    quality_bins : edges of the quality classes (mean Phred scores; default
        ``(20, 30)``: ``q < 20``, ``20 <= q < 30``, ``q >= 30``), used when
        ``fit`` is given qualities.
    max_rounds : partitioning rounds before the fit stops with a warning.
    tol, max_iter, n_init, accelerate, random_state, progress : passed to
        :func:`latentlab.em.fit_em` for the fit of each round.

    Attributes (after ``fit``)
    --------------------------
    clonotypes_ : DataFrame, one row per clonotype (largest first): sequence,
        observed reads of that exact sequence, estimated reads, share,
        standard error of the share and a 95% interval for the reads.
    assignments_ : DataFrame, one row per input row: sequence (and quality
        class), count, posterior parent clonotype, the posterior probability
        of that parent, and the Hamming distance to it (unassigned rows have
        no parent).
    error_rate_ : fitted probability that a base is misread (averaged over
        the quality classes, weighted by their reads).
    error_rates_ : DataFrame, one row per quality class: reads, error rate.
    substitution_ : the fitted 4 x 4 substitution matrix (rows: true base);
        with quality classes, one per class (shape (n_classes, 4, 4)).
    unassigned_reads_ : reads of sequences beyond reach of every clonotype.
    rounds_ : DataFrame of the partitioning rounds (clonotypes, log-likelihood,
        error rate, E-steps, sequences added).
    result_ : the final round's :class:`~latentlab.EMResult`.

    Example
    -------
    >>> from latentlab.repertoire import ClonotypeEM, simulate_repertoire
    >>> sim = simulate_repertoire(n_clonotypes=50, n_reads=20_000, error_rate=0.01, random_state=1)
    >>> fit = ClonotypeEM(random_state=0).fit(sim.observed["sequence"], sim.observed["count"])
    >>> len(fit.clonotypes_), len(sim.observed)
    (50, 4461)
    """

    def __init__(
        self,
        max_distance: int = 4,
        alpha: float = 1e-3,
        error_model: str = "uniform",
        max_rounds: int = 100,
        quality_bins=(20.0, 30.0),
        *,
        tol: float = _ENGINE["tol"],
        max_iter: int = _ENGINE["max_iter"],
        n_init: int = _ENGINE["n_init"],
        accelerate: str | None = _ENGINE["accelerate"],
        random_state=None,
        progress: bool | None = _ENGINE["progress"],
    ):
        self.max_distance = max_distance
        self.alpha = alpha
        self.error_model = error_model
        self.max_rounds = max_rounds
        self.quality_bins = quality_bins
        self._set_engine_settings(
            tol=tol, max_iter=max_iter, n_init=n_init,
            accelerate=accelerate, random_state=random_state, progress=progress,
        )

    def _check_settings(self) -> None:
        check_int(self.max_distance, "max_distance", 0)
        check_int(self.max_rounds, "max_rounds", 1)
        if isinstance(self.alpha, bool) or not isinstance(self.alpha, numbers.Real) or not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be a number in (0, 1); got {self.alpha!r}")
        if self.error_model not in ERROR_MODELS:
            raise ValueError(f"error_model must be one of {ERROR_MODELS}; got {self.error_model!r}")
        bins = self.quality_bins
        if isinstance(bins, (str, bytes)) or not hasattr(bins, "__len__") or len(bins) == 0 or not all(
                isinstance(b, numbers.Real) and not isinstance(b, bool) and np.isfinite(b) for b in bins) \
                or np.any(np.diff(np.asarray(bins, dtype=float)) <= 0):
            raise ValueError(f"quality_bins must be increasing finite numbers (Phred scores); got {bins!r}")

    # -- fitting ---------------------------------------------------------------------
    def fit(self, sequences, counts, qualities=None) -> ClonotypeEM:
        """Fit to distinct ``sequences`` (strings of A, C, G, T, N; any
        lengths) observed ``counts`` times (reads, or UMIs for molecule
        counts). ``qualities`` (optional): the mean Phred quality of each
        row's reads; rows are then split into quality classes at
        ``quality_bins``, each with its own error process, and a sequence may
        appear once per class."""
        self._check_settings()
        table, rows = read_rows(sequences, counts, qualities, self.quality_bins)
        index = HammingIndex(table, self.max_distance)
        model = ClonotypeMixtureModel(self.error_model)
        centres = _most_abundant_per_length(table)
        pairs = index.pairs(centres)
        params, history = None, []
        for round_ in range(1, self.max_rounds + 1):
            data = _pair_data(table, rows, centres, pairs)
            params = self._fit_round(model, data.rows, centres, params)
            new = self._significant(table, index, model, data, centres, params)
            history.append(_round_row(round_, table, data.rows, centres, self.result_, new.size))
            if new.size == 0:
                break
            if round_ == self.max_rounds:  # the fit stands for the clonotypes it was run with
                warnings.warn(f"ClonotypeEM: {new.size} more sequences were significant after max_rounds="
                              f"{self.max_rounds} rounds; the set is incomplete (raise max_rounds)",
                              ConvergenceWarning, stacklevel=user_stacklevel())
                break
            centres = np.concatenate([centres, new])
            new_pairs = index.pairs(new)
            pairs = tuple(np.concatenate([a, b]) for a, b in zip(pairs, new_pairs))
        self._store(table, rows, centres, data, params, pd.DataFrame(history))
        return self

    def _fit_round(self, model, data: PairData, centres, previous):
        """The round's EM fit, started from the previous round's weights (new
        clonotypes enter with their own counts' share) and error model (moved
        off zero)."""
        if previous is None:
            start = None
        else:
            k_old = previous.weights.size
            extra = data.centre_counts[k_old:] / data.counts.sum()
            w = np.concatenate([previous.weights * (1.0 - extra.sum()), extra])
            # a rate fitted as 0 (no errors seen yet) would give the new clonotypes' neighbours probability 0
            substitution = 0.999 * previous.substitution + 0.001 / 4
            start = ClonotypeParams(w / w.sum(), substitution)
        result = self._fit_em(model, data, n_obs=float(data.counts.sum()), init_params=start)
        return result.params

    def _significant(self, table, index, model, data: _Rounds, centres, params) -> np.ndarray:
        """This round's new clonotypes: significant sequences (module
        :mod:`~latentlab.repertoire.selection`), most significant first, none
        within reach of another taken this round. A sequence's expected count
        sums over the quality classes: ``E_i = sum_q N_q sum_c w_c P_q(s_i | c)``."""
        expected = np.zeros(table.n_sequences)
        reads = np.bincount(data.rows.classes, weights=data.rows.counts, minlength=data.rows.n_classes)
        for q, n_q in enumerate(reads):
            in_class = ClonotypeParams(params.weights, params.substitution[q:q + 1])
            expected[data.sequences] += n_q * np.exp(model.log_sequence_probs(data.by_sequence, in_class))
        log_p = abundance_log_pvalues(table.counts, expected)
        log_p[centres] = 0.0
        significant = np.flatnonzero(log_p + np.log(table.n_sequences) < np.log(self.alpha))
        order = np.lexsort((-table.counts[significant], log_p[significant]))
        candidates = significant[order]
        if candidates.size == 0:
            return candidates
        pair_i, pair_j, _ = index.pairs(candidates, targets=candidates, tables=False)
        return greedy_batch(candidates, pair_i, pair_j)

    # -- results -----------------------------------------------------------------------
    def _store(self, table, rows: QualityRows, centres, data: _Rounds, params, history) -> None:
        self._share_se = None
        self.table_ = table
        self.rows_ = rows
        self.centres_ = centres
        self._kept_rows = data.kept_rows
        q = params.substitution
        self.substitution_ = q[0] if rows.identity else q
        reads = np.bincount(data.rows.classes, weights=data.rows.counts, minlength=rows.n_classes)
        rates = error_rates(q, _composition(table, centres))
        self.error_rates_ = pd.DataFrame({"quality": rows.labels, "reads": reads, "error_rate": rates})
        self.error_rate_ = float(reads @ rates / reads.sum())
        self.unassigned_reads_ = float(table.counts.sum() - data.rows.counts.sum())
        self.rounds_ = history
        self.weights_ = params.weights
        self._warn_reach(table, reads, rates)

    def _warn_reach(self, table, reads, rates) -> None:
        """Warn when the fitted error rates put more than 0.1% of reads beyond
        ``max_distance`` (they would be left unassigned or called)."""
        length = int(round(np.average(table.lengths, weights=table.counts)))
        beyond = float(reads @ binom.sf(self.max_distance, length, rates) / reads.sum())
        if beyond > 1e-3:
            warnings.warn(
                f"ClonotypeEM: with the fitted error rate {self.error_rate_:.4g} and mean length {length}, "
                f"{beyond:.2%} of reads are expected more than max_distance={self.max_distance} errors from "
                f"their clonotype; raise max_distance", UserWarning, stacklevel=user_stacklevel(),
            )

    @property
    def clonotypes_(self) -> pd.DataFrame:
        self._check_fitted()
        n = self._data.counts.sum()
        se = self.share_standard_errors()
        lo, hi = wald_intervals(self.weights_, se, ["log"] * se.size, 0.95)
        frame = pd.DataFrame({
            "sequence": self.table_.text[self.centres_],
            "observed_reads": self.table_.counts[self.centres_],
            "reads": n * self.weights_,
            "share": self.weights_,
            "share_se": se,
            "reads_lower": n * lo,
            "reads_upper": n * hi,
        })
        return frame.sort_values("reads", ascending=False, kind="stable").reset_index(drop=True)

    @property
    def assignments_(self) -> pd.DataFrame:
        self._check_fitted()
        rows, n = self.rows_, self.rows_.counts.size
        parent = np.full(n, -1)
        prob = np.full(n, np.nan)
        distance = np.full(n, -1)
        best, best_prob, best_distance = _posterior_parents(self._data, self.result_.params)
        kept = self._kept_rows
        parent[kept], prob[kept], distance[kept] = best, best_prob, best_distance
        seq = self.table_.text[self.centres_]
        frame = pd.DataFrame({"sequence": self.table_.text[rows.sequence], "count": rows.counts})
        if not rows.identity:
            frame["quality"] = np.asarray(rows.labels, dtype=object)[rows.classes]
        frame["parent"] = np.where(parent >= 0, seq[np.maximum(parent, 0)], None)
        frame["posterior"] = prob
        frame["distance"] = distance
        return frame

    def diversity(self) -> pd.DataFrame:
        """Richness (observed and Chao1), Shannon entropy and Gini-Simpson
        index of the distinct input sequences and of the fitted clonotypes
        (their estimated reads, rounded for Chao1's singletons and doubletons)."""
        self._check_fitted()
        before = diversity(self.table_.counts)
        after = diversity(self._data.counts.sum() * self.weights_)
        return pd.DataFrame([before, after], index=["sequences", "clonotypes"])

    # -- uncertainty -------------------------------------------------------------------
    def share_standard_errors(self) -> np.ndarray:
        """Standard errors of the clonotype shares from the observed
        information of the weights with the error model held at its estimate
        (:class:`~latentlab.em.sparse_simplex.SparseSimplexInformation`: the
        log-likelihood ``sum_i n_i log sum_c w_c P_ic``, block diagonal over
        groups of clonotypes that share a sequence, with the constraint
        ``sum w = 1``); for a clonotype sharing no sequence it reduces to the
        multinomial ``w (1 - w) / N``."""
        self._check_fitted()
        if getattr(self, "_share_se", None) is None:
            self._share_se = _share_standard_errors(self._data, self.result_.params)
        return self._share_se

    def error_covariance(self) -> np.ndarray:
        """Covariance of the error parameters (``error_rate`` for the uniform
        model; the 12 off-diagonal rates, row by row, for the matrix model)
        from the numerical Hessian of the log-likelihood with the weights held
        at their estimates. A rate estimated as 0 (no error of that kind seen)
        is on the boundary: NaN, with a :class:`~latentlab.BoundaryWarning`."""
        self._check_fitted()
        params, data, model = self.result_.params, self._data, self.model_
        u = _error_vector(params, self.error_model, self._composition())
        free = u > 0
        cov = np.full((u.size, u.size), np.nan)
        if not free.all():
            warnings.warn(f"ClonotypeEM: {int((~free).sum())} error rate(s) estimated as 0, on the boundary; "
                          "no Wald standard error for these", BoundaryWarning, stacklevel=user_stacklevel())
        if free.any():

            def loglik(v):
                x = u.copy()
                x[free] = v
                return model.loglik(data, _with_errors(params, x, self.error_model))

            cov[np.ix_(free, free)] = np.linalg.inv(-numerical_hessian(loglik, u[free]))
        return cov

    def summary(self, level: float = 0.95) -> pd.DataFrame:
        """The error parameters, then each clonotype's share, with standard
        errors (error parameters: :meth:`error_covariance`; shares:
        :meth:`share_standard_errors`) and Wald intervals at ``level`` on the
        logit (rates) and log (shares) scales."""
        self._check_fitted()
        check_level(level)
        params = self.result_.params
        err = _error_vector(params, self.error_model, self._composition())
        err_se = np.sqrt(np.diag(self.error_covariance()))
        names = ["error_rate"] if self.error_model == "uniform" else [
            f"substitution[{a}>{b}]" for a in ALPHABET for b in ALPHABET if a != b]
        if not self.rows_.identity:
            names = [f"{name}[{label}]" for label in self.rows_.labels for name in names]
        est = np.concatenate([err, params.weights])
        se = np.concatenate([err_se, self.share_standard_errors()])
        scales = ["logit"] * err.size + ["log"] * params.weights.size
        lo, hi = wald_intervals(est, se, scales, level)
        labels = names + [f"share[{s}]" for s in self.table_.text[self.centres_]]
        return pd.DataFrame(dict(zip(SUMMARY_COLUMNS, [labels, est, se, lo, hi])))

    def _composition(self) -> np.ndarray:
        return _composition(self.table_, self.centres_)

    @property
    def covariance_method_(self) -> str:
        return "observed information of the shares (errors held) and numerical Hessian of the errors (shares held)"

    @property
    def n_parameters_(self) -> int:
        self._check_fitted()
        per_class = 1 if self.error_model == "uniform" else 12
        return self.weights_.size - 1 + per_class * self.rows_.n_classes


def _most_abundant_per_length(table: SequenceTable) -> np.ndarray:
    return np.array(sorted(ids[np.argmax(table.counts[ids])] for ids, _ in table.groups.values()), dtype=np.int64)


@dataclass(frozen=True)
class _Rounds:
    """A round's data: the rows within reach of a clonotype (for EM), the
    same by distinct sequence (for the abundance test), which input rows and
    which sequences those are."""

    rows: PairData
    by_sequence: PairData
    kept_rows: np.ndarray
    sequences: np.ndarray


def _pair_data(table: SequenceTable, rows: QualityRows, centres: np.ndarray, pairs) -> _Rounds:
    """The :class:`PairData` of the current clonotypes, by row and by sequence."""
    pair_centre_seq, pair_read, tables = pairs
    centre_pos = np.empty(table.n_sequences, dtype=np.int64)
    centre_pos[centres] = np.arange(centres.size)
    order = np.argsort(pair_read, kind="stable")
    assigned, starts, sizes = np.unique(pair_read[order], return_index=True, return_counts=True)
    centre, tables = centre_pos[pair_centre_seq[order]], tables[order]
    by_sequence = PairData(table.counts[assigned], np.zeros(assigned.size, dtype=np.int64), 1, _ptr(sizes), centre,
                           tables, table.counts[centres])
    if rows.identity:
        return _Rounds(by_sequence, by_sequence, assigned, assigned)
    pos = np.minimum(np.searchsorted(assigned, rows.sequence), assigned.size - 1)
    kept = np.flatnonzero(assigned[pos] == rows.sequence)
    row_sizes = sizes[pos[kept]]
    ptr = _ptr(row_sizes)
    take = np.repeat(starts[pos[kept]] - ptr[:-1], row_sizes) + np.arange(ptr[-1])
    by_row = PairData(rows.counts[kept], rows.classes[kept], rows.n_classes, ptr, centre[take], tables[take],
                      table.counts[centres])
    return _Rounds(by_row, by_sequence, kept, assigned)


def _ptr(sizes: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)


def _round_row(round_, table, data: PairData, centres, result, n_new) -> dict:
    reads = np.bincount(data.classes, weights=data.counts, minlength=data.n_classes)
    rates = error_rates(result.params.substitution, _composition(table, centres))
    return {
        "round": round_,
        "clonotypes": centres.size,
        "loglik": result.loglik,
        "error_rate": float(reads @ rates / reads.sum()),
        "e_steps": result.n_evals,
        "added": n_new,
    }


def _composition(table: SequenceTable, centres: np.ndarray) -> np.ndarray:
    """Base composition (A, C, G, T counts) of the clonotypes' sequences."""
    return np.bincount(np.concatenate([table.codes_of(c) for c in centres]), minlength=5)[:4]


def _pair_terms(data: PairData, params: ClonotypeParams):
    """Per pair: ``log P_ic`` and ``log w_c P_ic``; per row: ``log f_i``
    (``f_i = sum_c w_c P_ic``); and the row of each pair."""
    size = np.diff(data.ptr)
    row = np.repeat(np.arange(size.size), size)
    log_q = np.log(np.maximum(params.substitution, 1e-300)).reshape(-1, 16)
    log_p = np.einsum("pk,pk->p", data.tables.astype(float), log_q[data.classes[row]])
    with np.errstate(divide="ignore"):
        joint = log_p + np.log(params.weights)[data.centre]
    top = np.maximum.reduceat(joint, data.ptr[:-1])
    log_f = top + np.log(np.add.reduceat(np.exp(joint - top[row]), data.ptr[:-1]))
    return log_p, joint, log_f, row


def _posterior_parents(data: PairData, params: ClonotypeParams):
    """Each assigned sequence's most probable clonotype, its posterior
    probability and its Hamming distance (mismatches among A/C/G/T)."""
    _, joint, log_f, row = _pair_terms(data, params)
    posterior = np.exp(joint - log_f[row])
    best = np.lexsort((-posterior, row))  # per sequence, its most probable pair first
    first = best[np.searchsorted(row[best], np.arange(log_f.size))]
    mismatches = data.tables[first][:, _OFF].sum(axis=1)
    return data.centre[first], posterior[first], mismatches


_OFF = ~np.eye(4, dtype=bool).ravel()


def _share_standard_errors(data: PairData, params: ClonotypeParams) -> np.ndarray:
    log_p, _, log_f, row = _pair_terms(data, params)
    g = np.exp(log_p - log_f[row]) * np.sqrt(data.counts[row])
    G = sparse.csr_matrix((g, (row, data.centre)), shape=(log_f.size, data.n_centres))
    return np.sqrt(SparseSimplexInformation(G).variances())


def _error_vector(params: ClonotypeParams, error_model: str, composition) -> np.ndarray:
    """The free error parameters: each class's rate (uniform) or its 12
    off-diagonal rates, row by row (matrix)."""
    q = params.substitution
    if error_model == "uniform":
        return error_rates(q, composition)
    return q[:, ~np.eye(4, dtype=bool)].ravel()


def _with_errors(params: ClonotypeParams, u: np.ndarray, error_model: str) -> ClonotypeParams:
    if error_model == "uniform":
        return ClonotypeParams(params.weights, uniform_substitution(u))
    q = np.zeros(params.substitution.shape)
    q[:, ~np.eye(4, dtype=bool)] = u.reshape(q.shape[0], 12)
    q[:, np.eye(4, dtype=bool)] = 1.0 - q.sum(axis=2)
    return ClonotypeParams(params.weights, q)
