"""Allele frequencies from blood groups, missing genotypes and low-coverage sequencing

Gene counting by EM under Hardy-Weinberg equilibrium in four settings:

1. the ABO blood groups of Clarke et al. (1959), where a phenotype does not
   determine the genotype;
2. a simulated four-allele locus with 20% of genotypes missing and 10% with one
   allele missing, EM against complete-case estimates over replicates;
3. simulated low-coverage sequencing (500 individuals, mean depth 1-8x), EM on
   genotype likelihoods against calling genotypes first;
4. a real multi-allelic locus with missing genotypes (HLA-DQB, haplo.stats'
   ``hla.demo``).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from latentlab.genetics import (
    AlleleFrequencies,
    allele_frequencies_from_likelihoods,
    simulate_genotype_likelihoods,
    simulate_genotypes,
)
from latentlab.report import Report

NAME = "blood_groups_and_missing_genotypes"
CLARKE = {"A": 186, "B": 38, "AB": 13, "O": 284}
DATA = Path(__file__).resolve().parents[1] / "data" / "hla_demo.csv"


def abo_section(report: Report) -> None:
    fit = AlleleFrequencies(random_state=1).fit_phenotypes(CLARKE, "ABO")
    n = sum(CLARKE.values())
    # Bernstein's (1925) closed-form estimates, for reference (not the MLE)
    r = np.sqrt(CLARKE["O"] / n)
    bern = {"A": 1 - np.sqrt((CLARKE["B"] + CLARKE["O"]) / n), "B": 1 - np.sqrt((CLARKE["A"] + CLARKE["O"]) / n), "O": r}
    table = fit.summary()
    table.insert(2, "Bernstein", [bern[a] for a in fit.alleles_])
    report.text(
        f"""## 1. ABO blood groups (Clarke et al. 1959)

Phenotype counts A = 186, B = 38, AB = 13, O = 284 (N = {n}). Phenotype A
is genotype A/A or A/O, B is B/B or B/O. EM splits each ambiguous phenotype in
the ratio of the genotype probabilities (E-step) and counts alleles (M-step).
Published estimates: p_A = 0.2136, p_B = 0.0501, p_O = 0.7363. Standard errors
are from the observed information (the engine's numerical Hessian; a test
checks them against the analytic second derivatives to 3 significant
figures). Converged in {fit.n_iter_} EM steps, log-likelihood {fit.loglik_:.4f}.
Bernstein's square-root estimates (not normalised, they sum to
{sum(bern.values()):.4f}) are shown for comparison."""
    )
    report.table(table, "ABO allele frequencies: EM estimate, Bernstein's estimate, SE and 95% Wald interval (logit scale)")
    path = fit.em_path(6)
    report.table(path, "The first six EM iterations from p = (1/3, 1/3, 1/3): log-likelihood at the current point, "
                 "E-step expected genotype counts, M-step frequencies", floatfmt=".5g")
    post = fit.posterior_genotypes()
    report.table(post.reset_index(names="phenotype"), "Posterior genotype probabilities of each phenotype at the MLE")
    test = fit.hwe_test()
    report.text(
        f"Likelihood-ratio test of Hardy-Weinberg equilibrium against free phenotype frequencies: "
        f"G^2 = {test['statistic']:.3f} on {test['df']} df, p = {test['p_value']:.3f}."
    )


def replicate(rng, truth, n, missing, half):
    g = simulate_genotypes(n, truth, missing=missing, half_missing=half, random_state=rng)
    alleles = list(range(len(truth)))
    em = AlleleFrequencies(alleles, random_state=rng).fit(g)
    complete = g[(g >= 0).all(axis=1)]
    cc = AlleleFrequencies(alleles, random_state=rng).fit(complete).frequencies_.to_numpy()
    s = em.summary()
    cover = (s["ci_lower"].to_numpy() <= truth) & (truth <= s["ci_upper"].to_numpy())
    return em.frequencies_.to_numpy(), cc, cover


def missing_section(report: Report, full: bool) -> None:
    truth = np.array([0.4, 0.3, 0.2, 0.1])
    n, reps = 300, (2000 if full else 200)
    rng = np.random.default_rng(2024)
    em, cc, cover = map(np.array, zip(*(replicate(rng, truth, n, 0.2, 0.1) for _ in range(reps))))
    rows = []
    for name, est in (("EM (all data)", em), ("complete cases", cc)):
        for a in range(truth.size):
            err = est[:, a] - truth[a]
            rows.append({"method": name, "allele": a, "truth": truth[a], "bias": err.mean(),
                         "sd": err.std(ddof=1), "rmse": np.sqrt(np.mean(err**2))})
    table = pd.DataFrame(rows)
    ratio = (table.query("method == 'complete cases'")["rmse"].to_numpy()
             / table.query("method == 'EM (all data)'")["rmse"].to_numpy())
    report.text(
        f"""## 2. A four-allele locus with missing and half-missing genotypes

{reps} replicates of n = {n} individuals, allele frequencies {truth.tolist()},
20% of genotypes missing and 10% with one allele missing (missing completely at
random). EM uses the half genotypes (each contributes its typed allele);
complete-case analysis drops them, as PLINK does with half calls. Both are
unbiased here (bias within Monte Carlo error, sd/sqrt({reps})); EM's RMSE is
smaller by a factor {ratio.min():.2f}-{ratio.max():.2f}, close to what the extra
typed alleles predict, sqrt((2 x 0.7 + 0.1) / (2 x 0.7)) = 1.035: the gain is
modest because a half genotype carries one allele. The 95% Wald
intervals of the EM fit covered the truth in {100 * cover.mean():.1f}% of
allele x replicate cases (Monte Carlo se {100 * np.sqrt(0.95 * 0.05 / cover.size):.1f}%)."""
    )
    report.table(table, "Bias, spread and RMSE of the allele-frequency estimates over replicates", floatfmt=".4f")


def sequencing_section(report: Report, full: bool) -> None:
    n, n_loci, error = 500, (1000 if full else 200), 0.01
    depths = [1, 2, 3, 4, 6, 8]
    rng = np.random.default_rng(7)
    rows = []
    for depth in depths:
        p = rng.uniform(0.05, 0.5, n_loci)
        g = simulate_genotypes(n, np.stack([1 - p, p], axis=1), n_loci=n_loci, random_state=rng)
        gl, reads = simulate_genotype_likelihoods(g, depth, error, random_state=rng)
        em = allele_frequencies_from_likelihoods(gl, random_state=rng)["freq_1"].to_numpy()
        called = gl.argmax(axis=2)  # copies of allele 1 in the most likely genotype
        seen = reads > 0
        counted = (called * seen).sum(axis=1) / (2 * seen.sum(axis=1))
        sample = g.sum(axis=(1, 2)) / (2 * n)  # the frequency in the sample (true genotypes)
        rmse = lambda e: float(np.sqrt(np.mean(e**2)))  # noqa: E731
        rows.append({"depth": depth, "EM on likelihoods": rmse(em - p), "call then count": rmse(counted - p),
                     "true genotypes": rmse(sample - p), "EM vs sample": rmse(em - sample),
                     "calls vs sample": rmse(counted - sample)})
    table = pd.DataFrame(rows)
    report.text(
        f"""## 3. Low-coverage sequencing: genotype likelihoods against called genotypes

At each mean depth, {n_loci} biallelic loci with allele frequency uniform on
(0.05, 0.5) in {n} individuals; each individual gets Poisson(depth) reads, each
read shows one of its alleles with error rate {error}. EM on the genotype
likelihoods (the ANGSD-style estimate) is compared with calling the most likely
genotype (individuals without reads left out) and counting alleles. RMSE is
against the population frequency; "true genotypes" is the floor set by
sampling 500 individuals, and the last two columns measure the error against
the sample's own frequency, which isolates what low coverage costs."""
    )
    report.table(table, "Allele-frequency RMSE against mean depth", floatfmt=".4f")
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(table["depth"], table["EM vs sample"], "o-", label="EM on genotype likelihoods")
    ax.plot(table["depth"], table["calls vs sample"], "s--", label="call genotypes, then count")
    ax.set_xlabel("mean sequencing depth")
    ax.set_ylabel("RMSE against the sample allele frequency")
    ax.set_title(f"{n_loci} loci x {n} individuals, error rate {error}")
    ax.legend()
    report.figure(fig, "depth_rmse", "Allele-frequency error from low coverage: EM on likelihoods against calling first")


def hla_section(report: Report) -> None:
    hla = pd.read_csv(DATA)
    pairs = hla[["DQB.a1", "DQB.a2"]].to_numpy()
    fit = AlleleFrequencies(random_state=3).fit(pairs, missing_values=(0,))
    table = fit.summary()
    table.insert(1, "allele", fit.alleles_)
    counts = fit.allele_counts()
    table.insert(3, "copies", counts.round().astype(int).to_numpy())
    info = fit.information_
    report.text(
        f"""## 4. A real multi-allelic locus: HLA-DQB in 220 subjects

haplo.stats' ``hla.demo`` (Poland et al.): DQB allele pairs, 0 marking a
missing allele: {info['complete']} complete genotypes, {info['half_missing']}
half-missing and {info['missing']} missing. {len(fit.alleles_)} alleles;
frequencies with observed-information standard errors. Rare alleles have
wide logit-scale intervals, as they should."""
    )
    report.table(table.drop(columns="parameter"), "HLA-DQB allele frequencies (EM), with SEs and 95% intervals", floatfmt=".4f")


def run(full: bool = False, outdir=None) -> Path:
    report = Report(NAME, __doc__.strip().splitlines()[0], outdir)
    report.text(__doc__.strip().split("\n", 1)[1])
    report.run_steps({
        "ABO blood groups": lambda: abo_section(report),
        "missing genotypes": lambda: missing_section(report, full),
        "sequencing depth": lambda: sequencing_section(report, full),
        "HLA loci": lambda: hla_section(report),
    })
    report.text(f"*{'Full' if full else 'Default'} mode (`latentlab run {NAME}{' --full' if full else ''}`).*")
    return report.write()


if __name__ == "__main__":
    run()
