"""Every closed-population capture model keeps the engine's contract
(latentlab.em.testing.check_model). No ``parts``: the ``U`` animals never
caught belong to no subset of the caught ones, and the likelihood's
multinomial coefficient couples all animals, so these statistics do not split
over animals (see capture_models._Stats)."""

import pytest

from latentlab.ecology import CaptureRecapture, simulate_capture_histories
from latentlab.em.testing import check_model


@pytest.mark.parametrize("name", ["M0", "Mt", "Mh2", "Mh3", "Mth2"])
def test_capture_model(name):
    histories, _ = simulate_capture_histories(300, 6, [(0.6, 0.2), (0.4, 0.6)], random_state=4)
    fit = CaptureRecapture(name, profile=False, random_state=0).fit(histories)
    check_model(fit.model_, fit._data, covariance_rtol=None)
