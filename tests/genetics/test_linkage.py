"""Linkage disequilibrium and the test of linkage equilibrium."""

import numpy as np
import pytest
from scipy import stats as sps

from latentlab.genetics import HaplotypeEM

HAPS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])


def _two_locus_sample(n, freqs, rng):
    z = rng.choice(4, size=(n, 2), p=freqs)
    return HAPS[z[:, 0]] + HAPS[z[:, 1]]


def _true_ld(freqs):
    p11 = freqs[3]
    pa, pb = freqs[2] + freqs[3], freqs[1] + freqs[3]
    d = p11 - pa * pb
    dmax = min(pa * (1 - pb), (1 - pa) * pb) if d > 0 else min(pa * pb, (1 - pa) * (1 - pb))
    return d, d / dmax, d * d / (pa * (1 - pa) * pb * (1 - pb))


def test_ld_estimates_are_near_the_truth():
    freqs = np.array([0.5, 0.1, 0.1, 0.3])
    G = _two_locus_sample(2000, freqs, np.random.default_rng(3))
    est = HaplotypeEM(random_state=0).fit(G, loci=["a", "b"])
    table = est.linkage_disequilibrium("a", "b").set_index("measure")
    for measure, truth in zip(["D", "D'", "r2"], _true_ld(freqs)):
        row = table.loc[measure]
        # one sample of 4,000 chromosomes: the estimate is within 4 SE of the truth
        assert abs(row["estimate"] - truth) < 4 * row["std_error"], measure
        assert row["ci_lower"] <= row["estimate"] <= row["ci_upper"]
    assert table.loc["D'", "estimate"] == pytest.approx(table.loc["D", "estimate"] / (0.4 * 0.6), rel=0.2)


def test_ld_matrix_equals_two_locus_measures_on_two_loci():
    G = _two_locus_sample(500, np.array([0.4, 0.2, 0.1, 0.3]), np.random.default_rng(1))
    est = HaplotypeEM(batch_size=2, min_posterior=0.0, tol=1e-12, random_state=0).fit(G)
    pair = est.linkage_disequilibrium(0, 1).set_index("measure")["estimate"]
    for measure in ("D", "D'", "r2"):
        assert est.ld_matrix(measure).iloc[0, 1] == pytest.approx(pair[measure], abs=1e-7)
    assert est.ld_matrix("r2").iloc[0, 0] == pytest.approx(1.0)


def test_equilibrium_likelihood_is_the_closed_form_hardy_weinberg_one():
    rng = np.random.default_rng(7)
    G = np.column_stack([rng.binomial(2, q, size=300) for q in (0.2, 0.5, 0.7)])
    est = HaplotypeEM(random_state=0).fit(G)
    lrt = est.linkage_equilibrium_test()
    closed = 0.0
    for g in G.T:
        q = g.mean() / 2
        closed += np.sum(np.log(np.choose(g, [(1 - q) ** 2, 2 * q * (1 - q), q * q])))
    assert lrt["loglik_equilibrium"] == pytest.approx(closed, abs=1e-6)
    assert lrt["df"] == 8 - 1 - 3
    # independent loci: the test should not reject (this sample's p-value, fixed seed)
    assert lrt["p_value"] > 0.01


def test_equilibrium_is_rejected_under_strong_ld():
    G = _two_locus_sample(300, np.array([0.45, 0.05, 0.05, 0.45]), np.random.default_rng(2))
    lrt = HaplotypeEM(random_state=0).fit(G).linkage_equilibrium_test()
    assert lrt["lr"] > 100 and lrt["p_value"] < 1e-20


def test_ld_input_errors():
    G = _two_locus_sample(50, np.array([0.4, 0.2, 0.1, 0.3]), np.random.default_rng(0))
    est = HaplotypeEM(random_state=0).fit(G, loci=["a", "b"])
    with pytest.raises(ValueError, match="neither a locus name"):
        est.linkage_disequilibrium("a", "c")
    with pytest.raises(ValueError, match="two different loci"):
        est.linkage_disequilibrium("a", 0)
    with pytest.raises(ValueError, match="allele 7 is not observed"):
        est.linkage_disequilibrium("a", "b", allele_a=7)
    with pytest.raises(ValueError, match="measure must be"):
        est.ld_matrix("R")
    labels = np.array([[["x", "y"], ["u", "u"]], [["z", "x"], ["v", "u"]], [["y", "y"], ["u", "v"]]], dtype=object)
    multi = HaplotypeEM(random_state=0).fit(labels)
    with pytest.raises(ValueError, match="name the allele"):
        multi.linkage_disequilibrium(0, 1)
    with pytest.raises(ValueError, match="biallelic"):
        multi.ld_matrix()


@pytest.mark.slow
def test_interval_coverage_over_replicates():
    """200 replicates of 400 individuals: 95% Wald intervals of the haplotype
    frequencies and of D cover the truth about 95% of the time."""
    freqs = np.array([0.5, 0.1, 0.15, 0.25])
    d_true = _true_ld(freqs)[0]
    rng = np.random.default_rng(2024)
    z = sps.norm.ppf(0.975)
    hits_f, hits_d, R = np.zeros(4), 0, 200
    for _ in range(R):
        est = HaplotypeEM(random_state=0).fit(_two_locus_sample(400, freqs, rng))
        tab = est.haplotypes_
        for k, h in enumerate(HAPS):
            row = tab[(tab["L1"] == h[0]) & (tab["L2"] == h[1])].iloc[0]
            hits_f[k] += abs(row["frequency"] - freqs[k]) <= z * row["std_error"]
        d = est.linkage_disequilibrium(0, 1).set_index("measure").loc["D"]
        hits_d += d["ci_lower"] <= d_true <= d["ci_upper"]
    # binomial SD of a coverage estimate from 200 replicates at 0.95 is 0.015: allow 3 SD
    print("coverage of frequencies", hits_f / R, "of D", hits_d / R)
    assert np.all(np.abs(hits_f / R - 0.95) < 0.046)
    assert abs(hits_d / R - 0.95) < 0.046


def test_complete_ld_has_no_dprime_error_and_no_chi_square_reference():
    # haplotype 11 absent: |D'| = 1 sits on the boundary of its range
    G = _two_locus_sample(500, np.array([0.5, 0.25, 0.25, 0.0]), np.random.default_rng(5))
    est = HaplotypeEM(random_state=0).fit(G, loci=["a", "b"])
    table = est.linkage_disequilibrium("a", "b").set_index("measure")
    assert abs(table.loc["D'", "estimate"]) == pytest.approx(1.0)
    assert np.isnan(table.loc["D'", "std_error"]) and np.isfinite(table.loc["D", "std_error"])
    # three haplotypes on two biallelic loci: df = 3 - 1 - 2 = 0
    with pytest.warns(RuntimeWarning, match="no chi-square reference"):
        lrt = est.linkage_equilibrium_test()
    assert lrt["df"] == 0 and np.isnan(lrt["p_value"]) and lrt["lr"] > 0
