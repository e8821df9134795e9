"""Haplotype phase and linkage disequilibrium from unphased genotypes

A simulated candidate-gene region (known haplotypes) shows the EM recovering
haplotype frequencies and phases, how the switch error falls with the number
of individuals, and the LD structure; then the HLA loci DQB, DRB and B of
haplo.stats' ``hla.demo`` (multi-allelic, with missing alleles) are compared
with haplo.stats' published fit; then a chromosome-scale coalescent
simulation is phased and imputed by the copying model and compared with
Beagle 5.4 on the same data.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from latentlab.genetics import (
    HaplotypeCopyingEM,
    HaplotypeEM,
    WindowedHaplotypeEM,
    simulate_haplotypes,
    switch_counts,
    switch_error,
)
from latentlab.report import Report

DATA = Path(__file__).resolve().parents[1] / "data" / "hla_demo.csv"
HAPLO_STATS_LNLIKE = -1847.675  # haplo.stats vignette, haplo.em on hla.demo loci DQB, DRB, B
HAPLO_STATS_TOP = 0.104  # its top haplotype DQB 21 - DRB 3 - B 8
ESTIMATORS = {"HaplotypeEM": HaplotypeEM, "WindowedHaplotypeEM": WindowedHaplotypeEM}
COALESCENT = Path(__file__).resolve().parents[1] / "data" / "phasing_coalescent" / "constant_truth.npz"
BEAGLE = Path(__file__).resolve().parent / "results" / "phasing_beagle_subsets.csv"
SAMPLE_SIZES = (500, 1000, 2000)


def _region(report: Report, full: bool) -> None:
    sim = simulate_haplotypes(2000, n_blocks=3, snps_per_block=8, haplotypes_per_block=5,
                              recombination=0.3, mutation=0.003, random_state=20)
    n_fit = 1000
    G, truth = sim.genotypes[:n_fit], sim.haplotypes[:n_fit]
    with report.timed("simulated region fit"):
        est = HaplotypeEM(random_state=0).fit(G)
    table = est.haplotypes_
    haps = table[list(est.genotypes_.loci)].to_numpy(dtype=int)
    table = table.assign(true_frequency=sim.frequency(haps))
    err = np.abs(table["frequency"] - table["true_frequency"]).max()
    report.text(f"""
## 1. A simulated candidate-gene region

{n_fit} individuals typed at 24 SNPs in 3 LD blocks of 8 (`simulate_haplotypes`: 5 founder haplotypes
with Dirichlet frequencies, recombination probability 0.3 at each block boundary, mutation 0.003
per allele, seed 20). `HaplotypeEM()` with its defaults (loci inserted 6 at a time, pairs with
posterior below 1e-9 trimmed, SQUAREM) fitted them: {table.shape[0]} candidate
haplotypes, log-likelihood {est.loglik_:.2f}. The largest difference between an estimated and a true
frequency (exact, from the simulation model) over all candidates is **{err:.4f}**.
""")
    show = table.head(10)[["frequency", "std_error", "true_frequency"]].copy()
    show.insert(0, "haplotype", ["".join(map(str, h)) for h in haps[:10]])
    report.table(show, "The ten most frequent estimated haplotypes, with standard errors from the observed information, against the truth.")

    fig, ax = plt.subplots(figsize=(4.8, 4.5))
    shown = (table["frequency"] > 1e-3) | (table["true_frequency"] > 1e-3)
    ax.errorbar(table.loc[shown, "true_frequency"], table.loc[shown, "frequency"],
                yerr=1.96 * table.loc[shown, "std_error"].fillna(0), fmt="o", ms=4, capsize=2)
    top = max(table["frequency"].max(), table["true_frequency"].max()) * 1.05
    ax.plot([0, top], [0, top], "k--", lw=0.8)
    ax.set_xlabel("true frequency")
    ax.set_ylabel("estimated frequency (95% interval)")
    report.figure(fig, "frequencies", "Estimated against true haplotype frequencies (haplotypes above 0.001 in either).")

    sizes = [100, 250, 500, 1000, 2000] if not full else [50, 100, 250, 500, 1000, 2000]
    rows = []
    for n in sizes:
        row = {"individuals": n}
        for name, estimator in ESTIMATORS.items():
            fit = estimator(random_state=0).fit(sim.genotypes[:n])
            row[name] = switch_error(sim.haplotypes[:n], fit.most_likely_haplotypes().astype(int))
        rows.append(row)
    curve = pd.DataFrame(rows)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for name in ESTIMATORS:
        ax.plot(curve["individuals"], curve[name], "o-", label=name)
    ax.set_xscale("log")
    ax.set_xlabel("individuals")
    ax.set_ylabel("switch error of the most likely phase")
    ax.legend()
    report.figure(fig, "switch_error", "Switch error against the number of individuals (first n of the same simulated sample).")
    report.table(curve, "Switch error (switches / consecutive heterozygous pairs) of each individual's most probable "
                 "phase: HaplotypeEM (one frequency per full-length haplotype) and WindowedHaplotypeEM (a Markov "
                 "chain of 8-SNP window haplotypes; windows not aligned with the blocks).")
    ours = switch_error(truth, est.most_likely_haplotypes().astype(int))

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.3))
    for ax, measure, label in zip(axes, ["r2", "D'"], ["$r^2$", "$|D'|$"]):
        values = est.ld_matrix(measure)
        im = ax.imshow(np.abs(values.to_numpy()), cmap="viridis", vmin=0, vmax=1)
        ax.set_xticks(range(0, 24, 4), values.columns[::4])
        ax.set_yticks(range(0, 24, 4), values.index[::4])
        for edge in (7.5, 15.5):
            ax.axhline(edge, color="w", lw=0.6)
            ax.axvline(edge, color="w", lw=0.6)
        fig.colorbar(im, ax=ax, label=label, shrink=0.85)
    report.figure(fig, "ld_heatmap", "LD between the 24 SNPs from the fitted haplotype frequencies: $r^2$ and $|D'|$ "
                  "(white lines: the simulated block boundaries).")
    lrt = est.linkage_equilibrium_test()
    pair = est.linkage_disequilibrium("L1", "L2").round(4)
    report.text(f"""
At {n_fit} individuals the switch error is {ours:.4f}. Within blocks $|D'|$ is mostly near 1 (no recombination\ninside a block; a pair of SNPs can still show all four gametes among five founders); between blocks it is lower, and $r^2$ also varies with allele frequencies. The
likelihood-ratio test against linkage equilibrium gives LR = {lrt['lr']:.1f} on {lrt['df']} df
(p = {lrt['p_value']:.3g}). For the first two SNPs, re-estimated from the two loci alone:
""")
    report.table(pair, "LD between L1 and L2 (second alleles), delta-method 95% intervals.")


def _hla(report: Report, full: bool) -> None:
    d = pd.read_csv(DATA)
    loci = ["DQB", "DRB", "B"]
    G = np.stack([d[[f"{name}.a1", f"{name}.a2"]].to_numpy() for name in loci], axis=1)
    n_missing = int((G == 0).sum())
    with report.timed("HLA fit"):  # the defaults: 50 restarts for multi-allelic loci (200 in full mode)
        est = HaplotypeEM(missing_values=(0,), n_init=200 if full else None, random_state=1).fit(G, loci=loci)
    table = est.haplotypes_
    top = table.iloc[0]
    logliks = np.sort(est.screening_.restart_logliks)[::-1]
    report.text(f"""
## 2. HLA DQB, DRB and B (haplo.stats `hla.demo`)

220 subjects typed at three multi-allelic HLA loci ({', '.join(f'{n}: {k} alleles' for n, k in zip(loci, est.genotypes_.n_alleles))});
{n_missing} alleles are missing (coded 0) and are summed over every allele seen at their locus, as
haplo.stats does. The log-likelihood is the same quantity as haplo.stats' `lnlike`:
`sum_i log sum_{{h,k}} c_hk p_h p_k` over the compatible pairs, no constant terms. This likelihood
has many local maxima: {logliks.size} restarts (`HaplotypeEM`'s default for multi-allelic loci
in the default mode; random pair posteriors, the first from the progressive-insertion estimate),
each run to a relative change of 1e-5, ended between {logliks[-1]:.3f} and {logliks[0]:.3f}; the
best, continued to convergence, reached {est.loglik_:.3f}.

| | latentlab | haplo.stats (vignette) |
|---|---|---|
| lnlike | **{est.loglik_:.3f}** | {HAPLO_STATS_LNLIKE} |
| frequency of DQB 21 - DRB 3 - B 8 | **{top['frequency']:.4f}** (SE {top['std_error']:.4f}) | {HAPLO_STATS_TOP} |

The best restart reaches a higher likelihood than the value haplo.stats publishes, and the top
haplotype and its frequency agree.
""")
    report.table(table.head(12), "The twelve most frequent DQB-DRB-B haplotypes, with standard errors from the observed information.")
    ld = est.linkage_disequilibrium("DQB", "DRB", allele_a=21, allele_b=3).round(4)
    report.table(ld, "LD between DQB allele 21 and DRB allele 3 (two-locus EM), delta-method 95% intervals.")
    lrt = est.linkage_equilibrium_test()
    report.text(f"""
Likelihood-ratio test against linkage equilibrium (the equilibrium maximum is the sum of the three
single-locus fits): LR = {lrt['lr']:.1f} on {lrt['df']} df, p = {lrt['p_value']:.3g}; the df count
haplotypes above 1e-7 as haplo.stats does, and the chi-square reference is rough with so many
frequencies near zero.
""")


def _coalescent(max_position: float) -> dict:
    """The committed coalescent simulation (``data/README.md``): true
    haplotypes, mask and positions of the sites up to ``max_position``."""
    with np.load(COALESCENT) as z:
        n, L = (int(v) for v in z["shape"])
        haplotypes = np.unpackbits(z["haplotypes"], count=n * 2 * L).reshape(n, 2, L)
        mask = np.unpackbits(z["mask"], count=n * L).reshape(n, L).astype(bool)
        positions = z["positions"]
    keep = positions <= max_position
    return {"haplotypes": haplotypes[..., keep], "mask": mask[:, keep], "positions": positions[keep]}


def _chromosome(report: Report, full: bool) -> None:
    region = "2Mb" if full else "1Mb"
    d = _coalescent(2e6 if full else 1e6)
    beagle = pd.read_csv(BEAGLE).query("region == @region").set_index("n")
    rows = []
    for n in SAMPLE_SIZES:
        truth, mask = d["haplotypes"][:n].astype(np.int64), d["mask"][:n]
        genotypes = np.where(mask, -1, truth.sum(axis=1))
        with report.timed(f"copying model, {n} individuals"):
            fit = HaplotypeCopyingEM(random_state=0).fit(genotypes, positions=d["positions"])
        switches, pairs = switch_counts(truth, fit.haplotypes_.astype(np.int64))
        true_g = truth.sum(axis=1)[mask]
        rows.append({"individuals": n, "switches": switches, "heterozygous pairs": pairs,
                     "switch error": switches / pairs,
                     "r2 (dosage)": np.corrcoef(fit.dosages_[mask], true_g)[0, 1] ** 2,
                     "r2 (hard calls)": np.corrcoef(fit.haplotypes_.sum(axis=1)[mask], true_g)[0, 1] ** 2,
                     "iterations": fit.n_iter_,
                     "Beagle switch error": beagle.loc[n, "switch_error"],
                     "Beagle r2 (hard calls)": beagle.loc[n, "hard_call_r2"]})
    table = pd.DataFrame(rows)
    L = d["positions"].size
    report.text(f"""
## 3. A chromosome: the copying model against Beagle 5.4

A coalescent simulation (msprime: Ne 10,000, mutation 1.25e-8 and recombination 1e-8 per bp, 2,000
diploids; `data/phasing_coalescent/`, made by `benchmarks/phasing_data.py`): the {L:,} SNPs with minor
allele frequency at least 1% in the first {region[0]} Mb, 5% of the genotypes hidden. The first {SAMPLE_SIZES[0]},
{SAMPLE_SIZES[1]} and {SAMPLE_SIZES[2]} individuals are phased and the hidden genotypes imputed by
`HaplotypeCopyingEM()` with its defaults (the Li & Stephens copying model iterated over conditioning
haplotypes chosen by the PBWT, rates by EM) and by Beagle 5.4 on the same individuals, sites and mask
(`beagle gt=... nthreads=1 seed=20220722`, its defaults; Beagle's numbers are stored in
`case_studies/results/phasing_beagle_subsets.csv` by `benchmarks/phasing_beagle.py --subsets`; Beagle
prints no dosage for a hidden genotype, so its r^2 is from its hard calls).
""")
    report.table(table.round({"switch error": 7, "r2 (dosage)": 5, "r2 (hard calls)": 5,
                              "Beagle switch error": 7, "Beagle r2 (hard calls)": 5}),
                 "Switch error (switches over consecutive pairs of truly heterozygous loci whose two alleles were "
                 "right) and r^2 of the hidden genotypes, against the number of individuals.")
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    axes[0].plot(table["individuals"], table["switch error"], "o-", label="HaplotypeCopyingEM")
    axes[0].plot(table["individuals"], table["Beagle switch error"], "s--", label="Beagle 5.4")
    axes[0].set_yscale("log")
    axes[0].set_ylabel("switch error")
    axes[1].plot(table["individuals"], 1 - table["r2 (dosage)"], "o-", label="HaplotypeCopyingEM (dosage)")
    axes[1].plot(table["individuals"], 1 - table["r2 (hard calls)"], "^-", label="HaplotypeCopyingEM (hard calls)")
    axes[1].plot(table["individuals"], 1 - table["Beagle r2 (hard calls)"], "s--", label="Beagle 5.4 (hard calls)")
    axes[1].set_yscale("log")
    axes[1].set_ylabel("1 - r^2 of the hidden genotypes")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("individuals")
        ax.legend(fontsize=8)
    report.figure(fig, "chromosome", "Phase and imputation against the number of individuals: the copying model and "
                  "Beagle 5.4 on the same coalescent data.")
    first, last = table.iloc[0], table.iloc[-1]
    report.text(f"""
From {int(first['individuals'])} to {int(last['individuals'])} individuals the copying model's switch error goes from
{first['switch error']:.2e} to {last['switch error']:.2e} (Beagle: {first['Beagle switch error']:.2e} to
{last['Beagle switch error']:.2e}) and the dosage r^2 of the hidden genotypes from {first['r2 (dosage)']:.4f} to
{last['r2 (dosage)']:.4f} (Beagle's hard calls: {first['Beagle r2 (hard calls)']:.4f} to
{last['Beagle r2 (hard calls)']:.4f}): more individuals, closer relatives to copy from. The fastPHASE
cluster model (`HaplotypeClusterEM`) is not shown: with a few clusters for thousands of chromosomes it
stays near 3% switch error on the whole 2 Mb (`benchmarks/phasing.py`).
""")


def run(full: bool = False, outdir=None) -> Path:
    report = Report("haplotype_phase", "Haplotype phase and linkage disequilibrium from unphased genotypes", outdir)
    report.text("""
`latentlab.genetics.HaplotypeEM` estimates haplotype frequencies by EM over the haplotype pairs
compatible with each unphased genotype (Excoffier & Slatkin 1995), inserting loci progressively and
trimming improbable pairs (haplo.stats' `haplo.em`), so the cost grows about linearly with the number
of loci.
""")
    report.run_steps({"simulated region": lambda: _region(report, full), "HLA loci": lambda: _hla(report, full),
                      "chromosome scale": lambda: _chromosome(report, full)})
    return report.write()


if __name__ == "__main__":
    run()
