"""The memory budget of the phasing estimators (``max_memory`` of
:class:`~latentlab.genetics.HaplotypeEM` and
:class:`~latentlab.genetics.WindowedHaplotypeEM`): estimates of the bytes a
fit holds, checked as it grows, and the error that stops it."""

from __future__ import annotations

from .._validation import check_positive
from ..exceptions import MemoryBudgetError

__all__ = ["MAX_MEMORY", "MemoryBudget", "check_max_memory"]

#: default ``max_memory`` of the phasing estimators: 2 GiB (2 * 1024**3 bytes)
MAX_MEMORY = 2 * 1024**3
#: bytes per candidate pair while an insertion lists them (measured 123-130:
#: the listing's index arrays, the merge's sort keys and order)
LIST_BYTES = 136
#: bytes per candidate pair and per candidate haplotype while the EM runs and
#: trims (measured peaks about 43 per pair plus 124 per haplotype, at most 1.6
#: times that: posteriors, counts, SQUAREM's vectors, the trimming's sort)
PAIR_BYTES, HAPLOTYPE_BYTES = 64, 192


class MemoryBudget:
    """A phasing fit's estimate of the memory it allocates, checked against
    ``max_memory`` as the fit goes (:meth:`check`); ``peak`` is the largest
    estimate made.

    The estimate counts what dominates (measured on 2,000 individuals):
    ``fixed`` bytes held throughout (the coded genotypes, ``n L 2`` bytes of
    ``int8``), the candidate haplotypes' codes (one byte per haplotype and
    locus for SNPs), and the working memory of listing the candidate pairs
    and running EM over them (``LIST_BYTES``, ``PAIR_BYTES``,
    ``HAPLOTYPE_BYTES``). Not counted: the interpreter, the caller's input
    and the few arrays per locus.
    """

    #: why the estimator's memory grows, for the error message
    reasons = {
        "HaplotypeEM": "Every candidate haplotype over the whole region is a parameter of its own, and over a long "
                       "region with recombination their number grows with the loci.",
        "WindowedHaplotypeEM": "The chain holds every move between an individual's candidate pairs in adjacent "
                               "windows, and the windows' candidates multiply where the phase is uncertain.",
    }

    def __init__(self, limit, estimator: str, n_loci: int, itemsize: int, fixed: int):
        self.limit, self.estimator = limit, estimator
        self.n_loci, self.itemsize, self.fixed = n_loci, itemsize, fixed
        self.peak = fixed

    @staticmethod
    def working(listed: int = 0, pairs: int = 0, haplotypes: int = 0) -> int:
        """Bytes of listing ``listed`` pairs, or of EM over ``pairs`` pairs of ``haplotypes``."""
        return max(LIST_BYTES * listed, PAIR_BYTES * pairs + HAPLOTYPE_BYTES * haplotypes)

    def table(self, haplotypes: int, loci: int) -> int:
        """Bytes of the codes of ``haplotypes`` candidates over ``loci`` loci."""
        return self.itemsize * haplotypes * loci

    def check(self, estimate: int, where: str) -> None:
        """Raise :class:`~latentlab.exceptions.MemoryBudgetError` when
        ``fixed + estimate`` bytes exceed the budget; ``where`` says what was estimated."""
        total = self.fixed + int(estimate)
        self.peak = max(self.peak, total)
        if self.limit is not None and total > self.limit:
            raise MemoryBudgetError(
                f"{self.estimator}: {where}, the fit would need about {_bytes(total)} ({total:,} bytes), more than "
                f"max_memory = {_bytes(self.limit)} ({int(self.limit):,} bytes). "
                f"{self.reasons.get(self.estimator, '')} For chromosome-scale data use "
                "latentlab.genetics.HaplotypeCopyingEM (the Li & Stephens copying model, no candidate haplotypes: "
                "its memory grows as n x L) or HaplotypeClusterEM (fastPHASE's haplotype-cluster model: the data, "
                "n x L x 3 doubles, plus 8 L K^2 bytes); or fit fewer loci, or raise max_memory"
            )


def _bytes(x) -> str:
    """A byte count for people: ``1.42 GiB``, ``310 MiB``, ``12.5 KiB``."""
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if x >= size:
            return f"{x / size:.3g} {unit}"
    return f"{int(x)} bytes"


def check_max_memory(value):
    """``max_memory``: a positive number of bytes, or None (no budget)."""
    return None if value is None else check_positive(value, "max_memory")
