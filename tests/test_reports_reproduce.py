"""The committed case-study reports are what the code writes today.

Every case study runs (default mode) into a scratch folder; each Markdown
report must equal the committed one to the byte, and the same figures must be
written. (Figures are compared by name only: their pixels depend on the
installed matplotlib and FreeType; on one machine they are byte-stable, which
``latentlab reproduce`` followed by ``git status`` shows.)
"""

import multiprocessing
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from latentlab import cli

COMMITTED = Path(__file__).resolve().parents[1] / "docs" / "case_studies"


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
        for done in [pool.submit(_run_quietly, name, out) for name in cli.available()]:
            done.result()
    return out


@pytest.mark.parametrize("name", sorted(cli.available()))
def test_committed_report_equals_a_fresh_run(regenerated, name):
    fresh = (regenerated / f"{name}.md").read_text()
    committed = (COMMITTED / f"{name}.md").read_text()
    assert fresh == committed, f"docs/case_studies/{name}.md is stale: run `latentlab run {name}` and commit"
    figures = sorted(p.name for p in (regenerated / "figures").glob(f"{name}_*.png"))
    assert figures == sorted(p.name for p in (COMMITTED / "figures").glob(f"{name}_*.png"))


def test_reports_hold_no_timings(regenerated):
    for report in regenerated.glob("*.md"):
        text = report.read_text()
        assert "Run time" not in text and " s wall" not in text, report.name
