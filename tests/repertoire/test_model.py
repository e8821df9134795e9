"""The clonotype mixture keeps the engine contract; its EM maximum is the
maximum found by a direct numerical maximisation of the same likelihood
written independently; plain EM never lowers the likelihood."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize
from scipy.special import log_softmax

from latentlab.em import fit_em
from latentlab.em.testing import check_model
from latentlab.repertoire import simulate_repertoire
from latentlab.repertoire.estimator import _pair_data
from latentlab.repertoire.model import ClonotypeMixtureModel
from latentlab.repertoire.neighbours import HammingIndex
from latentlab.repertoire.sequences import read_rows

MAX_DISTANCE = 3


def _small(seed=3, n_clonotypes=4, n_reads=400, error_rate=0.03, qualities=False):
    sim = simulate_repertoire(n_clonotypes=n_clonotypes, n_reads=n_reads, error_rate=error_rate, lengths=(12,),
                              family_fraction=0.0, low_quality_fraction=0.4 if qualities else 0.0,
                              low_quality_error_rate=0.1, random_state=seed)
    q = sim.observed["quality"] if qualities else None
    table, rows = read_rows(sim.observed["sequence"], sim.observed["count"], q)
    centres = np.flatnonzero(np.isin(table.text, sim.truth["sequence"]))
    index = HammingIndex(table, MAX_DISTANCE)
    data = _pair_data(table, rows, centres, index.pairs(centres))
    return table, centres, data.rows, (data.sequences, rows)


def _direct_loglik(table, centres, rows, log_w, log_q):
    """sum over input rows of n_r log sum_c w_c prod_positions Q_q[c_p, s_p],
    over pairs within MAX_DISTANCE, from the strings themselves (no index, no
    kernel); ``log_q`` has one 4 x 4 matrix per quality class."""
    total = 0.0
    for i, q, n in zip(rows.sequence, rows.classes, rows.counts):
        terms = []
        for k, c in enumerate(centres):
            a, b = table.text[c], table.text[i]
            if len(a) != len(b) or sum(x != y for x, y in zip(a, b)) > MAX_DISTANCE:
                continue
            terms.append(log_w[k] + sum(log_q[q]["ACGT".index(x), "ACGT".index(y)] for x, y in zip(a, b)))
        if terms:
            total += n * np.logaddexp.reduce(terms)
    return total


@pytest.mark.parametrize(("error_model", "qualities"), [("uniform", False), ("matrix", False), ("matrix", True)])
def test_the_model_keeps_the_engine_contract(error_model, qualities):
    _, _, data, _ = _small(qualities=qualities)
    half = data.counts.size // 2
    parts = [_slice(data, 0, half), _slice(data, half, data.counts.size)]
    check_model(ClonotypeMixtureModel(error_model), data, parts=parts)


def _slice(data, lo, hi):
    import dataclasses

    p0, p1 = data.ptr[lo], data.ptr[hi]
    return dataclasses.replace(data, counts=data.counts[lo:hi], classes=data.classes[lo:hi], ptr=data.ptr[lo:hi + 1] - p0,
                               centre=data.centre[p0:p1], tables=data.tables[p0:p1])


@pytest.mark.parametrize(("error_model", "qualities"), [("uniform", False), ("matrix", False), ("uniform", True)])
def test_em_reaches_the_direct_maximum_of_the_same_likelihood(error_model, qualities):
    table, centres, data, (_, rows) = _small(qualities=qualities)
    k, n_classes = centres.size, rows.n_classes
    assert n_classes == (2 if qualities else 1)
    em = fit_em(ClonotypeMixtureModel(error_model), data, tol=1e-14, max_iter=20000, accelerate="squarem",
                random_state=0)

    def unpack(u):
        log_w = log_softmax(np.r_[0.0, u[:k - 1]])
        if error_model == "uniform":
            e = 1.0 / (1.0 + np.exp(-u[k - 1:]))
            log_q = np.log(np.where(np.eye(4, dtype=bool), 1.0 - e[:, None, None], e[:, None, None] / 3.0))
        else:
            logits = np.zeros((n_classes, 4, 4))
            logits[:, ~np.eye(4, dtype=bool)] = u[k - 1:].reshape(n_classes, 12)
            log_q = log_softmax(logits, axis=2)
        return log_w, log_q

    n_err = (1 if error_model == "uniform" else 12) * n_classes
    start = np.r_[np.zeros(k - 1), np.full(n_err, -4.0)]
    direct = minimize(lambda u: -_direct_loglik(table, centres, rows, *unpack(u)), start, method="BFGS",
                      options={"gtol": 1e-9, "maxiter": 2000})
    log_w, log_q = unpack(direct.x)
    assert em.loglik == pytest.approx(-direct.fun, abs=1e-6)
    np.testing.assert_allclose(em.params.weights, np.exp(log_w), atol=1e-6)
    np.testing.assert_allclose(em.params.substitution, np.exp(log_q), atol=1e-6)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), error_rate=st.floats(0.002, 0.1), n_clonotypes=st.integers(1, 6),
       error_model=st.sampled_from(["uniform", "matrix"]), qualities=st.booleans())
def test_plain_em_never_lowers_the_likelihood(seed, error_rate, n_clonotypes, error_model, qualities):
    _, _, data, _ = _small(seed, n_clonotypes, 300, error_rate, qualities)
    result = fit_em(ClonotypeMixtureModel(error_model), data, max_iter=60, tol=0.0, random_state=seed)
    assert np.all(np.diff(result.trace) >= -1e-10 * np.abs(result.trace[1:]))
