"""freed_memory_kept: glibc keeps freed blocks during a task where Dask's
MALLOC_TRIM_THRESHOLD_ would hand them back at once, and only then."""

import os
import subprocess
import sys
import textwrap

import pytest

from latentlab.em.freed_memory import _GLIBC

# A 16 MiB array freed: is the memory still resident afterwards? (glibc reads
# the variable at start-up, so each case runs in a fresh process.)
SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np, psutil
    from latentlab.em.freed_memory import freed_memory_kept
    rss = lambda: psutil.Process().memory_info().rss
    def kept_after_free():
        before = rss()
        a = np.ones(2 * 2**20)  # 16 MiB, written so that its pages are resident
        del a
        return rss() - before > 8 * 2**20
    if sys.argv[1] == "inside":
        with freed_memory_kept():
            print(kept_after_free())
    else:
        print(kept_after_free())
""")


def _kept(where: str, env: dict) -> bool:
    out = subprocess.run([sys.executable, "-c", SCRIPT, where], env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip() == "True"


@pytest.mark.skipif(_GLIBC is None, reason="glibc's mallopt is not available here")
def test_freed_memory_is_kept_inside_the_block_and_returned_outside():
    env = {**os.environ, "MALLOC_TRIM_THRESHOLD_": "65536"}
    assert _kept("inside", env)
    assert not _kept("outside", env)


def test_without_the_variable_the_block_leaves_glibc_alone():
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_TRIM_THRESHOLD_"}
    assert not _kept("inside", env)
