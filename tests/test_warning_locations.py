"""Warnings point at the user's line, not at latentlab's internals."""

import warnings

import numpy as np
import pytest

from latentlab.ecology import CaptureRecapture, compare_models
from latentlab.mixtures import PoissonMixture


def _recorded(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    assert caught, "the call was expected to warn"
    return caught


@pytest.mark.parametrize(
    "call",
    [
        lambda: CaptureRecapture("Mh2", random_state=0).fit(np.eye(5)[[0, 1, 2]]),
        lambda: compare_models(np.eye(5)[[0, 1, 2]], models=("M0", "Mh2"), random_state=0),
        lambda: PoissonMixture(2, max_iter=2, random_state=0).fit(np.arange(40) % 7),
    ],
    ids=["estimator", "function-calling-estimators", "convergence"],
)
def test_every_warning_points_at_the_callers_file(call):
    for w in _recorded(call):
        assert w.filename == __file__, f"{w.category.__name__} points at {w.filename}:{w.lineno}: {w.message}"
