"""The model contract of the EM engine (contract v2).

A model is an object that knows one family of distributions and nothing about
the loop that fits it. It declares its parameters as a frozen dataclass of numpy
arrays (``params_type``) and a constraint for each field (``constraints``), and
implements three methods:

``initialize(data, rng) -> params``
    a starting point; ``rng`` is a :class:`numpy.random.Generator` from an
    independent seeded stream, one per restart.
``e_step(data, params) -> (stats, loglik)``
    the expected complete-data sufficient statistics given the observed data at
    ``params``, summed over independent units, and the observed-data
    log-likelihood at ``params``. ``stats`` is a :class:`~latentlab.em.Stats`:
    the statistics of two disjoint sets of units add up to those of their union.
``m_step(stats, current, fixed) -> params``
    the complete-data maximum likelihood estimate from expected statistics.
    ``current`` is the point of the E-step that produced ``stats``: it supplies
    the values of held parameters, the previous values of a component that
    received no weight, and the other blocks of a conditional maximisation
    (ECM). ``fixed`` is None or a params-shaped dataclass of booleans, True
    for entries held at their current values; the engine copies those entries
    from ``current`` after the M-step, so a model reads ``fixed`` only when a
    free field's maximiser depends on whether another is held.

``loglik(data, params)`` defaults to the E-step's second output; override it
when the log-likelihood alone is cheaper. Flattening to a vector and back, the
validity check and the unconstrained coordinates used for SQUAREM's
backtracking and standard errors all come from ``constraints`` (see
:mod:`latentlab.em.constraints`).

Hooks with defaults a model may override:

``canonical(params) -> params``
    the same distribution with its labels in a canonical order (components by
    rate, states by mean, ...); the engine applies it once, to the parameters
    it returns. It must not change the likelihood.
``analytic_covariance(data, params) -> ndarray or None``
    the covariance matrix of the flattened natural parameters, when the model
    has an analytic observed information (e.g. Louis' method); it replaces the
    engine's numerical Hessian. The engine still applies its rule for entries
    on the boundary or held fixed (NaN, with a warning for the boundary).
``monotone_rtol``
    relative round-off allowed by the monotonicity guard (default 1e-10).
``loglik_magnitude(data, params, loglik) -> float``
    the sum of the absolute values of the terms the log-likelihood is summed
    from (default ``|loglik|``): the guard's round-off allowance scales with
    it, so a model whose log-likelihood is a small difference of large terms
    (a log-factorial of the population size, say) is not stopped by
    round-off. Called only when a step appears to lower the log-likelihood.
``monotone_slack(stats, params) -> float``
    for an M-step that is not an exact maximiser of the expected complete-data
    log-likelihood (a regularised or approximate one): a proven upper bound on
    how far that step can lower the observed log-likelihood, given the
    statistics and the parameters it returned. The guard allows that much on
    top of the round-off; the default 0 is right for an exact M-step.
``squarem_coordinates(params) -> vector`` and ``from_squarem_coordinates(z, like) -> params``
    the coordinates SQUAREM extrapolates in (default: the flattened natural
    parameters, kept in their space by backtracking). A model whose EM path
    runs into the boundary (many weights decaying to 0, where every
    extrapolation in the natural parameters leaves the simplex and is pulled
    back to a plain EM step) may extrapolate in, e.g., the logarithms of its
    weights. The convergence rule still measures steps in the natural
    parameters.
``is_stationary(data, params, stats) -> bool``
    an extra first-order optimality test at ``params`` (``stats`` is the
    E-step output there), for models whose likelihood change is a poor guide,
    e.g. masses on a simplex with many zeros at the MLE. The engine stops only
    when both its change rule and this test hold (default: always True).

:func:`latentlab.em.testing.check_model` checks all of this on data.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from .constraints import Constraint

__all__ = ["EMModel", "ParamSpace"]


class EMModel:
    """Base class for models fitted by :func:`latentlab.em.fit_em`."""

    #: the frozen dataclass holding this model's parameters
    params_type: type
    #: constraint for each field of ``params_type``
    constraints: Mapping[str, Constraint]
    #: relative round-off tolerated by the monotonicity guard
    monotone_rtol: float = 1e-10

    @property
    def name(self) -> str:
        return type(self).__name__

    def initialize(self, data: Any, rng: np.random.Generator):
        raise NotImplementedError

    def e_step(self, data: Any, params) -> tuple[Any, float]:
        raise NotImplementedError

    def m_step(self, stats: Any, current, fixed=None):
        raise NotImplementedError

    def canonical(self, params):
        """``params`` with labels in canonical order (default: unchanged)."""
        return params

    def loglik(self, data: Any, params) -> float:
        """Observed-data log-likelihood at ``params``."""
        return self.e_step(data, params)[1]

    def loglik_magnitude(self, data: Any, params, loglik: float) -> float:
        """Sum of the absolute values of the log-likelihood's terms (default ``|loglik|``)."""
        return abs(loglik)

    def monotone_slack(self, stats: Any, params) -> float:
        """Largest possible fall of the log-likelihood in the step ``params =
        m_step(stats)`` (0: the M-step is an exact maximiser)."""
        return 0.0

    def squarem_coordinates(self, params) -> np.ndarray:
        """The vector SQUAREM extrapolates (default: the natural parameters)."""
        return self.space.flatten(params)

    def from_squarem_coordinates(self, z: np.ndarray, like):
        """Parameters shaped like ``like`` from SQUAREM coordinates ``z``."""
        return self.space.unflatten(z, like)

    def is_stationary(self, data: Any, params, stats: Any) -> bool:
        """Model-specific optimality test joined to the engine's rule (default True)."""
        return True

    def analytic_covariance(self, data: Any, params) -> np.ndarray | None:
        """Covariance of the flattened parameters, if the model has one in
        closed form (None: the engine differentiates numerically)."""
        return None

    @property
    def space(self) -> ParamSpace:
        return ParamSpace(self.params_type, self.constraints)


class ParamSpace:
    """Flattening, validity and free coordinates for one parameter dataclass."""

    def __init__(self, params_type: type, constraints: Mapping[str, Constraint]):
        self.params_type = params_type
        self.fields = [f.name for f in dataclasses.fields(params_type)]
        missing = set(self.fields) - set(constraints)
        if missing:
            raise TypeError(f"{params_type.__name__}: no constraint for fields {sorted(missing)}")
        self.constraints = constraints

    # --- natural parameters -------------------------------------------------
    def flatten(self, params) -> np.ndarray:
        return np.concatenate([np.ravel(getattr(params, f)).astype(float) for f in self.fields])

    def unflatten(self, vec: np.ndarray, like):
        """Params with the shapes of ``like`` and the values of ``vec``."""
        values, pos = {}, 0
        for f in self.fields:
            shape = np.shape(getattr(like, f))
            size = int(np.prod(shape))
            values[f] = np.asarray(vec[pos:pos + size], dtype=float).reshape(shape)
            pos += size
        return dataclasses.replace(like, **values)

    def tidy(self, params):
        """``params`` with each field's round-off removed (e.g. a simplex renormalised)."""
        return dataclasses.replace(
            params, **{f: self.constraints[f].tidy(np.asarray(getattr(params, f))) for f in self.fields}
        )

    def is_valid(self, params) -> bool:
        return all(self.constraints[f].is_valid(getattr(params, f)) for f in self.fields)

    def labels(self, params, names=None, axes: Mapping[str, tuple[int, ...]] | None = None) -> list[str]:
        """``field[i, j]`` labels of the flattened natural parameters; along the
        axes that ``axes`` lists for a field (e.g. the ones that run over the
        features), positions are labelled by ``names`` (e.g. column names)."""
        out = []
        for f in self.fields:
            a = np.asarray(getattr(params, f))
            if a.ndim == 0:
                out.append(f)
                continue
            named = (axes or {}).get(f, ())
            out.extend(
                f"{f}[{', '.join(str(names[i]) if k in named else str(i) for k, i in enumerate(ix))}]"
                for ix in np.ndindex(a.shape)
            )
        return out

    def scales(self, params) -> np.ndarray:
        """Wald-interval scale of each flattened natural parameter."""
        scales = [self.constraints[f].scale for f in self.fields for _ in range(np.size(getattr(params, f)))]
        out = np.empty(len(scales), dtype=object)
        out[:] = scales  # a scale may be a tuple (a bounded interval), kept whole
        return out

    # --- fixed entries ---------------------------------------------------------------
    def check_fixed(self, fixed, params):
        """``fixed`` (None, or a params-shaped dataclass of booleans) checked
        against ``params``; returns it with every field a bool array."""
        if fixed is None:
            return None
        if not isinstance(fixed, self.params_type):
            raise TypeError(f"fixed must be None or a {self.params_type.__name__} of booleans; got {type(fixed).__name__}")
        values = {}
        for f in self.fields:
            m = np.asarray(getattr(fixed, f))
            if m.dtype != bool or m.shape != np.shape(getattr(params, f)):
                raise ValueError(
                    f"fixed.{f} must be a boolean array of shape {np.shape(getattr(params, f))}; "
                    f"got dtype {m.dtype}, shape {m.shape}"
                )
            values[f] = m
        return dataclasses.replace(fixed, **values)

    def none_fixed(self, params):
        """A mask holding nothing fixed, shaped like ``params``."""
        return self.params_type(**{f: np.zeros(np.shape(getattr(params, f)), dtype=bool) for f in self.fields})

    def hold(self, new, current, fixed):
        """``new`` with the entries that ``fixed`` marks copied from ``current``."""
        held = self.held_fields(fixed)
        if not held:
            return new
        return dataclasses.replace(new, **{
            f: np.where(getattr(fixed, f), getattr(current, f), getattr(new, f)) for f in held
        })

    def held_fields(self, fixed) -> tuple[str, ...]:
        """The fields of which ``fixed`` (None or a mask) holds any entry."""
        if fixed is None:
            return ()
        return tuple(f for f in self.fields if np.any(getattr(fixed, f)))

    # --- free (unconstrained) coordinates ---------------------------------------
    def free_masks(self, params, fixed=None) -> dict[str, np.ndarray]:
        """Interior entries that the model does not hold fixed."""
        masks = {}
        for f in self.fields:
            m = self.constraints[f].interior(getattr(params, f))
            if fixed is not None:
                m = m & ~np.asarray(getattr(fixed, f), dtype=bool)
            masks[f] = np.asarray(m, dtype=bool)
        return masks

    def n_parameters(self, params, fixed=None) -> int:
        """Number of free parameters, boundary values included (for AIC/BIC)."""
        total = 0
        for f in self.fields:
            free = np.ones(np.shape(getattr(params, f)), dtype=bool)
            if fixed is not None:
                free &= ~np.asarray(getattr(fixed, f), dtype=bool)
            total += self.constraints[f].n_free(free)
        return total

    def flatten_mask(self, masks: dict[str, np.ndarray]) -> np.ndarray:
        """The masks of :meth:`free_masks`, flattened like the parameters."""
        return np.concatenate([np.ravel(masks[f]) for f in self.fields])

    def to_free(self, params, masks) -> np.ndarray:
        parts = [self.constraints[f].to_free(getattr(params, f), masks[f]) for f in self.fields]
        return np.concatenate(parts) if parts else np.zeros(0)

    def from_free(self, u: np.ndarray, params, masks):
        """``params`` with its free entries set from ``u`` (others unchanged)."""
        values, pos = {}, 0
        for f in self.fields:
            c = self.constraints[f]
            n = c.n_free(masks[f])
            values[f] = c.from_free(u[pos:pos + n], getattr(params, f), masks[f])
            pos += n
        return dataclasses.replace(params, **values)
