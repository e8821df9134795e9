"""The 200-replicate study of the trap-shy case study (slow: run with -m slow).

Simulated heterogeneity: N = 500, 6 occasions, 30% with p = 0.6 and 70% with
p = 0.1. Targets (issue 7): median relative bias of N under Mh2 at most 5%,
95% profile-interval coverage in [0.90, 0.98], and M0's negative bias visible.
With 200 replicates the coverage estimate has sd sqrt(0.95 * 0.05 / 200) = 0.015,
so the interval [0.90, 0.98] is about +/- 2-3 sd around the nominal 0.95.
The results are written to the case study's results file, which its report reads.
"""

import pytest

from latentlab.cli import load
from latentlab.report import replicate_results


@pytest.mark.slow
def test_two_hundred_replicates():
    study = load("trap_shy_animals")
    results, _ = replicate_results(study.RESULTS, study.replicate_study, 200, 20, full=True)
    summary = study.summarise_replicates(results).set_index("model")
    print(summary.to_string())
    assert abs(summary.loc["Mh2", "median relative bias"]) <= 0.05
    assert 0.90 <= summary.loc["Mh2", "95% profile-interval coverage"] <= 0.98
    # M0 ignores the shy animals never caught: about a third of the population is missed
    assert summary.loc["M0", "median relative bias"] < -0.15
    assert summary.loc["M0", "95% profile-interval coverage"] < 0.5
