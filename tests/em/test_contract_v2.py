"""Contract v2: m_step(stats, current, fixed), one fixed-parameter mechanism,
canonical(), a frozen EMResult, statistics that add, tol=0, and check_model."""

import dataclasses
import warnings

import numpy as np
import pytest

from latentlab.em import Stats, fit_em
from latentlab.em.inference import covariance
from latentlab.em.testing import check_model
from latentlab.mixtures.poisson import PoissonMixtureModel, PoissonMixtureParams, _Tabulated

DEATHS = np.arange(10.0)
DAYS = np.array([162, 267, 271, 185, 111, 61, 27, 8, 3, 1], dtype=float)


def test_tol_zero_runs_exactly_max_iter_without_warning(hasselblad, start):
    model, data = hasselblad
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = fit_em(model, data, init_params=start, tol=0, max_iter=37)
    assert res.n_iter == 37 and not res.converged and res.trace.size == 38


def test_fixed_entries_stay_at_their_start_and_get_no_standard_error(hasselblad, start):
    model, data = hasselblad
    fixed = PoissonMixtureParams(np.array([False, False]), np.array([True, False]))
    res = fit_em(model, data, init_params=start, fixed=fixed, tol=1e-12, max_iter=5000, accelerate="squarem")
    assert res.params.rates[0] == start.rates[0]
    # the free rate is the conditional MLE: the score in it is zero
    free = model.loglik(data, res.params)
    bumped = dataclasses.replace(res.params, rates=res.params.rates + np.array([0.0, 1e-5]))
    assert model.loglik(data, bumped) <= free + 1e-9
    cov = covariance(model, data, res.params, fixed=res.fixed)
    assert np.isnan(cov[2, 2]) and np.isfinite(cov[3, 3]) and np.isfinite(cov[0, 0])
    assert model.space.n_parameters(res.params, res.fixed) == 2


def test_fixed_mask_is_checked(hasselblad, start):
    model, data = hasselblad
    with pytest.raises(ValueError, match="fixed.rates"):
        fit_em(model, data, init_params=start, fixed=PoissonMixtureParams(np.array([False, False]), np.array([1, 0])))
    with pytest.raises(TypeError, match="fixed"):
        fit_em(model, data, init_params=start, fixed={"rates": [True, False]})


def test_canonical_is_applied_by_the_engine(hasselblad):
    model, data = hasselblad
    backwards = PoissonMixtureParams(np.array([0.6, 0.4]), np.array([3.0, 1.0]))
    res = fit_em(model, data, init_params=backwards, tol=1e-10)
    assert np.all(np.diff(res.params.rates) > 0)


def test_result_is_frozen(hasselblad, start):
    model, data = hasselblad
    res = fit_em(model, data, init_params=start)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.params = start


def test_fit_em_refuses_a_non_model(hasselblad):
    _, data = hasselblad
    with pytest.raises(TypeError, match="model must be an EMModel"):
        fit_em(None, data)


def test_statistics_add(hasselblad, start):
    model, _ = hasselblad
    a, b = _Tabulated(DEATHS[:5], DAYS[:5]), _Tabulated(DEATHS[5:], DAYS[5:])
    whole, _ = model.e_step(_Tabulated(DEATHS, DAYS), start)
    total = sum([model.e_step(a, start)[0], model.e_step(b, start)[0]])
    np.testing.assert_allclose(total.mass, whole.mass, rtol=1e-12)
    np.testing.assert_allclose(total.total, whole.total, rtol=1e-12)


def test_check_model_passes_on_the_poisson_mixture(hasselblad):
    model, data = hasselblad
    check_model(model, data, parts=[_Tabulated(DEATHS[:4], DAYS[:4]), _Tabulated(DEATHS[4:], DAYS[4:])])


# -- check_model catches each kind of broken model -------------------------------------------------
class _WrongLoglik(PoissonMixtureModel):
    def loglik(self, data, params):
        return super().loglik(data, params) + 1e-3


@dataclasses.dataclass(frozen=True)
class _MeanStats(Stats):
    mass: np.ndarray
    mean: np.ndarray  # a mean does not add


class _NotAdditive(PoissonMixtureModel):
    def e_step(self, data, params):
        s, ll = super().e_step(data, params)
        return _MeanStats(s.mass, s.total / s.mass), ll

    def m_step(self, stats, current, fixed=None):
        return PoissonMixtureParams(stats.mass / stats.mass.sum(), stats.mean)


class _Falling(PoissonMixtureModel):
    def m_step(self, stats, current, fixed=None):
        p = super().m_step(stats, current, fixed)
        return dataclasses.replace(p, rates=p.rates * 1.3)


class _PlainStats(PoissonMixtureModel):
    def e_step(self, data, params):
        s, ll = super().e_step(data, params)
        return (s.mass, s.total), ll


@pytest.mark.parametrize(
    "cls, match",
    [
        (_WrongLoglik, "loglik"),
        (_NotAdditive, "do not add up"),
        (_Falling, "lowered"),
        (_PlainStats, "not a latentlab.em.Stats"),
    ],
)
def test_check_model_catches(hasselblad, cls, match):
    _, data = hasselblad
    parts = [_Tabulated(DEATHS[:4], DAYS[:4]), _Tabulated(DEATHS[4:], DAYS[4:])]
    with pytest.raises(AssertionError, match=match):
        check_model(cls(2), data, parts=parts)


# -- the guard judges round-off against the sum the log-likelihood came from ------------------------
class _LargeTerms(PoissonMixtureModel):
    """A log-likelihood near -12 summed from terms of size 1e4 (as a capture
    model's log-factorials of the population size)."""

    def loglik_magnitude(self, data, params, loglik):
        return 1e4


def test_guard_allows_roundoff_of_large_terms_but_not_a_real_drop(hasselblad, start):
    _, data = hasselblad
    from latentlab.em.engine import guard_fails

    ll = -12.47
    assert guard_fails(PoissonMixtureModel(2), data, ll, ll - 1.4e-9, start, start)
    assert not guard_fails(_LargeTerms(2), data, ll, ll - 1.4e-9, start, start)
    assert guard_fails(_LargeTerms(2), data, ll, ll - 1e-4, start, start)
