"""The engine contract in executable form: :func:`check_model`.

In the spirit of scikit-learn's ``check_estimator``: every model's tests call
``check_model(model, data)`` and a new model is not done until it passes. It
checks, on the given data:

1. ``initialize`` gives parameters in their space, and ``canonical`` keeps
   them there without changing the log-likelihood;
2. the E-step's log-likelihood equals ``loglik()`` at the same point;
3. every plain-EM M-step stays in the space and never lowers the
   log-likelihood (beyond the guard's allowance);
4. with ``parts`` (the same units split into disjoint data sets), the
   statistics of the parts add up to the statistics of the whole
   (:class:`latentlab.em.Stats`);
5. where the model has an analytic covariance, it agrees with the engine's
   numerical one at the maximum (``fit_em``'s optimum, or ``at`` if given).

Each failure raises ``AssertionError`` naming the model and the check.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .engine import fit_em, guard_fails
from .inference import _numerical_covariance, covariance
from .model import EMModel
from .stats import Stats, stats_allclose

__all__ = ["check_model"]


def check_model(
    model: EMModel,
    data: Any,
    *,
    parts: Sequence[Any] | None = None,
    n_steps: int = 20,
    random_state=0,
    params=None,
    covariance_rtol: float | None = 1e-3,
    loglik_rtol: float = 1e-9,
) -> None:
    """Check that ``model`` keeps the engine's contract on ``data``.

    Parameters
    ----------
    model, data : a model and data in the form its ``e_step`` takes.
    parts : the units of ``data`` split into disjoint data sets (in the same
        form); their statistics must add up to those of ``data``.
    n_steps : plain EM steps checked for validity and monotonicity.
    random_state : seed of ``model.initialize``.
    params : start at these parameters instead of ``model.initialize``.
    covariance_rtol : relative agreement required between an analytic and the
        numerical covariance at the optimum (None: skip that check).
    loglik_rtol : relative agreement of ``e_step`` and ``loglik``.
    """
    name = model.name
    space = model.space
    rng = np.random.default_rng(random_state)
    current = model.initialize(data, rng) if params is None else params
    _require(isinstance(current, model.params_type), name, f"initialize returned {type(current).__name__}, "
             f"not {model.params_type.__name__}")
    _require(space.is_valid(current), name, f"initialize returned parameters outside their space: {current}")
    stats, ll = model.e_step(data, current)
    _require(isinstance(stats, Stats), name, f"e_step statistics are a {type(stats).__name__}, not a latentlab.em.Stats")
    _check_loglik(model, data, current, ll, loglik_rtol)
    _check_canonical(model, data, current, ll, loglik_rtol)
    if parts is not None:
        _check_additive(model, data, parts, current, stats)
    for step in range(1, n_steps + 1):
        new = model.m_step(stats, current, None)
        _require(space.is_valid(new), name, f"M-step {step} left the parameter space: {new}")
        stats_new, ll_new = model.e_step(data, new)
        slack = float(model.monotone_slack(stats, new))
        _require(
            not guard_fails(model, data, ll, ll_new, current, new, slack), name,
            f"plain EM step {step} lowered the log-likelihood from {ll!r} to {ll_new!r}",
        )
        _check_loglik(model, data, new, ll_new, loglik_rtol)
        current, stats, ll = new, stats_new, ll_new
    if covariance_rtol is not None and type(model).analytic_covariance is not EMModel.analytic_covariance:
        _check_covariance(model, data, current, covariance_rtol, random_state)


def _require(ok: bool, name: str, message: str) -> None:
    if not ok:
        raise AssertionError(f"check_model({name}): {message}")


def _check_loglik(model, data, params, ll, rtol) -> None:
    direct = float(model.loglik(data, params))
    _require(np.isfinite(ll), model.name, f"the E-step's log-likelihood is {ll}")
    _require(
        abs(direct - ll) <= rtol * (1.0 + abs(ll)), model.name,
        f"e_step gives log-likelihood {ll!r} but loglik() gives {direct!r}",
    )


def _check_canonical(model, data, params, ll, rtol) -> None:
    canon = model.canonical(params)
    _require(model.space.is_valid(canon), model.name, "canonical() left the parameter space")
    moved = float(model.loglik(data, canon))
    _require(abs(moved - ll) <= rtol * (1.0 + abs(ll)), model.name,
             f"canonical() changed the log-likelihood from {ll!r} to {moved!r}")
    again = model.canonical(canon)
    _require(np.array_equal(model.space.flatten(again), model.space.flatten(canon)), model.name,
             "canonical() is not idempotent")


def _check_additive(model, data, parts, params, whole) -> None:
    _require(len(parts) >= 2, model.name, "parts must hold at least two data sets")
    total, ll_total = None, 0.0
    for part in parts:
        s, ll = model.e_step(part, params)
        total = s if total is None else total + s
        ll_total += ll
    bad = stats_allclose(total, whole)
    _require(not bad, model.name, f"the statistics of the parts do not add up to the whole's in {bad}")
    _, ll_whole = model.e_step(data, params)
    _require(abs(ll_total - ll_whole) <= 1e-9 * (1.0 + abs(ll_whole)), model.name,
             f"the log-likelihoods of the parts sum to {ll_total!r}, the whole's is {ll_whole!r}")


def _check_covariance(model, data, params, rtol, random_state) -> None:
    best = fit_em(model, data, init_params=params, tol=1e-12, max_iter=100_000, accelerate="squarem",
                  random_state=random_state).params
    space = model.space
    masks = space.free_masks(best)
    analytic = covariance(model, data, best)
    numeric = _numerical_covariance(model, data, best, masks)
    free = space.flatten_mask(masks)
    a, n = analytic[np.ix_(free, free)], numeric[np.ix_(free, free)]
    scale = np.sqrt(np.outer(np.diag(n), np.diag(n)))
    err = np.max(np.abs(a - n) / np.where(scale > 0, scale, 1.0)) if a.size else 0.0
    _require(err <= rtol, model.name, f"the analytic covariance differs from the numerical one by {err:.2e} "
             f"(relative to the standard errors), above {rtol:g}")
