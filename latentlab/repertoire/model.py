"""The clonotype mixture: reads from true clonotypes through a substitution
error process, for a given set of clonotypes (the EM contract).

Model (the amplicon-denoising likelihood of DADA2, Callahan et al. 2016, with
substitutions only): each read comes from clonotype ``c`` with probability
``w_c`` and each of its bases is copied from the clonotype's base ``a`` as
``b`` with probability ``Q_q[a, b]`` (a 4 x 4 row-stochastic substitution
matrix for the read's quality class ``q``; one class when qualities are not
given), independently along the sequence. A row ``i`` of the data is a
distinct sequence ``s_i`` in quality class ``q_i``, and

    P_ic = prod_{a, b} Q_{q_i}[a, b] ** T_ic[a, b]

with ``T_ic`` the counts of aligned bases (``c``'s base ``a`` against
``s_i``'s ``b``; positions where either is ``N`` are left out). With
``error_model="uniform"`` ``Q`` has one parameter, the per-base error rate
``e`` per class: ``Q[a, a] = 1 - e`` and ``Q[a, b] = e / 3`` otherwise. Only pairs
within the candidate bound enter the sum (a read further than ``max_distance``
from every clonotype is left unassigned by the estimator).

Observed-data log-likelihood over distinct sequences with counts ``n_i``:

    l = sum_i n_i log sum_c w_c P_ic

E-step: ``r_ic = w_c P_ic / sum_d w_d P_id``; expected reads per clonotype
``N_c = sum_i n_i r_ic`` and expected aligned-base counts per quality class
``S_q[a, b] = sum_{i: q_i = q} n_i sum_c r_ic T_ic[a, b]``.

M-step: ``w_c = N_c / sum_d N_d``; ``Q_q[a, b] = S_q[a, b] / sum_b' S_q[a, b']``
(matrix), or ``e_q = sum_{a != b} S_q[a, b] / sum_{a, b} S_q[a, b]``
(uniform): the multinomial maximum likelihood estimates of the complete data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from ..em import EMModel, Simplex, Stats

__all__ = ["ClonotypeParams", "ClonotypeMixtureModel", "PairData", "uniform_substitution", "error_rates"]

ERROR_MODELS = ("uniform", "matrix")
_OFF_DIAGONAL = ~np.eye(4, dtype=bool)


@dataclass(frozen=True)
class ClonotypeParams:
    weights: np.ndarray  # (K,) share of reads from each clonotype, on the simplex
    substitution: np.ndarray  # (n_classes, 4, 4) Q_q[a, b], each row on the simplex


@dataclass(frozen=True)
class PairData:
    """Rows (distinct sequences, or sequence and quality class) with at least
    one candidate clonotype, in CSR form: the pairs of row ``i`` are
    ``ptr[i]:ptr[i + 1]``, each with its clonotype index ``centre`` and
    aligned-base table ``tables`` (16 counts, ``4 * parent_base + read_base``)."""

    counts: np.ndarray  # (M,) reads of each row
    classes: np.ndarray  # (M,) quality class of each row, 0 .. n_classes - 1
    n_classes: int
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
    aligned: np.ndarray  # (n_classes, 16) S_q[a, b], flattened


def uniform_substitution(rate) -> np.ndarray:
    """Matrices with ``1 - rate`` on the diagonal and ``rate / 3`` off it, one
    per entry of ``rate``: shape ``np.shape(rate) + (4, 4)``."""
    r = np.asarray(rate, dtype=float)[..., None, None]
    return np.where(_OFF_DIAGONAL, r / 3.0, 1.0 - r)


def error_rates(substitution: np.ndarray, composition=None) -> np.ndarray:
    """Probability that a base is misread in each quality class: the
    off-diagonal mass of each row of ``Q_q``, averaged over the clonotypes'
    base composition (equal weights if None)."""
    per_base = 1.0 - np.diagonal(substitution, axis1=-2, axis2=-1)
    comp = np.full(4, 0.25) if composition is None else np.asarray(composition, float) / np.sum(composition)
    return per_base @ comp


@njit(cache=True)
def _pair_log_probs(tables, log_q, q, lo, hi, out):
    """``log P_ic`` of the pairs ``lo:hi`` under class ``q``'s matrix, into ``out``."""
    for p in range(lo, hi):
        v = 0.0
        for k in range(16):
            if tables[p, k] > 0:
                v += tables[p, k] * log_q[q, k]
        out[p - lo] = v


@njit(cache=True)
def _e_step(counts, classes, ptr, centre, tables, log_w, log_q):
    """Expected reads per clonotype, expected aligned-base counts per quality
    class and the log-likelihood (module docstring)."""
    reads = np.zeros(log_w.size)
    aligned = np.zeros(log_q.shape)
    loglik = 0.0
    width = 1
    for i in range(counts.size):
        width = max(width, ptr[i + 1] - ptr[i])
    lp = np.empty(width)
    for i in range(counts.size):
        lo, hi, q = ptr[i], ptr[i + 1], classes[i]
        _pair_log_probs(tables, log_q, q, lo, hi, lp)
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
                aligned[q, k] += r * tables[p, k]
    return reads, aligned, loglik


@njit(cache=True)
def _log_sequence_probs(classes, ptr, centre, tables, log_w, log_q):
    """log sum_c w_c P_ic of each row (its log-probability under the mixture)."""
    out = np.empty(ptr.size - 1)
    lp = np.empty(16)
    for i in range(ptr.size - 1):
        lo, hi = ptr[i], ptr[i + 1]
        if hi - lo > lp.size:
            lp = np.empty(hi - lo)
        _pair_log_probs(tables, log_q, classes[i], lo, hi, lp)
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
    (module docstring), ``error_model`` ``"uniform"`` or ``"matrix"`` (each
    quality class has its own)."""

    params_type = ClonotypeParams
    constraints = {"weights": Simplex(), "substitution": Simplex(axis=-1)}

    def __init__(self, error_model: str = "uniform"):
        self.error_model = error_model

    def initialize(self, data: PairData, rng: np.random.Generator) -> ClonotypeParams:
        """Weights from the clonotypes' own counts, jittered; one uniform
        error rate drawn from [0.1%, 2%] for every quality class."""
        w = data.centre_counts * rng.uniform(0.5, 1.5, data.n_centres)
        rate = np.full(data.n_classes, rng.uniform(0.001, 0.02))
        return ClonotypeParams(w / w.sum(), uniform_substitution(rate))

    def e_step(self, data: PairData, params: ClonotypeParams):
        reads, aligned, ll = _e_step(data.counts, data.classes, data.ptr, data.centre, data.tables,
                                     _log(params.weights), _log(params.substitution).reshape(-1, 16))
        return _Stats(reads, aligned), float(ll)

    def log_sequence_probs(self, data: PairData, params: ClonotypeParams) -> np.ndarray:
        """``log sum_c w_c P_ic`` for every row of ``data``."""
        return _log_sequence_probs(data.classes, data.ptr, data.centre, data.tables,
                                   _log(params.weights), _log(params.substitution).reshape(-1, 16))

    def loglik(self, data: PairData, params: ClonotypeParams) -> float:
        return float(data.counts @ self.log_sequence_probs(data, params))

    def m_step(self, stats: _Stats, current: ClonotypeParams, fixed=None) -> ClonotypeParams:
        weights = stats.reads / stats.reads.sum()
        aligned = stats.aligned.reshape(-1, 4, 4)
        if self.error_model == "uniform":
            total = aligned.sum(axis=(1, 2))
            with np.errstate(invalid="ignore", divide="ignore"):
                rate = np.where(total > 0, aligned[:, _OFF_DIAGONAL].sum(axis=1) / total,
                                error_rates(current.substitution))
            return ClonotypeParams(weights, uniform_substitution(rate))
        rows = aligned.sum(axis=2, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            substitution = np.where(rows > 0, aligned / rows, current.substitution)
        return ClonotypeParams(weights, substitution)
