"""The 300-replicate study of the system-identification case study (slow: run
with -m slow).

A 2-D constant-velocity track (T = 1,000) with a diagonal Q and a full R, both
estimated: the 95% Wald intervals of the six noise variances (Q's four, R's
two) must cover the truth with a frequency in [0.92, 0.98] (issue 14), each
and pooled. With 300 replicates one coverage has a standard deviation of
sqrt(0.95 * 0.05 / 300) = 0.013, so the band is about +/- 2.4 sd. The results
are written to the case study's results file, which its report reads.
"""

import pytest

from latentlab.cli import load
from latentlab.report import replicate_results


@pytest.mark.slow
def test_three_hundred_replicates():
    study = load("system_identification")
    results, _ = replicate_results(study.RESULTS, study.replicate_study, 300, 20, full=True)
    summary = study.summarise_replicates(results).set_index("parameter")
    print(summary.to_string())
    assert summary["converged"].min() == 1.0
    for name, row in summary.iterrows():
        assert 0.92 <= row["95% coverage"] <= 0.98, (name, row["95% coverage"])
