"""The PositiveDefinite constraint (validity by Cholesky, log-Cholesky free
coordinates) and the guard's per-step slack hook."""

import dataclasses

import numpy as np
import pytest

from latentlab import MonotonicityError
from latentlab.em import PositiveDefinite, fit_em
from latentlab.mixtures import PoissonMixtureModel
from latentlab.mixtures.poisson import _Tabulated


def _random_spd(rng, n, d):
    a = rng.normal(size=(n, d, d))
    return a @ np.swapaxes(a, 1, 2) + 0.1 * np.eye(d)


def test_validity():
    c = PositiveDefinite()
    rng = np.random.default_rng(0)
    good = _random_spd(rng, 3, 4)
    assert c.is_valid(good) and c.is_valid(good[0])
    indefinite = good.copy()
    indefinite[1] = -indefinite[1]
    assert not c.is_valid(indefinite)
    asym = good.copy()
    asym[2, 0, 1] += 1.0
    assert not c.is_valid(asym)
    nan = good.copy()
    nan[0, 0, 0] = np.nan
    assert not c.is_valid(nan)
    with pytest.raises(ValueError, match="square"):
        c.is_valid(np.ones((2, 3)))


def test_log_cholesky_round_trip_and_count():
    c = PositiveDefinite()
    rng = np.random.default_rng(1)
    x = _random_spd(rng, 3, 3)
    free = np.ones(x.shape, dtype=bool)
    u = c.to_free(x, free)
    assert u.shape == (3 * 6,) and c.n_free(free) == 18
    np.testing.assert_allclose(c.from_free(u, x, free), x, rtol=1e-12, atol=1e-12)
    # the first d coordinates of each matrix are log of the Cholesky diagonal
    np.testing.assert_allclose(u[:3], np.log(np.diag(np.linalg.cholesky(x[0]))), rtol=1e-12)
    # any coordinates map to a valid matrix
    assert c.is_valid(c.from_free(rng.normal(size=u.size) * 3, x, free))


def test_fixed_matrix_kept_and_partial_mask_refused():
    c = PositiveDefinite()
    rng = np.random.default_rng(2)
    x = _random_spd(rng, 2, 2)
    free = np.ones(x.shape, dtype=bool)
    free[1] = False
    u = c.to_free(x, free)
    assert u.size == 3 == c.n_free(free)
    out = c.from_free(u + 0.5, x, free)
    np.testing.assert_array_equal(out[1], x[1])
    assert not np.allclose(out[0], x[0])
    free[0, 0, 1] = False
    with pytest.raises(ValueError, match="as a whole"):
        c.n_free(free)


class _InexactPoisson(PoissonMixtureModel):
    """An M-step that misses the maximiser by 1%, alternately above and below:
    near the optimum the log-likelihood then falls every other step."""

    slack = 0.0
    calls = 0

    def m_step(self, stats, current, fixed=None):
        p = super().m_step(stats, current, fixed)
        self.calls += 1
        return dataclasses.replace(p, rates=p.rates * (1.01 if self.calls % 2 else 0.99))

    def monotone_slack(self, stats, params):
        return self.slack


def test_guard_uses_the_models_slack():
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.poisson(2.0, 300), rng.poisson(9.0, 300)])
    values, freq = np.unique(x, return_counts=True)
    data = _Tabulated(values.astype(float), freq.astype(float))
    model = _InexactPoisson(2)
    with pytest.raises(MonotonicityError):
        fit_em(model, data, random_state=0, max_iter=500)
    model.slack = np.inf
    fit_em(model, data, random_state=0, max_iter=500)

def _spd(rng, k, d):
    a = rng.normal(size=(k, d, d))
    return a @ a.transpose(0, 2, 1) + np.eye(d)


def test_round_trip_and_count():
    rng = np.random.default_rng(0)
    x = _spd(rng, 3, 3)
    free = np.ones(x.shape, dtype=bool)
    free[1] = False  # the second matrix is held fixed
    c = PositiveDefinite()
    u = c.to_free(x, free)
    assert u.size == c.n_free(free) == 2 * 6
    np.testing.assert_allclose(c.from_free(u, x, free), x, rtol=1e-12)
    moved = c.from_free(u + 0.3, x, free)
    assert c.is_valid(moved)
    np.testing.assert_array_equal(moved[1], x[1])


def test_validity_and_interior_of_a_stack():
    rng = np.random.default_rng(1)
    x = _spd(rng, 2, 2)
    c = PositiveDefinite()
    assert c.is_valid(x)
    assert not c.is_valid(-x)
    bad = x.copy()
    bad[0, 0, 1] += 1.0  # not symmetric
    assert not c.is_valid(bad)
    assert not c.interior(-x).any()
