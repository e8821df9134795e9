"""Every survival model keeps the engine's contract (latentlab.em.testing.check_model)."""

import numpy as np
import pandas as pd

from latentlab.em.testing import check_model
from latentlab.survival import CensoredExponential, ExponentialCureModel, Turnbull, simulate_censored_exponential
from latentlab.survival import _censoring as cens
from latentlab.survival.turnbull import _Data

SIM = simulate_censored_exponential(400, 0.4, study_end=5.0, visit_interval=0.8, cure_fraction=0.25, random_state=0)


def _halves(data: cens.Intervals):
    h = data.n // 2
    return [cens.Intervals(data.lower[:h], data.upper[:h]), cens.Intervals(data.lower[h:], data.upper[h:])]


def test_cure_model():
    data = cens.from_bounds(SIM["lower"], SIM["upper"])
    check_model(ExponentialCureModel(), data, parts=_halves(data))


def test_exponential_regression():
    """No ``parts``: the regression's statistics are one expected lifetime per
    subject (see ExponentialModel's _Stats), and the model holds the design of
    all subjects."""
    rng = np.random.default_rng(1)
    x = pd.DataFrame({"dose": rng.normal(size=SIM.shape[0])})
    fit = CensoredExponential().fit_interval_censoring(SIM["lower"], SIM["upper"], covariates=x)
    check_model(fit.model_, fit._data)


def test_turnbull():
    fit = Turnbull().fit(SIM["lower"], SIM["upper"])
    data = fit._data  # distinct observations (rows of alpha) over the intervals of all of them
    h = data.weights.size // 2
    parts = [_Data(data.alpha[:h], data.weights[:h]), _Data(data.alpha[h:], data.weights[h:])]
    check_model(fit.model_, data, parts=parts)
