"""Tree search by structural EM against IQ-TREE 2, on the same data in the same run.

Data: the simulated alignments of tests/references/phylo/ (made by
make_simulation_reference.py with latentlab's random_tree and
simulate_alignment: 20 taxa x 1,000 and 5,000 sites, 50 taxa x 2,000 sites,
JC69 and HKY85; a hard case of 30 taxa with internal branches of 0.002-0.02
and 500 sites) and the primate alignment.

For each, StructuralEM under the generating model (default settings,
``random_state=0``) and IQ-TREE 2 (``iqtree2 -m JC|HKY -nt 1 -seed 1 -blmin
1e-8 -blmax 10 -keep-ident``, its default search, single thread) are run one
after the other and timed; IQ-TREE's tree is then refitted by
BranchLengthEM, so both log-likelihoods are maxima on their topologies (IQ-TREE's
own report stops its last optimisation early). Printed: both log-likelihoods
and their difference, the normalised Robinson-Foulds distances to the true
tree and between the two, both times and their ratio; for the hard case also
PhyML's and FastTree's distances (stored by the reference script). Without
``iqtree2`` on the PATH the stored IQ-TREE times are printed instead, marked.

Run from the repository root: ``PYTHONPATH=. python benchmarks/phylo.py``
(``--quick``: the 20-taxon, 1,000-site sets and the hard case only; names of
data sets as arguments to run only those).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

from latentlab.phylo import BranchLengthEM, StructuralEM, read_alignment, robinson_foulds

ROOT = Path(__file__).resolve().parents[1]
REFERENCES = ROOT / "tests" / "references" / "phylo"
SIMULATED = json.loads((REFERENCES / "simulation_reference.json").read_text())["datasets"]
QUICK = ("jc20_1000", "hky20_1000", "hard30_500")
IQTREE_MODEL = {"JC69": "JC", "HKY85": "HKY", "GTR": "GTR"}


def _iqtree(alignment: Path, model: str) -> tuple[str, float, bool]:
    """IQ-TREE's best tree and wall time, run now (``True``) in a scratch folder."""
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(alignment, Path(tmp) / "aln.fasta")
        command = ["iqtree2", "-s", "aln.fasta", "-m", IQTREE_MODEL[model], "-nt", "1", "-seed", "1", "-blmin",
                   "1e-8", "-blmax", "10", "-keep-ident", "-redo", "-quiet"]
        start = time.perf_counter()
        subprocess.run(command, cwd=tmp, check=True, capture_output=True)
        seconds = time.perf_counter() - start
        return (Path(tmp) / "aln.fasta.treefile").read_text().strip(), seconds, True


def _case(name: str, alignment: Path, model: str, truth, stored: dict) -> tuple:
    aln = read_alignment(alignment)
    if shutil.which("iqtree2"):
        iq_tree, iq_seconds, live = _iqtree(alignment, model)
    else:
        iq_tree, iq_seconds, live = stored["tree"], stored["seconds"], False
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = StructuralEM(model, random_state=0, progress=False).fit(aln)
        seconds = time.perf_counter() - start
        iq_fit = BranchLengthEM(model, random_state=0, progress=False).fit(aln, iq_tree)
    rf = {"sem-true": robinson_foulds(fit.tree_, truth, normalized=True) if truth else float("nan"),
          "iq-true": robinson_foulds(iq_tree, truth, normalized=True) if truth else float("nan"),
          "sem-iq": robinson_foulds(fit.tree_, iq_tree, normalized=True)}
    print(f"{name:<12} {model:<6} {fit.loglik_:>14.4f} {iq_fit.loglik_:>14.4f} {fit.loglik_ - iq_fit.loglik_:>9.4f} "
          f"{rf['sem-true']:>7.3f} {rf['iq-true']:>7.3f} {rf['sem-iq']:>7.3f} {seconds:>8.1f} "
          f"{iq_seconds:>7.1f}{'' if live else '*'} {seconds / iq_seconds:>6.1f}", flush=True)
    return fit, live


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    names = [a for a in argv if not a.startswith("--")] or (list(QUICK) if quick else list(SIMULATED))
    print(f"{'data':<12} {'model':<6} {'SEM loglik':>14} {'IQ-TREE':>14} {'diff':>9} {'RF SEM':>7} {'RF IQ':>7} "
          f"{'SEM-IQ':>7} {'SEM s':>8} {'IQ s':>8} {'ratio':>6}")
    print("(RF: normalised Robinson-Foulds distance to the true tree, and between the two trees; IQ-TREE's "
          "log-likelihood is BranchLengthEM's maximum on IQ-TREE's tree)")
    for name in names:
        if name == "primates":
            continue
        ref = SIMULATED[name]
        fit, live = _case(name, ROOT / ref["alignment"], ref["model"], (ROOT / ref["true_tree"]).read_text(),
                          ref["iqtree"])
        if name.startswith("hard"):
            for tool in ("phyml", "fasttree"):
                print(f"{'':<12} {tool}: RF to the true tree {ref[tool]['nrf_to_true']:.3f}, to IQ-TREE's "
                      f"{ref[tool]['nrf_to_iqtree']:.3f}, to structural EM's "
                      f"{robinson_foulds(fit.tree_, ref[tool]['tree'], normalized=True):.3f}")
    if not quick and (len(names) == len(SIMULATED) or "primates" in names):
        stored = json.loads((REFERENCES / "iqtree_primates.json").read_text())["searches"]
        for model in ("JC69", "HKY85", "GTR"):
            _case("primates", ROOT / "data" / "phylo" / "primates.fasta", model, None,
                  stored[IQTREE_MODEL[model]] | {"seconds": float("nan")})
    if not shutil.which("iqtree2"):
        print("* IQ-TREE not on the PATH: its tree and time as stored by the reference script")


if __name__ == "__main__":
    main(sys.argv[1:])
