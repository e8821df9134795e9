"""Transcript quantification at the scale of a transcriptome (issue 18):
200,000 transcripts and 1,000,000 equivalence classes quantified in under
20 s on one core, and SQUAREM against plain EM at the same tolerance.

The classes are simulated directly (no reads): 40,000 genes of 1 to 9
isoforms (200,000 transcripts, effective lengths 200 to 3,000), each gene's
classes random subsets of its isoforms (1,000,000 classes, 1 to 5
transcripts each), fractions log-normal with a quarter of the transcripts
unexpressed, 30 million fragments shared among the classes in proportion to
``sum_t a_t / l_t``. Printed: seconds and E-steps for SQUAREM (the default)
and for plain EM, both by the engine's rule at the quantifier's default tol
(1e-10), their ratio, and the log-likelihoods; then how far the default fit's
estimates are from a fit at tol 1e-13, in standard errors.
The comparison with salmon's own quantification step on the realistic
simulation is in ``benchmarks/transcripts_salmon.py``.

Run from the repository root: ``PYTHONPATH=. python benchmarks/transcripts.py``
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from latentlab.transcripts import EquivalenceClasses, TranscriptQuantifier

N_GENES, N_TX, N_CLASSES, N_FRAGMENTS = 40_000, 200_000, 1_000_000, 30_000_000


def simulate(seed: int = 0) -> EquivalenceClasses:
    rng = np.random.default_rng(seed)
    sizes = rng.multinomial(N_TX - N_GENES, np.full(N_GENES, 1 / N_GENES)) + 1  # isoforms per gene, >= 1
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    gene = rng.choice(N_GENES, size=N_CLASSES, p=sizes / sizes.sum())
    k = np.minimum(rng.integers(1, 6, N_CLASSES), sizes[gene])
    ptr = np.concatenate([[0], np.cumsum(k)])
    # k distinct isoforms of the gene: a random start and stride modulo the gene size
    offset = np.repeat(rng.integers(0, sizes[gene]), k)
    step = np.arange(ptr[-1]) - np.repeat(ptr[:-1], k)
    members = np.repeat(first[gene], k) + (offset + step) % np.repeat(sizes[gene], k)
    eff = rng.uniform(200, 3000, N_TX)
    a = np.exp(rng.normal(0, 2, N_TX)) * (rng.random(N_TX) >= 0.25)
    rate = np.bincount(np.repeat(np.arange(N_CLASSES), k), weights=(a / eff)[members], minlength=N_CLASSES)
    counts = rng.multinomial(N_FRAGMENTS, rate / rate.sum()).astype(float)
    names = np.array([f"T{i}" for i in range(N_TX)], dtype=object)
    return EquivalenceClasses(names, eff, ptr.astype(np.int64), members.astype(np.int64), np.ones(members.size), counts)


def main() -> None:
    classes = simulate()
    print(f"{classes.n_transcripts:,} transcripts, {classes.n_classes:,} classes, "
          f"{classes.members.size:,} class members, {classes.n_fragments:,.0f} fragments")
    TranscriptQuantifier().fit(simulate_small())  # compile the kernels
    rows = {}
    for label, accelerate in (("SQUAREM", "squarem"), ("plain EM", None)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            fit = TranscriptQuantifier(accelerate=accelerate, max_iter=100_000, progress=False).fit(classes)
            seconds = time.perf_counter() - start
        rows[label] = (seconds, fit.result_.n_evals, fit.loglik_, fit.converged_)
        print(f"{label:9s}: {seconds:6.1f} s, {fit.result_.n_evals:5d} E-steps, log-likelihood {fit.loglik_:.6f}, "
              f"converged {fit.converged_}")
    print(f"plain EM needs {rows['plain EM'][1] / rows['SQUAREM'][1]:.1f}x the E-steps of SQUAREM "
          f"({rows['plain EM'][0] / rows['SQUAREM'][0]:.1f}x the time)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        default = TranscriptQuantifier(progress=False).fit(classes)
        tight = TranscriptQuantifier(tol=1e-13, progress=False).fit(classes)
    se = tight.standard_errors()["NumReads"].to_numpy()
    ok = np.isfinite(se) & (se > 0)
    gap = np.abs(default.reads_ - tight.reads_)[ok] / se[ok]
    print(f"default fit against tol 1e-13 (log-likelihood {tight.loglik_:.6f}): |difference| / SE "
          f"median {np.median(gap):.2g}, 99.9% {np.quantile(gap, 0.999):.2g}, max {gap.max():.2g}")


def simulate_small() -> EquivalenceClasses:
    return EquivalenceClasses.from_lists(["A", "B"], [100.0, 200.0], [["A"], ["A", "B"]], [5, 5])


if __name__ == "__main__":
    main()
