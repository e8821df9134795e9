"""State-space models fitted by EM: the linear Gaussian model with a Kalman
filter and Rauch-Tung-Striebel smoother as its E-step, and nonlinear models
(stochastic volatility, the growth model, your own) with a particle smoother
as a Monte Carlo E-step."""

from . import particle_models
from .estimator import LinearGaussianSSM, StateEstimates, local_level, local_linear_trend
from .model import LinearGaussianSSMModel, SSMData, SSMParams, SSMStats
from .particle_em import ParticleSSM
from .particle_models import *  # noqa: F403  (the names in particle_models.__all__)
from .simulate import simulate_ssm

__all__ = [
    "LinearGaussianSSM",
    "StateEstimates",
    "local_level",
    "local_linear_trend",
    "simulate_ssm",
    "LinearGaussianSSMModel",
    "SSMData",
    "SSMParams",
    "SSMStats",
    "ParticleSSM",
    *particle_models.__all__,
]
