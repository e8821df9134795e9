"""What every user-facing estimator shares: scikit-learn's parameter protocol
(``get_params``/``set_params``, a ``repr`` of non-default settings, tags),
fitting through the engine, the fitted attributes that mirror
:class:`EMResult`, information criteria, and one ``summary()`` /
``print_summary()`` convention.

scikit-learn is never imported at run time: ``clone``, ``Pipeline`` and
``GridSearchCV`` need only ``get_params``/``set_params`` and
``__sklearn_tags__``, which imports scikit-learn's tag classes when (and only
when) scikit-learn itself asks for them.
"""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd

from .engine import fit_em
from .inference import covariance, wald_table
from .model import EMModel
from .partitions import Partitions, active_client
from .settings import DEFAULTS

__all__ = ["Estimator", "EMEstimator", "NotFittedError", "SUMMARY_COLUMNS"]

#: the columns every ``summary()`` starts with (fields may add more after them)
SUMMARY_COLUMNS = ["parameter", "estimate", "std_error", "ci_lower", "ci_upper"]


class NotFittedError(ValueError, AttributeError):
    """An estimator was used before ``fit`` (a ValueError and an
    AttributeError, as scikit-learn's)."""


class Estimator:
    """scikit-learn's parameter protocol, for every estimator in latentlab.

    A subclass's ``__init__`` stores its arguments unchanged under their own
    names (scikit-learn's convention). Class attributes a subclass may set:
    ``_estimator_type`` (scikit-learn's: ``"clusterer"``,
    ``"density_estimator"``, ...) and ``_allow_nan`` (NaN marks a missing
    value in its input).
    """

    _estimator_type: str | None = None
    _allow_nan = False

    # -- scikit-learn's parameter protocol --------------------------------------------
    @classmethod
    def _get_param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        names = []
        for name, p in sig.parameters.items():
            if name == "self":
                continue
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                raise TypeError(f"{cls.__name__}.__init__ must not take *args or **kwargs (scikit-learn's convention)")
            names.append(name)
        return sorted(names)

    def get_params(self, deep: bool = True) -> dict:
        """The constructor arguments and their current values."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params):
        """Set constructor arguments by name; returns ``self``."""
        valid = self._get_param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(
                    f"{name!r} is not a parameter of {type(self).__name__}; its parameters are {valid}"
                )
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        sig = inspect.signature(type(self).__init__)
        shown = []
        for name, p in sig.parameters.items():
            if name == "self" or not hasattr(self, name):
                continue
            value = getattr(self, name)
            if p.default is not inspect.Parameter.empty and _same(value, p.default):
                continue
            shown.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

    def __sklearn_tags__(self):
        """scikit-learn's tags (called by scikit-learn only, which is then installed)."""
        from sklearn.utils import InputTags, Tags, TargetTags, TransformerTags

        return Tags(
            estimator_type=self._estimator_type,
            target_tags=TargetTags(required=False),
            transformer_tags=TransformerTags() if hasattr(self, "transform") else None,
            input_tags=InputTags(allow_nan=self._allow_nan),
        )



class EMEstimator(Estimator):
    """Base of the estimators built on one :class:`EMModel`: builds a model
    and validated data in ``fit`` and calls :meth:`_fit_em`. ``_engine_name``
    maps an engine setting to the constructor argument holding it, where
    their names differ (the HMMs' ``n_iter``)."""

    _engine_name: dict[str, str] = {}

    # -- fitting ----------------------------------------------------------------------------
    def _set_engine_settings(self, **settings) -> None:
        """Store engine settings (names from :data:`~latentlab.em.settings.DEFAULTS`)
        as attributes of the same names, as given; :func:`fit_em` validates them."""
        unknown = set(settings) - set(DEFAULTS)
        if unknown:
            raise TypeError(f"not engine settings: {sorted(unknown)}")
        for name, value in settings.items():
            setattr(self, name, value)

    def _engine_settings(self) -> dict:
        """The engine settings stored on this estimator (defaults where it has none)."""
        return {
            name: getattr(self, self._engine_name.get(name, name), default) for name, default in DEFAULTS.items()
        }

    def _fit_em(self, model: EMModel, data, n_obs: float, init_params=None, fixed=None, **overrides):
        """Run the engine with this estimator's settings; set ``result_``."""
        settings = {**self._engine_settings(), **overrides}
        self.model_ = model
        self._data = data
        self._covariance = None
        self.n_obs_ = n_obs  # observations (a sum of frequency weights may be fractional)
        self.result_ = fit_em(model, data, init_params=init_params, fixed=fixed, **settings)
        return self.result_

    @staticmethod
    def _partitions(collection, prepare) -> Partitions:
        """A Dask collection as partitions (each block turned into the
        model's data by ``prepare``) on the active ``dask.distributed``
        client, or in this process when there is none; kept in memory when
        they fit (:meth:`Partitions.from_dask`)."""
        return Partitions.from_dask(collection, prepare, client=active_client())

    # -- mirrors of the EMResult --------------------------------------------------
    def _check_fitted(self):
        if not hasattr(self, "result_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit(...) first")

    @property
    def loglik_(self) -> float:
        self._check_fitted()
        return self.result_.loglik

    @property
    def n_iter_(self) -> int:
        self._check_fitted()
        return self.result_.n_iter

    @property
    def converged_(self) -> bool:
        self._check_fitted()
        return self.result_.converged

    # -- inference ------------------------------------------------------------------
    def _covariance_fixed(self):
        """The mask of entries without a standard error: those held in the fit
        (subclasses may hold more, e.g. a start distribution on a vertex)."""
        return self.result_.fixed

    @property
    def covariance_(self) -> np.ndarray:
        """Covariance of the flattened parameters from the observed information
        (computed on first use and kept)."""
        self._check_fitted()
        if self._covariance is None:
            if self.result_.covariance is not None:
                self._covariance = self.result_.covariance
            else:
                self._covariance = covariance(self.model_, self._data, self.result_.params, self._covariance_fixed())
        return self._covariance

    @property
    def covariance_method_(self) -> str:
        """How :attr:`covariance_` is computed (shown by :meth:`print_summary`)."""
        self._check_fitted()
        if type(self.model_).analytic_covariance is not EMModel.analytic_covariance:
            return "analytic observed information"
        return "observed information (numerical Hessian)"

    @property
    def n_parameters_(self) -> int:
        """Number of free parameters (a simplex of k weights counts k - 1)."""
        self._check_fitted()
        return self.model_.space.n_parameters(self.result_.params, self.result_.fixed)

    def aic(self) -> float:
        """Akaike's criterion ``-2 loglik + 2 k`` of the fitted model."""
        return -2.0 * self.loglik_ + 2.0 * self.n_parameters_

    def bic(self) -> float:
        """Schwarz's criterion ``-2 loglik + k log n`` of the fitted model."""
        return -2.0 * self.loglik_ + self.n_parameters_ * np.log(self.n_obs_)

    def _parameter_labels(self) -> list[str] | None:
        """Readable labels of the flattened parameters (subclasses override)."""
        return None

    def summary(self, level: float = 0.95) -> pd.DataFrame:
        """Estimates with standard errors and Wald intervals at ``level``.

        Columns: parameter, estimate, std_error, ci_lower, ci_upper
        (:data:`SUMMARY_COLUMNS`). Intervals are on the log scale for rates and
        the logit scale for probabilities.
        """
        self._check_fitted()
        table = wald_table(self.model_, self.result_.params, self.covariance_, level)
        labels = self._parameter_labels()
        if labels is not None:
            table["parameter"] = labels
        return table

    def _summary_header(self) -> list[tuple[str, str]]:
        """(label, value) lines above the table of :meth:`print_summary`."""
        r = self.result_
        return [
            ("model", type(self).__name__ if r.model_name == type(self).__name__ else f"{type(self).__name__} ({r.model_name})"),
            ("observations", f"{self.n_obs_:g}"),
            ("log-likelihood", f"{r.loglik:.4f}"),
            ("AIC", f"{EMEstimator.aic(self):.4f}"),
            ("BIC", f"{EMEstimator.bic(self):.4f}"),
            ("free parameters", str(self.n_parameters_)),
            ("iterations", f"{r.n_iter} ({r.n_evals} E-steps, {r.accelerate or 'plain EM'})"),
            ("converged", str(r.converged)),
            ("covariance", self.covariance_method_),
        ]

    def print_summary(self, level: float = 0.95, decimals: int = 4) -> None:
        """Print a header (model, observations, log-likelihood, AIC, BIC,
        iterations, convergence, how the covariance was computed) and the
        :meth:`summary` table, as statsmodels does. Returns None."""
        self._check_fitted()
        table = self.summary(level)
        header = self._summary_header()
        width = max(len(k) for k, _ in header)
        lines = [f"{k:<{width}}  {v}" for k, v in header]
        body = table.to_string(index=False, float_format=lambda x: f"{x:.{decimals}g}")
        rule = "=" * max(max(map(len, lines)), max(map(len, body.splitlines())))
        print("\n".join([rule, *lines, rule, body, rule]))


def _same(value, default) -> bool:
    """Whether a constructor argument still has its default (arrays compared by value)."""
    if value is default:
        return True
    try:
        return bool(np.array_equal(np.asarray(value, dtype=object), np.asarray(default, dtype=object))) and \
            type(value) is type(default)
    except Exception:
        return False
