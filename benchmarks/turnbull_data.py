"""The interval-censored data sets of ``benchmarks/turnbull.py`` (issue 23).

Event times T ~ Weibull(shape 1.5, scale 1); each subject is visited at the
times of a Poisson process with mean gap 0.3 (Exp(mean 0.3) gaps) up to time
5, and is seen only as (last visit before T, first visit at or after T], or
(last visit, inf) when T comes after the last visit (0 is the first
"visit"). Written to ``benchmarks/data/turnbull_n{n}.csv`` (columns L, R)
for n = 500, 2,000 and 10,000 with seed 2023 + n.

Run from the repository root: ``python benchmarks/turnbull_data.py``
"""

from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parent / "data"
SIZES = (500, 2000, 10_000)


def simulate(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = rng.weibull(1.5, n)
    left, right = np.zeros(n), np.full(n, np.inf)
    for i in range(n):
        visit = 0.0
        while True:
            visit += rng.exponential(0.3)
            if visit > 5.0:
                break
            if visit >= t[i]:
                right[i] = visit
                break
            left[i] = visit
    return pd.DataFrame({"L": left, "R": right})


if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    for n in SIZES:
        simulate(n, 2023 + n).to_csv(OUT / f"turnbull_n{n}.csv", index=False, float_format="%.17g")
        print(f"wrote {OUT / f'turnbull_n{n}.csv'}")
