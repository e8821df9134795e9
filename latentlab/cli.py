"""The ``latentlab`` command: list, run and reproduce the case studies.

A case study is a script ``case_studies/<name>.py`` in the source tree whose
module docstring's first line is its title and which defines
``run(full: bool = False) -> pathlib.Path`` (the report it wrote). ``--full``
turns on the heavier replicate studies.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
import traceback
from pathlib import Path

CASE_STUDIES_DIR = Path(__file__).resolve().parents[1] / "case_studies"


def available() -> dict[str, Path]:
    """Case-study names and their scripts, in alphabetical order."""
    if not CASE_STUDIES_DIR.is_dir():
        return {}
    return {p.stem: p for p in sorted(CASE_STUDIES_DIR.glob("*.py")) if not p.stem.startswith("_")}


def load(name: str):
    """Import the case-study script ``name`` as a module."""
    scripts = available()
    if name not in scripts:
        known = ", ".join(scripts) or "none found"
        raise SystemExit(f"latentlab: no case study named {name!r} (available: {known})")
    spec = importlib.util.spec_from_file_location(f"latentlab_case_study_{name}", scripts[name])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def title(path: Path) -> str:
    """First line of the script's module docstring, read without importing it."""
    import ast

    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def run_one(name: str, full: bool) -> Path:
    report = load(name).run(full=full)
    return Path(report)


def _cmd_list(args) -> int:
    for name, path in available().items():
        print(f"{name:40s} {title(path)}")
    return 0


def _cmd_run(args) -> int:
    start = time.perf_counter()
    path = run_one(args.name, args.full)
    print(f"{args.name}: wrote {path} in {time.perf_counter() - start:.1f} s")
    return 0


def _cmd_reproduce(args) -> int:
    from tqdm.auto import tqdm

    names = list(available())
    failed = []
    bar = tqdm(names, desc="case studies", unit="study")
    for name in bar:
        bar.set_postfix_str(name)
        start = time.perf_counter()
        try:
            path = run_one(name, args.full)
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
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the case studies").set_defaults(func=_cmd_list)
    p_run = sub.add_parser("run", help="run one case study")
    p_run.add_argument("name")
    p_run.add_argument("--full", action="store_true", help="include the heavy replicate studies")
    p_run.set_defaults(func=_cmd_run)
    p_rep = sub.add_parser("reproduce", help="run every case study")
    p_rep.add_argument("--full", action="store_true", help="include the heavy replicate studies")
    p_rep.set_defaults(func=_cmd_reproduce)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
