"""The ``latentlab`` command: list, run, reproduce (on a stand-in case-study folder)."""

import pytest

from latentlab import cli

GOOD = '''"""A case study that works.

More text.
"""
from pathlib import Path


def run(full=False, outdir=None):
    path = Path(outdir or Path(__file__).parent) / "good.md"
    path.write_text("full" if full else "quick")
    return path
'''

BAD = '''"""A case study that fails."""


def run(full=False, outdir=None):
    raise RuntimeError("boom")
'''


@pytest.fixture
def studies(tmp_path, monkeypatch):
    (tmp_path / "good.py").write_text(GOOD)
    (tmp_path / "_helper.py").write_text("")
    monkeypatch.setattr(cli, "CASE_STUDIES_DIR", tmp_path)
    return tmp_path


def test_list_shows_titles_and_skips_private_modules(studies, capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    assert "good" in out and "A case study that works." in out and "_helper" not in out


def test_run_writes_the_report(studies, capsys):
    assert cli.main(["run", "good", "--full"]) == 0
    assert (studies / "good.md").read_text() == "full"
    assert "good: wrote" in capsys.readouterr().out


def test_run_unknown_name_says_what_exists(studies):
    with pytest.raises(SystemExit, match="no case study named 'nope' \\(available: good\\)"):
        cli.main(["run", "nope"])


def test_reproduce_runs_all_and_fails_loudly(studies, capsys):
    assert cli.main(["reproduce"]) == 0
    assert (studies / "good.md").read_text() == "quick"
    (studies / "bad.py").write_text(BAD)
    assert cli.main(["reproduce"]) == 1
    captured = capsys.readouterr()
    assert "FAILED bad" in captured.out + captured.err
    assert "1 of 2 case studies failed: bad" in captured.err


def test_every_repository_case_study_has_a_title_and_run():
    import ast

    found = cli.available()
    assert "poisson_deaths" in found
    for name, path in found.items():
        assert cli.title(path), f"{name} has no docstring title"
        tree = ast.parse(path.read_text())
        runs = [f for f in tree.body if isinstance(f, ast.FunctionDef) and f.name == "run"]
        assert runs and [a.arg for a in runs[0].args.args] == ["full", "outdir"], f"{name} lacks run(full, outdir)"


def test_output_puts_the_report_in_the_named_folder(studies, tmp_path, capsys):
    out = tmp_path / "elsewhere"
    out.mkdir()
    assert cli.main(["run", "good", "--output", str(out)]) == 0
    assert (out / "good.md").read_text() == "quick"
    assert cli.main(["reproduce", "--output", str(out), "--full"]) == 0
    assert (out / "good.md").read_text() == "full"


def test_version(capsys):
    import latentlab

    with pytest.raises(SystemExit) as stop:
        cli.main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"latentlab {latentlab.__version__}"


def test_no_case_studies_is_an_error_not_an_empty_success(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "CASE_STUDIES_DIR", tmp_path / "missing")
    assert cli.main(["list"]) == 1
    assert cli.main(["reproduce"]) == 1
    assert "no case studies found" in capsys.readouterr().err


def test_the_wheel_ships_every_subpackage_the_case_studies_and_the_data():
    """pyproject lists the packages by hand (two are mapped from the top level):
    every latentlab subpackage must be among them, and the mapping must point at
    the case studies and data/ (a plain ``pip install .`` then lists them)."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    setup = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    subpackages = {".".join(p.parent.relative_to(root).parts) for p in (root / "latentlab").rglob("__init__.py")}
    assert subpackages <= set(setup["packages"])
    assert setup["package-dir"] == {"latentlab.case_studies": "case_studies", "latentlab.data": "data"}
    assert "results/*.csv" in setup["package-data"]["latentlab.case_studies"]
    assert "*.csv" in setup["package-data"]["latentlab.data"]
