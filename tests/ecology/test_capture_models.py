"""The EM for M0, Mt, Mh_K, Mth_K against direct numerical maximisation of an
independently written likelihood (conftest.direct_loglik), closed forms,
simulated truths and the monotonicity of plain EM."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize, minimize_scalar
from scipy.special import digamma, expit, gammaln, softmax

from latentlab import BoundaryWarning, ConvergenceWarning
from latentlab.ecology import CaptureRecapture, as_capture_data, simulate_capture_histories
from latentlab.ecology.capture_models import make_model, optimal_unseen
from latentlab.em import fit_em

from .conftest import direct_loglik, tabulate


def _quiet_fit(model, h, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BoundaryWarning)
        return CaptureRecapture(model, **kw).fit(h)


# --------------------------------------------------------------------------- N-step
@pytest.mark.parametrize("n, p0", [(38, 0.3), (100, 0.05), (5, 0.9), (38, 0.0113)])
def test_optimal_unseen_maximises_the_n_part(n, p0):
    """Against bounded scalar maximisation of lgamma(n+U+1) - lgamma(U+1) + U log P0."""
    u = optimal_unseen(n, np.log(p0))
    res = minimize_scalar(lambda v: -(gammaln(n + v + 1) - gammaln(v + 1) + v * np.log(p0)),
                          bounds=(0, 1e4), method="bounded", options={"xatol": 1e-10})
    assert u == pytest.approx(res.x, rel=1e-6, abs=1e-6)
    if u > 0:  # the stationarity condition, digamma(n+U+1) - digamma(U+1) = -log P0
        assert digamma(n + u + 1) - digamma(u + 1) == pytest.approx(-np.log(p0), rel=1e-10)


# --------------------------------------------------------------------------- M0 and Mt
def _direct_homogeneous(h, time_varying):
    """Maximise the direct likelihood over N by bounded scalar search, with the
    binomial MLE of p given N inside (p = C/(N T) for M0, p_t = n_t/N for Mt)."""
    h = np.asarray(h)
    n, T = h.shape
    H, f = tabulate(h)

    def profile(N):
        p = h.sum(axis=0) / N if time_varying else np.full(T, h.sum() / (N * T))
        return direct_loglik(H, N, np.ones(1), p[None, :], f)

    res = minimize_scalar(lambda N: -profile(N), bounds=(n, 50 * n), method="bounded", options={"xatol": 1e-10})
    return res.x, -res.fun


def _joint_direct(h, time_varying, starts=3, seed=0):
    """Direct joint maximisation over (log U, logit p) by BFGS from several starts."""
    n, T = np.shape(h)
    H, f = tabulate(h)
    rng = np.random.default_rng(seed)

    def nll(x):
        p = expit(x[1:]) if time_varying else np.full(T, expit(x[1]))
        return -direct_loglik(H, n + np.exp(x[0]), np.ones(1), p[None, :], f)

    size = 1 + (T if time_varying else 1)
    best = min((minimize(nll, rng.normal(0, 1, size), method="BFGS", options={"gtol": 1e-9}) for _ in range(starts)),
               key=lambda r: r.fun)
    return n + np.exp(best.x[0]), -best.fun


@pytest.mark.parametrize("model", ["M0", "Mt"])
@pytest.mark.parametrize("seed", [0, 1])
def test_m0_mt_em_equals_direct_maximisation_on_simulations(model, seed):
    p = 0.25 if model == "M0" else np.array([0.15, 0.3, 0.2, 0.35, 0.1])
    h, _ = simulate_capture_histories(400, 5, [(1.0, p)], random_state=seed)
    fit = CaptureRecapture(model, tol=1e-14).fit(h)
    N_direct, ll_direct = _direct_homogeneous(h, model == "Mt")
    assert fit.N_ == pytest.approx(N_direct, rel=1e-6)
    assert fit.loglik_ == pytest.approx(ll_direct, abs=1e-6)
    assert fit.loglik_ == pytest.approx(direct_loglik(h, fit.N_, fit.weights_, fit.p_), abs=1e-9)
    N_joint, ll_joint = _joint_direct(h, model == "Mt")
    assert fit.loglik_ >= ll_joint - 1e-6 and fit.N_ == pytest.approx(N_joint, rel=1e-4)


@pytest.mark.parametrize("model", ["M0", "Mt"])
def test_m0_mt_em_equals_direct_maximisation_on_deer_mice(model, deermice):
    with pytest.warns(BoundaryWarning, match="n_unseen on the boundary"):
        fit = CaptureRecapture(model, tol=1e-14).fit(deermice)
    N_direct, ll_direct = _direct_homogeneous(deermice, model == "Mt")
    # both put N at the number caught (38): the continuous-N likelihood falls from U = 0
    assert fit.N_ == pytest.approx(N_direct, rel=1e-6)
    assert fit.loglik_ == pytest.approx(ll_direct, abs=1e-6)


def test_mt_p_given_n_is_the_closed_form_and_matches_occasion_counts():
    """At the MLE p_t = n_t / N (Otis et al. 1978, model Mt), so the expected
    count caught on each occasion equals the observed one exactly."""
    h, _ = simulate_capture_histories(300, 4, [(1.0, [0.2, 0.4, 0.3, 0.25])], random_state=3)
    fit = CaptureRecapture("Mt", tol=1e-14).fit(h)
    # the last CM-step set p_t = n_t / N from the previous N; at tol=1e-14 successive N agree to ~1e-9
    np.testing.assert_allclose(fit.p_[0], h.sum(axis=0) / fit.N_, rtol=1e-7)
    freq = fit.expected_frequencies("occasion")
    np.testing.assert_allclose(freq["expected"], freq["observed"], rtol=1e-7)


# --------------------------------------------------------------------------- mixtures
def _direct_mixture(h, K, time_effects, starts, seed):
    """Best of ``starts`` BFGS runs on the direct likelihood over (log U,
    weight logits, logit p_k) for Mh_K or (log U, weight logits, class effects,
    occasion effects) for Mth_K, the best polished by Nelder-Mead."""
    n, T = np.shape(h)
    H, f = tabulate(h)
    rng = np.random.default_rng(seed)

    def unpack(x):
        w = softmax(np.concatenate([[0.0], x[1:K]]))
        if time_effects:
            eta = np.concatenate([[0.0], x[K:2 * K - 1]])
            P = expit(eta[:, None] + x[2 * K - 1:][None, :])
        else:
            P = np.repeat(expit(x[K:2 * K])[:, None], T, axis=1)
        return n + np.exp(x[0]), w, P

    def nll(x):
        with np.errstate(all="ignore"):
            v = -direct_loglik(H, *unpack(x), f)
        return v if np.isfinite(v) else 1e10

    size = 2 * K - 1 + (T if time_effects else 1)
    runs = []
    for _ in range(starts):
        x0 = np.concatenate([[np.log(n) + rng.normal(0, 1)], rng.normal(0, 2, size - 1)])
        runs.append(minimize(nll, x0, method="BFGS", options={"gtol": 1e-8, "maxiter": 5000}))
    best = min(runs, key=lambda r: r.fun)
    polished = minimize(nll, best.x, method="Nelder-Mead",
                        options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000, "maxfev": 40000})
    return -min(best.fun, polished.fun)


@pytest.mark.parametrize("model, K", [("Mh2", 2), ("Mh3", 3)])
def test_mixture_best_em_loglik_equals_direct_optimiser_on_deer_mice(model, K, deermice):
    fit = _quiet_fit(model, deermice, n_init=10, tol=1e-13, random_state=0, profile=False)
    ll_direct = _direct_mixture(deermice, K, False, starts=10, seed=1)
    assert fit.loglik_ == pytest.approx(ll_direct, abs=1e-6)


@pytest.mark.parametrize("model, K", [("Mh2", 2), ("Mh3", 3)])
def test_mixture_best_em_loglik_equals_direct_optimiser_on_simulation(model, K):
    h, _ = simulate_capture_histories(300, 6, [(0.4, 0.5), (0.6, 0.15)], random_state=11)
    fit = _quiet_fit(model, h, n_init=10, tol=1e-13, random_state=0, profile=False)
    ll_direct = _direct_mixture(h, K, False, starts=10, seed=2)
    assert fit.loglik_ == pytest.approx(ll_direct, abs=1e-6)
    assert fit.loglik_ == pytest.approx(direct_loglik(h, fit.N_, fit.weights_, fit.p_), abs=1e-9)


def test_mth2_em_loglik_equals_direct_optimiser_on_deer_mice(deermice):
    fit = _quiet_fit("Mth2", deermice, n_init=10, tol=1e-13, random_state=0, profile=False)
    ll_direct = _direct_mixture(deermice, 2, True, starts=6, seed=3)
    assert fit.loglik_ == pytest.approx(ll_direct, abs=1e-6)


# --------------------------------------------------------------------------- recovery
def test_m0_and_mt_recover_a_simulated_truth():
    # N = 3000, p = 0.25, T = 5: P0 = 0.237, sd(N_hat) ~ sqrt(N P0 / (1 - P0)) * ~1.5 ~ 46, so 5% = 150 is > 3 sd
    h, _ = simulate_capture_histories(3000, 5, [(1.0, 0.25)], random_state=5)
    fit = CaptureRecapture("M0").fit(h)
    assert fit.N_ == pytest.approx(3000, rel=0.05) and fit.p_[0, 0] == pytest.approx(0.25, abs=0.02)
    assert fit.N_interval_[0] < fit.N_ < fit.N_interval_[1]  # coverage of the truth: the slow replicate study
    p = np.array([0.15, 0.3, 0.2, 0.35, 0.25])
    h, _ = simulate_capture_histories(3000, 5, [(1.0, p)], random_state=6)
    fit = CaptureRecapture("Mt").fit(h)
    assert fit.N_ == pytest.approx(3000, rel=0.05)
    np.testing.assert_allclose(fit.p_[0], p, atol=0.03)  # sd(p_t) ~ sqrt(p(1-p)/N) ~ 0.009


def test_mh2_recovers_a_simulated_truth():
    # N = 5000, T = 8, classes (0.4, p = 0.5), (0.6, p = 0.15): P0 = 0.165; heterogeneity inflates
    # sd(N_hat) to a few per cent, so 10% on N, 0.1 on weights and 0.05 on p are > 3 sd
    h, _ = simulate_capture_histories(5000, 8, [(0.4, 0.5), (0.6, 0.15)], random_state=7)
    fit = CaptureRecapture("Mh2", random_state=0).fit(h)
    assert fit.N_ == pytest.approx(5000, rel=0.10)
    np.testing.assert_allclose(fit.weights_, [0.6, 0.4], atol=0.1)
    np.testing.assert_allclose(fit.p_[:, 0], [0.15, 0.5], atol=0.05)
    table = fit.summary().set_index("parameter")
    assert np.all(np.isfinite(table["std_error"]))
    assert table.loc["N", "ci_lower"] < fit.N_ < table.loc["N", "ci_upper"]


def test_mth2_recovers_a_simulated_truth():
    # N = 4000, T = 6, logit p_kt = tau_t + eta_k; same accuracy argument as Mh2
    tau = np.array([-1.5, -1.0, -2.0, -1.2, -0.8, -1.6])
    classes = [(0.6, expit(tau)), (0.4, expit(tau + 2.0))]
    h, _ = simulate_capture_histories(4000, 6, classes, random_state=8)
    fit = CaptureRecapture("Mth2", n_init=3, random_state=0).fit(h)
    assert fit.N_ == pytest.approx(4000, rel=0.10)
    np.testing.assert_allclose(fit.weights_, [0.6, 0.4], atol=0.1)
    np.testing.assert_allclose(fit.p_, np.array([c[1] for c in classes]), atol=0.07)


# --------------------------------------------------------------------------- monotone EM
@settings(max_examples=12, deadline=None)
@given(
    model=st.sampled_from(["M0", "Mt", "Mh2", "Mh3", "Mth2"]),
    seed=st.integers(0, 10_000),
    p_low=st.floats(0.05, 0.4),
    p_high=st.floats(0.4, 0.9),
)
def test_plain_em_never_decreases_the_loglik(model, seed, p_low, p_high):
    h, _ = simulate_capture_histories(150, 5, [(0.5, p_low), (0.5, p_high)], random_state=seed)
    data = as_capture_data(h)
    with warnings.catch_warnings():  # a short run: max_iter is the point, not convergence
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = fit_em(make_model(model, 5), data, max_iter=100, random_state=seed, tol=1e-12)
    steps = np.diff(result.trace)
    assert np.all(steps >= -1e-10 * (1 + np.abs(result.trace[1:])))
