"""The engine's delta method and Wald intervals for derived quantities."""

import numpy as np
import pytest
from scipy.stats import norm

from latentlab.em import delta_method, wald_intervals


def test_delta_method_matches_the_linear_map_and_marks_unknown_inputs():
    cov = np.array([[1.0, 0.5, np.nan], [0.5, 2.0, np.nan], [np.nan, np.nan, np.nan]])
    A = np.array([[1.0, 2.0, 0.0], [0.0, 1.0, 3.0]])
    out = delta_method(lambda v: A @ v, np.array([1.0, 2.0, 0.5]), cov)
    assert out[0, 0] == pytest.approx(A[0, :2] @ cov[:2, :2] @ A[0, :2], rel=1e-8)  # = 11
    assert np.isnan(out[1]).all() and np.isnan(out[:, 1]).all()  # depends on the NaN-variance input


def test_delta_method_of_a_nonlinear_function():
    x, var = np.array([2.0]), np.array([[0.01]])
    out = delta_method(lambda v: np.exp(v), x, var)
    assert out[0, 0] == pytest.approx(np.exp(2.0) ** 2 * 0.01, rel=1e-6)


def test_wald_intervals_on_each_scale():
    z = norm.ppf(0.975)
    lo, hi = wald_intervals([0.5, 2.0, 1.0, 1.0], [0.1, 0.2, 0.3, np.nan], ["logit", "log", "identity", "log"])
    assert lo[2] == pytest.approx(1 - 0.3 * z) and hi[2] == pytest.approx(1 + 0.3 * z)
    assert lo[1] * hi[1] == pytest.approx(4.0)  # symmetric on the log scale
    assert lo[0] + hi[0] == pytest.approx(1.0)  # symmetric on the logit scale around 0.5
    assert np.isnan(lo[3]) and np.isnan(hi[3])
    with pytest.raises(ValueError, match="level must be in"):
        wald_intervals([1.0], [0.1], ["log"], level=1.5)
