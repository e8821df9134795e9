"""Hidden Markov models fitted by Baum-Welch (EM) on the latentlab engine,
with hmmlearn's constructor arguments and attribute names."""

from .categorical import CategoricalHMM, CategoricalHMMModel
from .gaussian import GaussianHMM, GaussianHMMModel
from .params import CategoricalHMMParams, GaussianHMMParams, PoissonHMMParams
from .poisson import PoissonHMM, PoissonHMMModel
from .simulate import simulate_hmm

__all__ = [
    "GaussianHMM",
    "CategoricalHMM",
    "PoissonHMM",
    "simulate_hmm",
    "GaussianHMMModel",
    "CategoricalHMMModel",
    "PoissonHMMModel",
    "GaussianHMMParams",
    "CategoricalHMMParams",
    "PoissonHMMParams",
]
