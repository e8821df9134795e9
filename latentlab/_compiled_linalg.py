"""Small dense linear algebra for numba kernels: an in-place Cholesky factor
and the solves that use it, for the few-by-few blocks of the state-space
filter and of the missing-data E-step (plain loops beat LAPACK calls at
these sizes)."""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True)
def cholesky(F, m):
    """Lower Cholesky factor of ``F[:m, :m]`` in place; False if not positive definite."""
    for j in range(m):
        s = F[j, j]
        for k in range(j):
            s -= F[j, k] * F[j, k]
        if not s > 0.0:
            return False
        ljj = np.sqrt(s)
        F[j, j] = ljj
        for i in range(j + 1, m):
            s = F[i, j]
            for k in range(j):
                s -= F[i, k] * F[j, k]
            F[i, j] = s / ljj
    return True


@nb.njit(cache=True)
def cho_solve(L, m, B, ncol):
    """Solve ``(L L') X = B[:m, :ncol]`` in place, ``L`` from :func:`cholesky`."""
    for c in range(ncol):
        for i in range(m):
            s = B[i, c]
            for k in range(i):
                s -= L[i, k] * B[k, c]
            B[i, c] = s / L[i, i]
        for i in range(m - 1, -1, -1):
            s = B[i, c]
            for k in range(i + 1, m):
                s -= L[k, i] * B[k, c]
            B[i, c] = s / L[i, i]
