"""Trap-shy animals: heterogeneous catchability, latent classes and the unseen population size N

A closed population of 500 animals is trapped on 6 occasions; 30% are
trap-happy (p = 0.6) and 70% trap-shy (p = 0.1). The homogeneous model M0
misses most of the shy animals that were never caught and is biased low;
Pledger's two-class mixture Mh2 recovers N. A replicate study (200 simulated
populations) measures the bias and the coverage of the profile-likelihood
interval. Then two real data sets: deer mice (Otis et al. 1978) and the
yellow-bellied prinia (Hwang & Huggins), each with an AIC table and N with its
interval.

Modes: the default run fits one simulated population and both real data sets,
and reports the replicate study from its results file
``case_studies/results/trap_shy_animals_replicates.csv`` (written by
``run(full=True)`` or by the slow test ``tests/ecology/test_replicate_study_slow.py``;
the same seeds give the same numbers). Without that file it runs 20 replicates.
``full=True`` recomputes all 200 replicates and rewrites the file.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from latentlab.ecology import CaptureRecapture, compare_models, simulate_capture_histories
from latentlab.report import Report, replicate_results

NAME = "trap_shy_animals"
TRUE_N, OCCASIONS = 500, 6
CLASSES = [(0.3, 0.6), (0.7, 0.1)]  # (weight, capture probability): trap-happy, trap-shy
DATA_DIR = Path(__file__).resolve().parents[1] / "data"
RESULTS = Path(__file__).resolve().parent / "results" / f"{NAME}_replicates.csv"
SEED = 2026


def _fit_quietly(model: str, histories, random_state) -> tuple[CaptureRecapture, list[str]]:
    """Fit and collect the warnings (reported, not hidden)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = CaptureRecapture(model, random_state=random_state).fit(histories)
    return fit, [str(w.message) for w in caught]


def replicate_study(n_replicates: int, seed: int = SEED) -> pd.DataFrame:
    """Simulate ``n_replicates`` populations and fit M0 and Mh2 to each.

    One row per replicate and model: N estimate, profile interval, whether it
    covers the true N and whether its upper limit is unbounded.
    """
    rows = []
    for i, child in enumerate(np.random.SeedSequence(seed).spawn(n_replicates)):
        sim_seed, fit_seed = child.spawn(2)
        h, _ = simulate_capture_histories(TRUE_N, OCCASIONS, CLASSES, random_state=np.random.default_rng(sim_seed))
        for model in ("M0", "Mh2"):
            fit, _ = _fit_quietly(model, h, fit_seed)
            lo, hi = fit.N_interval_
            rows.append({
                "replicate": i, "model": model, "n_caught": h.shape[0], "N_hat": fit.N_, "N_se": fit.N_se_,
                "lower": lo, "upper": hi, "covers": bool(lo <= TRUE_N <= hi), "unbounded": bool(np.isinf(hi)),
                "converged": fit.converged_,
            })
    return pd.DataFrame(rows)


def summarise_replicates(results: pd.DataFrame) -> pd.DataFrame:
    """Median relative bias, coverage and the share of unbounded intervals per model."""
    out = []
    for model, g in results.groupby("model", sort=False):
        rel = g["N_hat"] / TRUE_N - 1.0
        out.append({
            "model": model, "replicates": len(g), "median N_hat": g["N_hat"].median(),
            "median relative bias": rel.median(), "mean relative bias (finite N_hat)": rel[np.isfinite(rel)].mean(),
            "N_hat = inf": np.isinf(g["N_hat"]).mean(),
            "95% profile-interval coverage": g["covers"].mean(), "unbounded upper limit": g["unbounded"].mean(),
            "median n caught": g["n_caught"].median(),
        })
    return pd.DataFrame(out)


def _profile_figure(fits: dict, report: Report):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4))
    for name, fit in fits.items():
        grid = np.concatenate([np.linspace(fit.n_caught_, 450, 100), np.linspace(455, 900, 40)])
        lp = fit.profile_loglik(grid)
        ax.plot(grid, lp - fit.loglik_, label=f"{name}: N = {fit.N_:.0f}")
    ax.axhline(-1.920729, color="grey", ls=":", label="95% cut-off")
    ax.axvline(TRUE_N, color="k", ls="--", label=f"true N = {TRUE_N}")
    ax.set_ylim(-12, 0.5)
    ax.set_xlabel("population size N")
    ax.set_ylabel("profile log-likelihood - maximum")
    ax.legend()
    report.figure(fig, "profiles", "Profile log-likelihood of N for M0 and Mh2 on one simulated population")


def _replicate_figure(results: pd.DataFrame, report: Report):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4))
    bins = np.linspace(250, 1000, 40)
    for model, g in results.groupby("model", sort=False):
        ax.hist(np.clip(g["N_hat"], 250, 1000), bins=bins, alpha=0.6, label=model)
    ax.axvline(TRUE_N, color="k", ls="--", label="true N")
    ax.set_xlabel("estimate of N (values above 1000 shown at 1000)")
    ax.set_ylabel("replicates")
    ax.legend()
    report.figure(fig, "replicates", "Estimates of N over the replicate populations")


def _model_table(table: pd.DataFrame) -> pd.DataFrame:
    return table[["model", "n_parameters", "loglik", "AIC", "delta_AIC", "N", "N_se", "N_lower", "N_upper"]]


def _real_data(report: Report, title: str, histories: pd.DataFrame, text: str) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = compare_models(histories, random_state=0)
    report.text(f"## {title}\n\n{text}")
    report.table(_model_table(table), f"{title}: models by AIC (N counted as a parameter; N_lower/N_upper "
                                      "the 95% profile-likelihood interval)")
    fits = table.attrs["fits"]
    best = fits[table["model"].iloc[0]]
    report.table(fits["Mh2"].summary(), f"{title}: estimates under Mh2 (class 0 the less catchable)")
    if best.model != "Mh2":
        rows = best.summary()
        report.table(rows[~rows["parameter"].str.startswith("p[")],
                     f"{title}: N and class weights under the AIC-best model {best.model} "
                     "(its capture probabilities per class and occasion are in `summary()`)")
    if np.isfinite(best.N_):
        freq = best.expected_frequencies()
        report.table(freq[(freq["observed"] > 0) | (freq["expected"] >= 0.5)],
                     f"{title}: animals caught y times, observed and expected under {best.model} "
                     "(rows with nothing observed and less than 0.5 expected left out)")
    notes = sorted({str(w.message) for w in caught})
    if notes:
        report.text("Warnings raised by these fits:\n\n" + "\n".join(f"- {m}" for m in notes))


def run(full: bool = False, outdir=None) -> Path:
    report = Report(NAME, "Trap-shy animals: latent classes of catchability and the unseen population", outdir)
    report.text(
        "A closed population of N animals is trapped on T occasions; only animals caught at least once are "
        "seen. The full likelihood in N (Otis et al. 1978) multiplies the multinomial coefficient "
        "N!/((N-n)! prod f_j!) by the probabilities of the distinct histories and P0^(N-n) for the unseen. "
        "Pledger's (2000) mixture Mh2 gives each animal a latent class with its own capture probability; "
        "EM treats the class of every caught animal *and* the unseen animals as missing data, and "
        "estimates N jointly inside the EM (an ECM step: the N that maximises the likelihood given the "
        "class parameters). Intervals for N are profile-likelihood intervals, each profile point an EM "
        "fit with N fixed. Log-likelihoods include the full multinomial coefficient, so they compare "
        "across models; AIC counts N as a parameter."
    )
    report.run_steps({
        "one simulated population": lambda: _simulated_population(report),
        "replicate study": lambda: _replicates(report, full),
        "deer mice and prinia": lambda: _real_data_sets(report),
    })
    return report.write()


def _simulated_population(report: Report) -> None:
    h, z = simulate_capture_histories(TRUE_N, OCCASIONS, CLASSES, random_state=SEED)
    table = compare_models(h, models=("M0", "Mt", "Mh2", "Mh3", "Mth2"), random_state=0)
    report.text(
        f"## One simulated population\n\nN = {TRUE_N}, {OCCASIONS} occasions, 30% trap-happy (p = 0.6) and "
        f"70% trap-shy (p = 0.1). Caught: n = {h.shape[0]} animals ({np.mean(z == 0):.0%} of them trap-happy); "
        f"{TRUE_N - h.shape[0]} were never caught."
    )
    report.table(_model_table(table), "Simulated population: models by AIC")
    fits = table.attrs["fits"]
    report.table(fits["Mh2"].summary(), "Mh2 estimates (truth: weights 0.7 / 0.3, p = 0.1 / 0.6, N = 500)")
    _profile_figure({m: fits[m] for m in ("M0", "Mh2")}, report)


def _replicates(report: Report, full: bool) -> None:
    results, source = replicate_results(RESULTS, replicate_study, 200, 20, full)
    summary = summarise_replicates(results)
    n_rep = results["replicate"].nunique()
    report.text(
        f"## Replicate study: {n_rep} simulated populations\n\nSame design, independent seeds "
        f"(SeedSequence({SEED})). {source} Targets: median relative bias of N under Mh2 at "
        "most 5%, 95% profile-interval coverage in [0.90, 0.98], and the negative bias of M0."
    )
    report.table(summary, "Replicate study summary (relative bias = N_hat / 500 - 1)", floatfmt=".3f")
    _replicate_figure(results, report)


def _real_data_sets(report: Report) -> None:
    deer = pd.read_csv(DATA_DIR / "deermice.csv")
    _real_data(report, "Deer mice", deer[[f"y{t}" for t in range(1, 7)]],
               "38 deer mice (*Peromyscus maniculatus*) caught over 6 nights at East Stuart Gulch, Colorado "
               "(Otis et al. 1978; VGAM `deermice`). Under M0 and Mt the continuous-N maximum sits at the "
               "boundary N = n = 38 (the likelihood falls from there), so N has no Wald standard error; the "
               "profile interval still gives its upper limit.")
    prinia = pd.read_csv(DATA_DIR / "prinia.csv")
    _real_data(report, "Yellow-bellied prinia", prinia.filter(regex=r"^y\d+$"),
               "151 birds mist-netted over 19 weekly occasions in Hong Kong (Hwang & Huggins; VGAM `prinia`); "
               "115 of them were caught only once. Few recaptures leave the heterogeneity models unable to "
               "bound N from above: their profile likelihood stays above the cut-off up to the cap "
               "(50 x n caught), and the upper limit is reported as unbounded (inf), not as the cap.")


if __name__ == "__main__":
    run()
