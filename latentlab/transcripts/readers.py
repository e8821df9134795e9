"""Readers for what salmon and kallisto write: equivalence classes, effective
lengths and their own estimates."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd

from .classes import EquivalenceClasses

__all__ = ["read_salmon_eq_classes", "read_quant_sf", "read_kallisto_classes", "read_kallisto_abundance"]


def _open_text(path: Path):
    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rt") if gz else open(path)


def _read_table(path, needed: list, what: str) -> pd.DataFrame:
    """A tab-separated table with the ``needed`` columns (the first holds names)."""
    frame = pd.read_csv(path, sep="\t")
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: not {what} (no column {missing[0]!r}; columns {list(frame.columns)})")
    frame[needed[0]] = frame[needed[0]].astype(str)
    return frame


def read_quant_sf(path) -> pd.DataFrame:
    """salmon's ``quant.sf`` (Name, Length, EffectiveLength, TPM, NumReads)."""
    return _read_table(path, ["Name", "Length", "EffectiveLength", "TPM", "NumReads"], "a salmon quant.sf")


def read_salmon_eq_classes(path, quant_sf=None) -> EquivalenceClasses:
    """Equivalence classes written by ``salmon quant --dumpEq`` (with or
    without ``--dumpEqWeights``), with effective lengths from ``quant.sf``.

    ``path``: salmon's output folder (``aux_info/eq_classes.txt[.gz]`` and
    ``quant.sf`` are found there) or the classes file itself, with
    ``quant_sf`` naming the quant.sf. The file holds the number of transcripts
    ``T``, the number of classes ``J``, ``T`` transcript names, then one line
    per class: ``k t_1 .. t_k [w_1 .. w_k] count`` (transcript indices,
    weights when dumped, the number of fragments). salmon dumps its combined
    weights, the fragments' conditional probability already divided by the
    effective length (and normalised within the class): they are multiplied
    back by the effective lengths here, so that the model's
    ``w_jt / l_t`` is salmon's weight (with these weights, plain EM stopped by
    salmon's rule reproduces salmon's ``--useEM`` estimates; without the
    correction it does not: ``tests/transcripts/test_peers.py``). A malformed
    line is refused with its line number.
    """
    path = Path(path)
    if path.is_dir():
        candidates = [path / "aux_info" / "eq_classes.txt.gz", path / "aux_info" / "eq_classes.txt"]
        found = [p for p in candidates if p.exists()]
        if not found:
            raise ValueError(f"{path}: no aux_info/eq_classes.txt[.gz]; run salmon quant with --dumpEq")
        quant_sf = path / "quant.sf" if quant_sf is None else quant_sf
        path = found[0]
    if quant_sf is None:
        raise ValueError("quant_sf is needed for the effective lengths: give salmon's output folder or quant_sf")
    quant = read_quant_sf(quant_sf).set_index("Name")
    with _open_text(path) as fh:
        lines = fh.read().splitlines()
    n_tx, n_classes = _header_int(lines, 0, path, "the number of transcripts"), _header_int(lines, 1, path, "the number of classes")
    if len(lines) < 2 + n_tx + n_classes:
        raise ValueError(f"{path}: expected {n_tx} transcript names and {n_classes} class lines after the header; "
                         f"the file has {len(lines)} lines")
    names = [s.strip() for s in lines[2:2 + n_tx]]
    missing = [t for t in names if t not in quant.index]
    if missing:
        raise ValueError(f"{path}: transcript {missing[0]!r} is not in {quant_sf}")
    classes, weights, counts = [], [], []
    for k, line in enumerate(lines[2 + n_tx:2 + n_tx + n_classes], start=3 + n_tx):
        members, w, count = _class_line(line, k, path, n_tx)
        classes.append(members)
        weights.append(w)
        counts.append(count)
    has_weights = any(w is not None for w in weights)
    if has_weights and any(w is None for w in weights):
        raise ValueError(f"{path}: some class lines have weights and others do not")
    quant = quant.loc[names]
    eff = quant["EffectiveLength"].to_numpy(dtype=float)
    if has_weights:  # salmon's combined weights: conditional probability / effective length
        weights = [np.asarray(w) * eff[m] for w, m in zip(weights, classes)]
    return EquivalenceClasses.from_lists(names, eff, classes, counts, weights if has_weights else None,
                                         quant["Length"].to_numpy(), where=str(path))


def _header_int(lines, i, path, what) -> int:
    try:
        value = int(lines[i].strip())
    except (IndexError, ValueError):
        raise ValueError(f"{path}: line {i + 1} should hold {what}; got "
                         f"{lines[i].strip()[:40] if i < len(lines) else 'end of file'!r}") from None
    if value < 1:
        raise ValueError(f"{path}: line {i + 1}: {what} must be positive; got {value}")
    return value


def _class_line(line: str, k: int, path, n_tx: int):
    fields = line.split()
    try:
        size = int(fields[0])
        if size < 1 or len(fields) not in (size + 2, 2 * size + 2):
            raise ValueError
        members = [int(x) for x in fields[1:1 + size]]
        w = [float(x) for x in fields[1 + size:1 + 2 * size]] if len(fields) == 2 * size + 2 else None
        count = float(fields[-1])
    except (ValueError, IndexError):
        raise ValueError(f"{path}: line {k} is not a class line 'k t_1 .. t_k [w_1 .. w_k] count': "
                         f"{line.strip()[:80]!r}") from None
    bad = [t for t in members if not 0 <= t < n_tx]
    if bad:
        raise ValueError(f"{path}: line {k} names transcript index {bad[0]}, but there are {n_tx} transcripts")
    if not np.isfinite(count) or count < 0 or count != round(count):
        raise ValueError(f"{path}: line {k} has count {fields[-1]!r}; counts are non-negative integers")
    return members, w, count


def read_kallisto_abundance(path) -> pd.DataFrame:
    """kallisto's ``abundance.tsv`` (target_id, length, eff_length, est_counts, tpm)."""
    return _read_table(path, ["target_id", "length", "eff_length", "est_counts", "tpm"], "a kallisto abundance.tsv")


def read_kallisto_classes(ec_path, counts_path, abundance) -> EquivalenceClasses:
    """Equivalence classes from ``kallisto pseudo`` (``pseudoalignments.ec``:
    class id and comma-separated transcript indices; ``pseudoalignments.tsv``:
    class id and count), with the transcripts and effective lengths of
    kallisto's ``abundance.tsv`` (its rows are in index order)."""
    ab = read_kallisto_abundance(abundance)
    n_tx = len(ab)
    ecs = {}
    with _open_text(Path(ec_path)) as fh:
        for k, line in enumerate(fh, start=1):
            fields = line.split()
            try:
                ec, members = int(fields[0]), [int(x) for x in fields[1].split(",")]
                if len(fields) != 2:
                    raise ValueError
            except (ValueError, IndexError):
                raise ValueError(f"{ec_path}: line {k} is not 'class_id t1,t2,...': {line.strip()[:80]!r}") from None
            bad = [t for t in members if not 0 <= t < n_tx]
            if bad:
                raise ValueError(f"{ec_path}: line {k} names transcript index {bad[0]}, but there are {n_tx} transcripts")
            if ec in ecs:
                raise ValueError(f"{ec_path}: line {k} lists class {ec} a second time")
            ecs[ec] = members
    counts = {}
    with _open_text(Path(counts_path)) as fh:
        for k, line in enumerate(fh, start=1):
            fields = line.split()
            try:
                ec, count = int(fields[0]), float(fields[1])
                if len(fields) != 2 or not np.isfinite(count) or count < 0:
                    raise ValueError
            except (ValueError, IndexError):
                raise ValueError(f"{counts_path}: line {k} is not 'class_id count': {line.strip()[:80]!r}") from None
            if ec not in ecs:
                raise ValueError(f"{counts_path}: line {k} counts class {ec}, which {ec_path} does not list")
            if ec in counts:
                raise ValueError(f"{counts_path}: line {k} counts class {ec} a second time")
            counts[ec] = count
    ids = sorted(ecs)
    return EquivalenceClasses.from_lists(ab["target_id"].to_numpy(), ab["eff_length"].to_numpy(), [ecs[i] for i in ids],
                                         np.array([counts.get(i, 0.0) for i in ids]), lengths=ab["length"].to_numpy(),
                                         where=str(ec_path))
