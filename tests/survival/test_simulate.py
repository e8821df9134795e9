"""simulate_censored_exponential: the observations hold the truth, the knobs work."""

import numpy as np
import pytest

from latentlab.survival import simulate_censored_exponential


def test_observations_bracket_the_truth():
    sim = simulate_censored_exponential(2000, 0.3, study_end=5.0, dropout_rate=0.1, visit_interval=0.5,
                                        cure_fraction=0.2, random_state=0)
    seen = sim["event"] == 1
    t = sim["true_time"]
    assert np.all((sim["lower"][seen] < t[seen]) & (t[seen] <= sim["upper"][seen]))
    assert np.all(t[~seen] > sim["lower"][~seen]) and np.all(np.isinf(sim["upper"][~seen]))
    assert np.all(sim["lower"] <= 5.0) and np.all(np.isinf(t[sim["cured"]]))
    # 2000 draws: the cured share has SE 0.009
    assert abs(sim["cured"].mean() - 0.2) < 0.04
    assert np.all(sim["lower"] % 0.5 == 0)


def test_exact_times_and_administrative_end():
    sim = simulate_censored_exponential(500, 1.0, study_end=1.0, random_state=1)
    seen = sim["event"] == 1
    assert np.all(sim["lower"][seen] == sim["true_time"][seen])
    assert np.all(sim["duration"][~seen] == 1.0)
    # P(T <= 1) = 1 - exp(-1) = 0.632; SE with 500 draws 0.022
    assert abs(seen.mean() - (1 - np.exp(-1))) < 0.08


def test_reproducible_and_per_subject_rates():
    a = simulate_censored_exponential(5, [0.1, 0.2, 0.3, 0.4, 0.5], study_end=2.0, random_state=3)
    b = simulate_censored_exponential(5, [0.1, 0.2, 0.3, 0.4, 0.5], study_end=2.0, random_state=3)
    assert a.equals(b)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(n=0, rate=1.0), "n must be a positive integer"),
        (dict(n=3, rate=-1.0), "rate must be positive"),
        (dict(n=3, rate=[1.0, 2.0]), "rate has length 2 but n is 3"),
        (dict(n=3, rate=1.0, study_end=-1.0), "study_end must be a positive"),
        (dict(n=3, rate=1.0, cure_fraction=1.0), "cure_fraction must be in"),
        (dict(n=50, rate=1.0, cure_fraction=0.5), "cured subjects are never censored"),
    ],
)
def test_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        simulate_censored_exponential(**kwargs, random_state=0)
