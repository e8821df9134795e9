"""Agreement with hmmlearn (a peer): from identical starting parameters the
log-likelihood after each of 10 Baum-Welch iterations matches hmmlearn's
within 1e-8 relative.

hmmlearn's M-step is the plain MLE with its default priors for the start and
transition probabilities (Dirichlet 1), the categorical emissions
(``emissionprob_prior=1``) and the Poisson rates (``lambdas_prior=0``,
``lambdas_weight=0``). For Gaussian emissions its default ``covars_prior=1e-2``
adds a pseudo-variance; we set ``covars_prior=0`` so that its M-step is the
MLE too (``means_prior=0, means_weight=0`` are already neutral). hmmlearn's
``min_covar`` only enters its initialisation, which is skipped here
(``init_params=""``); our floor ``min_covar`` is set to 0.
"""

import warnings

import numpy as np
import pytest

from latentlab import ConvergenceWarning
from latentlab.hmm import CategoricalHMM, GaussianHMM, PoissonHMM, simulate_hmm

hmm = pytest.importorskip("hmmlearn.hmm")

N_ITER = 10
RTOL = 1e-8
LENGTHS = [700, 500, 800]  # several sequences, to check the sums over sequences too


def _hmmlearn_trace(peer, X, params):
    for name, value in params.items():
        setattr(peer, name, value)
    peer.fit(X, LENGTHS)
    return np.array(peer.monitor_.history)


def _our_trace(model, X, params):
    for name, value in params.items():
        setattr(model, name, value)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, LENGTHS)
    return model.result_.trace


def _start(rng, k, zero=None):
    transmat = rng.dirichlet(np.full(k, 2.0), k)
    if zero is not None:  # a structural zero, which both must keep
        transmat[zero] = 0.0
        transmat /= transmat.sum(axis=1, keepdims=True)
    return {"startprob_": rng.dirichlet(np.ones(k)), "transmat_": transmat}


def _peer(cls, k, **kw):
    return cls(k, n_iter=N_ITER + 1, tol=-np.inf, init_params="", implementation="scaling", **kw)


def _assert_traces(ours, theirs):
    assert ours.shape == theirs.shape == (N_ITER + 1,)
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=0)
    assert np.all(np.diff(ours) > 0)  # the comparison is not between two flat traces


@pytest.mark.parametrize("cov_type", ["diag", "full"])
def test_gaussian(cov_type):
    rng = np.random.default_rng(11)
    k, d = 3, 2
    X, _ = simulate_hmm(
        sum(LENGTHS),
        np.full(k, 1 / k),
        np.full((k, k), 0.1) + 0.7 * np.eye(k),
        means=[[-2.0, 0.0], [0.0, 1.0], [2.0, -1.0]],
        covars=[[1.0, 0.5], [0.7, 1.2], [0.4, 0.9]],
        random_state=1,
    )
    params = _start(rng, k, zero=(0, 2) if cov_type == "diag" else None)
    params["means_"] = X[rng.choice(X.shape[0], k, replace=False)]
    if cov_type == "diag":
        params["covars_"] = rng.uniform(0.5, 2.0, (k, d))
    else:
        a = rng.normal(size=(k, d, d))
        params["covars_"] = a @ a.transpose(0, 2, 1) + np.eye(d)
    theirs = _hmmlearn_trace(_peer(hmm.GaussianHMM, k, covariance_type=cov_type, covars_prior=0.0), X, params)
    ours = _our_trace(GaussianHMM(k, cov_type, min_covar=0.0, n_iter=N_ITER, init_params=""), X, params)
    _assert_traces(ours, theirs)


def test_categorical():
    rng = np.random.default_rng(12)
    k, m = 2, 4
    X, _ = simulate_hmm(
        sum(LENGTHS), [0.5, 0.5], [[0.9, 0.1], [0.2, 0.8]],
        emissionprob=[[0.4, 0.3, 0.2, 0.1], [0.1, 0.2, 0.3, 0.4]], random_state=2,
    )
    params = _start(rng, k)
    params["emissionprob_"] = rng.dirichlet(np.ones(m), k)
    theirs = _hmmlearn_trace(_peer(hmm.CategoricalHMM, k, n_features=m), X, params)
    ours = _our_trace(CategoricalHMM(k, n_features=m, n_iter=N_ITER, init_params=""), X, params)
    _assert_traces(ours, theirs)


def test_poisson():
    rng = np.random.default_rng(13)
    k = 3
    X, _ = simulate_hmm(
        sum(LENGTHS), np.full(k, 1 / k), np.full((k, k), 0.05) + 0.85 * np.eye(k),
        lambdas=[[1.0, 8.0], [4.0, 4.0], [9.0, 1.0]], random_state=3,
    )
    params = _start(rng, k)
    params["lambdas_"] = rng.uniform(1.0, 8.0, (k, 2))
    theirs = _hmmlearn_trace(_peer(hmm.PoissonHMM, k), X, params)
    ours = _our_trace(PoissonHMM(k, n_iter=N_ITER, init_params=""), X, params)
    _assert_traces(ours, theirs)


def test_viterbi_and_posteriors_match():
    """Same decoded path, log-probability and state posteriors as hmmlearn."""
    rng = np.random.default_rng(14)
    k = 3
    start = _start(rng, k)
    means, covars = np.array([[-1.0], [0.0], [1.5]]), np.array([[0.5], [0.3], [0.8]])
    X, _ = simulate_hmm(sum(LENGTHS), start["startprob_"], start["transmat_"], means=means, covars=covars, random_state=4)
    peer = hmm.GaussianHMM(k, init_params="", implementation="scaling")
    ours = GaussianHMM(k, init_params="", params="", n_iter=1)
    for est in (peer, ours):
        est.startprob_, est.transmat_, est.means_, est.covars_ = start["startprob_"], start["transmat_"], means, covars
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours.fit(X, LENGTHS)  # params="" holds everything at the given values
    lp_peer, path_peer = peer.decode(X, LENGTHS)
    lp_ours, path_ours = ours.decode(X, LENGTHS)
    assert lp_ours == pytest.approx(lp_peer, rel=1e-10)
    np.testing.assert_array_equal(path_ours, path_peer)
    ll_peer, post_peer = peer.score_samples(X, LENGTHS)
    ll_ours, post_ours = ours.score_samples(X, LENGTHS)
    assert ll_ours == pytest.approx(ll_peer, rel=1e-10)
    np.testing.assert_allclose(post_ours, post_peer, atol=1e-10)
