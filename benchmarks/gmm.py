"""Gaussian mixture speed against scikit-learn, and SQUAREM against plain EM.

1. Time per EM iteration, N=200,000, D=10, K=8, full and diagonal covariance:
   both libraries start from the same parameters (scikit-learn's
   ``weights_init``/``means_init``/``precisions_init``) on the same data in this
   process and run the same number of iterations (scikit-learn with ``tol=0``
   so it does not stop early). Each timing is the best of a few repeats.
   Goal: latentlab at least 2x faster (full) and 1.5x (diag).
2. Time to converge on a heavily overlapping mixture, SQUAREM against plain
   EM, from the same five starts and under the same convergence rule, summed
   over the starts. Goal: 3x.

Run from the repository root: ``PYTHONPATH=. python benchmarks/gmm.py``.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from sklearn.mixture import GaussianMixture as SkGaussianMixture

from latentlab.mixtures import GaussianMixture, simulate_gaussian_mixture

N, D, K = 200_000, 10, 8
N_ITER = 10
REPEATS = 3
STARTS = (1, 2, 3, 4, 5)  # random_state of the SQUAREM-against-plain fits


def _data(rng):
    means = rng.normal(scale=1.0, size=(K, D))  # overlapping: EM keeps moving for N_ITER steps
    a = rng.normal(size=(K, D, D)) / np.sqrt(D)
    covs = a @ np.swapaxes(a, 1, 2) + 0.3 * np.eye(D)
    X, _ = simulate_gaussian_mixture(N, np.full(K, 1.0 / K), means, covs, random_state=rng)
    return X


def _best_time(fit) -> float:
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        fit()
        times.append(time.perf_counter() - t0)
    return min(times)


def per_iteration(X, covariance_type: str) -> tuple[float, float]:
    """Seconds per EM iteration for scikit-learn and latentlab (same start)."""
    start = SkGaussianMixture(K, covariance_type=covariance_type, max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start.fit(X[:20_000])
    init = dict(weights_init=start.weights_, means_init=start.means_, precisions_init=start.precisions_)
    sk = SkGaussianMixture(K, covariance_type=covariance_type, max_iter=N_ITER, tol=0.0, **init)
    ours = GaussianMixture(K, covariance_type=covariance_type, max_iter=N_ITER, tol=1e-300, **init)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_sk = _best_time(lambda: sk.fit(X))
        t_ours = _best_time(lambda: ours.fit(X))
    assert ours.n_iter_ == sk.n_iter_ == N_ITER
    gap = abs(ours.loglik_ / N - sk.score(X))
    print(f"  {covariance_type:5s}: scikit-learn {1e3 * t_sk / N_ITER:7.1f} ms/iter, latentlab "
          f"{1e3 * t_ours / N_ITER:7.1f} ms/iter, ratio {t_sk / t_ours:4.2f}x  "
          f"(|mean loglik difference| {gap:.1e}; each fit includes setup and the final E-step)")
    return t_sk, t_ours


def squarem_vs_plain() -> None:
    """Heavily overlapping mixture: 3 components with means 1 SD apart."""
    rng = np.random.default_rng(7)
    means = np.array([[0.0, 0.0], [1.0, 0.3], [0.3, 1.0]])
    covs = np.array([np.eye(2), [[1.0, 0.5], [0.5, 1.0]], [[1.0, -0.3], [-0.3, 1.0]]])
    X, _ = simulate_gaussian_mixture(5_000, [0.5, 0.3, 0.2], means, covs, random_state=rng)
    totals = {}
    for acc in (None, "squarem"):
        seconds, evals, logliks = 0.0, [], []
        for seed in STARTS:  # SQUAREM's path is sensitive to round-off: one start is not a measurement
            gm = GaussianMixture(3, accelerate=acc, tol=1e-10, max_iter=100_000, random_state=seed)
            t0 = time.perf_counter()
            gm.fit(X)
            seconds += time.perf_counter() - t0
            evals.append(gm.result_.n_evals)
            logliks.append(gm.loglik_)
        totals[acc] = (seconds, evals, logliks)
        name = "plain EM" if acc is None else "SQUAREM "
        print(f"  {name} : {seconds:6.2f} s over {len(STARTS)} starts, E-steps per start {evals}")
    (tp, ep, lp), (ts, es, ls) = totals[None], totals["squarem"]
    print(f"  largest |loglik difference| at the same start: {np.max(np.abs(np.subtract(lp, ls))):.1e}")
    print(f"  speed-up : {tp / ts:4.2f}x in time, {sum(ep) / sum(es):4.2f}x in E-steps (goal 3x)")


def main() -> None:
    print(f"Per-iteration time, N={N:,}, D={D}, K={K}, {N_ITER} iterations, best of {REPEATS}:")
    X = _data(np.random.default_rng(0))
    for t, goal in (("full", 2.0), ("diag", 1.5)):
        t_sk, t_ours = per_iteration(X, t)
        print(f"         goal >= {goal}x: {'met' if t_sk / t_ours >= goal else 'NOT met'}")
    print("SQUAREM against plain EM, heavily overlapping mixture (N=5,000, K=3, D=2, tol=1e-10):")
    squarem_vs_plain()


if __name__ == "__main__":
    main()
