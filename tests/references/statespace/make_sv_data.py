"""Make the stochastic-volatility data of the particle-EM tests, benchmark and case study.

Writes ``data/stochastic_volatility/``:

* ``simulated.csv``: T = 2,000 returns ``y_t`` from the stochastic volatility model
  ``x_1 ~ N(mu, sigma^2 / (1 - phi^2))``, ``x_t = mu + phi (x_{t-1} - mu) + sigma eta_t``,
  ``y_t = exp(x_t / 2) eps_t`` with ``mu = -0.5, phi = 0.95, sigma = 0.3`` (columns
  ``t, y, x``; the truth is in ``simulated_truth.json``). Simulated here with numpy
  alone (seed 20261204), not with latentlab, so that the tests do not check the
  package against itself.
* ``dax_returns.csv``: daily DAX log returns in percent, demeaned,
  ``y_t = 100 (log P_t - log P_{t-1}) - mean``, from ``data/eustockmarkets.csv``
  (R's ``EuStockMarkets``; 1,859 returns; columns ``day, time, y``).

Run from the repository root: ``python tests/references/statespace/make_sv_data.py``.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[3]
OUT = ROOT / "data" / "stochastic_volatility"
TRUTH = {"mu": -0.5, "phi": 0.95, "sigma": 0.3}
T, SEED = 2000, 20261204


def simulate() -> pd.DataFrame:
    rng = np.random.default_rng(SEED)
    mu, phi, sigma = TRUTH["mu"], TRUTH["phi"], TRUTH["sigma"]
    x = np.empty(T)
    x[0] = mu + sigma / np.sqrt(1 - phi**2) * rng.standard_normal()
    eta = rng.standard_normal(T)
    for t in range(1, T):
        x[t] = mu + phi * (x[t - 1] - mu) + sigma * eta[t]
    y = np.exp(x / 2) * rng.standard_normal(T)
    return pd.DataFrame({"t": np.arange(1, T + 1), "y": y, "x": x})


def dax() -> pd.DataFrame:
    prices = pd.read_csv(ROOT / "data" / "eustockmarkets.csv")
    r = 100 * np.diff(np.log(prices["DAX"].to_numpy()))
    return pd.DataFrame({"day": prices["day"].to_numpy()[1:], "time": prices["time"].to_numpy()[1:], "y": r - r.mean()})


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    simulate().to_csv(OUT / "simulated.csv", index=False, float_format="%.10g")
    (OUT / "simulated_truth.json").write_text(json.dumps({**TRUTH, "T": T, "seed": SEED}, indent=1) + "\n")
    dax().to_csv(OUT / "dax_returns.csv", index=False, float_format="%.10g")
