"""Linear algebra shared by the engine and the emission components."""

from __future__ import annotations

import numpy as np

from .exceptions import NumericalError


def inverse_cholesky(matrix: np.ndarray, message: str) -> np.ndarray:
    """``L^{-1}`` for the lower Cholesky factor ``L`` of ``matrix`` (or of each
    matrix of a stack), so that ``matrix^{-1} = L^{-T} L^{-1}`` and
    ``log |matrix|^{-1/2} = sum log diag(L^{-1})``; a matrix that is not
    positive definite raises :class:`NumericalError` with ``message``."""
    try:
        chol = np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        raise NumericalError(message) from None
    return np.linalg.inv(chol)
