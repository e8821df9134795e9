"""Interval mapping at one position, as a model for the EM engine.

Individual ``i`` carries genotype class ``j`` at the putative QTL with prior
probability ``p_ij`` (from the flanking markers); given the class its trait is
normal with mean ``mu_j + x_i' beta`` and variance ``sigma^2`` (Lander &
Botstein 1989). The E- and M-steps are those of :mod:`latentlab.qtl._kernels`
(:func:`~latentlab.qtl._kernels.position_e_step`,
:func:`~latentlab.qtl._kernels.position_m_step`), the same code the genome scan
runs at every position.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..em import EMModel, Positive, Real, Stats
from ._kernels import position_e_step, position_m_step

__all__ = ["IntervalMappingModel", "QTLParams", "PositionData"]


@dataclass(frozen=True)
class QTLParams:
    means: np.ndarray  # (G,) trait mean of each genotype class (at covariates 0)
    coef: np.ndarray  # (c,) additive covariate effects
    sigma2: np.ndarray  # () residual variance


@dataclass(frozen=True)
class PositionData:
    """Phenotypes ``y`` (n,), covariates ``X`` (n, c) and genotype class
    probabilities ``prob`` (G, n) at one position (class by class)."""

    y: np.ndarray
    X: np.ndarray
    prob: np.ndarray


@dataclass(frozen=True)
class _Stats(Stats):
    N: np.ndarray  # (G,) sum_i w_ij
    S: np.ndarray  # (G,) sum_i w_ij y_i
    C: np.ndarray  # (G, c) sum_i w_ij x_i
    XtX: np.ndarray  # (c, c) sum_i x_i x_i'
    Xty: np.ndarray  # (c,) sum_i x_i y_i
    yty: float  # sum_i y_i^2
    n: float  # individuals


class IntervalMappingModel(EMModel):
    """The EM contract for a normal trait and a QTL with known genotype-class
    probabilities (module docstring)."""

    params_type = QTLParams
    constraints = {"means": Real(), "coef": Real(), "sigma2": Positive()}

    def initialize(self, data: PositionData, rng: np.random.Generator) -> QTLParams:
        """The M-step with the prior probabilities as weights (R/qtl's start),
        moved by a small random amount so that restarts differ."""
        start = self.m_step(self._stats(data, data.prob), None)
        jitter = 0.1 * np.sqrt(start.sigma2) * rng.standard_normal(start.means.shape)
        return QTLParams(start.means + jitter, start.coef, start.sigma2)

    @staticmethod
    def _stats(data: PositionData, w: np.ndarray) -> _Stats:
        X, y = data.X, data.y
        return _Stats(w.sum(1), w @ y, w @ X, X.T @ X, X.T @ y, float(y @ y), float(y.size))

    def e_step(self, data: PositionData, params: QTLParams):
        (G, n), c = data.prob.shape, data.X.shape[1]
        N, S, C, w = np.empty(G), np.empty(G), np.empty((G, c)), np.empty((G, n))
        ll = position_e_step(data.y, data.X, data.prob, params.means, params.coef, float(params.sigma2), N, S, C, w,
                             np.empty((2, n)))
        X, y = data.X, data.y
        return _Stats(N, S, C, X.T @ X, X.T @ y, float(y @ y), float(y.size)), float(ll)

    def m_step(self, stats: _Stats, current: QTLParams | None, fixed=None) -> QTLParams:
        G = stats.N.size
        theta = np.zeros(G + stats.Xty.size)
        if current is not None:
            theta[:G], theta[G:] = current.means, current.coef
        m = theta.size
        sigma2 = position_m_step(stats.N, stats.S, stats.C, stats.XtX, stats.Xty, stats.yty, stats.n, theta,
                                 np.empty((m, m)), np.empty(m))
        return QTLParams(theta[:G].copy(), theta[G:].copy(), np.asarray(sigma2))
