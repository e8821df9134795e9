"""Tree searches by IQ-TREE 2, PhyML and FastTree on simulated alignments
(stored output of tests/references/phylo/make_simulation_reference.py; no
tool is run here): the stored files agree with each other and with the seeds
that made them, IQ-TREE's best tree scores at least as well as the true
topology, and BranchLengthEM reaches IQ-TREE's maximum on IQ-TREE's tree."""

import json
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("dendropy")

from latentlab.phylo import (  # noqa: E402  (after the DendroPy check)
    HKY85,
    JC69,
    BranchLengthEM,
    Tree,
    random_tree,
    read_alignment,
    robinson_foulds,
    simulate_alignment,
)
from latentlab.phylo.branch_lengths import BranchLengthModel, BranchParams  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = json.loads((ROOT / "tests" / "references" / "phylo" / "simulation_reference.json").read_text())
DATASETS = REFERENCE["datasets"]
TOOLS = ("iqtree", "phyml", "fasttree")


def _alignment(name):
    return read_alignment(ROOT / DATASETS[name]["alignment"])


def _substitution(name, kappa, alignment):
    return JC69() if DATASETS[name]["model"] == "JC69" else HKY85(kappa, alignment.base_frequencies())


def test_the_reference_holds_every_data_set_and_tool():
    assert set(DATASETS) == {"jc20_1000", "jc20_5000", "hky20_1000", "hky20_5000", "jc50_2000", "hky50_2000",
                             "hard30_500"}
    for ref in DATASETS.values():
        assert set(TOOLS) <= set(ref) and "iqtree_true_topology" in ref
        for tool in TOOLS:
            assert np.isfinite(ref[tool]["loglik"]) and ref[tool]["seconds"] > 0 and ref[tool]["command"]


@pytest.mark.parametrize("name", DATASETS)
def test_every_stored_tree_has_the_alignments_tips(name):
    ref, alignment = DATASETS[name], _alignment(name)
    assert alignment.n_taxa == ref["n_taxa"] and alignment.n_sites == ref["n_sites"]
    trees = {"true": Tree.from_newick(ROOT / ref["true_tree"]),
             "true topology refit": Tree.from_newick(ref["iqtree_true_topology"]["tree"])}
    for tool in TOOLS:
        trees[tool] = Tree.from_newick(ref[tool]["tree"])
        trees[f"{tool} refit"] = Tree.from_newick(ref[tool]["refit"]["tree"])
    for label, tree in trees.items():
        assert sorted(tree.names) == sorted(alignment.names), label
        assert tree.is_bifurcating(), label


def _split_lengths(tree):
    """Each branch's length keyed by its split (the side without the first tip in name order)."""
    first, every = min(tree.names), frozenset(tree.names)
    return {(every - frozenset(c) if first in c else frozenset(c)): t for c, t in zip(tree.clades(), tree.lengths)}


@pytest.mark.parametrize("name", DATASETS)
def test_the_stored_inputs_are_what_the_seeds_give(name):
    """The FASTA and Newick files are random_tree and simulate_alignment at the
    stored seeds: if the simulators' streams change, rerun the script."""
    ref = DATASETS[name]
    tree = random_tree(ref["n_taxa"], ref["tree_seed"], internal=ref["internal"], external=ref["external"])
    stored = Tree.from_newick(ROOT / ref["true_tree"])
    assert robinson_foulds(tree, stored) == 0
    assert _split_lengths(stored) == pytest.approx(_split_lengths(tree), rel=1e-11)
    model = JC69() if ref["model"] == "JC69" else HKY85(REFERENCE["simulation"]["kappa"],
                                                         REFERENCE["simulation"]["frequencies_ACGT"])
    simulated, alignment = simulate_alignment(tree, model, ref["n_sites"], ref["alignment_seed"]), _alignment(name)
    assert simulated.names == alignment.names
    np.testing.assert_array_equal(simulated.patterns, alignment.patterns)
    np.testing.assert_array_equal(simulated.weights, alignment.weights)


@pytest.mark.parametrize("name", DATASETS)
def test_stored_robinson_foulds_distances(name):
    ref = DATASETS[name]
    for tool in TOOLS:
        tree = ref[tool]["tree"]
        assert ref[tool]["nrf_to_true"] == robinson_foulds(tree, ROOT / ref["true_tree"], normalized=True)
        assert ref[tool]["nrf_to_iqtree"] == robinson_foulds(tree, ref["iqtree"]["tree"], normalized=True)
        assert robinson_foulds(tree, ref[tool]["refit"]["tree"]) == 0  # the refit keeps the topology


@pytest.mark.parametrize("name", DATASETS)
def test_iqtree_best_tree_scores_at_least_the_true_topology(name):
    """The search's tree, re-optimised with the same settings as the true
    topology, is at least as likely; so is the search's own (looser) score."""
    ref = DATASETS[name]
    true_loglik = ref["iqtree_true_topology"]["loglik"]
    assert ref["iqtree"]["refit"]["loglik"] >= true_loglik - 1e-6
    assert ref["iqtree"]["loglik"] >= true_loglik - 1e-4


@pytest.mark.parametrize("name", DATASETS)
def test_phyml_and_iqtree_agree_on_phymls_tree(name):
    """Same model, same topology: PhyML's score and IQ-TREE's re-optimisation of PhyML's tree."""
    ref = DATASETS[name]
    assert ref["phyml"]["loglik"] == pytest.approx(ref["phyml"]["refit"]["loglik"], abs=1e-3)


@pytest.mark.parametrize("name", DATASETS)
def test_loglik_at_iqtree_fitted_trees_equals_iqtree(name):
    """latentlab's likelihood at each of IQ-TREE's fitted trees (its branch lengths and kappa) is IQ-TREE's."""
    ref, alignment = DATASETS[name], _alignment(name)
    fits = [ref["iqtree_true_topology"], *(ref[tool]["refit"] for tool in TOOLS)]
    for fit in fits:
        tree = Tree.from_newick(fit["tree"])
        sub = _substitution(name, fit["kappa"], alignment)
        loglik = BranchLengthModel(tree, sub).loglik(alignment.take(tree.names), BranchParams(tree.lengths, sub.rates))
        assert loglik == pytest.approx(fit["loglik"], abs=1e-5)


def _em_on_topology(name, tool):
    """BranchLengthEM on a tool's topology alone (its lengths dropped): its fit and wall time."""
    ref = DATASETS[name]
    tree = Tree.from_newick(ref[tool]["tree"])
    tree = tree.with_lengths(np.full(tree.n_branches, np.nan))
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = BranchLengthEM(ref["model"], min_length=1e-8, max_length=10.0, random_state=0).fit(_alignment(name), tree)
    return fit, time.perf_counter() - start


@pytest.mark.parametrize("name", DATASETS)
def test_branch_length_em_reaches_iqtrees_maximum_on_its_tree(name):
    """From IQ-TREE's best topology, EM ends at IQ-TREE's maximum: its
    re-optimisation with tight settings (to 1e-4) and the search's own score
    (to 1e-3); kappa to 1e-3 relative. About 0.1 to 0.7 s a data set."""
    ref = DATASETS[name]
    fit, seconds = _em_on_topology(name, "iqtree")
    assert fit.converged_, f"{name}: EM did not converge in {fit.n_iter_} iterations ({seconds:.1f} s)"
    assert robinson_foulds(fit.tree_, ref["iqtree"]["tree"]) == 0
    assert fit.loglik_ == pytest.approx(ref["iqtree"]["refit"]["loglik"], abs=1e-4)
    assert fit.loglik_ == pytest.approx(ref["iqtree"]["loglik"], abs=1e-3)
    if ref["model"] == "HKY85":
        assert fit.substitution_.rates[0] == pytest.approx(ref["iqtree"]["refit"]["kappa"], rel=1e-3)


@pytest.mark.parametrize("tool", ["phyml", "fasttree"])
def test_branch_length_em_reaches_iqtrees_maximum_on_the_other_tools_trees_in_the_hard_case(tool):
    """hard30_500, where PhyML's and FastTree's trees differ from IQ-TREE's:
    EM on each equals IQ-TREE's re-optimisation of that tree under HKY."""
    ref = DATASETS["hard30_500"][tool]
    fit, _ = _em_on_topology("hard30_500", tool)
    assert fit.converged_
    assert fit.loglik_ == pytest.approx(ref["refit"]["loglik"], abs=1e-4)
