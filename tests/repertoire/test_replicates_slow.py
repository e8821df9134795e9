"""Replicate study: 95% intervals of clonotype shares cover the true shares."""

import warnings

import numpy as np
import pytest

from latentlab.repertoire import ClonotypeEM, simulate_repertoire


@pytest.mark.slow
def test_share_intervals_cover_the_true_shares():
    hits = []
    for r in range(200):
        sim = simulate_repertoire(n_clonotypes=100, n_reads=20_000, error_rate=0.01, random_state=1000 + r)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = ClonotypeEM(random_state=0).fit(sim.observed["sequence"], sim.observed["count"])
        table = fit.clonotypes_.set_index("sequence")
        truth = sim.truth.set_index("sequence")
        common = truth.index.intersection(table.index)
        n = table["reads"].sum()
        p = truth.loc[common, "share"]
        hits.extend(((table.loc[common, "reads_lower"] / n <= p) & (p <= table.loc[common, "reads_upper"] / n)).tolist())
    # 20,000 intervals: the coverage is known to +-0.0015 (binomial); 0.93-0.97 is over 10 standard errors wide
    assert 0.93 <= np.mean(hits) <= 0.97, np.mean(hits)
