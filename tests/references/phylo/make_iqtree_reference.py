"""IQ-TREE's maximum-likelihood fits of the primate alignment on a fixed tree,
stored for tests/phylo/test_iqtree_reference.py (which never runs IQ-TREE).

Run from the repository root with IQ-TREE 2 on the PATH (Debian: ``apt-get
install iqtree``, which installs ``iqtree2``):

    python tests/references/phylo/make_iqtree_reference.py

Steps (one thread, fixed seed, identical sequences kept):

1. the starting tree: IQ-TREE's maximum-likelihood tree under JC;
2. on that topology (``-te``), branch lengths and model parameters optimised
   under JC, HKY, GTR, JC+G4 and HKY+G4 (frequencies counted from the
   alignment, IQ-TREE's default ``+F``; four gamma categories at their
   means, IQ-TREE's default), with branch lengths bounded to [1e-8, 10] (``-blmin``,
   ``-blmax``: the bounds of latentlab's BranchLengthEM), the likelihood
   epsilon of the parameter optimisation lowered from 0.01 to 1e-7
   (``--epsilon``) and its cap of 100 rounds raised to 10,000 (``-nparam``).
   Under HKY the likelihood is flat (a branch at the upper bound, kappa near
   65): with IQ-TREE's default cap it stops after 100 rounds, 6.9e-4 below
   the maximum; uncapped it stops after 451 rounds.

3. IQ-TREE's own maximum-likelihood tree search under JC, HKY and GTR
   (default search, branch lengths bounded as above), for the topology
   search of latentlab's StructuralEM.

IQ-TREE prints its log-likelihood to 4 decimals in its report; the value
stored is its checkpoint's (``.ckp.gz``, ``CandidateSet``: 8 decimals). The
fitted trees are written with 12 significant digits (``-prec 12``).
Writes ``iqtree_primates.json`` next to this script, and the searches also
to ``case_studies/results/iqtree_primates_searches.csv`` for the
``tree_of_life`` case study (which ships without the tests).
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[3]
ALIGNMENT = ROOT / "data" / "phylo" / "primates.fasta"
OUT = Path(__file__).resolve().parent / "iqtree_primates.json"
CASE_STUDY = ROOT / "case_studies" / "results" / "iqtree_primates_searches.csv"  # the searches, for tree_of_life
COMMON = ["-seed", "1", "-nt", "1", "-keep-ident", "-redo", "-prec", "12"]
FIT = ["-blmin", "1e-8", "-blmax", "10", "--epsilon", "1e-7", "-nparam", "10000"]
FIXED_TREE_MODELS = ("JC", "HKY", "GTR", "JC+G4", "HKY+G4")
SEARCH_MODELS = ("JC", "HKY", "GTR")


def _run(args: list[str], cwd: Path) -> list[str]:
    command = ["iqtree2", *args]
    subprocess.run(command, cwd=cwd, check=True, capture_output=True, text=True)
    return command


def _checkpoint_loglik(prefix: Path) -> float:
    """The best score among the candidate trees in IQ-TREE's checkpoint
    (one with a fixed tree; the search's candidates after a search)."""
    text = gzip.decompress(prefix.with_suffix(".ckp.gz").read_bytes()).decode()
    block = text.split("CandidateSet:\n", 1)[1]
    scores = []
    for line in block.splitlines():
        found = re.match(r"\s+\d+:\s*(\S+)", line)
        if not found:
            break
        scores.append(float(found.group(1)))
    return max(scores)


def _model_rates(prefix: Path) -> list[float]:
    """The six exchangeabilities (AC, AG, AT, CG, CT, GT) from the checkpoint."""
    text = gzip.decompress(prefix.with_suffix(".ckp.gz").read_bytes()).decode()
    return [float(x) for x in re.search(r"ModelDNA:\n\s*rates:\s*(.*)\n", text).group(1).split(",")]


def _gamma_shape(prefix: Path) -> float | None:
    """The gamma shape from the checkpoint (None without rate categories)."""
    text = gzip.decompress(prefix.with_suffix(".ckp.gz").read_bytes()).decode()
    found = re.search(r"RateGamma:\n\s*gamma_shape:\s*(\S+)", text)
    return float(found.group(1)) if found else None


def _frequencies(prefix: Path) -> list[float]:
    """The base frequencies from IQ-TREE's report (4 decimals; equal under JC)."""
    report = prefix.with_suffix(".iqtree").read_text()
    found = dict(re.findall(r"pi\(([ACGT])\) = ([0-9.]+)", report))
    return [float(found[s]) for s in "ACGT"] if found else [0.25] * 4


def _result(command: list[str], prefix: Path, work: Path) -> dict:
    return {
        "command": " ".join(command),
        "loglik": _checkpoint_loglik(prefix),
        "tree": (work / f"{prefix.name}.treefile").read_text().strip(),
        "exchangeabilities_AC_AG_AT_CG_CT_GT": _model_rates(prefix),
        "frequencies_ACGT": _frequencies(prefix),
        "gamma_shape": _gamma_shape(prefix),
    }


def main() -> None:
    version = subprocess.run(["iqtree2", "--version"], capture_output=True, text=True, check=True).stdout
    version = version.splitlines()[0].strip()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copy(ALIGNMENT, work / "primates.fasta")
        start_command = _run(["-s", "primates.fasta", "-m", "JC", "-pre", "start", *COMMON], work)
        start_tree = (work / "start.treefile").read_text().strip()
        fits = {}
        for model in FIXED_TREE_MODELS:
            prefix = work / f"fixed_{model.replace('+', '_')}"
            command = _run(["-s", "primates.fasta", "-m", model, "-te", "start.treefile", "-pre", prefix.name,
                            *COMMON, *FIT], work)
            fits[model] = _result(command, prefix, work)
        searches = {}
        for model in SEARCH_MODELS:
            prefix = work / f"search_{model.replace('+', '_')}"
            command = _run(["-s", "primates.fasta", "-m", model, "-pre", prefix.name, *COMMON,
                            "-blmin", "1e-8", "-blmax", "10"], work)
            searches[model] = _result(command, prefix, work)
    reference = {
        "iqtree_version": version,
        "alignment": "data/phylo/primates.fasta",
        "start_tree_command": " ".join(start_command),
        "start_tree": start_tree,
        "fits": fits,
        "searches": searches,
    }
    OUT.write_text(json.dumps(reference, indent=2) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}")
    rows = [{"model": model, "loglik": found["loglik"], "tree": found["tree"], "command": found["command"],
             "iqtree_version": version} for model, found in searches.items()]
    pd.DataFrame(rows).to_csv(CASE_STUDY, index=False)
    print(f"wrote {CASE_STUDY.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
