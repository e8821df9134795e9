"""salmon's and kallisto's stopping rules, to reproduce their estimates on
their own equivalence classes (a validation of the model, not an estimator:
:class:`TranscriptQuantifier` stops by the engine's rule).

Both tools run plain EM from a flat start and stop once every transcript
with more than 0.01 estimated reads changed by less than 1% in the last
iteration (the rule of Bray et al. 2016), reporting estimates below 1e-8
reads as 0:

- salmon 1.10 (``CollapsedEMOptimizer::optimize``, EM mode; its call passes
  ``relDiffTolerance = 0.01`` and ``maxIter = 10000``): at least ``minIter =
  100`` iterations (50 in its bootstraps), ``alphaCheckCutoff = 1e-2``,
  estimates ``<= minAlpha = 1e-8`` set to 0; the start is uniform over all
  transcripts, as salmon's with ``--initUniform`` (its default start mixes
  its online estimates, which its output does not give, with a uniform one).
- kallisto 0.48 (``EMAlgorithm::run``): stops when no transcript above
  ``alpha_change_limit = 1e-2`` changed by more than ``alpha_change = 1e-2``
  and its round counter (from 0) is above ``min_rounds = 50``, i.e. after at
  least 52 rounds; then sets estimates below
  ``alpha_limit / 10 = 1e-8`` to 0 and runs one final round, whose output it
  reports; start ``1 / T``; the effective lengths are kept as given (kallisto
  recomputes them only with ``--bias``).
"""

from __future__ import annotations

import numpy as np

from .classes import EquivalenceClasses
from .model import TranscriptMixtureModel, TranscriptParams

__all__ = ["em_with_peer_rule"]

#: (minimum iterations, reads checked above, relative change, truncation) of each tool
RULES = {"salmon": (100, 1e-2, 1e-2, 1e-8), "kallisto": (50, 1e-2, 1e-2, 1e-8)}


def em_with_peer_rule(classes: EquivalenceClasses, tool: str, max_iter: int = 10_000) -> tuple[np.ndarray, int]:
    """Estimated reads per transcript by plain EM stopped by ``tool``'s rule
    (``"salmon"`` or ``"kallisto"``), and the number of iterations."""
    if tool not in RULES:
        raise ValueError(f"tool must be one of {sorted(RULES)}; got {tool!r}")
    min_iter, check_above, change, truncate = RULES[tool]
    model = TranscriptMixtureModel()
    data = model.data(classes)
    params = TranscriptParams(np.full(classes.n_transcripts, 1.0 / classes.n_transcripts))
    reads = classes.n_fragments * params.fractions
    for it in range(1, max_iter + 1):
        new_reads = model.e_step(data, params)[0].fragments
        checked = new_reads > check_above
        stable = np.all(np.abs(new_reads - reads)[checked] <= change * new_reads[checked])
        reads = new_reads
        params = TranscriptParams(reads / reads.sum())
        if stable and (it >= min_iter if tool == "salmon" else it > min_iter + 1):
            break
    if tool == "salmon":
        return np.where(reads <= truncate, 0.0, reads), it
    reads = np.where(reads < truncate, 0.0, reads)  # kallisto: truncate, then one final round
    return model.e_step(data, TranscriptParams(reads / reads.sum()))[0].fragments, it + 1
