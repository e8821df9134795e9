"""Experimental crosses: markers on a genetic map, genotypes, phenotypes.

A backcross (``"bc"``: F1 x parent A) has two genotypes at each autosomal
locus, AA and AB; an F2 intercross (``"f2"``: F1 x F1) has three, AA, AB and
BB, and its markers may also be scored as "not BB" (AA or AB, a dominant
marker) or "not AA". Genotypes are held as R/qtl holds them (Broman et al.
2003): integer codes per individual and marker, 0 for missing,

    autosomes: 1 = AA, 2 = AB, 3 = BB, 4 = not BB, 5 = not AA;
    X chromosome: 1 = g1, 2 = g2,

where on the X chromosome a male is hemizygous (g1 = AY, g2 = BY), a
backcross female is AA (g1) or AB (g2), and an intercross female is AA or AB
if her paternal grandmother was of strain A (``pgm = 0``) and BB (g1) or AB
(g2) if she was of strain B (``pgm = 1``). Reading a file turns the usual
AA/AB/BB codes of the X chromosome into g1/g2 by sex and ``pgm``, as R/qtl's
``read.cross`` does.

:func:`read_cross_csv` reads R/qtl's ``csv`` format (row 1: phenotype and
marker names; row 2: chromosome of each marker; row 3: position in cM; then one
row per individual); :func:`make_cross` builds a cross from pandas objects.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._warn import user_stacklevel

__all__ = ["Chromosome", "Cross", "make_cross", "read_cross_csv", "CROSS_TYPES", "RQTL_GENOTYPES"]

CROSS_TYPES = ("bc", "f2")
#: R/qtl's default genotype strings for codes 1-5 (AA, AB, BB, not BB, not AA)
RQTL_GENOTYPES = ("A", "H", "B", "D", "C")
#: autosomal codes each cross type has
_CODES = {"bc": (1, 2), "f2": (1, 2, 3, 4, 5)}
_CODE_NAMES = ("AA", "AB", "BB", "not BB", "not AA")


@dataclass(frozen=True)
class Chromosome:
    """One chromosome: marker names, positions (cM, non-decreasing) and
    genotype codes (individuals x markers, 0 = missing; see the module
    docstring for the codes)."""

    name: str
    markers: tuple[str, ...]
    positions: np.ndarray
    genotypes: np.ndarray
    is_x: bool

    @property
    def length(self) -> float:
        """Distance in cM from the first marker to the last."""
        return float(self.positions[-1] - self.positions[0])


@dataclass(frozen=True)
class Cross:
    """A backcross or intercross: chromosomes, phenotypes, and the sex (0
    female, 1 male) and paternal grandmother (``pgm``, 0 or 1) of each
    individual, which the X chromosome needs (None where not given)."""

    cross_type: str
    chromosomes: tuple[Chromosome, ...]
    phenotypes: pd.DataFrame
    sex: np.ndarray | None = None
    pgm: np.ndarray | None = None
    alleles: tuple[str, str] = ("A", "B")

    @property
    def n_individuals(self) -> int:
        return len(self.phenotypes)

    @property
    def chromosome_names(self) -> list[str]:
        return [c.name for c in self.chromosomes]

    def chromosome(self, name) -> Chromosome:
        """The chromosome called ``name`` (a string or a number)."""
        for c in self.chromosomes:
            if c.name == str(name):
                return c
        raise ValueError(f"chromosome {name!r} is not in this cross; it has {self.chromosome_names}")

    def markers(self) -> pd.DataFrame:
        """The genetic map: one row per marker (chromosome, position in cM)."""
        return pd.DataFrame(
            [(m, c.name, p) for c in self.chromosomes for m, p in zip(c.markers, c.positions)],
            columns=["marker", "chromosome", "position"],
        )

    def __repr__(self) -> str:
        n_mar = sum(len(c.markers) for c in self.chromosomes)
        return (f"Cross({self.cross_type!r}, {self.n_individuals} individuals, {len(self.chromosomes)} chromosomes, "
                f"{n_mar} markers, phenotypes {list(self.phenotypes.columns)})")


def read_cross_csv(path, codes=RQTL_GENOTYPES, na_values=("-", "NA"), cross_type: str | None = None,
                   alleles=("A", "B")) -> Cross:
    """Read a cross in R/qtl's ``csv`` format.

    Parameters
    ----------
    path : the file.
    codes : the strings for genotypes AA, AB, BB, not BB, not AA, in that
        order (R/qtl's ``genotypes``; a backcross needs the first two, and the
        third where males' X genotypes are written as the other homozygote).
    na_values : strings that mark a missing genotype.
    cross_type : ``"bc"`` or ``"f2"``; by default ``"bc"`` when the autosomes
        hold only the first two codes, else ``"f2"``.
    alleles : one-letter names of the two founder alleles, for genotype labels.

    The phenotype columns are those whose chromosome cell (row 2) is empty; a
    phenotype called ``sex`` (female/male, f/m or 0/1) and one called ``pgm``
    (0/1) give what the X chromosome needs.
    """
    raw = pd.read_csv(path, header=None, dtype=str, keep_default_na=False)
    if raw.shape[0] < 4:
        raise ValueError(f"{path}: an R/qtl csv file has a row of names, a row of chromosomes, a row of positions "
                         f"and then one row per individual; this one has {raw.shape[0]} rows")
    names = raw.iloc[0].str.strip().tolist()
    chrom_row = raw.iloc[1].str.strip()
    is_marker = (chrom_row != "").to_numpy()
    if not is_marker.any():
        raise ValueError(f"{path}: row 2 names no chromosome for any column, so there are no markers")
    if not is_marker[np.argmax(is_marker):].all():
        raise ValueError(f"{path}: phenotype columns (empty chromosome cell) must come before the markers")
    body = raw.iloc[3:].reset_index(drop=True)
    phen = body.loc[:, ~is_marker]
    phen.columns = [n for n, m in zip(names, is_marker) if not m]
    phen = phen.replace(list(na_values) + [""], np.nan).apply(_numeric_if_possible)
    try:
        positions = raw.iloc[2, is_marker].astype(float).to_numpy()
    except ValueError:
        raise ValueError(f"{path}: row 3 must hold the position (cM) of every marker") from None
    markers = pd.DataFrame({"chromosome": chrom_row[is_marker].to_numpy(), "position": positions},
                           index=[n for n, m in zip(names, is_marker) if m])
    geno = body.loc[:, is_marker]
    geno.columns = markers.index
    return make_cross(geno, markers, phen, cross_type=cross_type, codes=codes, na_values=na_values,
                      alleles=alleles)


def _numeric_if_possible(col: pd.Series) -> pd.Series:
    converted = pd.to_numeric(col, errors="coerce")
    return converted if converted.notna().sum() == col.notna().sum() else col


def make_cross(genotypes: pd.DataFrame, markers: pd.DataFrame, phenotypes: pd.DataFrame, cross_type: str | None = None,
               codes=RQTL_GENOTYPES, na_values=("-", "NA"), alleles=("A", "B")) -> Cross:
    """A cross from pandas objects.

    Parameters
    ----------
    genotypes : DataFrame, one row per individual and one column per marker,
        holding the strings ``codes`` (AA, AB, BB, not BB, not AA) or
        the integer codes 1-5; missing as NaN, 0 or one of ``na_values``.
    markers : DataFrame indexed by marker name with columns ``chromosome`` and
        ``position`` (cM); markers are taken in this order, which must be the
        order along each chromosome.
    phenotypes : DataFrame with one row per individual (the rows of
        ``genotypes``, in the same order); ``sex`` and ``pgm`` columns, if
        present, are read as described in :func:`read_cross_csv`.
    cross_type : ``"bc"``, ``"f2"`` or None (inferred from the autosomal codes).
    """
    if not isinstance(genotypes, pd.DataFrame):
        raise TypeError(f"genotypes must be a pandas DataFrame (individuals x markers); got {type(genotypes).__name__}")
    if not isinstance(markers, pd.DataFrame) or not {"chromosome", "position"} <= set(markers.columns):
        raise TypeError("markers must be a pandas DataFrame indexed by marker name with columns 'chromosome' and 'position'")
    if not isinstance(phenotypes, pd.DataFrame):
        raise TypeError(f"phenotypes must be a pandas DataFrame (one row per individual); got {type(phenotypes).__name__}")
    if len(phenotypes) != len(genotypes):
        raise ValueError(f"phenotypes has {len(phenotypes)} rows but genotypes has {len(genotypes)}: one row per individual in both")
    if cross_type is not None and cross_type not in CROSS_TYPES:
        raise ValueError(f"cross_type must be one of {CROSS_TYPES} or None; got {cross_type!r}")
    unknown = [m for m in genotypes.columns if m not in markers.index]
    if unknown:
        raise ValueError(f"genotypes: marker {unknown[0]!r} is not in markers (the genetic map)")
    if markers.index.duplicated().any():
        raise ValueError(f"markers: marker {markers.index[markers.index.duplicated()][0]!r} appears twice")
    positions = pd.to_numeric(markers["position"], errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(positions).all():
        bad = markers.index[~np.isfinite(positions)][0]
        raise ValueError(f"markers: the position of {bad!r} is {markers.loc[bad, 'position']!r}; positions must be finite numbers (cM)")
    codes = _encode(genotypes.reindex(columns=markers.index), codes, na_values)
    chrom_names = markers["chromosome"].astype(str).str.strip().to_numpy()
    order = list(dict.fromkeys(chrom_names))
    is_x = np.array([c.upper() == "X" for c in chrom_names])
    cross_type = cross_type or ("bc" if set(np.unique(codes[:, ~is_x])) <= {0, 1, 2} else "f2")
    _check_autosomal_codes(codes[:, ~is_x], markers.index[~is_x], genotypes.index, cross_type)
    phenotypes = phenotypes.reset_index(drop=True)
    sex, pgm = _sex_and_pgm(phenotypes)
    chromosomes = []
    for name in order:
        cols = np.flatnonzero(chrom_names == name)
        _check_order(name, markers.index[cols], positions[cols])
        g = codes[:, cols]
        x = name.upper() == "X"
        if x:
            g, sex, pgm = _x_codes(g, sex, pgm, cross_type, markers.index[cols], genotypes.index)
        chromosomes.append(Chromosome(name, tuple(map(str, markers.index[cols])), positions[cols], g, x))
    return Cross(cross_type, tuple(chromosomes), phenotypes, sex, pgm, tuple(alleles))


def _encode(frame: pd.DataFrame, codes, na_values) -> np.ndarray:
    """Integer codes 0-5 of a DataFrame of genotype strings or integers."""
    lookup = {str(s): i + 1 for i, s in enumerate(codes)}
    lookup.update({str(i): i for i in range(6)})
    lookup.update({str(float(i)): i for i in range(6)})
    for na in na_values:
        lookup[str(na)] = 0
    values = frame.to_numpy(dtype=object)
    out = np.zeros(values.shape, dtype=np.int8)
    missing = pd.isna(values)
    for (i, j), v in np.ndenumerate(values):
        if missing[i, j]:
            continue
        code = lookup.get(str(v).strip())
        if code is None:
            raise ValueError(
                f"genotypes: individual {frame.index[i]!r}, marker {frame.columns[j]!r} holds {v!r}, which is not a "
                f"genotype code ({', '.join(map(repr, codes))} for AA, AB, BB, not BB, not AA) or a "
                f"missing value ({', '.join(map(repr, na_values))})")
        out[i, j] = code
    return out


def _check_autosomal_codes(codes, marker_names, individuals, cross_type) -> None:
    bad = (codes != 0) & ~np.isin(codes, _CODES[cross_type])
    if bad.any():
        i, j = np.argwhere(bad)[0]
        allowed = ", ".join(_CODE_NAMES[c - 1] for c in _CODES[cross_type])
        raise ValueError(f"genotypes: individual {individuals[i]!r}, marker {marker_names[j]!r} is "
                         f"{_CODE_NAMES[codes[i, j] - 1]}, a genotype a {cross_type!r} cross does not have "
                         f"(its autosomes have {allowed})")


def _check_order(chrom, marker_names, positions) -> None:
    down = np.flatnonzero(np.diff(positions) < 0)
    if down.size:
        j = down[0]
        raise ValueError(f"markers are out of order on chromosome {chrom}: {marker_names[j + 1]!r} at "
                         f"{positions[j + 1]:g} cM follows {marker_names[j]!r} at {positions[j]:g} cM; "
                         "list each chromosome's markers by position")


def _sex_and_pgm(phenotypes: pd.DataFrame):
    """0/1 arrays from columns named sex and pgm (any case), or None."""
    cols = {str(c).lower(): c for c in phenotypes.columns}
    sex = pgm = None
    if "sex" in cols:
        raw = phenotypes[cols["sex"]]
        table = {"female": 0, "f": 0, "0": 0, "0.0": 0, "male": 1, "m": 1, "1": 1, "1.0": 1}
        mapped = raw.map(lambda v: table.get(str(v).strip().lower()) if pd.notna(v) else None)
        if mapped.isna().any():
            i = int(np.flatnonzero(mapped.isna())[0])
            raise ValueError(f"phenotypes: sex of individual {i} is {raw.iloc[i]!r}; use female/male, f/m or 0/1")
        sex = mapped.to_numpy(dtype=np.int8)
    if "pgm" in cols:
        raw = pd.to_numeric(phenotypes[cols["pgm"]], errors="coerce")
        if not raw.isin([0, 1]).all():
            i = int(np.flatnonzero(~raw.isin([0, 1]))[0])
            raise ValueError(f"phenotypes: pgm of individual {i} is {phenotypes[cols['pgm']].iloc[i]!r}; pgm must be 0 or 1")
        pgm = raw.to_numpy(dtype=np.int8)
    return sex, pgm


def _x_codes(codes, sex, pgm, cross_type, marker_names, individuals):
    """X genotypes as g1/g2 (module docstring), with sex and pgm inferred as
    R/qtl's read.cross does when the file does not give them: males when only
    AA and BB occur, females when only AA and AB occur."""
    n = codes.shape[0]
    seen = set(np.unique(codes)) - {0}
    if sex is None:
        if seen <= {1, 3}:
            sex = np.ones(n, dtype=np.int8)
        elif seen <= {1, 2}:
            sex = np.zeros(n, dtype=np.int8)
        else:
            raise ValueError("the X chromosome holds AA, AB and BB genotypes but there is no 'sex' phenotype to "
                             "tell hemizygous males from females: add a sex column")
    if pgm is None:
        pgm = np.zeros(n, dtype=np.int8)
        female = codes[sex == 0]
        if cross_type == "f2" and np.isin(female, (3,)).any():
            if np.isin(female, (1,)).any():
                raise ValueError("X chromosome: females are both AA and BB, so they come from both cross directions; "
                                 "add a 'pgm' phenotype (0/1, the paternal grandmother's strain)")
            pgm[:] = 1
    out = np.zeros_like(codes)
    rules = []  # (rows, {code: g})
    rules.append((sex == 1, {1: 1, 3: 2}, "a male (hemizygous: AA or BB, read as AY or BY)"))
    if cross_type == "bc":
        rules.append((sex == 0, {1: 1, 2: 2}, "a backcross female (AA or AB)"))
    else:
        rules.append(((sex == 0) & (pgm == 0), {1: 1, 2: 2}, "a female with pgm = 0 (AA or AB)"))
        rules.append(((sex == 0) & (pgm == 1), {3: 1, 2: 2}, "a female with pgm = 1 (BB or AB)"))
    for rows, table, who in rules:
        for i in np.flatnonzero(rows):
            for j in np.flatnonzero(codes[i]):
                g = table.get(int(codes[i, j]))
                if g is None:
                    raise ValueError(f"genotypes: individual {individuals[i]!r} is {_CODE_NAMES[codes[i, j] - 1]} at "
                                     f"X marker {marker_names[j]!r}, a genotype {who} cannot have; set it missing")
                out[i, j] = g
    if not codes.any():
        warnings.warn("the X chromosome has no genotype at all: its genotype probabilities are the prior ones",
                      UserWarning, stacklevel=user_stacklevel())
    return out, sex, pgm
