"""Blood pressure QTL: interval mapping by EM in a mouse backcross

A quantitative trait locus (QTL) is a stretch of chromosome whose genotype
shifts a trait. Between the typed markers the genotype is hidden: interval
mapping treats it as missing data, and EM estimates the genotype means at
every position of a grid along the genome; the LOD score compares that fit
with no QTL at all (Lander & Botstein 1989). First a simulated backcross with
one QTL of known position and effect: the LOD profile, the genome-wide
threshold from permutations, the support interval around the peak. Then 200
simulated crosses per sample size: how often the 1.5-LOD support interval
and the 95% Bayes interval cover the true position, and how often the QTL is
detected. Last, real data: Sugiyama et al.'s (2001) hypertension backcross
(R/qtl's `hyper`), whose QTL on chromosomes 1 and 4 we find where R/qtl does.

Modes: the default run reports the replicate study from its results file
``case_studies/results/blood_pressure_qtl_replicates.csv`` (written by
``run(full=True)`` or the slow test ``tests/qtl/test_replicates_slow.py``);
without that file it runs 20 replicates per sample size. R/qtl's LOD profile
of `hyper` is read from ``case_studies/results/rqtl_hyper_scan.csv``, written
by ``tests/references/rqtl_crosses.R`` (R/qtl 1.58).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from latentlab.qtl import IntervalMapping, read_cross_csv, simulate_cross
from latentlab.report import Report, replicate_results

NAME = "blood_pressure_qtl"
HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "data" / "hyper.csv"
RESULTS = HERE / "results" / f"{NAME}_replicates.csv"
RQTL = HERE / "results" / "rqtl_hyper_scan.csv"
SEED = 2026
#: the simulated genome: five chromosomes of 100 cM, markers every 10 cM, 10% of genotypes missing
GENOME = dict(chromosome_lengths=(100.0,) * 5, marker_spacing=10.0, missing=0.1)
TRUE_CHROMOSOME, TRUE_POSITION = "3", 43.0
#: the effect that explains 10% of the variance in a backcross with residual sd 1: a^2/4 / (a^2/4 + 1) = 0.1
EFFECT = 2 / 3
SIZES = (100, 200, 400)


def simulate(n: int, seed) -> object:
    return simulate_cross(n, qtl=[(TRUE_CHROMOSOME, TRUE_POSITION, EFFECT)], random_state=seed, **GENOME)


# -- part 1 ----------------------------------------------------------------------------------------------
def part_simulated(report: Report) -> None:
    cross = simulate(200, SEED)
    scan = IntervalMapping(step=1, random_state=SEED).fit(cross)
    thresholds = scan.permutation_test(1000)
    lodint = scan.support_interval(TRUE_CHROMOSOME)
    effects = scan.summary()
    report.text(
        "## Part 1: one simulated backcross\n\n"
        f"200 backcross individuals, five chromosomes of 100 cM with a marker every 10 cM (10% of genotypes "
        f"missing), and one QTL on chromosome {TRUE_CHROMOSOME} at {TRUE_POSITION:g} cM: the AB genotype adds "
        f"{EFFECT:.3f} to a trait with residual sd 1, which explains 10% of its variance. The EM scan every 1 cM, "
        "then 1,000 permutations for the genome-wide thresholds:"
    )
    report.table(thresholds, caption="Genome-wide LOD thresholds (1,000 permutations)", floatfmt=".3f")
    report.table(scan.peaks(), caption="Highest LOD on each chromosome", floatfmt=".3f")
    report.text(
        f"The peak is on chromosome {scan.peak_['chromosome']} at {scan.peak_['position']:g} cM (LOD "
        f"{scan.peak_['lod']:.2f}); the 1.5-LOD support interval runs from {lodint['position'].iloc[0]:g} to "
        f"{lodint['position'].iloc[2]:g} cM and holds the true position {TRUE_POSITION:g}. The genotype means at "
        "the peak, with standard errors from the observed information (the engine's fit at that position):"
    )
    report.table(effects, caption="Genotype effects at the peak", floatfmt=".4f")
    fig, ax = plt.subplots(figsize=(8, 3.2))
    scan.plot(ax=ax, alpha=(0.05, 0.01))
    ax.set_title("Simulated backcross: LOD profile (dashed: 5% and 1% genome-wide thresholds)")
    report.figure(fig, "simulated_profile", "LOD profile of the simulated backcross; the QTL is on chromosome 3 at 43 cM")


# -- part 2 ----------------------------------------------------------------------------------------------
def replicate_study(n_replicates: int, seed: int = SEED) -> pd.DataFrame:
    """One row per replicate and sample size: the genome-wide peak, the LOD
    on the true chromosome, its 1.5-LOD support and 95% Bayes intervals and
    whether they hold the true position."""
    rows = []
    streams = np.random.SeedSequence(seed).spawn(len(SIZES) * n_replicates)
    for k, n in enumerate(SIZES):
        for r in range(n_replicates):
            scan = IntervalMapping(step=1).fit(simulate(n, streams[k * n_replicates + r]))
            lodint = scan.support_interval(TRUE_CHROMOSOME)
            bayes = scan.bayes_interval(TRUE_CHROMOSOME)["position"].to_numpy()
            rows.append({
                "n": n, "replicate": r, "peak_chromosome": scan.peak_["chromosome"],
                "peak_position": scan.peak_["position"], "peak_lod": scan.peak_["lod"],
                "lod_true_chromosome": lodint["lod"].iloc[1], "lodint_left": lodint["position"].iloc[0],
                "lodint_right": lodint["position"].iloc[2], "bayes_left": bayes[0], "bayes_right": bayes[2],
            })
    return pd.DataFrame(rows)


def null_thresholds(n_perm: int = 1000) -> dict[int, float]:
    """The 5% genome-wide threshold for each sample size, from permutations of
    one simulated cross of that size (the threshold hardly depends on the
    trait's distribution or on n)."""
    out = {}
    for n in SIZES:
        scan = IntervalMapping(step=1, random_state=SEED).fit(simulate(n, SEED + n))
        out[n] = float(scan.permutation_test(n_perm, alpha=0.05)["lod"].iloc[0])
    return out


def summarise_replicates(results: pd.DataFrame, thresholds: dict[int, float]) -> pd.DataFrame:
    rows = []
    for n, g in results.groupby("n"):
        covered = (g.lodint_left <= TRUE_POSITION) & (TRUE_POSITION <= g.lodint_right)
        bayes = (g.bayes_left <= TRUE_POSITION) & (TRUE_POSITION <= g.bayes_right)
        rows.append({
            "n": n, "replicates": len(g), "5% threshold": thresholds[n],
            "power (LOD on chr 3 above threshold)": (g.lod_true_chromosome > thresholds[n]).mean(),
            "genome-wide peak on chr 3": (g.peak_chromosome.astype(str) == TRUE_CHROMOSOME).mean(),
            "1.5-LOD interval covers": covered.mean(),
            "95% Bayes interval covers": bayes.mean(),
            "median 1.5-LOD width (cM)": float((g.lodint_right - g.lodint_left).median()),
        })
    return pd.DataFrame(rows)


def part_replicates(report: Report, full: bool) -> None:
    results, source = replicate_results(RESULTS, replicate_study, 200, 20, full)
    thresholds = null_thresholds()
    summary = summarise_replicates(results, thresholds)
    n_rep = results.replicate.nunique()
    report.text(
        f"## Part 2: {n_rep} simulated backcrosses per sample size\n\n"
        f"The same genome and QTL (10% of the variance) at n = {', '.join(map(str, SIZES))}; independent seeds "
        f"(SeedSequence({SEED})). {source} On the true chromosome: the 1.5-LOD support interval (R/qtl's "
        "`lodint`) and the 95% Bayes credible interval (`bayesint`); power is the share of crosses whose LOD on "
        "the true chromosome passes the 5% genome-wide threshold (1,000 permutations of one cross of each size). "
        "Target (issue 17): at n = 200 the support interval covers the truth in at least 90% of the crosses."
    )
    report.table(summary, caption="Coverage, width and power by sample size", floatfmt=".3f")
    fig, ax = plt.subplots(figsize=(6, 3.2))
    for n, g in results.groupby("n"):
        ax.hist(g.peak_position[g.peak_chromosome.astype(str) == TRUE_CHROMOSOME], bins=np.arange(0, 101, 4),
                histtype="step", lw=1.5, label=f"n = {n}")
    ax.axvline(TRUE_POSITION, color="k", lw=1, label="truth")
    ax.set_xlabel("estimated QTL position on chromosome 3 (cM)")
    ax.set_ylabel("crosses")
    ax.legend(fontsize=8)
    report.figure(fig, "positions", "Where the peak falls, by sample size")


# -- part 3 ----------------------------------------------------------------------------------------------
def part_hyper(report: Report) -> None:
    cross = read_cross_csv(DATA, codes=("BB", "BA", "AA"), alleles=("B", "A"))
    scan = IntervalMapping(step=1, error_prob=0.001, random_state=SEED).fit(cross, "bp")
    thresholds = scan.permutation_test(1000)
    rqtl = pd.read_csv(RQTL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hk = IntervalMapping("hk", step=1, error_prob=0.001).fit(cross, "bp")
    peaks = scan.p_values().sort_values("lod", ascending=False).head(4)
    report.text(
        "## Part 3: the hypertension backcross (Sugiyama et al. 2001)\n\n"
        f"{cross.n_individuals} male mice of a backcross, blood pressure `bp`, 174 markers on 19 autosomes and "
        "the X chromosome; about half of the genotypes are missing (selective genotyping). Genotype "
        "probabilities every 1 cM with genotyping error probability 0.001, then the EM scan at "
        f"{len(scan.lod_)} positions. Against R/qtl 1.58's `scanone(method=\"em\")` on the same grid, the largest "
        f"LOD difference is {np.abs(scan.lod_['lod'].to_numpy() - rqtl['lod_em'].to_numpy()).max():.1e} "
        f"(Haley-Knott regression: {np.abs(hk.lod_['lod'].to_numpy() - rqtl['lod_hk'].to_numpy()).max():.1e})."
    )
    report.table(thresholds, caption="Genome-wide LOD thresholds (1,000 permutations)", floatfmt=".3f")
    report.table(peaks, caption="The four highest chromosome peaks, with genome-wide p-values", floatfmt=".3f")
    rows = []
    for chrom in ("4", "1"):
        peak = scan.peaks().set_index("chromosome").loc[chrom]
        lodint = scan.support_interval(chrom)["position"]
        bayes = scan.bayes_interval(chrom)["position"]
        eff = scan.effects(chrom, peak["position"]).set_index("parameter")["estimate"]
        rows.append({"chromosome": chrom, "position (cM)": peak["position"], "LOD": peak["lod"],
                     "1.5-LOD interval": f"{lodint.iloc[0]:g}-{lodint.iloc[2]:g}",
                     "95% Bayes interval": f"{bayes.iloc[0]:g}-{bayes.iloc[2]:g}",
                     "mean BB": eff["mean[BB]"], "mean BA": eff["mean[BA]"]})
    rqtl_peaks = rqtl.loc[rqtl.groupby("chr")["lod_em"].idxmax()].set_index("chr")
    pvalues = peaks.set_index("chromosome")["p_value"]
    report.text(
        f"Chromosome 4 (genome-wide p = {pvalues['4']:.3f}) and chromosome 1 (p = {pvalues['1']:.3f}) pass the 5% "
        "threshold, where Sugiyama et al. and R/qtl place the QTL (R/qtl's EM peaks: chromosome 4 at "
        f"{rqtl_peaks.loc['4', 'pos']:g} cM, LOD {rqtl_peaks.loc['4', 'lod_em']:.3f}; chromosome 1 at "
        f"{rqtl_peaks.loc['1', 'pos']:g} cM, LOD {rqtl_peaks.loc['1', 'lod_em']:.3f}). Their intervals and "
        "genotype means (mm Hg):"
    )
    report.table(pd.DataFrame(rows), caption="The QTL on chromosomes 4 and 1", floatfmt=".3f")
    fig, ax = plt.subplots(figsize=(10, 3.2))
    scan.plot(ax=ax, alpha=(0.05, 0.01))
    ax.set_title("hyper: LOD profile of blood pressure (dashed: 5% and 1% genome-wide thresholds)")
    report.figure(fig, "hyper_profile", "LOD profile of blood pressure in the hypertension backcross")
    fig, axes = plt.subplots(1, 2, figsize=(7, 3.2), sharey=True)
    for ax, chrom in zip(axes, ("4", "1")):
        scan.plot_effects(chrom, scan.peaks().set_index("chromosome").loc[chrom, "position"], ax=ax)
    fig.tight_layout()
    report.figure(fig, "hyper_effects", "Blood pressure by genotype at the two QTL, with 95% intervals")


def run(full: bool = False, outdir=None) -> Path:
    report = Report(NAME, __doc__.splitlines()[0], outdir)
    report.text(__doc__.split("\n", 2)[2].split("\n\nModes:")[0])
    report.run_steps({
        "simulated backcross": lambda: part_simulated(report),
        "replicate study": lambda: part_replicates(report, full),
        "hypertension backcross": lambda: part_hyper(report),
    })
    return report.write()


if __name__ == "__main__":
    run()
