"""Every HMM keeps the engine's contract (latentlab.em.testing.check_model);
the statistics of two sets of whole sequences add up to those of all of them."""

import numpy as np
import pytest

from latentlab.em.testing import check_model
from latentlab.hmm import CategoricalHMM, GaussianHMM, PoissonHMM, simulate_hmm

START, TRANS = [0.6, 0.4], [[0.9, 0.1], [0.2, 0.8]]


def _sequences(kind, missing):
    draws = []
    for seed in range(4):
        if kind == "gaussian":
            X, _ = simulate_hmm(150, START, TRANS, means=[[0.0, 1.0], [2.5, -1.0]], covars=[[1.0, 0.5], [0.7, 1.0]],
                                random_state=seed)
        elif kind == "poisson":
            X, _ = simulate_hmm(150, START, TRANS, lambdas=[[1.0], [5.0]], random_state=seed)
        else:
            X, _ = simulate_hmm(150, START, TRANS, emissionprob=[[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]], random_state=seed)
        X = X.astype(float)
        if missing:
            X[np.random.default_rng(seed).random(X.shape[0]) < 0.1] = np.nan
        draws.append(X)
    return draws


ESTIMATORS = {
    "gaussian-diag": lambda: GaussianHMM(2, covariance_type="diag"),
    "gaussian-full": lambda: GaussianHMM(2, covariance_type="full"),
    "poisson": lambda: PoissonHMM(2),
    "categorical": lambda: CategoricalHMM(2, n_features=3),
}


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
@pytest.mark.parametrize("missing", [False, True])
def test_hmm(name, missing):
    est = ESTIMATORS[name]()
    seqs = _sequences(name.split("-")[0], missing)

    def data(chunk):
        return est._as_data(np.concatenate(chunk), [len(s) for s in chunk])

    whole = data(seqs)
    model = est._make_model(est._n_features(whole.X), {})
    check_model(model, whole, parts=[data(seqs[:1]), data(seqs[1:])], covariance_rtol=None)
