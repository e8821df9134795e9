"""Bad and degenerate input against every public estimator, from one table.

Each estimator meets the same engine-setting cases (a bad ``tol``,
``max_iter``, ``n_init``, ``random_state``, ``accelerate``, ``progress``), its
own settings' cases, and its own data cases: wrong shape, empty, a single
observation, NaN, inf, negative, non-integer, text, complex, booleans, huge
values, impossible settings. A bad input must raise ``ValueError`` or
``TypeError`` with a message that names the argument; legal but degenerate data
must give a finite fit with a warning that says what is degenerate.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest

from latentlab import BoundaryWarning, fit_em
from latentlab.ecology import CaptureRecapture, compare_models, read_inp
from latentlab.genetics import (
    AlleleFrequencies,
    HaplotypeClusterEM,
    HaplotypeCopyingEM,
    HaplotypeEM,
    WindowedHaplotypeEM,
    hwe_exact_test,
    simulate_genotype_likelihoods,
    switch_error,
)
from latentlab.hmm import CategoricalHMM, GaussianHMM, PoissonHMM, simulate_hmm
from latentlab.missing import MultivariateNormalEM, RegressionEM
from latentlab.mixtures import (
    GaussianMixture,
    KMeans,
    PoissonMixture,
    select_gaussian_mixture,
    simulate_poisson_mixture,
)
from latentlab.phylo import JC69, BranchLengthEM, StructuralEM, simulate_alignment
from latentlab.qtl import IntervalMapping, simulate_cross
from latentlab.repertoire import ClonotypeEM, simulate_repertoire
from latentlab.statespace import LinearGaussian, LinearGaussianSSM, ParticleSSM, simulate_ssm
from latentlab.survival import (
    CensoredExponential,
    ExponentialCure,
    KaplanMeier,
    Turnbull,
    simulate_censored_exponential,
)
from latentlab.transcripts import EquivalenceClasses, TranscriptQuantifier

BAD = (ValueError, TypeError)
NAN, INF = math.nan, math.inf

#: (setting, bad value) for the engine settings every EM estimator takes
ENGINE_CASES = [
    ("tol", -1.0), ("tol", NAN), ("tol", INF), ("tol", "1e-3"), ("tol", True),
    ("max_iter", 0), ("max_iter", -3), ("max_iter", 2.5), ("max_iter", True), ("max_iter", "10"),
    ("n_init", 0), ("n_init", -1), ("n_init", True), ("n_init", 1.5),
    ("random_state", "seed"), ("random_state", -1), ("random_state", 1.5), ("random_state", True),
    ("accelerate", "fast"), ("accelerate", 1),
    ("progress", "yes"), ("progress", 1),
]


@dataclass
class Spec:
    """How to build and fit one estimator, and its own bad cases."""

    make: object  # (**settings) -> estimator
    fit: object  # (estimator, data) -> estimator
    good: object  # data the estimator fits cleanly
    settings: list = field(default_factory=list)  # (setting, bad value)
    data: list = field(default_factory=list)  # (label, data, word the message must contain)
    degenerate: list = field(default_factory=list)  # (label, data, word the warning must contain)
    aliases: dict = field(default_factory=dict)  # engine setting -> this estimator's name for it


def _fit_pairs(est, data):
    return est.fit(data)


rng = np.random.default_rng(0)
COUNTS = rng.poisson(np.r_[np.full(60, 2.0), np.full(60, 9.0)])
X2 = np.r_[rng.normal(0, 1, (60, 2)), rng.normal(6, 1, (60, 2))]
SYMBOLS = rng.integers(0, 3, 200)
PAIRS = rng.binomial(1, 0.4, (80, 2))
G = rng.binomial(2, 0.4, (60, 4))
DUR = rng.exponential(2.0, 60) + 0.01
EVENT = (rng.random(60) < 0.7).astype(int)
LOW = rng.exponential(2.0, 60)
HIGH = LOW + rng.exponential(1.0, 60)
HIST = (rng.random((80, 5)) < 0.4).astype(int)
HIST = HIST[HIST.any(axis=1)]
CROSS = simulate_cross(60, chromosome_lengths=(50.0, 40.0), qtl=[("1", 20.0, 1.5)], random_state=0)
CROSS_TRAIT = CROSS.phenotypes["trait"].to_numpy()
REPERTOIRE = simulate_repertoire(n_clonotypes=10, n_reads=2000, random_state=0).observed
SEQS, READS = list(REPERTOIRE["sequence"]), REPERTOIRE["count"].to_numpy()
TX = (["A", "B", "C"], [100.0, 150.0, 120.0], [["A"], ["A", "B"], ["B", "C"], ["C"]], [40, 25, 10, 30])
ONE_SERIES = rng.normal(0.0, 1.0, 60).cumsum() * 0.3 + rng.normal(0.0, 1.0, 60)
_, SERIES = simulate_ssm(np.array([[0.9, 0.1], [0.0, 0.8]]), np.eye(2), np.eye(2), np.eye(2), 80, random_state=0)


def _phenotype(cross, values):
    """``cross`` with its trait replaced by ``values``."""
    import dataclasses

    return dataclasses.replace(cross, phenotypes=pd.DataFrame({"trait": values}))


def _with(arr, index, value, dtype=float):
    out = np.array(arr, dtype=dtype)
    out[index] = value
    return out


def _array_cases(good, name, *, nan_ok=False, negative_ok=True, integer=False, two_d=True):
    """Cases every array-of-numbers input shares."""
    flat = np.asarray(good, dtype=float)
    first = (0,) * flat.ndim
    cases = [
        ("empty", flat[:0], name),
        ("text", np.array(flat, dtype=object).astype(str), name),
        ("complex", flat + 1j, name),
        ("inf", _with(flat, first, INF), name),
        ("-inf", _with(flat, first, -INF), name),
        ("huge", _with(flat, first, 1e308) if not integer else _with(flat, first, 1e300), name),
        ("nested ragged", [[1.0, 2.0], [3.0]], name),
        ("None", None, name),
        ("scalar", 3.0, name),
    ]
    if not nan_ok:
        cases.append(("NaN", _with(flat, first, NAN), name))
    if not negative_ok:
        cases.append(("negative", _with(flat, first, -1.0), name))
    if integer:
        cases.append(("non-integer", _with(flat, first, 1.5), name))
    if two_d:
        cases.append(("3-d", flat[None], name))
    return cases


#: bad memory budgets (bytes) of the phasing estimators
MEMORY_CASES = [("max_memory", 0), ("max_memory", -1), ("max_memory", NAN), ("max_memory", "2GB"), ("max_memory", True)]

#: a five-taxon tree, an alignment simulated on it, and a FASTA text to spoil
PHYLO_TREE = "((a:0.1,b:0.2):0.05,c:0.3,(d:0.1,e:0.15):0.1);"
PHYLO_ALN = simulate_alignment(PHYLO_TREE, JC69(), 200, random_state=0)
FIVE = ">a\nACGT\n>b\nACGT\n>c\nACGT\n>d\nACGT\n>e\nACGT\n"
PHYLO_SETTINGS = [("substitution", "F81"), ("substitution", 3), ("frequencies", "observed"),
                  ("frequencies", "estimated"), ("gamma_categories", 1), ("gamma_categories", -1),
                  ("gamma_categories", 2.5), ("min_length", 0.0), ("min_length", NAN), ("max_length", -1.0),
                  ("max_length", "10"), ("score_tol", 0.0), ("score_tol", True)]


def _phylo_alignment_cases(tree):
    """Bad alignments (the tree ``tree`` beside them), shared by the phylogenetics estimators."""
    return [("unequal lengths", (FIVE.replace(">b\nACGT", ">b\nACG"), tree), "'b'"),
            ("unknown character", (FIVE.replace(">c\nACGT", ">c\nACJT"), tree), "'J'"),
            ("duplicate names", (FIVE.replace(">e", ">a"), tree), "duplicate"),
            ("two sequences", (">a\nACGT\n>b\nACGT\n", tree), "at least 3"),
            ("tip without a sequence", (PHYLO_ALN, "((a,b),c,(d,z));"), "'z'"),
            ("alignment None", (None, tree), "alignment"), ("alignment a number", (3.0, tree), "alignment")]

#: right-censored data (durations, event indicators): shared by the three survival estimators
SURVIVAL_CASES = [
    ("empty", (DUR[:0], EVENT[:0]), "durations"), ("negative", (_with(DUR, 0, -1.0), EVENT), "durations"),
    ("NaN", (_with(DUR, 0, NAN), EVENT), "durations"), ("inf", (_with(DUR, 0, INF), EVENT), "durations"),
    ("event 2", (DUR, _with(EVENT, 0, 2, int)), "event"),
    ("event NaN", (DUR, _with(EVENT, 0, NAN)), "event"), ("lengths differ", (DUR, EVENT[:-1]), "event"),
    ("text", (DUR.astype(str), EVENT), "durations"), ("complex", (DUR + 1j, EVENT), "durations"),
    ("2-d", (DUR[:, None], EVENT), "durations"), ("None", (None, EVENT), "durations"),
    ("scalar", (3.0, EVENT), "durations"), ("ragged", ([[1.0, 2.0], [3.0]], EVENT), "durations"),
    ("booleans", (DUR > 1, EVENT), "durations"), ("event 0.5", (DUR, _with(EVENT, 0, 0.5)), "event"),
    ("event text", (DUR, EVENT.astype(str)), "event"), ("event complex", (DUR, EVENT + 1j), "event"),
]
SPECS = {
    "PoissonMixture": Spec(
        make=lambda **s: PoissonMixture(2, random_state=0, **s), fit=_fit_pairs, good=COUNTS,
        settings=[("n_components", 0), ("n_components", 2.5), ("n_components", True), ("n_components", "2"),
                  ("weights_init", [0.5, 0.6]), ("rates_init", [1.0, -2.0])],
        data=_array_cases(COUNTS, "count", negative_ok=False, integer=True, two_d=False)
        + [("booleans", COUNTS > 3, "count"), ("one distinct value", np.full(30, 4), "n_components")],
        degenerate=[("two values, two equal rates", np.r_[np.full(50, 3), np.full(50, 4)], "coincide")],
    ),
    "GaussianMixture": Spec(
        make=lambda **s: GaussianMixture(2, random_state=0, **s), fit=_fit_pairs, good=X2,
        settings=[("n_components", 0), ("n_components", True), ("covariance_type", "round"), ("reg_covar", -1.0),
                  ("reg_covar", NAN), ("init", "best"), ("means_init", [[0.0, 0.0]])],
        data=_array_cases(X2, "X", nan_ok=True)
        + [("1-d", X2[:, 0], "X"), ("a row all NaN", _with(X2, 0, NAN), "X"),
           ("a column all NaN", _with(X2, (slice(None), 1), NAN), "X"), ("one row", X2[:1], "n_components"),
           ("booleans", X2 > 0, "X")],
        degenerate=[("identical rows", np.ones((30, 2)), "weight")],
    ),
    "KMeans": Spec(
        make=lambda **s: KMeans(3, random_state=0, **s), fit=_fit_pairs, good=X2,
        settings=[("n_clusters", 0), ("n_clusters", 1.5), ("n_clusters", True)],
        data=_array_cases(X2, "X") + [("1-d", X2[:, 0], "X"), ("two rows", X2[:2], "n_components=3"),
                                       ("booleans", X2 > 0, "X")],
        degenerate=[("two distinct points", np.repeat([[0.0, 0.0], [1.0, 1.0]], 10, axis=0), "coincide")],
    ),
    "GaussianHMM": Spec(
        make=lambda **s: GaussianHMM(2, random_state=0, **s), fit=_fit_pairs, good=X2,
        aliases={"max_iter": "n_iter"},
        settings=[("n_components", 0), ("covariance_type", "tied-ish"), ("min_covar", -1.0), ("min_covar", NAN),
                  ("params", "xyz"), ("init_params", 3)],
        data=_array_cases(X2, "X", nan_ok=True) + [("booleans", X2 > 0, "X"), ("one row", X2[:1], "n_components")],
        degenerate=[("constant data", np.ones((100, 1)), "coincide")],
    ),
    "PoissonHMM": Spec(
        make=lambda **s: PoissonHMM(2, random_state=0, **s), fit=_fit_pairs, good=COUNTS[:, None],
        aliases={"max_iter": "n_iter"},
        settings=[("n_components", 0), ("n_components", 2.5), ("params", "q")],
        data=_array_cases(COUNTS[:, None], "X", nan_ok=True, negative_ok=False, integer=True)
        + [("booleans", COUNTS[:, None] > 3, "X")],
        degenerate=[("constant counts", np.full((60, 1), 3), "coincide")],
    ),
    "CategoricalHMM": Spec(
        make=lambda **s: CategoricalHMM(2, random_state=0, **s), fit=_fit_pairs, good=SYMBOLS,
        aliases={"max_iter": "n_iter"},
        settings=[("n_components", 0), ("n_features", 0), ("n_features", 1.5), ("n_features", 2)],
        data=_array_cases(SYMBOLS, "X", nan_ok=True, negative_ok=False, integer=True, two_d=False)
        + [("symbol 1e300", _with(SYMBOLS, 0, 1e300), "X"), ("two columns", np.c_[SYMBOLS, SYMBOLS], "X"),
           ("booleans", SYMBOLS > 0, "X")],
        degenerate=[("one symbol", np.zeros(100, dtype=int), "coincide")],
    ),
    "LinearGaussianSSM": Spec(
        make=lambda **s: LinearGaussianSSM(2, **{"C": np.eye(2), "fixed": ("C",), "random_state": 0, **s}),
        fit=lambda e, d: e.fit(*d) if isinstance(d, tuple) else e.fit(d), good=SERIES,
        settings=[("n_states", 0), ("n_states", 1.5), ("n_states", True), ("Q_type", "tied"), ("R_type", 3),
                  ("initial", "exact"), ("fixed", "A"), ("fixed", ("Z",)), ("fixed", ("A",)),
                  ("A", np.eye(3)), ("Q", -np.eye(2)), ("R", np.array([[1.0, 2.0], [2.0, 1.0]])),
                  ("mu0", np.zeros(2)), ("P0", np.eye(2))],
        data=_array_cases(SERIES, "Y", nan_ok=True)
        + [("all NaN", np.full((20, 2), NAN), "Y"), ("a column all NaN", _with(SERIES, (slice(None), 1), NAN), "Y"),
           ("booleans", SERIES > 0, "Y"), ("lengths not summing to T", (SERIES, [40, 30]), "lengths"),
           ("a zero length", (SERIES, [80, 0]), "lengths"), ("lengths text", (SERIES, ["80"]), "lengths")],
    ),
    "ParticleSSM": Spec(
        make=lambda **s: ParticleSSM(
            **{"model": LinearGaussian(), "n_particles": 100, "initial_particles": 20, "max_iter": 5, "random_state": 0, **s}
        ),
        fit=_fit_pairs, good=ONE_SERIES,
        settings=[("n_particles", 1), ("n_particles", 0), ("n_particles", 1.5), ("n_particles", True),
                  ("n_particles", "100"), ("initial_particles", 5), ("initial_particles", 500),
                  ("initial_particles", 20.0), ("se_particles", 3), ("se_particles", 1e4), ("model", "sv"),
                  ("model", LinearGaussian), ("accelerate", "squarem")],
        data=_array_cases(ONE_SERIES, "y")
        + [("one value", ONE_SERIES[:1], "y"), ("booleans", ONE_SERIES > 0, "y"),
           ("a NaN in the middle", _with(ONE_SERIES, 30, NAN), "y")],
    ),
    "MultivariateNormalEM": Spec(
        make=lambda **s: MultivariateNormalEM(random_state=0, **s), fit=_fit_pairs, good=X2,
        data=_array_cases(X2, "X", nan_ok=True)
        + [("1-d", X2[:, 0], "X"), ("a column all NaN", _with(X2, (slice(None), 1), NAN), "X"),
           ("booleans", X2 > 0, "X"), ("two rows", X2[:2], "more rows than variables"),
           ("text column", pd.DataFrame({"a": X2[:, 0], "b": ["x"] * len(X2)}), "non-numeric")],
    ),
    "RegressionEM": Spec(
        make=lambda **s: RegressionEM(random_state=0, **s), fit=lambda e, d: e.fit(*d), good=(X2[:, :1], X2[:, 1]),
        data=[("empty", (X2[:0, :1], X2[:0, 1]), "X"), ("y too short", (X2[:, :1], X2[:-1, 1]), "y"),
              ("y text", (X2[:, :1], X2[:, 1].astype(str)), "y"),
              ("X inf", (_with(X2[:, :1], (0, 0), INF), X2[:, 1]), "X"),
              ("y all NaN", (X2[:, :1], np.full(len(X2), NAN)), "column"),
              ("two rows", (X2[:2, :1], X2[:2, 1]), "more rows than variables"),
              ("X None", (None, X2[:, 1]), "X"), ("y None", (X2[:, :1], None), "y")],
    ),
    "IntervalMapping": Spec(
        make=lambda **s: IntervalMapping(**{"step": 5.0, **s}), fit=lambda e, d: e.fit(*d), good=(CROSS, "trait", None),
        settings=[("method", "mle"), ("method", 1), ("step", -1.0), ("step", "1"), ("step", NAN), ("step", True),
                  ("error_prob", 0.7), ("error_prob", -0.1), ("error_prob", "0.01"), ("map_function", "cf"),
                  ("map_function", None)],
        data=[("cross a DataFrame", (CROSS.phenotypes, "trait", None), "cross"),
              ("cross None", (None, "trait", None), "cross"),
              ("unknown phenotype", (CROSS, "bp", None), "phenotype"),
              ("phenotype out of range", (CROSS, 5, None), "phenotype"),
              ("constant phenotype", (_phenotype(CROSS, np.ones(60)), "trait", None), "phenotype"),
              ("phenotype text", (_phenotype(CROSS, np.array(["a"] * 60, dtype=object)), "trait", None), "phenotype"),
              ("phenotype inf", (_phenotype(CROSS, _with(CROSS_TRAIT, 0, INF)), "trait", None), "phenotype"),
              ("covariates wrong rows", (CROSS, "trait", np.ones((59, 1))), "covariates"),
              ("covariates constant", (CROSS, "trait", np.ones((60, 1))), "covariates"),
              ("covariates text", (CROSS, "trait", np.array([["a"]] * 60)), "covariates"),
              ("covariates unknown name", (CROSS, "trait", ["age"]), "covariates"),
              ("covariates inf", (CROSS, "trait", _with(np.arange(60.0), 0, INF)), "covariates"),
              ("all phenotypes missing", (_phenotype(CROSS, np.full(60, NAN)), "trait", None), "phenotype")],
    ),
    "ClonotypeEM": Spec(
        make=lambda **s: ClonotypeEM(random_state=0, **s), fit=lambda e, d: e.fit(*d), good=(SEQS, READS),
        settings=[("max_distance", -1), ("max_distance", 1.5), ("max_distance", "2"), ("max_rounds", 0),
                  ("alpha", 0.0), ("alpha", 1.5), ("alpha", "0.01"), ("alpha", NAN), ("alpha", True),
                  ("error_model", "quality"), ("error_model", None), ("quality_bins", ()),
                  ("quality_bins", (30, 20)), ("quality_bins", "20"), ("quality_bins", (NAN,))],
        data=[("empty", ([], []), "sequences"), ("one string", ("ACGT", [3]), "sequences"),
              ("lower case", (["acgt", *SEQS[1:]], READS), "upper case"),
              ("not a base", ([SEQS[0][:-1] + "U", *SEQS[1:]], READS), "sequences[0]"),
              ("a gap", ([SEQS[0][:-1] + "-", *SEQS[1:]], READS), "sequences[0]"),
              ("empty string", (["", *SEQS[1:]], READS), "sequences[0]"),
              ("repeated", ([SEQS[1], *SEQS[1:]], READS), "repeats"),
              ("a number", ([7, *SEQS[1:]], READS), "sequences[0]"),
              ("None", (None, READS), "sequences"),
              ("counts negative", (SEQS, _with(READS, 0, -1)), "counts"),
              ("counts zero", (SEQS, _with(READS, 0, 0)), "counts"),
              ("counts non-integer", (SEQS, _with(READS, 0, 1.5)), "counts"),
              ("counts NaN", (SEQS, _with(READS, 0, NAN)), "counts"),
              ("counts inf", (SEQS, _with(READS, 0, INF)), "counts"),
              ("counts text", (SEQS, READS.astype(str)), "counts"),
              ("counts too short", (SEQS, READS[:-1]), "counts"),
              ("counts 2-d", (SEQS, READS[:, None]), "counts"),
              ("counts None", (SEQS, None), "counts"),
              ("qualities negative", (SEQS, READS, _with(np.full(len(SEQS), 30.0), 0, -1.0)), "qualities"),
              ("qualities NaN", (SEQS, READS, _with(np.full(len(SEQS), 30.0), 0, NAN)), "qualities"),
              ("qualities too short", (SEQS, READS, np.full(len(SEQS) - 1, 30.0)), "qualities"),
              ("qualities text", (SEQS, READS, ["high"] * len(SEQS)), "qualities")],
    ),
    "TranscriptQuantifier": Spec(
        make=lambda **s: TranscriptQuantifier(random_state=0, **s),
        fit=lambda e, d: e.fit(EquivalenceClasses.from_lists(*d)), good=TX,
        settings=[("min_reads", -1.0), ("min_reads", NAN), ("min_reads", "1"), ("min_reads", True)],
        data=[("unknown transcript", (TX[0], TX[1], [["A", "Z"], *TX[2][1:]], TX[3]), "'Z'"),
              ("index out of range", (TX[0], TX[1], [[0, 7], *TX[2][1:]], TX[3]), "index 7"),
              ("empty class", (TX[0], TX[1], [[], *TX[2][1:]], TX[3]), "no transcript"),
              ("negative count", (*TX[:3], [40, -25, 10, 30]), "counts"),
              ("NaN count", (*TX[:3], [40, NAN, 10, 30]), "counts"),
              ("inf count", (*TX[:3], [40, INF, 10, 30]), "counts"),
              ("text counts", (*TX[:3], ["40", "25", "10", "30"]), "counts"),
              ("counts too short", (*TX[:3], [40, 25, 10]), "counts"),
              ("all counts zero", (*TX[:3], [0, 0, 0, 0]), "no fragment"),
              ("zero effective length", (TX[0], [100.0, 0.0, 120.0], *TX[2:]), "effective_lengths"),
              ("negative effective length", (TX[0], [100.0, -1.0, 120.0], *TX[2:]), "effective_lengths"),
              ("NaN effective length", (TX[0], [100.0, NAN, 120.0], *TX[2:]), "effective_lengths"),
              ("effective lengths too short", (TX[0], [100.0, 120.0], *TX[2:]), "effective_lengths"),
              ("duplicate transcript", (["A", "B", "A"], *TX[1:]), "twice"),
              ("transcripts one string", ("ABC", *TX[1:]), "transcripts"),
              ("transcripts None", (None, *TX[1:]), "transcripts")],
    ),
    "AlleleFrequencies": Spec(
        make=lambda **s: AlleleFrequencies(random_state=0, **s), fit=_fit_pairs, good=PAIRS,
        settings=[("inbreeding", "yes"), ("alleles", [0]), ("alleles", [0, 0])],
        data=[("empty", PAIRS[:0], "genotypes"), ("1-d", PAIRS[:, 0], "genotypes"),
              ("three columns", np.c_[PAIRS, PAIRS[:, 0]], "genotypes"), ("inf allele", _with(PAIRS, (0, 0), INF), "genotypes"),
              ("boolean alleles", PAIRS > 0, "genotypes"), ("all missing", np.full((5, 2), -1), "genotypes"),
              ("one allele", np.zeros((10, 2), dtype=int), "alleles"), ("None", None, "genotypes"),
              ("scalar", 3, "genotypes"), ("unorderable labels", [("A", 1), ("B", 2)], "alleles")],
    ),
    "HaplotypeEM": Spec(
        make=lambda **s: HaplotypeEM(random_state=0, **s), fit=_fit_pairs, good=G,
        settings=[("max_pairs", 0), ("min_posterior", -0.1), ("min_posterior", 2.0), ("atom_size", 0),
                  ("method", "magic"), ("batch_size", 0), ("stage_tol", -1.0), *MEMORY_CASES],
        data=_array_cases(G, "genotypes", nan_ok=True, integer=True)
        + [("1-d", G[:, 0], "genotypes"), ("count 3", _with(G, (0, 0), 3), "genotypes"), ("booleans", G > 0, "genotypes"),
           ("count -2 (-1 is missing)", _with(G, (0, 0), -2), "genotypes")],
    ),
    "WindowedHaplotypeEM": Spec(
        make=lambda **s: WindowedHaplotypeEM(window=2, random_state=0, **s), fit=_fit_pairs, good=G,
        settings=[("window", 1), ("window", 2.5), ("window", True), ("max_pairs", 0), ("min_posterior", -1.0),
                  *MEMORY_CASES],
        data=_array_cases(G, "genotypes", nan_ok=True, integer=True)
        + [("1-d", G[:, 0], "genotypes"), ("count 3", _with(G, (0, 0), 3), "genotypes"),
           ("count -2 (-1 is missing)", _with(G, (0, 0), -2), "genotypes")],
    ),
    "HaplotypeClusterEM": Spec(
        make=lambda **s: HaplotypeClusterEM(n_clusters=2, n_starts=1, random_state=0, **s), fit=_fit_pairs, good=G,
        settings=[("n_clusters", 0), ("n_clusters", 2.5), ("n_clusters", True), ("n_starts", 0), ("holdout", 0.9),
                  ("holdout", NAN), ("cluster_grid", (0, 2)), ("cluster_grid", ("four",))],
        data=_array_cases(G, "genotypes", nan_ok=True, integer=True)
        + [("1-d", G[:, 0], "genotypes"), ("count 3", _with(G, (0, 0), 3), "genotypes"),
           ("count -2 (-1 is missing)", _with(G, (0, 0), -2), "genotypes"), ("one locus", G[:, :1], "loci")],
        aliases={"n_init": "n_starts"},
    ),
    "HaplotypeCopyingEM": Spec(
        make=lambda **s: HaplotypeCopyingEM(random_state=0, **s), fit=_fit_pairs, good=G,
        settings=[("n_states", 0), ("n_states", 2.5), ("pbwt_depth", 0), ("anchor_spacing", 0),
                  ("anchor_spacing", True), ("n_burnin", -1), ("n_burnin", 12), ("tol", -1.0), ("rate_sample", 0)],
        data=_array_cases(G, "genotypes", nan_ok=True, integer=True)
        + [("1-d", G[:, 0], "genotypes"), ("count 3", _with(G, (0, 0), 3), "genotypes"),
           ("count -2 (-1 is missing)", _with(G, (0, 0), -2), "genotypes"), ("one locus", G[:, :1], "loci"),
           ("one individual", G[:1], "individuals"), ("a locus nobody was typed at", _with(G, (slice(None), 2), -1),
                                                             "genotypes")],
    ),
    "CensoredExponential": Spec(
        make=lambda **s: CensoredExponential(**s), fit=lambda e, d: e.fit(*d), good=(DUR, EVENT),
        settings=[("score_tol", 0.0), ("score_tol", NAN), ("score_tol", True)],
        data=SURVIVAL_CASES + [("no events", (DUR, np.zeros(60, int)), "event")],
    ),
    "Turnbull": Spec(
        make=lambda **s: Turnbull(**s), fit=lambda e, d: e.fit(*d), good=(LOW, HIGH),
        settings=[("kkt_tol", -1.0), ("kkt_tol", NAN), ("closed", "maybe"), ("method", "icm")],
        data=[("empty", (LOW[:0], HIGH[:0]), "lower_bound"), ("lengths differ", (LOW, HIGH[:-1]), "upper_bound"),
              ("lower above upper", (HIGH, LOW), "lower_bound"), ("NaN lower", (_with(LOW, 0, NAN), HIGH), "lower_bound"),
              ("negative", (_with(LOW, 0, -1.0), HIGH), "lower_bound"), ("text", (LOW.astype(str), HIGH), "lower_bound"),
              ("complex", (LOW + 1j, HIGH), "lower_bound"), ("2-d", (LOW[:, None], HIGH), "lower_bound"),
              ("None", (None, HIGH), "lower_bound"), ("-inf upper", (LOW, _with(HIGH, 0, -INF)), "upper_bound")],
    ),
    "ExponentialCure": Spec(
        make=lambda **s: ExponentialCure(**s), fit=lambda e, d: e.fit(*d), good=(DUR, EVENT),
        settings=[("level", 1.5), ("level", 0.0), ("level", "95%")],
        data=SURVIVAL_CASES + [("no events", (DUR, np.zeros(60, int)), "event")],
    ),
    "KaplanMeier": Spec(
        make=lambda **s: KaplanMeier(**s), fit=lambda e, d: e.fit(*d), good=(DUR, EVENT),
        settings=[("level", 1.5), ("level", 0.0), ("level", "95%"), ("level", True), ("level", NAN),
                  ("level", -0.1), ("level", 1.0), ("level", None)],
        data=SURVIVAL_CASES,
    ),
    "CaptureRecapture": Spec(
        make=lambda **s: CaptureRecapture("Mh2", random_state=0, **s), fit=_fit_pairs, good=HIST,
        settings=[("cap_factor", 1.0), ("cap_factor", NAN), ("level", 1.5), ("model", "M9"), ("model", 2),
                  ("profile", "yes")],
        data=[("empty", HIST[:0], "histories"), ("value 2", _with(HIST, (0, 0), 2, int), "histories"),
              ("NaN", _with(HIST, (0, 0), NAN), "histories"), ("never caught", _with(HIST, 0, 0, int), "histories"),
              ("1-d", HIST[:, 0], "histories"), ("text", HIST.astype(str), "histories"),
              ("complex", HIST + 1j, "histories"), ("None", None, "histories"), ("scalar", 1, "histories"),
              ("one occasion", HIST[:, :1], "occasion")],
        degenerate=[("every animal caught once", np.eye(5, dtype=int)[:3], "N = inf")],
    ),
    "BranchLengthEM": Spec(
        make=lambda **s: BranchLengthEM(**{"substitution": "JC69", **s}), fit=lambda e, d: e.fit(*d),
        good=(PHYLO_ALN, PHYLO_TREE),
        settings=PHYLO_SETTINGS,
        data=[*_phylo_alignment_cases(PHYLO_TREE),
              ("tree None", (PHYLO_ALN, None), "tree"), ("tree not Newick", (PHYLO_ALN, "((a,b),c"), "Newick"),
              ("tree with two tips", (PHYLO_ALN, "(a:1,b:1);"), "at least 3"),
              ("negative branch length", (PHYLO_ALN, "((a:-1,b),c,(d,e));"), "negative")],
    ),
    "StructuralEM": Spec(
        make=lambda **s: StructuralEM(**{"substitution": "JC69", "n_perturbations": 0, **s}),
        fit=lambda e, d: e.fit(*d), good=(PHYLO_ALN, None),
        settings=[*PHYLO_SETTINGS, ("min_gain", 0.0), ("min_gain", "small"), ("n_perturbations", -1),
                  ("n_perturbations", 2.5), ("perturbation", 0.0), ("perturbation", 1.5)],
        data=[*_phylo_alignment_cases(None), ("start tree with a polytomy", (PHYLO_ALN, "(a,b,c,(d,e));"),
                                               "bifurcating"),
              ("start tree not Newick", (PHYLO_ALN, "((a,b),c"), "Newick")],
    ),
}


def _engine_cases(name):
    spec = SPECS[name]
    accepted = set(spec.make().get_params())
    for setting, value in ENGINE_CASES:
        setting = spec.aliases.get(setting, setting)
        if setting in accepted:
            yield setting, value


SETTING_CASES = [(n, s, v) for n in SPECS for s, v in [*_engine_cases(n), *SPECS[n].settings]]
DATA_CASES = [(n, label, data, word) for n in SPECS for label, data, word in SPECS[n].data]
DEGENERATE_CASES = [(n, label, data, word) for n in SPECS for label, data, word in SPECS[n].degenerate]


def _quiet_fit(spec, est, data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return spec.fit(est, data)


@pytest.mark.parametrize(("name", "setting", "value"), SETTING_CASES,
                         ids=[f"{n}-{s}={v!r}" for n, s, v in SETTING_CASES])
def test_a_bad_setting_is_refused_naming_it(name, setting, value):
    spec = SPECS[name]
    with pytest.raises(BAD) as err:
        _quiet_fit(spec, spec.make(**{setting: value}), spec.good)
    assert setting in str(err.value), f"the message does not name {setting!r}: {err.value}"


@pytest.mark.parametrize(("name", "label", "data", "word"), DATA_CASES,
                         ids=[f"{n}-{label}" for n, label, _, _ in DATA_CASES])
def test_bad_data_are_refused_naming_the_argument(name, label, data, word):
    spec = SPECS[name]
    with pytest.raises(BAD) as err:
        _quiet_fit(spec, spec.make(), data)
    assert word in str(err.value), f"the message does not name {word!r}: {err.value}"


@pytest.mark.parametrize(("name", "label", "data", "word"), DEGENERATE_CASES,
                         ids=[f"{n}-{label}" for n, label, _, _ in DEGENERATE_CASES])
def test_degenerate_data_give_a_finite_fit_and_a_warning(name, label, data, word):
    spec = SPECS[name]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = spec.fit(spec.make(), data)
    said = [str(w.message) for w in caught if issubclass(w.category, BoundaryWarning)]
    assert any(word in s for s in said), f"no BoundaryWarning says {word!r}: {said}"
    assert np.isfinite(est.loglik_)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_the_good_data_fit_cleanly(name):
    spec = SPECS[name]
    est = _quiet_fit(spec, spec.make(), spec.good)
    fitted = est.survival_function_.to_numpy() if name == "KaplanMeier" else est.loglik_
    assert np.all(np.isfinite(fitted))


def test_every_estimator_meets_at_least_25_cases():
    counts = pd.Series([n for n, *_ in SETTING_CASES + DATA_CASES + DEGENERATE_CASES]).value_counts()
    assert (counts.reindex(list(SPECS)) >= 25).all(), counts.to_dict()


# -- public functions ----------------------------------------------------------------------------
def _inp_with(tmp_path, text):
    path = tmp_path / "bad.inp"
    path.write_text(text)
    return path


FUNCTION_CASES = [
    # (label, call taking tmp_path, word the message must contain)
    ("select_gaussian_mixture: no n_components", lambda t: select_gaussian_mixture(X2, []), "n_components"),
    ("select_gaussian_mixture: no covariance types", lambda t: select_gaussian_mixture(X2, [1], []), "covariance_types"),
    ("select_gaussian_mixture: criterion", lambda t: select_gaussian_mixture(X2, [1], criterion="r2"), "criterion"),
    ("compare_models: no models", lambda t: compare_models(HIST, models=[]), "models"),
    ("compare_models: a name that is a string", lambda t: compare_models(HIST, models="Mh2"), "models"),
    ("compare_models: a number as model", lambda t: compare_models(HIST, models=[2]), "models"),
    ("read_inp: a frequency of 1e400", lambda t: read_inp(_inp_with(t, "10101 1e400;\n")), "frequenc"),
    ("read_inp: a history with 2", lambda t: read_inp(_inp_with(t, "10201 1;\n")), "history"),
    ("hwe_exact_test: negative count", lambda t: hwe_exact_test(-1, 2, 3), "n_aa"),
    ("hwe_exact_test: beyond the exact limit", lambda t: hwe_exact_test(1e9, 1e9, 1e9), "likelihood-ratio"),
    ("hwe_exact_test: NaN", lambda t: hwe_exact_test(1, NAN, 3), "n_ab"),
    ("fit_em: no model", lambda t: fit_em(None, COUNTS), "model"),
    ("simulate_poisson_mixture: weights", lambda t: simulate_poisson_mixture(10, [0.5, 0.6], [1.0, 2.0]), "weights"),
    ("simulate_hmm: transmat rows", lambda t: simulate_hmm(10, [1.0, 0.0], [[0.5, 0.6], [0.5, 0.5]],
                                                           means=[[0.0], [1.0]], covars=[[1.0], [1.0]]), "transmat"),
    ("simulate_censored_exponential: rate", lambda t: simulate_censored_exponential(10, rate=-1.0), "rate"),
    ("simulate_genotype_likelihoods: depth", lambda t: simulate_genotype_likelihoods(PAIRS, depth=0.0), "depth"),
    ("switch_error: shapes", lambda t: switch_error(np.zeros((3, 2, 4)), np.zeros((3, 2, 5))), "shape"),
]


@pytest.mark.parametrize(("label", "call", "word"), FUNCTION_CASES, ids=[c[0] for c in FUNCTION_CASES])
def test_public_functions_refuse_bad_arguments_naming_them(label, call, word, tmp_path):
    with pytest.raises(BAD) as err:
        call(tmp_path)
    assert word in str(err.value), f"the message does not name {word!r}: {err.value}"
