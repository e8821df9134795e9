"""Genome scans for a quantitative trait locus: interval mapping by EM and
Haley-Knott regression, permutation thresholds, support intervals, effects.

At every position of a grid along the genome, the LOD score compares the
best single-QTL model there with the model without a QTL:

    LOD = (l_1 - l_0) / log(10),

where ``l_1`` is the maximised log-likelihood of the normal mixture of
:mod:`latentlab.qtl.model` (``method="em"``, Lander & Botstein 1989) and
``l_0`` that of the regression on the covariates alone. Haley-Knott regression
(``method="hk"``; Haley & Knott 1992) replaces the mixture by the regression of
the trait on the genotype probabilities: ``LOD = (n/2) log10(RSS_0 / RSS_1)``.

The X chromosome is handled as R/qtl's ``scanone`` handles it: its genotype
classes are split by the groups that carry different classes (males,
females, and in an intercross females by cross direction ``pgm``), and its
null model has one mean per group, so a difference between the sexes is not
taken for a QTL.

Genome-wide thresholds come from permutations (Churchill & Doerge 1994): the
trait (with the covariates, row by row) is shuffled among the individuals, the
whole genome is scanned again, and the ``1 - alpha`` quantile of the maximum
LOD is the threshold at level ``alpha``.

Intervals follow R/qtl: the LOD support interval (``lodint``) runs from the
last position before, to the first position after, the positions whose LOD is
within ``drop`` of the peak; the Bayes credible interval (``bayesint``) takes
``10^LOD`` as a posterior density over the chromosome (Sen & Churchill 2001)
and keeps the highest positions until they hold ``prob`` of it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._compiled_linalg import normal_equations_solve
from .._validation import check_fraction, check_positive_int
from .._warn import user_stacklevel
from ..em import EMEstimator, restart_generators
from ..em.progress import counting
from ..em.settings import check_engine_settings, engine_defaults
from ..exceptions import ConvergenceWarning, MonotonicityError
from ._kernels import em_permutation_maxima, em_scan, hk_scan
from .cross import Cross
from .genoprob import MAP_FUNCTIONS, genotype_probabilities
from .model import IntervalMappingModel, PositionData

__all__ = ["IntervalMapping", "METHODS"]

METHODS = ("em", "hk")
#: engine settings: tol=1e-6 (the LOD is then within about 1e-4 of its maximum for a few hundred individuals, as close as R/qtl's own EM gets, at two-thirds of the E-steps of 1e-8)
_ENGINE = engine_defaults(tol=1e-6)
#: least residual variance of the standardised trait in the scan
_VARIANCE_FLOOR = 1e-10
#: positions per warm-started run of the EM scan (:func:`~latentlab.qtl._kernels.em_scan`)
_SEGMENT = 32
#: permutations per step of the progress bar
_PERMUTATIONS_PER_STEP = 25


@dataclass(frozen=True)
class _Block:
    """Positions that share genotype classes and a null model: the autosomes,
    or the X chromosome. ``probs`` is (positions, classes, individuals);
    ``groups`` the null model's indicator columns (individuals, groups)."""

    chromosome: np.ndarray
    position: np.ndarray
    name: np.ndarray
    is_marker: np.ndarray
    probs: np.ndarray
    groups: np.ndarray
    classes: tuple[str, ...]


class IntervalMapping(EMEstimator):
    """Single-QTL genome scan of one trait in a backcross or intercross.

    Parameters
    ----------
    method : ``"em"`` (interval mapping, the maximum likelihood LOD) or
        ``"hk"`` (Haley-Knott regression, its fast approximation).
    step : grid step in cM between the markers (0: markers only).
    error_prob : genotyping error probability of the genotype HMM.
    map_function : ``"haldane"``, ``"kosambi"`` or ``"morgan"``.
    tol, max_iter : the engine's convergence rule, applied at every position of
        the EM scan and in the fit at the peak.
    n_init, accelerate, random_state, progress : passed to
        :func:`latentlab.em.fit_em` for the fit at the peak; ``random_state``
        and ``progress`` also serve :meth:`permutation_test`.

    Attributes (after ``fit``)
    --------------------------
    lod_ : DataFrame, one row per position: chromosome, position (cM), name,
        is_marker, lod.
    probabilities_ : the genotype probabilities
        (:func:`~latentlab.qtl.genoprob.genotype_probabilities`).
    peak_ : the row of ``lod_`` with the largest LOD.
    result_ : the engine's fit of the QTL model at ``peak_``
        (:meth:`summary` gives its genotype means with standard errors).
    dropped_ : individuals left out for a missing phenotype or covariate.

    Example
    -------
    >>> from latentlab.qtl import IntervalMapping, simulate_cross
    >>> cross = simulate_cross(150, qtl=[("2", 40.0, 1.0)], random_state=1)
    >>> scan = IntervalMapping(step=2).fit(cross)
    >>> scan.peak_[["chromosome", "position"]].tolist()
    ['2', 40.0]
    """

    def __init__(
        self,
        method: str = "em",
        *,
        step: float = 1.0,
        error_prob: float = 1e-4,
        map_function: str = "haldane",
        tol: float = _ENGINE["tol"],
        max_iter: int = _ENGINE["max_iter"],
        n_init: int = _ENGINE["n_init"],
        accelerate: str | None = _ENGINE["accelerate"],
        random_state=None,
        progress: bool | None = _ENGINE["progress"],
    ):
        self.method = method
        self.step = step
        self.error_prob = error_prob
        self.map_function = map_function
        self._set_engine_settings(
            tol=tol, max_iter=max_iter, n_init=n_init,
            accelerate=accelerate, random_state=random_state, progress=progress,
        )

    # -- input ----------------------------------------------------------------------
    def _check_settings(self) -> None:
        check_engine_settings(**self._engine_settings())
        if not isinstance(self.method, str) or self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}; got {self.method!r}")
        if not isinstance(self.map_function, str) or self.map_function not in MAP_FUNCTIONS:
            raise ValueError(f"map_function must be one of {sorted(MAP_FUNCTIONS)}; got {self.map_function!r}")

    def _trait(self, cross: Cross, phenotype, covariates) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
        """The trait, the covariate matrix, their names, and the individuals kept."""
        phen = cross.phenotypes
        if phenotype is None:
            candidates = [c for c in phen.columns if str(c).lower() not in ("sex", "pgm")]
            if not candidates:
                raise ValueError("phenotype: the cross has no phenotype besides sex and pgm")
            phenotype = candidates[0]
        if isinstance(phenotype, (int, np.integer)) and not isinstance(phenotype, bool) and phenotype not in phen.columns:
            if not 0 <= phenotype < phen.shape[1]:
                raise ValueError(f"phenotype: column {phenotype} does not exist; the cross has {phen.shape[1]} phenotypes")
            phenotype = phen.columns[phenotype]
        if phenotype not in phen.columns:
            raise ValueError(f"phenotype {phenotype!r} is not a phenotype of the cross; it has {list(phen.columns)}")
        y = pd.to_numeric(phen[phenotype], errors="coerce").to_numpy(dtype=float)
        text = np.isnan(y) & phen[phenotype].notna().to_numpy()
        if text.any():
            raise ValueError(f"phenotype {phenotype!r} must be numeric; individual {int(np.argmax(text))} has "
                             f"{phen[phenotype].iloc[int(np.argmax(text))]!r}")
        X, names = self._covariates(cross, covariates)
        bad = ~np.isfinite(y) | ~np.isfinite(X).all(axis=1)
        if np.isinf(y).any():
            raise ValueError(f"phenotype {phenotype!r} has an infinite value (individual {int(np.argmax(np.isinf(y)))})")
        keep = ~bad
        if bad.any():
            warnings.warn(f"{int(bad.sum())} individual(s) with a missing phenotype or covariate were dropped "
                          f"(the first is individual {int(np.argmax(bad))}); dropped_ lists them", UserWarning,
                          stacklevel=user_stacklevel())
        if keep.sum() < 3:
            raise ValueError(f"phenotype {phenotype!r}: {int(keep.sum())} individual(s) with data; a scan needs at least 3")
        if np.ptp(y[keep]) == 0:
            raise ValueError(f"phenotype {phenotype!r} has the same value for every individual; there is nothing to map")
        self.phenotype_ = phenotype
        return y[keep], X[keep], names, keep

    @staticmethod
    def _covariates(cross: Cross, covariates) -> tuple[np.ndarray, list[str]]:
        n = cross.n_individuals
        if covariates is None:
            return np.empty((n, 0)), []
        if isinstance(covariates, str):
            covariates = [covariates]
        if isinstance(covariates, (list, tuple)) and all(isinstance(c, str) for c in covariates):
            cols, names = [], []
            for c in covariates:
                if c not in cross.phenotypes.columns:
                    raise ValueError(f"covariates: {c!r} is not a phenotype of the cross; it has {list(cross.phenotypes.columns)}")
                if str(c).lower() == "sex" and cross.sex is not None:
                    cols.append(cross.sex.astype(float))
                else:
                    v = pd.to_numeric(cross.phenotypes[c], errors="coerce")
                    if (v.isna() & cross.phenotypes[c].notna()).any():
                        raise ValueError(f"covariates: {c!r} must be numeric")
                    cols.append(v.to_numpy(dtype=float))
                names.append(str(c))
            X = np.column_stack(cols)
        else:
            frame = covariates if isinstance(covariates, pd.DataFrame) else None
            X = np.asarray(covariates.to_numpy() if frame is not None else covariates)
            if X.dtype.kind not in "biuf":
                raise TypeError("covariates must be phenotype names, or a numeric array or DataFrame (individuals x covariates)")
            X = X.astype(float).reshape(n, -1) if X.ndim == 1 and X.size == n else X.astype(float)
            if X.ndim != 2 or X.shape[0] != n:
                raise ValueError(f"covariates must have one row per individual ({n}); got shape {X.shape}")
            names = [str(c) for c in frame.columns] if frame is not None else [f"covariate{k}" for k in range(X.shape[1])]
        if np.isinf(X).any():
            raise ValueError("covariates have an infinite value")
        finite = np.isfinite(X).all(axis=1)
        const = [names[k] for k in range(X.shape[1]) if np.ptp(X[finite, k]) == 0]
        if const:
            raise ValueError(f"covariates: {const[0]!r} is constant; the genotype means already play the intercept")
        return X, names

    def _blocks(self, cross: Cross, probabilities, keep: np.ndarray) -> list[_Block]:
        """The autosomes as one block and the X chromosome as another."""
        autos = [p for p in probabilities if not p.is_x]
        xs = [p for p in probabilities if p.is_x]
        n = int(keep.sum())
        blocks = []
        if autos:
            names = _genotype_names(cross)
            blocks.append(_block(autos, [p.probs[keep] for p in autos], np.ones((n, 1)), names))
        for p in xs:
            groups, labels = _x_groups(cross, keep)
            self._warn_collinear_on_x(p.chromosome, groups)
            g = groups.shape[1]
            expanded = np.zeros(p.probs[keep].shape[:2] + (2 * g,))
            for k in range(g):
                rows = groups[:, k] == 1
                expanded[rows, :, 2 * k:2 * k + 2] = p.probs[keep][rows]
            blocks.append(_block([p], [expanded], groups, labels))
        return blocks

    def _warn_collinear_on_x(self, chromosome: str, groups: np.ndarray) -> None:
        """Covariates that the X chromosome's groups already account for (sex,
        say) carry no coefficient there; say so, as R/qtl does."""
        X = self._X - self._X.mean(axis=0)
        design = np.column_stack([groups, X])
        A = design.T @ design
        kept = normal_equations_solve(A, np.zeros(design.shape[1]), design.shape[1])
        dropped = [self.covariate_names_[k] for k in np.flatnonzero(~kept[groups.shape[1]:])]
        if dropped:
            warnings.warn(f"covariate(s) {dropped} are collinear with the sex / cross-direction groups of chromosome "
                          f"{chromosome}, whose null model already has a mean per group: left out there",
                          UserWarning, stacklevel=user_stacklevel())

    # -- fitting ------------------------------------------------------------------
    def fit(self, cross: Cross, phenotype=None, covariates=None) -> IntervalMapping:
        """Scan the genome of ``cross`` for a QTL of ``phenotype`` (a column
        name or number of ``cross.phenotypes``; default the first that is not
        sex or pgm), with additive ``covariates`` (phenotype names, or an
        array or DataFrame with one row per individual)."""
        if not isinstance(cross, Cross):
            raise TypeError(f"cross must be a Cross (read_cross_csv or make_cross); got {type(cross).__name__}")
        self._check_settings()
        y, X, names, keep = self._trait(cross, phenotype, covariates)
        self.probabilities_ = genotype_probabilities(cross, self.step, self.error_prob, self.map_function)
        self.covariate_names_ = names
        self.dropped_ = np.flatnonzero(~keep)
        self._y, self._X = y, X
        self._blocks_ = self._blocks(cross, self.probabilities_, keep)
        settings = self._engine_settings()
        lod = self._scan(y, X, settings["tol"], settings["max_iter"])
        self.lod_ = pd.DataFrame({
            "chromosome": np.concatenate([b.chromosome for b in self._blocks_]),
            "position": np.concatenate([b.position for b in self._blocks_]),
            "name": np.concatenate([b.name for b in self._blocks_]),
            "is_marker": np.concatenate([b.is_marker for b in self._blocks_]),
            "lod": lod,
        })
        order = {c: i for i, c in enumerate(cross.chromosome_names)}
        self.lod_ = self.lod_.sort_values("chromosome", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)
        self.peak_ = self.lod_.loc[int(self.lod_["lod"].to_numpy().argmax())]
        self._fit_position(self.peak_["chromosome"], self.peak_["position"], set_result=True)
        self.permutation_lods_ = None
        return self

    def _scan(self, y: np.ndarray, X: np.ndarray, tol: float, max_iter: int) -> np.ndarray:
        """LOD at every position of every block for trait ``y`` and covariates ``X``."""
        ys = (y - y.mean()) / y.std()
        Xc = np.ascontiguousarray(X - X.mean(axis=0))
        n = ys.size
        XtX, Xty, yty = Xc.T @ Xc, Xc.T @ ys, float(ys @ ys)
        out = []
        for b in self._blocks_:
            rss0 = _null_rss(ys, np.column_stack([b.groups, Xc]))
            if self.method == "hk":
                rss1 = hk_scan(ys, Xc, b.probs, XtX, Xty, yty)
                out.append(n / 2 * (np.log10(rss0) - np.log10(np.maximum(rss1, 1e-300))))
                continue
            ll, iters = em_scan(ys, Xc, b.probs, XtX, Xty, yty, tol, max_iter, _VARIANCE_FLOOR, _SEGMENT)
            self._check_iterations(iters.min(), iters.max(), max_iter, "the scan")
            ll0 = -n / 2 * (np.log(2 * np.pi * rss0 / n) + 1)
            out.append((ll - ll0) / np.log(10))
        return np.maximum(np.concatenate(out), 0.0)

    @staticmethod
    def _check_iterations(fewest: int, most: int, max_iter: int, where: str) -> None:
        """Raise if EM lowered a log-likelihood (never expected); warn if it
        stopped at ``max_iter`` somewhere (that LOD is then a lower bound)."""
        if fewest < 0:
            raise MonotonicityError(f"interval mapping: the log-likelihood fell at a position of {where}")
        if most > max_iter:
            warnings.warn(f"interval mapping: EM did not meet the convergence rule within max_iter={max_iter} at "
                          f"some position of {where}; its LOD there is a lower bound", ConvergenceWarning,
                          stacklevel=user_stacklevel())

    def _position_data(self, chromosome, position) -> tuple[PositionData, tuple[str, ...]]:
        for b in self._blocks_:
            at = np.flatnonzero((b.chromosome == str(chromosome)) & np.isclose(b.position, position, rtol=0, atol=1e-9))
            if at.size:
                return PositionData(self._y, self._X, b.probs[at[0]]), b.classes
        raise ValueError(f"position {position!r} on chromosome {chromosome!r} is not on the scan grid; "
                         "choose a row of lod_")

    def _fit_position(self, chromosome, position, set_result: bool):
        data, classes = self._position_data(chromosome, position)
        model = IntervalMappingModel()
        if set_result:
            self._classes = classes
            self.peak_position_ = (str(chromosome), float(position))
            self._fit_em(model, data, n_obs=data.y.size)
            return self
        fitted = IntervalMapping(**self.get_params())
        fitted.covariate_names_ = self.covariate_names_
        fitted._classes = classes
        fitted._fit_em(model, data, n_obs=data.y.size)
        return fitted

    # -- results ---------------------------------------------------------------------
    def _parameter_labels(self) -> list[str]:
        return [f"mean[{c}]" for c in self._classes] + [f"coef[{c}]" for c in self.covariate_names_] + ["sigma2"]

    def effects(self, chromosome, position, level: float = 0.95) -> pd.DataFrame:
        """Genotype means (and covariate effects, residual variance) with
        standard errors at a grid position, by EM on the engine."""
        self._check_fitted()
        return self._fit_position(chromosome, position, set_result=False).summary(level)

    def peaks(self) -> pd.DataFrame:
        """The highest LOD on each chromosome (one row each)."""
        self._check_fitted()
        idx = self.lod_.groupby("chromosome", sort=False)["lod"].idxmax()
        return self.lod_.loc[idx.to_numpy()].reset_index(drop=True)

    def _chromosome_profile(self, chromosome) -> pd.DataFrame:
        self._check_fitted()
        prof = self.lod_[self.lod_["chromosome"] == str(chromosome)]
        if prof.empty:
            raise ValueError(f"chromosome {chromosome!r} was not scanned; lod_ has {list(self.lod_['chromosome'].unique())}")
        return prof.reset_index(drop=True)

    def support_interval(self, chromosome, drop: float = 1.5) -> pd.DataFrame:
        """The ``drop``-LOD support interval on ``chromosome`` (R/qtl's
        ``lodint``): rows for its left end, the peak and its right end."""
        if not (isinstance(drop, (int, float)) and drop > 0):
            raise ValueError(f"drop must be a positive number of LOD units; got {drop!r}")
        prof = self._chromosome_profile(chromosome)
        lod = prof["lod"].to_numpy()
        above = np.flatnonzero(lod > lod.max() - drop)
        left, right = max(above[0] - 1, 0), min(above[-1] + 1, lod.size - 1)
        return prof.iloc[[left, int(lod.argmax()), right]].assign(end=["left", "peak", "right"]).reset_index(drop=True)

    def bayes_interval(self, chromosome, prob: float = 0.95) -> pd.DataFrame:
        """The ``prob`` Bayes credible interval on ``chromosome`` (R/qtl's
        ``bayesint``): rows for its left end, the peak and its right end."""
        prob = check_fraction(prob, "prob")
        prof = self._chromosome_profile(chromosome)
        lod, pos = prof["lod"].to_numpy(), prof["position"].to_numpy()
        width = (np.r_[pos[1:], pos[-1]] - np.r_[pos[0], pos[:-1]]) / 2
        area = 10 ** (lod - lod.max()) * width
        order = np.argsort(-lod, kind="stable")
        cum = np.cumsum(area[order]) / area.sum()
        chosen = order[: int(np.argmax(cum >= prob - 1e-12)) + 1]
        rows = [chosen.min(), int(lod.argmax()), chosen.max()]
        return prof.iloc[rows].assign(end=["left", "peak", "right"]).reset_index(drop=True)

    # -- permutations ---------------------------------------------------------------
    def permutation_test(self, n_perm: int = 1000, alpha=(0.10, 0.05, 0.01)) -> pd.DataFrame:
        """Genome-wide LOD thresholds from ``n_perm`` permutations of the trait
        (with its covariates) among the individuals; stores the maximum LOD of
        each in ``permutation_lods_`` and returns :meth:`thresholds`. Uses
        ``random_state`` and shows a bar as ``progress`` says. The EM scans of
        the permutations run in parallel, a permutation per thread."""
        self._check_fitted()
        n_perm = check_positive_int(n_perm, "n_perm")
        settings = self._engine_settings()
        rng = restart_generators(settings["random_state"], 1)[0]
        n = self._y.size
        orders = np.array([rng.permutation(n) for _ in range(n_perm)])
        chunks = np.array_split(np.arange(n_perm), max(1, n_perm // _PERMUTATIONS_PER_STEP))
        maxima = np.empty(n_perm)
        for chunk in counting(chunks, len(chunks), f"{type(self).__name__} permutations",
                              f"x{_PERMUTATIONS_PER_STEP} scans", settings["progress"]):
            maxima[chunk] = self._permutation_maxima(orders[chunk], settings["tol"], settings["max_iter"])
        self.permutation_lods_ = maxima
        return self.thresholds(alpha)

    def _permutation_maxima(self, orders: np.ndarray, tol: float, max_iter: int) -> np.ndarray:
        """The genome-wide maximum LOD of each permutation (a row of ``orders``)."""
        if self.method == "hk":
            return np.array([self._scan(self._y[o], self._X[o], tol, max_iter).max() for o in orders])
        ys = (self._y - self._y.mean()) / self._y.std()
        Xc = np.ascontiguousarray(self._X - self._X.mean(axis=0))
        n = ys.size
        XtX, Xty, yty = Xc.T @ Xc, Xc.T @ ys, float(ys @ ys)
        out = np.zeros(orders.shape[0])
        for b in self._blocks_:
            best, fewest, most = em_permutation_maxima(ys, Xc, b.probs, orders, XtX, Xty, yty, tol, max_iter,
                                                       _VARIANCE_FLOOR, _SEGMENT)
            self._check_iterations(fewest.min(), most.max(), max_iter, "a permutation")
            rss0 = np.array([_null_rss(ys[o], np.column_stack([b.groups, Xc[o]])) for o in orders])
            ll0 = -n / 2 * (np.log(2 * np.pi * rss0 / n) + 1)
            out = np.maximum(out, (best - ll0) / np.log(10))
        return out

    def thresholds(self, alpha=(0.10, 0.05, 0.01)) -> pd.DataFrame:
        """Genome-wide LOD thresholds at each level in ``alpha`` (the ``1 -
        alpha`` quantile of the permutation maxima)."""
        if getattr(self, "permutation_lods_", None) is None:
            raise ValueError("no permutations yet: call permutation_test(n_perm) first")
        alpha = np.atleast_1d(np.asarray(alpha, dtype=float))
        if not ((alpha > 0) & (alpha < 1)).all():
            raise ValueError(f"alpha must hold levels strictly between 0 and 1; got {alpha.tolist()}")
        return pd.DataFrame({"alpha": alpha, "lod": np.quantile(self.permutation_lods_, 1 - alpha)})

    def p_values(self) -> pd.DataFrame:
        """:meth:`peaks` with the genome-wide p-value of each peak: the share
        of permutation maxima at least as large."""
        if getattr(self, "permutation_lods_", None) is None:
            raise ValueError("no permutations yet: call permutation_test(n_perm) first")
        peaks = self.peaks()
        peaks["p_value"] = [(self.permutation_lods_ >= v).mean() for v in peaks["lod"]]
        return peaks

    # -- plots ---------------------------------------------------------------------------
    def plot(self, ax=None, chromosomes=None, alpha=(0.05,)):
        """LOD profile along the genome, chromosomes side by side, with
        permutation thresholds at ``alpha`` as horizontal lines (when
        :meth:`permutation_test` has run). Returns the axes."""
        import matplotlib.pyplot as plt

        self._check_fitted()
        ax = ax or plt.subplots(figsize=(10, 3.5))[1]
        names = list(dict.fromkeys(self.lod_["chromosome"])) if chromosomes is None else [str(c) for c in chromosomes]
        offset, ticks, gap = 0.0, [], 25.0
        for k, c in enumerate(names):
            prof = self._chromosome_profile(c)
            x = prof["position"].to_numpy() - prof["position"].iloc[0] + offset
            ax.plot(x, prof["lod"], color="C0" if k % 2 == 0 else "C2", lw=1.2)
            marks = prof["is_marker"].to_numpy()
            ax.plot(x[marks], np.zeros(marks.sum()), "|", color="0.5", ms=4)
            ticks.append((x[0] + x[-1]) / 2)
            offset = x[-1] + gap
        if getattr(self, "permutation_lods_", None) is not None:
            for a, t in zip(*self.thresholds(alpha).to_numpy().T):
                ax.axhline(t, ls="--", color="C3", lw=1)
                ax.text(offset, t, f" {a:g}", va="bottom", ha="right", color="C3", fontsize=8)
        ax.set_xticks(ticks, names)
        ax.set_xlabel("chromosome")
        ax.set_ylabel("LOD")
        ax.set_ylim(bottom=0)
        return ax

    def plot_effects(self, chromosome=None, position=None, ax=None, level: float = 0.95):
        """Genotype means with ``level`` confidence intervals at a grid
        position (default: the peak). Returns the axes."""
        import matplotlib.pyplot as plt

        self._check_fitted()
        if chromosome is None:
            chromosome, position = self.peak_position_
        table = self.effects(chromosome, position, level)
        means = table[table["parameter"].str.startswith("mean[")]
        ax = ax or plt.subplots(figsize=(4, 3.5))[1]
        x = np.arange(len(means))
        est = means["estimate"].to_numpy()
        ax.errorbar(x, est, yerr=[est - means["ci_lower"], means["ci_upper"] - est], fmt="o", capsize=4)
        ax.set_xticks(x, [p[5:-1] for p in means["parameter"]])
        ax.set_xlim(-0.5, len(x) - 0.5)
        ax.set_xlabel(f"genotype at chromosome {chromosome}, {position:g} cM")
        ax.set_ylabel(str(getattr(self, "phenotype_", "trait")))
        return ax


def _block(probabilities, probs, groups, classes) -> _Block:
    return _Block(
        chromosome=np.concatenate([np.full(p.positions.size, p.chromosome, dtype=object) for p in probabilities]),
        position=np.concatenate([p.positions for p in probabilities]),
        name=np.concatenate([np.asarray(p.names, dtype=object) for p in probabilities]),
        is_marker=np.concatenate([p.is_marker for p in probabilities]),
        probs=np.ascontiguousarray(np.concatenate([pr.transpose(1, 2, 0) for pr in probs], axis=0)),
        groups=groups,
        classes=tuple(classes),
    )


def _genotype_names(cross: Cross) -> list[str]:
    """Autosomal genotype classes, named by the cross's alleles."""
    a, b = cross.alleles
    return [a + a, a + b] + ([b + b] if cross.cross_type == "f2" else [])


def _x_groups(cross: Cross, keep: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Indicator columns of the X chromosome's groups present among the kept
    individuals, and the names of the classes g1, g2 within each group."""
    a, b = cross.alleles
    sex = cross.sex[keep]
    pgm = cross.pgm[keep]
    if cross.cross_type == "bc":
        spec = [(sex == 0, [a + a, a + b]), (sex == 1, [a + "Y", b + "Y"])]
    else:
        spec = [((sex == 0) & (pgm == 0), [a + a, a + b + "f"]), ((sex == 0) & (pgm == 1), [b + b, a + b + "r"]),
                (sex == 1, [a + "Y", b + "Y"])]
    present = [(rows, names) for rows, names in spec if rows.any()]
    groups = np.column_stack([rows.astype(float) for rows, _ in present])
    return groups, [name for _, names in present for name in names]


def _null_rss(y: np.ndarray, design: np.ndarray) -> float:
    """Residual sum of squares of the least-squares fit of ``y`` on ``design``."""
    A, b = design.T @ design, design.T @ y
    rhs = b.copy()
    kept = normal_equations_solve(A, b, b.size)
    return float(max(y @ y - b[kept] @ rhs[kept], 0.0))
