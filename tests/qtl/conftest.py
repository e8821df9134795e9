"""Crosses and R/qtl's stored output for the QTL tests (made by
tests/references/rqtl_crosses.R; the tests never need R)."""

from pathlib import Path

import pandas as pd
import pytest

from latentlab.qtl import read_cross_csv

ROOT = Path(__file__).resolve().parents[2]
REF = ROOT / "tests" / "references" / "rqtl"


@pytest.fixture(scope="session")
def hyper():
    return read_cross_csv(ROOT / "data" / "hyper.csv", codes=("BB", "BA", "AA"), alleles=("B", "A"))


@pytest.fixture(scope="session")
def fake_f2():
    return read_cross_csv(ROOT / "data" / "fake_f2.csv")


@pytest.fixture(scope="session")
def fake_bc():
    return read_cross_csv(ROOT / "data" / "fake_bc.csv")


def reference(name: str) -> pd.DataFrame:
    """A table of tests/references/rqtl, or of case_studies/results for hyper's scan."""
    table = pd.read_csv(REF / name if (REF / name).exists() else ROOT / "case_studies" / "results" / name)
    table["chr"] = table["chr"].astype(str)
    return table
