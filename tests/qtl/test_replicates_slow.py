"""The replicate study of the blood-pressure QTL case study (slow: run with -m slow).

200 simulated backcrosses of 200 individuals (and of 100 and 400), one QTL
explaining 10% of the variance (issue 17): the 1.5-LOD support interval on the
true chromosome covers the true position in at least 90% of them (with 200
crosses a coverage of 0.95 has sd 0.015). The results are written to the case
study's results file, which its report reads.
"""

import pytest

from latentlab.cli import load
from latentlab.report import replicate_results


@pytest.mark.slow
def test_two_hundred_replicates():
    study = load("blood_pressure_qtl")
    results, _ = replicate_results(study.RESULTS, study.replicate_study, 200, 20, full=True)
    at200 = results[results.n == 200]
    assert len(at200) == 200
    covered = (at200.lodint_left <= study.TRUE_POSITION) & (study.TRUE_POSITION <= at200.lodint_right)
    print(f"1.5-LOD support interval coverage at n = 200: {covered.mean():.3f}")
    assert covered.mean() >= 0.90
