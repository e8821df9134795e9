"""latentlab.statespace against pykalman (EM) and statsmodels (likelihood, optimiser).

Same data, same starting parameters, same process, one thread each:

1. **EM iteration** for n_states = 4, 2-D observations, T = 100,000, with A,
   C, Q, R, mu0 and P0 estimated (the offsets held at 0: pykalman updates an
   offset after its matrix, a conditional step, where ours solves them
   jointly, so with offsets the two EMs differ by design), from the same start:
   wall time per iteration (ours through the engine's callback, pykalman's
   ``em(n_iter=1)`` timed whole), and the largest difference between the two
   libraries' parameters after the same number of iterations (both are exact
   EM, so they agree to round-off).
2. **Log-likelihood evaluation**, same model: ours (``model.loglik``, no
   stored arrays) against statsmodels' ``ssm.loglike()`` with its default
   storage and with ``conserve_memory`` set, median of interleaved repeats.
3. **SQUAREM against plain EM** on the recovery problem of the tests (n_states
   = 4, 2-D observations, T = 2,000, 30% of coordinates missing, velocity rows
   of A, diagonal Q and full R estimated): E-steps each scheme needs to come
   within 1e-4 of the best log-likelihood either reaches.
4. **Constant-velocity track** (T = 1,000, unrestricted Q and R, diffuse
   start): EM's log-likelihood against statsmodels' L-BFGS from a cold and from
   a good start, all evaluated by statsmodels' exact diffuse filter; for a
   full-rank Q and for the textbook rank-deficient white-noise-acceleration Q.

Run from the repository root: ``PYTHONPATH=. python benchmarks/statespace.py``
(``--quick`` uses T = 10,000 for the pykalman comparison).
"""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np

from latentlab.em import fit_em
from latentlab.statespace import LinearGaussianSSM, LinearGaussianSSMModel, SSMData, SSMParams, simulate_ssm

REPEATS = 7
A_SYS = np.array([[1, 1, 0, 0], [-0.1, 0.8, 0, 0.1], [0, 0, 1, 1], [0, -0.1, -0.1, 0.7]], dtype=float)
C_SYS = np.array([[1.0, 0, 0, 0], [0, 0, 1.0, 0]])
Q_SYS, R_SYS = np.diag([0.3, 0.2, 0.4, 0.1]), np.array([[1.0, 0.3], [0.3, 0.5]])


def _start() -> SSMParams:
    """A common start for both libraries: the truth perturbed."""
    rng = np.random.default_rng(7)
    return SSMParams(A=0.9 * A_SYS + 0.01 * rng.normal(size=(4, 4)), b=np.zeros(4), C=C_SYS + 0.05 * rng.normal(size=(2, 4)),
                     d=np.zeros(2), Q=np.eye(4) * 0.5, R=np.eye(2), mu0=np.zeros(4), P0=np.eye(4))


def em_iteration(T: int) -> None:
    from pykalman import KalmanFilter

    _, Y = simulate_ssm(A_SYS, C_SYS, Q_SYS, R_SYS, T, random_state=1)
    start = _start()
    model, data = LinearGaussianSSMModel(4, 2), SSMData.build(Y)
    no_offsets = SSMParams(**{f: np.isin(f, ("b", "d")) & np.ones(np.shape(getattr(start, f)), dtype=bool)
                              for f in SSMParams.__dataclass_fields__})
    n_iter = 3
    stamps = [time.perf_counter()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit_em(model, data, init_params=start, max_iter=1, tol=0, fixed=no_offsets)  # compile (or load the cache)
        ours = fit_em(model, data, init_params=start, max_iter=n_iter, tol=0, fixed=no_offsets,
                      callback=lambda *a: stamps.append(time.perf_counter()))
    per_ours = np.median(np.diff(stamps)[1:])
    kf = KalmanFilter(transition_matrices=start.A, transition_offsets=start.b, observation_matrices=start.C,
                      observation_offsets=start.d, transition_covariance=start.Q, observation_covariance=start.R,
                      initial_state_mean=start.mu0, initial_state_covariance=start.P0,
                      em_vars=["transition_matrices", "observation_matrices", "transition_covariance",
                               "observation_covariance", "initial_state_mean", "initial_state_covariance"])
    times = []
    for _ in range(n_iter):
        t0 = time.perf_counter()
        kf = kf.em(Y, n_iter=1)
        times.append(time.perf_counter() - t0)
    per_theirs = np.median(times)
    p = ours.params
    diff = max(np.max(np.abs(a - b)) for a, b in (
        (p.A, kf.transition_matrices), (p.C, kf.observation_matrices), (p.Q, kf.transition_covariance),
        (p.R, kf.observation_covariance), (p.mu0, kf.initial_state_mean), (p.P0, kf.initial_state_covariance)))
    print(f"EM iteration, n_states=4, p=2, T={T:,}: latentlab {per_ours * 1e3:.0f} ms, pykalman {per_theirs:.2f} s "
          f"-> {per_theirs / per_ours:.0f}x faster; largest parameter difference after {n_iter} iterations {diff:.2e}")


def loglik_evaluation(T: int = 100_000) -> None:
    import statsmodels.api as sm
    from statsmodels.tsa.statespace.kalman_filter import MEMORY_CONSERVE

    _, Y = simulate_ssm(A_SYS, C_SYS, Q_SYS, R_SYS, T, random_state=1)
    par = SSMParams(A=A_SYS, b=np.zeros(4), C=C_SYS, d=np.zeros(2), Q=Q_SYS, R=R_SYS, mu0=np.zeros(4), P0=np.eye(4))
    model, data = LinearGaussianSSMModel(4, 2), SSMData.build(Y)
    peers = {}
    for conserve in (False, True):
        mod = sm.tsa.statespace.MLEModel(Y, k_states=4)
        for name, value in (("design", C_SYS), ("obs_cov", R_SYS), ("transition", A_SYS), ("selection", np.eye(4)),
                            ("state_cov", Q_SYS)):
            mod.ssm[name] = value
        mod.ssm.initialize_known(par.mu0, par.P0)
        if conserve:
            mod.ssm.set_conserve_memory(MEMORY_CONSERVE)
        peers["statsmodels (conserve memory)" if conserve else "statsmodels (default)"] = mod.ssm.loglike
    calls = {"latentlab": lambda: model.loglik(data, par), **peers}
    times = {name: [] for name in calls}
    values = {name: f() for name, f in calls.items()}  # warm up (numba, statsmodels' Cython)
    for _ in range(REPEATS):
        for name, f in calls.items():
            t0 = time.perf_counter()
            f()
            times[name].append(time.perf_counter() - t0)
    ours = np.median(times["latentlab"])
    for name in peers:
        theirs = np.median(times[name])
        print(f"log-likelihood, T={T:,}: latentlab {ours * 1e3:.0f} ms, {name} {theirs * 1e3:.0f} ms -> "
              f"{theirs / ours:.2f}x; values differ by {abs(values['latentlab'] - values[name]) / abs(values[name]):.1e} relative")


def squarem_against_plain() -> None:
    _, Y = simulate_ssm(A_SYS, C_SYS, Q_SYS, R_SYS, 2000, random_state=2)
    Y[np.random.default_rng(2).random(Y.shape) < 0.3] = np.nan
    held = np.zeros((4, 4), dtype=bool)
    held[[0, 2]] = True
    A0 = np.array([[1, 1, 0, 0], [0, 0.9, 0, 0], [0, 0, 1, 1], [0, 0, 0, 0.9]], dtype=float)
    fits = {}
    for scheme in (None, "squarem"):
        fits[scheme or "plain EM"] = LinearGaussianSSM(
            4, A=A0, C=C_SYS, fixed={"C": True, "A": held}, Q_type="diag", accelerate=scheme, tol=1e-12,
            max_iter=100_000, random_state=0).fit(Y)
    best = max(f.loglik_ for f in fits.values())
    needed = {}
    for name, f in fits.items():
        reached = np.flatnonzero(np.asarray(f.result_.trace) >= best - 1e-4)
        needed[name] = int(np.asarray(f.result_.trace_evals)[reached[0]]) if reached.size else np.inf
        print(f"{name}: {needed[name]} E-steps to within 1e-4 of the best log-likelihood {best:.6f} "
              f"(final {f.loglik_:.6f} after {f.result_.n_evals} E-steps)")
    print(f"SQUAREM needs {needed['plain EM'] / needed['squarem']:.1f}x fewer E-steps")


def constant_velocity() -> None:
    sys.path.insert(0, "tests")
    from statespace.conftest import cv_model
    from statespace.test_statespace_em import _StatsmodelsCV

    A, C, Q, R = cv_model()
    wna = np.kron(np.eye(2), 0.5 * np.array([[1 / 3, 1 / 2], [1 / 2, 1.0]]))
    for label, Q_true in (("full-rank Q", Q), ("white-noise-acceleration Q (rank-deficient MLE)", wna)):
        _, Y = simulate_ssm(A, C, Q_true, R, 1000, initial_state=[0.0, 1.0, 0.0, -0.5], random_state=3)
        t0 = time.perf_counter()
        est = LinearGaussianSSM(4, A=A, C=C, fixed=("A", "C"), tol=1e-12, max_iter=100_000).fit(Y)
        t_em = time.perf_counter() - t0
        peer = _StatsmodelsCV(Y, A, C)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            cold = peer.fit(disp=False, maxiter=5000)
            t_cold = time.perf_counter() - t0
            good = peer.fit(start_params=peer.pack(Q_true, R), disp=False, maxiter=5000)
        ours = peer.loglike(peer.pack(est.Q_, est.R_))
        print(f"constant velocity, {label}: EM {ours:.6f} ({est.result_.n_evals} E-steps, {t_em:.1f} s); "
              f"statsmodels cold start {cold.llf:.6f} ({t_cold:.1f} s), good start {good.llf:.6f}; "
              f"smallest eigenvalue of Q: EM {np.linalg.eigvalsh(est.Q_)[0]:.4f}")


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    em_iteration(10_000 if quick else 100_000)
    loglik_evaluation()
    squarem_against_plain()
    constant_velocity()
