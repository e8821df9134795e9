"""Observed information of mixture weights when each unit is compatible with
few components (clonotypes, transcripts): block-sparse, inverted block by block.

For a log-likelihood ``l(w) = sum_i n_i log f_i`` with ``f_i = sum_k w_k c_ik``
(``c_ik >= 0`` known: the component densities at unit ``i``), the Hessian in
the weights is exactly ``-I`` with

    I = sum_i n_i g_i g_i^T,   g_ik = c_ik / f_i,

so ``I = G^T G`` for the sparse matrix ``G_ik = sqrt(n_i) g_ik``. Components
that never share a unit are uncoupled: ``I`` is block diagonal over the
connected components of the graph "share a unit", and each block is inverted
on its own. With the constraint ``sum_k w_k = 1`` the covariance of the
estimates is (Aitchison & Silvey 1958)

    Sigma = I^-1 - a a^T / (1^T a),   a = I^-1 1,

which for components that share nothing reduces to the multinomial
``w_k (1 - w_k) / N``. Components held out (``free`` False: weights at 0, on
the boundary, where no Wald interval exists) are left out of ``I`` and get no
variance; their weight is 0 and contributes nothing to linear combinations. A
block whose information is singular (to 1e-10 relative: components the data
cannot tell apart) gets no variance for the members along its uninformed
directions (NaN); it enters ``a`` and
linear combinations through its Moore-Penrose inverse, which gives the exact
variance of the combinations the data do inform (e.g. the total of
components with identical columns, as if they were merged) and keeps the
constraint's correction of every other component right.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

__all__ = ["SparseSimplexInformation"]


class SparseSimplexInformation:
    """``Sigma`` (module docstring) for ``G`` (units x components, sparse)."""

    def __init__(self, G, free=None):
        G = sparse.csc_matrix(G)
        k = G.shape[1]
        self.free = np.ones(k, dtype=bool) if free is None else np.asarray(free, dtype=bool)
        self._index = np.flatnonzero(self.free)
        info = (G[:, self._index].T @ G[:, self._index]).tocsr()
        n_blocks, label = connected_components(info, directed=False)
        order = np.argsort(label, kind="stable")
        bounds = np.searchsorted(label[order], np.arange(n_blocks + 1))
        self._blocks = []  # (members, inverse) of each block with more than one member
        diag = info.diagonal()
        if np.any(diag <= 0):
            raise ValueError("a free component has no information (it is compatible with no observed unit)")
        self._single_inverse = 1.0 / diag  # for one-member blocks; 0 for members of larger blocks
        self._singular = np.zeros(self._index.size, dtype=bool)
        for b in np.flatnonzero(np.diff(bounds) > 1):
            members = order[bounds[b]:bounds[b + 1]]
            block = info[members][:, members].toarray()
            eig = np.linalg.eigvalsh(block)
            self._single_inverse[members] = 0.0
            if eig[0] <= 1e-10 * eig[-1]:  # directions the data do not inform: no finite variance along them
                inverse = np.linalg.pinv(block, hermitian=True)
                in_range = np.abs(np.diag(block @ inverse) - 1.0) < 1e-8  # e_k in the range of the block
                self._singular[members[~in_range]] = True
                self._blocks.append((members, inverse))
                continue
            self._blocks.append((members, np.linalg.inv(block)))
        self._a = self._solve(np.ones(self._index.size))
        self._total = self._a.sum()

    def _solve(self, v: np.ndarray) -> np.ndarray:
        """``I^-1 v`` for a vector ``v`` over the free components."""
        out = self._single_inverse * v
        for members, inv in self._blocks:
            out[members] = inv @ v[members]
        return out

    def variances(self) -> np.ndarray:
        """Diagonal of ``Sigma`` (NaN for components not free)."""
        diag = self._single_inverse.copy()
        for members, inv in self._blocks:
            diag[members] = np.diag(inv)
        out = np.full(self.free.size, np.nan)
        out[self._index] = np.where(self._singular, np.nan, np.maximum(diag - self._a ** 2 / self._total, 0.0))
        return out

    def covariance_with(self, v) -> np.ndarray:
        """``Sigma v``: the covariance of every weight with the linear
        combination ``v^T w`` (0 for components not free)."""
        v = np.asarray(v, dtype=float)[self._index]
        out = np.zeros(self.free.size)
        out[self._index] = self._solve(v) - self._a * (self._a @ v) / self._total
        return out

    def quadratic(self, S) -> np.ndarray:
        """``diag(S^T Sigma S)`` for a sparse (or dense) ``S`` (components x
        m): the variance of each linear combination ``S[:, j]^T w``."""
        S = sparse.csr_matrix(S)[self._index]
        out = np.asarray(S.multiply(S).T @ self._single_inverse).ravel()
        for members, inv in self._blocks:
            block = S[members]
            cols = np.unique(block.indices)
            if cols.size:
                dense = block[:, cols].toarray()
                out[cols] += np.einsum("kj,kj->j", dense, inv @ dense)
        out -= np.asarray(S.T @ self._a).ravel() ** 2 / self._total
        return np.maximum(out, 0.0)
