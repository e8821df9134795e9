"""salmon's and kallisto's stopping rules, to reproduce their estimates on
their own equivalence classes (a validation of the model, not an estimator:
:class:`TranscriptQuantifier` stops by the engine's rule).

Both tools run plain EM from a flat start and stop after at least 50
iterations once every transcript with more than 0.01 estimated reads changed
by less than 1% in the last iteration (the rule of Bray et al. 2016), then
report estimates below 1e-8 reads as 0:

- salmon 1.10 (``CollapsedEMOptimizer::optimize``, EM mode): ``minIter =
  50``, ``alphaCheckCutoff = 1e-2``, relative difference tolerance 0.01,
  ``minAlpha = 1e-8``; the start is uniform over all transcripts, as salmon's
  with ``--initUniform`` (its default start mixes its online estimates,
  which its output does not give, with a uniform one).
- kallisto 0.48 (``EMAlgorithm::run``): ``min_rounds = 50``,
  ``alpha_change_limit = 1e-2``, ``alpha_change = 1e-2``, final estimates
  below ``alpha_limit / 10 = 1e-8`` set to 0; start ``1 / T``; the
  effective lengths are kept as given (kallisto recomputes them only with
  ``--bias``).
"""

from __future__ import annotations

import numpy as np

from .classes import EquivalenceClasses
from .model import TranscriptMixtureModel, TranscriptParams

__all__ = ["em_with_peer_rule"]

#: (min iterations, reads checked above, relative change, truncation) of each tool
RULES = {"salmon": (50, 1e-2, 1e-2, 1e-8), "kallisto": (50, 1e-2, 1e-2, 1e-8)}


def em_with_peer_rule(classes: EquivalenceClasses, tool: str, max_iter: int = 10_000) -> tuple[np.ndarray, int]:
    """Estimated reads per transcript by plain EM stopped by ``tool``'s rule
    (``"salmon"`` or ``"kallisto"``), and the number of iterations."""
    if tool not in RULES:
        raise ValueError(f"tool must be one of {sorted(RULES)}; got {tool!r}")
    min_iter, check_above, change, truncate = RULES[tool]
    model = TranscriptMixtureModel()
    data = model.data(classes)
    n = classes.n_fragments
    params = TranscriptParams(np.full(classes.n_transcripts, 1.0 / classes.n_transcripts))
    reads = n * params.fractions
    for it in range(1, max_iter + 1):
        stats, _ = model.e_step(data, params)
        new_reads = stats.fragments
        checked = new_reads > check_above
        done = it >= min_iter and np.all(np.abs(new_reads - reads)[checked] <= change * new_reads[checked])
        reads = new_reads
        params = TranscriptParams(reads / reads.sum())
        if done:
            break
    reads = np.where(reads < truncate if tool == "kallisto" else reads <= truncate, 0.0, reads)
    return reads, it
