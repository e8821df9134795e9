"""ClonotypeEM on 10^6 distinct sequences (issue 19: under 2 minutes on 2
cores, memory printed).

The repertoire is simulated (36,000 true clonotypes, 3.6 million reads, 1%
per-base sequencing error, PCR errors at 1e-5 per base per cycle over 25
cycles): about a million distinct sequences. The simulation runs in a child
process and hands the table over in a file, so the peak resident memory
printed (``ru_maxrss`` of this process) is that of reading the table and the
fit. Python has no peer for this (the issue: DADA2's partitioning is in R and
for amplicons); the fixed-ratio baseline is timed on the same table for scale.

Printed: the fit's wall and CPU seconds for each of three runs, the rounds of
the last run, precision and recall against the truth, peak memory.

Run from the repository root: ``PYTHONPATH=. python benchmarks/repertoire.py``
"""

from __future__ import annotations

import multiprocessing as mp
import resource
import tempfile
import time
from pathlib import Path

import pandas as pd

from latentlab.repertoire import ClonotypeEM, collapse_by_ratio, simulate_repertoire

RUNS = 3


def _simulate(path: str) -> None:
    sim = simulate_repertoire(n_clonotypes=36_000, n_reads=3_600_000, error_rate=0.01, random_state=0)
    sim.observed.to_pickle(Path(path) / "observed.pkl")
    sim.truth.to_pickle(Path(path) / "truth.pkl")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        child = mp.get_context("spawn").Process(target=_simulate, args=(tmp,))
        child.start()
        child.join()
        observed = pd.read_pickle(Path(tmp) / "observed.pkl")
        truth = pd.read_pickle(Path(tmp) / "truth.pkl")
    seqs, counts = observed["sequence"], observed["count"]
    ClonotypeEM().fit(seqs[:2000], counts[:2000])  # compile the kernels
    print(f"{len(observed):,} distinct sequences, {counts.sum():,} reads, {len(truth):,} true clonotypes")
    for run in range(RUNS):
        wall, cpu = time.perf_counter(), time.process_time()
        fit = ClonotypeEM(random_state=run).fit(seqs, counts)
        print(f"run {run + 1}: fit {time.perf_counter() - wall:.1f} s wall, {time.process_time() - cpu:.1f} s CPU")
    print(fit.rounds_.to_string(index=False))
    called, true = set(fit.clonotypes_["sequence"]), set(truth["sequence"])
    print(f"precision {len(called & true) / len(called):.4f}, recall {len(called & true) / len(true):.4f}, "
          f"error rate {fit.error_rate_:.5f}")
    wall = time.perf_counter()
    baseline = collapse_by_ratio(seqs, counts)
    print(f"fixed-ratio baseline: {time.perf_counter() - wall:.1f} s, {len(baseline):,} clonotypes")
    print(f"peak resident memory of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
