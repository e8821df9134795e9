"""The vector product with a matrix's columns (LLVM IR through numba) against
numpy's, over row lengths of one to three chunks and odd and even numbers of
columns."""

import numpy as np
import pytest
from numba import njit
from numba.core.errors import TypingError

from latentlab.hmm._simd import CHUNK, matvec_columns


@njit
def _apply(columns, v, out, n):
    matvec_columns(columns, v, out, n)


@pytest.mark.parametrize("n", [1, 2, 9, 13, 20, 24])
def test_matvec_columns_equals_numpy(n):
    rng = np.random.default_rng(n)
    width = -(-n // CHUNK) * CHUNK
    columns = np.zeros((n, width))
    columns[:, :n] = rng.normal(size=(n, n))
    v = rng.normal(size=width)
    out = np.full(width + 3, 7.0)  # past the row length nothing is written
    _apply(columns, v, out, n)
    np.testing.assert_allclose(out[:width], columns.T @ v[:n], rtol=1e-13, atol=1e-13)
    np.testing.assert_array_equal(out[:width][n:], 0.0)
    np.testing.assert_array_equal(out[width:], 7.0)


def test_matvec_columns_reads_only_the_first_n_entries():
    columns = np.ones((3, CHUNK))
    v = np.array([1.0, 2.0, 4.0, np.nan])
    out = np.empty(CHUNK)
    _apply(columns, v, out, 3)
    np.testing.assert_array_equal(out, 7.0)


def test_matvec_columns_refuses_strided_vectors():
    columns = np.ones((2, CHUNK))
    with pytest.raises(TypingError):
        _apply(columns, np.ones(2 * CHUNK)[::2], np.empty(CHUNK), 2)
