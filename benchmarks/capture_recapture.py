"""EM (SQUAREM and plain) against direct quasi-Newton maximisation of the same
capture-recapture likelihood, on the deer mice and a simulated population.

There is no Python peer for closed-population capture-recapture (MARK, Rcapture,
VGAM are not Python), so the comparison is with scipy's BFGS on the model's own
full log-likelihood over unconstrained coordinates (log U, weight logits,
logit p), with as many random starts as EM restarts. Prints times, the best
log-likelihoods and the time ratios. Run: PYTHONPATH=. python benchmarks/capture_recapture.py
"""

import time
import warnings

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit, softmax

from latentlab.ecology import CaptureRecapture, as_capture_data, simulate_capture_histories
from latentlab.ecology.capture_models import MixtureParams, make_model

STARTS = 10


def direct_fit(histories, K, seed=0):
    data = as_capture_data(histories)
    model = make_model(f"Mh{K}", data.n_occasions)
    rng = np.random.default_rng(seed)

    def nll(x):
        params = MixtureParams(np.array(np.exp(x[0])), softmax(np.concatenate([[0.0], x[1:K]])), expit(x[K:]))
        with np.errstate(all="ignore"):
            v = -model.loglik(data, params)
        return v if np.isfinite(v) else 1e10

    best = np.inf
    for _ in range(STARTS):
        x0 = np.concatenate([[np.log(data.n_caught) + rng.normal()], rng.normal(0, 2, 2 * K - 1)])
        best = min(best, minimize(nll, x0, method="BFGS", options={"gtol": 1e-8}).fun)
    return -best


def timed(f, repeat=3):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t)
    return min(times), out


def main():
    deer = pd.read_csv("data/deermice.csv")[[f"y{t}" for t in range(1, 7)]].to_numpy()
    sim, _ = simulate_capture_histories(500, 6, [(0.3, 0.6), (0.7, 0.1)], random_state=1)
    rows = []
    for name, h in [("deer mice", deer), ("simulated N=500", sim)]:
        for K in (2, 3):
            def em(acc):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    f = CaptureRecapture(f"Mh{K}", n_init=STARTS, accelerate=acc, profile=False,
                                         random_state=0).fit(h)
                return f.loglik_
            t_sq, ll_sq = timed(lambda: em("squarem"))
            t_pl, ll_pl = timed(lambda: em(None))
            t_bf, ll_bf = timed(lambda: direct_fit(h, K))
            rows.append({"data": name, "model": f"Mh{K}", "EM+SQUAREM s": t_sq, "plain EM s": t_pl,
                         "BFGS s": t_bf, "BFGS / SQUAREM": t_bf / t_sq, "loglik EM": ll_sq,
                         "loglik EM - BFGS": ll_sq - ll_bf, "plain - SQUAREM": ll_pl - ll_sq})
    print(f"{STARTS} starts each; times are the best of 3 (loaded shared machine)")
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.4g}"))


if __name__ == "__main__":
    main()
