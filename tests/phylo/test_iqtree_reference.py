"""Agreement with IQ-TREE 2 on the primate alignment (stored output of
tests/references/phylo/make_iqtree_reference.py; IQ-TREE is not run here):
the same log-likelihood at IQ-TREE's fitted tree, and the same maximum on its
topology under JC and HKY."""

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from latentlab.phylo import HKY85, JC69, BranchLengthEM, Tree, read_alignment, robinson_foulds
from latentlab.phylo.branch_lengths import BranchLengthModel, BranchParams

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = json.loads((ROOT / "tests" / "references" / "phylo" / "iqtree_primates.json").read_text())
ALIGNMENT = read_alignment(ROOT / REFERENCE["alignment"])
MODELS = {"JC": "JC69", "HKY": "HKY85"}


@pytest.fixture(scope="module")
def fits():
    """EM fits from IQ-TREE's starting tree (the HKY fit takes ~2,000 SQUAREM
    cycles: a branch at the upper bound and kappa near 65 make the likelihood flat)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {m: BranchLengthEM(name, random_state=0).fit(ALIGNMENT, REFERENCE["start_tree"])
                for m, name in MODELS.items()}


def test_frequencies_are_iqtree_empirical_counts():
    np.testing.assert_allclose(ALIGNMENT.base_frequencies(), REFERENCE["fits"]["HKY"]["frequencies_ACGT"], atol=5e-5)


@pytest.mark.parametrize("model", MODELS)
def test_loglik_at_iqtree_fitted_tree_equals_iqtree(model):
    ref = REFERENCE["fits"][model]
    tree = Tree.from_newick(ref["tree"])
    kappa = ref["exchangeabilities_AC_AG_AT_CG_CT_GT"][1]
    sub = JC69() if model == "JC" else HKY85(kappa, ALIGNMENT.base_frequencies())
    loglik = BranchLengthModel(tree, sub).loglik(ALIGNMENT.take(tree.names), BranchParams(tree.lengths, sub.rates))
    assert loglik == pytest.approx(ref["loglik"], abs=1e-6)


@pytest.mark.parametrize("model", MODELS)
def test_em_maximum_equals_iqtree(fits, model):
    fit, ref = fits[model], REFERENCE["fits"][model]
    assert fit.converged_
    assert robinson_foulds(fit.tree_, ref["tree"]) == 0
    assert fit.loglik_ == pytest.approx(ref["loglik"], abs=1e-4)


def test_hky_kappa_and_the_branch_at_the_upper_bound(fits):
    """IQ-TREE's fit has Mouse's branch at its upper bound 10 and kappa 65.53 (stored in the reference file);
    the EM's too (its kappa differs in the 3rd digit: the likelihood is flat)."""
    fit, ref = fits["HKY"], REFERENCE["fits"]["HKY"]
    assert fit.substitution_.rates[0] == pytest.approx(ref["exchangeabilities_AC_AG_AT_CG_CT_GT"][1], rel=1e-2)
    assert fit.branch_lengths_["Mouse"] == fit.max_length
    assert Tree.from_newick(ref["tree"]).lengths[0] == pytest.approx(fit.max_length, rel=1e-8)


def test_jc_gamma_on_iqtrees_tree_equals_iqtree():
    """JC+G4 on IQ-TREE's JC tree (IQ-TREE -te, four categories at their
    means): the same maximum and gamma shape. (HKY+G4 takes ~800 SQUAREM
    cycles, 10 s, on the boundary; it is compared by hand in docs/phylo.md.)"""
    ref = REFERENCE["fits"]["JC+G4"]
    fit = BranchLengthEM("JC69", gamma_categories=4, random_state=0).fit(ALIGNMENT, REFERENCE["start_tree"])
    assert fit.loglik_ == pytest.approx(ref["loglik"], abs=1e-4)
    assert fit.result_.params.alpha[0] == pytest.approx(ref["gamma_shape"], rel=1e-3)
