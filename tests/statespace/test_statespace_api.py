"""LinearGaussianSSM as a user meets it: sequences, an empty sequence kept and
reported, forecasts, samples, the summary, DataFrames, the ready-made models,
and clear errors."""

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from latentlab import NumericalError
from latentlab.cli import load
from latentlab.statespace import LinearGaussianSSM, local_level, local_linear_trend, simulate_ssm

from .conftest import NILE


@pytest.fixture(scope="module")
def nile():
    return local_level().fit(NILE)


def test_an_empty_sequence_is_kept_and_reported_not_dropped():
    _, Y1 = simulate_ssm(np.eye(1) * 0.9, np.eye(1), np.eye(1), np.eye(1), 80, random_state=0)
    _, Y2 = simulate_ssm(np.eye(1) * 0.9, np.eye(1), np.eye(1), np.eye(1), 60, random_state=1)
    empty = np.full((10, 1), np.nan)
    alone = LinearGaussianSSM(1, C=np.eye(1), fixed=("C",), random_state=0).fit(np.r_[Y1, Y2], lengths=[80, 60])
    with pytest.warns(UserWarning, match=r"sequence\(s\) \[1\] have every value missing"):
        both = LinearGaussianSSM(1, C=np.eye(1), fixed=("C",), random_state=0).fit(np.r_[Y1, empty, Y2], lengths=[80, 10, 60])
    assert both.empty_sequences_ == [1]
    assert both.loglik_ == pytest.approx(alone.loglik_, rel=1e-12)
    assert both.A_ == pytest.approx(alone.A_, rel=1e-10)
    smoothed = both.smooth()
    assert smoothed.means.shape == (150, 1)
    assert smoothed.loglik == pytest.approx(both.loglik_, rel=1e-12)  # the empty sequence adds nothing
    assert np.all(smoothed.std_errors()[80:90] > smoothed.std_errors()[:80].max())  # a prediction, not data


def test_score_filter_and_smooth_agree_with_the_fit(nile):
    assert nile.score(NILE) == pytest.approx(nile.loglik_, rel=1e-12)
    f, s = nile.filter(), nile.smooth()
    assert f.loglik == s.loglik == pytest.approx(nile.loglik_, rel=1e-12)
    assert np.allclose(f.means[-1], s.means[-1]) and np.allclose(f.covariances[-1], s.covariances[-1])
    assert np.all(s.std_errors() <= f.std_errors() + 1e-9)  # smoothing uses more data


def test_forecast_of_the_local_level_is_flat_with_widening_intervals(nile):
    fc = nile.forecast(5)
    assert list(fc.columns) == ["step", "series", "mean", "std_error", "ci_lower", "ci_upper"]
    assert len(fc) == 5 and np.allclose(fc["mean"], nile.filter().means[-1, 0])
    assert np.all(np.diff(fc["std_error"]) > 0)
    level_var = nile.filter().covariances[-1, 0, 0] + np.arange(1, 6) * nile.Q_[0, 0]
    assert np.allclose(fc["std_error"], np.sqrt(level_var + nile.R_[0, 0]))
    assert np.all(fc.ci_lower < fc["mean"]) and np.all(fc["mean"] < fc.ci_upper)


def test_state_estimates_plot_with_bands(nile):
    ax = nile.smooth().plot(time=np.arange(1871, 1971))
    assert len(ax.lines) == 1 and len(ax.collections) == 1
    assert ax.lines[0].get_xdata()[0] == 1871
    with pytest.raises(ValueError, match="time must have one value per step"):
        nile.smooth().plot(time=np.arange(3))


def test_sample_is_reproducible_and_shaped(nile):
    a, b = nile.sample(50, random_state=3), nile.sample(50, random_state=3)
    assert a[0].shape == (50, 1) and a[1].shape == (50, 1)
    assert np.array_equal(a[1], b[1])
    assert np.allclose(a[0][0], nile.smooth().means[0])  # a diffuse model starts at the smoothed first state


def test_summary_hides_structure_and_names_the_columns():
    A, C, Q, R = load("system_identification").cv_truth()
    _, Y = simulate_ssm(A, C, Q, R, 300, initial_state=[0.0, 1.0, 0.0, -0.5], random_state=1)
    frame = pd.DataFrame(Y, columns=["east", "north"])
    est = LinearGaussianSSM(4, A=A, C=C, fixed=("A", "C"), Q_type="diag").fit(frame)
    table = est.summary()
    labels = list(table.parameter)
    assert "R[north, east]" in labels and "R[east, north]" not in labels  # the lower triangle only
    assert "Q[1, 1]" in labels and "Q[1, 0]" not in labels  # no structural zeros
    assert not any(lab.startswith(("b[", "d[", "mu0", "P0")) for lab in labels)  # no offsets, diffuse start
    assert table.loc[table.parameter.str.startswith("A["), "std_error"].isna().all()  # held by the user: shown
    assert est.n_parameters_ == 4 + 3
    assert est.bic() > est.aic()
    assert list(est.forecast(2).series) == ["east", "north", "east", "north"]


def test_local_linear_trend_reaches_statsmodels_on_the_nile():
    est = local_linear_trend(tol=1e-12, max_iter=100_000).fit(NILE)
    llt = sm.tsa.UnobservedComponents(NILE, "local linear trend", use_exact_diffuse=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = llt.fit(disp=False)
    ours = llt.loglike(np.array([est.R_[0, 0], est.Q_[0, 0], est.Q_[1, 1]]))
    assert est.loglik_ == pytest.approx(ours, rel=1e-8)
    assert ours >= theirs.llf - 1e-6 * abs(theirs.llf)


def test_an_estimated_start_needs_several_sequences_for_p0():
    Y = NILE[:, None]
    with pytest.raises(ValueError, match="P0 cannot be estimated from a single sequence"):
        LinearGaussianSSM(1, initial="estimated").fit(Y)
    est = LinearGaussianSSM(1, C=np.eye(1), P0=np.eye(1) * 1e4, fixed=("C", "P0"), initial="estimated").fit(Y)
    assert est.P0_[0, 0] == 1e4 and abs(est.mu0_[0] - NILE[:5].mean()) < 300


@pytest.mark.parametrize(("kwargs", "Y", "lengths", "message"), [
    (dict(A=np.eye(3)), NILE, None, "A must have shape"),
    (dict(n_states=2, Q=np.array([[1.0, 2.0], [2.0, 1.0]])), np.c_[NILE, NILE], None, "Q is not a valid full covariance"),
    (dict(Q=-np.eye(1), fixed=("Q",)), NILE, None, "Q is not a valid"),
    (dict(R=np.array([[1.0, 0.5], [0.5, 1.0]]), R_type="diag"), np.c_[NILE, NILE], None, "zero off the diagonal"),
    (dict(fixed=("A",)), NILE, None, "no value was given"),
    (dict(fixed=("Z",)), NILE, None, "unknown parameter 'Z'"),
    (dict(fixed="A"), NILE, None, "fixed must be"),
    (dict(A=np.eye(1), fixed={"A": np.ones((2, 2), bool)}), NILE, None, "boolean mask of shape"),
    (dict(n_states=2, Q=np.eye(2), fixed={"Q": np.eye(2, dtype=bool)}), NILE, None, "held whole or not at all"),
    (dict(mu0=np.zeros(1)), NILE, None, "initial='estimated'"),
    (dict(initial="exact"), NILE, None, "initial must be"),
    (dict(Q_type="tied"), NILE, None, "Q_type must be"),
    (dict(), np.full(20, np.nan), None, "every value missing"),
    (dict(), np.c_[NILE, np.full(100, np.nan)], None, "column"),
    (dict(), NILE, [50, 40], "lengths sum to 90"),
    (dict(), NILE, [100, 0], "lengths must hold positive integers"),
])
def test_bad_input_is_refused_clearly(kwargs, Y, lengths, message):
    kwargs = dict(kwargs)
    est = LinearGaussianSSM(kwargs.pop("n_states", 1), **kwargs)
    with pytest.raises((ValueError, TypeError), match=message):
        est.fit(Y, lengths=lengths)


def test_a_summary_too_costly_to_compute_is_refused_not_started(nile):
    with pytest.raises(ValueError, match="max_filter_steps"):
        nile.summary(max_filter_steps=100)
    assert len(nile.summary(max_filter_steps=1e6)) == 4


def test_use_before_fit_and_with_other_data_is_refused(nile):
    with pytest.raises(ValueError, match="not fitted"):
        LinearGaussianSSM().smooth()
    with pytest.raises(ValueError, match="2 series"):
        nile.score(np.c_[NILE, NILE])
    with pytest.raises(ValueError, match="steps"):
        nile.forecast(0)


def test_estimating_both_c_and_q_warns_that_the_states_are_not_identified():
    _, Y = simulate_ssm(np.array([[0.9, 0.1], [0.0, 0.8]]), np.eye(2), np.eye(2), np.eye(2), 80, random_state=0)
    with pytest.warns(UserWarning, match="scale and basis are not identified"):
        try:
            LinearGaussianSSM(2, max_iter=5, random_state=0).fit(Y)
        except NumericalError:  # the drift may also break the diffuse start: that error says so
            pass
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        LinearGaussianSSM(2, Q=np.eye(2), fixed=("Q",), max_iter=5, random_state=0).fit(Y)
    assert not any("not identified" in str(w.message) for w in caught)
