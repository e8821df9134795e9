"""E-steps over partitions of the data, in this process or on a Dask cluster.

Statistics add (:mod:`latentlab.em.stats`): the E-step of data split into
disjoint partitions of units is the sum of the partitions' E-steps, and the
log-likelihood the sum of theirs. :class:`PartitionedModel` wraps any model
so that :func:`~latentlab.em.fit_em` runs it on a :class:`Partitions` object
instead of on the data, with everything else unchanged: the convergence rule,
restarts, SQUAREM, the guard, progress, the trace and the standard errors
(the numerical Hessian sums the partitions' log-likelihoods too).

Where the partitions come from and live:

- ``Partitions(parts)``: a list of partitions in this process, visited one
  after the other (no cluster);
- ``Partitions(parts, client=client)``: the same list sent once to the
  workers of a ``dask.distributed.Client`` (``client.scatter``) and kept
  there (scattered data have no source to be recomputed from: a worker that
  dies takes its partitions with it and the fit stops with Dask's error; use
  ``from_dask`` where that matters);
- ``Partitions.from_dask(collection, prepare, client=...)``: the blocks of a
  Dask array (chunked along its first axis, the units), the partitions of a
  Dask DataFrame or Bag, or a list of ``dask.delayed`` objects, each turned
  into the model's data by ``prepare``. With ``persist=True`` each prepared
  partition is computed once where it will be used and kept (on the workers
  through ``client.compute``, so the scheduler knows how to recompute one
  that a dying worker took with it); with ``persist=False`` it is read
  from its source at every pass and dropped after (out of core: the data
  may be larger than the memory of any worker, or of this machine).

Each pass over the data (an E-step, or a log-likelihood) on a cluster sends
the current parameters once (as one task's result, fetched by each worker
that needs it), computes each
partition's statistics where the partition is, and adds them pairwise on the
workers (a tree), so one set of statistics comes back; the M-step runs
here. What travels per pass is therefore the parameters out and one set of
statistics back, whatever the number of rows.

A partition's statistics are computed inside
:func:`~latentlab.em.freed_memory.freed_memory_kept`: on a Dask worker,
whose nanny asks glibc to return freed memory at once, the E-step's large
temporary arrays are reused within the task instead of faulted in afresh.

Each partition is data in the form the model's ``e_step`` takes (rows of a
mixture with the same centring, whole sequences of an HMM).
``initialize`` draws its start from the first partition; pass
``init_params`` to start elsewhere. Models whose optimality test needs all
the data at once (``is_stationary``, e.g. the Turnbull NPMLE) are refused.
Dask is an optional dependency (``pip install latentlab[dask]``).
"""

from __future__ import annotations

from typing import Any

from .freed_memory import freed_memory_kept
from .model import EMModel

__all__ = ["Partitions", "PartitionedModel", "is_dask_collection", "active_client"]


def is_dask_collection(x) -> bool:
    """Whether ``x`` is a Dask collection (array, DataFrame, Bag, delayed),
    without importing Dask."""
    return hasattr(x, "__dask_graph__") and not isinstance(x, type)


def active_client():
    """The ``dask.distributed`` client of this session (Dask's convention: the
    one created last), or None when there is none or Dask is not installed."""
    try:
        from distributed import default_client
    except ImportError:
        return None
    try:
        return default_client()
    except ValueError:
        return None


def _blocks(collection) -> list:
    """The blocks of a Dask collection as ``dask.delayed`` objects, in order."""
    if isinstance(collection, (list, tuple)):
        if not collection or not all(is_dask_collection(b) for b in collection):
            raise TypeError("a list given to from_dask must hold dask.delayed objects")
        return list(collection)
    if not is_dask_collection(collection):
        raise TypeError(f"collection must be a Dask array, DataFrame, Bag or a list of dask.delayed; "
                        f"got {type(collection).__name__}")
    if hasattr(collection, "chunks") and hasattr(collection, "rechunk"):  # an array: blocks of whole units (rows)
        if any(map(_unknown, collection.chunks[0])):
            raise ValueError("collection has chunks of unknown size along its first axis; call compute_chunk_sizes()")
        whole = {axis: -1 for axis in range(1, collection.ndim)}
        return list(collection.rechunk(whole).to_delayed().ravel())
    return list(collection.to_delayed())


def _unknown(size) -> bool:
    return size != size  # Dask marks an unknown chunk size by NaN


def _fits_in_memory(collection, client) -> bool:
    """``persist="auto"``: whether the collection takes at most half the memory
    where it would be kept (the workers' limits, or this machine's available
    memory); a collection of unknown size is kept."""
    nbytes = getattr(collection, "nbytes", None)
    if nbytes is None or _unknown(nbytes):
        return True
    import psutil  # a dependency of dask.distributed

    available = psutil.virtual_memory().available
    if client is not None:
        limits = [w.get("memory_limit") or available for w in client.scheduler_info()["workers"].values()]
        available = sum(limits)
    return nbytes <= available / 2


def _prepared(prepare, block):
    return block if prepare is None else prepare(block)


def _apply(fn, model: EMModel, prepare, block, params):
    return fn(model, _prepared(prepare, block), params)


def _identity(x):
    return x


def _e_step(model: EMModel, part, params):
    with freed_memory_kept():
        return model.e_step(part, params)


def _loglik(model: EMModel, part, params):
    with freed_memory_kept():
        return model.loglik(part, params)


def _magnitude(model: EMModel, part, params):
    with freed_memory_kept():
        return model.loglik_magnitude(part, params, model.loglik(part, params))


def _add(a, b):
    """Sum of two partial results; None (statistics of an impossible point) absorbs."""
    if a is None or b is None:
        return None
    if isinstance(a, tuple):
        return tuple(_add(x, y) for x, y in zip(a, b))
    return a + b


def _tree_sum(level: list, add) -> Any:
    """Pairwise sums, level by level: depth log2(len(level)), one result."""
    while len(level) > 1:
        pairs = [add(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        level = pairs + ([level[-1]] if len(level) % 2 else [])
    return level[0]


class Partitions:
    """Data held as partitions, here or on the workers of a Dask ``client``
    (module docstring); :meth:`map_sum` is the one operation the engine needs."""

    def __init__(self, parts, client=None):
        parts = list(parts)
        if not parts:
            raise ValueError("parts is empty: give at least one partition of the data")
        self.n_parts = len(parts)
        self.client = client
        self.persisted = True
        self._prepare = None
        self._first = parts[0]
        self._parts = parts if client is None else client.scatter(parts, hash=False)  # sent once, kept there

    @classmethod
    def from_dask(cls, collection, prepare=None, client=None, persist="auto") -> Partitions:
        """Partitions from the blocks of a Dask ``collection`` (module
        docstring), each turned into the model's data by ``prepare(block)``
        (a function Dask can send to a worker: defined at a module's top
        level, or a ``functools.partial`` of one). ``persist``: True keeps
        the prepared partitions (in this process, or on the workers); False
        reads each from its source at every pass; ``"auto"`` keeps them when
        the collection takes at most half the memory where they would be kept."""
        if persist not in (True, False, "auto"):
            raise ValueError(f"persist must be True, False or 'auto'; got {persist!r}")
        if prepare is not None and not callable(prepare):
            raise TypeError(f"prepare must be a function of one block, or None; got {type(prepare).__name__}")
        blocks = _blocks(collection)
        if persist == "auto":
            persist = _fits_in_memory(collection, client)
        self = cls.__new__(cls)
        self.n_parts, self.client, self.persisted, self._prepare = len(blocks), client, persist, prepare
        self._first = None
        if not persist:
            self._parts = blocks
        elif client is None:
            self._parts = [_prepared(prepare, b.compute(scheduler="sync")) for b in blocks]
            self._prepare = None
        else:
            from dask import delayed

            self._parts = client.compute([delayed(_prepared, pure=True)(prepare, b) for b in blocks])
            self._prepare = None
        return self

    @property
    def first(self):
        """The first partition, here (the model's start is drawn from it)."""
        if self._first is None:
            kept_there = self.client is not None and self.persisted
            self._first = self._parts[0].result() if kept_there else next(self._local_parts())
        return self._first

    def _tasks(self, fn, model, args):
        """One task per partition computing ``fn(model, part, *args)`` where the partition is."""
        client = self.client
        if self.persisted:
            return [client.submit(fn, model, part, *args, pure=False) for part in self._parts]
        from dask import delayed

        return [delayed(_apply, pure=False)(fn, model, self._prepare, b, *args) for b in self._parts]

    def map_sum(self, fn, model: EMModel, params):
        """``sum over partitions of fn(model, part, params)`` (tuples add field by field)."""
        if self.client is None:
            return _tree_sum([fn(model, part, params) for part in self._local_parts()], _add)
        shared = self.client.submit(_identity, params, pure=False)  # one copy, rebuilt from its task if lost
        return self._reduce(self._tasks(fn, model, (shared,)))

    def _local_parts(self):
        """The partitions in this process (kept, or each read here when it is needed)."""
        if self.persisted:
            yield from self._parts
        else:
            for block in self._parts:
                yield _prepared(self._prepare, block.compute(scheduler="sync"))

    def _reduce(self, tasks):
        """The pairwise sum of the tasks' results, computed on the workers."""
        if self.persisted:
            total = _tree_sum(tasks, lambda a, b: self.client.submit(_add, a, b, pure=False))
            return total.result()
        from dask import delayed

        total = _tree_sum(tasks, lambda a, b: delayed(_add, pure=False)(a, b))
        return self.client.compute(total).result()

    def __repr__(self) -> str:
        where = "in this process" if self.client is None else f"on {self.client!r}"
        how = "kept" if self.persisted else "read at every pass"
        return f"Partitions({self.n_parts} parts, {where}, {how})"


class PartitionedModel(EMModel):
    """``model`` fitted to :class:`Partitions` (module docstring): the E-step
    and the log-likelihood are sums over the partitions; the M-step, the
    parameters, their constraints and labels are ``model``'s, and any other
    attribute is looked up on ``model``. Given data in this process instead
    of partitions (an estimator fitted by partitions, scoring new data), the
    E-step and log-likelihood are ``model``'s own."""

    def __init__(self, model: EMModel):
        if not isinstance(model, EMModel):
            raise TypeError(f"model must be an EMModel; got {type(model).__name__}")
        if type(model).is_stationary is not EMModel.is_stationary:
            raise TypeError(f"{model.name} tests optimality on all the data at once (is_stationary); "
                            "it cannot be fitted by partitions")
        self.model = model
        self.params_type = model.params_type
        self.constraints = model.constraints
        self.monotone_rtol = model.monotone_rtol

    def __getattr__(self, name):
        if name == "model":  # not yet set (unpickling)
            raise AttributeError(name)
        return getattr(self.model, name)

    @property
    def name(self) -> str:
        return self.model.name

    def initialize(self, data: Partitions, rng):
        return self.model.initialize(data.first, rng)

    def e_step(self, data: Partitions, params) -> tuple[Any, float]:
        if not isinstance(data, Partitions):  # data in this process (a fitted estimator scoring new data)
            return self.model.e_step(data, params)
        stats, ll = data.map_sum(_e_step, self.model, params)
        return stats, float(ll)

    def loglik(self, data: Partitions, params) -> float:
        if not isinstance(data, Partitions):
            return self.model.loglik(data, params)
        return float(data.map_sum(_loglik, self.model, params))

    def loglik_magnitude(self, data: Partitions, params, loglik: float) -> float:
        if not isinstance(data, Partitions):
            return self.model.loglik_magnitude(data, params, loglik)
        return float(data.map_sum(_magnitude, self.model, params))

    def m_step(self, stats, current, fixed=None):
        return self.model.m_step(stats, current, fixed)

    def squarem_coordinates(self, params):
        return self.model.squarem_coordinates(params)

    def from_squarem_coordinates(self, z, like):
        return self.model.from_squarem_coordinates(z, like)

    def canonical(self, params):
        return self.model.canonical(params)

    def monotone_slack(self, stats, params) -> float:
        return self.model.monotone_slack(stats, params)
