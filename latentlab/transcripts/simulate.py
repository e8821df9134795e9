"""A transcriptome with shared exons and paralogs, and equivalence classes of
fragments drawn from it with a known truth (no external tool needed)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from .._validation import check_fraction, check_positive_int
from ..em import as_generator
from .classes import EquivalenceClasses
from .lengths import effective_lengths, normal_fragment_lengths

__all__ = ["simulate_equivalence_classes", "SimulatedClasses", "Transcriptome", "simulate_transcriptome"]


@dataclass(frozen=True)
class Transcriptome:
    """Transcripts as chains of exons: ``exons[t]`` the exon ids of
    transcript ``t`` in order, ``exon_lengths[e]`` the length of exon ``e``;
    exons shared by isoforms of a gene, and by paralogous genes, have the
    same id (the same sequence)."""

    transcripts: np.ndarray  # (T,) names
    genes: np.ndarray  # (T,) gene of each transcript
    exons: list  # T lists of exon ids
    exon_lengths: np.ndarray

    @property
    def lengths(self) -> np.ndarray:
        return np.array([self.exon_lengths[e].sum() for e in self.exons], dtype=float)

    def tx2gene(self) -> pd.DataFrame:
        return pd.DataFrame({"transcript": self.transcripts, "gene": self.genes})


@dataclass(frozen=True)
class SimulatedClasses:
    """``classes``: the equivalence classes with their counts and effective
    lengths; ``truth``: per transcript its gene, length, effective length,
    fragment fraction and fragments drawn; ``class_probabilities``: the
    (classes x transcripts) matrix of ``P(class | transcript)``, from which
    further replicates of the counts can be drawn (:meth:`replicate`)."""

    classes: EquivalenceClasses
    truth: pd.DataFrame
    class_probabilities: sparse.csc_matrix
    transcriptome: Transcriptome

    def replicate(self, random_state=None) -> EquivalenceClasses:
        """The same classes with counts drawn anew from the true fractions:
        ``Multinomial(N, p)``, ``p_j = sum_t a_t P(j | t)``."""
        rng = as_generator(random_state)
        p = self.class_probabilities @ self.truth["fraction"].to_numpy()
        counts = rng.multinomial(int(self.classes.n_fragments), p / p.sum())
        return self.classes.with_counts(counts)


def simulate_transcriptome(n_genes: int = 50, *, max_isoforms: int = 5, paralog_fraction: float = 0.1,
                           min_length: int = 400, random_state=None) -> Transcriptome:
    """Genes of 3 to 10 exons (50 to 400 nt each) with 1 to ``max_isoforms``
    distinct isoforms (ordered subsets of at least two exons, at least
    ``min_length`` long); a ``paralog_fraction`` of the genes reuse another
    gene's exons (paralogs: identical sequence shared across genes)."""
    n_genes = check_positive_int(n_genes, "n_genes")
    max_isoforms = check_positive_int(max_isoforms, "max_isoforms")
    check_fraction(paralog_fraction, "paralog_fraction")
    rng = as_generator(random_state)
    exon_lengths, gene_exons = [], []
    for g in range(n_genes):
        if g > 0 and rng.random() < paralog_fraction:
            gene_exons.append(gene_exons[int(rng.integers(0, g))])
            continue
        k = int(rng.integers(3, 11))
        gene_exons.append(np.arange(len(exon_lengths), len(exon_lengths) + k))
        exon_lengths.extend(rng.integers(50, 401, size=k).tolist())
    exon_lengths = np.asarray(exon_lengths, dtype=np.int64)
    names, genes, chains, seen = [], [], [], set()
    for g, pool in enumerate(gene_exons):
        gene = f"G{g + 1:04d}"
        n_iso = 0
        for _ in range(int(rng.integers(1, max_isoforms + 1))):
            for _attempt in range(20):
                keep = np.sort(rng.choice(pool.size, size=int(rng.integers(2, pool.size + 1)), replace=False))
                chain = tuple(pool[keep].tolist())
                if chain not in seen and exon_lengths[list(chain)].sum() >= min_length:
                    seen.add(chain)
                    n_iso += 1
                    names.append(f"{gene}.T{n_iso}")
                    genes.append(gene)
                    chains.append(np.asarray(chain))
                    break
    if not chains:
        raise ValueError("no isoform reached min_length; lower min_length")
    return Transcriptome(np.asarray(names, dtype=object), np.asarray(genes, dtype=object), chains, exon_lengths)


def _class_probabilities(tx: Transcriptome, f: np.ndarray, pf: np.ndarray):
    """Exact ``P(class | transcript)`` over start positions and fragment
    lengths, the classes (sets of transcripts), and effective lengths
    (:mod:`latentlab.transcripts.lengths`)."""
    chains_of = {}
    for u, chain in enumerate(tx.exons):
        for i in range(len(chain)):
            for k in range(i, len(chain)):
                chains_of.setdefault(tuple(chain[i:k + 1].tolist()), set()).add(u)
    class_id, rows, cols, vals = {}, [], [], []
    for t, chain in enumerate(tx.exons):
        bounds = np.cumsum(tx.exon_lengths[chain])
        length = bounds[-1]
        exon_at = np.searchsorted(bounds, np.arange(length), side="right")
        ok = f <= length
        m = len(chain)
        weight = np.zeros(m * m)
        for fl, p in zip(f[ok], pf[ok]):
            key = exon_at[:length - fl + 1] * m + exon_at[fl - 1:]
            weight += p * np.bincount(key, minlength=m * m)
        total = weight.sum()
        for key in np.flatnonzero(weight):
            first, last = divmod(int(key), m)
            members = frozenset(chains_of[tuple(chain[first:last + 1].tolist())])
            j = class_id.setdefault(members, len(class_id))
            rows.append(j)
            cols.append(t)
            vals.append(weight[key] / total)
    P = sparse.csc_matrix((vals, (rows, cols)), shape=(len(class_id), len(tx.exons)))
    return P, [sorted(m) for m in class_id], effective_lengths(tx.lengths, f, pf)


def simulate_equivalence_classes(n_genes: int = 50, n_fragments: int = 200_000, *, transcriptome=None,
                                 fragment_mean: float = 250.0, fragment_sd: float = 25.0, sigma: float = 2.0,
                                 paralog_fraction: float = 0.1, random_state=None) -> SimulatedClasses:
    """Equivalence classes of ``n_fragments`` fragments with a known truth.

    Transcript fractions are proportional to log-normal draws (``sigma`` on
    the log scale) and a quarter of the transcripts are not expressed;
    fragment lengths are normal (``fragment_mean``, ``fragment_sd``) and start
    uniformly along the transcript; a fragment is compatible with every
    transcript holding the same chain of exons (shared exons between
    isoforms, and between paralogs). The classes carry unit weights and the
    effective lengths ``l_t = sum_f p(f | f <= L_t) (L_t - f + 1)``.
    """
    n_fragments = check_positive_int(n_fragments, "n_fragments")
    rng = as_generator(random_state)
    tx = transcriptome if transcriptome is not None else simulate_transcriptome(
        n_genes, paralog_fraction=paralog_fraction, random_state=rng)
    f, pf = normal_fragment_lengths(fragment_mean, fragment_sd)
    P, members, eff = _class_probabilities(tx, f, pf)
    n_tx = len(tx.exons)
    level = np.exp(rng.normal(0.0, sigma, n_tx)) * (rng.random(n_tx) >= 0.25)
    if level.sum() == 0:
        level[0] = 1.0
    fraction = level / level.sum()
    fragments = rng.multinomial(n_fragments, fraction)
    counts = np.zeros(P.shape[0])
    for t in np.flatnonzero(fragments):
        col = P[:, t]
        counts[col.indices] += rng.multinomial(fragments[t], col.data / col.data.sum())
    classes = EquivalenceClasses.from_lists(tx.transcripts, eff, members, counts, lengths=tx.lengths)
    truth = pd.DataFrame({"transcript": tx.transcripts, "gene": tx.genes, "length": tx.lengths,
                          "effective_length": eff, "fraction": fraction, "fragments": fragments})
    return SimulatedClasses(classes, truth, P, tx)
