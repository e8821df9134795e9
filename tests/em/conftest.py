import numpy as np
import pytest

from latentlab.mixtures.poisson import PoissonMixtureModel, PoissonMixtureParams, _Tabulated

#: Hasselblad (1969): days with 0..9 deaths of women aged 80+ in The Times, 1910-1912
DEATHS = np.arange(10.0)
DAYS = np.array([162, 267, 271, 185, 111, 61, 27, 8, 3, 1], dtype=float)


@pytest.fixture
def hasselblad():
    return PoissonMixtureModel(2), _Tabulated(DEATHS, DAYS)


@pytest.fixture
def start():
    return PoissonMixtureParams(np.array([0.5, 0.5]), np.array([1.0, 3.0]))
