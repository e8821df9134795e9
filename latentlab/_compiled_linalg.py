"""Small dense linear algebra for numba kernels: an in-place Cholesky factor
and the solves that use it, for the few-by-few blocks of the state-space
filter and of the missing-data E-step, and a normal-equations solve that
drops collinear columns, for the regressions of interval mapping (plain loops
beat LAPACK calls at these sizes)."""

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


@nb.njit(cache=True)
def normal_equations_solve(A, b, m):
    """Solve the normal equations ``A[:m, :m] x = b[:m]`` (``A`` symmetric
    positive semi-definite) in place, dropping a column whose pivot falls
    below ``1e-10`` of its diagonal (collinear with the earlier ones) as a
    pivoted Cholesky would: its coefficient is 0 and ``x`` is still a
    least-squares solution. ``A`` is overwritten by the factor, ``b`` by ``x``;
    returns which columns were kept."""
    kept = np.zeros(m, dtype=np.bool_)
    for j in range(m):
        d = A[j, j]
        s = d
        for k in range(j):
            if kept[k]:
                s -= A[j, k] * A[j, k]
        if not (d > 0.0 and s > 1e-10 * d):
            continue
        kept[j] = True
        ljj = np.sqrt(s)
        A[j, j] = ljj
        for i in range(j + 1, m):
            t = A[i, j]
            for k in range(j):
                if kept[k]:
                    t -= A[i, k] * A[j, k]
            A[i, j] = t / ljj
    for i in range(m):
        if not kept[i]:
            continue
        s = b[i]
        for k in range(i):
            if kept[k]:
                s -= A[i, k] * b[k]
        b[i] = s / A[i, i]
    for i in range(m - 1, -1, -1):
        if not kept[i]:
            b[i] = 0.0
            continue
        s = b[i]
        for k in range(i + 1, m):
            if kept[k]:
                s -= A[k, i] * b[k]
        b[i] = s / A[i, i]
    return kept
