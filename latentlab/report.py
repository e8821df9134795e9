"""Markdown reports with figures, written by the case studies.

A report is a list of blocks (paragraphs, tables, figures) written to
``<outdir>/<name>.md`` with figures beside it in ``<outdir>/figures/``. The
default ``outdir`` is ``docs/case_studies`` of a source checkout, or
``./latentlab_case_studies`` when latentlab is installed from a wheel.

Reports are deterministic: the same code and data give the same bytes, so
``latentlab reproduce`` leaves a checkout clean. What depends on the machine
(timings) goes to ``<name>.timings.txt`` beside the report, which git ignores.
Steps run under a progress bar in a terminal (:meth:`Report.run_steps`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

__all__ = ["Report", "markdown_table", "default_output_dir", "coverage_summary"]

_SOURCE_DOCS = Path(__file__).resolve().parents[1] / "docs" / "case_studies"


def default_output_dir() -> Path:
    """``docs/case_studies`` of the source checkout latentlab runs from, or
    ``./latentlab_case_studies`` for an installed wheel (no docs beside it)."""
    return _SOURCE_DOCS if _SOURCE_DOCS.is_dir() else Path.cwd() / "latentlab_case_studies"


def _cell(value, floatfmt: str) -> str:
    if isinstance(value, (float, np.floating)):
        return format(float(value), floatfmt) if np.isfinite(value) else str(value)
    return str(value).replace("|", "\\|")  # a bare | would end the cell


def markdown_table(df: pd.DataFrame, floatfmt: str = ".4g", index: bool = False) -> str:
    """A GitHub-flavoured Markdown table of ``df``."""
    if index:
        df = df.reset_index()
    header = "| " + " | ".join(_cell(c, floatfmt) for c in df.columns) + " |"
    rule = "|" + "|".join("---" for _ in df.columns) + "|"
    rows = ["| " + " | ".join(_cell(v, floatfmt) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


def replicate_results(path: Path, study: Callable[[int], pd.DataFrame], n_full: int, n_reduced: int,
                      full: bool) -> tuple[pd.DataFrame, str]:
    """The results of a case study's replicate study, and a sentence saying
    where they come from: with ``full``, ``study(n_full)`` run now and written
    to ``path`` (a CSV under ``case_studies/results/``); otherwise the file
    read back, or ``study(n_reduced)`` when there is no file yet."""
    where = f"`case_studies/results/{path.name}`"
    if full:
        results = study(n_full)
        path.parent.mkdir(parents=True, exist_ok=True)
        results.to_csv(path, index=False)
        return results, f"Results computed in this run (`run(full=True)`) and written to {where}."
    if path.exists():
        return pd.read_csv(path), f"Results read from the results file {where}."
    return study(n_reduced), (f"Results a reduced set of {n_reduced} replicates computed in this run "
                              f"(no results file at {where}).")


def coverage_summary(covered: int, intervals: int) -> dict:
    """The share of ``intervals`` that covered the truth, with its binomial
    Monte Carlo standard error."""
    share = covered / intervals
    return {"intervals": int(intervals), "coverage": share, "coverage MC s.e.": float(np.sqrt(share * (1 - share) / intervals))}


class Report:
    """Collects the blocks of one case-study report and writes them."""

    def __init__(self, name: str, title: str, outdir: Path | str | None = None):
        self.name, self.title = name, title
        self.outdir = Path(outdir) if outdir is not None else default_output_dir()
        self.blocks: list[str] = [f"# {title}"]
        self.timings: dict[str, float] = {}

    def text(self, markdown: str) -> None:
        self.blocks.append(markdown.strip())

    def table(self, df: pd.DataFrame, caption: str | None = None, floatfmt: str = ".4g", index: bool = False) -> None:
        if caption:
            self.blocks.append(f"*{caption}*")
        self.blocks.append(markdown_table(df, floatfmt, index))

    def figure(self, fig, stem: str, caption: str) -> Path:
        """Save ``fig`` as ``figures/<name>_<stem>.png`` and reference it (no
        version stamp in the file, so the same figure gives the same bytes)."""
        figdir = self.outdir / "figures"
        figdir.mkdir(parents=True, exist_ok=True)
        path = figdir / f"{self.name}_{stem}.png"
        fig.savefig(path, dpi=110, bbox_inches="tight", metadata={"Software": None})
        plt.close(fig)
        self.blocks.append(f"![{caption}](figures/{path.name})\n\n*{caption}*")
        return path

    @contextmanager
    def timed(self, label: str):
        """Time the block into ``timings[label]`` (seconds), for the timings file."""
        start = time.perf_counter()
        yield
        self.timings[label] = time.perf_counter() - start

    def run_steps(self, steps: dict[str, Callable[[], object]]) -> None:
        """Run the report's steps in order under a progress bar (shown in a
        terminal only), each timed under its name."""
        from tqdm.auto import tqdm

        bar = tqdm(steps.items(), total=len(steps), desc=self.name, unit="step", leave=False, disable=None)
        for label, step in bar:
            bar.set_postfix_str(label)
            with self.timed(label):
                step()
        bar.close()

    @property
    def timings_path(self) -> Path:
        return self.outdir / f"{self.name}.timings.txt"

    def write(self) -> Path:
        """Write the report, and the timings (if any) beside it."""
        self.outdir.mkdir(parents=True, exist_ok=True)
        path = self.outdir / f"{self.name}.md"
        path.write_text("\n\n".join(self.blocks) + "\n")
        if self.timings:
            lines = [f"{label}\t{seconds:.2f} s" for label, seconds in self.timings.items()]
            self.timings_path.write_text("\n".join(lines) + "\n")
        return path
