"""Tree searches by IQ-TREE 2, PhyML and FastTree on alignments simulated
along random trees, stored for tests/phylo/test_simulation_reference.py and
the structural-EM benchmark (which never run the tools).

Run from the repository root with ``iqtree2``, ``phyml`` and ``FastTree`` on
the PATH (Debian: ``apt-get install iqtree phyml fasttree``):

    python tests/references/phylo/make_simulation_reference.py

Data (latentlab's own :func:`random_tree` and :func:`simulate_alignment`,
fixed seeds): the data sets of ``DATASETS`` below, each a random unrooted
binary tree (uniform topology by sequential addition; internal and external
branch lengths uniform on their ranges) and an alignment simulated along it
under JC69 or HKY85 (kappa 4, frequencies A C G T = 0.3 0.2 0.2 0.3), without
rate variation across sites. The ``*_1000`` and ``*_5000`` sets of a model
share their tree. ``hard30_500`` has short internal branches (0.002 to 0.02
substitutions per site, 1 to 10 expected changes over its 500 sites): a case
where the tools' trees differ. Each alignment is written as FASTA and its
tree as Newick (12 significant digits) under ``simulated/``.

Tools, each on one thread, one at a time, at ``nice -n 10``, with the
generating model (no rate variation, no invariant sites):

- IQ-TREE (``-m JC`` or ``-m HKY``, whose ``+F`` default counts the
  frequencies from the alignment), default tree search, seed 1, branch lengths
  bounded to [1e-8, 10] as latentlab's BranchLengthEM. Its log-likelihood is
  read from the checkpoint (``.ckp.gz``, ``CandidateSet``: 8 decimals; the best
  of the candidates, checked against the report's 4 decimals).
- PhyML (``-m JC69`` or ``-m HKY85 -t e``, ``-f e``, ``-c 1 -v 0``: one rate
  class, no invariant sites, where PhyML's default is 4 gamma classes),
  default search (SPR moves from a BioNJ tree, recorded from its output),
  ``--r_seed 1``, identical sequences kept. It runs the serial binary
  (``PHYMLMPI=no`` tells Debian's wrapper not to start MPI). Log-likelihood
  from its final output line (more digits than its stats file).
- FastTree (``-nt -nocat``: Jukes-Cantor, one rate category; for the HKY sets
  ``-gtr -nocat``, GTR, as FastTree has no HKY), support values off. Its
  log-likelihood (the last ``TreeLogLk`` of its log, 4 decimals) is under its
  own model (GTR has 4 more free parameters than HKY): stored, but not
  comparable with the others'.

Every tool's tree is then scored on the same footing: IQ-TREE re-optimises
the branch lengths and model parameters on it (``-te``) under the generating
model, with the bounds above, likelihood epsilon 1e-7 (``--epsilon``) and up
to 10,000 rounds (``-nparam``): ``refit``. The true topology gets the same
fit: ``iqtree_true_topology``. Normalised Robinson-Foulds distances (splits
differing / 2(n-3)) of each tool's tree to the true tree and to IQ-TREE's tree
come from :func:`latentlab.phylo.robinson_foulds` (DendroPy).

``seconds`` is each search's wall time on the machine that wrote the file
(stated in ``machine``): a rough cost, not reproducible to the digit.
Writes ``simulation_reference.json`` next to this script.
"""

from __future__ import annotations

import gzip
import json
import os
import platform
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from latentlab.phylo import HKY85, JC69, random_tree, read_alignment, robinson_foulds, simulate_alignment

ROOT = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
SIMULATED = HERE / "simulated"
OUT = HERE / "simulation_reference.json"

KAPPA, FREQS = 4.0, [0.3, 0.2, 0.2, 0.3]
EASY = {"internal": (0.02, 0.1), "external": (0.05, 0.3)}
HARD = {"internal": (0.002, 0.02), "external": (0.05, 0.3)}
#: name -> taxa, sites, model, branch-length ranges, seeds of the tree and of the alignment
DATASETS = {
    "jc20_1000": dict(n_taxa=20, n_sites=1000, model="JC69", **EASY, tree_seed=2201, alignment_seed=1),
    "jc20_5000": dict(n_taxa=20, n_sites=5000, model="JC69", **EASY, tree_seed=2201, alignment_seed=2),
    "hky20_1000": dict(n_taxa=20, n_sites=1000, model="HKY85", **EASY, tree_seed=2202, alignment_seed=3),
    "hky20_5000": dict(n_taxa=20, n_sites=5000, model="HKY85", **EASY, tree_seed=2202, alignment_seed=4),
    "jc50_2000": dict(n_taxa=50, n_sites=2000, model="JC69", **EASY, tree_seed=2203, alignment_seed=5),
    "hky50_2000": dict(n_taxa=50, n_sites=2000, model="HKY85", **EASY, tree_seed=2204, alignment_seed=6),
    "hard30_500": dict(n_taxa=30, n_sites=500, model="HKY85", **HARD, tree_seed=2205, alignment_seed=7),
}
IQ_MODEL = {"JC69": "JC", "HKY85": "HKY"}
NICE = ["nice", "-n", "10"]
IQ_COMMON = ["-nt", "1", "-seed", "1", "-blmin", "1e-8", "-blmax", "10", "-keep-ident", "-redo", "-prec", "12"]
IQ_FIT = ["--epsilon", "1e-7", "-nparam", "10000"]
FIELDS = {
    "tree, loglik": "a tool's best tree (Newick) and its log-likelihood as the tool reports it",
    "seconds": "the search's wall time (a rough cost, not reproducible to the digit)",
    "kappa": "IQ-TREE's HKY kappa (the A-G exchangeability, A-C being 1); null under JC",
    "tstv_reported": "PhyML's 'Transition/transversion ratio' line under HKY85",
    "fasttree.loglik": "under FastTree's own model (loglik_model): GTR for the HKY sets, not comparable",
    "refit": "IQ-TREE's re-optimisation of the tool's tree under the generating model (-te, tight settings)",
    "iqtree_true_topology": "the same re-optimisation of the true tree's topology",
    "nrf_to_true, nrf_to_iqtree": "normalised Robinson-Foulds distance, splits differing / 2(n - 3)",
    "command": "run in a scratch folder holding the data set's .fasta and .phy, at nice -n 10",
}
LETTERS = np.array(list("?ACMGRSVTWYHKDBN"))  # the IUPAC character of each 4-bit state set (A=1 C=2 G=4 T=8)


def simulate(spec: dict):
    """The true tree and the simulated alignment of one data set."""
    tree = random_tree(spec["n_taxa"], spec["tree_seed"], internal=spec["internal"], external=spec["external"])
    model = JC69() if spec["model"] == "JC69" else HKY85(KAPPA, FREQS)
    return tree, simulate_alignment(tree, model, spec["n_sites"], random_state=spec["alignment_seed"])


def sequences(alignment) -> list[tuple[str, str]]:
    codes = alignment.patterns[:, alignment.site_patterns]
    return [(name, "".join(LETTERS[row])) for name, row in zip(alignment.names, codes)]


def write_fasta(alignment, path: Path) -> None:
    path.write_text("".join(f">{name}\n{seq}\n" for name, seq in sequences(alignment)))


def write_phylip(alignment, path: Path) -> None:
    """Sequential PHYLIP, one sequence a line (also a single interleaved block, PhyML's default)."""
    rows = sequences(alignment)
    width = max(len(name) for name, _ in rows) + 2
    path.write_text(f"{len(rows)} {len(rows[0][1])}\n" + "".join(f"{name:<{width}}{seq}\n" for name, seq in rows))


def run(command: list[str], cwd: Path, stdout=None) -> tuple[subprocess.CompletedProcess, float]:
    """Run a tool; its wall time in seconds."""
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, check=True, text=True, stdout=stdout or subprocess.PIPE,
                          stderr=subprocess.PIPE)
    return done, time.perf_counter() - start


def checkpoint(prefix: Path) -> str:
    return gzip.decompress(prefix.with_suffix(".ckp.gz").read_bytes()).decode()


def iqtree_loglik(prefix: Path) -> float:
    """The best score of IQ-TREE's candidate set (checkpoint: 8 decimals), checked against its report."""
    scores = []
    for line in checkpoint(prefix).split("CandidateSet:\n", 1)[1].splitlines():
        found = re.match(r"\s*\d+:\s*(-[0-9.]+)\s", line)
        if not found:
            break
        scores.append(float(found.group(1)))
    best = max(scores)
    report = float(re.search(r"Log-likelihood of the tree: (\S+)", prefix.with_suffix(".iqtree").read_text()).group(1))
    if abs(best - report) > 1e-4:
        raise RuntimeError(f"{prefix.name}: the checkpoint's best score {best} differs from the report's {report}")
    return best


def iqtree_kappa(prefix: Path) -> float | None:
    """HKY's kappa (the A-G exchangeability, A-C being 1) from the checkpoint; None under JC."""
    found = re.search(r"ModelDNA:\n\s*rates:\s*(.*)\n", checkpoint(prefix))
    return float(found.group(1).split(",")[1]) if found else None


def iqtree_fit(fasta: str, model: str, tree_file: str, prefix: str, work: Path) -> dict:
    """IQ-TREE's branch lengths and model parameters optimised on a fixed topology."""
    command = ["iqtree2", "-s", fasta, "-m", model, "-te", tree_file, "-pre", prefix, *IQ_COMMON, *IQ_FIT]
    run([*NICE, *command], work)
    return {"command": " ".join(command), "loglik": iqtree_loglik(work / prefix), "kappa": iqtree_kappa(work / prefix),
            "tree": (work / f"{prefix}.treefile").read_text().strip()}


def run_iqtree(name: str, model: str, work: Path) -> dict:
    command = ["iqtree2", "-s", f"{name}.fasta", "-m", model, "-pre", "iqtree", *IQ_COMMON]
    _, seconds = run([*NICE, *command], work)
    return {"command": " ".join(command), "tree": (work / "iqtree.treefile").read_text().strip(),
            "loglik": iqtree_loglik(work / "iqtree"), "kappa": iqtree_kappa(work / "iqtree"),
            "seconds": round(seconds, 2)}


def run_phyml(name: str, model: str, work: Path) -> dict:
    command = ["phyml", "-i", f"{name}.phy", "-d", "nt", "-m", model, "-f", "e",
               *(["-t", "e"] if model == "HKY85" else []), "-c", "1", "-v", "0", "-o", "tlr", "-b", "0",
               "--r_seed", "1", "--leave_duplicates", "--no_memory_check"]
    done, seconds = run(["env", "PHYMLMPI=no", *NICE, *command], work)
    output = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout)
    loglik = float(re.findall(r"Log likelihood of the current tree: (-?[0-9.]+?)\.?\s*$", output, re.M)[-1])
    stats = (work / f"{name}.phy_phyml_stats.txt").read_text()
    if abs(loglik - float(re.search(r"Log-likelihood:\s*(\S+)", stats).group(1))) > 1e-4:
        raise RuntimeError(f"PhyML on {name}: the log-likelihoods of its output and of its stats file differ")
    tstv = re.search(r"Transition/transversion ratio:\s*(\S+)", stats)
    search = "SPR" if "round of SPRs" in output else "NNI" if "NNI" in output else "unknown"
    return {"command": "PHYMLMPI=no " + " ".join(command), "search": search,
            "tree": (work / f"{name}.phy_phyml_tree.txt").read_text().strip(), "loglik": loglik,
            "tstv_reported": float(tstv.group(1)) if tstv and model == "HKY85" else None,
            "seconds": round(seconds, 2)}


def run_fasttree(name: str, model: str, work: Path) -> dict:
    command = ["FastTree", "-nt", *(["-gtr"] if model == "HKY85" else []), "-nocat", "-nosupport",
               "-log", "fasttree.log", f"{name}.fasta"]
    with open(work / "fasttree.nwk", "w") as out:
        done, seconds = run([*NICE, *command], work, stdout=out)
    loglik = float(re.findall(r"^TreeLogLk\t\S+\t(\S+)", (work / "fasttree.log").read_text(), re.M)[-1])
    return {"command": " ".join(command) + " > fasttree.nwk",
            "version": done.stderr.splitlines()[0].strip(),
            "tree": (work / "fasttree.nwk").read_text().strip(), "loglik": loglik,
            "loglik_model": "GTR, frequencies and exchangeabilities estimated by FastTree"
                            if model == "HKY85" else "JC69, one rate category",
            "seconds": round(seconds, 2)}


def versions() -> dict:
    def first(command, pattern):
        done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PHYMLMPI": "no"})
        return re.search(pattern, done.stdout + done.stderr).group(0).strip()

    import dendropy

    import latentlab
    return {
        "iqtree2": first(["iqtree2", "--version"], r"IQ-TREE.*"),
        "phyml": first(["phyml", "--version"], r"PhyML version \S+").rstrip("."),
        "latentlab": latentlab.__version__,
        "dendropy": dendropy.__version__,
        "numpy": np.__version__,
    }


def main() -> None:
    SIMULATED.mkdir(exist_ok=True)
    reference = {
        "description": __doc__.split("\n\n")[0].replace("\n", " "),
        "script": "tests/references/phylo/make_simulation_reference.py",
        "versions": versions(),
        "machine": f"{platform.machine()} {platform.system()}, {os.cpu_count()} cores; every tool on one thread, "
                   f"one at a time, under nice -n 10",
        "simulation": {"kappa": KAPPA, "frequencies_ACGT": FREQS,
                       "tree": "latentlab.phylo.random_tree(n_taxa, tree_seed, internal=..., external=...)",
                       "alignment": "latentlab.phylo.simulate_alignment(tree, JC69() or HKY85(kappa, frequencies), "
                                    "n_sites, random_state=alignment_seed)"},
        "fields": FIELDS,
        "datasets": {},
    }
    for name, spec in DATASETS.items():
        print(f"{name} ...", flush=True)
        tree, alignment = simulate(spec)
        fasta, true_nwk = SIMULATED / f"{name}.fasta", SIMULATED / f"{name}.true.nwk"
        write_fasta(alignment, fasta)
        true_nwk.write_text(tree.to_newick(precision=12) + "\n")
        back = read_alignment(fasta)
        assert back.names == alignment.names and np.array_equal(back.patterns, alignment.patterns)
        codes = alignment.patterns[:, alignment.site_patterns]
        n_identical = len(alignment.names) - len({row.tobytes() for row in codes})
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            shutil.copy(fasta, work / fasta.name)
            shutil.copy(true_nwk, work / "true.nwk")
            write_phylip(alignment, work / f"{name}.phy")
            iq_model = IQ_MODEL[spec["model"]]
            tools = {"iqtree": run_iqtree(name, iq_model, work), "phyml": run_phyml(name, spec["model"], work),
                     "fasttree": run_fasttree(name, spec["model"], work)}
            for tool, result in tools.items():
                (work / f"{tool}.search.nwk").write_text(result["tree"] + "\n")
                result["refit"] = iqtree_fit(fasta.name, iq_model, f"{tool}.search.nwk", f"refit_{tool}", work)
                result["nrf_to_true"] = robinson_foulds(result["tree"], tree, normalized=True)
                result["nrf_to_iqtree"] = robinson_foulds(result["tree"], tools["iqtree"]["tree"], normalized=True)
            true_fit = iqtree_fit(fasta.name, iq_model, "true.nwk", "true_topology", work)
        fasttree_version = tools["fasttree"].pop("version")
        reference["versions"]["fasttree"] = fasttree_version
        reference["datasets"][name] = {
            "alignment": str(fasta.relative_to(ROOT)),
            "true_tree": str(true_nwk.relative_to(ROOT)),
            **{k: list(v) if isinstance(v, tuple) else v for k, v in spec.items()},
            "n_patterns": alignment.n_patterns,
            "identical_sequences": n_identical,
            "true_tree_length": round(float(tree.lengths.sum()), 10),
            **tools,
            "iqtree_true_topology": true_fit,
        }
        for tool in tools:
            r = tools[tool]
            print(f"  {tool:9s} loglik {r['loglik']:.4f}  refit {r['refit']['loglik']:.4f}  "
                  f"nRF true {r['nrf_to_true']:.3f} iqtree {r['nrf_to_iqtree']:.3f}  {r['seconds']:.1f} s", flush=True)
        print(f"  true topology refit {true_fit['loglik']:.4f}", flush=True)
    OUT.write_text(json.dumps(reference, indent=1) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
