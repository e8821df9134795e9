"""Allele frequencies at one locus by EM (gene counting), from allele pairs
with missing alleles, from phenotypes, or from genotype likelihoods.

The model, its E- and M-steps and the inbreeding option are in
:mod:`latentlab.genetics.allele_model`; how each kind of input becomes a
likelihood over genotypes is in :mod:`latentlab.genetics.observations`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..em import EMEstimator, TestResult
from ..em.settings import engine_defaults
from .allele_model import AlleleFrequencyModel, posterior_genotypes
from .genotypes import allele_content, genotype_labels
from .hardy_weinberg import hwe_exact_test, hwe_lrt
from .observations import Observations, from_allele_pairs, from_likelihoods, from_phenotypes

__all__ = ["AlleleFrequencies"]

#: engine settings: the engine's defaults with tol=1e-10, max_iter=5000 (a tight tol so that the HWE likelihood-ratio test differences two well-converged fits)
_ENGINE = engine_defaults(tol=1e-10, max_iter=5000)


class AlleleFrequencies(EMEstimator):
    """Allele frequencies of one locus under Hardy-Weinberg equilibrium (or
    with an inbreeding coefficient), fitted by EM.

    Parameters
    ----------
    alleles : allele labels in the order wanted (``fit``); default the sorted
        observed labels. A label in the data that is not listed is an error.
    inbreeding : also estimate the inbreeding coefficient ``F`` in ``[0, 1]``
        (genotype probabilities ``(1 - F) p_a^2 + F p_a`` and
        ``2 (1 - F) p_a p_b``).
    tol, max_iter, n_init, accelerate, random_state, progress : passed to
        :func:`latentlab.em.fit_em` (convergence rule there).

    Attributes (after a fit)
    ------------------------
    alleles_ : allele labels.
    frequencies_ : Series of allele frequencies by allele.
    inbreeding_ : estimated ``F`` (``inbreeding=True`` only).
    genotype_frequencies_ : Series of the fitted genotype probabilities.
    information_ : Series counting the individuals by kind of information
        (complete / half_missing / missing; per phenotype; informative / flat
        / missing genotype likelihoods).
    result_, loglik_, n_iter_, converged_ : the engine's record. The
        log-likelihood leaves out individuals without information (a constant).

    Example
    -------
    >>> from latentlab.genetics import AlleleFrequencies
    >>> fit = AlleleFrequencies(random_state=0).fit_phenotypes({"A": 186, "B": 38, "AB": 13, "O": 284})
    >>> fit.frequencies_.round(4).to_dict()
    {'A': 0.2136, 'B': 0.0501, 'O': 0.7363}
    """

    def __init__(
        self,
        alleles=None,
        *,
        inbreeding: bool = False,
        tol: float = _ENGINE["tol"],
        max_iter: int = _ENGINE["max_iter"],
        n_init: int = _ENGINE["n_init"],
        accelerate: str | None = _ENGINE["accelerate"],
        random_state=None,
        progress: bool | None = _ENGINE["progress"],
    ):
        self.alleles = alleles
        self.inbreeding = inbreeding
        self._set_engine_settings(
            tol=tol, max_iter=max_iter, n_init=n_init,
            accelerate=accelerate, random_state=random_state, progress=progress,
        )

    # -- fitting -----------------------------------------------------------------
    def fit(self, genotypes, missing_values=(-1,)) -> AlleleFrequencies:
        """Fit to allele pairs ``(n, 2)``: complete (``a, b``), half-missing
        (``a, None``) and missing (``None, None``) in one call. An allele is
        missing if it is None, NaN or in ``missing_values``."""
        return self._fit(from_allele_pairs(genotypes, self.alleles, missing_values), "genotypes")

    def fit_phenotypes(self, counts, system="ABO") -> AlleleFrequencies:
        """Fit to phenotype counts (mapping or Series phenotype -> count) under
        ``system``: ``"ABO"`` (A = {AA, AO}, B = {BB, BO}, AB = {AB}, O = {OO})
        or a mapping phenotype -> list of allele pairs partitioning the
        genotypes. The system fixes the alleles."""
        obs = from_phenotypes(counts, system)
        if self.alleles is not None and sorted(map(str, self.alleles)) != sorted(map(str, obs.alleles)):
            raise ValueError(f"alleles={self.alleles!r} differ from the phenotype system's alleles {obs.alleles}")
        return self._fit(obs, "phenotypes")

    def fit_likelihoods(self, gl, scale: str = "ln") -> AlleleFrequencies:
        """Fit to genotype likelihoods ``(n, G)`` in VCF genotype order
        (``0/0, 0/1, 1/1, 0/2, ...``) on the ``ln``, ``log10`` (VCF GL) or
        ``phred`` (VCF PL) scale. Rows all NaN are missing individuals."""
        return self._fit(from_likelihoods(gl, scale, self.alleles), "likelihoods")

    def _fit(self, obs: Observations, kind: str) -> AlleleFrequencies:
        if not isinstance(self.inbreeding, bool):
            raise TypeError(f"inbreeding must be True or False; got {self.inbreeding!r}")
        model = AlleleFrequencyModel(len(obs.alleles), self.inbreeding)
        self.observations_ = obs
        self.kind_ = kind
        result = self._fit_em(model, obs.data, n_obs=round(obs.data.weights.sum()))
        self.alleles_ = list(obs.alleles)
        self.frequencies_ = pd.Series(result.params.frequencies, index=self.alleles_, name="frequency")
        self.frequencies_.index.name = "allele"
        if self.inbreeding:
            self.inbreeding_ = float(result.params.inbreeding)
        self.genotype_frequencies_ = pd.Series(
            model.prior(result.params), index=genotype_labels(self.alleles_), name="frequency"
        )
        self.information_ = obs.information
        return self

    def _parameter_labels(self) -> list[str]:
        labels = [f"frequency[{a}]" for a in self.alleles_]
        return labels + (["F"] if self.inbreeding else [])

    # -- results -------------------------------------------------------------------
    def posterior_genotypes(self) -> pd.DataFrame:
        """Posterior genotype probabilities of each individual (rows in input
        order; for phenotype fits, one row per phenotype of the system).
        Individuals without information get the fitted genotype frequencies."""
        self._check_fitted()
        obs = self.observations_
        prior = self.model_.prior(self.result_.params)
        post = posterior_genotypes(obs.data, prior)
        out = np.where(obs.row_of[:, None] >= 0, post[np.maximum(obs.row_of, 0)], prior[None, :])
        index = obs.information.index if self.kind_ == "phenotypes" else None
        return pd.DataFrame(out, columns=genotype_labels(self.alleles_), index=index)

    def genotype_table(self) -> pd.DataFrame:
        """Per genotype: fitted frequency, expected count ``N pi_g`` and the
        EM-imputed count (sum of posterior probabilities) over the ``N``
        individuals with information."""
        self._check_fitted()
        stats, _ = self.model_.e_step(self.observations_.data, self.result_.params)
        n = self.observations_.data.weights.sum()
        return pd.DataFrame(
            {
                "genotype": genotype_labels(self.alleles_),
                "frequency": self.genotype_frequencies_.to_numpy(),
                "expected_count": n * self.genotype_frequencies_.to_numpy(),
                "imputed_count": stats.genotype_counts,
            }
        )

    def em_path(self, n_steps: int = 5, start=None) -> pd.DataFrame:
        """The first ``n_steps`` plain EM iterations from ``start`` (allele
        frequencies; default uniform, ``F = 0.1`` with inbreeding): per
        iteration the log-likelihood at the current point, the E-step's
        expected genotype counts and the M-step's new frequencies."""
        self._check_fitted()
        K = len(self.alleles_)
        freq = np.full(K, 1.0 / K) if start is None else np.asarray(start, dtype=float)
        if freq.shape != (K,) or not self.model_.constraints["frequencies"].is_valid(freq):
            raise ValueError(f"start must be {K} allele frequencies summing to 1; got {start!r}")
        params = self.model_.make_params(freq, 0.1)
        labels = genotype_labels(self.alleles_)
        rows = []
        for it in range(1, n_steps + 1):
            stats, ll = self.model_.e_step(self.observations_.data, params)
            params = self.model_.m_step(stats, params)
            row = {"iteration": it, "loglik": float(ll)}
            row.update({f"E[n {g}]": c for g, c in zip(labels, stats.genotype_counts)})
            row.update({f"p[{a}]": f for a, f in zip(self.alleles_, params.frequencies)})
            if self.inbreeding:
                row["F"] = float(params.inbreeding)
            rows.append(row)
        return pd.DataFrame(rows)

    def allele_counts(self) -> pd.Series:
        """Expected allele copies ``sum_g m_a(g) n_g`` at the fit (EM-imputed)."""
        self._check_fitted()
        stats, _ = self.model_.e_step(self.observations_.data, self.result_.params)
        return pd.Series(stats.genotype_counts @ allele_content(len(self.alleles_)), index=self.alleles_)

    # -- Hardy-Weinberg ------------------------------------------------------------------
    def hwe_test(self, method: str = "lrt") -> TestResult:
        """Test of Hardy-Weinberg equilibrium.

        ``"lrt"``: likelihood ratio against free genotype frequencies (fitted
        by EM on the same data; allele pairs and genotype likelihoods), or
        against free phenotype frequencies (phenotype fits); chi-square with
        ``G - K`` (resp. ``#phenotypes - K``) degrees of freedom.
        ``"exact"``: the exact test of Wigginton, Cutler & Abecasis (2005) on
        the complete genotypes of a biallelic ``fit``.
        """
        self._check_fitted()
        if self.inbreeding:
            raise ValueError("hwe_test compares with the Hardy-Weinberg fit; refit with inbreeding=False")
        if method == "lrt":
            return hwe_lrt(self.observations_, self.kind_, self.loglik_, len(self.alleles_), self.tol)
        if method == "exact":
            return self._exact()
        raise ValueError(f"method must be 'lrt' or 'exact'; got {method!r}")

    def _exact(self) -> TestResult:
        if self.kind_ != "genotypes" or len(self.alleles_) != 2:
            raise ValueError(
                "the exact test needs complete genotypes of a biallelic locus (fit(genotypes) with two alleles); "
                f"this fit is on {self.kind_} with {len(self.alleles_)} alleles"
            )
        data = self.observations_.data
        complete = np.zeros(3)
        for row, w in zip(data.lik, data.weights):
            if np.count_nonzero(row) == 1:
                complete[np.argmax(row)] += w
        n = complete.sum()
        p = (2 * complete[0] + complete[1]) / (2 * n) if n else np.nan
        return TestResult(
            "Hardy-Weinberg equilibrium", "exact", np.nan, np.nan, float(hwe_exact_test(*complete.astype(int))),
            {"n_used": int(n), "n_half_missing_not_used": int(self.information_["half_missing"]),
             "observed_heterozygotes": int(complete[1]), "expected_heterozygotes": 2 * p * (1 - p) * n},
        )
