"""Kaplan-Meier against lifelines and a hand calculation."""

import numpy as np
import pytest

from latentlab.survival import KaplanMeier


def test_hand_calculation():
    # times 1, 2+, 3, 3, 4+ : S(1) = 4/5, S(3) = 4/5 * (1 - 2/3)
    km = KaplanMeier().fit([1, 2, 3, 3, 4], [1, 0, 1, 1, 0])
    sf = km.survival_function_
    assert sf.loc[1.0, "survival"] == pytest.approx(0.8)
    assert sf.loc[3.0, "survival"] == pytest.approx(0.8 / 3)
    assert sf.loc[3.0, "at_risk"] == 3 and sf.loc[2.0, "censored"] == 1
    assert km.median_ == 3.0
    assert km.survival_function([0.5, 2.5, 10.0]).tolist() == pytest.approx([1.0, 0.8, 0.8 / 3])


def test_matches_lifelines(drug6mp):
    lifelines = pytest.importorskip("lifelines")
    ours = KaplanMeier().fit(drug6mp["t2"], drug6mp["relapse"])
    theirs = lifelines.KaplanMeierFitter().fit(drug6mp["t2"], drug6mp["relapse"])
    times = ours.survival_function_.index.to_numpy()
    theirs_sf = theirs.survival_function_at_times(times)
    np.testing.assert_allclose(ours.survival_function_["survival"], theirs_sf, rtol=1e-12)
    ci = theirs.confidence_interval_.reindex(times)
    np.testing.assert_allclose(ours.survival_function_["ci_lower"], ci.iloc[:, 0], rtol=1e-9)
    np.testing.assert_allclose(ours.survival_function_["ci_upper"], ci.iloc[:, 1], rtol=1e-9)
    assert ours.median_ == theirs.median_survival_time_


def test_bad_input():
    with pytest.raises(ValueError, match="event_observed must hold 0 or 1"):
        KaplanMeier().fit([1.0, 2.0], [1, 5])
    with pytest.raises(ValueError, match="level must be in"):
        KaplanMeier(level=0.0).fit([1.0, 2.0])  # checked in fit, as scikit-learn: the constructor only stores
    with pytest.raises(AttributeError, match="not fitted"):
        KaplanMeier().survival_function([1.0])
