"""``TranscriptQuantifier``: transcript abundances from equivalence classes,
with standard errors, bootstrap and gene-level totals."""

from __future__ import annotations

import numbers
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
from scipy import sparse

from .._validation import check_level
from .._warn import user_stacklevel
from ..em import EMEstimator, as_generator, fit_em
from ..em.estimator import SUMMARY_COLUMNS
from ..em.inference import wald_intervals
from ..em.partitions import PartitionedModel, Partitions, active_client
from ..em.settings import check_int, check_random_state, engine_defaults
from ..em.sparse_simplex import SparseSimplexInformation
from .classes import EquivalenceClasses
from .model import TranscriptMixtureModel, class_terms

__all__ = ["TranscriptQuantifier", "QUANT_COLUMNS"]

#: engine settings: SQUAREM (plain EM over many overlapping isoforms needs
#: thousands of E-steps, SQUAREM about 6x fewer: benchmarks/transcripts.py);
#: tol 1e-10, since the log-likelihood sums millions of fragments: at 1e-8
#: the fit of 3e7 fragments stops 10 log-units short, at 1e-10 every
#: transcript is within 0.3 standard errors (99.9% within 0.05) of a 1e-13
#: fit (measured on the benchmark's 200,000 transcripts); max_iter 10000
_ENGINE = engine_defaults(accelerate="squarem", tol=1e-10, max_iter=10_000)

#: the columns of salmon's quant.sf, in its order
QUANT_COLUMNS = ["Name", "Length", "EffectiveLength", "TPM", "NumReads"]


class TranscriptQuantifier(EMEstimator):
    """Transcript abundances by EM over equivalence classes.

    Parameters
    ----------
    min_reads : estimated fragments below this are reported as 0 (default
        1e-8: the field's convention; salmon truncates estimated reads below
        1e-8 after its EM and kallisto below 1e-8 (``alpha_limit / 10``); EM
        only approaches a zero at the boundary and would otherwise report
        vanishing positive numbers).
    tol, max_iter, n_init, accelerate, random_state, progress : passed to
        :func:`latentlab.em.fit_em`.

    Attributes (after ``fit``)
    --------------------------
    fractions_ : fragment fraction of each transcript (after ``min_reads``).
    quant_ : DataFrame like salmon's ``quant.sf`` (Name, Length,
        EffectiveLength, TPM, NumReads) with standard errors and 95% intervals
        of NumReads and TPM (:meth:`standard_errors`).
    genes_ : DataFrame of gene totals (NumReads, TPM, with intervals), when
        ``fit`` was given a transcript-to-gene table.
    unidentifiable_ : groups of transcripts with identical compatibility
        patterns (each group's total is estimated; its split is not).

    Example
    -------
    >>> from latentlab.transcripts import TranscriptQuantifier, simulate_equivalence_classes
    >>> sim = simulate_equivalence_classes(n_genes=20, n_fragments=50_000, random_state=0)
    >>> fit = TranscriptQuantifier().fit(sim.classes, sim.transcriptome.tx2gene())
    >>> fit.quant_.columns[:5].tolist()
    ['Name', 'Length', 'EffectiveLength', 'TPM', 'NumReads']
    """

    def __init__(
        self,
        min_reads: float = 1e-8,
        *,
        tol: float = _ENGINE["tol"],
        max_iter: int = _ENGINE["max_iter"],
        n_init: int = _ENGINE["n_init"],
        accelerate: str | None = _ENGINE["accelerate"],
        random_state=None,
        progress: bool | None = _ENGINE["progress"],
    ):
        self.min_reads = min_reads
        self._set_engine_settings(
            tol=tol, max_iter=max_iter, n_init=n_init,
            accelerate=accelerate, random_state=random_state, progress=progress,
        )

    # -- fitting ---------------------------------------------------------------------------
    def fit(self, classes: EquivalenceClasses, tx2gene=None) -> TranscriptQuantifier:
        """Fit to ``classes`` (an :class:`EquivalenceClasses`, e.g. from
        :func:`read_salmon_eq_classes` or :func:`simulate_equivalence_classes`),
        or to a list of them over the same transcripts (partitions, e.g.
        ``classes.split(k)``): their E-steps then run where they live, on the
        active ``dask.distributed`` client (scattered once) or in this
        process, and the fit equals the fit of the whole from the same start;
        the tables and standard errors are computed here from all classes.
        ``tx2gene``: a table of transcript and gene (DataFrame with columns
        ``transcript`` and ``gene``, or a mapping); every transcript must
        have a gene (extra entries are ignored)."""
        parts = None
        if isinstance(classes, (list, tuple)) and classes:
            parts, classes = classes, EquivalenceClasses.concatenate(classes)
        if not isinstance(classes, EquivalenceClasses):
            raise TypeError(f"classes must be an EquivalenceClasses or a list of them; got {type(classes).__name__}")
        if isinstance(self.min_reads, bool) or not isinstance(self.min_reads, numbers.Real) \
                or not (np.isfinite(self.min_reads) and self.min_reads >= 0):
            raise ValueError(f"min_reads must be a finite number >= 0; got {self.min_reads!r}")
        if classes.n_fragments <= 0:
            raise ValueError("classes hold no fragment (every count is 0)")
        genes = None if tx2gene is None else _genes_of(classes.transcripts, tx2gene)
        model = TranscriptMixtureModel()
        if parts is None:
            result = self._fit_em(model, model.data(classes), n_obs=classes.n_fragments)
        else:  # E-steps where the partitions live (latentlab.em.partitions)
            data = Partitions([model.data(p) for p in parts], client=active_client())
            result = self._fit_em(PartitionedModel(model), data, n_obs=classes.n_fragments)
        reads = classes.n_fragments * result.params.fractions
        reads[reads < self.min_reads] = 0.0
        if reads.sum() <= 0:
            raise ValueError(f"every estimate is below min_reads={self.min_reads!r}; lower it")
        self.classes_ = classes
        self.fractions_ = reads / reads.sum()
        self.gene_of_ = genes
        self._information = None
        self.unidentifiable_ = _identical_patterns(classes)
        if self.unidentifiable_:
            sizes = sum(len(g) for g in self.unidentifiable_)
            warnings.warn(
                f"TranscriptQuantifier: {sizes} transcripts in {len(self.unidentifiable_)} groups have identical "
                "compatibility patterns (e.g. " + ", ".join(self.unidentifiable_[0]) + "): the data identify each "
                "group's total, not its split, and its members get no standard error (see unidentifiable_)",
                UserWarning, stacklevel=user_stacklevel(),
            )
        return self

    # -- results ------------------------------------------------------------------------------
    @property
    def reads_(self) -> np.ndarray:
        """Estimated fragments (NumReads) of each transcript."""
        self._check_fitted()
        return self.classes_.n_fragments * self.fractions_

    @property
    def tpm_(self) -> np.ndarray:
        """Transcripts per million: ``10^6 (a_t / l_t) / sum_u (a_u / l_u)``."""
        self._check_fitted()
        x = self.fractions_ / self.classes_.effective_lengths
        return 1e6 * x / x.sum()

    @property
    def quant_(self) -> pd.DataFrame:
        self._check_fitted()
        c = self.classes_
        lengths = c.lengths if c.lengths is not None else np.full(c.n_transcripts, np.nan)
        frame = pd.DataFrame({"Name": c.transcripts, "Length": lengths, "EffectiveLength": c.effective_lengths,
                              "TPM": self.tpm_, "NumReads": self.reads_})
        se = self.standard_errors()
        for col in ("NumReads", "TPM"):
            lo, hi = wald_intervals(frame[col].to_numpy(), se[col].to_numpy(), ["log"] * len(frame), 0.95)
            frame[f"{col}_se"], frame[f"{col}_lower"], frame[f"{col}_upper"] = se[col].to_numpy(), lo, hi
        return frame

    @property
    def genes_(self) -> pd.DataFrame:
        self._check_fitted()
        if self.gene_of_ is None:
            raise AttributeError("genes_ needs a transcript-to-gene table: fit(classes, tx2gene)")
        names, index = np.unique(self.gene_of_, return_inverse=True)
        S = sparse.csc_matrix((np.ones(index.size), (np.arange(index.size), index)), shape=(index.size, names.size))
        reads = S.T @ self.reads_
        tpm = S.T @ self.tpm_
        se = self._linear_standard_errors(S)
        frame = pd.DataFrame({"gene": names, "transcripts": np.bincount(index), "TPM": tpm, "NumReads": reads})
        for col in ("NumReads", "TPM"):
            lo, hi = wald_intervals(frame[col].to_numpy(), se[col], ["log"] * len(frame), 0.95)
            frame[f"{col}_se"], frame[f"{col}_lower"], frame[f"{col}_upper"] = se[col], lo, hi
        return frame

    def write_quant(self, path) -> None:
        """Write :attr:`quant_` as a tab-separated file: salmon's ``quant.sf``
        columns first, then the standard errors and intervals."""
        self.quant_.to_csv(path, sep="\t", index=False, float_format="%.8g")

    # -- uncertainty ---------------------------------------------------------------------------
    def _info(self) -> SparseSimplexInformation:
        """The observed information of the fractions (module
        :mod:`latentlab.em.sparse_simplex`): ``I = sum_j n_j g_j g_j^T``,
        ``g_jt = c_jt / f_j``; transcripts estimated at 0 are held out, and a
        group with identical patterns is a singular block (no SE for its
        members; its total still counts in gene totals)."""
        if self._information is None:
            c = self.classes_
            terms = class_terms(c)
            a = self.fractions_
            row = np.repeat(np.arange(c.n_classes), np.diff(c.ptr))
            f = np.bincount(row, weights=a[c.members] * terms, minlength=c.n_classes)
            keep = c.counts[row] > 0
            g = np.sqrt(c.counts[row[keep]]) * terms[keep] / f[row[keep]]
            G = sparse.csr_matrix((g, (row[keep], c.members[keep])), shape=(c.n_classes, c.n_transcripts))
            self._information = SparseSimplexInformation(G, a > 0)  # identical patterns: a singular block
        return self._information

    def standard_errors(self) -> pd.DataFrame:
        """Standard errors of NumReads (``N * sd(a_t)``) and TPM (delta
        method) from the observed information of the fractions, with the
        constraint that they sum to 1. NaN for a transcript estimated at 0
        (on the boundary, no Wald interval) or not identifiable."""
        self._check_fitted()
        info = self._info()
        n, eff = self.classes_.n_fragments, self.classes_.effective_lengths
        var_a = info.variances()
        v = 1.0 / eff
        sigma_v = info.covariance_with(v)
        x = self.fractions_ * v
        d = x.sum()
        tau = x / d
        var_tpm = (1e6 / d) ** 2 * (var_a * v ** 2 - 2 * tau * sigma_v * v + tau ** 2 * (v @ sigma_v))
        return pd.DataFrame({"Name": self.classes_.transcripts, "NumReads": n * np.sqrt(var_a),
                             "TPM": np.sqrt(np.maximum(var_tpm, 0.0))})

    def _linear_standard_errors(self, S) -> dict:
        """Standard errors of summed NumReads and TPM over the columns of
        ``S`` (transcripts x groups, 0/1)."""
        info = self._info()
        n, v = self.classes_.n_fragments, 1.0 / self.classes_.effective_lengths
        x = self.fractions_ * v
        d = x.sum()
        tau = S.T @ (x / d)
        Sv = sparse.csc_matrix(S.multiply(v[:, None]))
        var_tpm = (1e6 / d) ** 2 * (info.quadratic(Sv) - 2 * tau * (Sv.T @ info.covariance_with(v))
                                    + tau ** 2 * (v @ info.covariance_with(v)))
        return {"NumReads": n * np.sqrt(info.quadratic(S)), "TPM": np.sqrt(np.maximum(var_tpm, 0.0))}

    def bootstrap(self, n_bootstrap: int = 100, n_jobs: int = 1, random_state=None) -> pd.DataFrame:
        """NumReads of ``n_bootstrap`` refits to class counts resampled as
        kallisto does (``Multinomial(N, n / N)`` over the classes), each from
        a fresh start; ``n_jobs`` threads (the E-step releases the GIL).
        Returns a (bootstrap x transcript) DataFrame; its column standard
        deviations are the bootstrap standard errors."""
        self._check_fitted()
        n_bootstrap = check_int(n_bootstrap, "n_bootstrap", 2)
        n_jobs = check_int(n_jobs, "n_jobs", 1)
        check_random_state(random_state)
        c = self.classes_
        streams = as_generator(random_state).spawn(n_bootstrap)
        settings = {**self._engine_settings(), "progress": False, "n_init": 1}
        model = TranscriptMixtureModel()
        data = model.data(c)
        p = c.counts / c.n_fragments

        def one(rng):
            counts = rng.multinomial(int(round(c.n_fragments)), p)
            res = fit_em(model, data.with_counts(counts), **{**settings, "random_state": rng})
            return counts.sum() * res.params.fractions

        with ThreadPoolExecutor(max_workers=n_jobs) as pool:
            rows = list(pool.map(one, streams))
        return pd.DataFrame(np.array(rows), columns=c.transcripts)

    # -- plots -------------------------------------------------------------------------------------
    def plot_against(self, other, label: str = "truth", ax=None):
        """Estimated NumReads (with 95% intervals) against ``other`` (true
        counts, or another tool's estimates: an array in transcript order or
        a Series indexed by transcript name), log-log; returns the axes."""
        import matplotlib.pyplot as plt

        self._check_fitted()
        q = self.quant_
        x = other.reindex(q["Name"]).to_numpy(float) if isinstance(other, pd.Series) else np.asarray(other, float)
        if x.shape != (len(q),):
            raise ValueError(f"other must hold one value per transcript ({len(q)}); got shape {x.shape}")
        ax = plt.subplots(figsize=(5, 5))[1] if ax is None else ax
        y = q["NumReads"].to_numpy()
        shown = (x > 0) & (y > 0)
        err = np.vstack([y - q["NumReads_lower"], q["NumReads_upper"] - y])[:, shown]
        err = np.where(np.isfinite(err), err, 0.0)  # no interval (boundary, unidentifiable): a bare point
        ax.errorbar(x[shown], y[shown], yerr=err, fmt=".", ms=3, lw=0.5, alpha=0.6)
        lim = [min(x[shown].min(), y[shown].min()) * 0.8, max(x[shown].max(), y[shown].max()) * 1.2]
        ax.plot(lim, lim, "k-", lw=0.7)
        ax.set(xscale="log", yscale="log", xlabel=label, ylabel="estimated reads (95% interval)")
        return ax

    def plot_uncertainty(self, ax=None):
        """Relative standard error of NumReads against NumReads: where the
        data pin transcripts down and where shared exons leave them loose."""
        import matplotlib.pyplot as plt

        self._check_fitted()
        q = self.quant_
        ok = (q["NumReads"] > 0) & q["NumReads_se"].notna()
        ax = plt.subplots(figsize=(5, 4))[1] if ax is None else ax
        ax.loglog(q.loc[ok, "NumReads"], q.loc[ok, "NumReads_se"] / q.loc[ok, "NumReads"], ".", ms=3, label="EM")
        n = np.logspace(np.log10(q.loc[ok, "NumReads"].min()), np.log10(q.loc[ok, "NumReads"].max()), 50)
        ax.loglog(n, 1 / np.sqrt(n), "k--", lw=0.8, label="Poisson, 1 / sqrt(reads)")
        ax.set(xlabel="estimated reads", ylabel="relative standard error")
        ax.legend(frameon=False)
        return ax

    # -- conventions ---------------------------------------------------------------------------
    def summary(self, level: float = 0.95) -> pd.DataFrame:
        """Each transcript's fragment fraction with its standard error and a
        Wald interval at ``level`` (log scale)."""
        self._check_fitted()
        check_level(level)
        se = self.standard_errors()["NumReads"].to_numpy() / self.classes_.n_fragments
        lo, hi = wald_intervals(self.fractions_, se, ["log"] * se.size, level)
        labels = [f"fraction[{t}]" for t in self.classes_.transcripts]
        return pd.DataFrame(dict(zip(SUMMARY_COLUMNS, [labels, self.fractions_, se, lo, hi])))

    @property
    def covariance_method_(self) -> str:
        return "observed information of the fractions (block-sparse, on the simplex)"

    @property
    def n_parameters_(self) -> int:
        self._check_fitted()
        return int(np.count_nonzero(self.fractions_)) - 1


def _genes_of(transcripts: np.ndarray, tx2gene) -> np.ndarray:
    if isinstance(tx2gene, pd.DataFrame):
        if not {"transcript", "gene"} <= set(tx2gene.columns):
            raise ValueError(f"tx2gene must have columns 'transcript' and 'gene'; got {list(tx2gene.columns)}")
        mapping = dict(zip(tx2gene["transcript"].astype(str), tx2gene["gene"].astype(str)))
    elif isinstance(tx2gene, (dict, pd.Series)):
        mapping = {str(k): str(v) for k, v in dict(tx2gene).items()}
    else:
        raise TypeError(f"tx2gene must be a DataFrame (transcript, gene) or a mapping; got {type(tx2gene).__name__}")
    missing = [t for t in transcripts if t not in mapping]
    if missing:
        raise ValueError(f"tx2gene has no gene for {len(missing)} transcripts, e.g. {missing[:3]}")
    return np.array([mapping[t] for t in transcripts], dtype=object)


def _identical_patterns(classes: EquivalenceClasses) -> list:
    """Groups of two or more transcripts that the likelihood cannot tell
    apart: listed in exactly the same classes with fragments, with terms
    ``c_jt`` proportional across those classes (a random projection of each
    transcript's class set, grouped, then checked exactly). Only such a
    group's total is identified by the counts."""
    c = classes
    row = np.repeat(np.arange(c.n_classes), np.diff(c.ptr))
    keep = c.counts[row] > 0
    row, members, terms = row[keep], c.members[keep], class_terms(c)[keep]
    key = np.random.default_rng(0).random(c.n_classes)
    h = np.bincount(members, weights=key[row], minlength=c.n_transcripts)
    n_in = np.bincount(members, minlength=c.n_transcripts)
    listed = np.flatnonzero(n_in > 0)
    order = listed[np.lexsort((h[listed], n_in[listed]))]
    same_key = (np.diff(h[order]) == 0) & (np.diff(n_in[order]) == 0)
    M = sparse.csc_matrix((terms, (row, members)), shape=(c.n_classes, c.n_transcripts))
    out = []
    edges = np.diff(np.concatenate([[False], same_key, [False]]).astype(int))
    for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):  # runs of equal keys
        run = order[a:b + 1]
        first = M[:, run[0]]
        same = [t for t in run if np.array_equal(M[:, t].indices, first.indices)
                and np.allclose(M[:, t].data / M[:, t].data.sum(), first.data / first.data.sum(), rtol=1e-9)]
        if len(same) > 1:
            out.append([str(c.transcripts[t]) for t in sorted(same)])
    return out
