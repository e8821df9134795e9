"""95% intervals over 200 simulated replicates of the class counts (issue 18):
transcripts with at least 50 true reads are covered in [0.92, 0.98]."""

import warnings

import numpy as np

from latentlab.transcripts import TranscriptQuantifier, simulate_equivalence_classes


def test_intervals_cover_the_true_reads_over_200_replicates():
    sim = simulate_equivalence_classes(n_genes=50, n_fragments=200_000, random_state=0)
    hits = []
    for r in range(200):
        classes = sim.replicate(random_state=r)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            q = TranscriptQuantifier(random_state=0).fit(classes).quant_
        true = sim.truth["fraction"].to_numpy() * classes.n_fragments
        m = true >= 50
        # a transcript estimated at 0 has no interval: it counts as not covered
        hits.append(((q["NumReads_lower"] <= true) & (true <= q["NumReads_upper"])).to_numpy()[m])
    hits = np.concatenate(hits)
    # about 18,000 intervals: coverage known to +-0.002; the band is [0.92, 0.98]
    assert 0.92 <= hits.mean() <= 0.98, hits.mean()
