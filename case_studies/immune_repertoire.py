"""Immune repertoires: true clonotypes and their sizes, deconvolved from sequencing errors.

Sequencing the T- or B-cell receptors of a sample gives read counts per
distinct receptor sequence, but PCR and sequencing errors turn each true
clonotype into a cloud of rare neighbours a substitution or two away: counting
distinct sequences inflates richness many times over and splits large clones.
`ClonotypeEM` treats the counts as a mixture: each read comes from a true
clonotype and then passes through a substitution error process. EM shares
each distinct sequence's reads among the clonotypes within reach and
re-estimates the clonotype shares and the error rate; which sequences are
clonotypes is decided in rounds by an abundance test (divisive partitioning,
as in DADA2, Callahan et al. 2016). The baselines are exact-sequence counting
and the fixed-ratio rule (a sequence joins a neighbour at distance 1 that is
at least ten times more abundant).

There is no public repertoire data set among this project's data (and no
sequencing truth in real data), so this study works on simulations with a
known truth: clone sizes from a power law, PCR amplification with errors
shared down each molecule's amplification tree, then sequencing errors, and
5% of the clonotypes made 1 to 3 substitutions away from another (related or
convergent clonotypes, the hard cases).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from latentlab.repertoire import ClonotypeEM, collapse_by_ratio, diversity, simulate_repertoire
from latentlab.report import Report, coverage_summary, replicate_results

RESULTS = Path(__file__).resolve().parent / "results" / "immune_repertoire_replicates.csv"
ERROR_RATES = (0.005, 0.01)


def _scores(called, truth) -> tuple[float, float, float]:
    called, true = set(called), set(truth)
    tp = len(called & true)
    precision, recall = tp / len(called), tp / len(true)
    return precision, recall, 2 * precision * recall / (precision + recall)


def section_sharing(report: Report) -> None:
    sim = simulate_repertoire(n_clonotypes=3, n_reads=20_000, error_rate=0.01, family_fraction=1.0,
                              lengths=(30,), random_state=3)
    fit = ClonotypeEM(random_state=0).fit(sim.observed["sequence"], sim.observed["count"])
    report.text(
        "## How EM shares reads\n\nThree true clonotypes of 30 nucleotides, the second one substitution from "
        "the first and the third one substitution from the second; 20,000 reads with 1% sequencing error make "
        f"{len(sim.observed)} distinct sequences. ClonotypeEM calls {len(fit.clonotypes_)} clonotypes and "
        f"estimates the error rate as {fit.error_rate_:.5f} per base (realised: {sim.read_error_rate:.5f})."
    )
    truth = sim.truth.set_index("sequence")
    table = fit.clonotypes_[["sequence", "observed_reads", "reads", "reads_lower", "reads_upper"]].copy()
    table.insert(1, "true reads", truth["reads"].reindex(table["sequence"]).to_numpy())
    report.table(table, caption="The clonotypes: true reads, reads of the exact sequence, estimated reads with "
                 "95% intervals", floatfmt=".1f")
    report.text(
        "A sequence one substitution from two clonotypes could be an error of either: EM shares its reads in "
        "proportion to `share x P(sequence | clonotype)`, and the most probable parent may hold only a little "
        "over half of them. Exact counting would add every row below as a clonotype."
    )
    report.table(fit.assignments_.head(10), caption="The ten most frequent distinct sequences: most probable "
                 "parent, its posterior probability and the Hamming distance to it", floatfmt=".3f")


def _one_simulation(error_rate: float):
    sim = simulate_repertoire(n_clonotypes=10_000, n_reads=1_000_000, error_rate=error_rate, random_state=1)
    seqs, counts = sim.observed["sequence"], sim.observed["count"]
    fit = ClonotypeEM(random_state=0).fit(seqs, counts)
    ratio = collapse_by_ratio(seqs, counts)
    return sim, fit, ratio


def _method_rows(error_rate, sim, fit, ratio) -> list[dict]:
    truth_reads = sim.truth.set_index("sequence")["reads"]
    top = sim.truth.nlargest(100, "reads")
    rows = []
    for method, table, reads in [
        ("exact counting", sim.observed, sim.observed.set_index("sequence")["count"]),
        ("ratio 10, distance 1", ratio, ratio.set_index("sequence")["count"]),
        ("ClonotypeEM", fit.clonotypes_, fit.clonotypes_.set_index("sequence")["reads"]),
    ]:
        precision, recall, f1 = _scores(table["sequence"], truth_reads.index)
        top_error = np.abs(reads.reindex(top["sequence"]).to_numpy() / top["reads"].to_numpy() - 1)
        rows.append({"error rate": error_rate, "method": method, "clonotypes": len(table),
                     "precision": precision, "recall": recall, "F1": f1,
                     "top-100 max abundance error": np.nanmax(top_error),
                     "top-100 missing": int(np.isnan(top_error).sum()), **diversity(reads.to_numpy())})
    rows.append({"error rate": error_rate, "method": "truth", "clonotypes": len(sim.truth),
                 **diversity(truth_reads.to_numpy())})
    return rows


def section_simulation(report: Report) -> None:
    report.text(
        "## Recovery of a simulated repertoire\n\n10,000 true clonotypes, 10^6 reads, lengths 33 to 51 "
        "nucleotides, sequencing error 0.5% and 1% per base, PCR errors at 1e-5 per base per cycle over 25 "
        "cycles (5 reads per template molecule). Precision and recall are over clonotype sequences (a called "
        "sequence is right only if it is exactly a true clonotype); abundance error is relative, over the 100 "
        "largest true clonotypes; the diversity columns are computed from each method's abundances (Chao1 "
        "from rounded estimated reads; Shannon in nats; Simpson is Gini-Simpson, 1 - sum p^2)."
    )
    rows, fits = [], {}
    for rate in ERROR_RATES:
        with report.timed(f"simulation and fits, error {rate}"):
            sim, fit, ratio = _one_simulation(rate)
        fits[rate] = (sim, fit)
        rows.extend(_method_rows(rate, sim, fit, ratio))
    report.table(pd.DataFrame(rows), caption="Each method against the truth", floatfmt=".4g")
    errors = pd.DataFrame([{
        "sequencing error rate": rate,
        "realised read error rate (PCR and sequencing)": sim.read_error_rate,
        "ClonotypeEM estimate": fit.error_rate_,
        "relative error": fit.error_rate_ / sim.read_error_rate - 1,
        "partitioning rounds": len(fit.rounds_),
        "unassigned reads": fit.unassigned_reads_,
    } for rate, (sim, fit) in fits.items()])
    report.table(errors, caption="The per-base error rate: estimated against realised", floatfmt=".4g")
    _figure_abundance(report, *fits[0.01])


def _figure_abundance(report: Report, sim, fit) -> None:
    est = fit.clonotypes_.set_index("sequence")
    truth = sim.truth.set_index("sequence")
    common = truth.index.intersection(est.index)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    ax = axes[0]
    ax.loglog(truth.loc[common, "reads"], est.loc[common, "reads"], ".", ms=2, alpha=0.4)
    lim = [truth["reads"].min() * 0.8, truth["reads"].max() * 1.2]
    ax.plot(lim, lim, "k-", lw=0.7)
    ax.set_xlabel("true reads")
    ax.set_ylabel("estimated reads")
    ax.set_title("ClonotypeEM, 1% error")
    ax = axes[1]
    for label, values, style in [("distinct sequences", sim.observed["count"], dict(color="C0")),
                                 ("ClonotypeEM", est["reads"], dict(color="C1", lw=3)),
                                 ("truth", truth["reads"], dict(color="k", ls="--", lw=1))]:
        v = np.sort(np.asarray(values, float))[::-1]
        ax.loglog(np.arange(1, v.size + 1), v, label=label, **style)
    ax.set_xlabel("rank")
    ax.set_ylabel("reads")
    ax.set_title("rank-abundance")
    ax.legend(frameon=False)
    fig.tight_layout()
    report.figure(fig, "abundance", "Estimated against true clone sizes (left); rank-abundance curves of the "
                  "distinct sequences, the clonotypes and the truth (right)")


def coverage_study(n_replicates: int) -> pd.DataFrame:
    rows = []
    for r in range(n_replicates):
        sim = simulate_repertoire(n_clonotypes=100, n_reads=20_000, error_rate=0.01, random_state=5000 + r)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = ClonotypeEM(random_state=0).fit(sim.observed["sequence"], sim.observed["count"])
        est = fit.clonotypes_.set_index("sequence")
        truth = sim.truth.set_index("sequence")
        common = truth.index.intersection(est.index)
        n = est["reads"].sum()
        p = truth.loc[common, "share"]
        precision, recall, _ = _scores(est.index, truth.index)
        rows.append({"replicate": r, "intervals": common.size,
                     "covered": int(((est.loc[common, "reads_lower"] / n <= p)
                                     & (p <= est.loc[common, "reads_upper"] / n)).sum()),
                     "precision": precision, "recall": recall,
                     "error rate ratio": fit.error_rate_ / sim.read_error_rate})
    return pd.DataFrame(rows)


def section_coverage(report: Report, full: bool) -> None:
    results, where = replicate_results(RESULTS, coverage_study, 200, 20, full)
    report.text(
        "## Do the intervals cover the truth?\n\nReplicates of a small repertoire (100 clonotypes, 20,000 "
        "reads, 1% error). Each clonotype's 95% interval for its share (log-scale Wald interval from the "
        "observed information of the shares with the error model held at its estimate) is checked against "
        f"the true share that generated the reads. {where}"
    )
    report.table(pd.DataFrame([{
        "replicates": len(results), **coverage_summary(results["covered"].sum(), results["intervals"].sum()),
        "mean precision": results["precision"].mean(), "mean recall": results["recall"].mean(),
        "mean error-rate ratio (estimate / realised)": results["error rate ratio"].mean(),
    }]), floatfmt=".4f")


def run(full: bool = False, outdir=None):
    report = Report("immune_repertoire", "Immune repertoires: clonotypes deconvolved from sequencing errors", outdir)
    report.run_steps({
        "introduction": lambda: report.text(__doc__.split("\n", 2)[2]),
        "how EM shares reads": lambda: section_sharing(report),
        "simulated repertoires": lambda: section_simulation(report),
        "interval coverage": lambda: section_coverage(report, full),
    })
    return report.write()


if __name__ == "__main__":
    print(run())
