"""Replicate study (slow): 95% Wald intervals from summary() cover the truth
about 95% of the time for a 2-state Gaussian HMM with T = 1,000."""

import warnings

import numpy as np
import pytest

from latentlab.hmm import GaussianHMM, simulate_hmm

PI = np.array([0.5, 0.5])
A = np.array([[0.9, 0.1], [0.2, 0.8]])
MEANS = np.array([[0.0], [2.0]])
VARS = np.array([[1.0], [0.5]])
N_REP = 200


@pytest.mark.slow
def test_interval_coverage():
    covered = []
    for rep in range(N_REP):
        X, _ = simulate_hmm(1_000, PI, A, means=MEANS, covars=VARS, random_state=rep)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = GaussianHMM(2, n_init=3, accelerate="squarem", random_state=rep).fit(X)
            table = fit.summary()
        order = np.argsort(fit.means_[:, 0])
        truth = {
            f"transmat[{order[0]}, {order[1]}]": A[0, 1],
            f"transmat[{order[1]}, {order[0]}]": A[1, 0],
            f"means[{order[0]}, 0]": MEANS[0, 0],
            f"means[{order[1]}, 0]": MEANS[1, 0],
            f"covars[{order[0]}, 0]": VARS[0, 0],
            f"covars[{order[1]}, 0]": VARS[1, 0],
        }
        rows = table.set_index("parameter").loc[list(truth)]
        covered.append((rows.ci_lower.to_numpy() <= list(truth.values())) & (list(truth.values()) <= rows.ci_upper.to_numpy()))
    rate = np.mean(covered, axis=0)
    print("coverage per parameter:", dict(zip(["A01", "A10", "mu0", "mu1", "var0", "var1"], rate.round(3))))
    # 200 replicates: a true 95% rate gives a binomial sd of 0.015; 0.90-0.99 is over 3 sd each way
    assert np.all((rate > 0.90) & (rate < 0.99))
