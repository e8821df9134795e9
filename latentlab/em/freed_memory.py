"""Freed memory kept for reuse during a partition's E-step on a Dask worker.

Dask's nannies start worker processes with ``MALLOC_TRIM_THRESHOLD_=65536``
(``distributed.nanny.pre-spawn-environ``) so that glibc hands freed memory back
to the system at once. Setting that variable also fixes glibc's threshold for
serving an allocation by ``mmap`` at 128 KiB (it otherwise rises to the size of
the blocks a program frees, up to 32 MiB: ``mallopt(3)``), so every large
temporary array of an E-step is mapped afresh and faulted in page by page;
measured on a Gaussian-mixture E-step of 10^6 rows, 2.7 to 3 times as long as
in a process without the variable (``docs/scale.md``).

:func:`freed_memory_kept` restores glibc's ordinary behaviour for the length of
one task (mmap threshold 32 MiB, no trimming) and, when the task ends, puts
back the thresholds the environment asked for, so that the worker goes on
returning freed memory as Dask intends (measured: a Gaussian-mixture E-step
of 10^6 rows, 10 dimensions, left the process 20 MB larger; calling
``malloc_trim`` after each task as well would return that too but cost 0.1 s
per task in faulting the heap in again). It does nothing where the variable
is not set or the C library is not glibc. The
thresholds are per process: concurrent tasks in threads of one worker share
them, which can only make a task keep memory longer, never change a result.
"""

from __future__ import annotations

import ctypes
import os
import sys
from contextlib import contextmanager

__all__ = ["freed_memory_kept"]

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameters (malloc.h)
_MMAP_MAX = 32 * 2**20  # glibc's largest dynamic mmap threshold on 64-bit systems
_MMAP_DEFAULT = 128 * 2**10
_NO_TRIM = 2**31 - 1


def _glibc():
    """glibc's ``mallopt``, or None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return None


_GLIBC = _glibc()


def _threshold(name: str, default: int | None) -> int | None:
    """The environment's value of a glibc threshold variable (an integer), or ``default``."""
    value = os.environ.get(name)
    return int(value) if value is not None and value.strip().isdigit() else default


@contextmanager
def freed_memory_kept():
    """Within the block, glibc keeps freed blocks of up to 32 MiB for reuse
    (module docstring); a no-op unless ``MALLOC_TRIM_THRESHOLD_`` is set."""
    trim = _threshold("MALLOC_TRIM_THRESHOLD_", None)
    if trim is None or _GLIBC is None:
        yield
        return
    mallopt = _GLIBC
    mallopt(_M_MMAP_THRESHOLD, _MMAP_MAX)
    mallopt(_M_TRIM_THRESHOLD, _NO_TRIM)
    try:
        yield
    finally:
        mallopt(_M_TRIM_THRESHOLD, trim)
        mallopt(_M_MMAP_THRESHOLD, _threshold("MALLOC_MMAP_THRESHOLD_", _MMAP_DEFAULT))
