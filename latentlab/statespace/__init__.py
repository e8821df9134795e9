"""State-space models fitted by EM: the linear Gaussian model with a Kalman
filter and Rauch-Tung-Striebel smoother as its E-step."""

from .estimator import LinearGaussianSSM, StateEstimates, local_level, local_linear_trend
from .model import LinearGaussianSSMModel, SSMData, SSMParams, SSMStats
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
]
