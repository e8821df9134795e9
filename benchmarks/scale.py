"""E-steps on a Dask cluster (latentlab.em.partitions), issue 21.

Part 1, data in memory: a 3-component, 10-dimensional Gaussian mixture (full
covariances) on ``N_PARTS`` partitions of 10^6 rows, ``N_ITER`` plain EM
iterations from the same start, timed through the engine's callback (median
seconds per iteration): in one process on the whole data; on the partitions
in this process; on a ``LocalCluster`` of 1 and of 2 worker processes (one
thread each). Dask's nannies start workers with ``MALLOC_TRIM_THRESHOLD_``
set (``distributed.nanny.pre-spawn-environ``), which makes glibc hand every
large temporary array back to the system and fault it in again; the cluster
rows are timed with Dask's default environment and with that variable unset
(docs/scale.md explains the setting); then, because this shared machine's
speed drifts from minute to minute, the overhead of 2 workers over one
process is measured in turns, three rounds.

Part 2, out of core: ``ROWS_ON_DISK`` rows of the same mixture written in
chunks of 10^6 rows to a Zarr store (8 GB of float64 for 10^8 rows), fitted by
``GaussianMixture(3).fit(dask_array)`` on a ``LocalCluster`` of 2 workers
limited to 1 GB each (the partitions are read from disk at every pass);
printed: E-steps, seconds per pass over the data (the pass for the column
means included), the largest worker memory seen, the
largest error of a fitted mean against the truth; then the seconds per pass
with 1 worker, and the ratio.

Run from the repository root: ``PYTHONPATH=. python benchmarks/scale.py
[rows_on_disk]`` (needs ``pip install latentlab[dask] zarr``; the store goes
to the temporary directory and is reused by later runs).
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import dask
import dask.array as da
import numpy as np
from distributed import Client, LocalCluster

from latentlab import fit_em
from latentlab.em.partitions import PartitionedModel, Partitions
from latentlab.mixtures import GaussianMixture, simulate_gaussian_mixture
from latentlab.mixtures._gaussian_model import GaussianData

ROWS, N_PARTS, N_ITER, D = 1_000_000, 4, 8, 10
ROWS_ON_DISK = 100_000_000
WEIGHTS = np.array([0.3, 0.3, 0.4])
MEANS = np.random.default_rng(0).normal(scale=3.0, size=(3, D))
TRIM = "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"


def per_iteration(model, data, start) -> float:
    stamps = []
    fit_em(model, data, init_params=start, tol=0, max_iter=N_ITER, callback=lambda *a: stamps.append(time.perf_counter()))
    return float(np.median(np.diff(stamps)))


def cluster(workers: int, memory_limit: str) -> LocalCluster:
    return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                        memory_limit=memory_limit)


def in_memory() -> None:
    X, _ = simulate_gaussian_mixture(ROWS * N_PARTS, WEIGHTS, MEANS, [np.eye(D)] * 3, random_state=0)
    model = GaussianMixture(3, max_iter=1, random_state=0).fit(X[:10_000]).model_
    whole = GaussianData(X, np.ones(len(X)), "full")
    parts = [GaussianData(X[i * ROWS:(i + 1) * ROWS], np.ones(ROWS), "full", shift=whole.shift) for i in range(N_PARTS)]
    start = model.initialize(whole, np.random.default_rng(1))
    print(f"Part 1. GaussianMixture K=3 D={D} full; {N_PARTS} partitions of {ROWS:,} rows in memory; "
          f"median seconds per EM iteration over {N_ITER}")
    single = per_iteration(model, whole, start)
    print(f"  one process, whole data:                 {single:.3f} s")
    local = per_iteration(PartitionedModel(model), Partitions(parts), start)
    print(f"  partitions in this process:              {local:.3f} s  (overhead {local / single - 1:+.1%})")
    # unset first: a nanny also writes the variable into this process's environment, which later workers inherit
    for label, trim in (("MALLOC_TRIM_THRESHOLD_ unset", None), ("Dask's default environment", 65536)):
        timings = {}
        os.environ.pop("MALLOC_TRIM_THRESHOLD_", None)
        with dask.config.set({TRIM: trim}):
            for workers in (1, 2):
                with cluster(workers, "4GB") as c, Client(c) as client:
                    timings[workers] = per_iteration(PartitionedModel(model), Partitions(parts, client=client), start)
                print(f"  LocalCluster {workers} worker(s), {label}: {timings[workers]:.3f} s  "
                      f"(overhead over one process {timings[workers] / single - 1:+.1%})")
        print(f"    1 worker / 2 workers: {timings[1] / timings[2]:.2f}x")
    # the machine's speed drifts between runs (a shared virtual machine): the overhead, measured in turns
    print("  overhead measured in turns, one process then 2 workers (Dask's default environment), 3 rounds:")
    os.environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    with cluster(2, "4GB") as c, Client(c) as client:
        data = Partitions(parts, client=client)
        for r in range(3):
            one, two = per_iteration(model, whole, start), per_iteration(PartitionedModel(model), data, start)
            print(f"    round {r + 1}: one process {one:.3f} s, 2 workers {two:.3f} s: overhead {two / one - 1:+.1%}")


def _block(block_id, rows: int):
    """Rows of the mixture (identity covariances: the mean plus standard
    normal noise, drawn without simulate_gaussian_mixture's per-row factors,
    which would not fit a 1 GB worker)."""
    rng = np.random.default_rng(block_id[0])
    z = rng.choice(3, size=rows, p=WEIGHTS)
    return MEANS[z] + rng.standard_normal((rows, D))


def store(rows: int) -> Path:
    path = Path(tempfile.gettempdir()) / f"latentlab_scale_{rows}.zarr"
    if not (path / ".done").exists():
        n_chunks = rows // ROWS
        X = da.map_blocks(_block, rows=ROWS, chunks=((ROWS,) * n_chunks, (D,)), dtype=float, meta=np.empty((0, D)))
        t = time.perf_counter()
        X.to_zarr(str(path), overwrite=True)
        (path / ".done").touch()
        print(f"  wrote {rows:,} x {D} rows ({rows * D * 8 / 1e9:.1f} GB) to {path} in {time.perf_counter() - t:.0f} s")
    return path


class PeakMemory:
    """The largest resident memory of any worker, sampled every 0.2 s."""

    def __init__(self, client):
        self.client, self.peak, self._stop = client, 0, threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self):
        while not self._stop.is_set():
            try:
                rss = self.client.run(lambda: __import__("psutil").Process().memory_info().rss)
                self.peak = max(self.peak, *rss.values())
            except Exception:  # a worker restarting: sample again
                pass
            self._stop.wait(0.2)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def out_of_core(rows: int) -> None:
    print(f"Part 2. out of core: {rows:,} rows x {D} on disk (Zarr), workers limited to 1 GB each")
    with cluster(2, "1GB") as c, Client(c) as client:
        path = store(rows)
        X = da.from_zarr(str(path))
        with PeakMemory(client) as peak:
            t = time.perf_counter()
            gm = GaussianMixture(3, random_state=0, tol=1e-8).fit(X)
            seconds = time.perf_counter() - t
        r = gm.result_
        order = np.argsort(gm.means_[:, 0])
        error = np.abs(gm.means_[order] - MEANS[np.argsort(MEANS[:, 0])]).max()
        per_pass_2 = seconds / (r.n_evals + 1)  # + the pass for the column means
        print(f"  2 workers: {r.n_iter} iterations, {r.n_evals} passes, {seconds:.0f} s, {per_pass_2:.1f} s per pass; "
              f"persisted: {gm._data.persisted}; largest worker memory {peak.peak / 2**20:.0f} MiB; "
              f"largest error of a mean {error:.4f} (standard error about {1 / np.sqrt(0.3 * rows):.5f}); "
              f"weights {np.round(np.sort(gm.weights_), 4)}")
        start = r.params
    with cluster(1, "1GB") as c, Client(c):
        t = time.perf_counter()
        one = GaussianMixture(3, max_iter=2, tol=0, accelerate=None, weights_init=start.weights,
                              means_init=start.means, precisions_init=np.linalg.inv(start.covariances)).fit(X)
        per_pass_1 = (time.perf_counter() - t) / (one.result_.n_evals + 1)
    print(f"  1 worker: {per_pass_1:.1f} s per pass; 1 worker / 2 workers: {per_pass_1 / per_pass_2:.2f}x")


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else ROWS_ON_DISK
    if rows >= 0:
        in_memory()
    out_of_core(abs(rows))


if __name__ == "__main__":
    main()
