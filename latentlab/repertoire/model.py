"""The clonotype mixture: reads from true clonotypes through a substitution
error process, for a given set of clonotypes (the EM contract).

Model (the amplicon-denoising likelihood of DADA2, Callahan et al. 2016, with
substitutions only): each read comes from clonotype ``c`` with probability
``w_c`` and each of its bases is copied from the clonotype's base ``a`` as
``b`` with probability ``Q[a, b]`` (a 4 x 4 row-stochastic substitution
matrix), independently along the sequence. The probability of distinct
sequence ``s_i`` given clonotype ``c`` is

    P_ic = prod_{a, b} Q[a, b] ** T_ic[a, b]

with ``T_ic`` the counts of aligned bases (``c``'s base ``a`` against
``s_i``'s ``b``; positions where either is ``N`` are left out). With
``error_model="uniform"`` ``Q`` has one parameter, the per-base error rate
``e``: ``Q[a, a] = 1 - e`` and ``Q[a, b] = e / 3`` otherwise. Only pairs
within the candidate bound enter the sum (a read further than ``max_distance``
from every clonotype is left unassigned by the estimator).

Observed-data log-likelihood over distinct sequences with counts ``n_i``:

    l = sum_i n_i log sum_c w_c P_ic

E-step: ``r_ic = w_c P_ic / sum_d w_d P_id``; expected reads per clonotype
``N_c = sum_i n_i r_ic`` and expected aligned-base counts
``S[a, b] = sum_i n_i sum_c r_ic T_ic[a, b]``.

M-step: ``w_c = N_c / sum_d N_d``; ``Q[a, b] = S[a, b] / sum_b' S[a, b']``
(matrix), or ``e = sum_{a != b} S[a, b] / sum_{a, b} S[a, b]`` (uniform): the
multinomial maximum likelihood estimates of the complete data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from ..em import EMModel, Simplex, Stats

__all__ = ["ClonotypeParams", "ClonotypeMixtureModel", "PairData", "uniform_substitution", "error_rate"]

ERROR_MODELS = ("uniform", "matrix")
_OFF_DIAGONAL = ~np.eye(4, dtype=bool)


@dataclass(frozen=True)
class ClonotypeParams:
    weights: np.ndarray  # (K,) share of reads from each clonotype, on the simplex
    substitution: np.ndarray  # (4, 4) Q[a, b], each row on the simplex


@dataclass(frozen=True)
class PairData:
    """Distinct sequences with at least one candidate clonotype, in CSR form:
    the pairs of sequence ``i`` are ``ptr[i]:ptr[i + 1]``, each with its
    clonotype index ``centre`` and aligned-base table ``tables`` (16 counts,
    ``4 * parent_base + read_base``)."""

    counts: np.ndarray  # (M,) reads of each sequence
    ptr: np.ndarray  # (M + 1,)
    centre: np.ndarray  # (P,) clonotype index of each pair
    tables: np.ndarray  # (P, 16) uint16 aligned-base counts
    centre_counts: np.ndarray  # (K,) reads of each clonotype's own sequence

    @property
    def n_centres(self) -> int:
        return self.centre_counts.size


@dataclass(frozen=True)
class _Stats(Stats):
    reads: np.ndarray  # (K,) N_c
    aligned: np.ndarray  # (16,) S[a, b], flattened


def uniform_substitution(rate: float) -> np.ndarray:
    """The 4 x 4 matrix with ``1 - rate`` on the diagonal and ``rate / 3`` off it."""
    return np.where(_OFF_DIAGONAL, rate / 3.0, 1.0 - rate)


def error_rate(substitution: np.ndarray, composition=None) -> float:
    """Probability that a base is misread: the off-diagonal mass of each row,
    averaged over the clonotypes' base composition (equal weights if None)."""
    per_base = 1.0 - np.diag(substitution)
    comp = np.full(4, 0.25) if composition is None else np.asarray(composition, float) / np.sum(composition)
    return float(per_base @ comp)


@njit(cache=True)
def _pair_log_probs(tables, log_q, lo, hi, out):
    for p in range(lo, hi):
        v = 0.0
        for k in range(16):
            if tables[p, k] > 0:
                v += tables[p, k] * log_q[k]
        out[p - lo] = v


@njit(cache=True)
def _e_step(counts, ptr, centre, tables, log_w, log_q):
    """Expected reads per clonotype, expected aligned-base counts and the
    log-likelihood (module docstring)."""
    reads = np.zeros(log_w.size)
    aligned = np.zeros(16)
    loglik = 0.0
    width = 1
    for i in range(counts.size):
        width = max(width, ptr[i + 1] - ptr[i])
    lp = np.empty(width)
    for i in range(counts.size):
        lo, hi = ptr[i], ptr[i + 1]
        _pair_log_probs(tables, log_q, lo, hi, lp)
        top = -np.inf
        for p in range(lo, hi):
            lp[p - lo] += log_w[centre[p]]
            top = max(top, lp[p - lo])
        if top == -np.inf:
            return reads, aligned, -np.inf
        total = 0.0
        for p in range(hi - lo):
            lp[p] = np.exp(lp[p] - top)
            total += lp[p]
        loglik += counts[i] * (top + np.log(total))
        for p in range(lo, hi):
            r = counts[i] * lp[p - lo] / total
            reads[centre[p]] += r
            for k in range(16):
                aligned[k] += r * tables[p, k]
    return reads, aligned, loglik


@njit(cache=True)
def _log_sequence_probs(ptr, centre, tables, log_w, log_q):
    """log sum_c w_c P_ic of each sequence (its log-probability under the mixture)."""
    out = np.empty(ptr.size - 1)
    lp = np.empty(16)
    for i in range(ptr.size - 1):
        lo, hi = ptr[i], ptr[i + 1]
        if hi - lo > lp.size:
            lp = np.empty(hi - lo)
        _pair_log_probs(tables, log_q, lo, hi, lp)
        top = -np.inf
        for p in range(lo, hi):
            lp[p - lo] += log_w[centre[p]]
            top = max(top, lp[p - lo])
        total = 0.0
        for p in range(hi - lo):
            total += np.exp(lp[p] - top)
        out[i] = top + np.log(total) if top > -np.inf else -np.inf
    return out


def _log(x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(x)


class ClonotypeMixtureModel(EMModel):
    """The EM contract for the clonotype mixture on a :class:`PairData`
    (module docstring), ``error_model`` ``"uniform"`` or ``"matrix"``."""

    params_type = ClonotypeParams
    constraints = {"weights": Simplex(), "substitution": Simplex(axis=-1)}

    def __init__(self, error_model: str = "uniform"):
        self.error_model = error_model

    def initialize(self, data: PairData, rng: np.random.Generator) -> ClonotypeParams:
        """Weights from the clonotypes' own counts, jittered; a uniform error
        rate drawn from [0.1%, 2%]."""
        w = data.centre_counts * rng.uniform(0.5, 1.5, data.n_centres)
        return ClonotypeParams(w / w.sum(), uniform_substitution(rng.uniform(0.001, 0.02)))

    def e_step(self, data: PairData, params: ClonotypeParams):
        reads, aligned, ll = _e_step(data.counts, data.ptr, data.centre, data.tables,
                                     _log(params.weights), _log(params.substitution).ravel())
        return _Stats(reads, aligned), float(ll)

    def log_sequence_probs(self, data: PairData, params: ClonotypeParams) -> np.ndarray:
        """``log sum_c w_c P_ic`` for every sequence of ``data``."""
        return _log_sequence_probs(data.ptr, data.centre, data.tables,
                                   _log(params.weights), _log(params.substitution).ravel())

    def loglik(self, data: PairData, params: ClonotypeParams) -> float:
        return float(data.counts @ self.log_sequence_probs(data, params))

    def m_step(self, stats: _Stats, current: ClonotypeParams, fixed=None) -> ClonotypeParams:
        weights = stats.reads / stats.reads.sum()
        aligned = stats.aligned.reshape(4, 4)
        if self.error_model == "uniform":
            return ClonotypeParams(weights, uniform_substitution(aligned[_OFF_DIAGONAL].sum() / aligned.sum()))
        rows = aligned.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            substitution = np.where(rows > 0, aligned / rows, current.substitution)
        return ClonotypeParams(weights, substitution)
