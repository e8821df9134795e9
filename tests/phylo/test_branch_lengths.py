"""BranchLengthEM: the engine contract, agreement with a direct numerical
maximisation of an independent likelihood, monotone plain EM, recovery of
simulated branch lengths, estimator conventions and bad settings."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize

from latentlab.em.testing import check_model
from latentlab.phylo import GTR, HKY85, JC69, Alignment, BranchLengthEM, Tree, robinson_foulds, simulate_alignment
from latentlab.phylo.branch_lengths import BranchLengthModel

from .independent import hky_rate_matrix, internal_sum_loglik, transitions

SIX = Tree.from_newick("((a:0.1,b:0.2):0.05,(c:0.3,f:0.07):0.02,(d:0.1,e:0.15):0.1);")
TRUE_HKY = HKY85(4.0, [0.3, 0.2, 0.2, 0.3])


def _halves(data: Alignment):
    h = data.n_patterns // 2
    return [Alignment(data.names, data.patterns[:, s], data.weights[s]) for s in (slice(None, h), slice(h, None))]


@pytest.mark.parametrize(("substitution", "estimate_freqs"), [(JC69(), False), (HKY85(2.0), True),
                                                              (GTR(freqs=[0.3, 0.2, 0.2, 0.3]), False)],
                         ids=["JC69", "HKY85-estimated-freqs", "GTR"])
def test_the_model_keeps_the_engine_contract(substitution, estimate_freqs):
    data = simulate_alignment(SIX, TRUE_HKY, 300, random_state=0).take(SIX.names)
    check_model(BranchLengthModel(SIX, substitution, estimate_freqs), data, parts=_halves(data), n_steps=10)


def _direct_maximum(data: Alignment, kappa_free: bool, freqs):
    """The MLE by BFGS on the enumerated likelihood with complex-step gradients
    (log lengths, and log kappa under HKY85)."""
    def minus_loglik(x):
        kappa = np.exp(x[-1]) if kappa_free else 1.0
        P = transitions(np.exp(x[: SIX.n_branches]), hky_rate_matrix(kappa, freqs))
        return -internal_sum_loglik(SIX.parent, SIX.n_tips, P, freqs, data.partials, data.weights)

    x0 = np.log(np.full(SIX.n_branches + kappa_free, 0.1 if not kappa_free else 1.0))
    fit = optimize.minimize(minus_loglik, x0, method="BFGS", jac="cs", options=dict(gtol=1e-8))
    return np.exp(fit.x), -fit.fun


@pytest.mark.parametrize("substitution", ["JC69", "HKY85"])
def test_em_equals_direct_numerical_maximisation(substitution):
    data = simulate_alignment(SIX, TRUE_HKY, 500, random_state=1).take(SIX.names)
    fit = BranchLengthEM(substitution).fit(data, SIX)
    hky = substitution == "HKY85"
    freqs = data.base_frequencies() if hky else np.full(4, 0.25)
    direct, loglik = _direct_maximum(data, hky, freqs)
    em = np.append(fit.result_.params.lengths, fit.substitution_.rates)
    np.testing.assert_allclose(em, direct, rtol=1e-6)
    assert fit.loglik_ == pytest.approx(loglik, abs=1e-8)


def _random_newick(rng, n: int) -> str:
    nodes = [f"t{i}:{rng.uniform(0.01, 0.8):.4f}" for i in range(n)]
    while len(nodes) > 3:
        i, j = sorted(rng.choice(len(nodes), 2, replace=False))
        joined = f"({nodes[i]},{nodes[j]}):{rng.uniform(0.005, 0.3):.4f}"
        nodes = [x for k, x in enumerate(nodes) if k not in (i, j)] + [joined]
    return f"({','.join(nodes)});"


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n_taxa=st.integers(4, 7), model=st.sampled_from(["JC69", "HKY85", "GTR"]))
def test_plain_em_never_lowers_the_loglik(seed, n_taxa, model):
    rng = np.random.default_rng(seed)
    tree = Tree.from_newick(_random_newick(rng, n_taxa))
    data = simulate_alignment(tree, TRUE_HKY, 120, random_state=seed)
    frequencies = "estimated" if model != "JC69" else "empirical"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = BranchLengthEM(model, frequencies=frequencies, accelerate=None, tol=0, max_iter=15,
                             random_state=seed).fit(data, tree.with_lengths(np.full(tree.n_branches, 0.3)))
    trace = np.asarray(fit.result_.trace)
    assert np.all(np.diff(trace) >= -1e-10 * (1.0 + np.abs(trace[:-1])))


def test_recovers_simulated_branch_lengths_and_kappa():
    """20,000 sites: standard errors of 1-3% of each length; every estimate
    within 4 standard errors of the truth."""
    tree = Tree.from_newick("((a:0.1,b:0.2):0.05,(c:0.3,(g:0.05,h:0.12):0.08):0.02,(d:0.1,e:0.15):0.1);")
    data = simulate_alignment(tree, TRUE_HKY, 20_000, random_state=3)
    fit = BranchLengthEM("HKY85").fit(data, tree.with_lengths(np.full(tree.n_branches, 0.1)))
    table = fit.summary().set_index("parameter")
    truth = dict(zip(fit.model_.labels(), [*tree.lengths, 4.0]))
    z = (table["estimate"] - [truth[p] for p in table.index]) / table["std_error"]
    assert np.all(np.abs(z) < 4), z.to_dict()
    assert np.all(table["std_error"] < 0.1 * table["estimate"])


def test_fitted_tree_is_the_input_topology_with_the_fitted_lengths():
    data = simulate_alignment(SIX, TRUE_HKY, 300, random_state=4)
    rooted = "(((a,b),(c,f)),(d,e));"
    fit = BranchLengthEM("K80").fit(data, rooted)
    unrooted = BranchLengthEM("K80").fit(data, SIX)
    assert robinson_foulds(fit.tree_, SIX) == 0
    assert fit.loglik_ == pytest.approx(unrooted.loglik_, abs=1e-7)
    fitted = Tree.from_newick(fit.tree_)
    np.testing.assert_allclose(sorted(fitted.lengths), sorted(fit.branch_lengths_), rtol=1e-9)
    assert set(fit.branch_lengths_.index) >= {"a", "f", "a,b", "d,e"}
    assert list(fit.summary()["parameter"])[-1] == "kappa"


@pytest.mark.parametrize(("settings_", "word"), [
    (dict(substitution="F81"), "substitution"), (dict(substitution=3), "substitution"),
    (dict(frequencies="observed"), "frequencies"), (dict(substitution="JC69", frequencies="estimated"), "frequencies"),
    (dict(min_length=0.0), "min_length"), (dict(max_length=-1.0), "max_length"),
    (dict(min_length=1.0, max_length=0.5), "min_length"), (dict(score_tol=0.0), "score_tol"),
    (dict(tol=-1.0), "tol"),
])
def test_bad_settings_are_refused_by_name(settings_, word):
    data = simulate_alignment(SIX, TRUE_HKY, 50, random_state=5)
    with pytest.raises((ValueError, TypeError), match=word):
        BranchLengthEM(**settings_).fit(data, SIX)


def test_tips_and_sequences_must_match():
    data = simulate_alignment(SIX, TRUE_HKY, 50, random_state=5)
    with pytest.raises(ValueError, match="'z'"):
        BranchLengthEM().fit(data, "((a,b),(c,z),(d,e,f));")
