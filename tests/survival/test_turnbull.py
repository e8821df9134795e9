"""Turnbull NPMLE: lifelines' test intervals, Kuhn-Tucker conditions checked
independently, the Kaplan-Meier special case, simulated truth, monotone EM."""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from latentlab import ConvergenceWarning
from latentlab.em import fit_em
from latentlab.survival import KaplanMeier, Turnbull, TurnbullModel, simulate_censored_exponential
from latentlab.survival.turnbull import _Data, turnbull_intervals

LIFELINES_L = [1, 8, 8, 7, 7, 17, 37, 46, 46, 45]
LIFELINES_R = [7, 8, 10, 16, 14, np.inf, 44, np.inf, np.inf, np.inf]


def test_lifelines_intervals_closed():
    fit = Turnbull(closed=True).fit(LIFELINES_L, LIFELINES_R)
    iv = fit.intervals_
    assert iv[["left", "right"]].to_numpy().tolist() == [[7, 7], [8, 8], [37, 44], [46, np.inf]]
    # lifelines' published masses (its test suite), to their 5 digits
    np.testing.assert_allclose(fit.masses_, [0.16667, 0.33333, 0.125, 0.375], atol=5e-6)
    assert fit.converged_ and fit.kkt_gap_ <= 1e-8


def test_half_open_convention_separates_touching_intervals():
    # under (L, R], (1, 7] and (7, 16] do not share 7, so [7, 7] is no Turnbull interval
    fit = Turnbull().fit(LIFELINES_L, LIFELINES_R)
    assert fit.intervals_[["left", "right"]].to_numpy().tolist() == [
        [1, 7], [8, 8], [8, 10], [37, 44], [46, np.inf]
    ]
    assert fit.intervals_["left_open"].tolist() == [True, False, True, True, True]


def _point_in(lower, upper, x, closed):
    """Whether observation [L, R] (or (L, R]) holds the point x."""
    exact = lower == upper
    if closed:
        return (lower <= x) & (x <= upper)
    return np.where(exact, x == lower, (lower < x) & (x <= upper))


def _representative(iv):
    left, right = iv["left"].to_numpy(), iv["right"].to_numpy()
    inner = np.where(np.isinf(right), left + 1.0, (left + right) / 2.0)
    return np.where(left == right, left, inner)


@pytest.mark.parametrize("group", ["RT", "RCT"])
def test_cosmesis_kuhn_tucker_conditions(cosmesis, group):
    arm = cosmesis[cosmesis["group"] == group]
    fit = Turnbull().fit(arm["L"], arm["R"])
    lo, hi = arm["L"].to_numpy(float), arm["R"].to_numpy(float)
    alpha = np.column_stack([_point_in(lo, hi, x, closed=False) for x in _representative(fit.intervals_)])
    assert alpha.any(axis=1).all()  # every observation holds some Turnbull interval
    d = alpha.T @ (1.0 / (alpha @ fit.masses_))
    n = len(arm)
    assert np.max(d / n - 1.0) <= 1e-6  # no direction of ascent
    support = fit.masses_ > 1e-6
    np.testing.assert_allclose(d[support] / n, 1.0, atol=1e-6)  # equality where mass sits
    assert fit.masses_.sum() == pytest.approx(1.0, abs=1e-12)


def test_cosmesis_matches_lifelines_closed(cosmesis):
    npmle = pytest.importorskip("lifelines.fitters.npmle")
    arm = cosmesis[cosmesis["group"] == "RT"]
    lo, hi = arm["L"].to_numpy(float), arm["R"].to_numpy(float)
    ours = Turnbull(closed=True).fit(lo, hi)
    probs, intervals = npmle.npmle(lo, hi, tol=1e-10)
    assert [[i.left, i.right] for i in intervals] == ours.intervals_[["left", "right"]].to_numpy().tolist()
    # lifelines stops on a small change of the masses: at its stop the KKT gap is still
    # ~2e-5 and its likelihood a little lower; ours is the better point, close to it
    alpha = np.column_stack([_point_in(lo, hi, x, closed=True) for x in _representative(ours.intervals_)])
    theirs_ll = np.log(alpha @ probs).sum()
    theirs_gap = np.max(alpha.T @ (1.0 / (alpha @ probs))) / len(lo) - 1.0
    assert ours.loglik_ >= theirs_ll and ours.kkt_gap_ < theirs_gap
    np.testing.assert_allclose(ours.masses_, probs, atol=5e-4)


def test_exact_and_right_censored_data_give_kaplan_meier():
    sim = simulate_censored_exponential(200, 0.5, study_end=3.0, dropout_rate=0.3, random_state=2)
    t = np.ceil(sim["duration"].to_numpy() * 10) / 10  # ties between events and censorings
    event = sim["event"].to_numpy()
    fit = Turnbull().fit(t, np.where(event == 1, t, np.inf))
    km = KaplanMeier().fit(t, event)
    times = km.survival_function_.index.to_numpy()
    sf = fit.survival_function(times)
    # exact times are point intervals, so both envelopes meet the KM curve there
    np.testing.assert_allclose(sf["upper"], km.survival_function_["survival"], atol=1e-6)


def test_recovers_simulated_exponential_from_visits():
    rate, n = 0.4, 3000
    sim = simulate_censored_exponential(n, rate, study_end=6.0, visit_interval=1.0, random_state=9)
    fit = Turnbull().fit(sim["lower"], sim["upper"])
    visits = np.arange(1.0, 6.0)
    sf = fit.survival_function(visits)
    # at a visit time S is determined (both envelopes agree); binomial SE <= 0.5/sqrt(3000) ~ 0.009
    np.testing.assert_allclose(sf["lower"], sf["upper"], atol=1e-9)
    np.testing.assert_allclose(sf["upper"], np.exp(-rate * visits), atol=4 * 0.0092)


def _random_intervals(seed, n):
    """Integer bounds with many ties, exact times and 20% right-censored rows."""
    rng = np.random.default_rng(seed)
    lo = rng.integers(0, 10, n).astype(float)
    hi = lo + rng.integers(0, 5, n)
    hi[rng.random(n) < 0.2] = np.inf
    hi[hi == 0] = 1.0
    return lo, hi


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(3, 40), closed=st.booleans())
def test_plain_em_trace_never_decreases(seed, n, closed):
    lo, hi = _random_intervals(seed, n)
    left, right, left_open, alpha = turnbull_intervals(lo, hi, closed)
    data = _Data(alpha, np.ones(n))
    model = TurnbullModel(kkt_tol=1e-6)
    with warnings.catch_warnings():  # 300 plain steps need not meet the KKT rule
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = fit_em(model, data, max_iter=300, tol=1e-12)
    assert np.all(np.diff(result.trace) >= -1e-10 * (1 + np.abs(result.trace[1:])))


def test_plot_and_survival_function_shape(cosmesis):
    fit = Turnbull().fit(cosmesis["L"], cosmesis["R"])
    sf = fit.survival_function_
    assert sf.index[0] == 0.0 and sf["upper"].iloc[0] == pytest.approx(1.0)
    assert np.all(sf["lower"] <= sf["upper"] + 1e-12)
    assert np.all(np.diff(sf["upper"]) <= 1e-12)
    ax = fit.plot()
    assert ax.get_lines()


@pytest.mark.parametrize(
    "lower, upper, message",
    [
        ([1.0, 5.0], [2.0, 4.0], "lower_bound must not exceed upper_bound; index 1"),
        ([1.0, np.nan], [2.0, 4.0], "lower_bound has 1 non-finite"),
        ([1.0, 2.0], [2.0], "length"),
        ([-1.0, 2.0], [2.0, 3.0], "non-negative"),
    ],
)
def test_bad_input(lower, upper, message):
    with pytest.raises(ValueError, match=message):
        Turnbull().fit(lower, upper)


def test_closed_must_be_boolean():
    with pytest.raises(TypeError, match="closed must be True or False"):
        Turnbull(closed="yes").fit([1.0], [2.0])


def test_dataframe_input(cosmesis):
    a = Turnbull().fit(cosmesis["L"], cosmesis["R"])
    b = Turnbull().fit(cosmesis["L"].to_numpy(), cosmesis["R"].to_list())
    pd.testing.assert_frame_equal(a.intervals_, b.intervals_)


def test_all_right_censored_puts_all_mass_beyond_the_last_time():
    fit = Turnbull().fit([3.0, 5.0, 4.0], [np.inf, np.inf, np.inf])
    assert fit.intervals_[["left", "right", "mass"]].to_numpy().tolist() == [[5.0, np.inf, 1.0]]
    assert fit.loglik_ == 0.0


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 30), closed=st.booleans())
def test_containment_matrix_matches_brute_force(seed, n, closed):
    lo, hi = _random_intervals(seed, n)
    left, right, left_open, alpha = turnbull_intervals(lo, hi, closed)
    iv = pd.DataFrame({"left": left, "right": right})
    brute = np.column_stack([_point_in(lo, hi, x, closed) for x in _representative(iv)])
    np.testing.assert_array_equal(alpha.toarray().astype(bool), brute)
    assert brute.any(axis=1).all()
    # innermost: no other endpoint lies strictly inside a Turnbull interval
    ends = np.concatenate([lo, hi])
    assert not np.any((ends[:, None] > left) & (ends[:, None] < right))


# -- the constrained Newton method (issue 23) ------------------------------------------------------------
BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "data"


@pytest.mark.parametrize("n", [500, 2000])
def test_constrained_newton_reaches_npsurv(n):
    """npsurv's log-likelihoods were stored by benchmarks/turnbull_npsurv.R
    (npsurv 0.5.0) on the data of benchmarks/turnbull_data.py."""
    d = pd.read_csv(BENCH / f"turnbull_n{n}.csv")
    theirs = pd.read_csv(BENCH / "turnbull_npsurv.csv").set_index("n").loc[n, "loglik"]
    fit = Turnbull().fit(d.L, d.R)
    assert fit.loglik_ == pytest.approx(theirs, abs=1e-6)
    assert fit.kkt_gap_ <= 1e-8 and fit.converged_
    assert fit.result_.accelerate == "squarem" and fit.result_.trace[0] < fit.loglik_  # Newton, then EM


def test_newton_and_em_find_the_same_npmle(cosmesis):
    for group, sub in cosmesis.groupby("group"):
        newton = Turnbull().fit(sub["L"], sub["R"])
        em = Turnbull(method="em").fit(sub["L"], sub["R"])
        assert newton.loglik_ == pytest.approx(em.loglik_, abs=1e-7), group
        assert np.allclose(newton.survival_function_, em.survival_function_, atol=1e-4), group
        assert np.all(np.diff(newton.result_.trace) >= -1e-10), group  # Newton's line search only rises


def test_method_must_be_known():
    with pytest.raises(ValueError, match="method must be one of"):
        Turnbull(method="icm").fit([0.0, 1.0], [1.0, 2.0])


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(3, 60), closed=st.booleans())
def test_newton_and_em_agree_on_random_intervals(seed, n, closed):
    lo, hi = _random_intervals(seed, n)
    newton = Turnbull(closed=closed).fit(lo, hi)
    em = Turnbull(closed=closed, method="em").fit(lo, hi)
    assert newton.loglik_ == pytest.approx(em.loglik_, abs=1e-7 * (1 + abs(em.loglik_)))
    assert newton.kkt_gap_ <= 1e-8
