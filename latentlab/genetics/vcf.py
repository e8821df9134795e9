"""Genotypes in and out of VCF files: :func:`read_vcf` and :func:`write_vcf`.

Reading and writing need pysam (``pip install 'latentlab[vcf]'``): htslib, under
pysam, reads plain, gzipped and bgzipped VCF and BCF, finds a region through a
tabix or CSI index, and checks each record's fixed columns against the header.

How a file is read
------------------
htslib parses every record. The FORMAT columns of the samples are then read
from the record's text (the line of a VCF, htslib's rendering of a BCF
record) rather than sample by sample through pysam, which is some twenty times
slower. For a text VCF the reader keeps the file's own lines in step with
htslib's records (htslib turns each line into one record, or fails on it), so
that

* every problem is reported with the line number in the file (the
  decompressed text of a ``.vcf.gz``; header lines counted), and with the
  record's ``CHROM:POS``; a BCF has no lines, so its records are numbered;
* a record htslib cannot parse is diagnosed from its line (wrong number of
  columns, a POS that is not a number, a malformed GT, ...); what the reader
  cannot name is reported with pysam's message and the line;
* what htslib lets through silently is refused: sample columns beyond those
  the header names (htslib drops them), allele indices beyond the site's
  alleles (pysam reports them as missing), GL/PL/GP with the wrong number of
  values. The header is checked line by line before htslib reads it.

What is read
------------
Diploid GT (phased ``0|1`` or unphased ``0/1``; ``.``, ``./.`` missing;
``./1`` half-missing), genotype likelihoods (GL, log10; PL, phred), DS and GP.
Haploid and polyploid genotypes are refused, naming the line, and so are
sites without an ALT allele (``bcftools view -m2`` drops them). A multi-allelic
site is refused (``multiallelic="error"``) or split (``"split"``) into one
biallelic site per ALT allele as ``bcftools norm -m-`` splits it: in the split
record of ALT allele ``a``, GT allele ``a`` becomes ``1`` and every other allele
``0`` (the other ALT alleles become REF); GL, PL and GP keep the values of the
genotypes ``0/0, 0/a, a/a`` (those with another ALT allele are left out, as
bcftools does: likelihoods cannot be summed over them without their
frequencies); DS keeps the dosage of ``a``. GL must be <= 0, PL >= 0, DS in
[0, 2] and GP in [0, 1] (the probabilities of VCF 4.2 and later, not the
phred-scaled GP of VCF 4.1); an empty value, which ``bcftools norm`` writes for
some missing ones, is missing.

How a file is written
---------------------
:func:`write_vcf` writes biallelic sites: GT phased (``0|1``) from haplotypes
or unphased (``0/1``) from alternate-allele counts, DS and GP rounded to a few
decimals. The header (``##fileformat=VCFv4.2``, ``##contig``, ``##FORMAT``)
is made by htslib's header writer; a ``.gz`` file is bgzipped by htslib and
indexed with tabix (``index=True``, the default, which needs sorted sites), so
that ``bcftools`` and :func:`read_vcf` can read a region of it.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from itertools import compress, count

import numpy as np
import pandas as pd

from .._validation import as_array
from .observations import GL_SCALES

__all__ = ["VcfData", "read_vcf", "write_vcf"]

#: the fixed columns of the #CHROM header line
FIXED_COLUMNS = ("#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO")
#: the columns of ``VcfData.sites`` (and of the ``sites`` given to :func:`write_vcf`)
SITE_COLUMNS = ("chrom", "pos", "id", "ref", "alt")
#: FORMAT fields read as genotype likelihoods, with their scale (keys of ``observations.GL_SCALES``)
LIKELIHOOD_SCALES = {"GL": "log10", "PL": "phred"}
#: the values that FORMAT fields may take: (low, high) inclusive
VALUE_RANGES = {"GL": (-np.inf, 0.0), "PL": (0.0, np.inf), "DS": (0.0, 2.0), "GP": (0.0, 1.0)}
#: the FORMAT fields read_vcf reads
FORMAT_READ = ("GT", *LIKELIHOOD_SCALES, "DS", "GP")
#: the most decimals write_vcf writes DS and GP with (a table of 2 * 10**decimals strings formats them)
MAX_DECIMALS = 5
#: pieces of text write_vcf joins at once (sites are written in chunks of this many pieces)
WRITE_CHUNK = 2**20
#: how far a sample's GP may sum from 1 in :func:`write_vcf` (lets probabilities rounded to two decimals through)
GP_SUM_TOLERANCE = 0.01

_DIPLOID = re.compile(r"(\.|[0-9]+)([/|])(\.|[0-9]+)")
_ALLELE = re.compile(r"\.|[0-9]+")
_REGION = re.compile(r"(.+?)(?::([0-9][0-9,]*)(?:-([0-9][0-9,]*)?)?)?", re.S)


def _pysam():
    try:
        import pysam
    except ImportError:
        raise ImportError("reading and writing VCF needs pysam: pip install 'latentlab[vcf]'") from None
    return pysam


@dataclass(frozen=True)
class VcfData:
    """Genotypes of the samples at the biallelic sites of a VCF (:func:`read_vcf`).

    samples : sample names, in the order read.
    sites : DataFrame with one row per site: ``chrom``, ``pos`` (1-based),
        ``id`` (``.`` when none), ``ref``, ``alt`` (one ALT allele). A split
        multi-allelic record gives one row per ALT allele.
    genotypes : (n_samples, n_sites) int64 alternate-allele counts 0/1/2; -1
        when either allele is missing (``./.`` and half-missing ``./1`` alike).
    phased : (n_samples, n_sites) bool, True where GT is written phased (``|``).
    haplotypes : (n_samples, 2, n_sites) int64 alleles 0/1 in GT order, -1 for
        a missing allele (so ``./1`` keeps its typed allele here).
    likelihoods : (n_samples, n_sites, 3) natural logs of the genotype
        likelihoods of 0/0, 0/1, 1/1 (from GL or PL), NaN where a record or
        sample has none; None when no record has them.
    likelihood_fields : the FORMAT fields that gave ``likelihoods`` (GL, PL or
        both: see ``read_vcf``'s ``likelihood_field``); empty when none was read.
    dosages : (n_samples, n_sites) DS, NaN where absent; None when no record has DS.
    genotype_probabilities : (n_samples, n_sites, 3) GP, NaN where absent;
        None when no record has GP.
    """

    samples: tuple[str, ...]
    sites: pd.DataFrame
    genotypes: np.ndarray
    phased: np.ndarray
    haplotypes: np.ndarray
    likelihoods: np.ndarray | None
    likelihood_fields: tuple[str, ...]
    dosages: np.ndarray | None
    genotype_probabilities: np.ndarray | None

    def site_names(self) -> list[str]:
        """``chrom:pos:ref:alt`` of every site: locus names for
        :meth:`HaplotypeEM.fit <latentlab.genetics.HaplotypeEM.fit>` (``loci=``)."""
        s = self.sites
        return [f"{c}:{p}:{r}:{a}" for c, p, r, a in zip(s["chrom"], s["pos"], s["ref"], s["alt"])]

    def allele_pairs(self) -> np.ndarray:
        """(n_samples, n_sites, 2) alleles, -1 missing: the input of
        ``HaplotypeEM.fit`` and ``WindowedHaplotypeEM.fit``, and (one site,
        ``[:, j]``) of ``AlleleFrequencies.fit``; half-missing genotypes keep
        their typed allele."""
        return self.haplotypes.transpose(0, 2, 1)

    def allele_pairs_by_variant(self) -> np.ndarray:
        """(n_sites, n_samples, 2) alleles, -1 missing: the input of
        :func:`~latentlab.genetics.allele_frequencies_by_locus`."""
        return self.haplotypes.transpose(2, 0, 1)

    def likelihoods_by_variant(self) -> np.ndarray:
        """(n_sites, n_samples, 3) natural-log genotype likelihoods: the input
        of :func:`~latentlab.genetics.allele_frequencies_from_likelihoods`
        (its default ``scale="ln"``)."""
        if self.likelihoods is None:
            raise ValueError("the VCF read has no genotype likelihoods (no record has GL or PL)")
        return self.likelihoods.transpose(1, 0, 2)


# -- reading ------------------------------------------------------------------------------------------


class _RecordError(ValueError):
    """A problem with one record; :func:`read_vcf` adds where it is."""


def read_vcf(path, *, samples=None, region=None, multiallelic: str = "error",
             likelihood_field: str | None = "auto") -> VcfData:
    """Read the diploid genotypes of a VCF, bgzipped VCF or BCF file.

    Parameters
    ----------
    path : the file (``.vcf``, ``.vcf.gz``, ``.bcf``; the format is read from
        the content, not the name).
    samples : names of the samples to read, in the order wanted (default all,
        in the file's order).
    region : ``"chrom"``, ``"chrom:start-end"`` (1-based, inclusive),
        ``"chrom:start"`` or ``"chrom:start-"`` (to the chromosome's end), as
        in bcftools: read only the records overlapping it, through the
        file's ``.tbi`` or ``.csi`` index (``bcftools index`` or ``tabix -p vcf``
        makes one).
    multiallelic : ``"error"`` (a multi-allelic record is an error naming its
        line) or ``"split"`` (split as ``bcftools norm -m-`` does; module
        docstring).
    likelihood_field : ``"auto"`` (each sample's GL, or its PL where it has no
        GL: GL keeps the precision that PL's integer phred scale rounds away),
        ``"GL"``, ``"PL"`` or None (no likelihoods read).

    Returns
    -------
    :class:`VcfData`.

    Raises
    ------
    ValueError naming the line (the record of a BCF) and the problem, for a
    malformed file, and naming the argument for a bad argument (module
    docstring for what is checked).
    """
    pysam = _pysam()
    path = _check_path(path)
    if multiallelic not in ("error", "split"):
        raise ValueError(f"multiallelic must be 'error' or 'split'; got {multiallelic!r}")
    if likelihood_field not in ("auto", *LIKELIHOOD_SCALES, None):
        raise ValueError(f"likelihood_field must be 'auto', 'GL', 'PL' or None; got {likelihood_field!r}")
    if region is not None and (not isinstance(region, str) or not region):
        raise TypeError(f"region must be a region string such as 'chr1:1000-2000', or None; got {region!r}")
    compressed, bcf = _sniff(path)
    with contextlib.ExitStack() as stack:
        if bcf:
            header_lines, lines = 0, None
        else:
            lines = stack.enter_context(contextlib.closing(_text_lines(path, compressed)))
            header_lines, n_columns = _check_header(lines, path)
        vf = stack.enter_context(_open(pysam, path))
        names = tuple(vf.header.samples)
        if bcf:
            n_columns = 9 + len(names) if names else 8
        columns = _sample_columns(names, samples)
        if region is None:
            records = iter(vf)
        else:
            span = _parse_region(region, vf.header.contigs)
            records = _fetch(vf, span, region, path)
            if lines is not None:
                lines = stack.enter_context(contextlib.closing(_region_lines(pysam, path, span)))
        reader = _Reader(n_columns, [names[c] for c in columns], columns, multiallelic, likelihood_field)

        def where(ordinal: int, text: str | None) -> str:
            return _where(path, compressed, bcf, header_lines, region, ordinal, text)

        for ordinal in count(1):
            try:
                record = next(records)
            except StopIteration:
                break
            except (OSError, ValueError) as err:
                text = None if lines is None else next(lines)
                if text is not None:
                    try:  # the reader's own checks name the problem when they can
                        _Reader(n_columns, list(names), range(len(names)), "split", likelihood_field).add(text)
                    except _RecordError as problem:
                        raise ValueError(f"{where(ordinal, text)}: {problem}") from None
                raise ValueError(f"{where(ordinal, text)}: htslib could not parse the record ({err}; htslib's "
                                 "own message, if any, is printed above)") from None
            text = str(record).rstrip("\n") if lines is None else next(lines)
            try:
                reader.add(text)
            except _RecordError as problem:
                raise ValueError(f"{where(ordinal, text)}: {problem}") from None
    return reader.result(tuple(names[c] for c in columns))


def _check_path(path) -> str:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file name (str or os.PathLike); got {type(path).__name__}")
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"path: no such file {path!r}")
    return path


def _sniff(path: str) -> tuple[bool, bool]:
    """Whether the file is gzip-compressed (bgzip is gzip) and whether it is BCF."""
    with open(path, "rb") as f:
        compressed = f.read(2) == b"\x1f\x8b"
    try:
        with (gzip.open if compressed else open)(path, "rb") as f:
            return compressed, f.read(3) == b"BCF"
    except (OSError, EOFError) as err:
        raise ValueError(f"{path}: cannot be decompressed ({err})") from None


def _text_lines(path: str, compressed: bool):
    """The lines of a text VCF without their line ends (the decompressed text of a gzipped one)."""
    number = 0
    try:
        with (gzip.open if compressed else open)(path, "rt", encoding="utf-8", errors="replace", newline="\n") as f:
            for line in f:
                number += 1
                yield line.rstrip("\r\n")
    except (OSError, EOFError) as err:
        raise ValueError(f"{path}: the compressed text breaks off after line {number} ({err})") from None


def _show(line: str, width: int = 60) -> str:
    return repr(line if len(line) <= width else line[:width] + "...")


def _check_header(lines, path: str) -> tuple[int, int]:
    """Check the header lines of a text VCF (consumed from ``lines``); return
    how many there are and how many columns the #CHROM line has."""
    number = 0
    for number, line in enumerate(lines, start=1):
        if number == 1 and not line.startswith("##fileformat=VCF"):
            raise ValueError(f"{path}, line 1: a VCF starts with '##fileformat=VCFv4.x'; got {_show(line)}")
        if line.startswith("##"):
            if "=" not in line:
                raise ValueError(f"{path}, line {number}: a '##' header line reads '##key=value'; got {_show(line)}")
            if "=<" in line and not line.endswith(">"):
                raise ValueError(f"{path}, line {number}: the header line {_show(line)} opens '<' and does not "
                                 "close it with '>' at its end")
            continue
        if not line.startswith("#CHROM"):
            raise ValueError(f"{path}, line {number}: expected a '##' header line or the '#CHROM' line before "
                             f"the records; got {_show(line)}")
        columns = line.split("\t")
        if tuple(columns[:8]) != FIXED_COLUMNS or columns[8:9] not in ([], ["FORMAT"]):
            hint = " (its columns are separated by spaces, not tabs)" if "\t" not in line else ""
            raise ValueError(f"{path}, line {number}: the #CHROM line must list the tab-separated columns "
                             f"{', '.join(FIXED_COLUMNS)}, then FORMAT and the sample names; got {_show(line)}{hint}")
        seen = set()
        for name in columns[9:]:
            if name in seen or not name:
                raise ValueError(f"{path}, line {number}: sample name {name!r} is "
                                 f"{'empty' if not name else 'repeated'} on the #CHROM line")
            seen.add(name)
        return number, len(columns)
    raise ValueError(f"{path}: no '#CHROM' header line ({'the file is empty' if number == 0 else f'{number} lines'})")


@contextlib.contextmanager
def _open(pysam, path: str):
    """pysam's reader, opened quietly (htslib would print a warning for every
    bgzipped file without an index) and closed on exit."""
    previous = pysam.set_verbosity(0)
    try:
        vf = pysam.VariantFile(path)
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: htslib could not open it ({err})") from None
    finally:
        pysam.set_verbosity(previous)
    with vf:
        yield vf


def _sample_columns(names: tuple[str, ...], samples) -> list[int]:
    """Indices (among the file's samples) of the samples to read."""
    if samples is None:
        return list(range(len(names)))
    if isinstance(samples, str):
        raise TypeError(f"samples must be a list of sample names; got the string {samples!r} (use [{samples!r}])")
    wanted = list(samples)
    if not wanted:
        raise ValueError("samples is empty; give at least one sample name, or None for all")
    bad = [s for s in wanted if not isinstance(s, str)]
    if bad:
        raise TypeError(f"samples must be sample names (str); got {bad[0]!r}")
    repeated = sorted({s for s in wanted if wanted.count(s) > 1})
    if repeated:
        raise ValueError(f"samples lists {repeated} more than once")
    index = {name: i for i, name in enumerate(names)}
    unknown = [s for s in wanted if s not in index]
    if unknown:
        raise ValueError(f"samples: {unknown[:5]}{' ...' if len(unknown) > 5 else ''} not in the file "
                         f"({len(names)} samples: {list(names[:5])}{' ...' if len(names) > 5 else ''})")
    return [index[s] for s in wanted]


def _parse_region(region: str, contigs) -> tuple[str, int | None, int | None]:
    """The contig and 0-based half-open bounds of ``chrom``, ``chrom:start``
    (to the end), ``chrom:start-`` or ``chrom:start-end`` (1-based, inclusive;
    commas allowed in numbers); a whole contig whose name has a colon is
    recognised by its name, as htslib does."""
    if region in contigs:
        return region, None, None
    chrom, start, end = _REGION.fullmatch(region).groups()
    if start is None:
        return chrom, None, None
    first = int(start.replace(",", ""))
    last = int(end.replace(",", "")) if end else None
    if first < 1 or (last is not None and last < first):
        raise ValueError(f"region {region!r}: positions are 1-based and the end is not before the start")
    return chrom, first - 1, last


def _fetch(vf, span: tuple, region: str, path: str):
    try:
        return iter(vf.fetch(*span))
    except ValueError as err:
        hint = "" if vf.index is not None else (" (reading a region needs a .tbi or .csi index: bgzip the VCF and "
                                                "run `bcftools index` or `tabix -p vcf` on it)")
        raise ValueError(f"region {region!r} of {path}: {err}{hint}") from None


def _region_lines(pysam, path: str, span: tuple):
    """The lines of the records of a bgzipped, indexed VCF overlapping ``span``
    (those htslib's VariantFile.fetch parses, in the same order)."""
    index = next(path + ext for ext in (".tbi", ".csi") if os.path.exists(path + ext))
    with pysam.TabixFile(path, index=index, encoding="utf-8") as tabix:
        for line in tabix.fetch(*span):
            yield line.rstrip("\r\n")


def _where(path, compressed, bcf, header_lines, region, ordinal, text) -> str:
    """Where a record is: its line in the (decompressed) text, or its number in a BCF."""
    if bcf:
        place = f"record {ordinal}" + (f" of region {region!r}" if region else "")
    elif region is None:
        place = f"line {header_lines + ordinal}"
    else:  # a region's records: find the line by its text
        with contextlib.closing(_text_lines(path, compressed)) as lines:
            place = f"line {next(i for i, line in enumerate(lines, start=1) if line == text)}"
    fields = (text or "").split("\t", 2)
    return f"{path}, {place}" + (f" ({fields[0]}:{fields[1]})" if len(fields) > 2 else "")


@lru_cache(maxsize=1024)
def _genotype(text: str) -> tuple[int, int, int]:
    """Alleles (-1 missing) and phase (1 if ``|``) of one GT value."""
    if text == ".":
        return -1, -1, 0
    match = _DIPLOID.fullmatch(text)
    if match is None:
        calls = re.split(r"[/|]", text)
        if all(_ALLELE.fullmatch(c) for c in calls):
            ploidy = "haploid" if len(calls) == 1 else f"of ploidy {len(calls)}"
            raise _RecordError(f"genotype {text!r} is {ploidy}; read_vcf reads diploid genotypes only")
        raise _RecordError(f"genotype {text!r} is not a GT value (two allele indices or '.' separated by "
                           "'/' or '|', or '.')")
    first, sep, second = match.groups()
    return -1 if first == "." else int(first), -1 if second == "." else int(second), int(sep == "|")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class _Reader:
    """Turns the text of records into sites, and the sites into a VcfData."""

    def __init__(self, n_columns: int, names: list[str], columns, multiallelic: str, likelihood_field):
        self.n_columns, self.names, self.columns = n_columns, names, list(columns)
        self.every_column = self.columns == list(range(n_columns - 9))
        self.multiallelic, self.likelihood_field = multiallelic, likelihood_field
        self.sites, self.haplotypes, self.phased = [], [], []
        self.fields = {"likelihoods": [], "DS": [], "GP": []}
        self.likelihood_fields = set()

    def add(self, text: str) -> None:
        """Append the site(s) of one record (raises :class:`_RecordError`)."""
        fields = text.split("\t")
        if len(fields) != self.n_columns:
            hint = " (the line is empty)" if not text else (" (spaces instead of tabs?)" if " " in text else "")
            raise _RecordError(f"{len(fields)} tab-separated columns, where the #CHROM line has {self.n_columns}{hint}")
        chrom, pos, vid, ref, alt = fields[:5]
        if not (pos.isascii() and pos.isdigit()):
            raise _RecordError(f"POS {pos!r} is not a whole number")
        if alt == ".":
            raise _RecordError(f"{chrom}:{pos} has no ALT allele; read_vcf reads sites with an alternate allele "
                               "(`bcftools view -m2` drops the others)")
        alts = alt.split(",")
        K = len(alts) + 1
        if K > 2 and self.multiallelic == "error":
            raise _RecordError(f"{chrom}:{pos} is multi-allelic ({ref} > {alt}); split it into biallelic records "
                               "with `bcftools norm -m-`, or read it with multiallelic='split'")
        keys = fields[8].split(":") if self.n_columns > 8 else []
        column = self._format_values(fields, keys)
        haplotypes, phased = self._genotypes(column.get("GT"), K)
        G = K * (K + 1) // 2
        likelihoods = self._likelihoods(column, G, K)
        dosages = self._numbers(column.get("DS"), K - 1, "DS", K)
        probabilities = self._numbers(column.get("GP"), G, "GP", K)
        for a in range(1, K):
            picks = [0, a * (a + 1) // 2, a * (a + 1) // 2 + a]  # genotypes 0/0, 0/a, a/a in VCF order
            self.sites.append((chrom, int(pos), vid, ref, alts[a - 1]))
            self.haplotypes.append(np.where(haplotypes == a, 1, np.where(haplotypes < 0, -1, 0)))
            self.phased.append(phased)
            self.fields["likelihoods"].append(None if likelihoods is None else likelihoods[:, picks])
            self.fields["DS"].append(None if dosages is None else dosages[:, a - 1])
            self.fields["GP"].append(None if probabilities is None else probabilities[:, picks])

    def _format_values(self, fields: list[str], keys: list[str]) -> dict[str, list[str]]:
        """The samples' values of the FORMAT fields read, by key (``.`` for a
        value left off the end of a sample's column)."""
        samples = fields[9:] if self.every_column else [fields[9 + c] for c in self.columns]
        wanted = [(k, key) for k, key in enumerate(keys) if key in FORMAT_READ]
        n_keys = len(keys)
        flat = ":".join(samples).split(":")
        if len(flat) == n_keys * len(samples):  # every sample has every field (none can have more): slice
            return {key: flat[k::n_keys] for k, key in wanted}
        parts = [s.split(":") for s in samples]
        over = next((i for i, p in enumerate(parts) if len(p) > n_keys), None)
        if over is not None:
            raise _RecordError(f"sample {self.names[over]!r} has {len(parts[over])} ':'-separated values "
                               f"({samples[over]!r}) where FORMAT ({fields[8]}) has {n_keys}")
        return {key: [p[k] if len(p) > k else "." for p in parts] for k, key in wanted}

    def _likelihoods(self, column: dict[str, list[str]], G: int, K: int) -> np.ndarray | None:
        """(n, G) natural-log genotype likelihoods: each sample's GL, or its
        PL where it has no GL (``likelihood_field="auto"``), or the one field
        asked for; None if no sample has any."""
        fields = {"auto": list(LIKELIHOOD_SCALES), None: []}.get(self.likelihood_field, [self.likelihood_field])
        out = None
        for field in fields:
            values = self._numbers(column.get(field), G, field, K)
            if values is None:
                continue
            values = values * GL_SCALES[LIKELIHOOD_SCALES[field]]
            if out is None:
                out = values
            else:
                fill = np.isnan(out).all(axis=1) & ~np.isnan(values).all(axis=1)
                if not fill.any():
                    continue
                out[fill] = values[fill]
            self.likelihood_fields.add(field)
        return out

    def _genotypes(self, values: list[str] | None, K: int) -> tuple[np.ndarray, np.ndarray]:
        """(n, 2) alleles and (n,) phase of the GT values (missing without GT)."""
        n = len(self.columns)
        if values is None:
            return np.full((n, 2), -1, dtype=np.int64), np.zeros(n, dtype=bool)
        codes, distinct = pd.factorize(np.asarray(values, dtype=object))
        table = np.empty((len(distinct), 3), dtype=np.int64)
        for u, text in enumerate(distinct):
            try:
                table[u] = _genotype(text)
            except _RecordError as problem:
                raise _RecordError(f"sample {self.names[int(np.argmax(codes == u))]!r}: {problem}") from None
        calls = table[codes]
        beyond = np.flatnonzero(calls[:, :2].max(axis=1) >= K)
        if beyond.size:
            i = beyond[0]
            raise _RecordError(f"sample {self.names[i]!r} has genotype {values[i]!r}, but the site has {K} alleles "
                               f"(indices 0 to {K - 1})")
        return calls[:, :2], calls[:, 2].astype(bool)

    def _numbers(self, values: list[str] | None, per_sample: int, field: str, K: int) -> np.ndarray | None:
        """(n, per_sample) numbers of a FORMAT field, NaN rows for samples
        without a value; None when no sample has one. Checks the count and the
        range (``VALUE_RANGES``) of each sample's values."""
        if values is None:
            return None
        present = np.array([v != "." and v != "" for v in values], dtype=bool)  # bcftools norm writes some as ''
        if not present.any():
            return None
        sizes = np.array([v.count(",") for v in values]) + 1
        wrong = np.flatnonzero(present & (sizes != per_sample))
        if wrong.size:
            i = wrong[0]
            what = "one per ALT allele" if field == "DS" else f"one per genotype of its {K} alleles"
            raise _RecordError(f"FORMAT/{field} of sample {self.names[i]!r} is {values[i]!r}: "
                               f"{sizes[i]} values where the site has {per_sample} ({what})")
        try:
            numbers = np.array(",".join(compress(values, present)).split(","), dtype=float)
        except ValueError:
            i = next(i for i in np.flatnonzero(present) if not all(map(_is_number, values[i].split(","))))
            raise _RecordError(f"FORMAT/{field} of sample {self.names[i]!r} is {values[i]!r}, which is not "
                               f"{per_sample} numbers (nor '.', missing)") from None
        out = np.full((len(values), per_sample), np.nan)
        out[present] = numbers.reshape(-1, per_sample)
        nan = np.isnan(out)
        low, high = VALUE_RANGES[field]
        partly = nan.any(axis=1) & ~nan.all(axis=1)
        outside = ~nan & ((out < low) | (out > high))
        bad = np.flatnonzero(partly | outside.any(axis=1))
        if bad.size:
            i = bad[0]
            rule = "is partly missing" if partly[i] else f"is outside [{low:g}, {high:g}]"
            raise _RecordError(f"FORMAT/{field} of sample {self.names[i]!r} is {values[i]!r}, which {rule}")
        return out

    def result(self, samples: tuple[str, ...]) -> VcfData:
        n = len(samples)
        sites = pd.DataFrame(self.sites, columns=list(SITE_COLUMNS)).astype({"pos": np.int64})
        haplotypes = np.stack(self.haplotypes, axis=2) if self.sites else np.empty((n, 2, 0), dtype=np.int64)
        phased = np.stack(self.phased, axis=1) if self.sites else np.empty((n, 0), dtype=bool)
        genotypes = np.where((haplotypes >= 0).all(axis=1), haplotypes.sum(axis=1), -1)
        likelihoods, dosages, probabilities = (_stack(self.fields[k], n) for k in ("likelihoods", "DS", "GP"))
        fields = tuple(f for f in LIKELIHOOD_SCALES if f in self.likelihood_fields)
        return VcfData(samples, sites, genotypes, phased, haplotypes, likelihoods, fields, dosages, probabilities)


def _stack(per_site: list, n: int) -> np.ndarray | None:
    """Per-site arrays (None where a site has none) stacked along axis 1, NaN
    for the sites without; None if no site has any."""
    shape = next((a.shape for a in per_site if a is not None), None)
    if shape is None:
        return None
    return np.stack([np.full(shape, np.nan) if a is None else a for a in per_site], axis=1)


# -- writing ------------------------------------------------------------------------------------------


def write_vcf(path, sites, samples, *, haplotypes=None, phased=None, genotypes=None, dosages=None,
              genotype_probabilities=None, source: str = "latentlab", decimals: int = 4, index: bool = True) -> None:
    """Write genotypes of biallelic sites to a VCF that bcftools and htslib read.

    Parameters
    ----------
    path : the file; ending in ``.gz`` it is bgzipped (and indexed, below),
        otherwise plain text. BCF is not written (``bcftools view -Ob`` converts).
    sites : DataFrame with columns ``chrom``, ``pos`` (1-based), ``ref``,
        ``alt`` (one ALT allele) and optionally ``id`` (``.``, None or NaN for
        none): ``VcfData.sites``, so that read, modify, write works. Other
        columns are not written.
    samples : sample names.
    haplotypes : (n_samples, 2, n_sites) alleles 0/1 (-1, NaN or None
        missing), written as phased GT (``0|1``), or as unphased (``0/1``) where
        ``phased`` ((n_samples, n_sites) bool) is False.
    genotypes : (n_samples, n_sites) alternate-allele counts 0/1/2 (-1 or NaN
        missing), written as unphased GT. Give ``haplotypes`` or
        ``genotypes``, not both.
    dosages : (n_samples, n_sites) alternate-allele dosages in [0, 2] (NaN
        missing), written as ``DS``.
    genotype_probabilities : (n_samples, n_sites, 3) probabilities of 0/0,
        0/1, 1/1, each in [0, 1], summing to 1 within ``GP_SUM_TOLERANCE``
        (a row all NaN is missing), written as ``GP``.
    source : the ``##source`` header line.
    decimals : DS and GP are rounded to this many decimals (0 to ``MAX_DECIMALS``;
        trailing zeros are not written: ``0.5``, ``1``).
    index : for a ``.gz`` path, also write its tabix index (``path + ".tbi"``);
        the sites must then be sorted (each chromosome's sites together, by
        position). An index left by an earlier file of the same name is
        removed either way.

    The header has ``##fileformat=VCFv4.2``, ``##source``, one ``##contig``
    per chromosome (in order of first appearance) and the ``##FORMAT`` lines
    of the fields written. QUAL, FILTER and INFO are ``.``.
    """
    pysam = _pysam()
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file name (str or os.PathLike); got {type(path).__name__}")
    path = os.fspath(path)
    if path.endswith(".bcf"):
        raise ValueError(f"path {path!r}: write_vcf writes VCF (.vcf, .vcf.gz); convert with `bcftools view -Ob`")
    if not isinstance(source, str) or not source or "\n" in source:
        raise ValueError(f"source must be a non-empty string on one line; got {source!r}")
    if isinstance(decimals, bool) or not isinstance(decimals, (int, np.integer)) or not 0 <= decimals <= MAX_DECIMALS:
        raise ValueError(f"decimals must be an integer from 0 to {MAX_DECIMALS}; got {decimals!r}")
    if not isinstance(index, bool):
        raise TypeError(f"index must be True or False; got {index!r}")
    fixed, chroms, pos = _check_sites(sites)
    names = _check_samples(samples)
    shape = (len(names), len(fixed))
    fields = {}  # FORMAT key -> the pieces of the samples' text: (n_samples, n_sites) object arrays and separators
    if haplotypes is not None and genotypes is not None:
        raise ValueError("give haplotypes (phased GT) or genotypes (unphased GT), not both")
    if haplotypes is not None:
        fields["GT"] = [_phased_gt(haplotypes, phased, shape)]
    elif phased is not None:
        raise ValueError("phased goes with haplotypes; genotypes are written unphased")
    if genotypes is not None:
        fields["GT"] = [_unphased_gt(genotypes, shape)]
    if dosages is not None:
        fields["DS"] = [_format(_check_values(dosages, "dosages", shape, "DS"), decimals)]
    if genotype_probabilities is not None:
        gp = _check_values(genotype_probabilities, "genotype_probabilities", shape + (3,), "GP")
        off = np.abs(gp.sum(axis=2) - 1.0) > GP_SUM_TOLERANCE  # NaN rows compare False
        if off.any():
            i, j = np.argwhere(off)[0]
            raise ValueError(f"genotype_probabilities[{i}, {j}] = {gp[i, j].tolist()} sums to {gp[i, j].sum():g}, "
                             f"not 1 (within {GP_SUM_TOLERANCE})")
        absent = np.isnan(gp).all(axis=2)  # written '.': the first piece, without commas or other pieces
        first, comma = np.where(absent, ".", _format(gp[..., 0], decimals)), np.where(absent, "", ",").astype(object)
        fields["GP"] = [first, comma, np.where(absent, "", _format(gp[..., 1], decimals)),
                        comma, np.where(absent, "", _format(gp[..., 2], decimals))]
    if not fields:
        raise ValueError("nothing to write: give haplotypes, genotypes, dosages or genotype_probabilities")
    compressed = path.endswith(".gz")
    if compressed and index:
        _check_sorted(chroms, pos)
    keys = list(fields)
    pieces = [piece for key in keys for piece in [":", *fields[key]]][1:]
    prefixes = [f"{f}\t{':'.join(keys)}\t" for f in fixed]
    step = max(1, WRITE_CHUNK // (len(names) * (len(pieces) + 1)))
    for ext in (".tbi", ".csi"):  # an index of the file replaced would send region reads astray
        with contextlib.suppress(FileNotFoundError):
            os.remove(path + ext)
    with (pysam.BGZFile(path, "wb") if compressed else open(path, "wb")) as out:
        out.write(_header(pysam, source, list(dict.fromkeys(chroms)), keys, names).encode("utf-8"))
        for start in range(0, len(fixed), step):
            cut = slice(start, start + step)
            out.write(_lines(prefixes[cut], [p[:, cut] if isinstance(p, np.ndarray) else p for p in pieces], len(names)))
    if compressed and index:
        pysam.tabix_index(path, preset="vcf", force=True)


def _lines(prefixes: list[str], pieces: list, n_samples: int) -> bytes:
    """The record lines of some sites: each site's fixed columns and FORMAT
    (``prefixes``), then each sample's pieces of text, joined at once."""
    cells = np.empty((len(prefixes), n_samples, len(pieces) + 1), dtype=object)
    for k, piece in enumerate(pieces):
        cells[:, :, k] = piece.T if isinstance(piece, np.ndarray) else piece
    cells[:, :, -1] = "\t"
    cells[:, -1, -1] = "\n"
    rows = np.column_stack([np.array(prefixes, dtype=object), cells.reshape(len(prefixes), -1)])
    return "".join(rows.ravel().tolist()).encode("utf-8")


def _check_text(values, name: str, allow_comma: bool = True) -> list[str]:
    """Strings without whitespace (and without commas unless allowed)."""
    out = []
    for i, v in enumerate(values):
        if not isinstance(v, str) or not v or re.search(r"\s", v) or (not allow_comma and "," in v):
            what = "a non-empty string without spaces or tabs" + ("" if allow_comma else " or commas")
            raise ValueError(f"{name}: row {i} is {v!r}; expected {what}")
        out.append(v)
    return out


def _check_sites(sites) -> tuple[list[str], list[str], np.ndarray]:
    """The fixed columns (CHROM .. INFO) of each site as text, the chromosomes and the positions."""
    if not isinstance(sites, pd.DataFrame):
        raise TypeError(f"sites must be a DataFrame with columns {list(SITE_COLUMNS)}; got {type(sites).__name__}")
    absent = [c for c in ("chrom", "pos", "ref", "alt") if c not in sites.columns]
    if absent:
        raise ValueError(f"sites lacks the column(s) {absent}; it needs chrom, pos, ref, alt (and optionally id)")
    if len(sites) == 0:
        raise ValueError("sites is empty; at least one site is needed")
    chroms = _check_text([str(c) if isinstance(c, (int, np.integer)) else c for c in sites["chrom"]], "sites.chrom")
    pos = as_array(sites["pos"], "sites.pos", ndim=1)
    bad = ~((pos >= 1) & (pos == np.round(pos)))
    if bad.any():
        raise ValueError(f"sites.pos: row {int(np.argmax(bad))} is {pos[bad][0]:g}; positions are whole numbers >= 1")
    ref = _check_text(list(sites["ref"]), "sites.ref", allow_comma=False)
    alt = _check_text(list(sites["alt"]), "sites.alt", allow_comma=False)
    if "." in alt:
        raise ValueError(f"sites.alt: row {alt.index('.')} has no ALT allele ('.'); write_vcf writes biallelic sites")
    ids = ["."] * len(sites) if "id" not in sites.columns else [
        "." if v is None or (isinstance(v, float) and np.isnan(v)) else v for v in sites["id"]]
    ids = _check_text(ids, "sites.id")
    fixed = [f"{c}\t{int(p)}\t{i}\t{r}\t{a}\t.\t.\t." for c, p, i, r, a in zip(chroms, pos, ids, ref, alt)]
    return fixed, chroms, pos


def _check_samples(samples) -> list[str]:
    if isinstance(samples, str) or not hasattr(samples, "__iter__"):
        raise TypeError(f"samples must be a list of sample names; got {samples!r}")
    names = list(samples)
    if not names:
        raise ValueError("samples is empty; at least one sample is needed")
    for i, s in enumerate(names):
        if not isinstance(s, str) or not s or re.search(r"[\t\n\r]", s):
            raise ValueError(f"samples[{i}] is {s!r}; sample names are non-empty strings without tabs or line breaks")
    repeated = sorted({s for s in names if names.count(s) > 1})
    if repeated:
        raise ValueError(f"samples lists {repeated} more than once")
    return names


def _check_shape(arr: np.ndarray, name: str, shape: tuple, layout: str) -> None:
    if arr.shape != shape:
        raise ValueError(f"{name} has shape {arr.shape}; expected {shape} ({layout})")


def _phased_gt(haplotypes, phased, shape) -> np.ndarray:
    n, L = shape
    h = as_array(haplotypes, "haplotypes", ndim=3)
    _check_shape(h, "haplotypes", (n, 2, L), "samples, 2, sites")
    h = np.where(np.isnan(h), -1, h)
    bad = ~np.isin(h, (-1, 0, 1))
    if bad.any():
        i, k, j = np.argwhere(bad)[0]
        raise ValueError(f"haplotypes[{i}, {k}, {j}] is {h[i, k, j]:g}; alleles are 0 (REF), 1 (ALT) or -1/NaN "
                         "(missing)")
    if phased is None:
        sep = np.ones(shape, dtype=bool)
    else:
        sep = as_array(phased, "phased", ndim=2, allow_bool=True)
        _check_shape(sep, "phased", shape, "samples, sites")
        if not np.isin(sep, (0, 1)).all():
            raise ValueError("phased must hold True/False (or 1/0)")
        sep = sep.astype(bool)
    table = np.array([f"{a}{s}{b}" for s in "/|" for a in ".01" for b in ".01"], dtype=object)
    return table[9 * sep + 3 * (h[:, 0].astype(int) + 1) + (h[:, 1].astype(int) + 1)]


def _unphased_gt(genotypes, shape) -> np.ndarray:
    g = as_array(genotypes, "genotypes", ndim=2)
    _check_shape(g, "genotypes", shape, "samples, sites")
    g = np.where(np.isnan(g), -1, g)
    bad = ~np.isin(g, (-1, 0, 1, 2))
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise ValueError(f"genotypes[{i}, {j}] is {g[i, j]:g}; alternate-allele counts are 0, 1, 2 or -1/NaN "
                         "(missing)")
    return np.array(["./.", "0/0", "0/1", "1/1"], dtype=object)[g.astype(int) + 1]


#: a DS or GP value this far outside its range is round-off (a dosage P(1) + 2 P(2) of 2 + 4e-16) and is clamped
ROUND_OFF = 1e-9


def _check_values(x, name: str, shape: tuple, field: str) -> np.ndarray:
    arr = as_array(x, name, ndim=len(shape))
    _check_shape(arr, name, shape, "samples, sites" + (", 3 genotypes" if len(shape) == 3 else ""))
    low, high = VALUE_RANGES[field]
    bad = ~np.isnan(arr) & ((arr < low - ROUND_OFF) | (arr > high + ROUND_OFF))
    if arr.ndim == 3:
        nan = np.isnan(arr)
        bad |= (nan.any(axis=2) & ~nan.all(axis=2))[..., None] & nan
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        rule = f"in [{low:g}, {high:g}]" + (" (a sample's three all given or all NaN)" if arr.ndim == 3 else "")
        raise ValueError(f"{name}[{', '.join(map(str, idx))}] is {arr[idx]:g}; {field} values are {rule}, NaN missing")
    return np.clip(arr, low, high)  # only round-off lies outside


@cache
def _number_table(decimals: int) -> np.ndarray:
    """The text of every multiple of ``10**-decimals`` from 0 to 2, then ``.`` (missing)."""
    scale = 10**decimals
    text = [f"{k / scale:.{decimals}f}".rstrip("0").rstrip(".") if decimals else str(k) for k in range(2 * scale + 1)]
    return np.array(text + ["."], dtype=object)


def _format(x: np.ndarray, decimals: int) -> np.ndarray:
    """Numbers in [0, 2] (NaN missing) as text rounded to ``decimals`` decimals,
    looked up in a table (formatting each number would take most of the writing time)."""
    table = _number_table(decimals)
    k = np.rint(np.nan_to_num(x, nan=0.0) * 10**decimals).astype(np.int64)
    return table[np.where(np.isnan(x), len(table) - 1, k)]


def _check_sorted(chroms: list[str], pos: np.ndarray) -> None:
    """Each chromosome's sites together and in order of position (what a tabix index needs)."""
    seen = set()
    for j in range(1, len(chroms)):
        if chroms[j] != chroms[j - 1]:
            seen.add(chroms[j - 1])
            if chroms[j] in seen:
                raise ValueError(f"sites: row {j} returns to chromosome {chroms[j]!r} after others; an indexed "
                                 "VCF keeps each chromosome's sites together (sort them, or pass index=False)")
        elif pos[j] < pos[j - 1]:
            raise ValueError(f"sites: row {j} ({chroms[j]}:{int(pos[j])}) comes after position {int(pos[j - 1])}; an "
                             "indexed VCF has each chromosome's sites in order (sort them, or pass index=False)")


def _header(pysam, source: str, contigs: list[str], keys: list[str], samples: list[str]) -> str:
    """The header text, made by htslib's header writer."""
    header = pysam.VariantHeader()
    header.add_line(f"##source={source}")
    for contig in contigs:
        header.contigs.add(contig)
    described = {
        "GT": (1, "String", "Genotype"),
        "DS": ("A", "Float", "Estimated alternate allele dosage"),
        "GP": ("G", "Float", "Estimated posterior probabilities of the genotypes 0/0, 0/1 and 1/1"),
    }
    for key in keys:
        header.formats.add(key, *described[key])
    for s in samples:
        header.add_sample(s)
    return str(header)
