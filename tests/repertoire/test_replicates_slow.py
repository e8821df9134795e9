"""The replicate study of the immune-repertoire case study (slow: run with -m
slow): 95% intervals of clonotype shares cover the true shares. The results
are written to the case study's results file, which its report reads."""

import pytest

from latentlab.cli import load
from latentlab.report import replicate_results


@pytest.mark.slow
def test_share_intervals_cover_the_true_shares():
    study = load("immune_repertoire")
    results, _ = replicate_results(study.RESULTS, study.coverage_study, 200, 20, full=True)
    coverage = results["covered"].sum() / results["intervals"].sum()
    # about 20,000 intervals: the coverage is known to +-0.0015 (binomial); 0.93-0.97 is over 10 standard errors wide
    assert results["intervals"].sum() > 19_000
    assert 0.93 <= coverage <= 0.97, coverage
    assert results["recall"].mean() > 0.99 and results["precision"].mean() > 0.99
