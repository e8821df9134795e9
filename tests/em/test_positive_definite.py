"""The PositiveDefinite constraint: free coordinates round-trip, validity, counting."""

import numpy as np

from latentlab.em import PositiveDefinite


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


def test_validity():
    rng = np.random.default_rng(1)
    x = _spd(rng, 2, 2)
    c = PositiveDefinite()
    assert c.is_valid(x)
    assert not c.is_valid(-x)
    bad = x.copy()
    bad[0, 0, 1] += 1.0  # not symmetric
    assert not c.is_valid(bad)
    assert not c.interior(-x).any()
