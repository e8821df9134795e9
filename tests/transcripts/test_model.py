"""The transcript mixture keeps the engine contract, reaches the maximum a
direct optimiser finds, and plain EM never lowers the likelihood."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize
from scipy.special import softmax

from latentlab.em import fit_em
from latentlab.em.testing import check_model
from latentlab.transcripts import simulate_equivalence_classes
from latentlab.transcripts.model import TranscriptMixtureModel


def _part(classes, lo, hi):
    p0, p1 = classes.ptr[lo], classes.ptr[hi]
    return dataclasses.replace(classes, ptr=classes.ptr[lo:hi + 1] - p0, members=classes.members[p0:p1],
                               weights=classes.weights[p0:p1], counts=classes.counts[lo:hi])


def test_the_model_keeps_the_engine_contract():
    sim = simulate_equivalence_classes(n_genes=8, n_fragments=5000, random_state=1)
    c = sim.classes
    half = c.n_classes // 2
    model = TranscriptMixtureModel()
    check_model(model, model.data(c), parts=[model.data(_part(c, 0, half)), model.data(_part(c, half, c.n_classes))])


def test_em_reaches_the_maximum_of_a_direct_optimiser():
    sim = simulate_equivalence_classes(n_genes=3, n_fragments=3000, random_state=4)
    c = sim.classes
    model = TranscriptMixtureModel()
    em = fit_em(model, model.data(c), tol=1e-14, max_iter=100_000, accelerate="squarem", random_state=0)
    rows = np.repeat(np.arange(c.n_classes), np.diff(c.ptr))

    dense = np.zeros((c.n_classes, c.n_transcripts))  # written from the definition: classes x transcripts
    dense[rows, c.members] = c.weights / c.effective_lengths[c.members]

    def negloglik(u):
        """Minus the log-likelihood at ``a = softmax(0, u)`` and its gradient
        (``d/da = -dense' (counts / dense a)``, through the softmax's Jacobian
        ``diag(a) - a a'``): finite differences stopped BFGS 1e-4 short."""
        a = softmax(np.r_[0.0, u])
        fitted = dense @ a
        g = -dense.T @ (c.counts / fitted)
        return -(c.counts @ np.log(fitted)), (a * g - a * (a @ g))[1:]

    direct = minimize(negloglik, np.zeros(c.n_transcripts - 1), jac=True, method="BFGS", options={"gtol": 1e-8})
    assert em.loglik >= -direct.fun - 1e-6
    assert em.loglik == pytest.approx(-direct.fun, abs=1e-4)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n_genes=st.integers(1, 6), n=st.integers(10, 3000))
def test_plain_em_never_lowers_the_likelihood(seed, n_genes, n):
    sim = simulate_equivalence_classes(n_genes=n_genes, n_fragments=n, random_state=seed)
    model = TranscriptMixtureModel()
    result = fit_em(model, model.data(sim.classes), max_iter=80, tol=0.0, random_state=seed)
    assert np.all(np.diff(result.trace) >= -1e-10 * np.abs(result.trace[1:]))
