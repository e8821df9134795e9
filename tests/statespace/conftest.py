"""Shared data of the state-space tests: the Nile and the constant-velocity system."""

from pathlib import Path

import numpy as np
import pandas as pd

from latentlab.cli import load

NILE_PATH = Path(__file__).resolve().parents[2] / "data" / "nile.csv"
NILE = pd.read_csv(NILE_PATH)["flow"].to_numpy(dtype=float)


def cv_model():
    """The case study's constant-velocity system (states x, vx, y, vy,
    positions observed, correlated R) with a full-rank, correlated Q: the
    truth for fits with unrestricted Q and R, which are compared on
    likelihoods (those parameters are not identified: the case study says
    why). Returns ``(A, C, Q, R)``."""
    A, C, _, R = load("system_identification").cv_truth()
    Q = np.array([[1.0, 0.3, 0.2, 0.0], [0.3, 0.5, 0.0, 0.1], [0.2, 0.0, 1.0, 0.3], [0.0, 0.1, 0.3, 0.5]])
    return A, C, Q, R
