"""The compiled pruning and outside passes against enumeration of every
assignment of states to the nodes of a 4-taxon tree, and no underflow on a
large tree."""

import numpy as np
import pytest

from latentlab.phylo import HKY85, JC69, Alignment, Tree, simulate_alignment
from latentlab.phylo.branch_lengths import BranchGammaParams, BranchLengthModel, BranchParams

from .independent import enumerate_states, gamma_category_rates, hky_rate_matrix, transitions

QUARTET = Tree.from_newick("((a:0.1,b:0.25):0.07,(c:0.4,d:0.02):0.3);")  # rooted: collapsed to 5 branches
SEQS = {"a": "ACGTTGCAAR-", "b": "ACGTAGCTAAN", "c": "ACCTAGGTCAC", "d": "TCGTAGGTCYA"}


@pytest.mark.parametrize(("model", "kappa", "freqs"), [
    (JC69(), 1.0, np.full(4, 0.25)), (HKY85(5.0, [0.1, 0.2, 0.3, 0.4]), 5.0, np.array([0.1, 0.2, 0.3, 0.4])),
], ids=["JC69", "HKY85"])
def test_pruning_and_expected_counts_equal_enumeration(model, kappa, freqs):
    data = Alignment.from_sequences(SEQS).take(QUARTET.names)
    em = BranchLengthModel(QUARTET, model)
    params = BranchParams(QUARTET.lengths, model.rates)
    stats, ll = em.e_step(data, params)
    P = transitions(QUARTET.lengths, hky_rate_matrix(kappa, freqs))
    site, pairs = enumerate_states(QUARTET.parent, QUARTET.n_tips, P, freqs, data.partials)
    assert ll == pytest.approx(data.weights @ np.log(site), rel=1e-13)
    np.testing.assert_allclose(stats.pairs[0], np.einsum("p,cpab->cab", data.weights, pairs), rtol=1e-11, atol=1e-13)


def test_root_counts_are_the_posterior_of_the_root_state():
    data = Alignment.from_sequences(SEQS).take(QUARTET.names)
    em = BranchLengthModel(QUARTET, JC69())
    stats, _ = em.e_step(data, BranchParams(QUARTET.lengths, np.zeros(0)))
    P = transitions(QUARTET.lengths, hky_rate_matrix(1.0, np.full(4, 0.25)))
    _, pairs = enumerate_states(QUARTET.parent, QUARTET.n_tips, P, np.full(4, 0.25), data.partials)
    root_child = int(np.flatnonzero(QUARTET.parent == QUARTET.n_nodes - 1)[0])
    np.testing.assert_allclose(stats.root, np.einsum("p,pab->a", data.weights, pairs[root_child]), rtol=1e-11)


@pytest.mark.parametrize("alpha", [0.3, 1.7])
def test_gamma_categories_equal_enumeration_in_each_category(alpha):
    """L_p = (1/K) sum_k L_pk with the lengths times r_k; the counts of
    category k weigh each pattern by Pr(k | p) = L_pk / (K L_p)."""
    data = Alignment.from_sequences(SEQS).take(QUARTET.names)
    model = HKY85(5.0, [0.1, 0.2, 0.3, 0.4])
    em = BranchLengthModel(QUARTET, model, gamma_categories=4)
    params = BranchGammaParams(QUARTET.lengths, model.rates, np.array([alpha]))
    rates = gamma_category_rates(alpha, 4)
    np.testing.assert_allclose(em.category_rates(params), rates, rtol=1e-8)
    stats_, ll = em.e_step(data, params)
    q = hky_rate_matrix(5.0, model.freqs)
    sites, pairs = zip(*(enumerate_states(QUARTET.parent, QUARTET.n_tips, transitions(r * QUARTET.lengths, q),
                                          model.freqs, data.partials) for r in rates))
    site = np.mean(sites, axis=0)
    assert ll == pytest.approx(data.weights @ np.log(site), rel=1e-8)
    posterior = np.array(sites) / (4 * site)
    want = np.einsum("p,kp,kcpab->kcab", data.weights, posterior, np.array(pairs))
    np.testing.assert_allclose(stats_.pairs, want, rtol=1e-7, atol=1e-10)


def test_no_underflow_on_a_large_tree_and_patterns_add():
    rng = np.random.default_rng(0)
    newick = _caterpillar(300, rng)
    tree = Tree.from_newick(newick)
    data = simulate_alignment(tree, JC69(), 200, random_state=1)
    em = BranchLengthModel(tree, JC69())
    params = BranchParams(tree.lengths, np.zeros(0))
    ll = em.loglik(data, params)
    assert np.isfinite(ll) and ll < -50_000  # each site's likelihood is far below the smallest double
    half = data.n_patterns // 2
    parts = [Alignment(data.names, data.patterns[:, s], data.weights[s]) for s in (slice(None, half), slice(half, None))]
    assert sum(em.loglik(p, params) for p in parts) == pytest.approx(ll, rel=1e-12)


def _caterpillar(n: int, rng) -> str:
    newick = "t0:0.5"
    for i in range(1, n - 1):
        newick = f"({newick},t{i}:{rng.uniform(0.2, 1.0):.3f}):{rng.uniform(0.05, 0.3):.3f}"
    return f"({newick},t{n - 1}:0.5);"


def test_ancestral_states_equal_the_enumerated_posteriors():
    """Each internal node's posterior state probabilities, per pattern, equal
    the marginals of the enumerated joint posteriors of its branches."""
    data = Alignment.from_sequences(SEQS).take(QUARTET.names)
    freqs = np.array([0.3, 0.2, 0.2, 0.3])
    model = HKY85(2.5, freqs)
    em = BranchLengthModel(QUARTET, model)
    params = BranchParams(QUARTET.lengths, model.rates)
    P = transitions(QUARTET.lengths, hky_rate_matrix(2.5, freqs))
    _, pairs = enumerate_states(QUARTET.parent, QUARTET.n_tips, P, freqs, data.partials)
    root = QUARTET.n_nodes - 1
    for v in range(QUARTET.n_tips, QUARTET.n_nodes):
        if v == root:
            expected = pairs[int(np.flatnonzero(QUARTET.parent == root)[0])].sum(axis=2)  # the parent end of a root branch
        else:
            expected = pairs[v].sum(axis=1)  # the child end of v's own branch
        np.testing.assert_allclose(em.ancestral_states(data, params, v), expected, rtol=1e-11, atol=1e-14)


def test_the_estimator_reports_ancestral_states_site_by_site():
    from latentlab.phylo import BranchLengthEM

    text = "".join(f">{name}\n{seq}\n" for name, seq in SEQS.items())
    fit = BranchLengthEM("JC69", random_state=0).fit(text, QUARTET)
    table = fit.ancestral_states()
    n_sites = len(next(iter(SEQS.values())))
    assert list(table.columns) == ["A", "C", "G", "T", "state"] and len(table) == n_sites
    probs = table[["A", "C", "G", "T"]].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-12)
    per_pattern = fit.model_.ancestral_states(fit.alignment_, fit.result_.params, QUARTET.n_nodes - 1)
    np.testing.assert_array_equal(probs, per_pattern[fit.alignment_.site_patterns])
    with pytest.raises(ValueError, match="not tips of the fitted tree"):
        fit.ancestral_states(["nobody"])


def test_a_clade_is_either_side_of_a_branch():
    """In ((a,b),c,d) held at the node joining (a,b), c and d: ["a", "b"]
    names the node above a and b; ["c", "d"], the other side of that branch,
    names the node at its other end (the root); a split that is not a branch
    of the tree, or one tip, is refused."""
    from latentlab.phylo import BranchLengthEM

    tree = "((a:0.1,b:0.2):0.05,c:0.3,d:0.2);"
    data = simulate_alignment(tree, JC69(), 50, random_state=0)
    fit = BranchLengthEM("JC69", random_state=0).fit(data, tree)
    assert fit._clade_node(["a", "b"]) == 4 and fit._clade_node(["c", "d"]) == 5 == fit._clade_node("root")
    np.testing.assert_array_equal(fit.ancestral_states(["c", "d"]).to_numpy(), fit.ancestral_states().to_numpy())
    for bad in (["a", "c"], ["a"], ["a", "b", "c"]):
        with pytest.raises(ValueError, match="one side of a branch"):
            fit.ancestral_states(bad)
