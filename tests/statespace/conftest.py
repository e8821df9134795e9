"""Shared data of the state-space tests: the Nile and the constant-velocity model."""

from pathlib import Path

import numpy as np
import pandas as pd

NILE_PATH = Path(__file__).resolve().parents[2] / "data" / "nile.csv"
NILE = pd.read_csv(NILE_PATH)["flow"].to_numpy(dtype=float)


def cv_model(dt: float = 1.0):
    """A 2-D constant-velocity target seen by a position sensor: states
    (x, vx, y, vy); ``Q`` full rank (position jitter on top of random
    accelerations), ``R`` correlated. Returns ``(A, C, Q, R)``."""
    A = np.kron(np.eye(2), np.array([[1.0, dt], [0.0, 1.0]]))
    C = np.kron(np.eye(2), np.array([[1.0, 0.0]]))
    Q = np.array([[1.0, 0.3, 0.2, 0.0], [0.3, 0.5, 0.0, 0.1], [0.2, 0.0, 1.0, 0.3], [0.0, 0.1, 0.3, 0.5]])
    R = np.array([[4.0, 1.0], [1.0, 2.0]])
    return A, C, Q, R
