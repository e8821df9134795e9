import dataclasses

import numpy as np
import pytest

from latentlab import ConvergenceWarning, MonotonicityError, NumericalError, fit_em
from latentlab.em import restart_generators
from latentlab.mixtures.poisson import PoissonMixtureModel, PoissonMixtureParams


def test_convergence_rule_holds_at_the_end(hasselblad, start):
    model, data = hasselblad
    tol = 1e-10
    seen = []
    res = fit_em(model, data, init_params=start, tol=tol, max_iter=5000,
                 callback=lambda it, p, ll: seen.append(model.space.flatten(p)))
    assert res.converged
    x = np.vstack([model.space.flatten(start), *seen])
    steps = np.linalg.norm(np.diff(x, axis=0), axis=1)
    gains = np.diff(res.trace)
    rate = (steps[1:] / steps[:-1]) ** 2
    remaining = gains[1:] / (1 - rate)  # Aitken: this gain plus those still to come
    scale = tol * (1 + np.abs(res.trace[2:]))
    assert np.all(rate < 1)
    assert remaining[-1] <= scale[-1]
    assert np.all(remaining[:-1] > scale[:-1])  # it stopped at the first step that met the rule
    assert res.n_iter == len(res.trace) - 1
    assert res.n_evals == res.trace_evals[-1] == res.n_iter + 1


def test_the_rule_is_honest_about_the_distance_to_the_optimum(hasselblad, start):
    # plain EM crawls on these data (rate ~ 0.997); a rule on the last gain
    # alone would stop far from the optimum, this one stops within tol
    model, data = hasselblad
    optimum = fit_em(model, data, init_params=start, tol=1e-15, max_iter=100_000, accelerate="squarem").loglik
    for tol in (1e-6, 1e-8, 1e-10):
        res = fit_em(model, data, init_params=start, tol=tol, max_iter=100_000)
        assert optimum - res.loglik <= 2 * tol * (1 + abs(optimum))
        fast = fit_em(model, data, init_params=start, tol=tol, max_iter=100_000, accelerate="squarem")
        assert optimum - fast.loglik <= 2 * tol * (1 + abs(optimum))


def test_rate_and_rule_functions():
    from latentlab.em import em_rate, has_converged

    np.testing.assert_allclose(em_rate([0.5, 1.0, 0.0], [1.0, np.inf, 0.0]), [0.25, 0.0, 0.0])
    assert em_rate(1.0, 0.0) == np.inf
    assert has_converged(1e-9, -100.0, 1e-10, rate=0.0) == (1e-9 <= 1e-10 * 101)
    assert not has_converged(1e-9, -100.0, 1e-10, rate=0.99)  # 1e-7 still to come
    assert has_converged(1e-9, -100.0, 1e-8, rate=0.5)
    assert not has_converged(1e-9, -100.0, 1e-6, rate=1.5)  # gains growing: not done
    assert has_converged(1e-14, -100.0, 1e-10, rate=1.5)  # round-off level


def test_max_iter_warns(hasselblad, start):
    model, data = hasselblad
    with pytest.warns(ConvergenceWarning, match="max_iter=5"):
        res = fit_em(model, data, init_params=start, max_iter=5)
    assert not res.converged and res.n_iter == 5


class _BrokenPoisson(PoissonMixtureModel):
    """An M-step that overshoots the rates: EM with it must be caught."""

    def m_step(self, stats, current, fixed=None):
        p = super().m_step(stats, current, fixed)
        return dataclasses.replace(p, rates=p.rates * 1.3)


def test_guard_catches_a_wrong_m_step(hasselblad, start):
    _, data = hasselblad
    with pytest.raises(MonotonicityError, match=r"_BrokenPoisson.*iteration \d+"):
        fit_em(_BrokenPoisson(2), data, init_params=start, max_iter=200)


class _NaNPoisson(PoissonMixtureModel):
    def m_step(self, stats, current, fixed=None):
        p = super().m_step(stats, current, fixed)
        return dataclasses.replace(p, rates=p.rates * np.nan)


def test_invalid_m_step_raises_not_nan(hasselblad, start):
    _, data = hasselblad
    with pytest.raises(NumericalError, match="outside their space"):
        fit_em(_NaNPoisson(2), data, init_params=start)


def test_restarts_are_seeded_independent_and_best_is_kept(hasselblad):
    model, data = hasselblad
    a = fit_em(model, data, n_init=4, random_state=7, tol=1e-10)
    b = fit_em(model, data, n_init=4, random_state=7, tol=1e-10)
    np.testing.assert_array_equal(a.restart_logliks, b.restart_logliks)
    assert a.restart_logliks.size == 4
    assert a.loglik == a.restart_logliks.max() == a.restart_logliks[a.best_restart]
    starts = [model.initialize(data, g) for g in restart_generators(7, 4)]
    assert len({tuple(s.rates) for s in starts}) == 4


def test_squarem_reaches_the_plain_optimum_with_fewer_evaluations(hasselblad, start):
    model, data = hasselblad
    plain = fit_em(model, data, init_params=start, tol=1e-14, max_iter=20000)
    fast = fit_em(model, data, init_params=start, tol=1e-14, max_iter=20000, accelerate="squarem")
    assert fast.loglik >= plain.loglik - 1e-6
    assert fast.n_evals * 10 <= plain.n_evals
    # the safeguard keeps SQUAREM monotone (up to round-off)
    assert np.all(np.diff(fast.trace) >= -1e-12 * (1 + np.abs(fast.trace[1:])))


def test_squarem_keeps_parameters_valid_from_a_poor_start(hasselblad):
    model, data = hasselblad
    seen = []
    start = PoissonMixtureParams(np.array([0.98, 0.02]), np.array([0.05, 9.0]))
    res = fit_em(
        model, data, init_params=start, accelerate="squarem", tol=1e-12,
        callback=lambda it, p, ll: seen.append(model.space.is_valid(p)),
    )
    assert res.converged and all(seen) and len(seen) == res.n_iter


def test_callback_and_progress(hasselblad, start, capsys):
    model, data = hasselblad
    calls = []
    res = fit_em(model, data, init_params=start, max_iter=50, tol=1e-6, progress=True,
                 callback=lambda it, p, ll: calls.append((it, ll)))
    assert [c[0] for c in calls] == list(range(1, res.n_iter + 1))
    np.testing.assert_allclose([c[1] for c in calls], res.trace[1:])
    assert "PoissonMixtureModel" in capsys.readouterr().err


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(tol=-1e-8), "tol"),
        (dict(tol=np.nan), "tol"),
        (dict(tol=np.inf), "tol"),
        (dict(tol=True), "tol"),
        (dict(max_iter=0), "max_iter"),
        (dict(max_iter=True), "max_iter"),
        (dict(max_iter=10.0), "max_iter"),
        (dict(n_init=1.5), "n_init"),
        (dict(n_init=False), "n_init"),
        (dict(accelerate="aitken"), "accelerate"),
        (dict(random_state=-3), "random_state"),
        (dict(random_state=1.5), "random_state"),
        (dict(random_state=True), "random_state"),
        (dict(progress="yes"), "progress"),
    ],
)
def test_bad_settings(hasselblad, kwargs, match):
    model, data = hasselblad
    with pytest.raises((ValueError, TypeError), match=match):
        fit_em(model, data, **kwargs)


def test_bad_random_state(hasselblad):
    model, data = hasselblad
    with pytest.raises(TypeError, match="random_state"):
        fit_em(model, data, random_state="seed")


def test_plot_trace(hasselblad, start):
    model, data = hasselblad
    res = fit_em(model, data, init_params=start, tol=1e-10)
    ax = res.plot_trace(optimum=res.loglik + 1e-9)
    assert ax.get_xlabel() == "E-step evaluations"


def test_progress_bar_counts_restarts_and_ends_full(capsys):
    from latentlab.em.progress import Progress

    bar = Progress("model", n_init=2, tol=1e-8, max_iter=1000, show=True)
    bar.start(0)
    bar.update(1, -100.0, 1.0)  # first change 1; threshold 1e-8 x 101
    assert bar.bar.n == 0.001  # only the share of max_iter so far
    bar.update(2, -100.0, 1e-3)  # 3 of the ~8 decades to the threshold
    assert bar.bar.n == pytest.approx(np.log(1e3) / np.log(1 / 1.01e-6))
    bar.update(3, -100.0, 1e-2)  # a larger change never moves the bar back
    assert bar.bar.n == pytest.approx(np.log(1e3) / np.log(1 / 1.01e-6))
    bar.finish()
    bar.start(1)
    bar.update(1, -100.0, 0.5)
    bar.finish()
    assert bar.bar.n == 2 == bar.bar.total
    bar.close()
    assert "model" in capsys.readouterr().err


def test_progress_none_stays_quiet_outside_a_terminal(hasselblad, capsys):
    model, data = hasselblad
    fit_em(model, data, tol=1e-6, progress=None, random_state=0)  # pytest's stderr is not a terminal
    assert capsys.readouterr().err == ""
