"""Deaths of women aged 80+ in The Times, 1910-1912: a two-component Poisson mixture.

Hasselblad (1969) fitted a two-component Poisson mixture to the number of days
(out of 1,096) on which 0, 1, ..., 9 deaths of women aged 80 and over were
reported in The Times of London. Plain EM is famously slow on these data;
Varadhan & Roland (2008) used them to show SQUAREM. This study fits the mixture
with both schemes, reports estimates with standard errors, compares observed and
fitted frequencies, and then checks on simulated data of known truth that the
estimator recovers the truth and that its 95% intervals cover it.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.stats import poisson

from latentlab.mixtures import PoissonMixture, simulate_poisson_mixture
from latentlab.report import Report

DEATHS = np.arange(10)
DAYS = np.array([162, 267, 271, 185, 111, 61, 27, 8, 3, 1])
TOL = 1e-14  # tight: plain EM must get within 1e-6 of the optimum's log-likelihood


def fit(weights_init, rates_init, accelerate):
    return PoissonMixture(
        2, weights_init=weights_init, rates_init=rates_init, tol=TOL, max_iter=100_000, accelerate=accelerate
    ).fit(DEATHS, weights=DAYS)


def section_data(report: Report) -> None:
    report.text(__doc__.split("\n", 2)[2])
    report.table(
        pd.DataFrame({"deaths per day": DEATHS, "days": DAYS}), caption="The data (Hasselblad 1969): 1,096 days"
    )


def section_fit(report: Report):
    plain, fast = fit([0.5, 0.5], [1.0, 3.0], None), fit([0.5, 0.5], [1.0, 3.0], "squarem")
    report.text(
        "## Maximum likelihood\n\nBoth schemes start from (pi, lambda1, lambda2) = (0.5, 1, 3) and stop by the "
        f"engine's rule with tol = {TOL:g} (the gain of one EM step plus the gains still to come at EM's "
        "estimated rate is at most tol x (1 + |loglik|); see docs/engine.md). The literature's MLE is "
        "pi = 0.3599, lambda = (1.2561, 2.6634)."
    )
    report.table(
        fast.summary(), caption="Estimates (SQUAREM fit), standard errors from the observed information, 95% Wald "
        "intervals (logit scale for weights, log scale for rates)", floatfmt=".4f"
    )
    runs = pd.DataFrame(
        {
            "scheme": ["plain EM", "SQUAREM"],
            "log-likelihood": [plain.loglik_, fast.loglik_],
            "pi": [plain.weights_[0], fast.weights_[0]],
            "lambda1": [plain.rates_[0], fast.rates_[0]],
            "lambda2": [plain.rates_[1], fast.rates_[1]],
            "iterations": [plain.n_iter_, fast.n_iter_],
            "E-steps": [plain.result_.n_evals, fast.result_.n_evals],
        }
    )
    report.table(runs, caption="Plain EM against SQUAREM from the same start", floatfmt=".6g")
    report.timings.update({"plain EM fit": plain.result_.elapsed, "SQUAREM fit": fast.result_.elapsed})
    report.text(
        f"The weight is poorly determined (standard error {fast.summary().std_error[0]:.3f}): the two "
        "components overlap heavily, which is also why plain EM crawls (its rate of convergence is the "
        "fraction of missing information)."
    )
    return plain, fast


def section_frequencies(report: Report, fitted: PoissonMixture) -> None:
    table = fitted.expected_frequencies()
    report.table(table, caption="Observed and fitted numbers of days", floatfmt=".1f")
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.bar(table.value, table.observed, color="0.8", label="observed")
    ax.plot(table.value, table.expected, "o-", color="C3", label="two-component mixture")
    for k in range(2):
        comp = DAYS.sum() * fitted.weights_[k] * poisson.pmf(table.value, fitted.rates_[k])
        ax.plot(table.value, comp, "--", lw=1, label=f"component {k + 1} (rate {fitted.rates_[k]:.2f})")
    ax.set_xlabel("deaths per day")
    ax.set_ylabel("days")
    ax.legend(frameon=False)
    report.figure(fig, "frequencies", "Observed against fitted frequencies, with the two components")


def section_speed(report: Report, plain: PoissonMixture, fast: PoissonMixture) -> None:
    optimum = max(plain.loglik_, fast.loglik_)
    fig, ax = plt.subplots(figsize=(6, 4))
    plain.result_.plot_trace(ax=ax, optimum=optimum, label="plain EM")
    fast.result_.plot_trace(ax=ax, optimum=optimum, label="SQUAREM")
    ax.set_xscale("log")
    ax.set_title("Hasselblad's data, start (0.5, 1, 3)")
    ax.legend(frameon=False)
    report.figure(fig, "squarem", "Distance to the optimum (log-likelihood) against E-step evaluations")

    rng = np.random.default_rng(2024)
    rows = []
    for _ in range(5):
        w0 = rng.uniform(0.1, 0.9)
        r0 = np.sort(rng.uniform(0.5, 5.0, 2))
        p, s = fit([w0, 1 - w0], r0, None), fit([w0, 1 - w0], r0, "squarem")
        rows.append(
            {
                "start (pi, l1, l2)": f"({w0:.2f}, {r0[0]:.2f}, {r0[1]:.2f})",
                "plain E-steps": p.result_.n_evals,
                "SQUAREM E-steps": s.result_.n_evals,
                "ratio": p.result_.n_evals / s.result_.n_evals,
                "loglik gap": s.loglik_ - p.loglik_,
            }
        )
    report.text(
        "## SQUAREM\n\nSQUAREM (Varadhan & Roland 2008, scheme S3) extrapolates from two EM steps, pulls an "
        "extrapolation that leaves the parameter space back towards the EM point, and falls back on the EM "
        "point when the extrapolation lowers the log-likelihood, so it is monotone too."
    )
    report.table(pd.DataFrame(rows), caption="E-step evaluations to convergence from random starts", floatfmt=".3g")


def section_simulation(report: Report, replicates: int) -> None:
    truth_w, truth_r, n = np.array([0.4, 0.6]), np.array([2.0, 7.0]), 800
    truth = np.r_[truth_w, truth_r]
    counts, _ = simulate_poisson_mixture(n, truth_w, truth_r, random_state=1)
    one = PoissonMixture(2, n_init=3, accelerate="squarem", random_state=0).fit(counts)
    table = one.summary()
    table.insert(1, "truth", truth)
    report.text(
        f"## Simulated truth\n\nData: n = {n} counts from weights {truth_w.tolist()} and rates "
        f"{truth_r.tolist()}. One data set, fitted with three random restarts:"
    )
    report.table(table, floatfmt=".4f")

    estimates, covered = [], []
    with report.timed(f"{replicates} replicates"):
        for rep in range(replicates):
            counts, _ = simulate_poisson_mixture(n, truth_w, truth_r, random_state=10_000 + rep)
            fit = PoissonMixture(2, n_init=3, accelerate="squarem", random_state=rep).fit(counts)
            tab = fit.summary()
            estimates.append(tab.estimate.to_numpy())
            covered.append(((tab.ci_lower <= truth) & (truth <= tab.ci_upper)).to_numpy())
    estimates, covered = np.array(estimates), np.array(covered)
    ses = np.sqrt(replicates)
    summary = pd.DataFrame(
        {
            "parameter": table.parameter,
            "truth": truth,
            "mean estimate": estimates.mean(axis=0),
            "bias": estimates.mean(axis=0) - truth,
            "empirical SD": estimates.std(axis=0, ddof=1),
            "coverage of 95% interval": covered.mean(axis=0),
            "coverage MC s.e.": np.sqrt(covered.mean(axis=0) * (1 - covered.mean(axis=0))) / ses,
        }
    )
    report.text(
        f"{replicates} replicate data sets. Coverage is the share of "
        "replicates whose 95% Wald interval contains the truth; its Monte Carlo standard error is given."
    )
    report.table(summary, floatfmt=".4f")


def run(full: bool = False, outdir=None):
    report = Report("poisson_deaths", "Poisson mixture: deaths of women aged 80+ (Hasselblad 1969)", outdir)
    fits = {}
    report.run_steps({
        "data": lambda: section_data(report),
        "maximum likelihood": lambda: fits.update(zip(("plain", "fast"), section_fit(report))),
        "fitted frequencies": lambda: section_frequencies(report, fits["fast"]),
        "SQUAREM": lambda: section_speed(report, fits["plain"], fits["fast"]),
        "simulated truth": lambda: section_simulation(report, replicates=2000 if full else 400),
    })
    return report.write()


if __name__ == "__main__":
    print(run())
