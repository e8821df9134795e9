"""Time-reversible nucleotide substitution models: JC69, K80, HKY85, GTR.

A reversible model has stationary base frequencies ``pi`` and symmetric
exchangeabilities ``s_ij`` (states in the order A, C, G, T); its rate matrix is

    Q_ij = s_ij pi_j / mu   (i != j),     Q_ii = -sum_{j != i} Q_ij,
    mu   = sum_i pi_i sum_{j != i} s_ij pi_j,

scaled by ``mu`` so that one unit of time (of branch length) carries one
expected substitution per site at equilibrium. The transition probabilities
along a branch of length ``t`` are ``P(t) = exp(Q t)``.

Eigendecomposition: ``Q`` is not symmetric, but ``S = Pi^{1/2} Q Pi^{-1/2}``
(``Pi = diag(pi)``) is, so ``S = V diag(lambda) V'`` with an orthogonal ``V``
from a symmetric eigensolver (stable, real), and

    P(t) = A diag(exp(lambda t)) B,    A = Pi^{-1/2} V,   B = V' Pi^{1/2}.

The models differ only in their exchangeabilities (order AC, AG, AT, CG, CT, GT):

* JC69 (Jukes & Cantor 1969): all 1, ``pi`` equal;
* K80 (Kimura 1980): ``kappa`` for the transitions A<->G, C<->T, 1 otherwise, ``pi`` equal;
* HKY85 (Hasegawa, Kishino & Yano 1985): K80's with free ``pi``;
* GTR (Tavare 1986): five free rates relative to G<->T = 1, free ``pi``.

HKY85 and GTR built with ``freqs=None`` take their frequencies from the data
(the estimators use the alignment's empirical base composition).
"""

from __future__ import annotations

import numpy as np
from scipy import special

__all__ = ["SubstitutionModel", "JC69", "K80", "HKY85", "GTR", "STATES", "PAIRS", "substitution_model",
           "discrete_gamma_rates"]

STATES = "ACGT"
#: the exchangeabilities' order: the upper triangle of the rate matrix
PAIRS = ("AC", "AG", "AT", "CG", "CT", "GT")
_UPPER = np.triu_indices(4, 1)


class SubstitutionModel:
    """A reversible nucleotide model (module docstring). Subclasses set
    ``rate_names`` (their free exchangeability parameters), ``free_freqs``
    (whether the base frequencies are parameters) and :meth:`exchangeabilities`."""

    rate_names: tuple[str, ...] = ()
    free_freqs = False

    def __init__(self, rates=(), freqs=None):
        rates = np.asarray(rates, dtype=float).reshape(-1)
        for name, value in zip(self.rate_names, rates):
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"{type(self).__name__}: {name} must be a positive finite number; got {value!r}")
        self.rates = rates
        if freqs is not None and not self.free_freqs:
            raise ValueError(f"{type(self).__name__} has equal base frequencies; freqs cannot be set")
        self.freqs = np.full(4, 0.25) if not self.free_freqs else None if freqs is None else _check_freqs(freqs)

    @property
    def name(self) -> str:
        return type(self).__name__

    def exchangeabilities(self) -> np.ndarray:
        """``s_ij`` in the order of :data:`PAIRS` (6,)."""
        raise NotImplementedError

    def with_parameters(self, rates, freqs=None) -> SubstitutionModel:
        """The same model with other rates (in ``rate_names`` order) and frequencies."""
        new = object.__new__(type(self))
        SubstitutionModel.__init__(new, rates, freqs if self.free_freqs else None)
        return new

    def _frequencies(self) -> np.ndarray:
        if self.freqs is None:
            raise ValueError(f"{self.name}: freqs are not set (None: to be taken from an alignment)")
        return self.freqs

    def rate_matrix(self) -> np.ndarray:
        """``Q`` (4, 4), normalised to one expected substitution per unit time."""
        pi = self._frequencies()
        s = np.zeros((4, 4))
        s[_UPPER] = self.exchangeabilities()
        s = s + s.T
        q = s * pi[None, :]
        q /= pi @ q.sum(axis=1)
        np.fill_diagonal(q, -q.sum(axis=1))
        return q

    def eigen(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(lambda, A, B)`` with ``P(t) = A diag(exp(lambda t)) B`` (module
        docstring), from the symmetric ``Pi^{1/2} Q Pi^{-1/2}``."""
        pi = self._frequencies()
        root = np.sqrt(pi)
        sym = root[:, None] * self.rate_matrix() / root[None, :]
        lam, v = np.linalg.eigh((sym + sym.T) / 2.0)
        return lam, v / root[:, None], v.T * root[None, :]

    def transition(self, t) -> np.ndarray:
        """``P(t)`` for a branch length or an array of them: shape ``t.shape + (4, 4)``."""
        t = np.asarray(t, dtype=float)
        if not (np.all(np.isfinite(t)) and np.all(t >= 0)):
            raise ValueError(f"branch lengths must be finite and >= 0; got {t!r}")
        lam, a, b = self.eigen()
        return (a * np.exp(t[..., None] * lam)[..., None, :]) @ b

    def __repr__(self) -> str:
        parts = [f"{n}={v:.6g}" for n, v in zip(self.rate_names, self.rates)]
        if self.free_freqs:
            parts.append("freqs=None" if self.freqs is None else f"freqs={np.round(self.freqs, 6).tolist()}")
        return f"{self.name}({', '.join(parts)})"


def _check_freqs(freqs) -> np.ndarray:
    f = np.asarray(freqs, dtype=float)
    if f.shape != (4,) or not (np.all(np.isfinite(f)) and np.all(f > 0)) or abs(f.sum() - 1.0) > 1e-8:
        raise ValueError(f"freqs must be 4 positive base frequencies (A, C, G, T) summing to 1; got {freqs!r}")
    return f / f.sum()


def _kappa_exchangeabilities(kappa: float) -> np.ndarray:
    return np.array([1.0, kappa, 1.0, 1.0, kappa, 1.0])


class JC69(SubstitutionModel):
    """Jukes & Cantor (1969): equal rates and equal base frequencies."""

    def __init__(self):
        super().__init__()

    def exchangeabilities(self):
        return np.ones(6)


class K80(SubstitutionModel):
    """Kimura (1980): transition/transversion rate ratio ``kappa``, equal frequencies."""

    rate_names = ("kappa",)

    def __init__(self, kappa: float = 2.0):
        super().__init__([kappa])

    def exchangeabilities(self):
        return _kappa_exchangeabilities(self.rates[0])


class HKY85(SubstitutionModel):
    """Hasegawa, Kishino & Yano (1985): ``kappa`` and base frequencies."""

    rate_names = ("kappa",)
    free_freqs = True

    def __init__(self, kappa: float = 2.0, freqs=None):
        super().__init__([kappa], freqs)

    def exchangeabilities(self):
        return _kappa_exchangeabilities(self.rates[0])


class GTR(SubstitutionModel):
    """General time-reversible (Tavare 1986): exchangeabilities AC, AG, AT,
    CG, CT relative to GT = 1, and base frequencies."""

    rate_names = PAIRS[:5]
    free_freqs = True

    def __init__(self, rates=(1.0, 1.0, 1.0, 1.0, 1.0), freqs=None):
        if np.size(rates) != 5:
            raise ValueError(f"GTR takes 5 rates (AC, AG, AT, CG, CT relative to GT = 1); got {rates!r}")
        super().__init__(rates, freqs)

    def exchangeabilities(self):
        return np.append(self.rates, 1.0)


_MODELS = {"JC69": JC69, "JC": JC69, "K80": K80, "K2P": K80, "HKY85": HKY85, "HKY": HKY85, "GTR": GTR}


def discrete_gamma_rates(alpha: float, k: int) -> np.ndarray:
    """The relative rates of ``k`` equally probable categories of a
    Gamma(``alpha``, rate ``alpha``) distribution (mean 1): each category's
    mean (Yang 1994, J. Mol. Evol. 39:306-314, the default of IQ-TREE and
    PhyML),

        r_i = k [I(alpha + 1, alpha b_i) - I(alpha + 1, alpha b_{i-1})],

    with ``b_i`` the ``i/k`` quantile of the distribution and ``I`` the
    regularised lower incomplete gamma function. They average to 1."""
    if k == 1:
        return np.ones(1)
    bounds = np.append(special.gammaincinv(alpha, np.arange(1, k) / k), np.inf)  # alpha * b_i
    upper = special.gammainc(alpha + 1.0, bounds)
    rates = k * np.diff(np.append(0.0, upper))
    return rates / rates.mean()  # exact up to round-off; removes it


def substitution_model(name) -> SubstitutionModel:
    """A model with its default parameters from its name: JC69 (JC), K80
    (K2P), HKY85 (HKY) or GTR, in any case."""
    if not isinstance(name, str) or name.upper() not in _MODELS:
        raise ValueError(f"substitution must be one of 'JC69', 'K80', 'HKY85', 'GTR'; got {name!r}")
    return _MODELS[name.upper()]()
