"""Transcript abundances by EM over equivalence classes (the EM contract).

Model (RSEM, Li & Dewey 2011; kallisto, Bray et al. 2016; salmon, Patro et
al. 2017): a fragment comes from transcript ``t`` with probability ``a_t``
(the fragment fraction) and then from one of its ``l_t`` start positions
(effective length) uniformly; a fragment of class ``j`` has conditional
probability ``w_jt`` given ``t``. The log-likelihood of class counts ``n_j``
is, up to a constant,

    l(a) = sum_j n_j log sum_{t in j} a_t c_jt,    c_jt = w_jt / l_t.

E-step: each class shares its fragments among its transcripts,
``r_jt = a_t c_jt / sum_u a_u c_ju``; the expected fragments of ``t`` are
``F_t = sum_j n_j r_jt``.

M-step: ``a_t = F_t / N`` (``N`` the fragments counted): the multinomial
maximum likelihood estimate of the complete data.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from numba import njit

from ..em import EMModel, Simplex, Stats
from .classes import EquivalenceClasses

__all__ = ["TranscriptParams", "TranscriptMixtureModel", "class_terms"]


@dataclass(frozen=True)
class TranscriptParams:
    fractions: np.ndarray  # (T,) fragment fraction a_t of each transcript, on the simplex


#: fractions at or below this are 0 in SQUAREM's log coordinates
_FLOOR = 1e-300


@dataclass(frozen=True)
class _Stats(Stats):
    fragments: np.ndarray  # (T,) expected fragments F_t


def class_terms(classes: EquivalenceClasses) -> np.ndarray:
    """``c_jt = w_jt / l_t`` at each class member."""
    return classes.weights / classes.effective_lengths[classes.members]


@njit(cache=True, nogil=True)
def _e_step(counts, ptr, members, terms, fractions):
    """Expected fragments per transcript and the log-likelihood."""
    fragments = np.zeros(fractions.size)
    loglik = 0.0
    for j in range(counts.size):
        n = counts[j]
        if n == 0.0:
            continue
        total = 0.0
        for p in range(ptr[j], ptr[j + 1]):
            total += fractions[members[p]] * terms[p]
        if not total > 0.0:
            return fragments, -np.inf
        loglik += n * np.log(total)
        scale = n / total
        for p in range(ptr[j], ptr[j + 1]):
            t = members[p]
            fragments[t] += fractions[t] * terms[p] * scale
    return fragments, loglik


@njit(cache=True, nogil=True)
def _loglik(counts, ptr, members, terms, fractions):
    loglik = 0.0
    for j in range(counts.size):
        if counts[j] == 0.0:
            continue
        total = 0.0
        for p in range(ptr[j], ptr[j + 1]):
            total += fractions[members[p]] * terms[p]
        if not total > 0.0:
            return -np.inf
        loglik += counts[j] * np.log(total)
    return loglik


@dataclass(frozen=True)
class ClassData:
    """What the E-step reads: the classes in CSR form ordered by their first
    transcript (neighbouring classes then read neighbouring fractions, which
    keeps the E-step in cache), their counts and terms ``c_jt``."""

    counts: np.ndarray
    ptr: np.ndarray
    members: np.ndarray
    terms: np.ndarray
    n_transcripts: int
    order: np.ndarray  # position of each class of the source in this order

    @classmethod
    def of(cls, classes: EquivalenceClasses) -> ClassData:
        order = np.argsort(classes.members[classes.ptr[:-1]], kind="stable")
        sizes = np.diff(classes.ptr)[order]
        ptr = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        take = np.repeat(classes.ptr[:-1][order] - ptr[:-1], sizes) + np.arange(ptr[-1])
        return cls(classes.counts[order], ptr, classes.members[take], class_terms(classes)[take],
                   classes.n_transcripts, order)

    def with_counts(self, counts: np.ndarray) -> ClassData:
        """The same classes with other counts (in the source's class order):
        a bootstrap or simulated replicate without sorting again."""
        return dataclasses.replace(self, counts=np.asarray(counts, dtype=float)[self.order])


class TranscriptMixtureModel(EMModel):
    """The EM contract for transcript fractions over equivalence classes
    (module docstring)."""

    params_type = TranscriptParams
    constraints = {"fractions": Simplex()}

    @staticmethod
    def data(classes: EquivalenceClasses) -> ClassData:
        return ClassData.of(classes)

    def initialize(self, data: ClassData, rng: np.random.Generator) -> TranscriptParams:
        """Uniform over the transcripts, jittered. It reads only the number
        of transcripts, so any partition of the classes gives the same start;
        a transcript in no class with fragments drops to 0 at the first
        M-step."""
        a = rng.uniform(0.5, 1.5, data.n_transcripts)
        return TranscriptParams(a / a.sum())

    def e_step(self, data: ClassData, params: TranscriptParams):
        fragments, ll = _e_step(data.counts, data.ptr, data.members, data.terms, params.fractions)
        return _Stats(fragments), float(ll)

    def loglik(self, data: ClassData, params: TranscriptParams) -> float:
        return float(_loglik(data.counts, data.ptr, data.members, data.terms, params.fractions))

    def m_step(self, stats: _Stats, current: TranscriptParams, fixed=None) -> TranscriptParams:
        return TranscriptParams(stats.fragments / stats.fragments.sum())

    def squarem_coordinates(self, params: TranscriptParams) -> np.ndarray:
        """``log a_t`` (0 kept as ``log 1e-300``): EM drives unsupported
        transcripts to 0 geometrically, a straight line in the logarithms, so
        SQUAREM extrapolates there instead of being pulled back at the
        simplex's boundary at every step (:mod:`latentlab.em.model`)."""
        return np.log(np.maximum(params.fractions, _FLOOR))

    def from_squarem_coordinates(self, z: np.ndarray, like: TranscriptParams) -> TranscriptParams:
        a = np.exp(z - z.max())
        a[a <= _FLOOR] = 0.0
        return TranscriptParams(a / a.sum())
