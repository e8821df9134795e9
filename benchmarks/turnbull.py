"""The Turnbull NPMLE against R's npsurv on the same data (issue 23).

Data: ``benchmarks/data/turnbull_n{500,2000,10000}.csv``, written by
``benchmarks/turnbull_data.py`` (Weibull(1.5, 1) event times, visits every
Exp(mean 0.3) up to time 5). npsurv's side comes from
``benchmarks/turnbull_npsurv.R`` (npsurv 0.5.0, its constrained Newton method,
default settings), run in this same benchmark when R and npsurv are installed
(``apt-get install r-base-core r-cran-npsurv``), otherwise read from the file
that script stores, ``benchmarks/data/turnbull_npsurv.csv``.

For each n: latentlab's default fit (constrained Newton, then EM's
confirmation) and EM alone (SQUAREM; not run at n = 10,000, where it takes
minutes), median wall time of five fits, log-likelihood and its distance to
npsurv's, the Kuhn-Tucker gap, and the ratio of npsurv's median time to ours.

Run from the repository root: ``PYTHONPATH=. python benchmarks/turnbull.py``
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd

from latentlab.survival import Turnbull

DATA = Path(__file__).resolve().parent / "data"
REPEATS = 5


def npsurv_results() -> tuple[pd.DataFrame, str]:
    script = Path(__file__).resolve().parent / "turnbull_npsurv.R"
    if shutil.which("Rscript"):
        run = subprocess.run(["Rscript", str(script)], cwd=Path(__file__).resolve().parents[1],
                             capture_output=True, text=True)
        if run.returncode == 0:
            return pd.read_csv(DATA / "turnbull_npsurv.csv"), "run now"
    return pd.read_csv(DATA / "turnbull_npsurv.csv"), "stored"


def timed(method: str, lower, upper) -> tuple[Turnbull, float]:
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        fit = Turnbull(method=method).fit(lower, upper)
        times.append(time.perf_counter() - t0)
    return fit, float(np.median(times))


def main() -> None:
    peer, source = npsurv_results()
    print(f"npsurv {peer.version.iloc[0]} (R {peer.r_version.iloc[0]}), {source}; times are medians of {REPEATS} fits")
    print(f"{'n':>6} {'method':>6} {'seconds':>8} {'npsurv s':>9} {'ratio':>6} {'loglik':>20} {'- npsurv':>9} "
          f"{'KKT gap':>9} {'iterations':>10}")
    for n in (500, 2000, 10_000):
        d = pd.read_csv(DATA / f"turnbull_n{n}.csv")
        theirs = peer.set_index("n").loc[n]
        Turnbull().fit(d.L, d.R)  # warm up
        for method in ("cnm", "em") if n < 10_000 else ("cnm",):
            fit, seconds = timed(method, d.L, d.R)
            gap = fit.loglik_ - float(theirs.loglik)
            print(f"{n:>6d} {method:>6} {seconds:>8.3f} {theirs.seconds_median:>9.3f} "
                  f"{theirs.seconds_median / seconds:>6.1f} {fit.loglik_:>20.10f} {gap:>9.1e} {fit.kkt_gap_:>9.1e} "
                  f"{fit.n_iter_:>10d}")


if __name__ == "__main__":
    main()
