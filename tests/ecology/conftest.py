"""Shared fixtures: the deer mice data and an independent likelihood for the
closed-population capture models, written directly from Otis et al. (1978)
and Pledger (2000) without using latentlab's code."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import gammaln

DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture(scope="session")
def deermice():
    """The 38 x 6 deer mice capture matrix (VGAM ``deermice``)."""
    return pd.read_csv(DATA / "deermice.csv").loc[:, [f"y{t}" for t in range(1, 7)]].to_numpy()


def tabulate(H):
    """Distinct rows of the capture matrix ``H`` and their counts."""
    return np.unique(np.asarray(H), axis=0, return_counts=True)


def direct_loglik(H, N, weights, P, freq=None):
    """Full log-likelihood of capture histories ``H`` (one row per animal, or
    distinct rows with counts ``freq``) at population size ``N``, class weights
    (K,) and capture probabilities ``P`` (K, T): the multinomial over distinct
    histories,

        lgamma(N+1) - lgamma(N-n+1) - sum_j lgamma(f_j+1) + sum_j f_j log P(h_j) + (N-n) log P0.
    """
    H, f = tabulate(H) if freq is None else (np.asarray(H), np.asarray(freq))
    n = f.sum()
    per_class = np.prod(np.where(H[:, None, :] == 1, P[None], 1 - P[None]), axis=2)  # (J, K)
    p_h = per_class @ weights
    p0 = weights @ np.prod(1 - P, axis=1)
    return (gammaln(N + 1) - gammaln(N - n + 1) - gammaln(f + 1).sum() + f @ np.log(p_h)
            + (N - n) * np.log(p0))
