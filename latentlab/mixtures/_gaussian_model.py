"""The EM contract of a finite mixture of multivariate Gaussians.

Model: a row ``x`` (length D) comes from component ``k`` with probability
``pi_k`` and is then ``N(mu_k, Sigma_k)``. The four covariance structures of
scikit-learn: ``full`` (one D x D matrix per component), ``tied`` (one matrix
shared by all), ``diag`` (one vector of variances per component) and
``spherical`` (one variance per component).

Exponential-family form of the E-step
-------------------------------------
The Gaussian log-density is linear in the sufficient statistics
``T(x) = (x x', x)``:

    log N(x; mu, Sigma) = -1/2 x'Px + x'P mu - 1/2 mu'P mu + 1/2 log|P| - D/2 log(2 pi),

with ``P = Sigma^{-1}``. For rows without missing values the features
``F = [x_a x_b (a <= b), x_a]`` (``[x_a^2, x_a]`` for diag/spherical) are
formed once per fit, and every E-step is one matrix product
``log pi_k + log N(x_i; .) = F W + b`` followed by

    r_ik = pi_k N(x_i; mu_k, Sigma_k) / sum_l pi_l N(x_i; mu_l, Sigma_l),

and the expected sufficient statistics are a second product ``(w r)' F``:

    n_k = sum_i w_i r_ik,   s1_k = sum_i w_i r_ik x_i,   s2_k = sum_i w_i r_ik x_i x_i'.

Rows with missing coordinates are handled in :mod:`._gaussian_missing`
(conditional Gaussian, Little & Rubin 2002, section 11.2). The data are
centred at the column means before the features are formed, so the expanded
quadratic forms lose no precision to a distant origin.

M-step (Dempster, Laird & Rubin 1977; scikit-learn's ``_m_step``):

    pi_k = n_k / sum_l n_l,   mu_k = s1_k / n_k,
    full:      Sigma_k = s2_k / n_k - mu_k mu_k' + reg I
    tied:      Sigma   = (sum_k s2_k - n_k mu_k mu_k') / sum_k n_k + reg I
    diag:      sigma2_k = diag(s2_k) / n_k - mu_k^2 + reg
    spherical: sigma2_k = mean over coordinates of the diag value

where ``n_k`` carries scikit-learn's ``10 * machine epsilon`` so that an empty
component gets a finite mean.

Why the guard has a per-step slack (``monotone_slack``)
-------------------------------------------------------
``reg`` (``reg_covar``) added to the covariance makes the M-step miss the
maximiser ``S_k`` (the unregularised scatter) of the expected complete-data
log-likelihood ``Q``, so plain EM may lower the log-likelihood by a tiny amount.
We keep scikit-learn's step (that is what parity means) and report the plain
observed log-likelihood, and we bound the possible fall instead of loosening
the guard blindly. By the GEM argument,
``l(theta') - l(theta) >= Q(theta') - Q(theta) >= Q(theta') - Q(theta*)``
with ``theta*`` the exact maximiser, and for each covariance
``Q(theta*) - Q(theta') = n_k / 2 * sum_j [-log(1 - y_j) - y_j]``,
``y_j = reg / lambda_j`` over the eigenvalues ``lambda_j`` of the regularised
matrix (n_k is the total mass for ``tied``; for ``spherical`` the D equal
eigenvalues). That bound, ``O(n reg^2 / lambda^2)``, is what the guard
allows on top of round-off; any larger fall is still reported as a bug. (An
exactly monotone alternative, EM for the penalised objective
``sum_i log sum_k pi_k N(x_i) exp(-reg/2 tr Sigma_k^{-1})``, changes the E-step
and so would lose step-by-step parity with scikit-learn.)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from ..em import EMModel, Positive, PositiveDefinite, Real, Simplex, Stats
from ..emissions import gaussian_means, gaussian_precisions, gaussian_scatter
from ..exceptions import NumericalError
from . import _gaussian_missing as missing
from ._gaussian_se import observed_covariance
from ._kmeans import initial_responsibilities

__all__ = ["COVARIANCE_TYPES", "GaussianMixtureParams", "GaussianMixtureModel", "GaussianData"]

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
_LOG_2PI = np.log(2.0 * np.pi)
_MASS_FLOOR = 10.0 * np.finfo(float).eps  # scikit-learn's guard against empty components
_FEATURE_BUDGET = 2**25  # entries of the cached feature matrix (256 MiB)
_CHUNK = 8192


@dataclass(frozen=True)
class GaussianMixtureParams:
    weights: np.ndarray  # (K,) on the simplex
    means: np.ndarray  # (K, D)
    covariances: np.ndarray  # full (K, D, D); tied (D, D); diag (K, D); spherical (K,)


@dataclass(frozen=True)
class GaussianStats(Stats):
    """Sums over rows, taken around the centre ``shift`` (carried, not added:
    parts of one data set are centred at the same point)."""

    shared = ("shift",)
    n: np.ndarray  # (K,) expected counts n_k
    s1: np.ndarray  # (K, D) sum of w r x (centred data)
    s2: np.ndarray  # (K, D, D) for full/tied, (K, D) diagonals for diag/spherical
    shift: np.ndarray  # (D,) the centre the sums were taken around


@cache
def _upper_triangle(D: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of the upper triangle (diagonal included) of a
    D x D matrix, read-only: ``np.triu_indices`` costs about 18 microseconds
    a call, and every E-step needs them twice."""
    rows, cols = np.triu_indices(D)
    rows.flags.writeable = cols.flags.writeable = False
    return rows, cols


def _is_diagonal(covariance_type: str) -> bool:
    return covariance_type in ("diag", "spherical")


class GaussianData:
    """Validated rows, centred at ``shift``, split into complete rows (with
    their cached exponential-family features) and missingness patterns."""

    def __init__(self, X: np.ndarray, weights: np.ndarray, covariance_type: str, shift=None):
        self.n_features = X.shape[1]
        self.weights = weights
        # the centre: the observed column means, or the training data's for new rows
        self.shift = np.nanmean(X, axis=0) if shift is None else shift
        self.X = X - self.shift
        observed = ~np.isnan(self.X)
        self.complete = np.flatnonzero(observed.all(axis=1))
        self.patterns = missing.group_patterns(self.X, observed, weights)
        self.diagonal = _is_diagonal(covariance_type)
        D = self.n_features
        n_feat = 2 * D if self.diagonal else D + D * (D + 1) // 2
        self._cached = None
        if self.complete.size * n_feat <= _FEATURE_BUDGET:
            self._cached = self.features(self.X[self.complete])

    def features(self, x: np.ndarray) -> np.ndarray:
        """Transposed features, shape (n_features, n_rows): ``[x_a x_b (a <= b); x]``,
        or ``[x_a^2; x]`` when diagonal (rows-last layout: the two matrix
        products of an E-step run several times faster on it)."""
        xt = np.ascontiguousarray(x.T)
        D = xt.shape[0]
        if self.diagonal:
            return np.concatenate([xt * xt, xt])
        rows, cols = _upper_triangle(D)
        out = np.empty((rows.size + D, xt.shape[1]))
        np.multiply(xt[rows], xt[cols], out=out[:rows.size])
        out[rows.size:] = xt
        return out

    def blocks(self):
        """``(features, weights)`` of the complete rows, in chunks."""
        if self._cached is not None:
            if self.complete.size:
                yield self._cached, self.weights[self.complete]
            return
        for start in range(0, self.complete.size, _CHUNK):
            idx = self.complete[start:start + _CHUNK]
            yield self.features(self.X[idx]), self.weights[idx]


def _logsumexp_columns(a: np.ndarray):
    """Log-sum-exp over components (axis 0) of ``a`` (K, n), which is
    overwritten by ``exp(a - max)``; returns the log-sums and the sums."""
    m = a.max(axis=0)
    m[~np.isfinite(m)] = 0.0
    a -= m
    np.exp(a, out=a)
    total = a.sum(axis=0)
    return np.log(total) + m, total


class GaussianMixtureModel(EMModel):
    """The EM contract for a K-component Gaussian mixture (module docstring)."""

    def __init__(self, n_components: int, n_features: int, covariance_type: str = "full",
                 reg_covar: float = 1e-6, init: str = "kmeans++", user_init: dict | None = None):
        self.n_components = n_components
        self.n_features = n_features
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar
        self.init = init
        self.user_init = user_init or {}
        self.params_type = GaussianMixtureParams
        cov = Positive() if _is_diagonal(covariance_type) else PositiveDefinite()
        self.constraints = {"weights": Simplex(), "means": Real(), "covariances": cov}

    # -- parameters in the forms the steps use -------------------------------------
    def full_covariances(self, params) -> np.ndarray:
        """The covariances as a (K, D, D) stack whatever the type."""
        K, D, c = self.n_components, self.n_features, np.asarray(params.covariances)
        if self.covariance_type == "full":
            return c
        if self.covariance_type == "tied":
            return np.broadcast_to(c, (K, D, D))
        var = c if self.covariance_type == "diag" else np.repeat(c[:, None], D, axis=1)
        return var[:, :, None] * np.eye(D)

    def _natural(self, params, shift):
        """Coefficients ``W`` (features x K) and ``b`` (K,) of ``F W + b``."""
        D = self.n_features
        mu = params.means - shift
        with np.errstate(divide="ignore"):
            log_w = np.log(params.weights)
        if _is_diagonal(self.covariance_type):
            var = self.full_covariances(params).diagonal(axis1=1, axis2=2)
            if np.any(var <= 0):
                raise NumericalError(f"{self.name}: a variance is not positive; increase reg_covar")
            prec = 1.0 / var
            W = np.vstack([-0.5 * prec.T, (prec * mu).T])
            b = -0.5 * np.sum(prec * mu * mu, axis=1) + 0.5 * np.sum(np.log(prec), axis=1)
        else:
            prec, half_log_det = gaussian_precisions(self.full_covariances(params), self.name)
            rows, cols = _upper_triangle(D)
            quad = -0.5 * prec[:, rows, cols] * np.where(rows == cols, 1.0, 2.0)
            pmu = np.einsum("kab,kb->ka", prec, mu)
            W = np.vstack([quad.T, pmu.T])
            b = -0.5 * np.sum(pmu * mu, axis=1) + half_log_det
        return W, b - 0.5 * D * _LOG_2PI + log_w

    def log_joint_complete(self, data: GaussianData, params):
        """``log pi_k + log N(x_i)``, shape (K, n), for the complete rows, chunk by chunk."""
        W, b = self._natural(params, data.shift)
        Wt = np.ascontiguousarray(W.T)
        for F, w in data.blocks():
            lj = Wt @ F
            lj += b[:, None]
            yield lj, F, w

    # -- the contract ----------------------------------------------------------------
    def initialize(self, data: GaussianData, rng: np.random.Generator) -> GaussianMixtureParams:
        """k-means++ seeds (or random responsibilities) turned into parameters by
        one M-step, then any user-given ``weights``/``means``/``covariances``."""
        X = np.where(np.isnan(data.X), 0.0, data.X)  # centred: missing -> column mean
        resp = initial_responsibilities(X, data.weights, self.n_components, self.init, rng)
        wr = resp * data.weights[:, None]
        n, s1 = wr.sum(axis=0), wr.T @ X
        if _is_diagonal(self.covariance_type):
            s2 = wr.T @ (X * X)
        else:
            s2 = np.stack([(X * wr[:, k, None]).T @ X for k in range(self.n_components)])
        params = self.m_step(GaussianStats(n, s1, s2, data.shift), None)
        if self.user_init:
            params = GaussianMixtureParams(**{**params.__dict__, **self.user_init})
        return params

    def pattern_inputs(self, data: GaussianData, params):
        """Centred means, (K, D, D) covariances and log weights for the
        missing-value patterns (:mod:`._gaussian_missing`)."""
        with np.errstate(divide="ignore"):
            log_w = np.log(params.weights)
        return params.means - data.shift, self.full_covariances(params), log_w

    def e_step(self, data: GaussianData, params):
        """Responsibilities and expected sufficient statistics (module docstring):
        two matrix products for the complete rows, the conditional Gaussian for
        each missingness pattern."""
        K, D = self.n_components, self.n_features
        n, s1 = np.zeros(K), np.zeros((K, D))
        s2 = np.zeros((K, D) if _is_diagonal(self.covariance_type) else (K, D, D))
        ll = 0.0
        quad_sums = 0.0
        for lj, F, w in self.log_joint_complete(data, params):
            lse, total = _logsumexp_columns(lj)
            lj *= w / total  # now w_i r_ik
            ll += float(w @ lse)
            G = (F @ lj.T).T
            n += lj.sum(axis=1)
            s1 += G[:, -D:]
            quad_sums = quad_sums + G[:, :-D]
        if data.complete.size:
            s2 += self._unpack_quadratic(quad_sums)
        if data.patterns:
            inputs = self.pattern_inputs(data, params)
            for pattern in data.patterns:
                part = missing.pattern_e_step(pattern, *inputs)
                ll += part.loglik
                n += part.n
                s1 += part.s1
                s2 += part.s2.diagonal(axis1=1, axis2=2) if _is_diagonal(self.covariance_type) else part.s2
        return GaussianStats(n, s1, s2, data.shift), ll

    def _unpack_quadratic(self, q: np.ndarray) -> np.ndarray:
        """Feature sums of ``x_a x_b`` back to (K, D, D) (or (K, D) diagonals)."""
        if _is_diagonal(self.covariance_type):
            return q
        D = self.n_features
        rows, cols = _upper_triangle(D)
        out = np.zeros((q.shape[0], D, D))
        out[:, rows, cols] = q
        out[:, cols, rows] = q
        return out

    def log_joint(self, data: GaussianData, params) -> np.ndarray:
        """``log pi_k + log f_k(x_i)`` (observed coordinates only), shape (N, K)."""
        out = np.empty((data.X.shape[0], self.n_components))
        W, b = self._natural(params, data.shift)
        if data.complete.size:
            out[data.complete] = (data.features(data.X[data.complete]).T @ W) + b
        inputs = self.pattern_inputs(data, params)
        for p in data.patterns:
            out[p.rows] = missing.pattern_conditionals(p, *inputs)[0]
        return out

    def analytic_covariance(self, data: GaussianData, params) -> np.ndarray:
        """Inverse observed information of all parameters, from the analytic
        score differentiated once (:mod:`._gaussian_se`)."""
        return observed_covariance(self, data, params)

    def loglik(self, data: GaussianData, params) -> float:
        ll = 0.0
        for lj, _, w in self.log_joint_complete(data, params):
            ll += float(w @ _logsumexp_columns(lj)[0])
        if data.patterns:
            inputs = self.pattern_inputs(data, params)
            ll += sum(float(p.weights @ missing.pattern_log_density(p, *inputs)[1]) for p in data.patterns)
        return ll

    def m_step(self, stats: GaussianStats, current=None, fixed=None) -> GaussianMixtureParams:
        mass = stats.n + _MASS_FLOOR
        mu = gaussian_means(mass, stats.s1)
        scatter = gaussian_scatter(stats.n, stats.s1, stats.s2, mu)  # the shared M-step (latentlab.emissions)
        reg = self.reg_covar
        t = self.covariance_type
        if _is_diagonal(t):
            var = np.maximum(scatter / mass[:, None], 0.0) + reg
            cov = var if t == "diag" else var.mean(axis=1)
        else:
            if t == "tied":
                cov = scatter.sum(axis=0) / mass.sum()
            else:
                cov = scatter / mass[:, None, None]
            cov = 0.5 * (cov + np.swapaxes(cov, -1, -2)) + reg * np.eye(self.n_features)
        return GaussianMixtureParams(mass / mass.sum(), mu + stats.shift, cov)

    def monotone_slack(self, stats, params) -> float:
        """``sum_k n_k/2 sum_j [-log(1 - y) - y]``, ``y = reg / lambda_j`` (module docstring)."""
        if self.reg_covar == 0:
            return 0.0
        t, c = self.covariance_type, np.asarray(params.covariances)
        if t == "full":
            lam, mass = np.linalg.eigvalsh(c), stats.n
        elif t == "tied":
            lam, mass = np.linalg.eigvalsh(c)[None, :], np.array([stats.n.sum()])
        elif t == "diag":
            lam, mass = c, stats.n
        else:
            lam, mass = np.repeat(c[:, None], self.n_features, axis=1), stats.n
        y = np.clip(self.reg_covar / lam, 0.0, 1.0 - 1e-12)
        return float(np.sum(0.5 * mass[:, None] * (-np.log1p(-y) - y)))
