"""The ``latentlab`` command: list, run and reproduce the case studies.

A case study is a script ``<name>.py`` in the case-study folder (``case_studies/``
of a source checkout; ``latentlab/case_studies/`` inside an installed wheel)
whose module docstring's first line is its title and which defines
``run(full: bool = False, outdir=None) -> pathlib.Path`` (the report it wrote).
``--full`` turns on the heavier replicate studies; ``--output DIR`` writes the
reports there instead of ``docs/case_studies`` (a checkout) or
``./latentlab_case_studies`` (an installed wheel).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib.util
import os
import sys
import time
import traceback
import warnings
from pathlib import Path

from . import __version__


def _case_studies_dir() -> Path:
    """The case-study folder: inside the installed package, else the checkout's."""
    packaged = Path(__file__).resolve().parent / "case_studies"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[1] / "case_studies"


CASE_STUDIES_DIR = _case_studies_dir()


def available() -> dict[str, Path]:
    """Case-study names and their scripts, in alphabetical order."""
    if not CASE_STUDIES_DIR.is_dir():
        return {}
    return {p.stem: p for p in sorted(CASE_STUDIES_DIR.glob("*.py")) if not p.stem.startswith("_")}


def load(name: str):
    """Import the case-study script ``name`` as a module."""
    scripts = available()
    if name not in scripts:
        known = ", ".join(scripts) or f"none found in {CASE_STUDIES_DIR}"
        raise SystemExit(f"latentlab: no case study named {name!r} (available: {known})")
    spec = importlib.util.spec_from_file_location(f"latentlab_case_study_{name}", scripts[name])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def title(path: Path) -> str:
    """First line of the script's module docstring, read without importing it."""
    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def run_one(name: str, full: bool, outdir: Path | None = None) -> Path:
    return Path(load(name).run(full=full, outdir=outdir))


@contextlib.contextmanager
def _warnings_above_the_bar():
    """Print warnings with tqdm.write so they do not break a progress bar."""
    from tqdm.auto import tqdm

    def show(message, category, filename, lineno, file=None, line=None):
        tqdm.write(warnings.formatwarning(message, category, filename, lineno, line).rstrip(), file=sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def _no_case_studies() -> int:
    print(f"latentlab: no case studies found (looked in {CASE_STUDIES_DIR}); the installation is incomplete",
          file=sys.stderr)
    return 1


def _cmd_list(args) -> int:
    if not available():
        return _no_case_studies()
    for name, path in available().items():
        print(f"{name:40s} {title(path)}")
    return 0


def _cmd_run(args) -> int:
    start = time.perf_counter()
    with _warnings_above_the_bar():
        path = run_one(args.name, args.full, args.output)
    print(f"{args.name}: wrote {path} in {time.perf_counter() - start:.1f} s")
    return 0


def _cmd_reproduce(args) -> int:
    from tqdm.auto import tqdm

    names = list(available())
    if not names:
        return _no_case_studies()
    failed = []
    with _warnings_above_the_bar():
        bar = tqdm(names, desc="case studies", unit="study", disable=None)
        for name in bar:
            bar.set_postfix_str(name)
            start = time.perf_counter()
            try:
                path = run_one(name, args.full, args.output)
            except Exception:  # report every failure, then exit non-zero
                failed.append(name)
                tqdm.write(f"FAILED {name}:\n{traceback.format_exc()}")
                continue
            tqdm.write(f"{name}: wrote {path} in {time.perf_counter() - start:.1f} s")
        bar.close()
    if failed:
        print(f"{len(failed)} of {len(names)} case studies failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"all {len(names)} case studies reproduced")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="latentlab", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"latentlab {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the case studies").set_defaults(func=_cmd_list)
    p_run = sub.add_parser("run", help="run one case study")
    p_run.add_argument("name")
    p_rep = sub.add_parser("reproduce", help="run every case study")
    for p in (p_run, p_rep):
        p.add_argument("--full", action="store_true", help="include the heavy replicate studies")
        p.add_argument("--output", type=Path, default=None, metavar="DIR",
                       help="write the reports and figures to DIR (default: docs/case_studies of a checkout, "
                            "else ./latentlab_case_studies)")
    p_run.set_defaults(func=_cmd_run)
    p_rep.set_defaults(func=_cmd_reproduce)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:  # the reader stopped early (`latentlab list | head`): not an error
        sys.stdout = open(os.devnull, "w")  # swallows the flush at exit
        return 0


if __name__ == "__main__":
    sys.exit(main())
