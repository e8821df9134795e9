"""Speed and memory of latentlab.hmm against hmmlearn (implementation="scaling").

Same data, same initial parameters, same process; every EM iteration is timed
on its own (ours through the engine's callback, hmmlearn's through its
convergence monitor), over ``REPEATS`` interleaved fits, and the median and the
minimum per library are printed (the machine is shared, so single iterations
are sometimes pre-empted; the median is robust to that). hmmlearn's priors are
set so that its M-step is the plain MLE (``covars_prior=0``), as ours. The
whole comparison runs ``RUNS`` times, each row with the load average when it
started.

Also reported:
* the fraction of the arithmetic limit: a forward-backward pass needs about
  ``3 T K^2`` multiply-adds (the two recursions and the transition counts);
  at this machine's peak rate (measured: independent scalar fused
  multiply-adds per second, times 4 for 256-bit vectors of doubles) that
  takes ``3 T K^2 / peak``, and the fraction is that time over our measured
  time per iteration (E-step, M-step and the engine's bookkeeping);
* compile time: the first fit in this process (numba compiles or loads its
  on-disk cache), and the first fit in a fresh second process (cache load only);
* a long sequence, T = 10,000,000 and K = 4, fitted in a subprocess: the
  log-likelihood stays finite, and the peak resident memory is printed against
  the size of one (T, K) float64 array.

Run from the repository root: ``PYTHONPATH=. python benchmarks/hmm.py``
(``--quick`` skips the long sequence).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
from numba import njit

from latentlab.em import fit_em
from latentlab.hmm import GaussianHMMModel, GaussianHMMParams, simulate_hmm
from latentlab.hmm.base import HMMData

N_ITER = 10
REPEATS = 5
RUNS = 3
#: doubles per vector instruction (256-bit AVX2), for the peak rate
VECTOR_WIDTH = 4
CASES = [(4, 1, 50_000), (20, 5, 100_000)]


def _problem(k, d, T, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.dirichlet(np.full(k, 1.0), k) + 5 * np.eye(k)
    A /= A.sum(axis=1, keepdims=True)
    means = rng.normal(scale=3.0, size=(k, d))
    X, _ = simulate_hmm(T, np.full(k, 1 / k), A, means=means, covars=np.ones((k, d)), random_state=seed)
    start = dict(
        startprob_=np.full(k, 1 / k),
        transmat_=np.full((k, k), 0.5 / k) + 0.5 * np.eye(k),
        means_=means + rng.normal(scale=0.5, size=(k, d)),
        covars_=np.full((k, d), 1.5),
    )
    return X, start


def _time_ours(X, start, k):
    """Per-iteration wall times (one M-step + one E-step each) and the trace."""
    model = GaussianHMMModel(k, X.shape[1], "diag", 0.0, "stmc")
    data = HMMData.build(X, np.zeros(X.shape[0], dtype=bool), None, 0.0)
    params = GaussianHMMParams(*(np.asarray(start[f + "_"], dtype=float) for f in ("startprob", "transmat", "means", "covars")))
    stamps = [_now()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = fit_em(model, data, init_params=params, max_iter=N_ITER, callback=lambda *a: stamps.append(_now()))
    return np.diff(stamps, axis=0)[1:], result.trace


def _time_hmmlearn(X, start, k):
    """Per-iteration wall times (one E-step + one M-step each) and the trace."""
    from hmmlearn import hmm

    model = hmm.GaussianHMM(
        k, "diag", covars_prior=0.0, n_iter=N_ITER + 1, tol=-np.inf, init_params="", implementation="scaling"
    )
    for name, value in start.items():
        setattr(model, name, value)
    stamps = []
    report = model.monitor_.report
    model.monitor_.report = lambda lp: (stamps.append(_now()), report(lp))
    model.fit(X)
    return np.diff(stamps, axis=0), np.array(model.monitor_.history)


def _now():
    """(wall-clock seconds, CPU seconds of this process over all its threads)."""
    return time.perf_counter(), time.process_time()


FIRST_FIT = textwrap.dedent(
    """
    import time, warnings
    from latentlab.hmm import CategoricalHMM, GaussianHMM, PoissonHMM, simulate_hmm
    X, _ = simulate_hmm(1000, [.5, .5], [[.9, .1], [.1, .9]], means=[[0.], [2.]], covars=[[1.], [1.]], random_state=0)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GaussianHMM(2, n_iter=5, random_state=0).fit(X)
        model.predict(X)
        model.sample(10)
    print(f"{time.perf_counter() - t0:.3f}")
    """
)


def compile_times() -> None:
    """First fit (with decode and sample) in two fresh processes sharing an
    empty numba cache directory: the first compiles and writes the cache, the
    second only loads it."""
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        times = [
            float(subprocess.run([sys.executable, "-c", FIRST_FIT], capture_output=True, text=True, check=True, env=env).stdout)
            for _ in range(2)
        ]
    print("== compile time (numba, cache=True; fresh cache directory) ==")
    print(f"first fit in process 1 (compiles, writes the cache): {times[0]:.2f} s")
    print(f"first fit in process 2 (loads the cache):            {times[1]:.2f} s")


@njit(fastmath=True)
def _independent_fmas(n, x):
    """16 independent chains of fused multiply-adds, n steps each."""
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = x
    b0 = b1 = b2 = b3 = b4 = b5 = b6 = b7 = x
    for _ in range(n):
        a0 = a0 * 0.999999 + 1e-9
        a1 = a1 * 0.999998 + 1e-9
        a2 = a2 * 0.999997 + 1e-9
        a3 = a3 * 0.999996 + 1e-9
        a4 = a4 * 0.999995 + 1e-9
        a5 = a5 * 0.999994 + 1e-9
        a6 = a6 * 0.999993 + 1e-9
        a7 = a7 * 0.999992 + 1e-9
        b0 = b0 * 0.999991 + 1e-9
        b1 = b1 * 0.999990 + 1e-9
        b2 = b2 * 0.999989 + 1e-9
        b3 = b3 * 0.999988 + 1e-9
        b4 = b4 * 0.999987 + 1e-9
        b5 = b5 * 0.999986 + 1e-9
        b6 = b6 * 0.999985 + 1e-9
        b7 = b7 * 0.999984 + 1e-9
    return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + b0 + b1 + b2 + b3 + b4 + b5 + b6 + b7


def peak_fma_rate() -> float:
    """Multiply-adds per second at peak: the best of five timings of
    independent scalar ones, times ``VECTOR_WIDTH``."""
    n = 20_000_000
    _independent_fmas(10, 1.0)
    best = min(_timed(lambda: _independent_fmas(n, 1.0)) for _ in range(5))
    return 16 * n / best * VECTOR_WIDTH


def _timed(f) -> float:
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def speed() -> None:
    peak = peak_fma_rate()
    print(f"== time per EM iteration: {RUNS} runs of {REPEATS} x {N_ITER - 1} iterations, each timed alone ==")
    print("   CPU = CPU time of the process (all threads); wall = wall-clock median (min); load = 1-minute load")
    print("   average when the case started (2 cores, shared). Ratios: hmmlearn / latentlab.")
    print(f"   arithmetic limit: 3 T K^2 multiply-adds at {peak / 1e9:.1f} G/s (peak: measured scalar rate x {VECTOR_WIDTH})")
    print(f"run {'K':>3} {'D':>2} {'T':>7} load | {'CPU ms: ours':>12} {'hmmlearn':>9} {'ratio':>6} | "
          f"{'wall ms: ours':>18} {'hmmlearn':>16} {'ratio':>12} | limit | traces differ by")
    problems = {case: _problem(*case) for case in CASES}
    for run in range(1, RUNS + 1):
        for (k, d, T), (X, start) in problems.items():
            load = os.getloadavg()[0]
            ours, theirs = [], []
            for _ in range(REPEATS):
                t, trace_ours = _time_ours(X, start, k)
                ours.append(t)
                t, trace_theirs = _time_hmmlearn(X, start, k)
                theirs.append(t)
            ours, theirs = 1e3 * np.concatenate(ours), 1e3 * np.concatenate(theirs)
            diff = np.max(np.abs(trace_ours - trace_theirs) / np.abs(trace_theirs))
            oc, hc = np.median(ours[:, 1]), np.median(theirs[:, 1])
            ow, hw = np.median(ours[:, 0]), np.median(theirs[:, 0])
            omin, hmin = ours[:, 0].min(), theirs[:, 0].min()
            limit = 3 * T * k * k / peak * 1e3
            print(
                f"{run:>3} {k:>3} {d:>2} {T:>7} {load:4.2f} | {oc:>12.2f} {hc:>9.2f} {hc / oc:>5.1f}x | "
                f"{ow:>8.2f} ({omin:6.2f}) {hw:>7.2f} ({hmin:6.2f}) {hw / ow:>4.1f}x ({hmin / omin:4.1f}x) | "
                f"{limit / ow:5.1%} | {diff:.1e} relative"
            )


LONG = textwrap.dedent(
    """
    import resource, time, warnings, numpy as np
    from latentlab.hmm import GaussianHMM, simulate_hmm
    T, K = 10_000_000, 4
    A = np.full((K, K), 0.02) + 0.92 * np.eye(K)
    X, _ = simulate_hmm(T, np.full(K, 1 / K), A, means=[[-3.], [-1.], [1.], [3.]], covars=np.full((K, 1), 0.5), random_state=1)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    model = GaussianHMM(K, n_iter=3, random_state=0)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X)
    el = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tk = T * K * 8 / 2**20
    print(f"T={T:,} K={K}: loglik trace {np.round(model.result_.trace, 1).tolist()} (finite: {bool(np.isfinite(model.result_.trace).all())})")
    print(f"{el / model.result_.n_evals:.2f} s per E-step; peak RSS {peak:.0f} MiB (before fitting {base:.0f} MiB; "
          f"one (T, K) float64 array = {tk:.0f} MiB; the fit added {(peak - base) / tk:.1f} such arrays)")
    """
)


def long_sequence() -> None:
    print("== long sequence (subprocess) ==")
    out = subprocess.run([sys.executable, "-c", LONG], capture_output=True, text=True)
    print(out.stdout.strip() or out.stderr.strip()[-2000:])


if __name__ == "__main__":
    compile_times()
    speed()
    if "--quick" not in sys.argv:
        long_sequence()
