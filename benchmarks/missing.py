"""MultivariateNormalEM on a large table, against scikit-learn's IterativeImputer (issue 16).

1,000,000 rows x 20 variables drawn from a correlated normal, 20% of the values
deleted completely at random (so almost every row has its own missingness
pattern). Prints the time to convergence (default settings: SQUAREM, tol 1e-8),
the E-steps, the largest error of the fitted covariance against the sample
covariance of the complete data, and, on the same data, the time of
IterativeImputer (its defaults: BayesianRidge, max_iter=10, one thread) and the
error of the covariance of its completed table. IterativeImputer imputes by
chained regressions; it is not a maximum likelihood method.

Run from the repository root: ``PYTHONPATH=. python benchmarks/missing.py``
(``--quick``: 100,000 rows).
"""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np

from latentlab.missing import MultivariateNormalEM


def table(n: int, p: int = 20, missing: float = 0.2, seed: int = 0):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(p, p))
    cov = A @ A.T / p + np.eye(p)
    complete = rng.multivariate_normal(np.arange(p, dtype=float), cov, n)
    X = complete.copy()
    X[rng.random(X.shape) < missing] = np.nan
    return X, complete


def main(n: int) -> None:
    X, complete = table(n)
    reference = np.cov(complete, rowvar=False, bias=True)
    patterns = np.unique(~np.isnan(X), axis=0).shape[0]
    MultivariateNormalEM().fit(X[:1000])  # compile (or load numba's cache)
    t0 = time.perf_counter()
    fit = MultivariateNormalEM().fit(X)
    ours = time.perf_counter() - t0
    print(f"{n:,} rows x {X.shape[1]} variables, {np.isnan(X).mean():.0%} missing, {patterns:,} patterns")
    print(f"latentlab MultivariateNormalEM: {ours:.1f} s, {fit.result_.n_evals} E-steps, converged {fit.converged_}; "
          f"covariance error vs complete data {np.max(np.abs(fit.cov_ - reference)):.4f}")
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        filled = IterativeImputer(random_state=0).fit_transform(X)
    theirs = time.perf_counter() - t0
    error = np.max(np.abs(np.cov(filled, rowvar=False, bias=True) - reference))
    print(f"scikit-learn IterativeImputer: {theirs:.1f} s ({theirs / ours:.1f}x ours); covariance error of its "
          f"completed table {error:.4f} (conditional means shrink the variances)")


if __name__ == "__main__":
    main(100_000 if "--quick" in sys.argv else 1_000_000)
