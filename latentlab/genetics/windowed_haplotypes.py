"""Phase over long regions: :class:`WindowedHaplotypeEM`, haplotypes as a
Markov chain of window haplotypes (:mod:`latentlab.genetics.window_chain`).

Why a second estimator. :class:`~latentlab.genetics.HaplotypeEM` gives every
full-length haplotype its own frequency. Over a long region with recombination
most full-length chromosomes are seen once or twice, a frequency model gives
such a chromosome about ``1 / 2N`` whichever phase it takes, and the phase of
the individuals carrying one is left to chance even inside an LD block. The
chain shares strength along the region instead: a window haplotype's
frequency is estimated from every chromosome that carries it, and the link
between neighbouring windows from every chromosome that crosses the boundary.

Fitting: each window is phased alone by progressive insertion
(:func:`~latentlab.genetics.haplotypes.progressive_fit`) and its improbable
pairs are trimmed; then the chain's transitions are estimated by EM over the
surviving pairs, starting from linkage equilibrium between windows (each
window's frequencies, fitted alone); the most likely phase is the Viterbi path.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .._validation import check_positive_int
from .._warn import user_stacklevel
from ..em.settings import engine_defaults
from .haplotypes import PhasingEstimator, progressive_fit
from .memory_budget import MAX_MEMORY, MemoryBudget
from .window_chain import WindowChainModel, build_chain, chain_size

__all__ = ["WindowedHaplotypeEM"]

#: engine settings: the engine's defaults with max_iter=5000, accelerate="squarem" (EM over many haplotypes crawls near boundaries: SQUAREM by default)
_ENGINE = engine_defaults(max_iter=5000, accelerate="squarem")

#: bytes the chain stores per move (source, target, two transitions, individual) and per ordered
#: state (individual, two haplotypes, and the forward variable the E-step keeps)
MOVE_BYTES, STATE_BYTES = 40, 32
#: bytes per move across the widest boundary, built and swept at once (sort keys, E-step temporaries)
WIDEST_BYTES = 96


class WindowedHaplotypeEM(PhasingEstimator):
    """Haplotypes as a first-order Markov chain over windows of ``window``
    consecutive loci (model and E-/M-steps in
    :mod:`latentlab.genetics.window_chain`).

    Use it to phase regions longer than an LD block; within one window it is
    :class:`~latentlab.genetics.HaplotypeEM`'s model (one window: the same
    likelihood).

    Parameters
    ----------
    window : loci per window (default 8). Windows need not match LD blocks;
        a window should usually hold a few heterozygous sites, because an
        individual homozygous over a whole window carries no phase information
        across it.
    batch_size, max_pairs, missing_values : as for
        :class:`~latentlab.genetics.HaplotypeEM`, for the fit of each window.
    min_posterior : a window's pairs with posterior below this, in the window's
        own fit, are trimmed before the chain is fitted (default 1e-3).
    stage_tol : convergence tolerance of the windows' own fits (the larger of
        it and ``tol``; they share ``max_iter``).
    max_memory : the memory budget of ``fit`` in bytes (default 2 GiB =
        2 * 1024**3; None: no budget), as for
        :class:`~latentlab.genetics.HaplotypeEM`: checked in each window's
        fit, and before the chain is built on its estimated size (40 bytes per
        move between the ordered pairs of two adjacent windows, 32 per ordered
        pair); a :class:`~latentlab.exceptions.MemoryBudgetError` names the
        estimate, the budget and the models for chromosome-scale data
        (:class:`~latentlab.genetics.HaplotypeCopyingEM`,
        :class:`~latentlab.genetics.HaplotypeClusterEM`).
    tol, max_iter, n_init, accelerate, random_state, progress : passed to
        :func:`latentlab.em.fit_em` for the chain (restarts draw random
        transitions; the first starts from linkage equilibrium between windows).

    Attributes (after ``fit``)
    --------------------------
    windows_ : list of ``(start, stop)`` locus ranges.
    window_haplotypes_ : DataFrame, one row per candidate haplotype of each
        window: ``window``, ``haplotype`` (allele labels joined) and its
        ``frequency`` (the chain's marginal in that window).
    transitions_ : DataFrame of the chain: ``window``, ``from`` (the haplotype
        in the window before; ``"start"`` for the first window), ``to``,
        ``probability``.
    all_missing_, genotypes_, memory_ : as for :class:`~latentlab.genetics.HaplotypeEM`.
    loglik_ : log-likelihood of the chain over the surviving window pairs.
    """

    def __init__(self, *, window: int = 8, batch_size: int = 6, min_posterior: float = 1e-3, max_pairs: int = 30,
                 missing_values=(-1,), stage_tol: float = 1e-6, max_memory: float | None = MAX_MEMORY, tol: float = _ENGINE["tol"], max_iter: int = _ENGINE["max_iter"],
                 n_init: int = _ENGINE["n_init"], accelerate: str | None = _ENGINE["accelerate"], random_state=None, progress: bool | None = _ENGINE["progress"]):
        self.window = window
        self._set_candidate_settings(batch_size=batch_size, min_posterior=min_posterior, max_pairs=max_pairs,
                                     missing_values=missing_values, stage_tol=stage_tol, max_memory=max_memory)
        self._set_engine_settings(
            tol=tol, max_iter=max_iter, n_init=n_init,
            accelerate=accelerate, random_state=random_state, progress=progress,
        )

    # -- fitting ----------------------------------------------------------------------
    def fit(self, G, loci=None) -> WindowedHaplotypeEM:
        """Fit to genotypes ``G`` (see :func:`latentlab.genetics.allele_coding.encode_genotypes`)."""
        size = check_positive_int(self.window, "window")
        settings = self._prepare(G, loci)
        budget = settings.pop("budget")
        coded = self.genotypes_
        codes = self._used_codes()
        L = codes.shape[1]
        self.windows_, self._window_codes, frequencies, pairs = [], [], [], []
        held = 0  # bytes of the windows' candidates kept for the chain
        for start in range(0, L, size):
            stop = min(start + size, L)
            window = MemoryBudget(budget.limit, budget.estimator, stop - start, budget.itemsize, budget.fixed + held)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                cands, freqs, _, _ = progressive_fit(codes[:, start:stop], coded.n_alleles[start:stop], **settings,
                                                     final_fit=settings["stage_fit"], trim_last=True, budget=window)
            for w in caught:  # name the window
                warnings.warn(f"window of loci {start}-{stop - 1}: {w.message}", w.category,
                              stacklevel=user_stacklevel())
            budget.peak = max(budget.peak, window.peak)
            self.windows_.append((start, stop))
            self._window_codes.append(cands.haplotypes)
            frequencies.append(freqs / freqs.sum())
            pairs.append(cands.pairs)
            held += 3 * 8 * cands.pairs.n_pairs + 8 * freqs.size + self._window_codes[-1].nbytes
        states, moves, widest = chain_size(pairs)
        n_windows = len(pairs)
        budget.check(held + MOVE_BYTES * moves + STATE_BYTES * states + WIDEST_BYTES * widest
                     + 16 * codes.shape[0] * n_windows,
                     f"building the chain over {n_windows:,} windows ({states:,} ordered pairs, {moves:,} moves "
                     "between the pairs of adjacent windows)")
        chain = build_chain(pairs)
        model = WindowChainModel(chain)
        self._fit_em(model, chain, n_obs=chain.n_individuals, init_params=model.from_frequencies(frequencies))
        return self

    # -- labels -------------------------------------------------------------------------
    def _window_strings(self, w: int) -> np.ndarray:
        """Window ``w``'s candidate haplotypes as strings of allele labels."""
        return np.array(self.genotypes_.haplotype_strings(self._window_codes[w], self.windows_[w][0]), dtype=object)

    # -- results ------------------------------------------------------------------------
    @property
    def window_haplotypes_(self) -> pd.DataFrame:
        self._check_fitted()
        marginals = self.model_.window_frequencies(self.result_.params)
        return pd.DataFrame({
            "window": np.concatenate([np.full(m.size, w) for w, m in enumerate(marginals)]),
            "haplotype": np.concatenate([self._window_strings(w) for w in range(len(marginals))]),
            "frequency": np.concatenate(marginals),
        })

    @property
    def transitions_(self) -> pd.DataFrame:
        self._check_fitted()
        chain = self._data
        names = [self._window_strings(w) for w in range(chain.n_windows)]
        source = [("start" if a < 0 else names[w - 1][a]) for w, a in zip(chain.edge_window, chain.edge_from)]
        return pd.DataFrame({
            "window": chain.edge_window,
            "from": source,
            "to": [names[w][b] for w, b in zip(chain.edge_window, chain.edge_to)],
            "probability": self.result_.params.transitions,
        })

    def _no_standard_errors(self, *args, **kwargs):
        raise NotImplementedError(
            "WindowedHaplotypeEM has one parameter per transition between window haplotypes and no standard "
            "errors; for haplotype frequencies with standard errors fit HaplotypeEM to the loci of interest"
        )

    summary = _no_standard_errors
    covariance_ = property(_no_standard_errors)

    def most_likely_haplotypes(self) -> np.ndarray:
        """(individuals, 2, loci) allele labels of each individual's most probable
        ordered pair of full haplotypes under the chain (the Viterbi path; None
        for individuals with no typed allele)."""
        self._check_fitted()
        chain = self._data
        path = self.model_.viterbi(chain, self.result_.params)
        n, L = self.genotypes_.codes.shape[:2]
        codes = np.full((n, 2, L), -1, dtype=np.int64)
        for w, ((start, stop), state) in enumerate(zip(self.windows_, path)):
            ind, x, y = chain.states[w]
            rows = self._used[ind[state]]
            codes[rows, 0, start:stop] = self._window_codes[w][x[state]]
            codes[rows, 1, start:stop] = self._window_codes[w][y[state]]
        return self.genotypes_.haplotype_labels(codes)

    def phase_posteriors(self) -> pd.DataFrame:
        """Every candidate pair of every individual in every window, with its
        posterior probability under the chain (the two orders of a pair summed).

        Columns: ``individual`` (row of the input), ``window``, ``haplotype_1``,
        ``haplotype_2``, ``posterior`` (summing to one per individual and
        window), ``most_likely`` (True for the pair on the Viterbi path).
        """
        self._check_fitted()
        chain = self._data
        posts = self.model_.state_posteriors(chain, self.result_.params)
        path = self.model_.viterbi(chain, self.result_.params)
        frames = []
        for w, (post, state) in enumerate(zip(posts, path)):
            ind, x, y = chain.states[w]
            lo, hi = np.minimum(x, y), np.maximum(x, y)
            keys, inverse = np.unique(np.column_stack([ind, lo, hi]), axis=0, return_inverse=True)
            inverse = inverse.ravel()
            flag = np.zeros(keys.shape[0], dtype=bool)
            flag[inverse[state]] = True
            names = self._window_strings(w)
            frames.append(pd.DataFrame({
                "individual": self._used[keys[:, 0]], "window": w, "haplotype_1": names[keys[:, 1]],
                "haplotype_2": names[keys[:, 2]], "posterior": np.bincount(inverse, post, minlength=keys.shape[0]),
                "most_likely": flag}))
        return pd.concat(frames, ignore_index=True).sort_values(["individual", "window"], kind="stable",
                                                                ignore_index=True)

    def frequency(self, haplotypes) -> np.ndarray:
        """Probability of each full-length haplotype under the fitted chain.

        ``haplotypes`` is (m, loci) allele labels; a haplotype whose segment in
        some window is not among that window's candidates has probability 0.
        """
        self._check_fitted()
        h = np.asarray(haplotypes, dtype=object)
        L = self.genotypes_.codes.shape[1]
        if h.ndim != 2 or h.shape[1] != L:
            raise ValueError(f"haplotypes must be an (m, {L}) array of allele labels; got shape {h.shape}")
        codes = np.column_stack([_codes_of(self.genotypes_.alleles[j], h[:, j]) for j in range(L)])
        rows = [_rows_of(self._window_codes[w], codes[:, start:stop]) for w, (start, stop) in enumerate(self.windows_)]
        return self.model_.path_probability(self.result_.params, np.column_stack(rows))


def _codes_of(alleles: tuple, labels: np.ndarray) -> np.ndarray:
    """Allele codes of ``labels`` at one locus (-1 for a label not observed there)."""
    index = {a: k for k, a in enumerate(alleles)}
    return np.array([index.get(x, -1) for x in labels], dtype=np.int64)


def _rows_of(table: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """Row of ``table`` equal to each row of ``segments`` (-1 where none)."""
    index = {tuple(row): k for k, row in enumerate(table.tolist())}
    return np.array([index.get(tuple(s), -1) for s in segments.tolist()], dtype=np.int64)
