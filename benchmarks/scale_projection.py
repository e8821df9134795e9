"""A pass of EM on 100 workers and 10^10 rows, simulated task by task from costs
measured here (issue 21; docs/scale.md, "Projection").

1. Measure, on a ``LocalCluster`` of 2 single-thread workers, a
   3-component, 10-dimensional Gaussian mixture (full covariances) fitted by
   plain EM to ``N_PARTS`` partitions of 10^6 rows kept on the workers
   (Dask's default worker environment): Dask's task stream gives the compute
   time of every partition's E-step and of every pairwise sum, and the time
   of every transfer between workers; the M-step and the scheduler's cost
   per task (2,000 trivial tasks submitted at once) are timed here.
2. Check the simulator against the measured seconds per pass on 1 and 2
   workers, each simulated from its own run's costs.
3. Project: ``P`` partitions of 10^6 rows on ``W`` workers, each task's
   time drawn from the 2-worker run (where two workers share the machine, as
   workers of a cluster node do).

The simulator (:func:`simulate_pass`) replays what ``Partitions.map_sum``
asks of Dask: the parameters travel to the workers (one transfer), a task
per partition on the worker that holds it (partitions spread evenly), the
pairwise sums of ``_tree_sum`` level by level, each on the worker of its
left operand after fetching the right one if it lives elsewhere, one
result back, the M-step here. The scheduler hands out one task at a time at
its measured cost per task; a worker runs its tasks one after the other in
the order they were handed out. What it leaves out: contention for the
network or the storage (a cluster's storage must serve the reads of an
out-of-core fit: see docs/scale.md), and workers of unequal speed.

Run from the repository root: ``PYTHONPATH=. python benchmarks/scale_projection.py``
(needs ``pip install latentlab[dask]``).
"""

from __future__ import annotations

import heapq
import time

import numpy as np

ROWS, N_PARTS, N_ITER, D = 1_000_000, 8, 6, 10
WEIGHTS = np.array([0.3, 0.3, 0.4])
MEANS = np.random.default_rng(0).normal(scale=3.0, size=(3, D))
PROJECTIONS = [(2, 8), (10, 1_000), (100, 10_000), (100, 1_000)]  # (workers, partitions of 10^6 rows)


def _sum_tree(n_parts: int) -> tuple[list, int]:
    """The pairwise sums of ``_tree_sum`` over ``n_parts`` results: a list
    of (left, right) node ids for the sums (node ``n_parts + k`` is sum ``k``;
    nodes below ``n_parts`` the partitions) and the root's id."""
    sums, level, node = [], list(range(n_parts)), n_parts
    while len(level) > 1:
        pairs = []
        for i in range(0, len(level) - 1, 2):
            sums.append((level[i], level[i + 1]))
            pairs.append(node)
            node += 1
        level = pairs + ([level[-1]] if len(level) % 2 else [])
    return sums, level[0]


def simulate_pass(n_parts: int, n_workers: int, costs: dict, rng: np.random.Generator) -> float:
    """Seconds of one pass (module docstring) with ``n_parts`` partitions on
    ``n_workers`` workers; ``costs`` holds arrays of measured seconds,
    ``part`` (a partition's E-step), ``add`` (one pairwise sum), ``hop`` (one
    transfer), and the numbers ``task`` (the scheduler's cost per task) and
    ``m_step``; each task's time is drawn from its array. Event by event: the
    scheduler hands out the ready task that became ready first."""
    def draw(key):
        return float(rng.choice(costs[key]))

    sums, root = _sum_tree(n_parts)
    parent, waiting = {}, {}
    for k, (a, b) in enumerate(sums):
        parent[a] = parent[b] = n_parts + k
        waiting[n_parts + k] = 2
    finish, where = {}, {}
    free = np.zeros(n_workers)  # when each worker is done with what it has been handed
    scheduler = 0.0
    start = draw("hop")  # the parameters reach the workers
    ready = [(start, node) for node in range(n_parts)]  # (time the task became ready, node)
    while ready:
        t_ready, node = heapq.heappop(ready)
        scheduler = max(scheduler, t_ready) + costs["task"]
        if node < n_parts:
            w, fetch, work = node % n_workers, 0.0, draw("part")
        else:
            a, b = sums[node - n_parts]
            w = where[a]
            fetch, work = (draw("hop") if where[b] != w else 0.0), draw("add")
        free[w] = max(free[w], scheduler) + fetch + work
        finish[node], where[node] = free[w], w
        if node != root:
            up = parent[node]
            waiting[up] -= 1
            if waiting[up] == 0:
                a, b = sums[up - n_parts]
                heapq.heappush(ready, (max(finish[a], finish[b]), up))
    return finish[root] + draw("hop") + costs["m_step"]


def _measure(n_workers: int, parts, model, start) -> tuple[float, dict]:
    """Seconds per pass and the task stream's costs on a LocalCluster of ``n_workers``."""
    from distributed import Client, LocalCluster, get_task_stream

    from latentlab import fit_em
    from latentlab.em.partitions import PartitionedModel, Partitions, _identity

    with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      memory_limit="4GB") as cluster, Client(cluster) as client:
        data = Partitions(parts, client=client)
        stamps = []
        with get_task_stream(client) as stream:
            fit_em(PartitionedModel(model), data, init_params=start, tol=0, max_iter=N_ITER,
                   callback=lambda *a: stamps.append(time.perf_counter()))
        t = time.perf_counter()
        client.gather(client.map(_identity, range(2000), pure=False))
        per_task = (time.perf_counter() - t) / 2000
    costs = {"part": [], "add": [], "hop": [], "task": per_task}
    for record in stream.data:
        name = record["key"] if isinstance(record["key"], str) else record["key"][0]
        for ss in record["startstops"]:
            seconds = ss["stop"] - ss["start"]
            if ss["action"] == "transfer":
                costs["hop"].append(seconds)
            elif ss["action"] == "compute" and name.startswith("_e_step"):
                costs["part"].append(seconds)
            elif ss["action"] == "compute" and name.startswith("_add"):
                costs["add"].append(seconds)
    return float(np.median(np.diff(stamps))), costs


def main() -> None:
    from latentlab.em.partitions import PartitionedModel
    from latentlab.mixtures import GaussianMixture, simulate_gaussian_mixture
    from latentlab.mixtures._gaussian_model import GaussianData

    X, _ = simulate_gaussian_mixture(ROWS * N_PARTS, WEIGHTS, MEANS, [np.eye(D)] * 3, random_state=0)
    model = GaussianMixture(3, max_iter=1, random_state=0).fit(X[:10_000]).model_
    whole = GaussianData(X, np.ones(len(X)), "full")
    parts = [GaussianData(X[i * ROWS:(i + 1) * ROWS], np.ones(ROWS), "full", shift=whole.shift)
             for i in range(N_PARTS)]
    start = model.initialize(whole, np.random.default_rng(1))
    stats, _ = model.e_step(parts[0], start)
    t = time.perf_counter()
    for _ in range(5):
        model.m_step(stats, start)
    m_step = (time.perf_counter() - t) / 5
    del X, whole
    print(f"1. measured: GaussianMixture K=3 D={D} full, {N_PARTS} partitions of {ROWS:,} rows kept on the workers, "
          f"{N_ITER} plain EM iterations, Dask's default worker environment")
    measured, observed = {}, {}
    for workers in (1, 2):
        measured[workers], costs = _measure(workers, parts, PartitionedModel(model), start)
        observed[workers] = {**costs, "hop": costs["hop"] or [0.0], "m_step": m_step}
        print(f"  {workers} worker(s): {measured[workers]:.3f} s per pass; partition E-step median "
              f"{np.median(costs['part']):.3f} s (range {min(costs['part']):.3f}-{max(costs['part']):.3f}, "
              f"{len(costs['part'])} tasks); pairwise sum {np.median(costs['add']) * 1e3:.2f} ms; transfer "
              f"{np.median(costs['hop']) * 1e3 if costs['hop'] else 0:.2f} ms ({len(costs['hop'])}); "
              f"scheduler {costs['task'] * 1e3:.2f} ms per task")
    print(f"  M-step here: {m_step * 1e3:.2f} ms")
    rng = np.random.default_rng(0)
    print("2. the simulator against the measurement, each from its own run's costs (median of 200 simulated passes)")
    for workers in (1, 2):
        sim = np.median([simulate_pass(N_PARTS, workers, observed[workers], rng) for _ in range(200)])
        print(f"  {workers} worker(s), {N_PARTS} partitions: simulated {sim:.3f} s, measured {measured[workers]:.3f} s "
              f"({sim / measured[workers] - 1:+.0%})")
    print("3. projection from the 2-worker run's costs (two workers sharing a machine's two cores and its memory;"
          " 10^6 rows per partition; median and 95th percentile of 20 simulated passes)")
    costs = observed[2]
    for workers, n_parts in PROJECTIONS:
        sims = [simulate_pass(n_parts, workers, costs, rng) for _ in range(20)]
        ideal = n_parts / workers * np.median(costs["part"])
        print(f"  {workers:>4} workers, {n_parts:>6,} partitions ({n_parts * ROWS:.0e} rows): "
              f"{np.median(sims):7.1f} s per pass (95%: {np.percentile(sims, 95):.1f} s); "
              f"E-steps alone, perfectly shared: {ideal:.1f} s")


if __name__ == "__main__":
    main()
