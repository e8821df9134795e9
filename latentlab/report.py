"""Markdown reports with figures, written by the case studies.

A report is a list of blocks (paragraphs, tables, figures) written to
``docs/case_studies/<name>.md`` with figures beside it in
``docs/case_studies/figures/``.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

__all__ = ["Report", "markdown_table", "DOCS_DIR"]

#: where case-study reports go: ``docs/case_studies`` of the source tree
DOCS_DIR = Path(__file__).resolve().parents[1] / "docs" / "case_studies"


def _cell(value, floatfmt: str) -> str:
    if isinstance(value, (float, np.floating)):
        return format(float(value), floatfmt) if np.isfinite(value) else str(value)
    return str(value)


def markdown_table(df: pd.DataFrame, floatfmt: str = ".4g", index: bool = False) -> str:
    """A GitHub-flavoured Markdown table of ``df``."""
    if index:
        df = df.reset_index()
    header = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = "|" + "|".join("---" for _ in df.columns) + "|"
    rows = ["| " + " | ".join(_cell(v, floatfmt) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


class Report:
    """Collects the blocks of one case-study report and writes them."""

    def __init__(self, name: str, title: str, outdir: Path | str | None = None):
        self.name, self.title = name, title
        self.outdir = Path(outdir) if outdir is not None else DOCS_DIR
        self.blocks: list[str] = [f"# {title}"]

    def text(self, markdown: str) -> None:
        self.blocks.append(markdown.strip())

    def table(self, df: pd.DataFrame, caption: str | None = None, floatfmt: str = ".4g", index: bool = False) -> None:
        if caption:
            self.blocks.append(f"*{caption}*")
        self.blocks.append(markdown_table(df, floatfmt, index))

    def figure(self, fig, stem: str, caption: str) -> Path:
        """Save ``fig`` as ``figures/<name>_<stem>.png`` and reference it."""
        figdir = self.outdir / "figures"
        figdir.mkdir(parents=True, exist_ok=True)
        path = figdir / f"{self.name}_{stem}.png"
        fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(fig)
        self.blocks.append(f"![{caption}](figures/{path.name})\n\n*{caption}*")
        return path

    def write(self) -> Path:
        self.outdir.mkdir(parents=True, exist_ok=True)
        path = self.outdir / f"{self.name}.md"
        path.write_text("\n\n".join(self.blocks) + "\n")
        return path
