"""Beagle 5.4's numbers on the phasing benchmark's data sets (issue 20),
stored in ``data/phasing/beagle.json`` so that ``benchmarks/phasing.py``
prints them beside ours without running Beagle.

For each data set of ``phasing_data.py`` (``founders``, ``constant``,
``growth``; run that script first), in a temporary directory holding a link
to the set's ``input.vcf.gz``, this runs, one after the other,

    /usr/bin/time -v beagle gt=input.vcf.gz out=out nthreads=1 seed=SEED
    /usr/bin/time -v beagle gt=input.vcf.gz out=out nthreads=1 seed=SEED gp=true

i.e. Beagle's defaults except one thread and a fixed seed (``beagle`` is
Debian's wrapper, ``exec java -jar /usr/share/beagle/beagle.jar``; no
``-Xmx``, so the JVM's default heap, which Beagle's log reports). Wall time
is measured around the process; peak memory is GNU time's maximum resident
set size.

The accuracy is the first run's. The second asks for genotype probabilities
(GP), which would give the dosage of a masked genotype as P(het) +
2 P(hom alt). Beagle 5.4 (22Jul22) prints none for them: it fills sporadic
missing genotypes in during phasing and writes only their phased GT (its
``ap``/``gp`` apply to markers imputed from a ``ref`` panel that the ``gt``
file lacks; we checked that with a ``ref`` panel the genotyped markers'
missing genotypes also come out as GT only). So Beagle's imputation of the
masked genotypes is a hard call, and the r^2 below is a hard call's. The
second run is kept to record that ``gp=true`` changes neither the output's
fields nor its phase (``phased_alleles_differing``), and its time.

Measures, against the stored truth:

- ``switch_error``: ``latentlab.genetics.switch_error(true, estimated)`` on
  the (n, 2, L) haplotypes as they stand: every locus where the individual is
  truly heterozygous and Beagle's two alleles are the true two, masked loci
  included (Beagle fills them in); ``n_switches`` and ``n_opportunities`` are
  its numerator and denominator. ``switch_error_unmasked`` is the same with
  the masked genotypes set missing (-1) in both, i.e. over the heterozygous
  genotypes Beagle was shown only.
- ``hard_call_r2``: the squared Pearson correlation, pooled over all masked
  genotypes, between the true alt-allele count and Beagle's (the sum of its
  two phased alleles). ``dosage_r2``: the same with the dosage
  GP[1] + 2 GP[2]; null when Beagle prints no GP (as here).
- ``discordance``: the fraction of masked genotypes whose best guess (GT's
  allele sum) differs from the truth.
- ``observed_genotypes_changed``: unmasked genotypes whose phased alleles
  do not sum to the input genotype (Beagle keeps them: 0 expected).

Run from the repository root, after ``phasing_data.py``:
``PYTHONPATH=. python benchmarks/phasing_beagle.py`` (about 5-15 minutes per
data set; ``NAME ...`` for some sets only, the others kept from the stored
file).

``--subsets`` instead stores Beagle's numbers on subsets of the ``constant``
set in ``data/phasing/beagle_subsets.json`` (for the case study's switch error
and r^2 against the number of individuals): for each region, ``1Mb`` (the
sites at positions <= 1,000,000) and ``2Mb`` (all sites), and each n in 500,
1000, 2000, the first n individuals on the region's sites with the full set's
mask there, i.e. ``phasing_data.subset("constant", n, max_position)``. Each
subset's VCF is written by ``phasing_data.write_vcf`` into the temporary
directory (not into the repository: the committed truth and this rule define
it) and Beagle runs on it once, with the first command above; the six runs go
one after the other. The measures are the ones below, and the sites that are
monomorphic in a subset (kept) are counted.

``--seeds K NAME ...`` instead runs Beagle K more times on each named set,
with seeds ``SEED + 1`` ... ``SEED + K`` and otherwise the first command
above, and stores each run's measures in ``data/phasing/beagle_seeds.json``
(kept per set; a rerun replaces the set's entry): Beagle's switch error
varies with its seed, as ours does with ``random_state``, and a few seeds
show by how much.
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from phasing_data import NAMES, OUT, load, subset, write_vcf  # noqa: E402

from latentlab.genetics import switch_counts, switch_error  # noqa: E402

SEED = 20220722
RESULTS = OUT / "beagle.json"
SUBSETS = OUT / "beagle_subsets.json"
SEEDS = OUT / "beagle_seeds.json"
SUBSET_SET = "constant"
SUBSET_REGIONS = {"1Mb": 1_000_000, "2Mb": None}  # max_position; None: all sites
SUBSET_SIZES = (500, 1000, 2000)


def beagle_args(gp: bool, seed: int = SEED) -> list[str]:
    args = ["beagle", "gt=input.vcf.gz", "out=out", "nthreads=1", f"seed={seed}"]
    return [*args, "gp=true"] if gp else args


def versions() -> dict:
    usage = subprocess.run(["beagle"], capture_output=True, text=True)
    beagle = next(line for line in (usage.stdout + usage.stderr).splitlines() if "version" in line).strip()
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()
    package = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version}", "beagle"],
                             capture_output=True, text=True).stdout.strip()
    return {"beagle": beagle, "debian_package": package, "java": " / ".join(s.strip() for s in java),
            "wrapper": Path(shutil.which("beagle")).read_text().strip().splitlines()[-1]}


def run_beagle(name: str, gp: bool, workdir: Path, vcf: Path | None = None, seed: int = SEED) -> dict:
    """Run Beagle on ``name``'s input (or on ``vcf``, which must be outside
    ``workdir``) in ``workdir``; its output ``out.vcf.gz`` and ``out.log`` stay
    there."""
    for f in workdir.iterdir():
        f.unlink()
    (workdir / "input.vcf.gz").symlink_to(OUT / name / "input.vcf.gz" if vcf is None else vcf)
    args = beagle_args(gp, seed)
    load_average = os.getloadavg()
    t0 = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-v", *args], cwd=workdir, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed on {name} ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")

    def field(label: str) -> str:
        return re.search(rf"^\s*{re.escape(label)}: (.*)$", proc.stderr, re.M).group(1)

    peak_kib = int(field("Maximum resident set size (kbytes)"))
    return {
        "command": " ".join(args),
        "wall_seconds": round(wall, 2),
        "user_seconds": float(field("User time (seconds)")),
        "system_seconds": float(field("System time (seconds)")),
        "peak_rss_kib": peak_kib,
        "peak_mb": round(peak_kib * 1024 / 1e6, 1),
        "load_average_at_start": [round(x, 2) for x in load_average],
    }


def read_beagle_vcf(path: Path, samples: list[str], positions: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Beagle's phased output: haplotypes (n, 2, L) uint8 and, when the
    FORMAT has GP, the genotype probabilities (n, L, 3)."""
    n, L = len(samples), positions.size
    haplotypes = np.empty((n, 2, L), dtype=np.uint8)
    gp = None
    j = 0
    with gzip.open(path, "rt") as f:
        for line in f:
            if line.startswith("##"):
                continue
            fields = line.rstrip("\n").split("\t")
            if line.startswith("#"):
                if fields[9:] != samples:
                    raise ValueError(f"{path}: samples differ from the input's")
                continue
            if int(fields[1]) != positions[j] or fields[4] != "G":
                raise ValueError(f"{path}: site {j + 1} is {fields[:5]}, expected position {positions[j]} A>G")
            keys = fields[8].split(":")
            if keys[0] != "GT":
                raise ValueError(f"{path}: FORMAT {fields[8]} does not start with GT")
            entries = [s.split(":") for s in fields[9:]]
            gts = [e[0] for e in entries]
            if any(len(g) != 3 or g[1] != "|" for g in gts):
                raise ValueError(f"{path}: unphased or missing GT at position {positions[j]}")
            codes = np.frombuffer("".join(gts).encode(), dtype=np.uint8).reshape(n, 3)
            haplotypes[:, 0, j] = codes[:, 0] - ord("0")
            haplotypes[:, 1, j] = codes[:, 2] - ord("0")
            if "GP" in keys:
                if gp is None:
                    gp = np.full((n, L, 3), np.nan)
                k = keys.index("GP")
                gp[:, j] = np.array([e[k].split(",") for e in entries], dtype=float)
            j += 1
    if j != L:
        raise ValueError(f"{path}: {j} sites, expected {L}")
    if gp is not None and np.isnan(gp).any():
        raise ValueError(f"{path}: GP on some sites only")
    return haplotypes, gp


def accuracy(truth: dict, haplotypes: np.ndarray, gp: np.ndarray | None) -> dict:
    true_h = truth["haplotypes"].astype(np.int64)
    est_h = haplotypes.astype(np.int64)
    mask = truth["mask"]
    rate = switch_error(true_h, est_h)
    switches, opportunities = switch_counts(true_h, est_h)
    assert abs(rate - switches / opportunities) < 1e-15, (rate, switches, opportunities)
    hidden = np.repeat(mask[:, None, :], 2, axis=1)
    true_u, est_u = np.where(hidden, -1, true_h), np.where(hidden, -1, est_h)
    switches_u, opportunities_u = switch_counts(true_u, est_u)
    rate_u = switch_error(true_u, est_u)
    assert abs(rate_u - switches_u / opportunities_u) < 1e-15, (rate_u, switches_u, opportunities_u)

    true_g = true_h.sum(axis=1)
    call = est_h.sum(axis=1)
    dosage_r2 = None
    if gp is not None:
        dosage = gp[..., 1] + 2 * gp[..., 2]
        dosage_r2 = float(np.corrcoef(true_g[mask], dosage[mask])[0, 1] ** 2)
    return {
        "switch_error": rate,
        "n_switches": switches,
        "n_opportunities": opportunities,
        "switch_error_unmasked": rate_u,
        "n_switches_unmasked": switches_u,
        "n_opportunities_unmasked": opportunities_u,
        "n_masked": int(mask.sum()),
        "hard_call_r2": float(np.corrcoef(true_g[mask], call[mask])[0, 1] ** 2),
        "dosage_r2": dosage_r2,
        "discordance": float(np.mean(call[mask] != true_g[mask])),
        "observed_genotypes_changed": int(np.count_nonzero(call[~mask] != true_g[~mask])),
    }


def measure(name: str, workdir: Path) -> dict:
    truth = load(name)
    n, L = truth["mask"].shape
    print(f"{name}: n {n}, L {L}; running Beagle ...", flush=True)
    run = run_beagle(name, False, workdir)
    haplotypes, gp = read_beagle_vcf(workdir / "out.vcf.gz", truth["samples"], truth["positions"])
    shutil.copyfile(workdir / "out.log", OUT / name / "beagle.log")
    result = {"n": n, "L": L, **accuracy(truth, haplotypes, gp), **run, "format_has_gp": gp is not None}
    print(f"{name}: running Beagle with gp=true ...", flush=True)
    run_gp = run_beagle(name, True, workdir)
    haplotypes_gp, gp = read_beagle_vcf(workdir / "out.vcf.gz", truth["samples"], truth["positions"])
    run_gp["format_has_gp"] = gp is not None
    run_gp["phased_alleles_differing"] = int(np.count_nonzero(haplotypes_gp != haplotypes))
    if gp is not None:
        run_gp["dosage_r2"] = accuracy(truth, haplotypes_gp, gp)["dosage_r2"]
    result["gp_run"] = run_gp
    return result


def show(name: str, r: dict) -> None:
    g = r["gp_run"]
    print(f"{name}: n {r['n']}, L {r['L']}\n"
          f"  switch error {r['switch_error']:.6f} ({r['n_switches']} / {r['n_opportunities']}); "
          f"over the heterozygotes shown only {r['switch_error_unmasked']:.6f} "
          f"({r['n_switches_unmasked']} / {r['n_opportunities_unmasked']})\n"
          f"  {r['n_masked']} masked: hard-call r2 {r['hard_call_r2']:.4f}, discordance {r['discordance']:.4f}, "
          f"dosage r2 {'(no GP printed)' if r['dosage_r2'] is None else format(r['dosage_r2'], '.4f')}\n"
          f"  {r['command']}: {r['wall_seconds']:.1f} s wall, {r['peak_mb']:.0f} MB peak, "
          f"load {r['load_average_at_start'][0]}\n"
          f"  {g['command']}: {g['wall_seconds']:.1f} s wall, {g['peak_mb']:.0f} MB peak, "
          f"load {g['load_average_at_start'][0]}; GP printed: {g['format_has_gp']}; phased alleles differing "
          f"from the first run: {g['phased_alleles_differing']}")


def measure_subset(region: str, n: int, workdir: Path, vcfdir: Path) -> dict:
    """Beagle on ``subset(SUBSET_SET, n, SUBSET_REGIONS[region])``, its VCF
    written into ``vcfdir``; the first command only."""
    max_position = SUBSET_REGIONS[region]
    truth = subset(SUBSET_SET, n, max_position)
    L = truth["positions"].size
    vcf = write_vcf(SUBSET_SET, n, max_position, path=vcfdir / f"{SUBSET_SET}_{region}_{n}.vcf.gz")
    alt = truth["haplotypes"].sum(axis=(0, 1))
    shown = np.where(truth["mask"], 0, truth["genotypes"])
    carriers_shown = shown.sum(axis=0)
    n_shown = 2 * (~truth["mask"]).sum(axis=0)
    print(f"{SUBSET_SET} {region}, first {n}: L {L}; running Beagle ...", flush=True)
    run = run_beagle(SUBSET_SET, False, workdir, vcf)
    haplotypes, gp = read_beagle_vcf(workdir / "out.vcf.gz", truth["samples"], truth["positions"])
    return {
        "region": region,
        "max_position": max_position,
        "n": n,
        "L": L,
        "first_position": int(truth["positions"][0]),
        "last_position": int(truth["positions"][-1]),
        "n_monomorphic": int(np.count_nonzero((alt == 0) | (alt == 2 * n))),
        "n_monomorphic_shown": int(np.count_nonzero((carriers_shown == 0) | (carriers_shown == n_shown))),
        **accuracy(truth, haplotypes, gp),
        **run,
        "format_has_gp": gp is not None,
    }


def show_subset(r: dict) -> None:
    print(f"{SUBSET_SET} {r['region']}, first {r['n']}: L {r['L']} ({r['n_monomorphic']} monomorphic, "
          f"{r['n_monomorphic_shown']} among the genotypes shown)\n"
          f"  switch error {r['switch_error']:.3g} ({r['n_switches']} / {r['n_opportunities']}); "
          f"over the heterozygotes shown only {r['switch_error_unmasked']:.3g}\n"
          f"  {r['n_masked']} masked: hard-call r2 {r['hard_call_r2']:.5f}, discordance {r['discordance']:.5f}\n"
          f"  {r['wall_seconds']:.1f} s wall, {r['user_seconds']:.1f} s user, {r['peak_mb']:.0f} MB peak, "
          f"load {r['load_average_at_start'][0]}")


def main_subsets() -> None:
    info = {
        **versions(),
        "date": datetime.date.today().isoformat(),
        "cpus": os.cpu_count(),
        "seed": SEED,
        "data_set": SUBSET_SET,
        "loader": f"benchmarks/phasing_data.py: subset({SUBSET_SET!r}, n, max_position) "
        "(max_position null: all sites); same dict shape as load()",
        "definition": f"For each region ('1Mb': the sites of the {SUBSET_SET!r} set at positions <= 1,000,000; "
        "'2Mb': all its sites) and each n, the first n individuals (samples S0001 ... in "
        f"benchmarks/data/phasing/{SUBSET_SET}/truth.npz) on the region's sites, with the full set's mask on "
        "those individuals and sites (every genotype masked in the full set stays masked). Sites monomorphic "
        "in a subset stay in: n_monomorphic counts them among the subset's true haplotypes, "
        "n_monomorphic_shown among the genotypes Beagle is shown (unmasked). The subsets' VCFs are not "
        "stored: the committed truth and this rule define them, and phasing_data.write_vcf"
        f"({SUBSET_SET!r}, n, max_position, path) writes each (the same writer as the full sets' "
        "input.vcf.gz; only its ##source line names the subset). Beagle runs once per subset, one run at "
        "a time, with the same command, thread count and seed as the first run in beagle.json.",
        "workdir": "a temporary directory holding input.vcf.gz, a link to the subset's VCF written in another "
        "temporary directory",
        "definitions": __doc__.split("Measures, against the stored truth:\n\n")[1].split("\n\nRun from")[0],
    }
    results = []
    with tempfile.TemporaryDirectory(prefix="beagle_") as tmp, tempfile.TemporaryDirectory(prefix="vcf_") as vcfdir:
        for region in SUBSET_REGIONS:
            for n in SUBSET_SIZES:
                results.append({**measure_subset(region, n, Path(tmp), Path(vcfdir)), "date": info["date"]})
                show_subset(results[-1])
                SUBSETS.write_text(json.dumps({**info, "subsets": results}, indent=2) + "\n")
    write_case_study_table()


def main_seeds(names: list[str], extra: int) -> None:
    """Beagle with seeds ``SEED + 1`` ... ``SEED + extra`` on each of ``names``
    (the first command only), stored in ``beagle_seeds.json``."""
    stored = json.loads(SEEDS.read_text()) if SEEDS.exists() else {}
    data_sets = stored.get("data_sets", {})
    info = {**versions(), "date": datetime.date.today().isoformat(), "cpus": os.cpu_count(),
            "definition": "Each set's runs with seeds other than beagle.json's: the same command, one thread, "
            "one run at a time (the load average at each start is stored).",
            "definitions": __doc__.split("Measures, against the stored truth:\n\n")[1].split("\n\nRun from")[0]}
    with tempfile.TemporaryDirectory(prefix="beagle_") as tmp:
        for name in names:
            truth = load(name)
            runs = []
            for seed in range(SEED + 1, SEED + extra + 1):
                print(f"{name}: running Beagle with seed {seed} ...", flush=True)
                run = run_beagle(name, False, Path(tmp), seed=seed)
                haplotypes, gp = read_beagle_vcf(Path(tmp) / "out.vcf.gz", truth["samples"], truth["positions"])
                runs.append({"seed": seed, **accuracy(truth, haplotypes, gp), **run})
                print(f"  switch error {runs[-1]['switch_error']:.3g} ({runs[-1]['n_switches']} switches), "
                      f"hard-call r2 {runs[-1]['hard_call_r2']:.4f}, {run['wall_seconds']:.1f} s", flush=True)
            data_sets[name] = {"date": info["date"], "beagle": info["beagle"], "java": info["java"], "runs": runs}
            SEEDS.write_text(json.dumps({**info, "data_sets": data_sets}, indent=2) + "\n")


def write_case_study_table() -> Path:
    """The columns of ``beagle_subsets.json`` the haplotype-phase case study
    reads, as ``case_studies/results/phasing_beagle_subsets.csv`` (case
    studies ship with CSV results only)."""
    import pandas as pd

    columns = ["region", "n", "L", "switch_error", "n_switches", "n_opportunities", "hard_call_r2", "discordance",
               "wall_seconds", "peak_mb"]
    table = pd.DataFrame(json.loads(SUBSETS.read_text())["subsets"])[columns]
    path = Path(__file__).resolve().parents[1] / "case_studies" / "results" / "phasing_beagle_subsets.csv"
    table.to_csv(path, index=False)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"data sets among {', '.join(NAMES)} (default: all)")
    parser.add_argument("--subsets", action="store_true",
                        help=f"instead, Beagle on subsets of {SUBSET_SET!r}, stored in {SUBSETS.name}")
    parser.add_argument("--seeds", type=int, metavar="K",
                        help=f"instead, K more Beagle runs with other seeds on each NAME, stored in {SEEDS.name}")
    args = parser.parse_args()
    if args.seeds is not None:
        if args.subsets:
            parser.error("--seeds and --subsets are separate runs: give one")
        if args.seeds < 1 or not args.names or set(args.names) - set(NAMES):
            parser.error(f"--seeds takes K >= 1 and at least one NAME among {', '.join(NAMES)}")
        main_seeds(args.names, args.seeds)
        return
    if args.subsets:
        if args.names:
            parser.error("--subsets takes no NAME")
        main_subsets()
        return
    unknown = sorted(set(args.names) - set(NAMES))
    if unknown:
        parser.error(f"unknown data set(s) {', '.join(unknown)}; choose among {', '.join(NAMES)}")
    stored = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    data_sets = stored.get("data_sets", {})
    info = {
        **versions(),
        "date": datetime.date.today().isoformat(),
        "cpus": os.cpu_count(),
        "seed": SEED,
        "workdir": "a temporary directory holding input.vcf.gz, a link to data/phasing/<name>/input.vcf.gz",
        "definitions": __doc__.split("Measures, against the stored truth:\n\n")[1].split("\n\nRun from")[0],
    }
    with tempfile.TemporaryDirectory(prefix="beagle_") as tmp:
        for name in args.names or NAMES:
            data_sets[name] = {**measure(name, Path(tmp)), "date": info["date"]}
            show(name, data_sets[name])
            RESULTS.write_text(json.dumps({**info, "data_sets": data_sets}, indent=2) + "\n")
    for name in NAMES:
        if name in data_sets and name not in (args.names or NAMES):
            show(name, data_sets[name])


if __name__ == "__main__":
    main()
