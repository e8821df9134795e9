"""freed_memory_kept: glibc keeps freed blocks during a task where the process
started with Dask's MALLOC_TRIM_THRESHOLD_, returns them again after the task,
and is left alone in a process that did not start with the variable."""

import os
import subprocess
import sys
import textwrap

import pytest

from latentlab.em.freed_memory import _GLIBC

pytest.importorskip("psutil")

# A 16 MiB array freed: is the memory still resident afterwards? (glibc reads
# the variable at start-up, so each case runs in a fresh process.)
SCRIPT = textwrap.dedent("""
    import os, sys
    import numpy as np, psutil
    rss = lambda: psutil.Process().memory_info().rss
    def kept_after_free():
        before = rss()
        a = np.ones(2 * 2**20)  # 16 MiB, written so that its pages are resident
        del a
        return rss() - before > 8 * 2**20
    if sys.argv[1] == "set later":  # as Dask's nanny does in the client before it starts workers
        os.environ["MALLOC_TRIM_THRESHOLD_"] = "65536"
    from latentlab.em.freed_memory import freed_memory_kept
    if sys.argv[1] == "after":
        with freed_memory_kept():
            pass
        print(kept_after_free())
    else:
        with freed_memory_kept():
            print(kept_after_free())
""")


def _kept(case: str, trim: str | None) -> bool:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_TRIM_THRESHOLD_"}
    if trim is not None:
        env["MALLOC_TRIM_THRESHOLD_"] = trim
    out = subprocess.run([sys.executable, "-c", SCRIPT, case], env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip() == "True"


@pytest.mark.skipif(_GLIBC is None, reason="glibc's mallopt is not available here")
def test_freed_memory_is_kept_inside_the_block_and_returned_after_it():
    assert _kept("inside", "65536")
    assert not _kept("after", "65536")


def test_a_process_that_did_not_start_with_the_variable_is_left_alone():
    assert not _kept("inside", None)
    assert not _kept("set later", None)
