"""The block-sparse simplex information equals the dense formula."""

import numpy as np
import pytest
from scipy import sparse

from latentlab.em.sparse_simplex import SparseSimplexInformation


def _problem(seed=0, units=60, k=12):
    rng = np.random.default_rng(seed)
    c = np.zeros((units, k))
    for i in range(units):  # each unit touches one to three components, within groups of four
        group = rng.integers(0, k // 4)
        cols = 4 * group + rng.choice(4, size=rng.integers(1, 4), replace=False)
        c[i, cols] = rng.uniform(0.1, 1.0, cols.size)
    w = rng.dirichlet(np.ones(k))
    n = rng.integers(1, 50, units)
    g = c / (c @ w)[:, None] * np.sqrt(n)[:, None]
    return sparse.csr_matrix(g), w


def _dense_sigma(G, keep):
    info = (G.T @ G).toarray()[np.ix_(keep, keep)]
    inv = np.linalg.inv(info)
    a = inv.sum(axis=1)
    return inv - np.outer(a, a) / a.sum()


def test_variances_covariances_and_quadratic_forms_equal_the_dense_formula():
    G, w = _problem()
    k = w.size
    free = np.ones(k, bool)
    free[[2, 7]] = False
    keep = np.flatnonzero(free)
    sigma = _dense_sigma(G, keep)
    info = SparseSimplexInformation(G, free)
    var = info.variances()
    np.testing.assert_allclose(var[keep], np.diag(sigma), rtol=1e-10)
    assert np.isnan(var[[2, 7]]).all()
    v = np.random.default_rng(1).uniform(size=k)
    expected = np.zeros(k)
    expected[keep] = sigma @ v[keep]
    np.testing.assert_allclose(info.covariance_with(v), expected, rtol=1e-10, atol=1e-14)
    S = sparse.random(k, 5, density=0.4, random_state=2, format="csr")
    dense = S.toarray()[keep]
    np.testing.assert_allclose(info.quadratic(S), np.einsum("kj,kj->j", dense, sigma @ dense), rtol=1e-9, atol=1e-15)


def test_uncoupled_components_have_multinomial_variances():
    w = np.array([0.5, 0.3, 0.2])
    n = np.array([50.0, 30.0, 20.0])  # one unit per component, at the MLE w = n / N
    G = sparse.csr_matrix(np.diag(np.sqrt(n) / w))
    np.testing.assert_allclose(SparseSimplexInformation(G).variances(), w * (1 - w) / n.sum(), rtol=1e-12)


def test_components_the_data_cannot_tell_apart_get_no_variance_and_leave_the_others_right():
    # components 0 and 1 are always seen together with the same densities: a singular block
    c = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 2.0]])
    w = np.array([0.3, 0.3, 0.4])
    n = np.array([20.0, 10.0, 30.0, 5.0])
    G = sparse.csr_matrix(c / (c @ w)[:, None] * np.sqrt(n)[:, None])
    info = SparseSimplexInformation(G)
    var = info.variances()
    assert np.isnan(var[:2]).all()
    # the same data with 0 and 1 merged into one component of weight 0.6
    cm, wm = np.c_[c[:, :1], c[:, 2:]], np.array([0.6, 0.4])
    merged = SparseSimplexInformation(sparse.csr_matrix(cm / (cm @ wm)[:, None] * np.sqrt(n)[:, None]))
    assert var[2] == pytest.approx(merged.variances()[1], rel=1e-10)
    total = sparse.csr_matrix(np.array([[1.0], [1.0], [0.0]]))
    assert info.quadratic(total)[0] == pytest.approx(merged.variances()[0], rel=1e-10)
