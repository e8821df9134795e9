"""The exponential on censored intervals, against scipy and numerical calculus."""

import numpy as np
import pytest
from scipy import integrate, stats

from latentlab.survival import _censoring as cens

LOWER = np.array([2.0, 0.0, 1.5, 3.0, 0.4, 1e-9])
UPPER = np.array([2.0, 4.0, 2.5, np.inf, 0.4 + 1e-7, 1.0])
RATE = 0.7


def test_log_prob_matches_scipy():
    obs = cens.Intervals(LOWER, UPPER)
    dist = stats.expon(scale=1 / RATE)
    with np.errstate(divide="ignore"):  # the exact rows' cdf difference is 0; np.where keeps logpdf
        expected = np.where(LOWER == UPPER, dist.logpdf(LOWER), np.log(dist.cdf(UPPER) - dist.cdf(LOWER)))
    # the narrow interval (width 1e-7) loses digits in the cdf difference, not in log_prob
    np.testing.assert_allclose(cens.log_prob(obs, RATE), expected, rtol=1e-7)


def test_expected_time_matches_quadrature():
    obs = cens.Intervals(LOWER, UPPER)
    got = cens.expected_time(obs, RATE)
    for i in range(LOWER.size):
        lo, hi = LOWER[i], UPPER[i]
        if lo == hi:
            want = lo
        else:
            dens = lambda t: RATE * np.exp(-RATE * t)  # noqa: E731
            mass = integrate.quad(dens, lo, hi)[0]
            want = integrate.quad(lambda t: t * dens(t), lo, hi)[0] / mass
        assert got[i] == pytest.approx(want, rel=1e-7), i


@pytest.mark.parametrize("rate", [1e-3, 0.7, 40.0])
def test_eta_derivatives_match_finite_differences(rate):
    obs = cens.Intervals(LOWER[:4], UPPER[:4])
    eta, h = np.log(rate), 1e-4
    f = lambda e: cens.log_prob(obs, np.exp(e))  # noqa: E731
    d1, d2 = cens.eta_derivatives(obs, rate)
    # central differences: error O(h^2) ~ 1e-8 relative, round-off ~eps/h^2 ~ 1e-8
    np.testing.assert_allclose(d1, (f(eta + h) - f(eta - h)) / (2 * h), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(d2, (f(eta + h) - 2 * f(eta) + f(eta - h)) / h**2, rtol=1e-5, atol=1e-5)


def test_from_durations_and_bounds_errors():
    with pytest.raises(ValueError, match="durations must be positive; index 1"):
        cens.from_durations([1.0, 0.0])
    with pytest.raises(ValueError, match="durations has 1 non-finite"):
        cens.from_durations([1.0, np.nan])
    with pytest.raises(ValueError, match="event_observed must hold 0 or 1.*index 0 is 2.0"):
        cens.from_durations([1.0, 2.0], [2, 1])
    with pytest.raises(ValueError, match="event_observed has length 3 but durations has length 2"):
        cens.from_durations([1.0, 2.0], [1, 1, 0])
    with pytest.raises(ValueError, match="lower_bound must not exceed upper_bound; index 1"):
        cens.from_bounds([0.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="upper_bound has NaN at index 0"):
        cens.from_bounds([0.0], [np.nan])
    with pytest.raises(ValueError, match="lower_bound must be non-negative"):
        cens.from_bounds([-1.0], [2.0])
    with pytest.raises(ValueError, match="upper_bound must be positive"):
        cens.from_bounds([0.0], [0.0])
    with pytest.raises(ValueError, match="upper_bound has length 1 but lower_bound has length 2"):
        cens.from_bounds([0.0, 1.0], [2.0])
