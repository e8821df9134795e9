"""Stochastic volatility: particle-smoother EM on simulated returns and the DAX

The volatility of daily returns wanders: calm weeks, then turbulent ones. The
stochastic volatility model makes the log-variance ``x_t`` of the return
``y_t`` a hidden AR(1) process, ``x_t = mu + phi (x_{t-1} - mu) + sigma eta_t``,
``y_t = exp(x_t / 2) eps_t``. No Kalman smoother gives its E-step, so EM runs on
trajectories drawn by a particle smoother (bootstrap filter and backward
simulation), with the engine's ascent-based Monte Carlo EM deciding how many
particles each step needs, and Louis' identity giving standard errors. First a
simulated series with known parameters, then a replicate study of interval
coverage, then the DAX (daily closing prices 1991-1998, R's `EuStockMarkets`),
each against the posterior of the `particles` package's particle marginal
Metropolis-Hastings (PMMH) on the same series.

Modes: the default run fits the simulated series and the DAX and reports the
replicate study from ``case_studies/results/stochastic_volatility_replicates.csv``
(written by ``run(full=True)``; the slow test
``tests/statespace/test_particle_slow.py`` recomputes it and checks it against
the file: the same seeds give the same numbers); without that file it runs 3
replicates. ``full=True`` recomputes the
50 replicates. The PMMH posteriors are read from
``case_studies/results/pmmh_particles.csv``, written by
``tests/references/statespace/pmmh_particles.py`` (which names the version and
prior; the run's details are in ``pmmh_particles.json`` beside it).
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from latentlab.report import Report, coverage_summary, replicate_results
from latentlab.statespace import ParticleSSM, StochasticVolatility

NAME = "stochastic_volatility"
HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "data" / "stochastic_volatility"
PMMH = HERE / "results" / "pmmh_particles.csv"
RESULTS = HERE / "results" / f"{NAME}_replicates.csv"
PARAMETERS = ["mu", "phi", "sigma"]
#: particles of the two fits of the default run (kept small for the test suite, which reruns it) and of the
#: replicate study (the package's default)
N_PARTICLES, N_REPLICATE = 500, 1000
T_REPLICATE = 2000


def fit(y: np.ndarray, random_state=0, n_particles: int = N_PARTICLES) -> ParticleSSM:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ParticleSSM(StochasticVolatility(), n_particles=n_particles, random_state=random_state).fit(y)


def _truth() -> dict[str, float]:
    truth = json.loads((DATA / "simulated_truth.json").read_text())
    return {p: truth[p] for p in PARAMETERS}


def _against_pmmh(est: ParticleSSM, dataset: str, truth: dict | None = None) -> pd.DataFrame:
    """Our estimates with standard errors and intervals beside PMMH's posterior."""
    ours = est.summary().set_index("parameter")
    ref = pd.read_csv(PMMH)
    ref = ref[ref["dataset"] == dataset].set_index("parameter")
    rows = []
    for p in PARAMETERS:
        row = {"parameter": p}
        if truth is not None:
            row["truth"] = truth[p]
        row.update({
            "EM estimate": ours.loc[p, "estimate"], "s.e. (Louis)": ours.loc[p, "std_error"],
            "95% interval": f"{ours.loc[p, 'ci_lower']:.3f} to {ours.loc[p, 'ci_upper']:.3f}",
            "PMMH mean": ref.loc[p, "posterior_mean"], "PMMH sd": ref.loc[p, "posterior_sd"],
            "PMMH 95% interval": f"{ref.loc[p, 'ci_lower']:.3f} to {ref.loc[p, 'ci_upper']:.3f}",
            "inside PMMH interval": bool(ref.loc[p, "ci_lower"] <= ours.loc[p, "estimate"] <= ref.loc[p, "ci_upper"]),
        })
        rows.append(row)
    return pd.DataFrame(rows)


def _trace_figure(report: Report, est: ParticleSSM, stem: str, caption: str) -> None:
    r = est.result_
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.2))
    it = np.arange(r.trace.size)
    ax1.plot(it, r.trace, lw=1)
    ax1.fill_between(it, r.trace - 2 * r.trace_se, r.trace + 2 * r.trace_se, alpha=0.3, lw=0)
    ax1.set_xlabel("iteration")
    ax1.set_ylabel("estimated log-likelihood (+/- 2 s.e.)")
    ax1.set_ylim(np.percentile(r.trace, 5) - 5, r.trace.max() + 5)
    ax2.step(it, r.trace_mc_size, where="post")
    ax2.set_xlabel("iteration")
    ax2.set_ylabel("particles (Monte Carlo size)")
    report.figure(fig, stem, caption)


# -- part 1: simulated returns ----------------------------------------------------------------------
def part_simulated(report: Report) -> None:
    data = pd.read_csv(DATA / "simulated.csv")
    truth = _truth()
    est = fit(data["y"].to_numpy())
    report.timings["simulated: EM fit"] = est.result_.elapsed
    r = est.result_
    report.text(
        "## Part 1: simulated returns with known parameters\n\n"
        f"{len(data):,} returns simulated with numpy alone (`tests/references/statespace/make_sv_data.py`) at "
        f"mu = {truth['mu']}, phi = {truth['phi']}, sigma = {truth['sigma']}. Particle-smoother EM from the default start "
        f"(mu the log of the mean square, phi = 0.9, sigma = 0.3) ran {r.n_iter} iterations, its Monte Carlo size "
        f"growing from {r.trace_mc_size[0]} to {r.trace_mc_size[-1]} particles per filter (five filters an E-step); "
        f"converged: {r.converged}. The log-likelihood at the estimate is {est.loglik_:.2f} "
        f"(Monte Carlo s.e. {est.loglik_se_:.2f})."
    )
    table = _against_pmmh(est, "simulated", truth)
    report.table(table, caption="Simulated series: truth, EM estimate with its Louis standard error and 95% Wald "
                                "interval, and the PMMH posterior of the `particles` package on the same series",
                 floatfmt=".4f")
    covered = sum(float(s.split(" to ")[0]) <= truth[p] <= float(s.split(" to ")[1])
                  for p, s in zip(table["parameter"], table["95% interval"]))
    report.text(
        f"{covered} of 3 intervals cover the truth, and every EM estimate lies inside PMMH's 95% credible interval: "
        f"{bool(table['inside PMMH interval'].all())}. The Monte Carlo errors of the standard errors (from the five "
        f"filters of the final pass) are {', '.join(f'{v:.4f}' for v in est.std_error_mc_)}."
    )
    smooth = est.smooth()
    fig, ax = plt.subplots(figsize=(10, 3))
    t = smooth["t"].to_numpy()
    ax.plot(t, data["x"], color="0.4", lw=0.6, label="true log-variance")
    ax.plot(t, smooth["mean"], color="C0", lw=0.8, label="smoothed mean")
    ax.fill_between(t, smooth["lower"], smooth["upper"], color="C0", alpha=0.25, lw=0, label="95% band")
    ax.set_xlabel("day")
    ax.set_ylabel("log-variance x_t")
    ax.legend(fontsize=8, ncol=3)
    report.figure(fig, "simulated_states", "Simulated series: the true log-variance and the particle smoother's mean "
                                           "and pointwise 95% band at the EM estimate")
    inside = np.mean((data["x"] >= smooth["lower"]) & (data["x"] <= smooth["upper"]))
    report.text(f"The band holds the true log-variance on {inside:.1%} of the days.")
    _trace_figure(report, est, "simulated_trace", "Simulated series: the estimated log-likelihood at each iteration "
                                                   "with two Monte Carlo standard errors, and the Monte Carlo size")


# -- part 2: replicate study ----------------------------------------------------------------------------
def replicate_study(n_replicates: int) -> pd.DataFrame:
    """``n_replicates`` series of T = 2,000 from the model at the case study's truth
    (seeds 100, 101, ...), each fitted; estimates, standard errors, iterations and seconds."""
    model = StochasticVolatility()
    truth = _truth()
    params = model.params_type(**{p: np.asarray(v) for p, v in truth.items()})
    rows = []
    for i in range(n_replicates):
        _, y = model.simulate(params, T_REPLICATE, random_state=100 + i)
        start = time.perf_counter()
        est = fit(y, random_state=i, n_particles=N_REPLICATE)
        table = est.summary().set_index("parameter")
        row = {"replicate": i, "iterations": est.n_iter_, "converged": est.converged_,
               "seconds": time.perf_counter() - start}
        for p in PARAMETERS:
            row[p] = table.loc[p, "estimate"]
            row[f"{p}_se"] = table.loc[p, "std_error"]
        rows.append(row)
    return pd.DataFrame(rows)


def summarise_replicates(results: pd.DataFrame) -> pd.DataFrame:
    truth = _truth()
    rows = []
    for p in PARAMETERS:
        est, se = results[p], results[f"{p}_se"]
        within = int(np.sum(np.abs(est - truth[p]) <= 2 * se))
        rows.append({"parameter": p, "truth": truth[p], "mean estimate": est.mean(), "sd of estimates": est.std(ddof=1),
                     "mean s.e.": se.mean(), "within 2 s.e.": within,
                     **coverage_summary(within, len(results))})
    return pd.DataFrame(rows)


def part_replicates(report: Report, full: bool) -> None:
    results, source = replicate_results(RESULTS, replicate_study, 50, 3, full)
    summary = summarise_replicates(results)
    report.text(
        "## Part 2: do the intervals cover the truth?\n\n"
        f"{len(results)} series of {T_REPLICATE:,} returns simulated at the same parameters (the package's simulator, "
        f"seeds 100 onwards), each fitted as above but with the default {N_REPLICATE:,} particles. {source} Each estimate is counted within two of its Louis "
        "standard errors of the truth or not."
    )
    report.table(summary.drop(columns=["intervals"]), caption="Replicate study: estimates against the truth",
                 floatfmt=".4f")
    report.text(
        f"Iterations per fit: median {results['iterations'].median():.0f} (range {results['iterations'].min()} to "
        f"{results['iterations'].max()}); {int(results['converged'].sum())} of {len(results)} met the convergence rule."
    )


# -- part 3: the DAX ---------------------------------------------------------------------------------
def part_dax(report: Report) -> None:
    data = pd.read_csv(DATA / "dax_returns.csv")
    est = fit(data["y"].to_numpy())
    report.timings["DAX: EM fit"] = est.result_.elapsed
    r = est.result_
    report.text(
        "## Part 3: the DAX, 1991-1998\n\n"
        f"{len(data):,} daily log returns of the DAX in percent, demeaned (`data/stochastic_volatility/dax_returns.csv`, "
        "made from R's `EuStockMarkets` by `tests/references/statespace/make_sv_data.py`). EM ran "
        f"{r.n_iter} iterations (converged: {r.converged}); log-likelihood {est.loglik_:.2f} "
        f"(Monte Carlo s.e. {est.loglik_se_:.2f})."
    )
    report.table(_against_pmmh(est, "dax_returns"), caption="DAX: EM estimate, standard error and interval against the PMMH "
                                                     "posterior on the same returns", floatfmt=".4f")
    run = json.loads(PMMH.with_suffix(".json").read_text())["datasets"]["dax_returns"]
    ess = ", ".join(f"{k} {v['ess']:.0f}" for k, v in run["diagnostics"].items())
    noise = next(b["sd"] for b in run["loglik_sd"]["by_N"] if b["N"] == run["N"])
    y = data["y"].to_numpy()
    report.text(
        f"PMMH's chain on the DAX mixed poorly (acceptance rate {run['acceptance_rate']:.2f}, effective sample sizes "
        f"{ess} from {run['kept']:,} draws; its filter of {run['N']:,} particles estimates the log-likelihood with a "
        f"standard deviation of {noise:.1f}, the largest return being {np.abs(y).max() / y.std():.1f} standard "
        "deviations), so its intervals are rough and the DAX comparison indicative only. On the simulated series "
        "the chain mixed well (`case_studies/results/pmmh_particles.json`)."
    )
    p = est.params_
    persistence = np.log(0.5) / np.log(float(p.phi))
    report.text(
        f"phi = {float(p.phi):.3f} means a shock to the log-variance halves in {persistence:.0f} trading days; "
        f"the typical daily volatility exp(mu / 2) is {np.exp(float(p.mu) / 2):.2f}%."
    )
    vol = est.smooth(transform=lambda x: np.exp(x / 2))
    fig, ax = plt.subplots(figsize=(10, 3.2))
    time_axis = data["time"].to_numpy()
    ax.plot(time_axis, np.abs(data["y"]), color="0.75", lw=0.5, label="|return| (%)")
    ax.plot(time_axis, vol["mean"], color="C3", lw=0.9, label="smoothed volatility exp(x_t / 2)")
    ax.fill_between(time_axis, vol["lower"], vol["upper"], color="C3", alpha=0.25, lw=0, label="95% band")
    ax.set_xlabel("year")
    ax.set_ylabel("daily volatility (%)")
    ax.set_ylim(0, np.percentile(np.abs(data["y"]), 99.5))
    ax.legend(fontsize=8, ncol=3)
    report.figure(fig, "dax_volatility", "DAX: absolute daily returns and the smoothed volatility with its pointwise "
                                         "95% band at the EM estimate")
    peak = int(np.argmax(vol["mean"].to_numpy()))
    report.text(
        f"The smoothed volatility peaks at {vol['mean'].iloc[peak]:.2f}% a day around {time_axis[peak]:.2f} "
        f"(decimal year), against {vol['mean'].median():.2f}% on a median day."
    )


def run(full: bool = False, outdir=None) -> Path:
    report = Report(NAME, __doc__.splitlines()[0], outdir)
    report.text(__doc__.split("\n", 2)[2].split("\n\nModes:")[0])
    report.run_steps({
        "simulated returns": lambda: part_simulated(report),
        "replicate study": lambda: part_replicates(report, full),
        "the DAX": lambda: part_dax(report),
    })
    return report.write()


if __name__ == "__main__":
    print(run())
