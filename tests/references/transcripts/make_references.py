"""Make the stored references of the transcript-quantification tests with
salmon and kallisto (Debian's packages: ``apt-get install salmon kallisto``).

1. A transcriptome of 200 genes (isoforms sharing exons, 15% paralogs reusing
   another gene's exons; ``latentlab.transcripts.simulate_transcriptome``,
   seed 2026) gets random exon sequences; transcript fractions are
   log-normal (sigma 2) with a quarter unexpressed.
2. 1,000,000 read pairs: fragments of Normal(250, 25) nucleotides starting
   uniformly along their transcript, 100 nt from each end, either strand,
   0.5% substitution errors (this script's own read simulator).
3. salmon 1.10 (one thread): ``salmon index -k 31``, then ``salmon quant -l A
   --dumpEq --dumpEqWeights`` with its default VBEM, with ``--useEM``, and
   with ``--useEM --initUniform`` (EM from a uniform start, which an EM
   elsewhere can reproduce; the default start is salmon's online estimates);
   kallisto 0.48 (one thread): ``kallisto quant`` and ``kallisto pseudo``
   (its equivalence classes).
4. Stored in ``data/rnaseq_simulation/`` (gzip): the truth, salmon's equivalence classes with weights
   and quant.sf of its EM runs (each run's classes: their order and last
   digits differ between runs), the VBEM quant.sf, kallisto's abundance.tsv and classes, and
   ``runs.json`` with the versions, commands and wall times of the
   quantification steps.

Run from the repository root: ``python tests/references/transcripts/make_references.py``
(about 5 minutes; needs a scratch folder with 1 GB).
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from latentlab.transcripts import simulate_transcriptome

HERE = Path(__file__).resolve().parents[3] / "data" / "rnaseq_simulation"
SEED, N_GENES, N_PAIRS, READ_LEN, ERROR = 2026, 200, 1_000_000, 100, 0.005
FRAG_MEAN, FRAG_SD = 250.0, 25.0
_ASCII = np.frombuffer(b"ACGT", dtype=np.uint8)


def transcriptome(rng):
    tx = simulate_transcriptome(N_GENES, paralog_fraction=0.15, random_state=SEED)
    exon_seq = [rng.integers(0, 4, size=n, dtype=np.uint8) for n in tx.exon_lengths]
    seqs = [np.concatenate([exon_seq[e] for e in chain]) for chain in tx.exons]
    return tx, seqs


def fragments(rng, seqs, fraction):
    lengths = np.array([s.size for s in seqs])
    counts = rng.multinomial(N_PAIRS, fraction)
    tx_of = np.repeat(np.arange(len(seqs)), counts)
    flen = np.minimum(np.round(rng.normal(FRAG_MEAN, FRAG_SD, N_PAIRS)).astype(np.int64), lengths[tx_of])
    flen = np.maximum(flen, READ_LEN)
    start = (rng.random(N_PAIRS) * (lengths[tx_of] - flen + 1)).astype(np.int64)
    return tx_of, start, flen, counts


def reads(rng, seqs, tx_of, start, flen):
    flat = np.concatenate(seqs)
    offset = np.concatenate([[0], np.cumsum([s.size for s in seqs])[:-1]])
    base = offset[tx_of] + start
    fwd = flat[base[:, None] + np.arange(READ_LEN)]  # first READ_LEN of the fragment
    end = base + flen - 1
    rev = 3 - flat[end[:, None] - np.arange(READ_LEN)]  # reverse complement of its last READ_LEN
    minus = rng.random(tx_of.size) < 0.5
    r1 = np.where(minus[:, None], rev, fwd)
    r2 = np.where(minus[:, None], fwd, rev)
    for r in (r1, r2):
        err = rng.random(r.shape) < ERROR
        r[err] = (r[err] + rng.integers(1, 4, size=int(err.sum()), dtype=np.uint8)) % 4
    return r1, r2


def write_fastq(path, codes, mate):
    n = codes.shape[0]
    seq = _ASCII[codes]
    qual = np.full(READ_LEN, ord("I"), dtype=np.uint8).tobytes()
    with gzip.open(path, "wb", compresslevel=1) as out:
        for lo in range(0, n, 100_000):
            chunk = [b"@r%d/%d\n%s\n+\n%s\n" % (i, mate, seq[i].tobytes(), qual) for i in range(lo, min(n, lo + 100_000))]
            out.write(b"".join(chunk))


def _optimizer_seconds(log: Path) -> float:
    """Seconds between salmon's log lines "starting optimizer" and "finished
    optimizer" (its quantification step after mapping)."""
    stamps = {}
    for line in log.read_text().splitlines():
        for key in ("starting optimizer", "finished optimizer"):
            if key in line.lower():
                stamp = line[1:line.index("]")]
                stamps[key] = pd.Timestamp(stamp)
    return round((stamps["finished optimizer"] - stamps["starting optimizer"]).total_seconds(), 3)


def run(cmd, cwd) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    rng = np.random.default_rng(SEED)
    tx, seqs = transcriptome(rng)
    level = np.exp(rng.normal(0.0, 2.0, len(seqs))) * (rng.random(len(seqs)) >= 0.25)
    fraction = level / level.sum()
    tx_of, start, flen, counts = fragments(rng, seqs, fraction)
    r1, r2 = reads(rng, seqs, tx_of, start, flen)
    versions = {tool: subprocess.run([tool, *arg], capture_output=True, text=True).stdout.strip()
                or subprocess.run([tool, *arg], capture_output=True, text=True).stderr.strip()
                for tool, arg in (("salmon", ["--version"]), ("kallisto", ["version"]))}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        with open(tmp / "transcripts.fa", "w") as fa:
            for name, s in zip(tx.transcripts, seqs):
                fa.write(f">{name}\n{_ASCII[s].tobytes().decode()}\n")
        write_fastq(tmp / "r1.fq.gz", r1, 1)
        write_fastq(tmp / "r2.fq.gz", r2, 2)
        commands = {
            "salmon index": ["salmon", "index", "-t", "transcripts.fa", "-i", "salmon_idx", "-k", "31", "-p", "1"],
            "salmon quant (VBEM, default)": ["salmon", "quant", "-i", "salmon_idx", "-l", "A", "-1", "r1.fq.gz",
                                             "-2", "r2.fq.gz", "-p", "1", "--dumpEq", "--dumpEqWeights", "-o",
                                             "salmon_vbem"],
            "salmon quant --useEM": ["salmon", "quant", "-i", "salmon_idx", "-l", "A", "-1", "r1.fq.gz", "-2",
                                     "r2.fq.gz", "-p", "1", "--dumpEq", "--dumpEqWeights", "--useEM", "-o",
                                     "salmon_em"],
            "salmon quant --useEM --initUniform": ["salmon", "quant", "-i", "salmon_idx", "-l", "A", "-1",
                                                   "r1.fq.gz", "-2", "r2.fq.gz", "-p", "1", "--dumpEq",
                                                   "--dumpEqWeights", "--useEM", "--initUniform", "-o",
                                                   "salmon_em_uniform"],
            "kallisto index": ["kallisto", "index", "-i", "kallisto.idx", "transcripts.fa"],
            "kallisto quant": ["kallisto", "quant", "-i", "kallisto.idx", "-o", "kallisto", "-t", "1",
                               "r1.fq.gz", "r2.fq.gz"],
            "kallisto pseudo": ["kallisto", "pseudo", "-i", "kallisto.idx", "-o", "kallisto_pseudo", "-t", "1",
                                "r1.fq.gz", "r2.fq.gz"],
        }
        seconds = {name: run(cmd, tmp) for name, cmd in commands.items()}
        store = {
            "salmon_em/aux_info/eq_classes.txt.gz": "salmon_em_eq_classes.txt.gz",
            "salmon_em/quant.sf": "salmon_em_quant.sf",
            "salmon_vbem/quant.sf": "salmon_vbem_quant.sf",
            "salmon_em_uniform/quant.sf": "salmon_em_uniform_quant.sf",
            "salmon_em_uniform/aux_info/eq_classes.txt.gz": "salmon_em_uniform_eq_classes.txt.gz",
            "kallisto/abundance.tsv": "kallisto_abundance.tsv",
            "kallisto_pseudo/pseudoalignments.ec": "kallisto_pseudoalignments.ec",
            "kallisto_pseudo/pseudoalignments.tsv": "kallisto_pseudoalignments.tsv",
        }
        for src, dst in store.items():
            found = tmp / src if (tmp / src).exists() else tmp / src.removesuffix(".gz")
            data = found.read_bytes()
            if not dst.endswith(".gz"):
                data, dst = gzip.compress(data, mtime=0), dst + ".gz"
            elif data[:2] != b"\x1f\x8b":
                data = gzip.compress(data, mtime=0)
            (HERE / dst).write_bytes(data)
        shutil.copy(tmp / "salmon_em" / "lib_format_counts.json", HERE / "salmon_em_lib_format_counts.json")
        optimizer = {d: _optimizer_seconds(tmp / d / "logs" / "salmon_quant.log")
                     for d in ("salmon_vbem", "salmon_em", "salmon_em_uniform")}
    truth = pd.DataFrame({"transcript": tx.transcripts, "gene": tx.genes, "length": tx.lengths,
                          "fraction": fraction, "fragments": counts})
    truth.to_csv(HERE / "truth.tsv.gz", sep="\t", index=False, compression={"method": "gzip", "mtime": 0})
    meta = {"versions": versions, "commands": {k: " ".join(v) for k, v in commands.items()},
            "wall_seconds": {k: round(v, 2) for k, v in seconds.items()},
            "salmon_optimizer_seconds": optimizer, "read_pairs": N_PAIRS, "seed": SEED,
            "fragment_length": [FRAG_MEAN, FRAG_SD], "read_length": READ_LEN, "error_rate": ERROR}
    (HERE / "runs.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(json.dumps(meta, indent=2))


if __name__ == "__main__":
    main()
