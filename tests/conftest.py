"""Shared test fixtures."""

import matplotlib

matplotlib.use("Agg")
