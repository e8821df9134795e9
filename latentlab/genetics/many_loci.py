"""Allele frequencies of many loci at once, from a genotype array
``(variants, samples, 2)`` with ``-1`` for a missing allele (scikit-allel's
convention).

How it runs
-----------
Each locus is the model of :mod:`latentlab.genetics.allele_model` on its
counts of the ``G + K`` allele-pair patterns
(:mod:`latentlab.genetics.genotypes`). The model's E- and M-steps take a
leading batch axis, so one E-step or M-step call updates every locus still
running: an iteration costs a few array operations on ``(loci, G + K)`` arrays,
whatever the number of samples.

The loop is the plain EM scheme of :func:`latentlab.em.fit_em`, applied per
locus with the engine's own functions:

* each locus starts from ``model.initialize`` (the same start the estimator
  uses), drawn from ``random_state``;
* a locus stops by the engine's rule (:func:`latentlab.em.has_converged`
  with the rate :func:`latentlab.em.em_rate` estimated from its own last two EM
  steps) and is then frozen while the others go on; ``n_iter`` counts its EM
  steps exactly as ``fit_em`` would;
* the monotonicity guard (:func:`latentlab.em.lowered` with the model's
  ``monotone_rtol``) raises :class:`latentlab.MonotonicityError` naming the
  locus, and a non-finite log-likelihood raises :class:`latentlab.NumericalError`;
* loci still running at ``max_iter`` are reported with
  ``converged = False`` and one :class:`latentlab.ConvergenceWarning`.

So a locus gets the same estimate, log-likelihood and iteration count as
``AlleleFrequencies(...).fit`` on its allele pairs from the same start (a test
checks this).

Standard errors (Hardy-Weinberg fits): with allele pairs the observed
log-likelihood is ``sum_a c_a log p_a`` (``c_a`` the typed copies of allele
``a``; a half genotype ``a/?`` contributes one copy), so the inverse observed
information at the MLE is ``(diag(p) - p p') / C`` with ``C = sum_a c_a``: the
standard error of ``p_a`` is ``sqrt(p_a (1 - p_a) / C)``.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd

from .._warn import user_stacklevel
from ..em import as_generator, em_rate, has_converged, lowered
from ..em.partitions import active_client, is_dask_collection
from ..exceptions import ConvergenceWarning, MonotonicityError, NumericalError
from .allele_model import AlleleFrequencyModel, LocusData
from .genotypes import homozygote_index, n_genotypes, pattern_counts, pattern_likelihoods
from .hardy_weinberg import hwe_exact_test
from .observations import scale_likelihoods

__all__ = ["allele_frequencies_by_locus", "allele_frequencies_from_likelihoods"]


def _check_genotype_array(genotypes, n_alleles):
    g = np.asarray(genotypes)
    if g.ndim != 3 or g.shape[2] != 2:
        raise ValueError(f"genotypes must have shape (variants, samples, 2); got {g.shape}")
    if g.size == 0:
        raise ValueError(f"genotypes is empty (shape {g.shape})")
    if not np.issubdtype(g.dtype, np.integer):
        raise TypeError(f"genotypes must hold integer allele indices (-1 missing); got dtype {g.dtype}")
    if (g < -1).any():
        v, s, _ = np.argwhere(g < -1)[0]
        raise ValueError(f"genotypes[{v}, {s}] holds {g[v, s].tolist()}: alleles are indices >= 0, or -1 for missing")
    top = int(g.max()) + 1
    K = max(top, 2) if n_alleles is None else int(n_alleles)
    if top > K:
        v, s, _ = np.argwhere(g >= K)[0]
        raise ValueError(f"genotypes[{v}, {s}] holds allele {int(g[v, s].max())}, not one of the n_alleles={K} alleles")
    return g, K


def _take(obj, idx):
    """A dataclass of per-locus arrays with every array field restricted to ``idx``."""
    return dataclasses.replace(obj, **{k: v[idx] for k, v in _arrays(obj).items()})


def _arrays(obj) -> dict:
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj) if isinstance(getattr(obj, f.name), np.ndarray)}


def _copy(obj):
    return dataclasses.replace(obj, **{k: np.array(v, dtype=float) for k, v in _arrays(obj).items()})


def _put(target, source, idx) -> None:
    """Write the array fields of ``source`` into rows ``idx`` of ``target``'s."""
    for k, v in _arrays(source).items():
        getattr(target, k)[idx] = v


def _step_length(new, old) -> np.ndarray:
    """Per-locus Euclidean length of the step from ``old`` to ``new`` over all array fields."""
    squares = [
        ((a - getattr(old, k)) ** 2).reshape(a.shape[0], -1).sum(axis=1) for k, a in _arrays(new).items()
    ]
    return np.sqrt(np.sum(squares, axis=0))


def _run_em(model: AlleleFrequencyModel, data: LocusData, params, tol: float, max_iter: int):
    """Plain EM on every locus at once, each stopped by the engine's rule."""
    stats, ll = model.e_step(data, params)
    params, stats, ll = _copy(params), _copy(stats), np.array(ll, dtype=float)
    n_iter = np.zeros(ll.size, dtype=np.int64)
    converged = np.zeros(ll.size, dtype=bool)
    active = np.arange(ll.size)
    previous_step = np.full(ll.size, np.inf)
    for it in range(1, max_iter + 1):
        new = model.m_step(_take(stats, active), _take(params, active))
        new_stats, ll_new = model.e_step(_take(data, active), new)
        if not np.all(np.isfinite(ll_new)):
            bad = active[~np.isfinite(ll_new)]
            raise NumericalError(f"{model.name}: non-finite log-likelihood at iteration {it} for loci {bad[:10].tolist()}")
        down = lowered(ll[active], ll_new, model.monotone_rtol)
        if down.any():
            raise MonotonicityError(
                f"{model.name}: plain EM lowered the log-likelihood at iteration {it} of loci "
                f"{active[down][:10].tolist()}; EM never does this, so the E- or M-step is wrong"
            )
        step = _step_length(new, _take(params, active))
        done = has_converged(ll_new - ll[active], ll_new, tol, em_rate(step, previous_step[active]))
        previous_step[active] = step
        _put(params, new, active)
        _put(stats, new_stats, active)
        ll[active] = ll_new
        n_iter[active] = it
        converged[active[done]] = True
        active = active[~done]
        if active.size == 0:
            break
    return params, ll, n_iter, converged


def _fit_loci(data: LocusData, model: AlleleFrequencyModel, params0, tol, max_iter) -> dict:
    """Run :func:`_run_em` on every locus from ``params0``; the per-locus
    columns of the result (frequencies, F, loglik, n_iter, converged)."""
    empty = data.weights.sum(axis=1) == 0
    if empty.any():
        raise ValueError(
            f"no individual carries information at {int(empty.sum())} locus/loci "
            f"(first: variant {int(np.flatnonzero(empty)[0])}); no allele frequency can be estimated there"
        )
    params, ll, n_iter, converged = _run_em(model, data, params0, tol, max_iter)
    out = {f"freq_{a}": params.frequencies[:, a] for a in range(model.n_alleles)}
    if model.inbreeding:
        out["F"] = params.inbreeding
    out.update({"loglik": ll, "n_iter": n_iter, "converged": converged})
    return out


def _starts(model: AlleleFrequencyModel, n_loci: int, random_state):
    """Every locus's start from ``model.initialize``, drawn at once from
    ``random_state`` (it reads only the number of loci)."""
    G = n_genotypes(model.n_alleles)
    shape_only = LocusData(np.empty((n_loci, 0, G)), np.empty((n_loci, 0)), np.empty((n_loci, 0)))
    return model.initialize(shape_only, as_generator(random_state))


def allele_frequencies_by_locus(
    genotypes,
    *,
    n_alleles: int | None = None,
    inbreeding: bool = False,
    tol: float = 1e-10,
    max_iter: int = 5000,
    hwe_exact: bool = True,
    random_state=None,
) -> pd.DataFrame:
    """Allele frequencies (and optionally ``F``) of every locus by EM, vectorised.

    Parameters
    ----------
    genotypes : integer array ``(variants, samples, 2)`` of allele indices,
        ``-1`` for a missing allele (complete, half-missing and missing
        genotypes mix freely). It may be a Dask array chunked along the
        variants: the loci are then partitions, each chunk fitted where it
        lives (on the active ``dask.distributed`` client, or in this process)
        from the starts drawn here, with the same result as in memory.
    n_alleles : number of alleles ``K`` (default: largest index + 1, at least 2).
    inbreeding : also estimate the inbreeding coefficient of each locus.
    tol, max_iter : the engine's convergence rule and limit (module docstring).
    hwe_exact : add the exact HWE p-value of the complete genotypes (biallelic only).
    random_state : seed of the starting points.

    Returns
    -------
    DataFrame with one row per locus: ``n_complete, n_half_missing, n_missing``,
    ``freq_0 .. freq_{K-1}``, ``se_0 ..`` (Hardy-Weinberg fits; NaN for a
    frequency of 0 or 1), ``F`` (with inbreeding; NaN at a monomorphic locus,
    where it is not identifiable), ``loglik, n_iter, converged`` and
    ``hwe_exact_p``.
    """
    if not isinstance(inbreeding, bool):
        raise TypeError(f"inbreeding must be True or False; got {inbreeding!r}")
    if is_dask_collection(genotypes):
        table = _by_locus_dask(genotypes, n_alleles, inbreeding, tol, max_iter, hwe_exact, random_state)
    else:
        g, K = _check_genotype_array(genotypes, n_alleles)
        model = AlleleFrequencyModel(K, inbreeding)
        table = _locus_table(g, model, _starts(model, g.shape[0], random_state), tol, max_iter, hwe_exact)
    _warn_unconverged(AlleleFrequencyModel(2, inbreeding), table["converged"].to_numpy(), max_iter)
    return table


def _warn_unconverged(model: AlleleFrequencyModel, converged: np.ndarray, max_iter: int) -> None:
    if not converged.all():
        warnings.warn(f"{model.name}: {int((~converged).sum())} loci reached max_iter={max_iter} before converging",
                      ConvergenceWarning, stacklevel=user_stacklevel())


def _locus_table(g, model: AlleleFrequencyModel, params0, tol, max_iter, hwe_exact) -> pd.DataFrame:
    """The result table of the loci of ``g`` (checked), fitted from ``params0``."""
    K, G = model.n_alleles, n_genotypes(model.n_alleles)
    counts, n_missing = pattern_counts(g, K)
    lik = pattern_likelihoods(K)
    scale = lik.max(axis=1)
    n_loci = counts.shape[0]
    data = LocusData(
        np.broadcast_to(lik / scale[:, None], (n_loci, *lik.shape)), counts, np.broadcast_to(np.log(scale), counts.shape)
    )
    fitted = _fit_loci(data, model, params0, tol, max_iter)
    out = {"n_complete": counts[:, :G].sum(axis=1).astype(np.int64),
           "n_half_missing": counts[:, G:].sum(axis=1).astype(np.int64),
           "n_missing": n_missing.astype(np.int64)}
    out.update(fitted)
    if not model.inbreeding:
        typed = 2.0 * out["n_complete"] + out["n_half_missing"]
        for a in range(K):
            p = fitted[f"freq_{a}"]
            on_boundary = (p <= 0.0) | (p >= 1.0)  # no Wald standard error on the boundary
            out[f"se_{a}"] = np.where(on_boundary, np.nan, np.sqrt(p * (1.0 - p) / typed))
    else:
        # a monomorphic locus says nothing about F: report it as unknown, not as its start
        frequencies = np.column_stack([fitted[f"freq_{a}"] for a in range(K)])
        out["F"] = np.where(frequencies.max(axis=1) >= 1.0 - 1e-12, np.nan, out["F"])
    if hwe_exact and K == 2:
        hom = homozygote_index(2)
        out["hwe_exact_p"] = hwe_exact_test(counts[:, hom[0]], counts[:, 1], counts[:, hom[1]])
    return pd.DataFrame(out)


def _chunk_table(block, model, params0, tol, max_iter, hwe_exact) -> pd.DataFrame:
    """One chunk of loci of a Dask array: checked and fitted where it lives."""
    g, _ = _check_genotype_array(block, model.n_alleles)
    return _locus_table(g, model, params0, tol, max_iter, hwe_exact)


def _by_locus_dask(genotypes, n_alleles, inbreeding, tol, max_iter, hwe_exact, random_state) -> pd.DataFrame:
    """Loci as partitions: the chunks of a Dask array along the variants."""
    import dask
    import dask.array as da

    if not isinstance(genotypes, da.Array) or genotypes.ndim != 3 or genotypes.shape[2] != 2:
        raise ValueError("a Dask genotypes array must have shape (variants, samples, 2)")
    if n_alleles is None:
        n_alleles = max(int(genotypes.max().compute()) + 1, 2)  # one pass, as the in-memory default
    model = AlleleFrequencyModel(int(n_alleles), inbreeding)
    g = genotypes.rechunk({1: -1, 2: -1})  # whole samples in each chunk of loci
    params0 = _starts(model, g.shape[0], random_state)
    bounds = np.concatenate([[0], np.cumsum(g.chunks[0])])
    blocks = g.to_delayed().ravel()
    tasks = [dask.delayed(_chunk_table)(b, model, _take(params0, np.arange(lo, hi)), tol, max_iter, hwe_exact)
             for b, lo, hi in zip(blocks, bounds[:-1], bounds[1:])]
    client = active_client()
    parts = client.gather(client.compute(tasks)) if client is not None else dask.compute(*tasks, scheduler="sync")
    return pd.concat(parts, ignore_index=True)


def allele_frequencies_from_likelihoods(
    gl,
    scale: str = "ln",
    *,
    inbreeding: bool = False,
    tol: float = 1e-10,
    max_iter: int = 5000,
    random_state=None,
) -> pd.DataFrame:
    """Allele frequencies of every locus from genotype likelihoods by EM,
    vectorised (the ANGSD-style estimate).

    ``gl`` has shape ``(variants, samples, G)`` in VCF genotype order on the
    ``ln``, ``log10`` (GL) or ``phred`` (PL) scale; an all-NaN row is a missing
    individual (checks as in :meth:`AlleleFrequencies.fit_likelihoods`).
    Returns one row per locus: ``n_informative, n_flat, n_missing``,
    ``freq_0 ..``, ``F`` (with inbreeding), ``loglik, n_iter, converged``.
    """
    if not isinstance(inbreeding, bool):
        raise TypeError(f"inbreeding must be True or False; got {inbreeding!r}")
    sc = scale_likelihoods(gl, scale, ndim=3)
    informative = ~sc.missing & ~sc.flat
    data = LocusData(sc.rel, informative.astype(float), sc.top)
    model = AlleleFrequencyModel(sc.n_alleles, inbreeding)
    fitted = _fit_loci(data, model, _starts(model, data.weights.shape[0], random_state), tol, max_iter)
    _warn_unconverged(model, fitted["converged"], max_iter)
    out = {"n_informative": informative.sum(axis=1), "n_flat": sc.flat.sum(axis=1), "n_missing": sc.missing.sum(axis=1)}
    out.update(fitted)
    return pd.DataFrame(out)
