"""The user-facing estimator for closed-population capture-recapture, and the
AIC table across models.

See :mod:`latentlab.ecology.capture_models` for the likelihood and the EM (N is
estimated jointly inside the EM, as a conditional-maximisation step) and
:mod:`latentlab.ecology.profile` for the profile-likelihood interval of N.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd

from .._validation import as_array, check_level
from .._warn import user_stacklevel
from ..em import EMEstimator, delta_method, fit_em, wald_intervals
from ..em.settings import engine_defaults
from ..exceptions import BoundaryWarning, NumericalError
from .capture_models import MODEL_NAMES, make_model
from .histories import CaptureData, InpFile, as_capture_data
from .profile import ProfileInterval, profile_interval

__all__ = ["CaptureRecapture", "compare_models", "DEFAULT_MODELS"]

#: engine settings: the engine's defaults with tol=1e-10, max_iter=20000, accelerate="squarem" (N converges sublinearly when few animals are recaptured: SQUAREM, and room for many iterations)
_ENGINE = engine_defaults(tol=1e-10, max_iter=20000, accelerate="squarem")

#: the models ``compare_models`` fits by default
DEFAULT_MODELS = ("M0", "Mt", "Mh2", "Mh3", "Mth2")
#: a class weight or capture probability this close to 0 or 1 is reported as on the boundary
_BOUNDARY_ATOL = 1e-6


def _count_distribution(p: np.ndarray) -> np.ndarray:
    """Poisson-binomial probabilities of being caught ``y = 0..T`` times, one row
    per class of the (K, T) capture probabilities ``p`` (recursion over occasions)."""
    dist = np.zeros((p.shape[0], p.shape[1] + 1))
    dist[:, 0] = 1.0
    for t in range(p.shape[1]):
        dist[:, 1:] = dist[:, 1:] * (1.0 - p[:, t:t + 1]) + dist[:, :-1] * p[:, t:t + 1]
        dist[:, 0] *= 1.0 - p[:, t]
    return dist


class CaptureRecapture(EMEstimator):
    """Closed-population size N by full likelihood and EM (Otis et al. 1978; Pledger 2000).

    Parameters
    ----------
    model : ``"M0"`` (one capture probability), ``"Mt"`` (one per occasion),
        ``"Mh<K>"`` (K latent classes of catchability, e.g. ``"Mh2"``, ``"Mh3"``)
        or ``"Mth<K>"`` (classes and occasions, additive on the logit scale).
    n_init : EM restarts from random starting points; default 1 for M0 and Mt
        (concave problems) and 10 for the mixtures (multimodal likelihoods).
    cap_factor : N is bounded by ``cap_factor * n`` (``n`` the number caught),
        default 50: the EM fit and the profile-likelihood search for the upper
        limit of N stop there. An estimate of N at the cap is reported as
        ``inf`` (the likelihood increases towards an infinite population) and a
        profile still above its cut-off at the cap gives an upper limit of
        ``inf``; a :class:`~latentlab.BoundaryWarning` says so in both cases.
    level : level of the profile interval for N and the Wald intervals (0.95).
    profile : compute the profile-likelihood interval for N (default True).
    tol, max_iter, accelerate, random_state, progress : passed to
        :func:`latentlab.em.fit_em` (SQUAREM by default).

    Attributes (after ``fit``)
    --------------------------
    N_ : estimate of the population size (continuous), ``inf`` if unbounded.
    N_se_ : its standard error from the observed information (NaN on the
        boundary ``N = n`` or when the information is singular).
    N_interval_ : (lower, upper) profile-likelihood interval at ``level``.
    profile_ : the :class:`~latentlab.ecology.profile.ProfileInterval`.
    n_caught_, n_occasions_ : data sizes.
    weights_ : (K,) class proportions; ``p_`` : (K, T) capture probabilities;
        classes ordered by increasing mean capture probability.
    loglik_ : the full log-likelihood (see :mod:`~latentlab.ecology.capture_models`
        for the constants it includes); ``aic()``, ``bic()`` (BIC with the
        number caught as sample size).

    Example
    -------
    >>> from latentlab.ecology import CaptureRecapture, simulate_capture_histories
    >>> h, _ = simulate_capture_histories(500, 6, [(0.3, 0.6), (0.7, 0.1)], random_state=1)
    >>> fit = CaptureRecapture("Mh2", random_state=0).fit(h)
    >>> round(fit.N_), [round(x) for x in fit.N_interval_]  # doctest: +SKIP
    """

    def __init__(
        self,
        model: str = "M0",
        *,
        n_init: int | None = None,
        cap_factor: float = 50.0,
        level: float = 0.95,
        profile: bool = True,
        tol: float = _ENGINE["tol"],
        max_iter: int = _ENGINE["max_iter"],
        accelerate: str | None = _ENGINE["accelerate"],
        random_state=None,
        progress: bool | None = _ENGINE["progress"],
    ):
        self.model = model
        self.n_init = n_init
        self.cap_factor = cap_factor
        self.level = level
        self.profile = profile
        self._set_engine_settings(
            tol=tol, max_iter=max_iter, accelerate=accelerate,
            random_state=random_state, progress=progress,
        )

    # -- fitting ---------------------------------------------------------------------
    def _check_settings(self):
        if not (isinstance(self.cap_factor, (int, float)) and self.cap_factor > 1):
            raise ValueError(f"cap_factor must be a number > 1 (a multiple of the number caught); got {self.cap_factor!r}")
        check_level(self.level)
        if not isinstance(self.profile, (bool, np.bool_)):
            raise TypeError(f"profile must be True or False; got {self.profile!r}")

    def fit(self, histories, freq=None) -> CaptureRecapture:
        """Fit to capture histories.

        ``histories``: an animals x occasions 0/1 array or DataFrame (one row per
        animal caught), or distinct histories with their frequencies ``freq``,
        or a :class:`~latentlab.ecology.histories.InpFile` from
        :func:`~latentlab.ecology.read_inp` (its first group).
        """
        self._check_settings()
        if isinstance(histories, InpFile):
            if freq is not None:
                raise ValueError("freq must be None when histories is an InpFile (it carries its frequencies)")
            data = histories.capture_data(0)
        elif isinstance(histories, CaptureData):
            data = histories
        else:
            data = as_capture_data(histories, freq)
        model = make_model(self.model, data.n_occasions, max_unseen=self.cap_factor * data.n_caught - data.n_caught)
        n_init = self.n_init if self.n_init is not None else (1 if model.n_classes == 1 else 10)
        shape_of = model.initialize(data, np.random.default_rng(0))  # the mask needs only the shapes
        result = self._fit_em(model, data, n_obs=data.n_caught, n_init=n_init, fixed=model.held(shape_of))
        self.n_caught_, self.n_occasions_ = data.n_caught, data.n_occasions
        self.weights_, self.p_ = model.probabilities(result.params)
        self._warn_boundary()
        self._standard_errors()
        self._population_size()
        return self

    @property
    def _cap(self) -> float:
        return float(self.cap_factor) * self.n_caught_

    def _warn_boundary(self):
        name = self.model_.name
        for k, w in enumerate(self.weights_):
            if w < _BOUNDARY_ATOL:
                warnings.warn(
                    f"{name}: class {k} has weight {w:.3g} (on the boundary): the data support fewer classes",
                    BoundaryWarning, stacklevel=user_stacklevel(),
                )
        never = (self.p_ < _BOUNDARY_ATOL).all(axis=1) & (self.weights_ >= _BOUNDARY_ATOL)
        for k in np.flatnonzero(never):
            warnings.warn(
                f"{name}: class {k} (weight {self.weights_[k]:.3g}) has capture probability ~0 on every occasion: "
                "its animals are never caught and N is not identifiable",
                BoundaryWarning, stacklevel=user_stacklevel(),
            )
        edge = ((self.p_ < _BOUNDARY_ATOL) | (self.p_ > 1 - _BOUNDARY_ATOL)) & ~never[:, None]
        if edge.any():
            k, t = np.argwhere(edge)[0]
            warnings.warn(
                f"{name}: capture probability of class {k} on occasion {t + 1} is {self.p_[k, t]:.3g} "
                f"(on the boundary; {int(edge.sum())} such value(s))",
                BoundaryWarning, stacklevel=user_stacklevel(),
            )

    def _standard_errors(self):
        """Observed-information covariance; a singular information warns and gives NaN."""
        try:
            cov = self.covariance_
        except NumericalError as err:
            warnings.warn(f"{err}", BoundaryWarning, stacklevel=user_stacklevel())
            size = self.model_.space.flatten(self.result_.params).size
            cov = self._covariance = np.full((size, size), np.nan)
        self.N_se_ = float(np.sqrt(cov[0, 0])) if np.isfinite(cov[0, 0]) else np.nan

    def _population_size(self):
        n_hat = self.n_caught_ + float(self.result_.params.n_unseen)
        self.N_ = n_hat
        if n_hat >= self._cap * (1 - 1e-9):  # the fit stopped at the bound on N (model.max_unseen)
            warnings.warn(
                f"{self.model_.name}: the likelihood keeps increasing towards N = inf (the EM estimate "
                f"{n_hat:.4g} is beyond the cap {self._cap:.4g} = cap_factor x n); N_ is reported as inf",
                BoundaryWarning, stacklevel=user_stacklevel(),
            )
            self.N_, self.N_se_ = np.inf, np.nan
        self.profile_ = None
        self.N_interval_ = (np.nan, np.nan)
        if self.profile:
            self.profile_ = self._profile(n_hat)
            self.N_interval_ = (self.profile_.lower, self.profile_.upper)
            if not self.profile_.bounded:
                warnings.warn(
                    f"{self.model_.name}: the profile likelihood of N stays above its {self.level:.0%} cut-off up to "
                    f"the cap {self._cap:.4g} (= cap_factor {self.cap_factor:g} x {self.n_caught_} caught): the upper "
                    "limit is unbounded and reported as inf (too few recaptures to bound N)",
                    BoundaryWarning, stacklevel=user_stacklevel(),
                )

    def _profile_function(self):
        """``l_p(N)``: an EM fit with N fixed, started from the nearest point
        already fitted (continuation); warns if it beats the fit itself."""
        fitted = {self.n_caught_ + float(self.result_.params.n_unseen): self.result_.params}
        base, data, n, ll_hat = self.model_, self._data, self.n_caught_, self.loglik_

        def lp(N: float) -> float:
            u = float(N) - n
            start = fitted[min(fitted, key=lambda x: abs(x - N))]
            res = fit_em(
                base, data, init_params=dataclasses.replace(start, n_unseen=np.array(u)),
                fixed=base.held(start, unseen=True),
                tol=self.tol, max_iter=self.max_iter, accelerate=self.accelerate, n_init=1,
            )
            fitted[float(N)] = res.params
            if res.loglik > ll_hat + 1e-6 * (1.0 + abs(ll_hat)):
                warnings.warn(
                    f"{base.name}: the profile at N = {N:.4g} reached log-likelihood {res.loglik:.6f}, above the fit's "
                    f"{ll_hat:.6f}: the EM fit is a local maximum; raise n_init",
                    BoundaryWarning, stacklevel=user_stacklevel(),
                )
            return res.loglik

        return lp

    def _profile(self, n_hat: float) -> ProfileInterval:
        step = self.N_se_ if np.isfinite(self.N_se_) else 0.1 * n_hat
        return profile_interval(
            self._profile_function(), self.n_caught_, min(n_hat, self._cap), self.loglik_,
            level=self.level, cap=self._cap, step=step,
        )

    def profile_loglik(self, N) -> np.ndarray:
        """Profile log-likelihood ``max_theta log L(N, theta)`` at each value of
        ``N`` (each >= the number caught), e.g. for plotting."""
        self._check_fitted()
        values = as_array(N, "N", ndim=1)
        if (values < self.n_caught_).any() or not np.all(np.isfinite(values)):
            raise ValueError(f"N values must be finite and at least the number caught ({self.n_caught_})")
        lp = self._profile_function()
        return np.array([lp(v) for v in values])

    # -- results ---------------------------------------------------------------------
    def _probability_covariance(self) -> np.ndarray:
        space, params = self.model_.space, self.result_.params

        def probs(x):
            return self.model_.probabilities(space.unflatten(x, params))[1]

        cov = self.covariance_.copy()
        fixed = self.result_.fixed
        if fixed is not None:  # held fixed: known exactly (variance 0), not unknown
            held = space.flatten(fixed).astype(bool)
            cov[held, :] = 0.0
            cov[:, held] = 0.0
        return delta_method(probs, space.flatten(params), cov)

    def summary(self, level: float | None = None) -> pd.DataFrame:
        """N (profile interval), class proportions and capture probabilities (Wald
        intervals on the logit scale, standard errors by the delta method).

        Columns: parameter, estimate, std_error, ci_lower, ci_upper, interval.
        Capture probabilities are listed once per distinct value the model
        allows: ``p`` (M0), ``p[t]`` (Mt), ``p[class k]`` (Mh), ``p[class k, t]`` (Mth).
        ``level`` sets the Wald intervals; N's profile interval is computed at
        fit time at the estimator's ``level``.
        """
        self._check_fitted()
        level = self.level if level is None else level
        K, T = self.p_.shape
        se_p = np.sqrt(np.diag(self._probability_covariance())).reshape(K, T)
        rows = [("N", self.N_, self.N_se_, *self.N_interval_, "profile" if self.profile else "none")]
        if K > 1:
            labels = self.model_.space.labels(self.result_.params)
            at = [labels.index(f"weights[{k}]") for k in range(K)]
            se_w = np.sqrt(np.diag(self.covariance_)[at])
            lo, hi = wald_intervals(self.weights_, se_w, ["logit"] * K, level)
            rows += [(f"weight[{k}]", self.weights_[k], se_w[k], lo[k], hi[k], "Wald") for k in range(K)]
        by_class, by_time = K > 1, self.model_.varies_by_time
        cells = [(k, t) for k in (range(K) if by_class else [0]) for t in (range(T) if by_time else [0])]
        est = np.array([self.p_[c] for c in cells])
        se = np.array([se_p[c] for c in cells])
        lo, hi = wald_intervals(est, se, ["logit"] * len(cells), level)
        for (k, t), e, s, a, b in zip(cells, est, se, lo, hi):
            parts = ([f"class {k}"] if by_class else []) + ([f"t={t + 1}"] if by_time else [])
            rows.append((f"p[{', '.join(parts)}]" if parts else "p", e, s, a, b, "Wald"))
        return pd.DataFrame(rows, columns=["parameter", "estimate", "std_error", "ci_lower", "ci_upper", "interval"])

    def expected_frequencies(self, by: str = "times") -> pd.DataFrame:
        """Observed against expected numbers of animals.

        ``by="times"``: caught exactly ``y = 1..T`` times, expected
        ``N sum_k pi_k P_k(Y = y)`` (Poisson-binomial in the class's
        probabilities). ``by="occasion"``: caught on occasion ``t``, expected
        ``N sum_k pi_k p_kt``. With N unbounded there is no expectation (error).
        """
        self._check_fitted()
        if not np.isfinite(self.N_):
            raise ValueError("N_ is unbounded (inf): there are no finite expected frequencies")
        data = self._data
        if by == "times":
            expected = self.N_ * self.weights_ @ _count_distribution(self.p_)
            obs = data.times_caught()
            y = np.arange(self.n_occasions_ + 1)
            return pd.DataFrame({"times_caught": y[1:], "observed": obs[1:], "expected": expected[1:]})
        if by == "occasion":
            expected = self.N_ * self.weights_ @ self.p_
            return pd.DataFrame({
                "occasion": np.arange(1, self.n_occasions_ + 1),
                "observed": data.caught_per_occasion().astype(float),
                "expected": expected,
            })
        raise ValueError(f"by must be 'times' or 'occasion'; got {by!r}")


def compare_models(histories, models=DEFAULT_MODELS, freq=None, **settings) -> pd.DataFrame:
    """AIC table across capture models, best first.

    ``histories`` (with ``freq``) is fitted with each name in ``models`` using
    :class:`CaptureRecapture` ``(**settings)``; or pass a list of already fitted
    :class:`CaptureRecapture` objects instead (``models`` is then ignored).

    Columns: model, n_parameters (N included), loglik (the full log-likelihood,
    same constants for every model), AIC, delta_AIC, N, N_se, N_lower, N_upper,
    converged. The fits are available as ``table.attrs["fits"]`` keyed by model.
    """
    if isinstance(histories, (list, tuple)) and histories and all(isinstance(f, CaptureRecapture) for f in histories):
        fits = list(histories)
    else:
        models = list(models) if isinstance(models, (list, tuple)) else models
        if not isinstance(models, list) or not models:
            raise ValueError(f"models must be a non-empty list of model names such as {MODEL_NAMES}; got {models!r}")
        unknown = [m for m in models if not isinstance(m, str)]
        if unknown:
            raise TypeError(f"models must be model names such as {MODEL_NAMES}; got {unknown[0]!r}")
        fits = [CaptureRecapture(m, **settings).fit(histories, freq) for m in models]
    rows = []
    for f in fits:
        f._check_fitted()
        rows.append({
            "model": f.model, "n_parameters": f.n_parameters_, "loglik": f.loglik_, "AIC": f.aic(),
            "N": f.N_, "N_se": f.N_se_, "N_lower": f.N_interval_[0], "N_upper": f.N_interval_[1],
            "converged": f.converged_,
        })
    table = pd.DataFrame(rows).sort_values("AIC", kind="stable").reset_index(drop=True)
    table.insert(4, "delta_AIC", table["AIC"] - table["AIC"].min())
    table.attrs["fits"] = {f.model: f for f in fits}
    return table
