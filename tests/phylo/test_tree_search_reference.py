"""StructuralEM's tree searches against IQ-TREE 2's on the simulated
alignments of tests/references/phylo/ (IQ-TREE's trees and scores stored by
make_simulation_reference.py; no tool runs here). The issue's targets: on the
easy sets a log-likelihood within 0.01 of IQ-TREE's best (its tree
re-optimised with tight settings) and a Robinson-Foulds distance to the true
tree no larger than IQ-TREE's; on the hard 30-taxon set a log-likelihood at
most 0.1% below IQ-TREE's. The hard set runs in the suite (~10 s); the
easy sets (6-40 s each) are marked slow (the suite's 10-minute budget)."""

import json
import warnings
from pathlib import Path

import pytest

pytest.importorskip("dendropy")

from latentlab.phylo import StructuralEM, read_alignment, robinson_foulds  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DATASETS = json.loads((ROOT / "tests" / "references" / "phylo" / "simulation_reference.json").read_text())["datasets"]
SLOW = {"jc20_1000", "hky20_1000", "jc20_5000", "hky20_5000", "jc50_2000", "hky50_2000"}


def _search(name):
    ref = DATASETS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = StructuralEM(ref["model"], random_state=0).fit(read_alignment(ROOT / ref["alignment"]))
    return fit, ref, (ROOT / ref["true_tree"]).read_text()


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n
                                  for n in DATASETS if not n.startswith("hard")])
def test_the_search_matches_iqtree_on_an_easy_set(name):
    fit, ref, truth = _search(name)
    assert fit.loglik_ >= ref["iqtree"]["refit"]["loglik"] - 0.01
    assert robinson_foulds(fit.tree_, truth, normalized=True) <= ref["iqtree"]["nrf_to_true"]


def test_the_hard_set_is_within_a_thousandth_of_iqtree():
    """Internal branches of 0.002-0.02 and 500 sites: the tools disagree
    with each other; the log-likelihood is held to IQ-TREE's (within the
    issue's 0.1% and within 0.01, as reported) and the distance to the truth
    to IQ-TREE's (the distances to each tool's tree are printed by
    benchmarks/phylo.py)."""
    fit, ref, truth = _search("hard30_500")
    best = ref["iqtree"]["refit"]["loglik"]
    assert fit.loglik_ >= best - 1e-3 * abs(best)  # the bound
    assert fit.loglik_ >= best - 0.01  # what docs/phylo.md reports: IQ-TREE's maximum
    assert robinson_foulds(fit.tree_, truth, normalized=True) <= ref["iqtree"]["nrf_to_true"]
