"""The committed case-study reports are what the code writes today.

Every case study runs (default mode) into a scratch folder; each Markdown
report must equal the committed one to the byte, and the same figures must be
written. (Figures are compared by name only: their pixels depend on the
installed matplotlib and FreeType; on one machine they are byte-stable, which
``latentlab reproduce`` followed by ``git status`` shows.) The case studies in
``HEAVY`` are checked with the slow tests: haplotype_phase (its chromosome-scale
section phases 500, 1,000 and 2,000 individuals over 2,220 SNPs, about 3
minutes), stochastic_volatility (a minute or more) and the three next slowest,
15-20 s each run alone on the 2-core CI machine (trap_shy_animals,
poisson_deaths with its 400 replicate data sets, blood_pressure_qtl with its
1,000 permutations); the others take under 12 s.
"""

import multiprocessing
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from latentlab import cli

COMMITTED = Path(__file__).resolve().parents[1] / "docs" / "case_studies"
#: the slowest case studies (see above): checked with the slow tests
HEAVY = ("haplotype_phase", "stochastic_volatility", "trap_shy_animals", "poisson_deaths", "blood_pressure_qtl")


def _run_quietly(name: str, out: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cli.run_one(name, full=False, outdir=out)


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    """Every case study run into one folder, two at a time in fresh processes
    (the machines the suite runs on have two cores; a case study's result
    does not depend on the process it runs in)."""
    out = tmp_path_factory.mktemp("reports")
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as pool:
        for done in [pool.submit(_run_quietly, name, out) for name in cli.available() if name not in HEAVY]:
            done.result()
    return out


def _same_as_committed(folder: Path, name: str) -> None:
    fresh = (folder / f"{name}.md").read_text()
    committed = (COMMITTED / f"{name}.md").read_text()
    assert fresh == committed, f"docs/case_studies/{name}.md is stale: run `latentlab run {name}` and commit"
    figures = sorted(p.name for p in (folder / "figures").glob(f"{name}_*.png"))
    assert figures == sorted(p.name for p in (COMMITTED / "figures").glob(f"{name}_*.png"))


@pytest.mark.parametrize("name", sorted(set(cli.available()) - set(HEAVY)))
def test_committed_report_equals_a_fresh_run(regenerated, name):
    _same_as_committed(regenerated, name)


@pytest.mark.slow
@pytest.mark.parametrize("name", HEAVY)
def test_committed_heavy_report_equals_a_fresh_run(tmp_path, name):
    _run_quietly(name, tmp_path)
    _same_as_committed(tmp_path, name)
    _holds_no_timings(tmp_path / f"{name}.md")


def _holds_no_timings(report: Path) -> None:
    text = report.read_text()
    assert "Run time" not in text and " s wall" not in text, report.name


def test_reports_hold_no_timings(regenerated):
    for report in regenerated.glob("*.md"):
        _holds_no_timings(report)
