"""The simulator of benchmarks/scale_projection.py (docs/scale.md's projection
to 100 workers) against passes whose time follows by hand."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from latentlab.em.partitions import _tree_sum

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "scale_projection.py"
_spec = importlib.util.spec_from_file_location("scale_projection", _PATH)
sim = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sim)


def _costs(part=1.0, add=0.0, hop=0.0, task=0.0, m_step=0.0):
    return {"part": [part], "add": [add], "hop": [hop], "task": task, "m_step": m_step}


@pytest.mark.parametrize("n_parts", [1, 2, 5, 8, 13])
def test_the_sum_tree_is_the_one_partitions_build(n_parts):
    sums, root = sim._sum_tree(n_parts)
    built = []

    def add(a, b):
        built.append((a, b))
        return n_parts + len(built) - 1

    assert _tree_sum(list(range(n_parts)), add) == root
    assert built == sums


def test_one_worker_does_everything_in_turn():
    seconds = sim.simulate_pass(7, 1, _costs(part=1.0, add=0.1, hop=0.5, m_step=0.2), np.random.default_rng(0))
    # parameters out (0.5), 7 E-steps, 6 sums on the same worker (no transfer), result back (0.5), M-step
    assert seconds == pytest.approx(0.5 + 7 + 0.6 + 0.5 + 0.2)


def test_equal_partitions_share_the_workers_evenly():
    seconds = sim.simulate_pass(40, 10, _costs(part=1.0), np.random.default_rng(0))
    assert seconds == pytest.approx(4.0)


def test_the_scheduler_bounds_a_pass_of_tiny_tasks():
    seconds = sim.simulate_pass(100, 10, _costs(part=0.0, task=0.001), np.random.default_rng(0))
    assert seconds == pytest.approx((2 * 100 - 1) * 0.001)
