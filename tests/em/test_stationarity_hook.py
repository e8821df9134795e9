"""The optional ``EMModel.is_stationary`` test joins the engine's change rule."""

import numpy as np
import pytest

from latentlab import fit_em
from latentlab.mixtures.poisson import PoissonMixtureModel


class _Strict(PoissonMixtureModel):
    """Declares stationarity only once the rates stop moving by 1e-12 between
    E-steps: a first-order test stricter than the change rule."""

    def __init__(self, n_components):
        super().__init__(n_components)
        self.calls, self.last = 0, None

    def is_stationary(self, data, params, stats):
        self.calls += 1
        moved = np.inf if self.last is None else np.max(np.abs(params.rates - self.last))
        self.last = params.rates.copy()
        return moved <= 1e-12


@pytest.mark.parametrize("accelerate", [None, "squarem"])
def test_fit_continues_until_the_model_is_stationary(hasselblad, start, accelerate):
    model, data = hasselblad
    loose = fit_em(model, data, init_params=start, tol=1e-6, accelerate=accelerate)
    strict_model = _Strict(model.n_components)
    strict = fit_em(strict_model, data, init_params=start, tol=1e-6, accelerate=accelerate, max_iter=20000)
    assert strict.converged and strict_model.calls > 0
    assert strict.n_iter > loose.n_iter  # the change rule alone stopped earlier
    assert strict.loglik >= loose.loglik
