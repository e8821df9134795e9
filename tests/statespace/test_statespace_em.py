"""EM for the linear Gaussian state-space model: the engine's contract, a plain-EM
trace that never falls (hypothesis), recovery of a simulated truth with 30%
of coordinates missing, held entries (GLS/ECM M-step), the Nile against
statsmodels and Durbin & Koopman, and the constant-velocity track against
statsmodels' optimiser."""

import warnings

import numpy as np
import pytest
import statsmodels.api as sm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from latentlab import NumericalError
from latentlab.em.testing import check_model
from latentlab.statespace import LinearGaussianSSM, LinearGaussianSSMModel, SSMData, local_level, simulate_ssm

from .conftest import NILE, cv_model

#: the velocity-tracking system of the recovery test: positions observed, the
#: velocity rows of A (entries 1 and 3) estimated, the kinematic rows held
A_TRUE = np.array([[1, 1, 0, 0], [-0.1, 0.8, 0, 0.1], [0, 0, 1, 1], [0, -0.1, -0.1, 0.7]], dtype=float)
C_TRUE = np.array([[1.0, 0, 0, 0], [0, 0, 1.0, 0]])
Q_TRUE = np.diag([0.3, 0.2, 0.4, 0.1])
R_TRUE = np.array([[1.0, 0.3], [0.3, 0.5]])
HELD_ROWS = np.zeros((4, 4), dtype=bool)
HELD_ROWS[[0, 2]] = True


def _system(T=2000, missing=0.3, seed=2):
    _, Y = simulate_ssm(A_TRUE, C_TRUE, Q_TRUE, R_TRUE, T, random_state=seed)
    rng = np.random.default_rng(seed)
    Y[rng.random(Y.shape) < missing] = np.nan
    return Y


def _system_estimator(**kw):
    A0 = np.array([[1, 1, 0, 0], [0, 0.9, 0, 0], [0, 0, 1, 1], [0, 0, 0, 0.9]], dtype=float)
    return LinearGaussianSSM(4, A=A0, C=C_TRUE, fixed={"C": True, "A": HELD_ROWS}, Q_type="diag", **kw)


@pytest.mark.parametrize("initial", ["estimated", "diffuse"])
def test_the_model_keeps_the_engine_contract(initial):
    rng = np.random.default_rng(0)
    A, C = np.array([[0.8, 0.2], [-0.1, 0.7]]), rng.normal(size=(2, 2))
    seqs = [simulate_ssm(A, C, np.eye(2) * 0.5, np.eye(2), T, mu0=np.ones(2), P0=np.eye(2), random_state=s)[1]
            for s, T in enumerate((80, 60, 70))]
    seqs[1][rng.random(seqs[1].shape) < 0.3] = np.nan
    data = SSMData.build(np.concatenate(seqs), [len(s) for s in seqs])
    parts = [SSMData.build(seqs[0]), SSMData.build(np.concatenate(seqs[1:]), [60, 70])]
    kappa = 1e6 * float(np.nanvar(np.diff(data.Y, axis=0))) if initial == "diffuse" else None
    check_model(LinearGaussianSSMModel(2, 2, kappa=kappa), data, parts=parts)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(1, 3), p=st.integers(1, 3), T=st.integers(20, 150), missing=st.floats(0.0, 0.5),
       q_type=st.sampled_from(["full", "diag", "spherical"]), seed=st.integers(0, 10_000))
def test_plain_em_trace_never_decreases(n, p, T, missing, q_type, seed):
    """Random systems with a known design C, random held entries of A (the
    ECM step with a full Q), missing values and every covariance type. (With
    C estimated and more states than series EM can drive C towards losing
    rank, where a diffuse start's round-off grows: docs/statespace.md.)"""
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, n))
    A *= 0.95 / max(np.max(np.abs(np.linalg.eigvals(A))), 1e-3)
    # entries of C bounded away from 0: with C = 0.019 (seed 67, one state, one series) the state is all but
    # unobserved and the diffuse start rightly stops with a NumericalError saying so
    C = rng.choice([-1.0, 1.0], size=(p, n)) * rng.uniform(0.5, 1.5, size=(p, n))
    _, Y = simulate_ssm(A, C, np.eye(n), np.eye(p), T, random_state=seed)
    Y[rng.random(Y.shape) < missing] = np.nan
    Y[0] = np.where(np.isnan(Y[0]), 0.0, Y[0])  # every column observed somewhere
    held = {"A": rng.random((n, n)) < 0.3, "C": True}  # a known design, as in system identification
    est = LinearGaussianSSM(n, A=A, C=C, fixed=held, Q_type=q_type, d=np.zeros(p), accelerate=None, max_iter=25,
                            tol=0.0, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(Y)
    trace = np.asarray(est.result_.trace)
    assert np.all(np.diff(trace) >= -1e-10 * (1 + np.abs(trace[1:])))


@pytest.fixture(scope="module")
def recovered():
    Y = _system()
    return _system_estimator(random_state=0).fit(Y), Y


def test_em_recovers_a_q_and_r_within_their_standard_errors(recovered):
    """T = 2,000 with 30% of coordinates missing: every free entry of A, Q and R
    lies within 4 of its standard errors (from the observed information at
    this sample size) of the truth."""
    est, _ = recovered
    table = est.summary().set_index("parameter")
    truth = {"A": A_TRUE, "Q": Q_TRUE, "R": R_TRUE}
    checked = 0
    for label, row in table.iterrows():
        name = label.split("[")[0]
        if name not in truth or np.isnan(row.std_error):
            continue
        i, j = (int(k) for k in label[label.index("[") + 1:-1].split(","))
        assert abs(row.estimate - truth[name][i, j]) <= 4 * row.std_error, (label, row.estimate, truth[name][i, j])
        checked += 1
    assert checked == 8 + 4 + 3  # free A entries, Q's variances, R's lower triangle


def test_squarem_and_plain_em_reach_the_same_optimum(recovered):
    est, Y = recovered
    plain = _system_estimator(random_state=0, accelerate=None, tol=1e-10, max_iter=50_000).fit(Y)
    assert plain.loglik_ == pytest.approx(est.loglik_, abs=1e-3)
    assert np.max(np.abs(plain.A_ - est.A_)) < 0.01
    assert plain.result_.n_evals > 5 * est.result_.n_evals


def test_held_entries_with_a_full_q_reach_a_stationary_point():
    """Held entries of A with a full Q: the M-step is a GLS conditional
    maximisation (ECM). At convergence the score in the free entries is zero."""
    A = np.array([[0.8, 0.3], [0.0, 0.6]])
    Q, R = np.array([[1.0, 0.6], [0.6, 1.0]]), np.eye(2) * 0.5
    _, Y = simulate_ssm(A, np.eye(2), Q, R, 500, random_state=5)
    held = np.array([[False, False], [True, False]])
    est = LinearGaussianSSM(2, A=A, C=np.eye(2), fixed={"C": True, "A": held}, tol=1e-12, max_iter=50_000).fit(Y)
    model, data, par = est.model_, est._data, est.result_.params
    assert par.A[1, 0] == 0.0
    h = 1e-5
    for i, j in np.argwhere(~held):
        up, down = par.A.copy(), par.A.copy()
        up[i, j] += h
        down[i, j] -= h
        grad = (model.loglik(data, _with_A(par, up)) - model.loglik(data, _with_A(par, down))) / (2 * h)
        assert abs(grad) < 1e-3, (i, j, grad)
    # the ECM answer differs from ignoring Q's correlation (row-by-row least squares would not be stationary)
    assert est.converged_


def _with_A(par, A):
    import dataclasses

    return dataclasses.replace(par, A=A)


# -- the Nile ------------------------------------------------------------------------------------------
def test_nile_local_level_beats_statsmodels_and_matches_durbin_koopman():
    """Likelihoods are compared (the Nile's is nearly flat along a ridge), both
    computed by statsmodels' exact diffuse filter; the variances are within 1%
    of Durbin & Koopman's (2012, sec. 2.10: 15,099 and 1,469.1)."""
    est = local_level().fit(NILE)
    uc = sm.tsa.UnobservedComponents(NILE, "local level", use_exact_diffuse=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = uc.fit(disp=False)
    ours = uc.loglike(np.array([est.R_[0, 0], est.Q_[0, 0]]))
    assert ours >= theirs.llf - 1e-6 * abs(theirs.llf)
    assert est.loglik_ == pytest.approx(ours, rel=1e-9)
    assert est.R_[0, 0] == pytest.approx(15099.0, rel=0.01)
    assert est.Q_[0, 0] == pytest.approx(1469.1, rel=0.01)


# -- the constant-velocity track --------------------------------------------------------------------------
class _StatsmodelsCV(sm.tsa.statespace.MLEModel):
    """The constant-velocity model in statsmodels with unrestricted Q and R
    (Cholesky parameters), exact diffuse start."""

    def __init__(self, Y, A, C):
        super().__init__(Y, k_states=4)
        self.ssm["design"], self.ssm["transition"], self.ssm["selection"] = C, A, np.eye(4)
        self.ssm.initialize_diffuse()
        self.lower4, self.lower2 = np.tril_indices(4), np.tril_indices(2)

    @property
    def start_params(self):  # statsmodels' cold start: identity covariances
        return np.r_[np.eye(4)[self.lower4], np.eye(2)[self.lower2]]

    def pack(self, Q, R):
        return np.r_[np.linalg.cholesky(Q)[self.lower4], np.linalg.cholesky(R)[self.lower2]]

    def update(self, params, **kwargs):
        params = super().update(params, **kwargs)
        L, M = np.zeros((4, 4)), np.zeros((2, 2))
        L[self.lower4], M[self.lower2] = params[:10], params[10:]
        self.ssm["state_cov"], self.ssm["obs_cov"] = L @ L.T, M @ M.T


def test_constant_velocity_track_reaches_statsmodels_best():
    A, C, Q, R = cv_model()
    _, Y = simulate_ssm(A, C, Q, R, 1000, initial_state=[0.0, 1.0, 0.0, -0.5], random_state=3)
    est = LinearGaussianSSM(4, A=A, C=C, fixed=("A", "C"), tol=1e-12, max_iter=50_000).fit(Y)
    peer = _StatsmodelsCV(Y, A, C)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        good = peer.fit(start_params=peer.pack(Q, R), disp=False, maxiter=2000)
    ours = peer.loglike(peer.pack(est.Q_, est.R_))
    assert est.loglik_ == pytest.approx(ours, rel=1e-9)
    assert ours >= good.llf


def test_nile_standard_errors_equal_statsmodels_numerical_hessian():
    """Our observed information (the engine's numerical Hessian in log
    coordinates, carried back) against statsmodels' numerical Hessian of the
    same log-likelihood at the same point (``cov_type="approx"``)."""
    est = local_level(tol=1e-12).fit(NILE)
    uc = sm.tsa.UnobservedComponents(NILE, "local level", use_exact_diffuse=True)
    theirs = uc.smooth(np.array([est.R_[0, 0], est.Q_[0, 0]]), cov_type="approx").bse
    table = est.summary().set_index("parameter")
    assert table.loc["R[0, 0]", "std_error"] == pytest.approx(theirs[0], rel=1e-3)
    assert table.loc["Q[0, 0]", "std_error"] == pytest.approx(theirs[1], rel=1e-3)


def test_a_state_the_data_never_see_is_refused_under_a_diffuse_start():
    """The second state is a random walk that C does not observe: the diffuse
    log-likelihood does not exist, and the fit says so instead of returning
    one that is off by log(kappa)."""
    A, C = np.diag([0.8, 1.0]), np.array([[1.0, 0.0]])
    _, Y = simulate_ssm(A, C, np.eye(2), np.eye(1), 100, random_state=0)
    with pytest.raises(NumericalError, match="do not determine the state"):
        LinearGaussianSSM(2, A=A, C=C, fixed=("A", "C")).fit(Y)
