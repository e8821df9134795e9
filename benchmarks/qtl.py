"""Interval mapping of R/qtl's `hyper` against R/qtl (issue 17).

The same data and grid as R/qtl's own timing: `data/hyper.csv` (R/qtl's
`hyper`: 250 backcross mice, 174 markers), genotype probabilities every 1 cM
with error probability 0.001 (1,455 positions), the EM genome scan and 1,000
permutations of it; Haley-Knott regression likewise. R/qtl's times come from
``benchmarks/qtl_rqtl.R`` (R/qtl 1.58 from Debian's r-cran-qtl, one thread),
which stores them in ``benchmarks/data/rqtl_hyper_times.csv``; with
``--run-r`` this benchmark runs that script first (about 2 minutes).

Printed: for each of three runs, our seconds for the genotype probabilities
plus the scan, for the 1,000 permutations, and their sum; then the ratio of
R/qtl's total to our median total, and the 5% genome-wide thresholds of both
(Monte Carlo values: they agree within the Monte Carlo error of a quantile of
1,000 maxima, about 0.1 LOD).

Run from the repository root: ``PYTHONPATH=. python benchmarks/qtl.py [--run-r]``
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from latentlab.qtl import IntervalMapping, read_cross_csv

ROOT = Path(__file__).resolve().parents[1]
RUNS = 3
N_PERM = 1000


def rqtl_times() -> pd.Series:
    if "--run-r" in sys.argv:
        subprocess.run(["Rscript", "benchmarks/qtl_rqtl.R"], cwd=ROOT, check=True, capture_output=True)
    return pd.read_csv(ROOT / "benchmarks" / "data" / "rqtl_hyper_times.csv").iloc[0]


def one_run(cross, method: str, seed: int) -> tuple[float, float, float]:
    t0 = time.perf_counter()
    scan = IntervalMapping(method, step=1, error_prob=0.001, random_state=seed, progress=False).fit(cross, "bp")
    t1 = time.perf_counter()
    thresholds = scan.permutation_test(N_PERM)
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, float(thresholds.set_index("alpha").loc[0.05, "lod"])


def main() -> None:
    peer = rqtl_times()
    cross = read_cross_csv(ROOT / "data" / "hyper.csv", codes=("BB", "BA", "AA"), alleles=("B", "A"))
    IntervalMapping(step=1, error_prob=0.001).fit(cross, "bp").permutation_test(10)  # compile the kernels
    IntervalMapping("hk", step=1, error_prob=0.001).fit(cross, "bp").permutation_test(10)
    print(f"hyper, step 1 cM, error 0.001, {N_PERM} permutations; peer {peer['tool']} (stored times)")
    for method in ("em", "hk"):
        r_total = peer["genoprob_s"] + peer[f"scan_{method}_s"] + peer[f"perm1000_{method}_s"]
        totals = []
        print(f"\nmethod={method!r}: R/qtl {r_total:.2f} s (genoprob {peer['genoprob_s']:.3f}, scan "
              f"{peer[f'scan_{method}_s']:.3f}, permutations {peer[f'perm1000_{method}_s']:.2f})")
        for run in range(RUNS):
            scan_s, perm_s, threshold = one_run(cross, method, run)
            totals.append(scan_s + perm_s)
            print(f"  run {run + 1}: genoprob + scan {scan_s:.3f} s, permutations {perm_s:.2f} s, total "
                  f"{totals[-1]:.2f} s, 5% threshold {threshold:.3f}")
        key = "threshold_em_95" if method == "em" else "threshold_hk_95"
        print(f"  ratio R/qtl / latentlab (median total): {r_total / np.median(totals):.1f}x; "
              f"R/qtl's 5% threshold {peer[key]:.3f}")


if __name__ == "__main__":
    main()
