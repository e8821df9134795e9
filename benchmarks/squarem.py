"""Plain EM against SQUAREM on Hasselblad's Poisson-mixture data, from several starts.

Prints, for each start, the E-step evaluations and seconds each scheme needs to
converge at a tight tolerance, their ratio, and the log-likelihood gap.
Run: python benchmarks/squarem.py
"""

import numpy as np

from latentlab.mixtures import PoissonMixture

DEATHS = np.arange(10)
DAYS = np.array([162, 267, 271, 185, 111, 61, 27, 8, 3, 1])
TOL = 1e-14


def fit(w0, r0, accelerate):
    return PoissonMixture(2, weights_init=[w0, 1 - w0], rates_init=r0, tol=TOL, max_iter=100_000,
                          accelerate=accelerate).fit(DEATHS, weights=DAYS)


def main():
    rng = np.random.default_rng(1)
    starts = [(0.5, [1.0, 3.0])] + [(rng.uniform(0.1, 0.9), np.sort(rng.uniform(0.5, 5, 2))) for _ in range(9)]
    print(f"{'start':>24} {'plain evals':>11} {'SQ evals':>9} {'eval ratio':>10} "
          f"{'plain s':>8} {'SQ s':>7} {'time ratio':>10} {'loglik gap':>11}")
    ratios = []
    for w0, r0 in starts:
        p, s = fit(w0, r0, None), fit(w0, r0, "squarem")
        ratios.append(p.result_.n_evals / s.result_.n_evals)
        start = f"({w0:.2f}, {r0[0]:.2f}, {r0[1]:.2f})"
        print(f"{start:>24} {p.result_.n_evals:>11d} {s.result_.n_evals:>9d} {ratios[-1]:>10.1f} "
              f"{p.result_.elapsed:>8.3f} {s.result_.elapsed:>7.3f} {p.result_.elapsed / s.result_.elapsed:>10.1f} "
              f"{s.loglik_ - p.loglik_:>11.2e}")
    print(f"E-step ratio plain/SQUAREM: min {min(ratios):.1f}, median {np.median(ratios):.1f}")


if __name__ == "__main__":
    main()
