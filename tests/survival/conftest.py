"""Shared fixtures: the real datasets under data/."""

from pathlib import Path

import pandas as pd
import pytest

DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture(scope="session")
def drug6mp() -> pd.DataFrame:
    return pd.read_csv(DATA / "drug6mp.csv")


@pytest.fixture(scope="session")
def veteran() -> pd.DataFrame:
    return pd.read_csv(DATA / "veteran.csv")


@pytest.fixture(scope="session")
def cosmesis() -> pd.DataFrame:
    return pd.read_csv(DATA / "breast_cosmesis.csv")
