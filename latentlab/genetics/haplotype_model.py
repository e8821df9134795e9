"""The EM contract for haplotype frequencies from unphased genotypes.

Model (Excoffier & Slatkin 1995, Mol. Biol. Evol. 12:921; Hawley & Kidd
1995): the two haplotypes of an individual are drawn independently from the
population frequencies ``p`` (Hardy-Weinberg at the haplotype level). The
genotype of individual ``i`` is compatible with a set ``S_i`` of unordered
pairs ``{h, k}``, so

    L_i(p) = sum_{{h,k} in S_i} c_hk p_h p_k,     c_hk = 2 if h != k else 1,

and the observed-data log-likelihood is ``l(p) = sum_i log L_i(p)`` -- exactly
the ``lnlike`` of haplo.stats' ``haplo.em`` (no constant terms; a missing
allele is summed over every allele observed at its locus).

E-step: the posterior of each pair and the expected haplotype counts,

    w_ihk = c_hk p_h p_k / L_i(p),     n_h = sum_i sum_{{h,k}} w_ihk (1{h} + 1{k}),

M-step (gene counting): ``p_h = n_h / (2 N)``, ``N`` the number of individuals.

Observed information (used for standard errors instead of the engine's
numerical Hessian, which would need O(H^2) log-likelihood evaluations): with
``n_ih`` the expected count of ``h`` in individual ``i``,

    d l / d p_h           = sum_i n_ih / p_h,
    d^2 l / d p_h d p_k   = sum_{i, pairs {h,k}} w_ihk (1 + 1{h=k}) / (p_h p_k)
                            - sum_i n_ih n_ik / (p_h p_k),

taken on the simplex through the coordinates ``p_1 .. p_{H-1}`` (``p_H`` the
remainder) and carried back by the delta method.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from .._warn import user_stacklevel
from ..em import EMModel, Simplex, Stats
from ..exceptions import BoundaryWarning
from .candidates import PhasePairs

__all__ = ["HaplotypeParams", "HaplotypeModel", "BOUNDARY_COUNT"]

#: a haplotype whose expected number of copies in the sample, ``2 N p_h``, is
#: below this is treated as on the boundary (frequency 0): it is held fixed and
#: gets no standard error.
BOUNDARY_COUNT = 1e-3

#: relative decrease of a frequency in one EM step beyond which it is taken to
#: be converging onto the boundary
SHRINKING = 1e-3

#: standard errors are computed for at most this many haplotypes (the most
#: frequent off the boundary); rarer ones are held fixed, so with more
#: candidates the errors are conditional on the rarest frequencies
MAX_FREE = 2000


@dataclass(frozen=True)
class HaplotypeParams:
    frequencies: np.ndarray  # (H,) haplotype frequencies, on the simplex


@dataclass(frozen=True)
class _Stats(Stats):
    counts: np.ndarray  # expected haplotype counts n_h (sum 2N)


class HaplotypeModel(EMModel):
    """Haplotype frequencies over a fixed set of candidate pairs (module docstring)."""

    params_type = HaplotypeParams
    constraints = {"frequencies": Simplex()}

    def initialize(self, data: PhasePairs, rng: np.random.Generator) -> HaplotypeParams:
        """Random pair posteriors (uniform, normalised per individual), then an M-step."""
        u = rng.uniform(size=data.n_pairs)
        total = np.bincount(data.individual, u, minlength=data.n_individuals)
        return self.m_step(_Stats(_expected_counts(data, u / total[data.individual])))

    def posteriors(self, data: PhasePairs, params: HaplotypeParams):
        """Pair posteriors ``w_ihk`` and the per-individual likelihoods ``L_i``."""
        p = params.frequencies
        w = data.multiplicity * p[data.first] * p[data.second]
        total = np.bincount(data.individual, w, minlength=data.n_individuals)
        with np.errstate(divide="ignore", invalid="ignore"):
            return w / total[data.individual], total

    def e_step(self, data: PhasePairs, params: HaplotypeParams):
        post, total = self.posteriors(data, params)
        with np.errstate(divide="ignore"):
            ll = float(np.sum(np.log(total)))
        return _Stats(_expected_counts(data, post)), ll

    def loglik(self, data: PhasePairs, params: HaplotypeParams) -> float:
        p = params.frequencies
        w = data.multiplicity * p[data.first] * p[data.second]
        with np.errstate(divide="ignore"):
            return float(np.sum(np.log(np.bincount(data.individual, w, minlength=data.n_individuals))))

    def m_step(self, stats: _Stats, current=None, fixed=None) -> HaplotypeParams:
        return HaplotypeParams(stats.counts / stats.counts.sum())

    def free_haplotypes(self, data: PhasePairs, params: HaplotypeParams) -> np.ndarray:
        """Haplotypes off the boundary, at most the ``MAX_FREE`` most frequent.

        On the boundary: expected copies ``2 N p_h`` below ``BOUNDARY_COUNT``,
        or a frequency that one more EM step would cut by more than
        ``SHRINKING`` (relative) -- EM is still carrying it to zero, the score
        pushes it out of the simplex and the point is not an interior maximum
        in that direction.
        """
        p = params.frequencies
        stats, _ = self.e_step(data, params)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = stats.counts / stats.counts.sum() / p
        free = (2.0 * data.n_individuals * p >= BOUNDARY_COUNT) & (ratio >= 1.0 - SHRINKING)
        if free.sum() > MAX_FREE:
            free[np.argsort(-np.where(free, p, -1.0), kind="stable")[MAX_FREE:]] = False
        return free

    def analytic_covariance(self, data: PhasePairs, params: HaplotypeParams) -> np.ndarray:
        """Covariance of ``p`` (H, H) from the observed information; NaN for
        haplotypes without a standard error (see :meth:`free_covariance`)."""
        idx, sub = self.free_covariance(data, params)
        H = params.frequencies.size
        cov = np.full((H, H), np.nan)
        cov[np.ix_(idx, idx)] = sub
        return cov

    def free_covariance(self, data: PhasePairs, params: HaplotypeParams):
        """``(idx, cov)``: the haplotypes with a standard error and their covariance
        from the observed information (module docstring).

        Haplotypes on the boundary get NaN. So do haplotypes along which the
        information is singular (a ridge of equally likely estimates, e.g. two
        rare haplotypes seen only in the same ambiguous individuals): they are
        found as the largest entries of the eigenvectors whose eigenvalues are
        below ``1e-10`` times the largest, held fixed (repeatedly, until the
        information is positive definite), and reported in a :class:`BoundaryWarning`.
        """
        free = self.free_haplotypes(data, params)
        kept, cov = np.zeros(0, dtype=np.int64), np.zeros((0, 0))
        n_ridge = 0
        while np.count_nonzero(free) >= 2:
            idx = np.flatnonzero(free)
            J = np.vstack([np.eye(idx.size - 1), -np.ones((1, idx.size - 1))])
            info = -J.T @ _hessian(data, params, self, free) @ J
            values, vectors = np.linalg.eigh(info)
            flat = values <= 1e-10 * max(values[-1], 0.0)
            if not flat.any():
                kept, cov = idx, J @ ((vectors / values) @ vectors.T) @ J.T
                break
            ridge = np.abs(vectors[:, flat])
            loads = np.append((ridge >= 0.5 * ridge.max(axis=0)).any(axis=1), False)
            free[idx[loads]] = False
            n_ridge += int(loads.sum())
        if n_ridge:
            warnings.warn(
                f"{self.name}: the information is singular along {n_ridge} haplotype frequencies "
                "(not identifiable from these data at this estimate); no standard error for them",
                BoundaryWarning,
                stacklevel=user_stacklevel(),
            )
        return kept, cov


def _expected_counts(data: PhasePairs, post: np.ndarray) -> np.ndarray:
    H = data.n_haplotypes
    return np.bincount(data.first, post, minlength=H) + np.bincount(data.second, post, minlength=H)


def _hessian(data: PhasePairs, params: HaplotypeParams, model: HaplotypeModel, free: np.ndarray) -> np.ndarray:
    """``d^2 l / dp dp'`` (module docstring) over the ``free`` haplotypes, dense.

    Pairs with a haplotype outside ``free`` add nothing to these entries
    except through the scores ``n_ih / p_h`` of their free member.
    """
    p = params.frequencies
    idx = np.flatnonzero(free)
    pos = np.full(p.size, -1, dtype=np.int64)
    pos[idx] = np.arange(idx.size)
    s, n = idx.size, data.n_individuals
    post, _ = model.posteriors(data, params)
    f1, f2 = pos[data.first], pos[data.second]
    both = (f1 >= 0) & (f2 >= 0)
    a = post[both] / (p[data.first[both]] * p[data.second[both]])
    homo = f1[both] == f2[both]
    rows = np.concatenate([f1[both], f2[both][~homo]])
    cols = np.concatenate([f2[both], f1[both][~homo]])
    vals = np.concatenate([np.where(homo, 2.0 * a, a), a[~homo]])
    second = sparse.coo_matrix((vals, (rows, cols)), shape=(s, s)).toarray()
    score_rows, score_cols, score_vals = [], [], []
    for f, h in ((f1, data.first), (f2, data.second)):
        ok = f >= 0
        score_rows.append(data.individual[ok])
        score_cols.append(f[ok])
        score_vals.append(post[ok] / p[h[ok]])
    scores = sparse.coo_matrix(
        (np.concatenate(score_vals), (np.concatenate(score_rows), np.concatenate(score_cols))), shape=(n, s)
    ).tocsr()
    return second - (scores.T @ scores).toarray()
