"""Timings of the `particles` package's (0.4) bootstrap filter and FFBS
(backward-sampling) smoothers on the stochastic volatility model.

Run with the python of the venv made by ``particles_env.sh``, from the
repository root::

    /tmp/particles-venv/bin/python tests/references/statespace/particles_timing.py \\
        [--T 1000] [--N 1000] [--out tests/references/statespace/particles_timing.json]

Data: the first T observations (column ``y``) of
``data/stochastic_volatility/simulated.csv``; parameters mu=-0.5, rho=0.95
(our phi), sigma=0.3 of ``particles.state_space_models.StochVol``.

Filter: ``particles.SMC(fk=Bootstrap(ssm, data), N=N, store_history=True,
resampling='systematic')`` (other options at particles' defaults: ESSrmin=0.5,
default summaries collected), timed around ``pf.run()``.

Smoothers (methods of ``pf.hist``, a ``particles.smoothing.ParticleHistory``),
each drawing M trajectories (default M = N):

* ``backward_sampling_mcmc`` -- O(N) independent-Metropolis backward step of
  Dau & Chopin (2022), particles' recommended default.
* ``backward_sampling_reject`` -- rejection backward sampling (Douc et al.
  2011) in the *hybrid* form of Dau & Chopin (2022): at most ``max_trials``
  (default M) rejection rounds per time step, then the exact O(N) draw for the
  particles still rejected. It needs an upper bound of log p(x_t|x_{t-1}),
  which particles' StochVol does not define; we subclass it with
  ``upper_bound_log_pt = -log(sigma) - log(2 pi)/2`` (the Gaussian transition's
  maximum), nothing else changed.
* ``backward_sampling_ON2`` -- the exact O(N^2) FFBS. Its cost is exactly
  linear in M (a Python loop over trajectories), and at M = 1000 it takes
  minutes, so by default it is run for ``--M-on2`` (default 10) trajectories
  and the per-trajectory time is also scaled to M (reported as
  ``seconds_extrapolated_to_M``).

Protocol: one warm-up (filter + every method, small M, which also compiles
particles' numba functions), then ``--repeats`` (default 5) timed repetitions
of the filter and of the fast method (mcmc), median reported; the slow methods
(reject, ON2) are repeated ``--slow-repeats`` times (default 1) to keep the
whole script around a minute at T=N=1000. Each repetition runs a new filter
and then the smoothers on its history. Seed fixed (``--seed``).

Prints one JSON line; ``--out`` also writes it (indented) to a file.
"""

import argparse
import csv
import json
import os
import platform
import time
from importlib.metadata import version

import numpy as np
import particles
from particles import state_space_models as ssms

DATA = os.path.join("data", "stochastic_volatility", "simulated.csv")
PARAMS = {"mu": -0.5, "rho": 0.95, "sigma": 0.3}
FAST = ("mcmc",)
SLOW = ("reject", "ON2")


class StochVolUB(ssms.StochVol):
    """particles' StochVol plus the transition-density bound needed by
    backward_sampling_reject (the N(., sigma^2) density is <= 1/(sigma
    sqrt(2 pi)))."""

    def upper_bound_log_pt(self, t):
        return -np.log(self.sigma) - 0.5 * np.log(2.0 * np.pi)


def load_y(T):
    with open(DATA, newline="") as f:
        y = np.array([float(r["y"]) for r in csv.DictReader(f)])
    if T > len(y):
        raise SystemExit(f"--T {T} > {len(y)} observations in {DATA}")
    return y[:T]


def run_filter(y, N):
    fk = ssms.Bootstrap(ssm=StochVolUB(**PARAMS), data=y)
    pf = particles.SMC(fk=fk, N=N, store_history=True, resampling="systematic")
    t0 = time.perf_counter()
    pf.run()
    return pf, time.perf_counter() - t0


def run_method(pf, method, M):
    hist = pf.hist
    t0 = time.perf_counter()
    if method == "mcmc":
        paths = hist.backward_sampling_mcmc(M)
    elif method == "reject":
        paths = hist.backward_sampling_reject(M)
    elif method == "ON2":
        paths = hist.backward_sampling_ON2(M)
    else:
        raise ValueError(method)
    dt = time.perf_counter() - t0
    assert len(paths) == len(hist.X) and np.shape(paths[0]) == (M,)
    extra = {}
    if method == "reject":
        extra["mean_acceptance_rate"] = float(np.mean(hist.acc_rate))
    return dt, extra


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--T", type=int, default=1000)
    ap.add_argument("--N", type=int, default=1000)
    ap.add_argument("--M", type=int, default=None,
                    help="trajectories drawn by the smoothers (default N)")
    ap.add_argument("--M-on2", type=int, default=10,
                    help="trajectories actually drawn by backward_sampling_ON2")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--slow-repeats", type=int, default=1)
    ap.add_argument("--methods", default="mcmc,reject,ON2",
                    help="comma-separated subset of mcmc,reject,ON2")
    ap.add_argument("--seed", type=int, default=20261204)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    M = args.M if args.M else args.N
    methods = [m for m in args.methods.split(",") if m]
    for m in methods:
        if m not in FAST + SLOW:
            raise SystemExit(f"unknown method {m}")
    m_of = {m: (min(args.M_on2, M) if m == "ON2" else M) for m in methods}

    y = load_y(args.T)
    np.random.seed(args.seed)
    t_start = time.perf_counter()

    # warm-up: filter + each method on a few trajectories (numba compilation)
    pf, _ = run_filter(y, args.N)
    for m in methods:
        run_method(pf, m, 2)

    n_rep = max([args.repeats] + [args.slow_repeats for m in methods if m in SLOW])
    filt, times, extras = [], {m: [] for m in methods}, {m: [] for m in methods}
    for r in range(n_rep):
        pf, dt = run_filter(y, args.N)
        if r < args.repeats:
            filt.append(dt)
        for m in methods:
            if r < (args.slow_repeats if m in SLOW else args.repeats):
                dt_m, ex = run_method(pf, m, m_of[m])
                times[m].append(dt_m)
                extras[m].append(ex)

    out = {
        "T": args.T, "N": args.N, "M": M, "params": PARAMS, "seed": args.seed,
        "filter": "particles.SMC(fk=Bootstrap(StochVol), N, store_history=True, "
                  "resampling='systematic')",
        "filter_seconds": float(np.median(filt)),
        "filter_seconds_all": filt,
        "smoother_seconds": {},
        "smoothers": {},
        "versions": {"particles": version("particles"), "numpy": version("numpy"),
                     "scipy": version("scipy"), "numba": version("numba"),
                     "python": platform.python_version()},
        "total_wall_seconds": None,
    }
    for m in methods:
        med = float(np.median(times[m]))
        rec = {"function": f"ParticleHistory.backward_sampling_{m}",
               "M_drawn": m_of[m], "repeats": len(times[m]),
               "seconds": med, "seconds_all": times[m]}
        if m == "ON2":
            rec["seconds_extrapolated_to_M"] = med * M / m_of[m]
            out["smoother_seconds"][m] = rec["seconds_extrapolated_to_M"]
        else:
            out["smoother_seconds"][m] = med
        if m == "reject":
            rec["max_trials"] = M
            rec["mean_acceptance_rate"] = float(np.mean(
                [e["mean_acceptance_rate"] for e in extras[m]]))
        out["smoothers"][m] = rec
    out["total_wall_seconds"] = time.perf_counter() - t_start
    print(json.dumps(out))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(out, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
