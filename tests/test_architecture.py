"""The layers of DESIGN.md, checked on the source: no import cycles, the
engine imports no domain package, domain packages never import one another,
scikit-learn and the other peers are never imported at run time, and the code
passes the lint configured in pyproject.toml."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "latentlab"
DOMAINS = {"mixtures", "genetics", "survival", "ecology", "hmm", "statespace", "missing", "qtl", "repertoire", "transcripts", "phylo"}
PEERS = {"sklearn", "hmmlearn", "lifelines", "statsmodels", "pykalman"}
OPTIONAL = {"dask", "distributed", "psutil", "pysam", "dendropy"}  # the latentlab[dask], [bam], [vcf] and [phylo] extras


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _imports(name: str, path: Path):
    """(target module, top-level?) of every import in the module, lazy ones included."""
    tree = ast.parse(path.read_text())
    is_package = path.name == "__init__.py"
    top = {id(n) for n in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, id(node) in top
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                yield (sub if sub in MODULES else module), id(node) in top


GRAPH = {
    name: sorted({t for t, _ in _imports(name, path) if t.startswith("latentlab") and t in MODULES and t != name})
    for name, path in MODULES.items()
}


def _cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10_000)
    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    assert _cycles(GRAPH) == []


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_engine_imports_no_domain_package():
    bad = [(m, t) for m, ts in GRAPH.items() if _layer(m) == "em" for t in ts if _layer(t) in DOMAINS]
    assert bad == []


def test_domain_packages_do_not_import_each_other():
    bad = [
        (m, t) for m, ts in GRAPH.items() if _layer(m) in DOMAINS
        for t in ts if _layer(t) in DOMAINS and _layer(t) != _layer(m)
    ]
    assert bad == []


def test_peers_are_not_imported_at_run_time():
    """A peer may be imported only inside a function that only a peer calls
    (``__sklearn_tags__``); never at module level."""
    bad = [
        (name, t) for name, path in MODULES.items() for t, top in _imports(name, path)
        if top and t.split(".")[0] in PEERS
    ]
    assert bad == []


def test_optional_extras_are_imported_only_when_used():
    """Dask (latentlab[dask]) is imported inside the functions that use it,
    so ``import latentlab`` works without it."""
    bad = [
        (name, t) for name, path in MODULES.items() for t, top in _imports(name, path)
        if top and t.split(".")[0] in OPTIONAL
    ]
    assert bad == []


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is installed by the test extra")
def test_ruff_is_clean():
    run = subprocess.run(["ruff", "check", "latentlab", "tests", "benchmarks", "case_studies"],
                         cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
