"""Turnbull NPMLE with continuous inspection times: cost of the SQUAREM fit.

Each subject fails at T ~ Exp(1) and is inspected at two times drawn uniformly
on (0, 3); it is seen only as (0, U1], (U1, U2] or (U2, inf). With continuous
visit times almost every endpoint is distinct, so the number of Turnbull
intervals grows with n and many masses are 0 at the NPMLE (the slow case for
EM). Prints, for n = 500 and 2,000, the intervals, the seconds, SQUAREM cycles
and E-steps to the default tolerances (kkt_tol = 1e-8), and the Kuhn-Tucker gap.
No peer runs here (a cost measurement, not a comparison).
Run: PYTHONPATH=. python benchmarks/turnbull.py
"""

import time

import numpy as np

from latentlab.survival import Turnbull


def visits_data(n: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    t = rng.exponential(1.0, n)
    u = np.sort(rng.uniform(0.0, 3.0, (n, 2)), axis=1)
    lower = np.where(t <= u[:, 0], 0.0, np.where(t <= u[:, 1], u[:, 0], u[:, 1]))
    upper = np.where(t <= u[:, 0], u[:, 0], np.where(t <= u[:, 1], u[:, 1], np.inf))
    return lower, upper


def main():
    print(f"{'n':>6} {'intervals':>9} {'seconds':>8} {'cycles':>7} {'E-steps':>8} {'converged':>9} {'KKT gap':>9}")
    for n in (500, 2000):
        lower, upper = visits_data(n)
        t0 = time.perf_counter()
        fit = Turnbull(max_iter=20_000).fit(lower, upper)
        seconds = time.perf_counter() - t0
        print(f"{n:>6d} {fit.masses_.size:>9d} {seconds:>8.2f} {fit.n_iter_:>7d} {fit.result_.n_evals:>8d} "
              f"{str(fit.converged_):>9} {fit.kkt_gap_:>9.1e}")


if __name__ == "__main__":
    main()
