"""Speed of particle-smoother EM's E-step against the `particles` package.

One E-step of ``ParticleSSM`` on stochastic volatility: five bootstrap filters
of N = 1,000 particles on the first T = 1,000 returns of
``data/stochastic_volatility/simulated.csv``, each smoothed into 200
trajectories by backward simulation (1,000 in all), and the trajectories'
statistics; at mu = -0.5, phi = 0.95, sigma = 0.3. Three runs after a warm-up
(numba compiles or loads its cache), each timed, with the filter and the
smoother of one filter timed apart.

The peer, in the same run: the `particles` package's bootstrap filter (N =
1,000, systematic resampling) and its backward samplers drawing 1,000
trajectories on the same data and parameters
(``tests/references/statespace/particles_timing.py``, run in the separate
environment ``tests/references/statespace/particles_env.sh`` makes, because
particles pins numpy < 2; the path is ``$PARTICLES_VENV``, default
``/tmp/particles-venv``). Without that environment the peer is skipped, said.

Run from the repository root: ``python benchmarks/particle_em.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd

from latentlab.statespace import StochasticVolatility

ROOT = Path(__file__).resolve().parents[1]
T, N, RUNS = 1000, 1000, 3
VENV = Path(os.environ.get("PARTICLES_VENV", "/tmp/particles-venv"))


def ours() -> dict:
    from latentlab.statespace import _smc

    y = pd.read_csv(ROOT / "data" / "stochastic_volatility" / "simulated.csv")["y"].to_numpy()[:T]
    model = StochasticVolatility()
    params = model.params_type(mu=np.asarray(-0.5), phi=np.asarray(0.95), sigma=np.asarray(0.3))
    theta, k = model.theta(params), model.kernels
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    model.draw(y, params, 50, rng)  # numba compiles (the kernels taking a model's functions are not cached)
    compile_seconds = time.perf_counter() - start
    e_steps, filters, smoothers = [], [], []
    for _ in range(RUNS):
        start = time.perf_counter()
        model.draw(y, params, N, rng)
        e_steps.append(time.perf_counter() - start)
        start = time.perf_counter()
        X, W, _ = model.filter(y, params, N, rng)
        filters.append(time.perf_counter() - start)
        start = time.perf_counter()
        _smc.backward_simulation(X, W, theta, N, int(rng.integers(2**63)), k.log_transition, k.transition_bound)
        smoothers.append(time.perf_counter() - start)
    return {"e_step": e_steps, "filter": filters, "smoother_1000": smoothers, "compile": compile_seconds}


def peer() -> dict | None:
    python = VENV / "bin" / "python"
    if not python.exists():
        return None
    out = subprocess.run(
        [str(python), "tests/references/statespace/particles_timing.py", "--T", str(T), "--N", str(N)],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    times = ours()
    print(f"== one E-step of ParticleSSM (stochastic volatility, T = {T:,}, {N:,} particles) ==")
    print(f"first call (compiles the kernels): {times['compile']:.2f} s")
    print(f"E-step (5 filters of {N:,} particles, 1,000 trajectories): "
          + ", ".join(f"{t:.3f}" for t in times["e_step"]) + " s")
    print(f"one filter of {N:,} particles: " + ", ".join(f"{t:.3f}" for t in times["filter"]) + " s")
    print(f"backward simulation of {N:,} trajectories from one filter (smoother alone): "
          + ", ".join(f"{t:.3f}" for t in times["smoother_1000"]) + " s")
    theirs = peer()
    if theirs is None:
        print(f"particles: no environment at {VENV}; run tests/references/statespace/particles_env.sh")
        return
    print(f"== particles {theirs['versions']['particles']} (numpy {theirs['versions']['numpy']}) on the same data "
          "(its own timing script; median of its repeats) ==")
    filt = theirs["filter_seconds"]
    ratio = filt / np.median(times["filter"])
    print(f"filter: particles {filt:.3f} s, ours {np.median(times['filter']):.3f} s: {ratio:.1f}x")
    for method, entry in theirs["smoothers"].items():
        seconds = entry.get("seconds_extrapolated_to_M", entry["seconds"])
        print(f"smoother {method}: particles {seconds:.3f} s for {N:,} trajectories, ours "
              f"{np.median(times['smoother_1000']):.3f} s: {seconds / np.median(times['smoother_1000']):.1f}x")
    one_pass = filt + min(e.get("seconds_extrapolated_to_M", e["seconds"]) for e in theirs["smoothers"].values())
    print(f"filter + fastest smoother, particles: {one_pass:.3f} s; our whole E-step (five filters): "
          f"{np.median(times['e_step']):.3f} s")


if __name__ == "__main__":
    main()
