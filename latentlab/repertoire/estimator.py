"""``ClonotypeEM``: clonotype abundances and error rates from a table of
distinct receptor sequences with read counts."""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from scipy.stats import binom

from .._validation import check_level
from .._warn import user_stacklevel
from ..em import EMEstimator
from ..em.estimator import SUMMARY_COLUMNS
from ..em.inference import numerical_hessian, wald_intervals
from ..em.settings import check_int, engine_defaults
from ..exceptions import BoundaryWarning, ConvergenceWarning
from .diversity import diversity
from .model import ERROR_MODELS, ClonotypeMixtureModel, ClonotypeParams, PairData, error_rate, uniform_substitution
from .neighbours import HammingIndex
from .selection import abundance_log_pvalues, greedy_batch
from .sequences import ALPHABET, SequenceTable

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
        ``"matrix"`` (a 4 x 4 substitution matrix, 12 rates).
    max_rounds : partitioning rounds before the fit stops with a warning.
    tol, max_iter, n_init, accelerate, random_state, progress : passed to
        :func:`latentlab.em.fit_em` for the fit of each round.

    Attributes (after ``fit``)
    --------------------------
    clonotypes_ : DataFrame, one row per clonotype (largest first): sequence,
        observed reads of that exact sequence, estimated reads, share,
        standard error of the share and a 95% interval for the reads.
    assignments_ : DataFrame, one row per distinct input sequence: its count,
        posterior parent clonotype, the posterior probability of that parent,
        and the Hamming distance to it (unassigned sequences have no parent).
    error_rate_ : fitted probability that a base is misread.
    substitution_ : the fitted 4 x 4 substitution matrix (rows: true base).
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

    # -- fitting ---------------------------------------------------------------------
    def fit(self, sequences, counts) -> ClonotypeEM:
        """Fit to distinct ``sequences`` (strings of A, C, G, T, N; any
        lengths) observed ``counts`` times (reads, or UMIs for molecule
        counts)."""
        self._check_settings()
        table = SequenceTable.from_sequences(sequences, counts)
        index = HammingIndex(table, self.max_distance)
        model = ClonotypeMixtureModel(self.error_model)
        centres = _most_abundant_per_length(table)
        pairs = index.pairs(centres)
        params, rounds = None, []
        for round_ in range(1, self.max_rounds + 1):
            data, assigned = _pair_data(table, centres, pairs)
            params = self._fit_round(model, data, centres, params)
            new = self._significant(table, index, model, data, assigned, centres, params)
            rounds.append(_round_row(round_, table, centres, self.result_, new.size))
            if new.size == 0:
                break
            centres = np.concatenate([centres, new])
            new_pairs = index.pairs(new)
            pairs = tuple(np.concatenate([a, b]) for a, b in zip(pairs, new_pairs))
        else:
            warnings.warn(f"ClonotypeEM: still adding clonotypes after max_rounds={self.max_rounds} rounds; "
                          f"the set is incomplete (raise max_rounds)", ConvergenceWarning, stacklevel=user_stacklevel())
        self._store(table, centres, data, assigned, params, pd.DataFrame(rounds))
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

    def _significant(self, table, index, model, data, assigned, centres, params) -> np.ndarray:
        """This round's new clonotypes: significant sequences (module
        :mod:`~latentlab.repertoire.selection`), most significant first, none
        within reach of another taken this round."""
        expected = np.zeros(table.n_sequences)
        expected[assigned] = data.counts.sum() * np.exp(model.log_sequence_probs(data, params))
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
    def _store(self, table, centres, data, assigned, params, rounds) -> None:
        self.table_ = table
        self.centres_ = centres
        self._assigned = assigned
        self.substitution_ = params.substitution
        self.error_rate_ = error_rate(params.substitution, _composition(table, centres))
        self.unassigned_reads_ = float(table.counts.sum() - data.counts.sum())
        self.rounds_ = rounds
        self.weights_ = params.weights
        self._warn_reach(table)

    def _warn_reach(self, table) -> None:
        """Warn when the fitted error rate puts more than 0.1% of reads beyond
        ``max_distance`` (they would be left unassigned or called)."""
        length = np.average(table.lengths, weights=table.counts)
        beyond = binom.sf(self.max_distance, int(round(length)), self.error_rate_)
        if beyond > 1e-3:
            warnings.warn(
                f"ClonotypeEM: with the fitted error rate {self.error_rate_:.4g} and mean length {length:.0f}, "
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
        table, data = self.table_, self._data
        parent = np.full(table.n_sequences, -1)
        prob = np.full(table.n_sequences, np.nan)
        distance = np.full(table.n_sequences, -1)
        best, best_prob, best_distance = _posterior_parents(data, self.result_.params)
        parent[self._assigned], prob[self._assigned], distance[self._assigned] = best, best_prob, best_distance
        seq = table.text[self.centres_]
        return pd.DataFrame({
            "sequence": table.text,
            "count": table.counts,
            "parent": np.where(parent >= 0, seq[np.maximum(parent, 0)], None),
            "posterior": prob,
            "distance": distance,
        })

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
        information of the weights with the error model held at its estimate.

        The log-likelihood is ``sum_i n_i log f_i`` with ``f_i = sum_c w_c P_ic``,
        so the information of the weights is ``I = sum_i n_i g_i g_i^T``,
        ``g_ic = P_ic / f_i``: block diagonal over groups of clonotypes that
        share a sequence. With the constraint ``sum w = 1`` (Aitchison &
        Silvey 1958) the covariance is ``I^-1 - a a^T / (1^T a)``,
        ``a = I^-1 1``; for a clonotype sharing no sequence it reduces to the
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
        u = _error_vector(params, self.error_model)
        free = u > 0
        cov = np.full((u.size, u.size), np.nan)
        if not free.all():
            warnings.warn(f"ClonotypeEM: {int((~free).sum())} error rate(s) estimated as 0, on the boundary; "
                          "no Wald standard error for these", BoundaryWarning, stacklevel=user_stacklevel())
        if free.any():

            def loglik(v):
                x = u.copy()
                x[free] = v
                return model.loglik(data, _with_errors(params, x))

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
        err = _error_vector(params, self.error_model)
        err_se = np.sqrt(np.diag(self.error_covariance()))
        names = ["error_rate"] if self.error_model == "uniform" else [
            f"substitution[{a}>{b}]" for a in ALPHABET for b in ALPHABET if a != b]
        est = np.concatenate([err, params.weights])
        se = np.concatenate([err_se, self.share_standard_errors()])
        scales = ["logit"] * err.size + ["log"] * params.weights.size
        lo, hi = wald_intervals(est, se, scales, level)
        labels = names + [f"share[{s}]" for s in self.table_.text[self.centres_]]
        return pd.DataFrame(dict(zip(SUMMARY_COLUMNS, [labels, est, se, lo, hi])))

    @property
    def covariance_method_(self) -> str:
        return "observed information of the shares (errors held) and numerical Hessian of the errors (shares held)"

    @property
    def n_parameters_(self) -> int:
        self._check_fitted()
        return self.weights_.size - 1 + (1 if self.error_model == "uniform" else 12)


def _most_abundant_per_length(table: SequenceTable) -> np.ndarray:
    return np.array(sorted(ids[np.argmax(table.counts[ids])] for ids, _ in table.groups.values()), dtype=np.int64)


def _pair_data(table: SequenceTable, centres: np.ndarray, pairs) -> tuple[PairData, np.ndarray]:
    """The :class:`PairData` of the current clonotypes: the sequences within
    reach of at least one (``assigned``, their indices in ``table``)."""
    pair_centre_seq, pair_read, tables = pairs
    centre_pos = np.empty(table.n_sequences, dtype=np.int64)
    centre_pos[centres] = np.arange(centres.size)
    order = np.argsort(pair_read, kind="stable")
    reads = pair_read[order]
    assigned, starts = np.unique(reads, return_index=True)
    ptr = np.append(starts, reads.size).astype(np.int64)
    data = PairData(table.counts[assigned], ptr, centre_pos[pair_centre_seq[order]], tables[order], table.counts[centres])
    return data, assigned


def _round_row(round_, table, centres, result, n_new) -> dict:
    return {
        "round": round_,
        "clonotypes": centres.size,
        "loglik": result.loglik,
        "error_rate": error_rate(result.params.substitution, _composition(table, centres)),
        "e_steps": result.n_evals,
        "added": n_new,
    }


def _composition(table: SequenceTable, centres: np.ndarray) -> np.ndarray:
    """Base composition (A, C, G, T counts) of the clonotypes' sequences."""
    return np.bincount(np.concatenate([table.codes_of(c) for c in centres]), minlength=5)[:4]


def _pair_terms(data: PairData, params: ClonotypeParams):
    """Per pair: ``log P_ic`` and ``log w_c P_ic``; per sequence: ``log f_i``
    (``f_i = sum_c w_c P_ic``); and the sequence of each pair."""
    log_p = data.tables.astype(float) @ np.log(np.maximum(params.substitution, 1e-300)).ravel()
    with np.errstate(divide="ignore"):
        joint = log_p + np.log(params.weights)[data.centre]
    size = np.diff(data.ptr)
    row = np.repeat(np.arange(size.size), size)
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
    info = (G.T @ G).tocsr()
    n_comp, label = connected_components(info, directed=False)
    inv_diag = 1.0 / info.diagonal()
    a = inv_diag.copy()
    for comp in _components(label, n_comp):
        inv = np.linalg.inv(info[comp][:, comp].toarray())
        inv_diag[comp] = np.diag(inv)
        a[comp] = inv.sum(axis=1)
    var = inv_diag - a ** 2 / a.sum()
    return np.sqrt(np.maximum(var, 0.0))


def _components(label: np.ndarray, n_comp: int):
    """The members of each connected component with more than one member."""
    order = np.argsort(label, kind="stable")
    bounds = np.searchsorted(label[order], np.arange(n_comp + 1))
    for k in np.flatnonzero(np.diff(bounds) > 1):
        yield order[bounds[k]:bounds[k + 1]]


def _error_vector(params: ClonotypeParams, error_model: str) -> np.ndarray:
    q = params.substitution
    if error_model == "uniform":
        return np.array([error_rate(q)])
    return q[~np.eye(4, dtype=bool)]


def _with_errors(params: ClonotypeParams, u: np.ndarray) -> ClonotypeParams:
    if u.size == 1:
        return ClonotypeParams(params.weights, uniform_substitution(u[0]))
    q = np.zeros((4, 4))
    q[~np.eye(4, dtype=bool)] = u
    q[np.eye(4, dtype=bool)] = 1.0 - q.sum(axis=1)
    return ClonotypeParams(params.weights, q)
