"""Every ``python`` code block of the documentation pages listed here runs as
written, in order, in one namespace per page (a page's blocks build on each
other)."""

import re
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["README.md"] + sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def blocks(page: str) -> list[str]:
    return BLOCK.findall((ROOT / page).read_text())


@pytest.mark.parametrize("page", PAGES)
def test_code_blocks_run(page, tmp_path, monkeypatch):
    code = blocks(page)
    assert code, f"{page} has no python block"
    monkeypatch.chdir(tmp_path)  # anything a block writes lands in a scratch folder,
    (tmp_path / "data").symlink_to(ROOT / "data")  # and data/ reads as from the project's root
    namespace = {"__name__": "__docs__"}
    for i, block in enumerate(code):
        exec(compile(block, f"{page}[block {i}]", "exec"), namespace)


def test_print_summary_shown_in_adding_a_model_is_what_the_code_prints(tmp_path, monkeypatch, capsys):
    page = "docs/adding_a_model.md"
    shown = re.search(r"^```text\n(.*?)^```", (ROOT / page).read_text(), re.S | re.M).group(1)
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__docs__"}
    for block in blocks(page):
        exec(compile(block, page, "exec"), namespace)
    assert shown in capsys.readouterr().out
