"""AlleleFrequencies: published ABO values, closed forms, simulated truth, EM monotonicity."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from latentlab.em import fit_em
from latentlab.genetics import AlleleFrequencies, simulate_genotypes
from latentlab.genetics.allele_model import AlleleFrequencyModel
from latentlab.genetics.observations import from_allele_pairs, from_phenotypes

CLARKE = {"A": 186, "B": 38, "AB": 13, "O": 284}  # Clarke et al. (1959), N = 521


def abo_observed_information(p, q, n):
    """Minus the analytic Hessian of the ABO phenotype log-likelihood in (p_A, p_B),
    r = 1 - p - q:  l = nA log(p^2 + 2pr) + nB log(q^2 + 2qr) + nAB log(2pq) + nO log(r^2).
    With r = 1 - p - q: P_A = p(2 - p - 2q), P_B = q(2 - q - 2p), P_AB = 2pq, P_O = r^2."""
    nA, nB, nAB, nO = n["A"], n["B"], n["AB"], n["O"]
    r = 1.0 - p - q
    PA, PB = p * (2 - p - 2 * q), q * (2 - q - 2 * p)
    dPA = np.array([2 - 2 * p - 2 * q, -2 * p])  # d P_A / d(p, q)
    d2PA = np.array([[-2.0, -2.0], [-2.0, 0.0]])
    dPB = np.array([-2 * q, 2 - 2 * q - 2 * p])
    d2PB = np.array([[0.0, -2.0], [-2.0, -2.0]])
    H = nA * (d2PA / PA - np.outer(dPA, dPA) / PA**2) + nB * (d2PB / PB - np.outer(dPB, dPB) / PB**2)
    H += nAB * np.array([[-1 / p**2, 0.0], [0.0, -1 / q**2]])  # log 2pq = log 2 + log p + log q
    H += nO * 2 * np.array([[-1 / r**2, -1 / r**2], [-1 / r**2, -1 / r**2]])  # 2 log r
    return -H


def test_clarke_abo_published_estimates():
    fit = AlleleFrequencies(random_state=0).fit_phenotypes(CLARKE)
    assert fit.alleles_ == ["A", "B", "O"]
    np.testing.assert_array_equal(fit.frequencies_.round(4).to_numpy(), [0.2136, 0.0501, 0.7363])
    assert fit.converged_


def test_clarke_abo_standard_errors_equal_observed_information():
    fit = AlleleFrequencies(random_state=0).fit_phenotypes(CLARKE)
    p, q, _ = fit.frequencies_.to_numpy()
    cov = np.linalg.inv(abo_observed_information(p, q, CLARKE))
    grad_r = np.array([-1.0, -1.0])
    se_analytic = np.sqrt([cov[0, 0], cov[1, 1], grad_r @ cov @ grad_r])
    se_engine = fit.summary()["std_error"].to_numpy()
    # "equal to 3 significant figures": relative difference below 5e-4
    np.testing.assert_allclose(se_engine, se_analytic, rtol=5e-4)
    assert float(f"{se_engine[0]:.3g}") == float(f"{se_analytic[0]:.3g}")


def test_em_path_starts_uniform_and_follows_gene_counting():
    fit = AlleleFrequencies(random_state=0).fit_phenotypes(CLARKE)
    path = fit.em_path(3)
    # first E-step from p = (1/3, 1/3, 1/3): A splits AA:AO = 1:2, B splits BB:BO = 1:2
    assert path.loc[0, "E[n A/A]"] == pytest.approx(186 / 3)
    assert path.loc[0, "E[n A/O]"] == pytest.approx(2 * 186 / 3)
    # M-step: p_A = (2 nAA + nAO + nAB) / 2N
    assert path.loc[0, "p[A]"] == pytest.approx((2 * 186 / 3 + 2 * 186 / 3 + 13) / (2 * 521))
    assert np.all(np.diff(path["loglik"]) > 0)


@pytest.mark.parametrize("n_alleles", [2, 3, 5])
def test_complete_genotypes_give_gene_counting_closed_form(n_alleles):
    freq = np.linspace(1, 2, n_alleles) / np.linspace(1, 2, n_alleles).sum()
    g = simulate_genotypes(400, freq, random_state=n_alleles)
    fit = AlleleFrequencies(tol=1e-14, random_state=1).fit(g)
    closed = np.bincount(g.ravel(), minlength=n_alleles) / g.size
    np.testing.assert_allclose(fit.frequencies_.to_numpy(), closed, rtol=0, atol=1e-12)
    assert fit.information_.to_dict() == {"complete": 400, "half_missing": 0, "missing": 0}


def test_missing_alleles_give_counting_of_typed_alleles():
    """A half genotype a/? has likelihood p_a, so the HWE MLE is the frequency
    among typed alleles. EM converges linearly; with tol = 1e-14 the last step
    changes l (|l| ~ 1e3) by < 1e-11, and with observed information ~ n_alleles / p
    ~ 5e3 the distance to the optimum is ~ sqrt(1e-11 / 5e3) ~ 5e-8: 1e-6 has margin."""
    g = simulate_genotypes(600, [0.5, 0.3, 0.2], missing=0.2, half_missing=0.1, random_state=3)
    fit = AlleleFrequencies(tol=1e-14, random_state=0).fit(g)
    typed = g[g >= 0]
    np.testing.assert_allclose(fit.frequencies_.to_numpy(), np.bincount(typed) / typed.size, atol=1e-6)
    info = fit.information_
    assert info.sum() == 600 and info["half_missing"] > 0 and info["missing"] > 0


def test_labels_none_nan_and_strings():
    g = [("A*01", "A*02"), ("A*02", None), (np.nan, np.nan), ("A*01", "A*01"), ("A*03", "A*02")]
    fit = AlleleFrequencies(random_state=0).fit(pd.DataFrame(g))
    assert fit.alleles_ == ["A*01", "A*02", "A*03"]
    assert fit.information_.to_dict() == {"complete": 3, "half_missing": 1, "missing": 1}
    typed = [a for pair in g for a in pair if isinstance(a, str)]
    expected = [typed.count(a) / len(typed) for a in fit.alleles_]
    np.testing.assert_allclose(fit.frequencies_.to_numpy(), expected, atol=1e-6)
    post = fit.posterior_genotypes()
    assert post.shape == (5, 6)
    np.testing.assert_allclose(post.sum(axis=1), 1.0)
    np.testing.assert_allclose(post.iloc[2], fit.genotype_frequencies_.to_numpy())  # missing: the prior
    assert post.loc[0, "A*01/A*02"] == 1.0


def test_recovers_simulated_truth_with_missing_data():
    truth = np.array([0.45, 0.3, 0.15, 0.1])
    g = simulate_genotypes(5000, truth, missing=0.2, half_missing=0.1, random_state=11)
    table = AlleleFrequencies(random_state=0).fit(g).summary()
    z = (table["estimate"] - truth) / table["std_error"]
    assert np.all(np.abs(z) < 4)  # 4 SE: a false alarm has probability ~ 2.5e-4 over four estimates
    assert np.all((table["ci_lower"] < truth) | (np.abs(z) > 1.96))


def test_inbreeding_recovered_by_em():
    truth_p, truth_F = np.array([0.6, 0.25, 0.15]), 0.2
    g = simulate_genotypes(4000, truth_p, inbreeding=truth_F, missing=0.1, half_missing=0.05, random_state=5)
    fit = AlleleFrequencies(inbreeding=True, random_state=0).fit(g)
    table = fit.summary().set_index("parameter")
    se_F = table.loc["F", "std_error"]
    assert abs(fit.inbreeding_ - truth_F) < 4 * se_F  # 4 SE (n = 4000 gives se ~ 0.015)
    assert np.all(np.abs(fit.frequencies_.to_numpy() - truth_p) < 4 * table["std_error"].to_numpy()[:3])


def test_inbreeding_closed_form_biallelic_complete():
    """With complete biallelic genotypes the MLE of (p, F) is the moment solution
    p = (2 n_AA + n_AB) / 2N, F = 1 - H_obs / (2 p q)  (when it lies in [0, 1])."""
    g = simulate_genotypes(3000, [0.7, 0.3], inbreeding=0.3, random_state=8)
    fit = AlleleFrequencies(inbreeding=True, tol=1e-14, random_state=0).fit(g)
    p = np.mean(g == 0)
    het = np.mean(g[:, 0] != g[:, 1])
    assert fit.frequencies_.iloc[0] == pytest.approx(p, abs=1e-7)
    assert fit.inbreeding_ == pytest.approx(1 - het / (2 * p * (1 - p)), abs=1e-6)


def test_likelihood_scales_agree_and_match_hard_genotypes():
    g = simulate_genotypes(300, [0.2, 0.5, 0.3], random_state=4)
    from latentlab.genetics.genotypes import genotype_index

    idx = genotype_index(g[:, 0], g[:, 1])
    ln = np.full((300, 6), -50.0)
    ln[np.arange(300), idx] = 0.0
    fits = [
        AlleleFrequencies(tol=1e-13, random_state=0).fit_likelihoods(ln * f, scale=s)
        for s, f in (("ln", 1.0), ("log10", 1 / np.log(10)), ("phred", -10 / np.log(10)))
    ]
    closed = np.bincount(g.ravel()) / g.size
    for fit in fits:
        np.testing.assert_allclose(fit.frequencies_.to_numpy(), closed, atol=1e-9)  # exp(-50) leakage ~ 1e-22
    assert fits[1].loglik_ == pytest.approx(fits[0].loglik_, rel=1e-12)


def test_fit_em_trace_and_estimator_agree():
    obs = from_phenotypes(CLARKE, "ABO")
    result = fit_em(AlleleFrequencyModel(3), obs.data, tol=1e-10, random_state=0)
    fit = AlleleFrequencies(accelerate="squarem", random_state=0).fit_phenotypes(CLARKE)
    np.testing.assert_allclose(result.params.frequencies, fit.frequencies_.to_numpy(), atol=1e-6)


@pytest.mark.filterwarnings("ignore::latentlab.ConvergenceWarning")  # near-flat cases may need > 300 steps
@settings(max_examples=20, deadline=None)
@given(
    counts=st.lists(st.integers(0, 200), min_size=4, max_size=4).filter(lambda c: sum(c) > 0),
    seed=st.integers(0, 2**31),
)
def test_plain_em_never_decreases_on_phenotypes(counts, seed):
    obs = from_phenotypes(dict(zip(["A", "B", "AB", "O"], counts)), "ABO")
    result = fit_em(AlleleFrequencyModel(3), obs.data, tol=1e-12, max_iter=300, random_state=seed)
    steps = np.diff(result.trace)
    assert np.all(steps >= -1e-10 * (1 + np.abs(result.trace[1:])))


@pytest.mark.filterwarnings("ignore::latentlab.ConvergenceWarning")
@settings(max_examples=15, deadline=None)
@given(
    n_alleles=st.integers(2, 4),
    F=st.floats(0.0, 0.6),
    half=st.floats(0.0, 0.5),
    seed=st.integers(0, 2**31),
)
def test_plain_em_never_decreases_with_inbreeding(n_alleles, F, half, seed):
    rng = np.random.default_rng(seed)
    g = simulate_genotypes(60, rng.dirichlet(np.ones(n_alleles)), inbreeding=F, half_missing=half, random_state=rng)
    if (g >= 0).sum() == 0:
        return
    obs = from_allele_pairs(g, alleles=list(range(n_alleles)))
    result = fit_em(AlleleFrequencyModel(n_alleles, inbreeding=True), obs.data, tol=1e-12, max_iter=300,
                    random_state=seed)
    steps = np.diff(result.trace)
    assert np.all(steps >= -1e-10 * (1 + np.abs(result.trace[1:])))


@pytest.mark.slow
def test_wald_interval_coverage_over_replicates():
    """200 replicates, n = 200, 20% missing + 10% half-missing: 95% Wald intervals
    cover in 95% +/- 3 Monte Carlo se (se = sqrt(.95 * .05 / 600) ~ 0.009)."""
    truth = np.array([0.5, 0.35, 0.15])
    rng = np.random.default_rng(99)
    hits = []
    for _ in range(200):
        g = simulate_genotypes(200, truth, missing=0.2, half_missing=0.1, random_state=rng)
        s = AlleleFrequencies(random_state=rng).fit(g).summary()
        hits.append((s["ci_lower"].to_numpy() <= truth) & (truth <= s["ci_upper"].to_numpy()))
    rate = np.mean(hits)
    print(f"coverage {rate:.3f}")
    assert abs(rate - 0.95) < 3 * np.sqrt(0.95 * 0.05 / np.size(hits))
