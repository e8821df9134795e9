"""Survival analysis by EM: censored exponential lifetimes (and exponential
regression), the Turnbull NPMLE for interval-censored data, the exponential
mixture cure model, Kaplan-Meier, and simulation of censored trials."""

from .cure import CureParams, ExponentialCure, ExponentialCureModel
from .exponential import CensoredExponential, ExponentialModel, ExponentialParams
from .kaplan_meier import KaplanMeier
from .simulate import simulate_censored_exponential
from .turnbull import Turnbull, TurnbullModel, TurnbullParams, turnbull_intervals

__all__ = [
    "CensoredExponential",
    "ExponentialModel",
    "ExponentialParams",
    "Turnbull",
    "TurnbullModel",
    "TurnbullParams",
    "turnbull_intervals",
    "ExponentialCure",
    "ExponentialCureModel",
    "CureParams",
    "KaplanMeier",
    "simulate_censored_exponential",
]
