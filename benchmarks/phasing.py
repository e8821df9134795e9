"""Phase and imputation at chromosome scale: HaplotypeCopyingEM (the Li &
Stephens copying model) and HaplotypeClusterEM (fastPHASE's cluster model)
against Beagle 5.4 on the same data (issue 20).

Data: ``benchmarks/data/phasing/<set>/`` written by ``benchmarks/phasing_data.py``
(founder mosaics, 2,000 x 100 SNPs; msprime coalescent simulations, 2,000
diploids over 2 Mb, constant Ne and recent growth, ~4,450 SNPs with MAF >= 1%),
each with 5% of the genotypes masked. Beagle's side is read from
``benchmarks/data/phasing/beagle.json``, stored by
``benchmarks/phasing_beagle.py`` (Beagle 5.4 22Jul22.46e, defaults,
``nthreads=1``; its command is printed).

Measured for each tool, with the definitions of ``phasing_beagle.py``:
switch error over every truly heterozygous locus whose two alleles the tool
got right (masked loci included), over the unmasked ones only, the r^2 of
the masked genotypes (ours from dosages and from hard calls: Beagle 5.4
prints no dosage for them, so its number is a hard-call r^2), the discordance
of their best guesses, wall time and peak resident memory. For the founder
set the model that generated the data is also run, as the floor. Each of our fits
runs in its own process, so the peak is its own.

Run from the repository root:
``PYTHONPATH=. python benchmarks/phasing.py [--models copying,cluster] [founders constant growth]``
(default: both models on all three sets; the coalescent sets take minutes
each, the cluster model's longest).

``--seeds N`` (with ``--models`` naming one model) instead fits that model
with ``random_state`` 0 ... N-1 on each named set and prints each seed's
switch error, their mean and range, beside Beagle's over the seeds stored in
``beagle.json`` and ``beagle_seeds.json`` (``phasing_beagle.py --seeds``):
both tools start from a random phase, and on these sets a seed moves the
switch count by tens of percent.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from phasing_data import NAMES, load  # noqa: E402

from latentlab.genetics import (  # noqa: E402
    HaplotypeClusterEM,
    HaplotypeCopyingEM,
    simulate_founder_mosaics,
    switch_counts,
    switch_error,
)
from latentlab.genetics.haplotype_cluster_model import (  # noqa: E402
    THETA_BOUND,
    ClusterData,
    ClusterParams,
    HaplotypeClusterModel,
)

BEAGLE = Path(__file__).resolve().parent / "data" / "phasing" / "beagle.json"
BEAGLE_SEEDS = BEAGLE.with_name("beagle_seeds.json")
MODELS = {"copying": HaplotypeCopyingEM, "cluster": HaplotypeClusterEM}
#: settings per model and data set: the copying model's defaults; the cluster
#: model's clusters, starts and iterations per start
SETTINGS = {
    "copying": {"founders": {}, "constant": {}, "growth": {}},
    "cluster": {
        "founders": dict(n_clusters=30, n_starts=3, max_iter=100),
        "constant": dict(n_clusters=10, n_starts=1, max_iter=25),
        "growth": dict(n_clusters=10, n_starts=1, max_iter=25),
    },
}


def measure(model: str, name: str, seed: int = 0) -> dict:
    """Fit ``model`` to data set ``name`` with ``random_state=seed`` and
    measure it (in this process)."""
    d = load(name)
    truth, mask = d["haplotypes"].astype(np.int64), d["mask"]
    t0 = time.perf_counter()
    fit = MODELS[model](random_state=seed, **SETTINGS[model][name]).fit(d["genotypes"], positions=d["positions"])
    seconds = time.perf_counter() - t0
    unmasked_truth = np.where(mask[:, None, :], -1, truth)
    unmasked_fit = np.where(mask[:, None, :], -1, fit.haplotypes_)
    true_g = truth.sum(axis=1)[mask]
    hard = fit.haplotypes_.sum(axis=1)[mask]
    return {
        "switch_error": switch_error(truth, fit.haplotypes_),
        "n_switches": switch_counts(truth, fit.haplotypes_)[0],
        "switch_error_unmasked": switch_error(unmasked_truth, unmasked_fit),
        "dosage_r2": float(np.corrcoef(fit.dosages_[mask], true_g)[0, 1] ** 2),
        "hard_call_r2": float(np.corrcoef(hard, true_g)[0, 1] ** 2),
        "discordance": float(np.mean(hard != true_g)),
        "wall_seconds": seconds,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "loglik": fit.loglik_,
        "settings": SETTINGS[model][name],
    }


def true_model(name: str = "founders") -> dict:
    """The founder set phased and imputed with the parameters that made it
    (``simulate_founder_mosaics(2000, 100, random_state=2020)``, the seed in
    its ``meta.json``): the floor any phaser can expect."""
    d = load(name)
    sim = simulate_founder_mosaics(2000, 100, random_state=2020)
    assert np.array_equal(sim.haplotypes, d["haplotypes"]), "the stored founder set is not this simulation"
    G, mask = d["genotypes"], d["mask"]
    lik = np.ones(G.shape + (3,))
    lik[~mask] = np.eye(3)[G[~mask]]
    L = G.shape[1]
    theta = np.where(sim.founders.T == 1, 1 - sim.mutation, sim.mutation)
    params = ClusterParams(np.tile(sim.frequencies, (L, 1)), np.clip(theta, THETA_BOUND, 1 - THETA_BOUND),
                           np.full(L - 1, sim.recombination))
    model, data = HaplotypeClusterModel(sim.founders.shape[0]), ClusterData(lik)
    dosage = model.genotype_posteriors(data, params) @ np.arange(3.0)
    return {"switch_error": switch_error(d["haplotypes"].astype(np.int64), model.most_likely_haplotypes(data, params)),
            "dosage_r2": float(np.corrcoef(dosage[mask], d["haplotypes"].sum(axis=1)[mask])[0, 1] ** 2),
            "loglik": model.loglik(data, params)}


def run_one(model: str, name: str, seed: int = 0) -> dict:
    """``measure`` in a fresh process, so that the peak memory is the fit's own."""
    run = subprocess.run([sys.executable, __file__, "--one", model, name, str(seed)], capture_output=True,
                         text=True, check=True)
    return json.loads(run.stdout.strip().splitlines()[-1])


def main_seeds(model: str, names: list[str], n_seeds: int) -> None:
    """``model`` with ``random_state`` 0 ... n_seeds-1 on each set, beside
    Beagle's stored runs with several seeds."""
    beagle = json.loads(BEAGLE.read_text())["data_sets"]
    extra = json.loads(BEAGLE_SEEDS.read_text())["data_sets"] if BEAGLE_SEEDS.exists() else {}
    for name in names:
        ours = [run_one(model, name, seed) for seed in range(n_seeds)]
        theirs = [beagle[name]] + extra.get(name, {}).get("runs", [])
        print(f"\n{name}: {MODELS[model].__name__}({ours[0]['settings']}) with random_state 0 ... {n_seeds - 1}; "
              f"Beagle 5.4 with {len(theirs)} seeds")
        for label, runs in ((MODELS[model].__name__, ours), ("Beagle 5.4", theirs)):
            rates = np.array([r["switch_error"] for r in runs])
            print(f"  {label:20s} switch error " + " ".join(f"{x:.3g}" for x in rates)
                  + f"\n  {'':20s} switches " + " ".join(str(r["n_switches"]) for r in runs)
                  + f"\n  {'':20s} mean {rates.mean():.3g}, range {rates.min():.3g} to {rates.max():.3g}; "
                  f"wall seconds {np.mean([r['wall_seconds'] for r in runs]):.1f} on average")
        ratio = np.mean([r["switch_error"] for r in ours]) / np.mean([r["switch_error"] for r in theirs])
        print(f"  mean switch error, ours / Beagle's: {ratio:.2f}")


def main(models: list[str], names: list[str]) -> None:
    beagle = json.loads(BEAGLE.read_text())
    print(f"Beagle: {beagle['beagle']} ({beagle['debian_package']}), stored {beagle['date']}; "
          f"command: {beagle['data_sets']['founders']['command']}")
    rows = [("switch error", "switch_error", "{:.2e}"), ("switch error, unmasked", "switch_error_unmasked", "{:.2e}"),
            ("masked r2, dosage", "dosage_r2", "{:.4f}"), ("masked r2, hard calls", "hard_call_r2", "{:.4f}"),
            ("masked discordance", "discordance", "{:.4f}"), ("wall seconds", "wall_seconds", "{:.1f}"),
            ("peak MB", "peak_mb", "{:.0f}")]
    for name in names:
        ours = {}
        for model in models:
            ours[model] = run_one(model, name)
        theirs = beagle["data_sets"][name]
        print(f"\n{name}: n = {theirs['n']}, L = {theirs['L']}")
        for model in models:
            print(f"  {MODELS[model].__name__}({ours[model]['settings']}): log-likelihood {ours[model]['loglik']:.1f}")
        print(f"{'':24s} " + " ".join(f"{MODELS[m].__name__[:-2]:>20s}" for m in models) + f" {'Beagle 5.4':>12s}")
        for label, key, fmt in rows:
            b = theirs.get(key)
            print(f"{label:24s} " + " ".join(f"{fmt.format(ours[m][key]):>20s}" for m in models)
                  + f" {fmt.format(b) if b is not None else '-':>12s}")
        print(f"{'time ratio (ours/Beagle)':24s} "
              + " ".join(f"{ours[m]['wall_seconds'] / theirs['wall_seconds']:20.2f}" for m in models))
        if name == "founders":
            floor = true_model()
            print(f"the true model (Viterbi with the simulation's parameters): switch error "
                  f"{floor['switch_error']:.2e}, masked dosage r2 {floor['dosage_r2']:.4f}, "
                  f"log-likelihood {floor['loglik']:.1f}")


def parse_args(argv: list[str]):
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"data sets among {', '.join(NAMES)} (default: all)")
    parser.add_argument("--models", default=",".join(MODELS),
                        help=f"comma-separated, among {', '.join(MODELS)} (default: all)")
    parser.add_argument("--seeds", type=int, metavar="N",
                        help="instead, one model with random_state 0 ... N-1 beside Beagle's stored seeds")
    parser.add_argument("--one", nargs=3, metavar=("MODEL", "NAME", "SEED"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        return args
    args.models = args.models.split(",")
    unknown = sorted(set(args.models) - set(MODELS)) + sorted(set(args.names) - set(NAMES))
    if unknown:
        parser.error(f"unknown model(s) or data set(s): {', '.join(unknown)}; models: {', '.join(MODELS)}; "
                     f"data sets: {', '.join(NAMES)}")
    args.names = args.names or list(NAMES)
    if args.seeds is not None and (args.seeds < 1 or len(args.models) != 1):
        parser.error("--seeds takes N >= 1 and one model, e.g. --seeds 3 --models copying")
    return args


if __name__ == "__main__":
    args = parse_args(sys.argv[1:])
    if args.one:
        model, name, seed = args.one
        print(json.dumps(measure(model, name, int(seed))))
    elif args.seeds is None:
        main(args.models, args.names)
    else:
        main_seeds(args.models[0], args.names, args.seeds)
