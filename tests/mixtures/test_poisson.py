import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.special import gammaln

from latentlab import fit_em
from latentlab.mixtures import PoissonMixture, simulate_poisson_mixture
from latentlab.mixtures.poisson import PoissonMixtureModel, _Tabulated

DEATHS = np.arange(10)
DAYS = np.array([162, 267, 271, 185, 111, 61, 27, 8, 3, 1])


def hasselblad_fit(accelerate=None, tol=1e-14):
    return PoissonMixture(
        2, weights_init=[0.5, 0.5], rates_init=[1.0, 3.0], tol=tol, max_iter=50_000, accelerate=accelerate
    ).fit(DEATHS, weights=DAYS)


def test_hasselblad_mle_plain_em_is_slow():
    fit = hasselblad_fit()
    # the MLE reported by Varadhan & Roland (2008), to 4 decimals
    assert round(fit.weights_[0], 4) == 0.3599
    np.testing.assert_array_equal(np.round(fit.rates_, 4), [1.2561, 2.6634])
    assert fit.result_.n_evals > 2000


def test_hasselblad_squarem_same_optimum_in_a_tenth_of_the_evaluations():
    plain, fast = hasselblad_fit(), hasselblad_fit("squarem")
    assert abs(fast.loglik_ - plain.loglik_) < 1e-6
    assert fast.result_.n_evals <= plain.result_.n_evals / 10
    np.testing.assert_allclose(fast.rates_, plain.rates_, atol=1e-4)


def analytic_information(x, w, pi, l1, l2):
    """Minus the Hessian of sum_j w_j log(pi f1 + (1 - pi) f2) in (pi, l1, l2),
    written out by hand (independent of the engine's numerical route)."""
    f1 = np.exp(x * np.log(l1) - l1 - gammaln(x + 1))
    f2 = np.exp(x * np.log(l2) - l2 - gammaln(x + 1))
    g = pi * f1 + (1 - pi) * f2
    a1, a2 = x / l1 - 1, x / l2 - 1
    grad = np.stack([f1 - f2, pi * f1 * a1, (1 - pi) * f2 * a2])
    hess = np.zeros((3, 3, x.size))
    hess[0, 1] = hess[1, 0] = f1 * a1
    hess[0, 2] = hess[2, 0] = -f2 * a2
    hess[1, 1] = pi * f1 * (a1**2 - x / l1**2)
    hess[2, 2] = (1 - pi) * f2 * (a2**2 - x / l2**2)
    H = hess / g - np.einsum("in,jn->ijn", grad, grad) / g**2
    return -(H * w).sum(axis=2)


def test_hasselblad_standard_errors_match_the_analytic_information():
    fit = hasselblad_fit("squarem")
    info = analytic_information(DEATHS.astype(float), DAYS, fit.weights_[0], *fit.rates_)
    se_exact = np.sqrt(np.diag(np.linalg.inv(info)))
    table = fit.summary().set_index("parameter")
    se = table.loc[["weight[0]", "rate[0]", "rate[1]"], "std_error"].to_numpy()
    # the issue asks for 2 significant figures; the numerical Hessian does far better
    np.testing.assert_allclose(se, se_exact, rtol=1e-3)
    assert table.loc["weight[1]", "std_error"] == pytest.approx(se_exact[0], rel=1e-3)
    assert (table.ci_lower < table.estimate).all() and (table.estimate < table.ci_upper).all()
    assert table.loc["weight[0]", "ci_lower"] > 0 and table.loc["weight[0]", "ci_upper"] < 1


def test_one_component_is_the_closed_form():
    rng = np.random.default_rng(0)
    x = rng.poisson(3.3, size=400)
    fit = PoissonMixture(1, tol=1e-12).fit(x)
    assert fit.rates_[0] == pytest.approx(x.mean(), rel=1e-12)
    assert fit.summary().std_error[1] == pytest.approx(np.sqrt(x.mean() / x.size), rel=1e-6)
    loglik = np.sum(x * np.log(x.mean()) - x.mean() - gammaln(x + 1))
    assert fit.loglik_ == pytest.approx(loglik, rel=1e-12)


def test_raw_counts_and_weighted_values_give_the_same_fit():
    raw = np.repeat(DEATHS, DAYS)
    a = PoissonMixture(2, weights_init=[0.5, 0.5], rates_init=[1.0, 3.0], tol=1e-12).fit(raw)
    b = PoissonMixture(2, weights_init=[0.5, 0.5], rates_init=[1.0, 3.0], tol=1e-12).fit(DEATHS, weights=DAYS)
    np.testing.assert_allclose(a.rates_, b.rates_, rtol=1e-12)
    assert a.loglik_ == pytest.approx(b.loglik_, rel=1e-12)
    assert a.n_obs_ == b.n_obs_ == 1096


def test_recovers_a_simulated_truth():
    # n = 20,000: the SE of each rate is below 0.05, so 0.1 is a tolerance of > 2 SE
    counts, _ = simulate_poisson_mixture(20_000, [0.3, 0.5, 0.2], [1.0, 5.0, 12.0], random_state=11)
    fit = PoissonMixture(3, n_init=5, accelerate="squarem", random_state=1).fit(counts)
    np.testing.assert_allclose(fit.rates_, [1.0, 5.0, 12.0], atol=0.15)
    np.testing.assert_allclose(fit.weights_, [0.3, 0.5, 0.2], atol=0.02)
    se = fit.summary().std_error.to_numpy()
    assert np.all(np.abs(np.r_[fit.weights_, fit.rates_] - [0.3, 0.5, 0.2, 1.0, 5.0, 12.0]) < 4 * se)


def test_estimator_outputs():
    fit = hasselblad_fit("squarem", tol=1e-10)
    proba = fit.predict_proba(DEATHS)
    assert proba.shape == (10, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.all(np.diff(proba[:, 1]) > 0)  # larger counts lean to the high-rate component
    np.testing.assert_array_equal(fit.predict([0, 9]), [0, 1])
    assert fit.n_parameters_ == 3
    assert fit.aic() == pytest.approx(-2 * fit.loglik_ + 6)
    assert fit.bic() == pytest.approx(-2 * fit.loglik_ + 3 * np.log(1096))
    table = fit.expected_frequencies()
    assert table.expected.sum() == pytest.approx(1096 * np.exp(fit.score_samples(DEATHS)).sum())
    counts, comp = fit.sample(50, random_state=0)
    assert counts.shape == comp.shape == (50,)
    assert list(fit.summary().columns) == ["parameter", "estimate", "std_error", "ci_lower", "ci_upper"]


def test_components_are_ordered_by_rate():
    fit = PoissonMixture(2, weights_init=[0.5, 0.5], rates_init=[3.0, 1.0], tol=1e-10).fit(DEATHS, weights=DAYS)
    assert fit.rates_[0] < fit.rates_[1]
    assert fit.weights_[0] == pytest.approx(0.36, abs=0.01)


@pytest.mark.parametrize(
    "counts, weights, k, match",
    [
        ([1, -2, 3], None, 1, "negative"),
        ([1, 2.5, 3], None, 1, "non-integer"),
        ([1, np.nan, 3], None, 1, "non-finite"),
        ([], None, 1, "empty"),
        ([1, 2, 3], None, 0, "at least 1"),
        ([1, 1, 2], None, 3, "more than the 2 distinct values"),
        ([1, 2, 3], [1, 2], 1, "length 2"),
        ([1, 2, 3], [1, -1, 2], 1, "non-negative"),
    ],
)
def test_bad_input(counts, weights, k, match):
    with pytest.raises(ValueError, match=match):
        PoissonMixture(k).fit(counts, weights=weights)


def test_bad_initial_values():
    with pytest.raises(ValueError, match="weights_init"):
        PoissonMixture(2, weights_init=[0.7, 0.7], rates_init=[1, 2]).fit(DEATHS, weights=DAYS)
    with pytest.raises(ValueError, match="rates_init"):
        PoissonMixture(2, weights_init=[0.5, 0.5], rates_init=[1, -2]).fit(DEATHS, weights=DAYS)


def test_unfitted_estimator_says_so():
    with pytest.raises(AttributeError, match="not fitted"):
        PoissonMixture(2).predict([1, 2])


any_mixture = st.integers(1, 3).flatmap(
    lambda k: st.tuples(
        st.lists(st.floats(0.1, 1.0), min_size=k, max_size=k),
        st.lists(st.floats(0.2, 15.0), min_size=k, max_size=k),
        st.integers(30, 400),
        st.integers(0, 2**31 - 1),
    )
)

# identifiable mixtures: each rate at least four times the one below, the lowest at least 1, weights not tiny
# (with ratios of 2 from a rate of 0.4, 100 counts could not tell three components apart: both fits ended with
# a rate at 0, at different points)
separated_mixture = st.integers(1, 3).flatmap(
    lambda k: st.tuples(
        st.lists(st.floats(0.3, 1.0), min_size=k, max_size=k),
        st.tuples(st.floats(1.0, 3.0), st.lists(st.floats(4.0, 6.0), min_size=k - 1, max_size=k - 1)).map(
            lambda t: list(t[0] * np.cumprod([1.0, *t[1]]))
        ),
        st.integers(100, 400),
        st.integers(0, 2**31 - 1),
    )
)


def _case(raw_w, rates, n, seed):
    w = np.asarray(raw_w) / np.sum(raw_w)
    counts, _ = simulate_poisson_mixture(n, w, rates, random_state=seed)
    values, freq = np.unique(counts, return_counts=True)
    data = _Tabulated(values.astype(float), freq.astype(float))
    model = PoissonMixtureModel(min(len(rates), values.size))
    return model, data, model.initialize(data, np.random.default_rng(seed + 1))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_mixture)
def test_plain_trace_never_decreases(case):
    model, data, start = _case(*case)
    res = fit_em(model, data, init_params=start, tol=1e-8, max_iter=3000)  # the guard raises on a drop
    assert np.all(np.diff(res.trace) >= -1e-10 * (1 + np.abs(res.trace[1:])))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(separated_mixture)
def test_squarem_ends_no_lower_than_plain_em(case):
    """On mixtures the data can identify. (With more components than the data
    support, two components can coincide at a saddle of the likelihood; an
    extrapolation can land near it and stop there, as plain EM sometimes does
    too: restarts with n_init are the remedy, see docs/engine.md.)"""
    model, data, start = _case(*case)
    plain = fit_em(model, data, init_params=start, tol=1e-12, max_iter=50_000)
    fast = fit_em(model, data, init_params=start, tol=1e-12, max_iter=50_000, accelerate="squarem")
    assert fast.loglik >= plain.loglik - 1e-6


@pytest.mark.slow  # a replicate study: 400 fits
def test_rate_intervals_cover_at_the_nominal_rate():
    # 400 replicates: the binomial SD of a 95% coverage estimate is 0.011, so
    # [0.92, 0.98] is about +/- 2.7 SD around 0.95.
    truth_w, truth_r = np.array([0.4, 0.6]), np.array([2.0, 7.0])
    hits = np.zeros(2)
    reps = 400
    for rep in range(reps):
        counts, _ = simulate_poisson_mixture(800, truth_w, truth_r, random_state=1000 + rep)
        fit = PoissonMixture(2, accelerate="squarem", n_init=3, random_state=rep).fit(counts)
        table = fit.summary()
        lo, hi = table.ci_lower.to_numpy()[2:], table.ci_upper.to_numpy()[2:]
        hits += (lo <= truth_r) & (truth_r <= hi)
    coverage = hits / reps
    assert np.all((coverage >= 0.92) & (coverage <= 0.98)), coverage
