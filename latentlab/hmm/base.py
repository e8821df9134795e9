"""Baum-Welch on the EM engine: what every hidden Markov model shares.

A hidden Markov model with K states has a start distribution ``pi``
(``startprob``), a transition matrix ``A`` (``transmat``, rows on the simplex)
and state-dependent emission densities ``f_k(x; theta_k)``. The observed-data
log-likelihood of a sequence is ``log sum_z pi_{z_1} f_{z_1}(x_1) prod_t
A_{z_{t-1} z_t} f_{z_t}(x_t)``, summed over independent sequences.

E-step (forward-backward, :mod:`latentlab.hmm._kernels`): the state posteriors
``gamma_t(k) = P(z_t = k | x)`` and expected transition counts
``xi(i, j) = sum_t P(z_{t-1} = i, z_t = j | x)``, summed over sequences:

    start_k = sum_s gamma_{s,1}(k),   trans_ij = sum_s xi_s(i, j),
    post_k  = sum_t gamma_t(k)  over observed rows,

plus the emission statistics of each model (weighted by ``gamma`` over the
observed rows only: a missing row -- all NaN -- carries no emission evidence,
``f_k(x_t) = 1``).

M-step (Baum 1970; Rabiner 1989, eq. 40): ``pi_k = start_k / sum_l start_l``,
``A_ij = trans_ij / sum_l trans_il``, and the emission MLE of each model.
A structural zero (``A_ij = 0``, ``pi_k = 0``) stays zero because its expected
count is zero. A state whose expected count is zero (``post_k <= EMPTY``, or a
transition row with zero expected count) keeps its previous parameters, which
maximise the expected complete-data log-likelihood as well as any others (the
state does not enter it), and a :class:`~latentlab.BoundaryWarning` says so.

Parameters named in ``params`` (hmmlearn's letters: ``s`` start, ``t``
transitions, and the emission letters of each model) are estimated; the others
are held at their initial values through the engine's ``fixed`` mask
(:meth:`HMMModel.held`), as are the zeros of a given ``startprob`` or
``transmat``.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from .._validation import check_lengths
from .._warn import user_stacklevel
from ..em import EMModel, Simplex, Stats
from ..exceptions import BoundaryWarning
from . import _kernels

__all__ = ["HMMData", "HMMStats", "HMMModel", "EMPTY"]

#: expected state count at or below which a state counts as empty
EMPTY = 1e-10


@dataclass(frozen=True)
class HMMData:
    """Validated observations: ``X`` (T, D) with missing rows filled by a valid
    placeholder, ``observed`` (T,) False for missing rows, and the sequences'
    ``starts`` and ``ends`` rows."""

    X: np.ndarray
    observed: np.ndarray
    starts: np.ndarray
    ends: np.ndarray

    @property
    def n_observed(self) -> int:
        return int(np.count_nonzero(self.observed))

    @property
    def any_missing(self) -> bool:
        return not bool(self.observed.all())

    @cached_property
    def X_t(self) -> np.ndarray:
        """``X`` stored feature by feature, (D, T) (for kernels that loop along
        time); built on first use."""
        return np.ascontiguousarray(self.X.T)

    @classmethod
    def build(cls, X: np.ndarray, missing: np.ndarray, lengths, fill) -> HMMData:
        starts, ends = check_lengths(lengths, X.shape[0])
        if missing.any():
            X = X.copy()
            X[missing] = fill
        return cls(np.ascontiguousarray(X), ~missing, starts, ends)


@dataclass(frozen=True)
class HMMStats(Stats):
    """Expected sufficient statistics summed over sequences (module docstring):
    the statistics of two sets of whole sequences add."""

    start: np.ndarray
    trans: np.ndarray
    post: np.ndarray
    emission: Any  # an array or a tuple of arrays, per emission family


class HMMModel(EMModel):
    """The EM contract shared by the HMMs; a subclass supplies the emissions.

    Subclass hooks: ``params_type`` (fields ``startprob``, ``transmat`` and the
    emission fields), ``constraints``, ``letters`` (field -> hmmlearn letter),
    ``log_emission(X, params, out)``, optionally ``scaled_emission(data,
    params, b, shift)``, ``emission_features(X)``,
    ``emission_stats(moments, X, weights)``,
    ``emission_m_step(stats, post, current, held) -> dict``,
    ``init_emission(data, rng) -> dict`` and ``sample_emission(states, params, rng)``.
    """

    letters: dict[str, str]
    monotone_rtol = 1e-9

    def __init__(self, n_components: int, params: str, given: dict[str, np.ndarray] | None = None):
        self.n_components = n_components
        self.params = params  # hmmlearn's letters of the estimated fields (see held())
        self.given = dict(given or {})
        self._work: dict[str, np.ndarray] = {}
        self._features_of: HMMData | None = None
        self._tag = _kernels.state_tag(n_components)

    def _buffer(self, name: str, shape: tuple) -> np.ndarray:
        """A work array kept between iterations: reusing it spares the page
        faults of a fresh O(T K) allocation in every E-step."""
        buf = self._work.get(name)
        if buf is None or buf.shape != shape:
            buf = self._work[name] = np.empty(shape)
        return buf

    def release(self) -> None:
        """Drop the work arrays (O(T K) memory) kept between iterations."""
        self._work.clear()
        self._features_of = None

    def _features(self, data: HMMData) -> np.ndarray:
        """:meth:`emission_features` stored feature by feature, (P, T), zero on
        missing rows (P = 0 when the model has none); built once per data set
        and kept with the work arrays."""
        if self._features_of is not data:
            phi = self.emission_features(data.X)
            if phi is None:
                phi = np.empty((data.X.shape[0], 0))
            elif data.any_missing:
                phi = phi * data.observed[:, None]
            self._work["features"] = np.ascontiguousarray(phi.T, dtype=float)
            self._features_of = data
        return self._work["features"]

    # -- hooks ------------------------------------------------------------------------
    def log_emission(self, X: np.ndarray, params, out: np.ndarray) -> np.ndarray:
        """``log f_k(x_t)`` into ``out`` (T, K), which is returned."""
        raise NotImplementedError

    def scaled_emission(self, data: HMMData, params, b: np.ndarray, shift: np.ndarray) -> None:
        """``b_tk = exp(l_tk - m_t)`` into ``b`` (T, K) and the maxima over
        states ``m_t`` of ``l_tk = log f_k(x_t)`` into ``shift`` (T,): by default
        :meth:`log_emission` then :func:`~latentlab.hmm._kernels.scale_emissions`;
        a model may compute them together."""
        _kernels.scale_emissions(self.log_emission(data.X, params, b), shift, self._tag)

    def emission_features(self, X: np.ndarray) -> np.ndarray | None:
        """Per-row features ``phi(x_t)`` (T, P) whose posterior-weighted sums
        ``sum_t gamma_t(k) phi(x_t)`` are the emission statistics (summed by
        the backward pass), or None when the statistics need the posteriors
        themselves."""
        return None

    def emission_stats(self, moments: np.ndarray, X: np.ndarray, weights: np.ndarray):
        """Emission statistics from ``moments`` (K, P), the sums of
        :meth:`emission_features` over observed rows, or from ``weights`` (T,
        K), the posteriors (zero on missing rows)."""
        raise NotImplementedError

    def emission_m_step(self, stats, post: np.ndarray, current, held: set) -> dict[str, np.ndarray]:
        """Emission fields from their statistics; states with no posterior mass
        keep ``current``'s values; ``held`` names fields the engine holds."""
        raise NotImplementedError

    def feature_axes(self) -> dict[str, tuple[int, ...]]:
        """Emission fields and their axes that run over the features (to label
        them by the data's column names); none by default."""
        return {}

    def emission_signature(self, params) -> np.ndarray:
        """Each state's emission parameters as a row on a standard-deviation
        scale (:mod:`latentlab._degenerate`), to find states that coincide."""
        raise NotImplementedError

    def init_emission(self, data: HMMData, rng: np.random.Generator) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def sample_emission(self, states: np.ndarray, params, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    # -- start ------------------------------------------------------------------------
    def initialize(self, data: HMMData, rng: np.random.Generator):
        """Uniform start distribution, transitions ``0.5 I + 0.5 / K`` (sticky
        but every transition possible), the model's emission start; values
        given by the user replace the drawn ones."""
        k = self.n_components
        values = dict(startprob=np.full(k, 1.0 / k), transmat=0.5 * np.eye(k) + 0.5 / k)
        if not set(self.letters) <= set(self.given):
            values.update(self.init_emission(data, rng))
        values.update({f: np.array(v, dtype=float, copy=True) for f, v in self.given.items()})
        return self.params_type(**values)

    # -- E-step -------------------------------------------------------------------------
    def _scaled_emissions(self, data: HMMData, params) -> tuple[np.ndarray, np.ndarray]:
        """``b = exp(l - m)`` (T, K) and the shifts ``m`` (T,) in work buffers;
        missing rows have ``l = 0`` (no evidence): ``b = 1``, ``m = 0``."""
        T = data.X.shape[0]
        b, shift = self._buffer("b", (T, self.n_components)), self._buffer("shift", (T,))
        self.scaled_emission(data, params, b, shift)
        if data.any_missing:
            b[~data.observed] = 1.0
            shift[~data.observed] = 0.0
        return b, shift

    def _forward_backward(self, data: HMMData, params):
        """State posteriors ``gamma`` (T, K) (a work buffer), transition counts
        ``xi`` (S, K, K), sums ``sum_t gamma_t(k) [1, phi_t]`` (S, K, 1 + P)
        (:meth:`_features`) and log-likelihood per sequence (S,)."""
        b, shift = self._scaled_emissions(data, params)
        gamma = self._buffer("gamma", b.shape)
        xi, sums, ll = _kernels.forward_backward(
            b, shift, params.startprob, params.transmat, data.starts, data.ends, self._features(data), gamma, self._tag
        )
        return gamma, xi, sums, ll

    def posteriors(self, data: HMMData, params):
        """State posteriors ``gamma`` (T, K) (a fresh array), transition counts
        ``xi`` (S, K, K) and log-likelihood per sequence (S,)."""
        gamma, xi, _, ll = self._forward_backward(data, params)
        return gamma.copy(), xi, ll

    def e_step(self, data: HMMData, params):
        gamma, xi, sums, ll = self._forward_backward(data, params)
        total = float(ll.sum())
        if not np.isfinite(total):
            return None, total
        start = gamma[data.starts].sum(axis=0)
        moments = sums.sum(axis=0)
        post = moments[:, 0]
        if data.any_missing:  # the kernel summed gamma over every row, missing ones too
            gamma[~data.observed] = 0.0
            post = _kernels.column_sums(gamma)
        stats = HMMStats(
            start=start,
            trans=xi.sum(axis=0),
            post=post,
            emission=self.emission_stats(moments[:, 1:], data.X, gamma),
        )
        return stats, total

    def loglik(self, data: HMMData, params) -> float:
        """Forward pass only (no backward pass, no statistics)."""
        b, shift = self._scaled_emissions(data, params)
        ll = _kernels.forward_loglik(b, shift, params.startprob, params.transmat, data.starts, data.ends, self._tag)
        return float(ll.sum())

    def viterbi(self, data: HMMData, params) -> tuple[float, np.ndarray]:
        """Log-probability of the most probable state path, and the path."""
        logb = self.log_emission(data.X, params, np.empty((data.X.shape[0], self.n_components)))
        if data.any_missing:
            logb[~data.observed] = 0.0
        with np.errstate(divide="ignore"):
            log_pi, log_a = np.log(params.startprob), np.log(params.transmat)
        path, best = _kernels.viterbi(logb, log_pi, log_a, data.starts, data.ends)
        return float(best.sum()), path

    # -- M-step -------------------------------------------------------------------------
    def m_step(self, stats: HMMStats, current, fixed=None):
        """Baum-Welch's M-step; fields the mask holds whole are not computed
        (the engine keeps their current values)."""
        def free(field):
            return fixed is None or not np.all(getattr(fixed, field))

        values = {}
        if free("startprob"):
            values["startprob"] = stats.start / stats.start.sum()
        if free("transmat"):
            values["transmat"] = self._transmat_m_step(stats.trans, current.transmat)
        empty = stats.post <= EMPTY
        if empty.any():
            _warn_empty(np.flatnonzero(empty), self.name)
        held = {f for f in self.letters if not free(f)}
        emission = self.emission_m_step(stats.emission, stats.post, current, held)
        values.update({f: v for f, v in emission.items() if f not in held})
        return dataclasses.replace(current, **values)

    def _transmat_m_step(self, trans: np.ndarray, previous: np.ndarray) -> np.ndarray:
        rows = trans.sum(axis=1)
        empty = rows <= EMPTY
        out = trans / np.where(empty, 1.0, rows)[:, None]
        out[empty] = previous[empty]
        return out

    # -- fixed entries ------------------------------------------------------------------
    def held(self):
        """The engine's ``fixed`` mask: fields outside ``params`` are held; so are
        the zeros of a given ``startprob`` or ``transmat`` (structural zeros)."""
        masks = {}
        for f, shape in self.field_shapes().items():
            mask = np.full(shape, self.letters[f] not in self.params)
            if f in ("startprob", "transmat") and f in self.given:
                mask |= np.asarray(self.given[f]) == 0
            masks[f] = mask
        return self.params_type(**masks)

    # -- simulation ---------------------------------------------------------------------
    def sample(self, params, n_samples: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """One sequence of ``n_samples`` observations and its states."""
        states = sample_states(params.startprob, params.transmat, n_samples, rng)
        return self.sample_emission(states, params, rng), states


def sample_states(startprob: np.ndarray, transmat: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """A Markov chain of length ``n`` (inverse-CDF draws in a compiled loop)."""
    return _kernels.markov_chain(np.cumsum(startprob), np.cumsum(transmat, axis=1), rng.random(n))


def _warn_empty(states: np.ndarray, name: str) -> None:
    warnings.warn(
        f"{name}: state(s) {states.tolist()} received no posterior mass; their emission parameters "
        "keep their previous values (consider fewer states or other starting values)",
        BoundaryWarning,
        stacklevel=user_stacklevel(),
    )


def transition_constraints() -> dict:
    """Constraints of the fields every HMM shares."""
    return {"startprob": Simplex(), "transmat": Simplex(axis=-1)}
