"""The phasing benchmark's data sets (issue 20): genotypes with a known phase,
made deterministically, each written under ``data/phasing/<name>/``.

- ``founders``: ``simulate_founder_mosaics(2000, 100)`` (20 founders,
  Dirichlet(0.7) frequencies, founder switch 0.01 between adjacent SNPs,
  mutation 0.002). The founder model has no genetic map; the SNPs are put at
  1, 2, ..., 100 kb on chromosome 1 only because a VCF (and Beagle) needs
  positions. Beagle, given no ``map=``, then assumes 1 cM per Mb, so the
  region is 0.1 cM long for it.
- ``constant``: msprime, 2,000 diploids, Ne 10,000, 2 Mb, mutation 1.25e-8
  and recombination 1e-8 per bp per generation, Hudson coalescent.
- ``growth``: the same with recent exponential growth: N = 1,000,000 at
  present, shrinking back in time at rate ln(100)/400 per generation to 10,000
  at 400 generations ago, and 10,000 before that.

The msprime sets use a continuous genome with ``BinaryMutationModel`` (infinite
sites: every site carries one mutation, 0 ancestral and 1 derived, so every
site is biallelic); a site at continuous position x is put at the integer VCF
position floor(x) + 1, and when two sites fall on the same integer the first
is kept and the others dropped. Sites with minor allele frequency >= 1% among
the 4,000 true haplotypes are kept.

In each set a mask of exactly 5% of the n x L genotypes, drawn uniformly
without replacement with a fixed seed, is hidden from the phasing tool: the
dosage r^2 is measured on these.

Files per set:

- ``truth.npz``: ``haplotypes`` (the (n, 2, L) 0/1 true haplotypes as
  ``np.packbits`` of the flattened array), ``mask`` (the (n, L) mask, packed
  likewise), ``positions`` (int64, strictly increasing), ``shape`` (n, L),
  ``chrom``; ``load(name)`` unpacks them.
- ``input.vcf.gz`` (bgzip): unphased GT (``0/1``) for every sample, the
  masked genotypes ``./.``. If it is absent (the checkout stores only the
  truth when the VCFs would make the repository large), ``write_vcf(name)``
  or ``python benchmarks/phasing_data.py --vcf-only`` makes it from the
  truth, byte for byte the same.
- ``meta.json``: the parameters, seeds and site counts.

Run from the repository root: ``PYTHONPATH=. python benchmarks/phasing_data.py``
(``--vcf-only`` rewrites the VCFs from the stored truth without simulating).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "data" / "phasing"
NAMES = ("founders", "constant", "growth")
CHROM = "1"
MASK_FRACTION = 0.05
MAF_MIN = 0.01

N_INDIVIDUALS = 2000
MSPRIME = {
    "sequence_length": 2_000_000,
    "population_size": 10_000,
    "mutation_rate": 1.25e-8,
    "recombination_rate": 1e-8,
}
GROWTH = {"present_size": 1_000_000, "ancient_size": 10_000, "growth_generations": 400}
SEEDS = {
    "founders": {"simulation": 2020, "mask": 2021},
    "constant": {"ancestry": 2030, "mutations": 2031, "mask": 2032},
    "growth": {"ancestry": 2040, "mutations": 2041, "mask": 2042},
}


# ---------------------------------------------------------------- simulation


def simulate_founders() -> tuple[np.ndarray, np.ndarray, dict]:
    from latentlab.genetics import simulate_founder_mosaics

    sim = simulate_founder_mosaics(N_INDIVIDUALS, 100, random_state=SEEDS["founders"]["simulation"])
    haplotypes = np.asarray(sim.haplotypes, dtype=np.uint8)
    positions = 1000 * np.arange(1, haplotypes.shape[2] + 1, dtype=np.int64)
    meta = {
        "model": "latentlab.genetics.simulate_founder_mosaics(2000, 100, random_state=seed): 20 founders, "
        "Dirichlet(0.7) frequencies, switch 0.01 between adjacent SNPs, mutation 0.002",
        "positions": "1,000 to 100,000 bp, 1 kb apart (no genetic map: Beagle assumes 1 cM/Mb)",
        "maf_filter": None,
    }
    return haplotypes, positions, meta


def _demography(growth: bool):
    import msprime

    if not growth:
        return None
    rate = math.log(GROWTH["present_size"] / GROWTH["ancient_size"]) / GROWTH["growth_generations"]
    demography = msprime.Demography()
    demography.add_population(name="pop", initial_size=GROWTH["present_size"], growth_rate=rate)
    demography.add_population_parameters_change(
        time=GROWTH["growth_generations"], initial_size=GROWTH["ancient_size"], growth_rate=0, population="pop"
    )
    return demography


def simulate_coalescent(name: str) -> tuple[np.ndarray, np.ndarray, dict]:
    import msprime

    seeds = SEEDS[name]
    demography = _demography(name == "growth")
    ancestry = {
        "samples": N_INDIVIDUALS,
        "ploidy": 2,
        "sequence_length": MSPRIME["sequence_length"],
        "recombination_rate": MSPRIME["recombination_rate"],
        "random_seed": seeds["ancestry"],
    }
    if demography is None:
        ts = msprime.sim_ancestry(population_size=MSPRIME["population_size"], **ancestry)
    else:
        ts = msprime.sim_ancestry(demography=demography, **ancestry)
        sizes = demography.debug().population_size_trajectory(np.array([0.0, 400.0, 1000.0]))[:, 0]
        assert np.allclose(sizes, [1e6, 1e4, 1e4]), sizes
    ts = msprime.sim_mutations(ts, rate=MSPRIME["mutation_rate"], model=msprime.BinaryMutationModel(),
                               discrete_genome=False, random_seed=seeds["mutations"])
    n_sites_all = ts.num_sites
    assert ts.num_mutations == n_sites_all, "infinite sites: one mutation per site"
    # sample nodes 2i and 2i + 1 are individual i's two chromosomes
    for i in (0, N_INDIVIDUALS - 1):
        assert list(ts.individual(i).nodes) == [2 * i, 2 * i + 1]
    G = ts.genotype_matrix().astype(np.uint8)  # (sites, 2n)
    positions = np.floor(ts.tables.sites.position).astype(np.int64) + 1
    first = np.ones(positions.size, dtype=bool)
    first[1:] = positions[1:] != positions[:-1]
    n_duplicates = int((~first).sum())
    freq = G.mean(axis=1)
    maf = np.minimum(freq, 1 - freq)
    keep = first & (maf >= MAF_MIN)
    G, positions = G[keep], positions[keep]
    haplotypes = np.ascontiguousarray(G.T.reshape(N_INDIVIDUALS, 2, -1))
    meta = {
        "model": "msprime.sim_ancestry (Hudson coalescent), msprime.sim_mutations with BinaryMutationModel on a "
        "continuous genome (infinite sites)",
        "msprime": dict(MSPRIME),
        "demography": "constant Ne 10,000" if demography is None else
        "N(t) = 1,000,000 exp(-r t) for t < 400 generations, r = ln(100)/400 = "
        f"{math.log(100) / 400:.6f}; 10,000 before",
        "positions": "floor(continuous position) + 1; the first site kept where two share an integer",
        "maf_filter": f"MAF >= {MAF_MIN} among the {2 * N_INDIVIDUALS} true haplotypes",
        "n_sites_simulated": n_sites_all,
        "n_sites_dropped_duplicate_position": n_duplicates,
        "n_sites_maf_kept": int(keep.sum()),
    }
    return haplotypes, positions, meta


def make_mask(n: int, L: int, seed: int) -> np.ndarray:
    """Exactly round(5% of n L) genotypes, uniformly without replacement."""
    rng = np.random.default_rng(seed)
    k = int(round(MASK_FRACTION * n * L))
    mask = np.zeros(n * L, dtype=bool)
    mask[rng.choice(n * L, size=k, replace=False)] = True
    return mask.reshape(n, L)


# ---------------------------------------------------------------- storage


def save_truth(name: str, haplotypes: np.ndarray, positions: np.ndarray, mask: np.ndarray) -> Path:
    n, two, L = haplotypes.shape
    assert two == 2 and positions.shape == (L,) and mask.shape == (n, L)
    assert np.all(np.diff(positions) > 0)
    path = OUT / name / "truth.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path,
        haplotypes=np.packbits(haplotypes.astype(bool).ravel()),
        mask=np.packbits(mask.ravel()),
        positions=positions.astype(np.int64),
        shape=np.array([n, L], dtype=np.int64),
        chrom=np.array(CHROM),
    )
    return path


def load(name: str) -> dict:
    """The truth of data set ``name``: ``haplotypes`` (n, 2, L) uint8,
    ``positions`` (L,) int64, ``mask`` (n, L) bool, ``genotypes`` (n, L)
    int64 alt-allele counts with the masked entries -1 (what the phasing tool
    sees), ``chrom``, ``samples``."""
    with np.load(OUT / name / "truth.npz") as z:
        n, L = (int(v) for v in z["shape"])
        haplotypes = np.unpackbits(z["haplotypes"], count=n * 2 * L).reshape(n, 2, L)
        mask = np.unpackbits(z["mask"], count=n * L).reshape(n, L).astype(bool)
        positions, chrom = z["positions"], str(z["chrom"])
    genotypes = haplotypes.sum(axis=1, dtype=np.int64)
    genotypes[mask] = -1
    return {"haplotypes": haplotypes, "positions": positions, "mask": mask, "genotypes": genotypes,
            "chrom": chrom, "samples": sample_names(n)}


def subset(name: str, n: int | None = None, max_position: float | None = None) -> dict:
    """``load(name)`` restricted to the first ``n`` individuals (samples
    ``S0001`` ...; all when None) and the sites at positions <= ``max_position``
    (all when None), in the same dict shape. The mask is the full set's on
    those individuals and sites, so every genotype masked in the full set stays
    masked; sites that are monomorphic in the subset stay in."""
    d = load(name)
    if n is not None and not 1 <= n <= len(d["samples"]):
        raise ValueError(f"n = {n}: {name} has {len(d['samples'])} individuals")
    keep = np.ones(d["positions"].size, dtype=bool) if max_position is None else d["positions"] <= max_position
    if not keep.any():
        raise ValueError(f"{name} has no site at a position <= {max_position}")
    rows = slice(None, n)
    return {"haplotypes": np.ascontiguousarray(d["haplotypes"][rows][..., keep]),
            "positions": d["positions"][keep],
            "mask": np.ascontiguousarray(d["mask"][rows][:, keep]),
            "genotypes": np.ascontiguousarray(d["genotypes"][rows][:, keep]),
            "chrom": d["chrom"], "samples": d["samples"][rows]}


def sample_names(n: int) -> list[str]:
    return [f"S{i + 1:04d}" for i in range(n)]


def write_vcf(name: str, n: int | None = None, max_position: float | None = None, path: Path | None = None) -> Path:
    """``input.vcf.gz`` of data set ``name`` from its truth: unphased GT,
    masked genotypes ``./.``, REF A and ALT G at every site (the alleles are
    labels only), bgzip-compressed (deterministic: BGZF blocks carry no time).
    With ``n`` or ``max_position``, the VCF of ``subset(name, n, max_position)``
    (its ``##source`` line says which; ``path`` is then required, so a
    subset never overwrites the set's own file). ``path`` defaults to the
    set's own ``input.vcf.gz``."""
    import pysam

    whole = n is None and max_position is None
    if not whole and path is None:
        raise ValueError("a subset's VCF needs a path")
    d = load(name) if whole else subset(name, n, max_position)
    label = name if whole else f"{name}, subset(n={n}, max_position={max_position})"
    n, L = d["genotypes"].shape
    text = np.array(["0/0", "0/1", "1/1", "./."])
    codes = np.where(d["genotypes"] < 0, 3, d["genotypes"])  # (n, L)
    header = [
        "##fileformat=VCFv4.2",
        f"##source=latentlab benchmarks/phasing_data.py ({label})",
        f"##contig=<ID={d['chrom']},length={int(d['positions'][-1]) + 1}>",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *d["samples"]]),
    ]
    path = OUT / name / "input.vcf.gz" if path is None else Path(path)
    with pysam.BGZFile(str(path), "wb") as f:
        f.write(("\n".join(header) + "\n").encode())
        for j in range(L):
            fixed = f"{d['chrom']}\t{int(d['positions'][j])}\t.\tA\tG\t.\tPASS\t.\tGT\t"
            f.write((fixed + "\t".join(text[codes[:, j]]) + "\n").encode())
    return path


def make(name: str) -> dict:
    if name == "founders":
        haplotypes, positions, meta = simulate_founders()
    else:
        haplotypes, positions, meta = simulate_coalescent(name)
    n, _, L = haplotypes.shape
    mask = make_mask(n, L, SEEDS[name]["mask"])
    save_truth(name, haplotypes, positions, mask)
    freq = haplotypes.mean(axis=(0, 1))
    maf = np.minimum(freq, 1 - freq)
    meta.update({
        "name": name,
        "n_individuals": int(n),
        "n_sites": int(L),
        "chrom": CHROM,
        "first_position": int(positions[0]),
        "last_position": int(positions[-1]),
        "seeds": SEEDS[name],
        "mask": f"exactly round({MASK_FRACTION} n L) genotypes uniformly without replacement "
        "(numpy default_rng(seed).choice)",
        "n_masked": int(mask.sum()),
        "maf_min": float(maf.min()),
        "maf_median": float(np.median(maf)),
        "n_monomorphic": int((maf == 0).sum()),
    })
    (OUT / name / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"data sets among {', '.join(NAMES)} (default: all)")
    parser.add_argument("--vcf-only", action="store_true", help="rewrite input.vcf.gz from the stored truth")
    args = parser.parse_args()
    unknown = sorted(set(args.names) - set(NAMES))
    if unknown:
        parser.error(f"unknown data set(s) {', '.join(unknown)}; choose among {', '.join(NAMES)}")
    for name in args.names or NAMES:
        if not args.vcf_only:
            meta = make(name)
            print(f"{name}: n {meta['n_individuals']}, L {meta['n_sites']}, "
                  f"positions {meta['first_position']}-{meta['last_position']}, masked {meta['n_masked']}, "
                  f"MAF min {meta['maf_min']:.4f}")
        vcf = write_vcf(name)
        sizes = {p.name: p.stat().st_size for p in sorted((OUT / name).iterdir())}
        print(f"  {vcf.relative_to(OUT.parents[1])}; sizes " + ", ".join(f"{k} {v / 1e6:.2f} MB" for k, v in sizes.items()))


if __name__ == "__main__":
    main()
