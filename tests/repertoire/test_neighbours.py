"""The pigeonhole index finds exactly the pairs an all-pairs comparison finds."""

import itertools

import numpy as np
import pytest

from latentlab.repertoire.neighbours import HammingIndex
from latentlab.repertoire.sequences import SequenceTable


def _random_table(rng, n=300):
    """Sequences of three lengths, many close to a few seeds, some with N."""
    seqs = set()
    for length in (5, 12, 30):
        seeds = rng.integers(0, 4, size=(4, length))
        for _ in range(n // 3):
            s = seeds[rng.integers(0, 4)].copy()
            k = rng.integers(0, 5)
            pos = rng.choice(length, size=min(k, length), replace=False)
            s[pos] = rng.integers(0, 5, size=pos.size)  # code 4 is N
            seqs.add("".join("ACGTN"[c] for c in s))
    seqs = sorted(seqs)
    return SequenceTable.from_sequences(seqs, rng.integers(1, 50, size=len(seqs)))


def _brute_force(table, d):
    out = {}
    for i, j in itertools.product(range(table.n_sequences), repeat=2):
        a, b = table.text[i], table.text[j]
        if len(a) == len(b) and sum(x != y for x, y in zip(a, b)) <= d:
            tab = np.zeros(16, dtype=int)
            for x, y in zip(a, b):
                if x != "N" and y != "N":
                    tab["ACGT".index(x) * 4 + "ACGT".index(y)] += 1
            out[(i, j)] = tab
    return out


@pytest.mark.parametrize("d", [0, 1, 3, 6])
def test_the_index_finds_every_pair_within_the_bound_once(d):
    table = _random_table(np.random.default_rng(d))
    queries = np.arange(0, table.n_sequences, 3)
    pi, pj, tabs = HammingIndex(table, d).pairs(queries)
    found = {(i, j): t for i, j, t in zip(pi.tolist(), pj.tolist(), tabs)}
    assert len(found) == pi.size  # no pair twice
    truth = {k: v for k, v in _brute_force(table, d).items() if k[0] in set(queries.tolist())}
    assert set(found) == set(truth)
    for key, tab in truth.items():
        np.testing.assert_array_equal(found[key], tab)


def test_sequences_shorter_than_the_bound_are_compared_with_each_other():
    table = SequenceTable.from_sequences(["AC", "AG", "TT", "ACG"], [3, 2, 1, 1])
    pi, pj, _ = HammingIndex(table, 3).pairs([0])
    assert sorted(pj.tolist()) == [0, 1, 2]


def test_targets_restrict_the_pairs_and_tables_can_be_left_out():
    table = _random_table(np.random.default_rng(11))
    index = HammingIndex(table, 2)
    queries, targets = np.arange(0, table.n_sequences, 2), np.arange(0, table.n_sequences, 5)
    pi, pj, tabs = index.pairs(queries)
    keep = np.isin(pj, targets)
    qi, qj, none = index.pairs(queries, targets=targets, tables=False)
    assert none.shape == (0, 16)
    assert sorted(zip(qi.tolist(), qj.tolist())) == sorted(zip(pi[keep].tolist(), pj[keep].tolist()))
