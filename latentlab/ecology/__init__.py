"""Ecology: closed-population capture-recapture with latent heterogeneity and unknown N.

``CaptureRecapture(model=...)`` fits M0, Mt, Mh_K and Mth_K (Otis et al. 1978;
Pledger 2000) by EM with the population size N estimated inside the EM, gives
N with a standard error and a profile-likelihood interval, class proportions
and capture probabilities with standard errors; ``compare_models`` gives an AIC
table; ``simulate_capture_histories`` draws data with a known truth;
``read_inp`` reads MARK encounter-history files.
"""

from .capture_models import MODEL_NAMES
from .capture_recapture import DEFAULT_MODELS, CaptureRecapture, compare_models
from .histories import CaptureData, InpFile, as_capture_data, read_inp
from .profile import ProfileInterval
from .simulate import simulate_capture_histories

__all__ = [
    "CaptureRecapture",
    "compare_models",
    "simulate_capture_histories",
    "read_inp",
    "as_capture_data",
    "CaptureData",
    "InpFile",
    "ProfileInterval",
    "MODEL_NAMES",
    "DEFAULT_MODELS",
]
