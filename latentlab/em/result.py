"""The record of one EM fit."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["EMResult"]


@dataclass(frozen=True)
class EMResult:
    """What :func:`latentlab.em.fit_em` returns.

    Attributes
    ----------
    params : the model's parameter dataclass at the best restart's end point.
    loglik : observed-data log-likelihood at ``params``.
    n_iter : iterations of the best restart (EM steps; SQUAREM cycles).
    n_evals : E-step evaluations of the best restart: the fair cost measure when
        comparing plain EM with an accelerated scheme.
    converged : whether the best restart met the convergence rule.
    trace : log-likelihood after each iteration of the best restart (the first
        entry is the starting point).
    trace_evals : E-step evaluations spent when each ``trace`` entry was reached.
    elapsed : wall-clock seconds for all restarts.
    restart_logliks : the final log-likelihood of every restart, in order.
    best_restart : index of the kept restart.
    accelerate : ``None`` or ``"squarem"``.
    model_name : the model's name, for messages.
    fixed : the params-shaped boolean mask of entries held fixed, or None.
    covariance : covariance of the flattened natural parameters, when standard
        errors were computed (see :func:`latentlab.em.inference.covariance`).
    trace_se, trace_mc_size : for a model with a stochastic E-step
        (:mod:`latentlab.em.monte_carlo`), the Monte Carlo standard error of
        each ``trace`` entry (the log-likelihood is then an estimate) and the
        Monte Carlo size it was estimated with; None otherwise.

    The record is frozen: nothing changes it after the fit.
    """

    params: Any
    loglik: float
    n_iter: int
    n_evals: int
    converged: bool
    trace: np.ndarray
    trace_evals: np.ndarray
    elapsed: float
    restart_logliks: np.ndarray
    best_restart: int
    accelerate: str | None
    model_name: str
    fixed: Any = field(default=None, repr=False)
    covariance: np.ndarray | None = field(default=None, repr=False)
    trace_se: np.ndarray | None = field(default=None, repr=False)
    trace_mc_size: np.ndarray | None = field(default=None, repr=False)

    def followed_by(self, then: EMResult) -> EMResult:
        """One record of this fit continued by a second fit from its end: the
        second's parameters and convergence, the traces and costs joined, and
        this fit's restarts and mask of held entries (so that an entry the
        second fit held on a boundary still counts as a boundary estimate)."""
        return dataclasses.replace(
            then,
            n_iter=self.n_iter + then.n_iter,
            n_evals=self.n_evals + then.n_evals,
            trace=np.r_[self.trace, then.trace],
            trace_evals=np.r_[self.trace_evals, self.n_evals + np.asarray(then.trace_evals)],
            trace_se=None if self.trace_se is None else np.r_[self.trace_se, then.trace_se],
            trace_mc_size=None if self.trace_mc_size is None else np.r_[self.trace_mc_size, then.trace_mc_size],
            elapsed=self.elapsed + then.elapsed,
            restart_logliks=self.restart_logliks,
            best_restart=self.best_restart,
            fixed=self.fixed,
        )

    def plot_trace(self, ax=None, optimum: float | None = None, label: str | None = None):
        """Plot the log-likelihood against E-step evaluations (with a band of
        two Monte Carlo standard errors when it is an estimate).

        With ``optimum`` given, plot the distance ``optimum - loglik`` on a log
        axis instead (the usual way to compare convergence speed); points not
        below the optimum are left out.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        label = label or (self.accelerate or "plain EM")
        if optimum is None:
            ax.plot(self.trace_evals, self.trace, label=label)
            if self.trace_se is not None:  # a Monte Carlo estimate: +/- 2 standard errors
                ax.fill_between(self.trace_evals, self.trace - 2 * self.trace_se, self.trace + 2 * self.trace_se, alpha=0.3)
            ax.set_ylabel("observed log-likelihood")
        else:
            gap = optimum - self.trace
            shown = gap > 0  # points at (or numerically above) the optimum have no log distance
            ax.semilogy(self.trace_evals[shown], gap[shown], label=label)
            ax.set_ylabel("distance to the optimum (log-likelihood)")
        ax.set_xlabel("E-step evaluations")
        ax.set_title(self.model_name)
        return ax
