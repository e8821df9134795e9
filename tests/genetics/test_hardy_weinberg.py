"""Hardy-Weinberg tests: the exact test against brute-force enumeration, the
likelihood-ratio test against its closed forms."""

import itertools
from fractions import Fraction
from math import factorial

import numpy as np
import pytest
from scipy import stats as sps

from latentlab.genetics import AlleleFrequencies, hwe_exact_test, simulate_genotypes


def exact_p_by_formula(n_aa, n_ab, n_bb):
    """Enumerate every table with the same N and allele counts; exact rational
    probabilities N!/(nAA! nAB! nBB!) 2^nAB nA! nB! / (2N)!; sum those <= observed."""
    n, n_a = n_aa + n_ab + n_bb, 2 * n_aa + n_ab
    n_b = 2 * n - n_a

    def prob(het):
        aa, bb = (n_a - het) // 2, (n_b - het) // 2
        return Fraction(factorial(n) * 2**het * factorial(n_a) * factorial(n_b),
                        factorial(aa) * factorial(het) * factorial(bb) * factorial(2 * n))

    tables = [h for h in range(0, min(n_a, n_b) + 1) if (n_a - h) % 2 == 0]
    probs = {h: prob(h) for h in tables}
    assert sum(probs.values()) == 1
    return float(sum(p for p in probs.values() if p <= probs[n_ab]))


def exact_p_by_permutation(n_aa, n_ab, n_bb):
    """First principles: under HWE given the allele counts, every arrangement of
    the 2N alleles into N ordered pairs is equally likely; enumerate them all."""
    n, n_a = n_aa + n_ab + n_bb, 2 * n_aa + n_ab
    het_counts = {}
    for positions in itertools.combinations(range(2 * n), n_a):
        seq = np.zeros(2 * n, dtype=int)
        seq[list(positions)] = 1
        het = int(np.sum(seq[0::2] != seq[1::2]))
        het_counts[het] = het_counts.get(het, 0) + 1
    total = sum(het_counts.values())
    obs = het_counts[n_ab]
    return sum(c for c in het_counts.values() if c <= obs) / total


def small_tables(max_n):
    for n in range(1, max_n + 1):
        for n_aa in range(n + 1):
            for n_ab in range(n - n_aa + 1):
                yield n_aa, n_ab, n - n_aa - n_ab


def test_exact_test_equals_enumeration_of_tables():
    tables = list(small_tables(14))
    p = hwe_exact_test(*np.array(tables).T)
    expected = [exact_p_by_formula(*t) for t in tables]
    np.testing.assert_allclose(p, expected, rtol=1e-9, atol=1e-12)


def test_exact_test_equals_enumeration_of_allele_arrangements():
    for table in small_tables(6):
        assert hwe_exact_test(*table) == pytest.approx(float(exact_p_by_permutation(*table)), rel=1e-9, abs=1e-12)


def test_exact_test_large_counts_no_overflow_and_scalar():
    p = hwe_exact_test(2000, 100, 2000)  # gross heterozygote deficit
    assert isinstance(p, float) and 0 <= p < 1e-100
    assert hwe_exact_test(0, 0, 50) == 1.0  # monomorphic
    assert hwe_exact_test(250, 500, 250) == pytest.approx(1.0)  # the most probable table


def test_exact_test_is_uniform_ish_under_hwe():
    """Under HWE the p-value is (conservatively) valid: P(p <= 0.05) <= 0.05
    up to Monte Carlo error (2000 loci: sd of the rate ~ 0.005, so 0.065 is 3 sd)."""
    g = simulate_genotypes(200, [0.7, 0.3], n_loci=2000, random_state=7)
    het = (g[..., 0] != g[..., 1]).sum(axis=1)
    aa = ((g[..., 0] == 0) & (g[..., 1] == 0)).sum(axis=1)
    p = hwe_exact_test(aa, het, 200 - aa - het)
    assert np.mean(p <= 0.05) < 0.065


def test_exact_test_from_estimator_uses_complete_genotypes():
    g = np.array([[0, 0]] * 30 + [[1, 1]] * 20 + [[0, 1]] * 10 + [[0, -1]] * 5 + [[-1, -1]] * 3)
    res = AlleleFrequencies(random_state=0).fit(g).hwe_test("exact")
    assert res["n_used"] == 60 and res["n_half_missing_not_used"] == 5
    assert res["p_value"] == pytest.approx(exact_p_by_formula(30, 10, 20), rel=1e-9)


def test_lrt_complete_genotypes_matches_g_statistic():
    g = simulate_genotypes(500, [0.5, 0.3, 0.2], inbreeding=0.1, random_state=2)
    fit = AlleleFrequencies(tol=1e-13, random_state=0).fit(g)
    res = fit.hwe_test("lrt")
    table = fit.genotype_table()
    from latentlab.genetics.genotypes import genotype_index

    observed = np.bincount(genotype_index(g[:, 0], g[:, 1]), minlength=6)
    expected = 500 * table["frequency"].to_numpy()
    keep = observed > 0
    g2 = 2 * np.sum(observed[keep] * np.log(observed[keep] / expected[keep]))
    assert res["statistic"] == pytest.approx(g2, rel=1e-6)
    assert res["df"] == 3
    assert res["p_value"] == pytest.approx(sps.chi2.sf(g2, 3), rel=1e-5)


def test_lrt_abo_phenotypes_matches_g_statistic():
    counts = {"A": 186, "B": 38, "AB": 13, "O": 284}
    fit = AlleleFrequencies(tol=1e-13, random_state=0).fit_phenotypes(counts)
    pA, pB, pO = fit.frequencies_[["A", "B", "O"]]
    expected = 521 * np.array([pA**2 + 2 * pA * pO, pB**2 + 2 * pB * pO, 2 * pA * pB, pO**2])
    observed = np.array([186, 38, 13, 284])
    g2 = 2 * np.sum(observed * np.log(observed / expected))
    res = fit.hwe_test()
    assert res["df"] == 1
    assert res["statistic"] == pytest.approx(g2, rel=1e-6)


def test_lrt_rejects_strong_inbreeding_with_missing_data():
    g = simulate_genotypes(2000, [0.6, 0.4], inbreeding=0.3, missing=0.2, half_missing=0.1, random_state=3)
    assert AlleleFrequencies(random_state=0).fit(g).hwe_test()["p_value"] < 1e-10


def test_hwe_test_bad_requests():
    g = simulate_genotypes(100, [0.2, 0.3, 0.5], random_state=1)
    fit = AlleleFrequencies(random_state=0).fit(g)
    with pytest.raises(ValueError, match="biallelic"):
        fit.hwe_test("exact")
    with pytest.raises(ValueError, match="method"):
        fit.hwe_test("chisq")
    with pytest.raises(ValueError, match="inbreeding=False"):
        AlleleFrequencies(inbreeding=True, random_state=0).fit(g).hwe_test()
    with pytest.raises(ValueError, match="non-negative integer"):
        hwe_exact_test(1.5, 2, 3)


def test_exact_test_refuses_a_size_it_cannot_enumerate_and_bounds_its_memory():
    with pytest.raises(ValueError, match="limited to 2,000,000 copies.*likelihood-ratio"):
        hwe_exact_test(1e9, 1e9, 1e9)
    # one large locus among small ones: blocks are sized by width, and the small loci keep their values
    small = hwe_exact_test([10, 30], [20, 40], [30, 50])
    mixed = hwe_exact_test([10, 400_000, 30], [20, 500_000, 40], [30, 100_000, 50])
    np.testing.assert_array_equal(mixed[[0, 2]], small)
    assert 0.0 <= mixed[1] <= 1.0
