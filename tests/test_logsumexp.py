"""The plain-numpy log-sum-exp against scipy's on rows with a dominant term,
ties, -inf, +inf and NaN, over each axis and all entries."""

import numpy as np
import pytest
from scipy import special

from latentlab._logsumexp import logsumexp


def _cases():
    rng = np.random.default_rng(0)
    a = rng.normal(scale=50.0, size=(40, 5))
    a[0] = -np.inf  # every term impossible
    a[1, 2] = np.inf
    a[2, 3] = np.nan
    a[3] = [0.0, -800.0, -900.0, -1000.0, -745.0]  # terms far below the largest
    a[4] = 700.0  # a tie, near overflow
    a[5, :4] = -np.inf
    return a


@pytest.mark.parametrize("axis", [0, 1, -1, None])
@pytest.mark.parametrize("keepdims", [False, True])
def test_logsumexp_equals_scipy(axis, keepdims):
    a = _cases()
    ours = logsumexp(a, axis=axis, keepdims=keepdims)
    with np.errstate(all="ignore"):
        ref = special.logsumexp(a, axis=axis, keepdims=keepdims)
    assert np.shape(ours) == np.shape(ref)
    # equal to round-off; near zero (one dominant term) scipy's log1p keeps terms
    # below 1e-16 of the largest that the plain sum rounds away: 1e-16 absolute
    np.testing.assert_allclose(ours, ref, rtol=1e-14, atol=1e-16)


def test_logsumexp_of_all_entries_is_a_float():
    out = logsumexp([0.0, np.log(3.0)])
    assert isinstance(out, np.floating)
    assert out == pytest.approx(np.log(4.0), rel=1e-15)


def test_logsumexp_of_a_large_finite_row_does_not_overflow():
    assert logsumexp(np.array([[1000.0, 1000.0]]), axis=1)[0] == pytest.approx(1000.0 + np.log(2.0), rel=1e-15)
