"""Closed-population capture models for the EM engine: M0, Mt, Mh_K and Mth_K.

Every model is a mixture of ``K`` latent classes (``K = 1`` for M0 and Mt) with
weights ``pi_k`` and capture probabilities ``p_kt`` on occasions ``t = 1..T``;
an animal's history ``h`` has probability

    P(h) = sum_k pi_k prod_t p_kt^{h_t} (1 - p_kt)^{1 - h_t},

and ``P0 = P(0...0)`` is the probability of never being caught. The structures
(Otis et al. 1978, Wildlife Monographs 62; Pledger 2000, Biometrics 56:434-442):

* ``M0``: ``p_kt = p``;
* ``Mt``: ``p_kt = p_t``;
* ``Mh_K``: ``p_kt = p_k`` (K classes of catchability);
* ``Mth_K``: ``logit p_kt = tau_t + eta_k`` with ``eta_1 = 0`` (Pledger's additive model).

Full likelihood in the population size ``N = n + U`` (``n`` animals caught,
``U`` never caught), with distinct histories ``h_j`` seen ``f_j`` times:

    log L(N, theta) = lgamma(N + 1) - lgamma(U + 1) - sum_j lgamma(f_j + 1)
                      + sum_j f_j log P(h_j) + U log P0.

This is the multinomial log-probability of the history frequencies, *including*
its coefficient ``N! / (U! prod_j f_j!)``; ``N`` is continuous, with ``log(N!/U!)
= lgamma(N + 1) - lgamma(U + 1)`` evaluated as ``sum_{i=1}^{n} log(U + i)`` (the
same function, without the lgamma difference's cancellation at large U). The
coefficient's ``prod_j f_j!`` is the same for every model fitted to the same
data, so log-likelihoods and AIC values compare across models.

EM (an ECM algorithm, Meng & Rubin 1993, Biometrika 80:267-278). The missing
data are the class of every caught animal and the ``U`` unseen animals with
their classes. One iteration from ``(U, theta)``:

* E-step: class posteriors ``r_jk = pi_k P_k(h_j) / P(h_j)`` for the caught
  histories and ``r_0k = pi_k P_k(0) / P0`` for the ``U`` unseen animals;
  expected class sizes ``m_k = sum_j f_j r_jk + U r_0k`` (they sum to ``N``) and
  expected captures ``c_kt = sum_j f_j r_jk h_jt``.
* CM-step 1 (theta given N): the complete-data MLE: ``pi_k = m_k / N``; M0
  ``p = sum_t c_t / (T N)``; Mt ``p_t = c_t / N``; Mh ``p_k = sum_t c_kt / (T m_k)``;
  Mth a binomial logistic regression of ``c_kt`` successes in ``m_k`` trials on
  additive occasion and class effects, solved by Newton's method.
* CM-step 2 (N given theta): ``U`` maximises ``lgamma(n + U + 1) - lgamma(U + 1)
  + U log P0``, a concave function whose stationary point solves
  ``digamma(n + U + 1) - digamma(U + 1) = -log P0`` (:func:`optimal_unseen`).

Both CM-steps raise the observed likelihood, so the iteration is monotone and
the engine's guard applies. ``N`` is therefore estimated jointly inside the EM;
the profile likelihood of :mod:`latentlab.ecology.profile` re-runs the same EM
with ``U`` held fixed (the engine's ``fixed`` mask; :meth:`ClosedPopulationModel.held`).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq
from scipy.special import expit, gammaln

from .._logsumexp import logsumexp
from ..em import EMModel, Positive, Real, Simplex, Stats, UnitInterval
from .histories import CaptureData

__all__ = [
    "log_arrangements",
    "optimal_unseen",
    "HomogeneousParams",
    "MixtureParams",
    "MixtureTimeParams",
    "ClosedPopulationModel",
    "M0Model",
    "MtModel",
    "MhModel",
    "MthModel",
    "make_model",
    "MODEL_NAMES",
]

#: above this many unseen animals the N-step reports ``U`` as numerically infinite
_U_LIMIT = 1e12


def log_arrangements(n: float, u: float) -> float:
    """``log(N! / U!) = lgamma(n + u + 1) - lgamma(u + 1)`` for ``N = n + u``, as
    ``sum_{i=1}^{n} log(u + i)`` (``n`` an integer): the lgamma difference loses
    all precision to cancellation when ``u`` is large (at ``u = 1e8`` its error is
    ~1e-7, enough to break EM's monotonicity), the sum does not."""
    return float(np.log(u + np.arange(1.0, n + 1.0)).sum())


def optimal_unseen(n: float, log_p0: float, limit: float = _U_LIMIT) -> float:
    """The ``U`` in ``[0, limit]`` maximising ``log(N! / U!) + U log P0`` with ``N = n + U``.

    The derivative ``digamma(n + U + 1) - digamma(U + 1) + log P0 = sum_{i=1}^{n}
    1 / (U + i) + log P0`` decreases in ``U`` from ``H_n + log P0`` (``H_n`` the
    n-th harmonic number) to ``log P0``: ``U = 0`` when it is already <= 0 at 0,
    otherwise the root is bracketed by doubling and found by Brent's method.
    The function is concave, so when the root lies beyond ``limit`` the
    constrained maximum is ``limit`` itself (``P0 -> 1`` sends the root to
    infinity; the estimator reports an ``N`` at its cap as unbounded).
    """
    if not log_p0 < 0:
        return limit
    steps = np.arange(1.0, n + 1.0)

    def slope(u):
        return float(np.sum(1.0 / (u + steps))) + log_p0

    if slope(0.0) <= 0:
        return 0.0
    p0 = np.exp(log_p0)
    hi = min(limit, max(1.0, 2.0 * n * p0 / (1.0 - p0)))
    while slope(hi) > 0:
        if hi >= limit:
            return limit
        hi = min(limit, 2.0 * hi)
    return brentq(slope, 0.0, hi, xtol=1e-13 * max(1.0, hi), rtol=4 * np.finfo(float).eps)


@dataclass(frozen=True)
class HomogeneousParams:
    """M0 (``p`` a scalar) and Mt (``p`` of length T); ``n_unseen = N - n``."""

    n_unseen: np.ndarray
    p: np.ndarray


@dataclass(frozen=True)
class MixtureParams:
    """Mh_K: class weights and one capture probability per class."""

    n_unseen: np.ndarray
    weights: np.ndarray
    p: np.ndarray


@dataclass(frozen=True)
class MixtureTimeParams:
    """Mth_K: ``logit p_kt = time_effect[t] + class_effect[k]``, ``class_effect[0] = 0``."""

    n_unseen: np.ndarray
    weights: np.ndarray
    class_effect: np.ndarray
    time_effect: np.ndarray


@dataclass(frozen=True)
class _Stats(Stats):
    """Sums over the animals caught, plus the ``U`` unseen animals' expected
    class sizes in ``mass``. The unseen animals belong to no subset of the
    caught ones (and the likelihood's multinomial coefficient couples them),
    so unlike most models these statistics do not split over animals."""

    mass: np.ndarray  # m_k, expected class sizes (sum to N)
    captures: np.ndarray  # c_kt, expected captures per class and occasion
    n_caught: float  # n


# --------------------------------------------------------------------------- base
class ClosedPopulationModel(EMModel):
    """Shared E-step, log-likelihood and N-step (module docstring).

    Subclasses define ``probabilities(params) -> (weights (K,), p (K, T))``,
    ``_theta(stats) -> dict`` (CM-step 1: the fields other than ``n_unseen``) and
    ``_initial_theta(data, rng) -> dict``.
    ``U = N - n`` is held fixed (EM over theta only, for the profile
    likelihood) through the engine's mask: ``fit_em(..., fixed=model.held(params, unseen=True))``.
    ``max_unseen`` bounds ``U`` (the estimator's cap on N less the number
    caught): where the likelihood keeps rising towards ``N = inf`` the fit
    stops at the bound instead of chasing it.
    """

    label: str
    n_classes: int = 1
    #: whether capture probabilities differ between occasions
    varies_by_time: bool = False

    def __init__(self, n_occasions: int, max_unseen: float = _U_LIMIT):
        self.n_occasions = int(n_occasions)
        self.max_unseen = float(max_unseen)
        self.constraints = {**type(self).constraints, "n_unseen": Positive(upper=self.max_unseen)}

    @property
    def name(self) -> str:
        return f"CaptureRecapture[{self.label}]"

    # -- the model ----------------------------------------------------------------
    def probabilities(self, params) -> tuple[np.ndarray, np.ndarray]:
        """Class weights (K,) and capture probabilities (K, T)."""
        raise NotImplementedError

    def _log_parts(self, data: CaptureData, params):
        """``log pi_k + log P_k(h_j)`` (J, K) and ``log pi_k + log P_k(0)`` (K,)."""
        w, p = self.probabilities(params)
        with np.errstate(divide="ignore"):
            log_w, log_p, log_q = np.log(w), np.log(p), np.log1p(-p)
        caught = data.histories[:, None, :] == 1
        lj = log_w + np.where(caught, log_p[None], log_q[None]).sum(axis=-1)
        l0 = log_w + log_q.sum(axis=-1)
        return lj, l0

    def log_prob_unseen(self, params) -> float:
        """``log P0``, the log-probability of never being caught."""
        w, p = self.probabilities(params)
        with np.errstate(divide="ignore"):
            return float(logsumexp(np.log(w) + np.log1p(-p).sum(axis=-1)))

    @staticmethod
    def _loglik_terms(data: CaptureData, u: float, log_ph: np.ndarray, log_p0: float) -> np.ndarray:
        """The terms the log-likelihood sums: ``log (N! / U!)`` less the
        histories' log-factorials, the caught animals' and the unseen ones'."""
        n = data.freq.sum()
        unseen_term = u * log_p0 if u > 0 else 0.0
        return np.array([log_arrangements(n, u), -gammaln(data.freq + 1.0).sum(), data.freq @ log_ph, unseen_term])

    def _full_loglik(self, data: CaptureData, u: float, log_ph: np.ndarray, log_p0: float) -> float:
        return float(self._loglik_terms(data, u, log_ph, log_p0).sum())

    def loglik_magnitude(self, data: CaptureData, params, loglik: float) -> float:
        """``sum |terms|``: ``log(N!/U!)`` grows with N while the log-likelihood
        stays small, so its round-off is the guard's yardstick."""
        lj, l0 = self._log_parts(data, params)
        terms = self._loglik_terms(data, float(params.n_unseen), logsumexp(lj, axis=1), float(logsumexp(l0)))
        return float(np.abs(terms).sum())

    def e_step(self, data: CaptureData, params):
        lj, l0 = self._log_parts(data, params)
        log_ph = logsumexp(lj, axis=1)
        log_p0 = float(logsumexp(l0))
        u = float(params.n_unseen)
        resp = np.exp(lj - log_ph[:, None]) * data.freq[:, None]
        resp0 = np.exp(l0 - log_p0) * u if u > 0 else np.zeros_like(l0)
        stats = _Stats(resp.sum(axis=0) + resp0, resp.T @ data.histories, float(data.freq.sum()))
        return stats, self._full_loglik(data, u, log_ph, log_p0)

    def loglik(self, data: CaptureData, params) -> float:
        lj, l0 = self._log_parts(data, params)
        return self._full_loglik(data, float(params.n_unseen), logsumexp(lj, axis=1), float(logsumexp(l0)))

    # -- EM -------------------------------------------------------------------------
    def _theta(self, stats: _Stats, current) -> dict:
        """CM-step 1: the fields other than ``n_unseen`` (``current`` is the
        E-step's point, a warm start for iterative maximisers)."""
        raise NotImplementedError

    def _initial_theta(self, data: CaptureData, rng: np.random.Generator) -> dict:
        raise NotImplementedError

    def _with_unseen(self, theta: dict, n_caught: float, held_unseen=None):
        """Params from theta with ``U`` maximised given theta (CM-step 2), or
        at ``held_unseen`` when the engine holds it."""
        params = self.params_type(n_unseen=np.array(0.0), **theta)
        u = held_unseen
        if u is None:
            u = optimal_unseen(n_caught, self.log_prob_unseen(params), self.max_unseen)
        return dataclasses.replace(params, n_unseen=np.array(u, dtype=float))

    def m_step(self, stats: _Stats, current, fixed=None):
        held = current.n_unseen if fixed is not None and bool(fixed.n_unseen) else None
        return self._with_unseen(self._theta(stats, current), stats.n_caught, held)

    def initialize(self, data: CaptureData, rng: np.random.Generator):
        return self._with_unseen(self._initial_theta(data, rng), data.freq.sum())

    def held(self, params, unseen: bool = False):
        """The mask of entries held fixed: those the model's structure fixes
        (a reference level; none by default) and, with ``unseen``, ``U``."""
        mask = {f.name: np.zeros(np.shape(getattr(params, f.name)), dtype=bool) for f in dataclasses.fields(params)}
        mask["n_unseen"] = np.array(bool(unseen))
        self._hold_structure(mask)
        return self.params_type(**mask)

    def _hold_structure(self, mask: dict) -> None:
        """Entries the structure holds fixed besides ``n_unseen`` (none by default)."""


def _mean_capture_rate(data: CaptureData) -> float:
    return float(data.freq @ data.histories.sum(axis=1) / (data.freq.sum() * data.n_occasions))


# --------------------------------------------------------------------------- K = 1
class M0Model(ClosedPopulationModel):
    """One capture probability for all animals and occasions."""

    label = "M0"
    params_type = HomogeneousParams
    constraints = {"n_unseen": Positive(), "p": UnitInterval()}

    def probabilities(self, params):
        return np.ones(1), np.full((1, self.n_occasions), float(params.p))

    def _theta(self, stats, current):
        return {"p": np.array(stats.captures.sum() / (self.n_occasions * stats.mass.sum()))}

    def _initial_theta(self, data, rng):
        return {"p": np.array(_mean_capture_rate(data) * rng.uniform(0.5, 1.0))}


class MtModel(ClosedPopulationModel):
    """One capture probability per occasion."""

    label = "Mt"
    varies_by_time = True
    params_type = HomogeneousParams
    constraints = {"n_unseen": Positive(), "p": UnitInterval()}

    def probabilities(self, params):
        return np.ones(1), np.asarray(params.p, dtype=float)[None, :]

    def _theta(self, stats, current):
        return {"p": stats.captures[0] / stats.mass.sum()}

    def _initial_theta(self, data, rng):
        return {"p": data.caught_per_occasion() / (data.freq.sum() * rng.uniform(1.0, 2.0))}


# --------------------------------------------------------------------------- mixtures
def _normalised(weights) -> np.ndarray:
    """Weights scaled to sum to one exactly: SQUAREM's extrapolated points sum to
    one only up to round-off (the Simplex tolerance), and the likelihood must not
    see that error (it would show as a spurious decrease at the next EM step)."""
    w = np.asarray(weights, dtype=float)
    return w / w.sum()


def _random_weights(k: int, rng: np.random.Generator) -> np.ndarray:
    """Dirichlet(2, ..., 2) weights: random, but away from the boundary."""
    return rng.dirichlet(np.full(k, 2.0))


class MhModel(ClosedPopulationModel):
    """``K`` latent classes with capture probability ``p_k`` (Pledger's Mh_K)."""

    params_type = MixtureParams
    constraints = {"n_unseen": Positive(), "weights": Simplex(), "p": UnitInterval()}

    def __init__(self, n_occasions: int, n_classes: int, max_unseen: float = _U_LIMIT):
        super().__init__(n_occasions, max_unseen)
        self.n_classes = int(n_classes)
        self.label = f"Mh{self.n_classes}"

    def probabilities(self, params):
        p = np.asarray(params.p, dtype=float)
        return _normalised(params.weights), np.repeat(p[:, None], self.n_occasions, axis=1)

    def _theta(self, stats, current):
        m = stats.mass
        empty = m <= 0
        overall = stats.captures.sum() / (self.n_occasions * m.sum())
        p = np.where(empty, overall, stats.captures.sum(axis=1) / (self.n_occasions * np.where(empty, 1.0, m)))
        return {"weights": m / m.sum(), "p": p}

    def canonical(self, params):
        order = np.argsort(params.p, kind="stable")
        return dataclasses.replace(params, weights=params.weights[order], p=params.p[order])

    def _initial_theta(self, data, rng):
        return {"weights": _random_weights(self.n_classes, rng), "p": np.sort(rng.uniform(0.02, 0.9, self.n_classes))}


class MthModel(ClosedPopulationModel):
    """``K`` classes with ``logit p_kt = tau_t + eta_k``, ``eta_1 = 0`` (Pledger's Mth_K).

    CM-step 1 for the effects maximises the expected complete-data binomial
    log-likelihood ``sum_kt c_kt log p_kt + (m_k - c_kt) log(1 - p_kt)`` by
    Newton's method with step halving, started from the E-step's point.
    """

    params_type = MixtureTimeParams
    constraints = {"n_unseen": Positive(), "weights": Simplex(), "class_effect": Real(), "time_effect": Real()}
    varies_by_time = True
    newton_tol = 1e-11
    newton_max_iter = 100

    def __init__(self, n_occasions: int, n_classes: int, max_unseen: float = _U_LIMIT):
        super().__init__(n_occasions, max_unseen)
        self.n_classes = int(n_classes)
        self.label = f"Mth{self.n_classes}"

    def probabilities(self, params):
        eta = np.asarray(params.class_effect, dtype=float)[:, None] + np.asarray(params.time_effect, dtype=float)
        return _normalised(params.weights), expit(eta)

    def _hold_structure(self, mask):
        mask["class_effect"][0] = True

    def canonical(self, params):
        """Classes in increasing ``eta_k``, re-referenced so the first has ``eta = 0``."""
        eta = np.asarray(params.class_effect, dtype=float)
        order = np.argsort(eta, kind="stable")
        return dataclasses.replace(
            params, weights=params.weights[order], class_effect=eta[order] - eta[order[0]],
            time_effect=params.time_effect + eta[order[0]],
        )

    @staticmethod
    def _objective(eta, c, m):
        return float(np.sum(c * eta - m[:, None] * np.logaddexp(0.0, eta)))

    def _effects(self, c: np.ndarray, m: np.ndarray, tau: np.ndarray, eta_cls: np.ndarray):
        """Newton's method for the binomial logistic regression of CM-step 1."""
        x = np.concatenate([tau, eta_cls[1:]])

        def split(x):
            return x[:self.n_occasions], np.concatenate([[0.0], x[self.n_occasions:]])

        def linear(x):
            t, e = split(x)
            return e[:, None] + t

        f = self._objective(linear(x), c, m)
        for _ in range(self.newton_max_iter):
            eta = linear(x)
            resid = c - m[:, None] * expit(eta)
            grad = np.concatenate([resid.sum(axis=0), resid.sum(axis=1)[1:]])
            if np.max(np.abs(grad)) <= self.newton_tol * (1.0 + m.sum()):
                break
            w = m[:, None] * expit(eta) * expit(-eta)
            info = np.zeros((x.size, x.size))
            info[:self.n_occasions, :self.n_occasions] = np.diag(w.sum(axis=0))
            info[self.n_occasions:, self.n_occasions:] = np.diag(w.sum(axis=1)[1:])
            info[:self.n_occasions, self.n_occasions:] = w[1:].T
            info[self.n_occasions:, :self.n_occasions] = w[1:]
            step = np.linalg.solve(info + 1e-12 * np.eye(x.size), grad)
            for _ in range(50):
                f_new = self._objective(linear(x + step), c, m)
                if f_new >= f:
                    break
                step = step / 2.0
            else:
                break
            x, f = x + step, f_new
        return split(x)

    def _theta(self, stats, current):
        m = stats.mass
        tau, eta = self._effects(
            stats.captures, m, np.asarray(current.time_effect, float), np.asarray(current.class_effect, float)
        )
        return {"weights": m / m.sum(), "class_effect": eta, "time_effect": tau}

    def _initial_theta(self, data, rng):
        rate = np.clip(data.caught_per_occasion() / (1.5 * data.freq.sum()), 0.01, 0.99)
        tau = np.log(rate) - np.log1p(-rate)
        eta = np.concatenate([[0.0], np.sort(rng.normal(1.5, 1.0, self.n_classes - 1))])
        return {"weights": _random_weights(self.n_classes, rng), "class_effect": eta, "time_effect": tau}


_MODEL_PATTERN = re.compile(r"(Mth|Mh)(\d+)")
MODEL_NAMES = ("M0", "Mt", "Mh2", "Mh3", "Mth2", "Mth3")


def make_model(name: str, n_occasions: int, max_unseen: float = _U_LIMIT) -> ClosedPopulationModel:
    """The model called ``name``: ``M0``, ``Mt``, ``Mh<K>`` or ``Mth<K>`` (K >= 2),
    with ``U = N - n`` bounded by ``max_unseen``."""
    if not isinstance(name, str):
        raise TypeError(f"model must be a string such as 'M0', 'Mt', 'Mh2', 'Mth2'; got {name!r}")
    if name == "M0":
        return M0Model(n_occasions, max_unseen)
    if name == "Mt":
        return MtModel(n_occasions, max_unseen)
    match = _MODEL_PATTERN.fullmatch(name)
    if match is None or int(match.group(2)) < 2:
        raise ValueError(f"model must be 'M0', 'Mt', 'Mh<K>' or 'Mth<K>' with K >= 2 classes; got {name!r}")
    cls = MthModel if match.group(1) == "Mth" else MhModel
    return cls(n_occasions, int(match.group(2)), max_unseen)

