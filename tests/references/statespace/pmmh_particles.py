"""Reference PMMH posterior for the stochastic volatility model, computed with
the `particles` package (Chopin & Papaspiliopoulos), version 0.4.

Run with the python of the separate venv made by ``particles_env.sh`` (particles
0.4 pins numpy < 2), from the repository root::

    bash tests/references/statespace/particles_env.sh
    OMP_NUM_THREADS=1 nice -n 10 /tmp/particles-venv/bin/python \\
        tests/references/statespace/pmmh_particles.py

It writes ``case_studies/results/pmmh_particles.csv`` (read by the tests and
the stochastic-volatility case study; columns
dataset, parameter, posterior_mean, posterior_sd, ci_lower, ci_upper; the CI is
the 2.5% / 97.5% quantiles of the post-burn-in chain; parameters mu, phi,
sigma) and ``pmmh_particles.json`` (versions, command, prior, settings,
acceptance rates, effective sample sizes, wall times, log-likelihood noise).

Model
-----
``particles.state_space_models.StochVol``. Its source (particles 0.4,
state_space_models.py, class StochVol) defines

    X_0 ~ N(mu, sigma^2 / (1 - rho^2))
    X_t = mu + rho (X_{t-1} - mu) + sigma U_t,   U_t ~ N(0, 1)
    Y_t | X_t = x_t ~ N(0, exp(x_t))

(``PX0`` = Normal(mu, sigma / sqrt(1 - rho^2)), ``PX`` = Normal((1 - rho) mu +
rho x_{t-1}, sigma), ``PY`` = Normal(0, exp(x_t / 2))), i.e. exactly our
model, with our ``phi`` being its ``rho``. Time in particles starts at t = 0,
so the T observations are y_0..y_{T-1}; X_0 is the state of the first
observation (no extra initial state without an observation).

Prior (independent components, particles.distributions.StructDist)
-------------------------------------------------------------------
    mu    ~ Normal(0, 10^2)                  dists.Normal(loc=0, scale=10)
    phi   ~ Uniform(-1, 1)   (particles' rho) dists.Uniform(a=-1, b=1)
    sigma ~ Gamma(shape=1, rate=1) = Exponential(1)   dists.Gamma(a=1, b=1)

Sampler
-------
``particles.mcmc.PMMH`` with the bootstrap filter (``fk_cls=Bootstrap``, the
default; SMC defaults: systematic resampling when ESS < N/2) and the adaptive
Gaussian random-walk proposal (``adaptive=True``: proposal covariance
(2.38^2/3) x running estimate of the posterior covariance, initialised at
``rw_cov``). The chain starts at a fixed, data-based point (mu = log mean y^2,
rho = 0.9, sigma = 0.3), not at the truth. Seeds are fixed per data set
(numpy's global RandomState, which particles and scipy.stats use).

The number of particles per data set was chosen from short pilot runs so that
the standard deviation of the log-likelihood estimate is around 1-2 (Doucet et
al. 2015); the script re-measures it (20 independent filter runs) at the
posterior mean for a few N and stores that in the JSON. On the simulated data
N=500 gives sd ~1.1-1.5. On the DAX data the bootstrap filter's estimate is
noisier and heavy-tailed (the largest return is ~9.7 sd): about 3 at N=1000
and not much better at N=2000, so the DAX chain mixes worse (lower acceptance
rate and ESS, see the JSON); a larger N was not affordable here (~0.25 s per
PMMH iteration, mostly per-time-step Python overhead). The effective sample size uses particles' own
Geyer initial-sequence estimator (``particles.variance_mcmc.MCMC_init_seq``).

Per-data-set settings are in SETTINGS below; ``--datasets``, ``--niter``,
``--burnin`` override them (e.g. for a quick smoke test, written elsewhere with
``--out-prefix``). Rerunning a subset of data sets keeps the other data sets'
rows and JSON entries already in the output files.
"""

import argparse
import csv
import json
import os
import platform
import sys
import time
from importlib.metadata import version

import numpy as np
import particles
from particles import distributions as dists
from particles import mcmc
from particles import state_space_models as ssms
from particles.variance_mcmc import MCMC_init_seq

HERE = os.path.dirname(os.path.abspath(__file__))
DATA_DIR = os.path.join("data", "stochastic_volatility")

# N: particles per filter run; niter: total PMMH iterations (including the
# first, the starting point); burnin: iterations discarded at the start.
SETTINGS = {
    "simulated": {"file": "simulated.csv", "N": 500, "niter": 11000,
                  "burnin": 1000, "seed": 20261204},
    "dax_returns": {"file": "dax_returns.csv", "N": 1000, "niter": 11000,
                    "burnin": 1000, "seed": 19911208},
}

PRIOR_TEXT = {
    "mu": "Normal(mean=0, sd=10)",
    "phi": "Uniform(-1, 1)  (particles' rho)",
    "sigma": "Gamma(shape=1, rate=1), i.e. Exponential(1)",
}

# preliminary guess of the posterior covariance (order of magnitude only),
# used by the adaptive random walk until its running estimate takes over
RW_COV = np.diag([0.2 ** 2, 0.01 ** 2, 0.03 ** 2])

OURS = {"mu": "mu", "rho": "phi", "sigma": "sigma"}  # particles name -> ours

LOGLIK_SD_NS = (200, 500, 1000, 2000)
LOGLIK_SD_RUNS = int(os.environ.get("PMMH_LOGLIK_SD_RUNS", 20))


def make_prior():
    return dists.StructDist({
        "mu": dists.Normal(loc=0.0, scale=10.0),
        "rho": dists.Uniform(a=-1.0, b=1.0),
        "sigma": dists.Gamma(a=1.0, b=1.0),
    })


def load_y(fname):
    with open(os.path.join(DATA_DIR, fname), newline="") as f:
        return np.array([float(row["y"]) for row in csv.DictReader(f)])


def loglik_sd(y, theta, N, nruns, seed):
    """sd (and mean) of the bootstrap-filter log-likelihood estimate."""
    np.random.seed(seed)
    ll = []
    for _ in range(nruns):
        pf = particles.SMC(fk=ssms.Bootstrap(ssm=ssms.StochVol(**theta), data=y),
                           N=N, collect="off")
        pf.run()
        ll.append(pf.logLt)
    ll = np.array(ll)
    return {"N": N, "runs": nruns, "sd": float(np.std(ll, ddof=1)),
            "mean": float(np.mean(ll)), "min": float(ll.min()),
            "max": float(ll.max())}


def ess(x):
    """Effective sample size with particles' Geyer initial-sequence estimator."""
    x = np.asarray(x, dtype=float)
    sig2 = MCMC_init_seq(x[:, None])  # asymptotic variance
    return float(len(x) * np.var(x) / sig2)


def run_one(name, cfg, args):
    y = load_y(cfg["file"])
    N = cfg["N"]
    niter = args.niter if args.niter else cfg["niter"]
    burnin = args.burnin if args.burnin is not None else cfg["burnin"]
    prior = make_prior()
    theta0 = np.zeros(1, dtype=prior.dtype)
    theta0["mu"] = np.log(np.mean(y ** 2))
    theta0["rho"] = 0.9
    theta0["sigma"] = 0.3
    # PMMH writes its proposals into theta0's memory: keep a copy for the record
    theta0_record = {OURS[k]: float(theta0[k][0]) for k in ("mu", "rho", "sigma")}
    np.random.seed(cfg["seed"])
    alg = mcmc.PMMH(ssm_cls=ssms.StochVol, prior=prior, data=y, Nx=N,
                    niter=niter, theta0=theta0, adaptive=True, rw_cov=RW_COV,
                    fk_cls=ssms.Bootstrap, verbose=args.verbose)
    t0 = time.perf_counter()
    alg.run()
    wall = time.perf_counter() - t0
    chain = alg.chain.theta
    kept = chain[burnin:]
    rows = []
    post_mean = {}
    diag = {}
    for p in ("mu", "rho", "sigma"):
        x = kept[p]
        half = len(x) // 2
        post_mean[p] = float(np.mean(x))
        rows.append({
            "dataset": name,
            "parameter": OURS[p],
            "posterior_mean": float(np.mean(x)),
            "posterior_sd": float(np.std(x, ddof=1)),
            "ci_lower": float(np.quantile(x, 0.025)),
            "ci_upper": float(np.quantile(x, 0.975)),
        })
        diag[OURS[p]] = {
            "ess": ess(x),
            "mean_first_half": float(np.mean(x[:half])),
            "mean_second_half": float(np.mean(x[half:])),
        }
    # log-likelihood noise at the posterior mean (and at the truth if known)
    ll_sd = {"at": "posterior mean " + json.dumps(
        {OURS[k]: round(v, 4) for k, v in post_mean.items()}),
        "by_N": [loglik_sd(y, post_mean, n, LOGLIK_SD_RUNS, cfg["seed"] + n)
                 for n in sorted(set(LOGLIK_SD_NS) | {N})]}
    info = {
        "file": os.path.join(DATA_DIR, cfg["file"]),
        "T": int(len(y)),
        "N": N,
        "niter_total": niter,
        "burnin": burnin,
        "kept": int(len(kept)),
        "seed": cfg["seed"],
        "theta0": theta0_record,
        "acceptance_rate": float(alg.acc_rate),
        "acceptance_rate_after_burnin": float(
            np.mean(np.any(np.diff(np.stack([chain[p] for p in chain.dtype.names]),
                                   axis=1)[:, max(burnin, 1) - 1:] != 0, axis=0))),
        "wall_seconds": wall,
        "seconds_per_iteration": wall / niter,
        "diagnostics": diag,
        "loglik_sd": ll_sd,
    }
    if name == "simulated":
        truth = {"mu": -0.5, "rho": 0.95, "sigma": 0.3}
        info["loglik_sd_at_truth"] = loglik_sd(y, truth, N, LOGLIK_SD_RUNS,
                                               cfg["seed"] + 7)
    if args.chain_dir:
        os.makedirs(args.chain_dir, exist_ok=True)
        np.savez(os.path.join(args.chain_dir, f"pmmh_chain_{name}.npz"),
                 mu=chain["mu"], phi=chain["rho"], sigma=chain["sigma"],
                 lpost=alg.chain.lpost)
    return rows, info


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", default=",".join(SETTINGS))
    ap.add_argument("--niter", type=int, default=None)
    ap.add_argument("--burnin", type=int, default=None)
    ap.add_argument("--verbose", type=int, default=0,
                    help="passed to PMMH: progress printed this many times")
    ap.add_argument("--out-prefix",
                    default=os.path.join(HERE, "..", "..", "..", "case_studies", "results", "pmmh_particles"))
    ap.add_argument("--chain-dir", default=None,
                    help="optionally save the raw chains (npz) here")
    args = ap.parse_args()
    names = [s for s in args.datasets.split(",") if s]
    csv_path = args.out_prefix + ".csv"
    json_path = args.out_prefix + ".json"
    meta = {
        "description": "PMMH posterior for the stochastic volatility model "
                       "with the particles package (reference values)",
        "command": "OMP_NUM_THREADS=1 nice -n 10 " + " ".join(
            [sys.executable] + sys.argv),
        "versions": {"particles": version("particles"),
                     "numpy": version("numpy"), "scipy": version("scipy"),
                     "numba": version("numba"),
                     "python": platform.python_version()},
        "model": "particles.state_space_models.StochVol: X_0 ~ N(mu, sigma^2/"
                 "(1-rho^2)), X_t = mu + rho (X_{t-1} - mu) + sigma U_t, "
                 "Y_t ~ N(0, exp(X_t)); our phi = its rho",
        "prior": PRIOR_TEXT,
        "sampler": "particles.mcmc.PMMH, fk_cls=Bootstrap (SMC defaults: "
                   "systematic resampling when ESS < N/2), adaptive=True "
                   "(scale 2.38/sqrt(3) x running posterior covariance), "
                   "rw_cov=" + json.dumps(np.diag(RW_COV).tolist()) + " (diagonal)",
        "interval": "equal-tailed 95%: 2.5% and 97.5% quantiles of the kept chain",
        "ess_method": "particles.variance_mcmc.MCMC_init_seq (Geyer initial "
                      "sequence), ESS = n var(x) / asymptotic variance",
        "loglik_sd_method": f"{LOGLIK_SD_RUNS} independent bootstrap filter "
                            "runs (systematic, ESSrmin=0.5) at the stated "
                            "parameter; sample sd of logLt",
        "machine": {"cores": os.cpu_count(), "note": "2 cores shared with "
                    "another job; timings indicative"},
        "datasets": {},
    }
    all_rows = []
    # data sets not rerun this time keep their rows from existing output files
    if os.path.exists(csv_path) and os.path.exists(json_path):
        with open(csv_path, newline="") as f:
            old_rows = [r for r in csv.DictReader(f) if r["dataset"] not in names]
        with open(json_path) as f:
            old_meta = json.load(f)
        for r in old_rows:
            all_rows.append({k: (v if k in ("dataset", "parameter") else float(v))
                             for k, v in r.items()})
        for k, v in old_meta.get("datasets", {}).items():
            if k not in names:
                meta["datasets"][k] = v
    for name in names:
        print(f"[{time.strftime('%H:%M:%S')}] PMMH on {name}", flush=True)
        rows, info = run_one(name, SETTINGS[name], args)
        info["command"] = meta["command"]
        all_rows = [r for r in all_rows if r["dataset"] != name] + rows
        all_rows.sort(key=lambda r: list(SETTINGS).index(r["dataset"]))
        meta["datasets"][name] = info
        print(json.dumps({name: {r["parameter"]: [round(r["posterior_mean"], 4),
                                                  round(r["ci_lower"], 4),
                                                  round(r["ci_upper"], 4)]
                                 for r in rows},
                          "acc": round(info["acceptance_rate"], 3),
                          "wall": round(info["wall_seconds"], 1)}), flush=True)
        # write after each data set so that a partial run leaves usable output
        with open(csv_path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=["dataset", "parameter",
                                              "posterior_mean", "posterior_sd",
                                              "ci_lower", "ci_upper"])
            w.writeheader()
            for r in all_rows:
                w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v)
                            for k, v in r.items()})
        with open(json_path, "w") as f:
            json.dump(meta, f, indent=1)
            f.write("\n")
    print(f"wrote {csv_path} and {json_path}")


if __name__ == "__main__":
    main()
