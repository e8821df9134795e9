"""Freed memory kept for reuse during a partition's E-step on a Dask worker.

Dask's nannies start worker processes with ``MALLOC_TRIM_THRESHOLD_=65536``
(``distributed.nanny.pre-spawn-environ``) so that glibc hands freed memory back
to the system at once. Setting that variable also fixes glibc's threshold for
serving an allocation by ``mmap`` at 128 KiB (without it the threshold rises to
the size of the blocks a program frees, up to 32 MiB: ``mallopt(3)``), so every
large temporary array of an E-step is mapped afresh and faulted in page by
page; measured on a Gaussian-mixture E-step of 10^6 rows, 2.7 to 3 times as
long as in a process without the variable (``docs/scale.md``).

:func:`freed_memory_kept` sets, for the length of the block, an mmap threshold
of 32 MiB (glibc's largest dynamic value) and no trimming, so blocks of up to
32 MiB freed by the E-step are reused; when the outermost block ends it puts
back the thresholds the process started with, so that the worker goes on
returning freed memory as Dask intends (measured: a Gaussian-mixture E-step
of 10^6 rows, 10 dimensions, left the process 20 MB larger; calling
``malloc_trim`` after each task as well would return that too but cost 0.1 s
per task in faulting the heap in again). Blocks running at once in threads
of one worker share one setting: it is made by the first to enter and undone
by the last to leave. It does nothing where the process did not start with
the variable (read from ``/proc/self/environ``, the environment glibc saw:
a client process whose ``os.environ`` Dask updated before starting workers
is left alone) or where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import sys
import threading
from contextlib import contextmanager

__all__ = ["freed_memory_kept"]

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameters (malloc.h)
_MMAP_MAX = 32 * 2**20  # glibc's largest dynamic mmap threshold on 64-bit systems
_MMAP_DEFAULT = 128 * 2**10
_INT_MAX = 2**31 - 1  # mallopt takes a C int


def _glibc():
    """glibc's ``mallopt``, or None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return None
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt


def _startup_environment() -> dict[str, str]:
    """The environment this process started with (what glibc read), or {} where it cannot be read."""
    try:
        with open("/proc/self/environ", "rb") as f:
            entries = f.read().split(b"\0")
    except OSError:
        return {}
    pairs = (e.decode(errors="replace").partition("=") for e in entries if b"=" in e)
    return {name: value for name, _, value in pairs}


def _threshold(environ: dict, name: str, default: int | None) -> int | None:
    """A glibc threshold variable's value (an integer, clamped to a C int), or ``default``."""
    value = environ.get(name, "").strip()
    return min(int(value), _INT_MAX) if value.isdigit() else default


_GLIBC = _glibc()
_STARTUP = _startup_environment()
_LOCK = threading.Lock()
_depth = 0


@contextmanager
def freed_memory_kept():
    """Within the block, glibc keeps freed blocks of up to 32 MiB for reuse
    (module docstring); a no-op unless the process started with ``MALLOC_TRIM_THRESHOLD_``."""
    global _depth
    trim = _threshold(_STARTUP, "MALLOC_TRIM_THRESHOLD_", None)
    if trim is None or _GLIBC is None:
        yield
        return
    with _LOCK:
        if _depth == 0:
            _GLIBC(_M_MMAP_THRESHOLD, _MMAP_MAX)
            _GLIBC(_M_TRIM_THRESHOLD, _INT_MAX)
        _depth += 1
    try:
        yield
    finally:
        with _LOCK:
            _depth -= 1
            if _depth == 0:
                _GLIBC(_M_TRIM_THRESHOLD, trim)
                _GLIBC(_M_MMAP_THRESHOLD, _threshold(_STARTUP, "MALLOC_MMAP_THRESHOLD_", _MMAP_DEFAULT))
