"""Our EM against salmon's own quantification step on the realistic
simulation (issue 18): salmon's equivalence classes of 1,000,000 read pairs
over 572 transcripts (``data/rnaseq_simulation``).

salmon's times are stored by ``tests/references/transcripts/make_references.py`` (salmon 1.10, one
thread): the whole ``salmon quant --useEM`` run (mapping and quantification)
and its optimizer step alone (from its log: "starting optimizer" to
"finished optimizer"). Ours: reading the classes and quant.sf, and the fit
(SQUAREM, the engine's rule at tol 1e-10), the fastest of ten runs after
one warm-up (a 50 ms step varies by 20% from run to run on a shared machine).

Run from the repository root: ``PYTHONPATH=. python benchmarks/transcripts_salmon.py``
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

from latentlab.transcripts import TranscriptQuantifier, read_salmon_eq_classes

REF = Path(__file__).resolve().parents[1] / "data" / "rnaseq_simulation"


def main() -> None:
    runs = json.loads((REF / "runs.json").read_text())
    read, fit = [], []
    warnings.simplefilter("ignore")
    for _ in range(11):  # the first warms the files and the kernels
        t0 = time.perf_counter()
        classes = read_salmon_eq_classes(REF / "salmon_em_eq_classes.txt.gz", REF / "salmon_em_quant.sf.gz")
        t1 = time.perf_counter()
        TranscriptQuantifier(progress=False).fit(classes)
        t2 = time.perf_counter()
        read.append(t1 - t0)
        fit.append(t2 - t1)
    read, fit = min(read[1:]), min(fit[1:])
    salmon_opt = runs["salmon_optimizer_seconds"]["salmon_em"]
    salmon_all = runs["wall_seconds"]["salmon quant --useEM"]
    print(f"{classes.n_transcripts} transcripts, {classes.n_classes} classes, {classes.n_fragments:,.0f} fragments")
    print(f"ours: read {read:.3f} s, fit {fit:.3f} s")
    print(f"{runs['versions']['salmon']}: optimizer step {salmon_opt:.3f} s, whole quant run {salmon_all:.1f} s")
    print(f"fit / salmon's optimizer step: {fit / salmon_opt:.2f}")


if __name__ == "__main__":
    main()
