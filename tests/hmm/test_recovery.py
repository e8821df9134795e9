"""Recovery of a simulated truth (3-state Gaussian HMM, T = 10,000)."""

import itertools

import numpy as np

from latentlab.hmm import CategoricalHMM, GaussianHMM, PoissonHMM, simulate_hmm

TRUE_PI = np.array([0.5, 0.3, 0.2])
TRUE_A = np.array([[0.90, 0.06, 0.04], [0.05, 0.90, 0.05], [0.04, 0.08, 0.88]])
TRUE_MEANS = np.array([[-1.5], [0.0], [1.5]])
TRUE_VARS = np.array([[0.25], [0.25], [0.25]])


def _match(estimated_means):
    """Permutation of the fitted states that best matches the true means."""
    return min(itertools.permutations(range(3)), key=lambda p: np.abs(estimated_means[list(p)] - TRUE_MEANS).sum())


def test_gaussian_recovery_and_viterbi():
    X, states = simulate_hmm(10_000, TRUE_PI, TRUE_A, means=TRUE_MEANS, covars=TRUE_VARS, random_state=2024)
    fit = GaussianHMM(3, n_init=3, random_state=0, accelerate="squarem").fit(X)
    assert fit.converged_
    perm = list(_match(fit.means_))
    # ~3,300 rows per state, sd 0.5: the SE of a mean is about 0.009, so 0.05 is over 5 SE.
    np.testing.assert_allclose(fit.means_[perm], TRUE_MEANS, atol=0.05)
    # a transition row is estimated from ~3,300 visits: SE <= sqrt(0.9 * 0.1 / 3300) = 0.0052,
    # so 0.02 is about 4 SE.
    np.testing.assert_allclose(fit.transmat_[np.ix_(perm, perm)], TRUE_A, atol=0.02)
    # Viterbi with the fitted parameters agrees with the truth at most 1 point below
    # the agreement reached with the true parameters.
    truth = GaussianHMM(3, init_params="", params="", n_iter=1)
    truth.startprob_, truth.transmat_, truth.means_, truth.covars_ = TRUE_PI, TRUE_A, TRUE_MEANS, TRUE_VARS
    truth.fit(X)
    agree_true = np.mean(truth.predict(X) == states)
    agree_fit = np.mean(np.argsort(perm)[fit.predict(X)] == states)  # fitted state -> true label
    assert agree_fit >= agree_true - 0.01
    assert agree_true > 0.8  # the benchmark is not trivial agreement


def test_poisson_recovery():
    lam = np.array([[2.0], [10.0]])
    X, _ = simulate_hmm(5_000, [0.5, 0.5], [[0.95, 0.05], [0.1, 0.9]], lambdas=lam, random_state=5)
    fit = PoissonHMM(2, random_state=1).fit(X)
    order = np.argsort(fit.lambdas_[:, 0])
    # ~1,700 and ~3,300 rows: SEs about 0.025 and 0.08; tolerances are 4 SE
    assert abs(fit.lambdas_[order[0], 0] - 2.0) < 0.1
    assert abs(fit.lambdas_[order[1], 0] - 10.0) < 0.3
    np.testing.assert_allclose(fit.transmat_[np.ix_(order, order)], [[0.95, 0.05], [0.1, 0.9]], atol=0.025)


def test_categorical_recovery():
    E = np.array([[0.3, 0.2, 0.2, 0.3], [0.1, 0.4, 0.4, 0.1]])
    X, _ = simulate_hmm(20_000, [0.5, 0.5], [[0.98, 0.02], [0.02, 0.98]], emissionprob=E, random_state=6)
    fit = CategoricalHMM(2, random_state=3, n_init=2).fit(X)
    order = np.argsort(fit.emissionprob_[:, 0])[::-1]
    # 10,000 rows per state: SE of a cell probability <= 0.005 (plus state uncertainty); 0.03 ~ 5 SE
    np.testing.assert_allclose(fit.emissionprob_[order], E, atol=0.03)
