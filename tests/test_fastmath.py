"""The compiled exponential of latentlab._fastmath against numpy's."""

import numba as nb
import numpy as np

from latentlab._fastmath import exp_fast


@nb.njit
def _apply(z):
    out = np.empty_like(z)
    for i in range(z.size):
        out[i] = exp_fast(z[i])
    return out


def test_within_two_ulps_of_numpy_over_the_range_used():
    rng = np.random.default_rng(0)
    z = np.r_[rng.uniform(-708, 709, 200_000), rng.uniform(-1, 1, 50_000), 0.0, -708.0, 709.0]
    ours, ref = _apply(z), np.exp(z)
    assert np.all(np.abs(ours - ref) <= 2 * np.spacing(ref))


def test_below_the_range_it_gives_exp_of_the_range_end():
    low = _apply(np.array([-1e300, -800.0, -708.0]))
    assert low[0] == low[1] == low[2]
    assert abs(low[0] - np.exp(-708.0)) <= 2 * np.spacing(np.exp(-708.0))
