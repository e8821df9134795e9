"""Make the stored alignment reference: salmon's own mappings of a subset of
the simulated reads, with salmon's equivalence classes of the same run.

The reads are those of ``make_references.py`` (same seed and code), of which
every 50th pair (20,000) is mapped by ``salmon quant --writeMappings`` (salmon
1.10, one thread, selective alignment to the transcriptome), with
``--dumpEq`` for salmon's classes of the same mappings. Stored in
``data/rnaseq_simulation``: the mappings as BAM (grouped by read name, as
salmon writes them), salmon's classes and quant.sf of that run, and
``alignment_run.json`` (command, version).

Run from the repository root: ``python tests/references/transcripts/make_alignment_reference.py``
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pysam

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_references import _ASCII, HERE, SEED, fragments, reads, transcriptome, write_fastq  # noqa: E402

STRIDE = 50  # every 50th pair of the 1,000,000: 20,000 pairs over all transcripts


def main() -> None:
    rng = np.random.default_rng(SEED)
    tx, seqs = transcriptome(rng)
    level = np.exp(rng.normal(0.0, 2.0, len(seqs))) * (rng.random(len(seqs)) >= 0.25)
    tx_of, start, flen, _ = fragments(rng, seqs, level / level.sum())
    r1, r2 = reads(rng, seqs, tx_of, start, flen)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        with open(tmp / "transcripts.fa", "w") as fa:
            for name, s in zip(tx.transcripts, seqs):
                fa.write(f">{name}\n{_ASCII[s].tobytes().decode()}\n")
        write_fastq(tmp / "r1.fq.gz", r1[::STRIDE], 1)
        write_fastq(tmp / "r2.fq.gz", r2[::STRIDE], 2)
        subprocess.run(["salmon", "index", "-t", "transcripts.fa", "-i", "idx", "-k", "31", "-p", "1"], cwd=tmp,
                       check=True, capture_output=True)
        command = ["salmon", "quant", "-i", "idx", "-l", "A", "-1", "r1.fq.gz", "-2", "r2.fq.gz", "-p", "1",
                   "--dumpEq", "--writeMappings=mappings.sam", "-o", "out"]
        subprocess.run(command, cwd=tmp, check=True, capture_output=True)
        with pysam.AlignmentFile(str(tmp / "mappings.sam"), "r") as sam, \
                pysam.AlignmentFile(str(HERE / "salmon_subset_mappings.bam"), "wb", template=sam) as bam:
            for a in sam.fetch(until_eof=True):
                bam.write(a)
        eq = tmp / "out" / "aux_info" / "eq_classes.txt.gz"
        data = eq.read_bytes() if eq.exists() else gzip.compress((tmp / "out" / "aux_info" / "eq_classes.txt").read_bytes())
        (HERE / "salmon_subset_eq_classes.txt.gz").write_bytes(data)
        (HERE / "salmon_subset_quant.sf.gz").write_bytes(gzip.compress((tmp / "out" / "quant.sf").read_bytes(), mtime=0))
        version = subprocess.run(["salmon", "--version"], capture_output=True, text=True).stdout.strip()
    meta = {"version": version, "command": " ".join(command), "read_pairs": int(r1[::STRIDE].shape[0])}
    (HERE / "alignment_run.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(json.dumps(meta, indent=2))


if __name__ == "__main__":
    main()
