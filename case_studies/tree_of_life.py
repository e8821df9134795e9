"""Tree of life: evolutionary trees from aligned DNA by structural EM.

The sequences of the extinct ancestors at a tree's internal nodes are the
missing data. On a fixed tree, EM's E-step gives the expected substitutions
on every branch and its M-step the branch lengths and substitution
parameters; structural EM (Friedman, Ninio, Pe'er & Pupko 2002) also moves
the tree's topology, and the likelihood never falls. This study first
recovers simulated trees of known topology and branch lengths as the
alignment grows, then reconstructs the tree of 14 primates from their
mitochondrial DNA under JC69, HKY85 and GTR, compares it with IQ-TREE 2's,
and reconstructs the sequence of their common ancestor.

Modes: the default run reads the simulation study from
``case_studies/results/tree_of_life_replicates.csv`` (written by
``run(full=True)``; the same seeds give the same numbers; without the file
it runs one replicate per alignment length) and fits the primates by
searches chained from the JC69 tree (HKY85 from the JC69 tree with two
perturbations, GTR and HKY85+G4 from the HKY85 tree). ``full=True`` also
reruns every model's search from the neighbour-joining tree with the
default ten perturbations and reports whether it ends on the same tree.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from latentlab import NumericalError
from latentlab.phylo import (
    HKY85,
    BranchLengthEM,
    StructuralEM,
    Tree,
    random_tree,
    read_alignment,
    robinson_foulds,
    simulate_alignment,
)
from latentlab.report import Report, replicate_results

NAME = "tree_of_life"
ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "phylo" / "primates.fasta"
IQTREE = Path(__file__).resolve().parent / "results" / "iqtree_primates_searches.csv"
RESULTS = Path(__file__).resolve().parent / "results" / f"{NAME}_replicates.csv"
SEED = 2026
N_TAXA, KAPPA, FREQS = 20, 4.0, [0.3, 0.2, 0.2, 0.3]
SITES = (250, 500, 1000, 2000)
PRIMATES = ["Lemur", "Tarsier", "Squir_Monk", "Jpn_Macaq", "Rhesus_Mac", "Crab-E.Mac", "BarbMacaq", "Gibbon", "Orang",
            "Gorilla", "Chimp", "Human"]
TRUTH = random_tree(N_TAXA, random_state=SEED, internal=(0.01, 0.05), external=(0.05, 0.3))


def replicate_study(n_replicates: int) -> pd.DataFrame:
    """``n_replicates`` alignments of each length on the true tree (HKY85,
    independent seeds), each fitted by StructuralEM from its
    neighbour-joining tree; the true topology's own maximum (BranchLengthEM)
    is the yardstick of the search."""
    seeds = np.random.SeedSequence(SEED).spawn(len(SITES) * n_replicates)
    rows = []
    truth_length = float(TRUTH.lengths.sum())
    for k, (sites, replicate) in enumerate((s, r) for s in SITES for r in range(n_replicates)):
        aln = simulate_alignment(TRUTH, HKY85(KAPPA, FREQS), sites, random_state=seeds[k])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = StructuralEM("HKY85", random_state=k, progress=False).fit(aln)
            on_truth = BranchLengthEM("HKY85", random_state=k, progress=False).fit(aln, TRUTH)
        rows.append({"sites": sites, "replicate": replicate,
                     "rf_to_truth": robinson_foulds(fit.tree_, TRUTH, normalized=True),
                     "loglik_minus_true_topology": fit.loglik_ - on_truth.loglik_,
                     "kappa": float(fit.substitution_.rates[0]),
                     "tree_length_ratio": float(fit.branch_lengths_.sum()) / truth_length})
    return pd.DataFrame(rows)


def _simulations(report: Report, full: bool) -> None:
    results, source = replicate_results(RESULTS, replicate_study, 10, 1, full)
    summary = results.groupby("sites").agg(
        replicates=("replicate", "size"),
        median_rf=("rf_to_truth", "median"),
        exact_trees=("rf_to_truth", lambda x: int(np.sum(x == 0))),
        min_loglik_gain=("loglik_minus_true_topology", "min"),
        mean_kappa=("kappa", "mean"),
        mean_tree_length_ratio=("tree_length_ratio", "mean"),
    ).reset_index()
    report.text(
        f"## Simulated trees\n\nOne random tree of {N_TAXA} taxa (uniform over topologies, "
        "`random_tree(20, random_state=2026, internal=(0.01, 0.05), external=(0.05, 0.3))`: short internal "
        f"branches make the topology hard to see in short alignments); alignments of {', '.join(map(str, SITES))} "
        f"sites simulated on it under HKY85 (kappa = {KAPPA:g}, frequencies {FREQS}), each fitted by "
        "StructuralEM from its neighbour-joining tree with the default settings. The search's yardstick is "
        "the true topology's own maximum likelihood: a found tree as likely or more is as good as the data "
        f"can tell. {source}"
    )
    report.table(summary, "Recovery of the true tree as the alignment grows (RF: normalised Robinson-Foulds "
                 "distance to the true tree, 0 = the same topology; loglik gain: the found tree's maximum minus "
                 "the true topology's, worst replicate)", floatfmt=".3f")
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    ax.plot(results["sites"], results["rf_to_truth"], "o", alpha=0.5, label="replicates")
    ax.plot(summary["sites"], summary["median_rf"], "-", color="black", label="median")
    ax.set_xscale("log")
    ax.set_xlabel("alignment length (sites)")
    ax.set_ylabel("normalised RF distance to the truth")
    ax.legend()
    report.figure(fig, "recovery", "Distance of the structural-EM tree from the true tree against alignment length")


def _primates(report: Report, full: bool) -> None:
    aln = read_alignment(DATA)
    iqtree = pd.read_csv(IQTREE).set_index("model")
    caught: list[str] = []
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        fits = {"JC69": StructuralEM("JC69", random_state=0, progress=False).fit(aln)}
        fits["HKY85"] = StructuralEM("HKY85", n_perturbations=2, random_state=0, progress=False).fit(
            aln, fits["JC69"].tree_)
        fits["GTR"] = StructuralEM("GTR", n_perturbations=0, random_state=0, progress=False).fit(
            aln, fits["HKY85"].tree_)
        fits["HKY85+G4"] = StructuralEM("HKY85", gamma_categories=4, n_perturbations=0, random_state=0,
                                        progress=False).fit(aln, fits["HKY85"].tree_)
        tables, no_errors = {}, {}
        for model, fit in fits.items():
            try:
                tables[model] = fit.summary()
            except NumericalError as err:  # reported below, not hidden
                no_errors[model] = str(err)
    caught = sorted({f"{type(w.message).__name__}: {w.message}" for w in seen})
    caught += [f"{model}: NumericalError: {message}" for model, message in no_errors.items()]
    reference = {"JC69": "JC", "HKY85": "HKY", "GTR": "GTR"}
    rows = []
    for model, fit in fits.items():
        ref = iqtree.loc[reference[model]] if model in reference else None
        rows.append({"model": model, "log-likelihood": fit.loglik_, "parameters": fit.n_parameters_,
                     "AIC": fit.aic(), "IQ-TREE search": ref["loglik"] if ref is not None else np.nan,
                     "RF to IQ-TREE's tree": robinson_foulds(fit.tree_, ref["tree"]) if ref is not None else np.nan,
                     "primates a clade": _splits(fit.tree_, PRIMATES), "substitution model": repr(fit.substitution_)})
    report.text(
        "## Primates\n\nThe mitochondrial DNA of 14 primates (Hayasaka, Gojobori & Horai 1988; 232 sites; "
        "R package phangorn's `primates`). StructuralEM under JC69 starts from the neighbour-joining tree; "
        "HKY85 from the JC69 tree, GTR and HKY85 with four gamma rate categories (+G4) from the HKY85 tree. "
        "IQ-TREE 2.0.7's own searches under JC, HKY and GTR (single thread, branch lengths in [1e-8, 10]) "
        "are stored by `tests/references/phylo/make_iqtree_reference.py`; its reported log-likelihoods come "
        "from its own last optimisation, which stops early under HKY and GTR."
    )
    report.table(pd.DataFrame(rows), "Primates: the maximum-likelihood trees by structural EM and IQ-TREE's",
                 floatfmt=".4f")
    report.text(
        "Under HKY85 and GTR the maximum sits on the boundary of the parameter space, as in IQ-TREE's fits: "
        "the transition/transversion ratio is large (kappa in the tens), and some parameters reach their "
        "bounds (branch lengths 1e-8 and 10 substitutions per site, rates 1e-4 and 100):\n\n"
        + "\n".join(f"- {model}: {_at_bounds(fit)}" for model, fit in fits.items())
        + "\n\nA branch at 10 substitutions per site is saturated: Mouse's sequence is as good as random "
        "against the others'. Parameters on a bound have no Wald interval, and where the likelihood is flat "
        "in a direction inside the space the observed information is not positive definite and there are no "
        "standard errors at all; the fits said so:\n\n" + "\n".join(f"- {w}" for w in caught)
    )
    table = tables["HKY85"]
    report.table(table[table["parameter"].isin(["kappa", "lengths[Mouse]", "lengths[Human]"])],
                 "HKY85: kappa and two branch lengths with standard errors (NaN on the boundary)", floatfmt=".4g")
    report.text(
        "Only the JC69 maximum keeps the primates together (the column 'primates a clade'); under the "
        "richer models the outgroup's long branches join primate branches, with branch lengths of several "
        "substitutions per site (IQ-TREE's searches under HKY and GTR end on the same trees). The JC69 tree "
        "is drawn below and used for the primates' ancestor."
    )
    fig, ax = plt.subplots(figsize=(7, 5))
    fits["JC69"].plot_tree(ax=ax)
    ax.set_title("Primates: JC69 maximum-likelihood tree")
    report.figure(fig, "primates_tree", "The JC69 tree of the primates by structural EM")
    ancestor = fits["JC69"].ancestral_states(PRIMATES)
    confidence = ancestor[list("ACGT")].max(axis=1)
    report.text(
        "### The primates' common ancestor\n\nMarginal posterior of each site's base at the node above the 12 "
        "primates (the mouse and the cow are the outgroup), under JC69 at the fitted parameters. Most "
        f"probable sequence, first 60 sites: `{ancestor['state'].str.cat()[:60]}`. Sites whose most probable "
        f"base has posterior > 0.95: {int((confidence > 0.95).sum())} of {len(ancestor)}; below 0.5: "
        f"{int((confidence < 0.5).sum())}."
    )
    report.table(ancestor.head(8), "Posteriors at the primates' common ancestor, first sites", floatfmt=".3f",
                 index=True)
    if full:
        _independent_searches(report, aln, fits)


def _splits(newick: str, names) -> bool:
    """Whether a branch of the tree separates ``names`` from the other tips."""
    tree = Tree.from_newick(newick)
    sides = {frozenset(c) for c in tree.clades()}
    return frozenset(names) in sides or frozenset(set(tree.names) - set(names)) in sides


def _at_bounds(fit) -> str:
    """The fitted parameters at a bound of their interval, by label."""
    model, params = fit.model_, fit.result_.params
    hits, labels = [], iter(model.labels())
    for field in ("lengths", "rates"):
        bounds = model.constraints[field]
        for value in getattr(params, field):
            label = next(labels)
            if value <= bounds.lower * (1 + 1e-6) or value >= bounds.upper * (1 - 1e-6):
                hits.append(f"{label} = {value:.4g}")
    return ", ".join(hits) or "none"


def _independent_searches(report: Report, aln, chained: dict) -> None:
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for model, fit in chained.items():
            gamma = 4 if model.endswith("+G4") else 0
            alone = StructuralEM(model.split("+")[0], gamma_categories=gamma, random_state=1, progress=False).fit(aln)
            rows.append({"model": model, "chained": fit.loglik_, "from neighbour joining": alone.loglik_,
                         "RF between the trees": robinson_foulds(fit.tree_, alone.tree_)})
    report.text("### Independent searches (full run)\n\nEach model's search again from the neighbour-joining "
                "tree, ten perturbations, another seed.")
    report.table(pd.DataFrame(rows), "Chained and independent searches", floatfmt=".4f")


def run(full: bool = False, outdir=None) -> Path:
    report = Report(NAME, "Tree of life: evolutionary trees from aligned DNA by structural EM", outdir)
    report.text(__doc__.split("\n", 2)[2].split("\nModes:")[0])
    report.run_steps({
        "simulated trees": lambda: _simulations(report, full),
        "primates": lambda: _primates(report, full),
    })
    return report.write()


if __name__ == "__main__":
    run()
