"""VCF in and out: round trips (through bcftools when it is installed), GL and
PL against the file's own numbers, multi-allelic sites refused or split as
``bcftools norm -m-`` splits them, missing genotypes, regions and samples,
malformed files named by line, and the reader feeding the estimators."""

import gzip
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

pysam = pytest.importorskip("pysam")

from latentlab.genetics import (  # noqa: E402 (after the skip: the module needs pysam)
    AlleleFrequencies,
    HaplotypeEM,
    VcfData,
    allele_frequencies_by_locus,
    allele_frequencies_from_likelihoods,
    read_vcf,
    simulate_genotype_likelihoods,
    simulate_genotypes,
    simulate_haplotypes,
    write_vcf,
)

BCFTOOLS = shutil.which("bcftools")
needs_bcftools = pytest.mark.skipif(BCFTOOLS is None, reason="bcftools is not installed (apt-get install bcftools)")

HEADER = [
    "##fileformat=VCFv4.2",
    "##contig=<ID=1>",
    "##contig=<ID=2>",
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
    '##FORMAT=<ID=GL,Number=G,Type=Float,Description="Genotype likelihoods, log10">',
    '##FORMAT=<ID=PL,Number=G,Type=Integer,Description="Genotype likelihoods, phred">',
    '##FORMAT=<ID=DS,Number=A,Type=Float,Description="Dosage">',
    '##FORMAT=<ID=GP,Number=G,Type=Float,Description="Genotype probabilities">',
]


def vcf_text(records, samples=("A", "B", "C")):
    """A VCF with HEADER, the #CHROM line of ``samples`` and ``records``
    (tab-separated strings, or lists of columns)."""
    chrom = "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *samples])
    lines = [r if isinstance(r, str) else "\t".join(r) for r in records]
    return "\n".join([*HEADER, chrom, *lines]) + "\n"


def record(chrom, pos, ref, alt, fmt, *values, vid="."):
    return "\t".join([chrom, str(pos), vid, ref, alt, ".", ".", ".", fmt, *values])


def write(path, text):
    path.write_text(text)
    return path


def bgzip(path):
    """Compress ``path`` with bgzip and index it (tabix); the .vcf.gz path."""
    return pysam.tabix_index(str(path), preset="vcf", force=True)


def small_sites(L, chrom="1"):
    return pd.DataFrame({"chrom": chrom, "pos": np.arange(1, L + 1) * 100, "id": [f"rs{j}" for j in range(L)],
                         "ref": "A", "alt": "G"})


# -- round trips -----------------------------------------------------------------------------------------


@pytest.fixture
def imputed():
    """Phased haplotypes with a missing allele, dosages and genotype
    probabilities with missing entries, over two chromosomes."""
    rng = np.random.default_rng(3)
    n, L = 6, 8
    sites = pd.concat([small_sites(5), small_sites(3, chrom="2")], ignore_index=True)
    haplotypes = rng.integers(0, 2, (n, 2, L))
    haplotypes[1, 0, 2] = -1
    gp = rng.dirichlet(np.ones(3), size=(n, L))
    gp[2, 3] = np.nan
    ds = gp[..., 1] + 2 * gp[..., 2]
    ds[4, 1] = np.nan
    return sites, [f"S{i}" for i in range(n)], haplotypes, ds, gp


def test_round_off_outside_the_range_of_ds_and_gp_is_written_as_the_bound(tmp_path):
    sites, samples = small_sites(2), ["a", "b"]
    ds = np.array([[2.0 + 4e-16, 0.5], [-1e-15, 1.0]])
    write_vcf(tmp_path / "x.vcf", sites, samples, genotypes=[[2, 0], [0, 1]], dosages=ds)
    np.testing.assert_array_equal(read_vcf(tmp_path / "x.vcf").dosages, [[2.0, 0.5], [0.0, 1.0]])
    with pytest.raises(ValueError, match="dosages"):
        write_vcf(tmp_path / "y.vcf", sites, samples, genotypes=[[2, 0], [0, 1]], dosages=ds + [[1e-6, 0], [0, 0]])


def test_round_trip_of_phased_haplotypes_dosages_and_probabilities(tmp_path, imputed):
    sites, samples, haplotypes, ds, gp = imputed
    path = tmp_path / "out.vcf.gz"
    write_vcf(path, sites, samples, haplotypes=haplotypes, dosages=ds, genotype_probabilities=gp, decimals=4)
    assert (tmp_path / "out.vcf.gz.tbi").exists()
    data = read_vcf(path)
    assert data.samples == tuple(samples)
    pd.testing.assert_frame_equal(data.sites, sites)
    np.testing.assert_array_equal(data.haplotypes, haplotypes)
    assert data.phased.all()
    expected = np.where((haplotypes >= 0).all(axis=1), haplotypes.sum(axis=1), -1)
    np.testing.assert_array_equal(data.genotypes, expected)
    np.testing.assert_allclose(data.dosages, np.round(ds, 4), atol=1e-12)
    np.testing.assert_allclose(data.genotype_probabilities, np.round(gp, 4), atol=1e-12)
    assert data.likelihoods is None and data.likelihood_fields == ()
    # read, modify, write: the sites of a VcfData go back out as they came
    write_vcf(tmp_path / "again.vcf", data.sites, data.samples, genotypes=data.genotypes, phased=None)
    again = read_vcf(tmp_path / "again.vcf")
    pd.testing.assert_frame_equal(again.sites, data.sites)
    np.testing.assert_array_equal(again.genotypes, data.genotypes)
    assert not again.phased.any()


def test_mixed_phase_is_written_as_read(tmp_path):
    text = vcf_text([record("1", 10, "A", "G", "GT", "0|1", "1/0", "./."),
                     record("1", 20, "C", "T", "GT", "1|1", "0|1", ".|1")])
    data = read_vcf(write(tmp_path / "in.vcf", text))
    write_vcf(tmp_path / "out.vcf", data.sites, data.samples, haplotypes=data.haplotypes, phased=data.phased)
    body = [line.split("\t")[9:] for line in (tmp_path / "out.vcf").read_text().splitlines() if line[0] != "#"]
    assert body == [["0|1", "1/0", "./."], ["1|1", "0|1", ".|1"]]


@pytest.mark.parametrize("decimals, expected", [(2, ["0.5", "1", "1.23", "."]), (0, ["0", "1", "1", "."])])
def test_numbers_are_written_short(tmp_path, decimals, expected):
    ds = np.array([[0.5, 1.0, 1.2345, np.nan]])
    write_vcf(tmp_path / "ds.vcf", small_sites(4), ["A"], dosages=ds, decimals=decimals)
    body = [line.split("\t") for line in (tmp_path / "ds.vcf").read_text().splitlines() if line[0] != "#"]
    assert [r[8] for r in body] == ["DS"] * 4 and [r[9] for r in body] == expected


@needs_bcftools
def test_bcftools_reads_what_write_vcf_writes(tmp_path, imputed):
    sites, samples, haplotypes, ds, gp = imputed
    path = tmp_path / "out.vcf.gz"
    write_vcf(path, sites, samples, haplotypes=haplotypes, dosages=ds, genotype_probabilities=gp, decimals=3)
    view = subprocess.run([BCFTOOLS, "view", "-H", str(path)], capture_output=True, text=True, check=True)
    assert len(view.stdout.splitlines()) == len(sites)
    names = subprocess.run([BCFTOOLS, "query", "-l", str(path)], capture_output=True, text=True, check=True)
    assert names.stdout.split() == samples
    query = subprocess.run([BCFTOOLS, "query", "-f", "%CHROM\t%POS\t%ID\t%REF\t%ALT[\t%GT\t%DS\t%GP]\n", str(path)],
                           capture_output=True, text=True, check=True)
    rows = [line.split("\t") for line in query.stdout.splitlines()]
    assert [r[:5] for r in rows] == sites.astype(str).to_numpy().tolist()
    for j, r in enumerate(rows):
        for i in range(len(samples)):
            gt, dosage, probabilities = r[5 + 3 * i: 8 + 3 * i]
            a, b = (".01"[h + 1] for h in haplotypes[i, :, j])
            assert gt == f"{a}|{b}"
            assert dosage == "." if np.isnan(ds[i, j]) else float(dosage) == pytest.approx(ds[i, j], abs=6e-4)
            if np.isnan(gp[i, j]).all():
                assert probabilities == "."
            else:
                np.testing.assert_allclose([float(x) for x in probabilities.split(",")], gp[i, j], atol=6e-4)
    region = subprocess.run([BCFTOOLS, "view", "-H", "-r", "2", str(path)], capture_output=True, text=True, check=True)
    assert len(region.stdout.splitlines()) == 3  # the index works


def test_bcf_is_read(tmp_path):
    text = vcf_text([record("1", 10, "A", "G", "GT:PL", "0|1:20,0,30", "1/1:40,10,0", "./.:.")])
    source = write(tmp_path / "in.vcf", text)
    with pysam.VariantFile(str(source)) as vf, pysam.VariantFile(str(tmp_path / "in.bcf"), "wb", header=vf.header) as out:
        for rec in vf:
            out.write(rec)
    a, b = read_vcf(source), read_vcf(tmp_path / "in.bcf")
    assert a.samples == b.samples
    pd.testing.assert_frame_equal(a.sites, b.sites)
    for field in ("genotypes", "phased", "haplotypes", "likelihoods"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))


# -- GL and PL ------------------------------------------------------------------------------------------


def test_gl_and_pl_become_natural_logs(tmp_path):
    text = vcf_text([
        record("1", 10, "A", "G", "GT:GL", "0/1:-1.5,0,-2.25", "1/1:-4,-1,-0.5", "./.:."),
        record("1", 20, "A", "G", "GT:PL", "0/0:0,10,40", "0/1:25,0,5", "1/1:99,30,0"),
        record("1", 30, "A", "G", "GT", "0/0", "0/0", "0/1"),
        record("1", 40, "A", "G", "GT:PL:GL", "0/0:0,20,30:-0.25,-2,-3", "0/0:0,3,6:-0.1,-0.3,-0.6", "0/0:.:."),
    ])
    data = read_vcf(write(tmp_path / "gl.vcf", text))
    ln10 = np.log(10.0)
    lik = data.likelihoods
    assert lik.shape == (3, 4, 3)
    np.testing.assert_allclose(lik[0, 0], np.array([-1.5, 0, -2.25]) * ln10)
    np.testing.assert_allclose(lik[1, 0], np.array([-4, -1, -0.5]) * ln10)
    assert np.isnan(lik[2, 0]).all()
    np.testing.assert_allclose(lik[:, 1], -np.array([[0, 10, 40], [25, 0, 5], [99, 30, 0]]) / 10 * ln10)
    assert np.isnan(lik[:, 2]).all()  # no likelihood in the record
    np.testing.assert_allclose(lik[0, 3], np.array([-0.25, -2, -3]) * ln10)  # GL preferred to PL
    assert data.likelihood_fields == ("GL", "PL")
    pl = read_vcf(tmp_path / "gl.vcf", likelihood_field="PL")
    assert pl.likelihood_fields == ("PL",) and np.isnan(pl.likelihoods[:, 0]).all()
    np.testing.assert_allclose(pl.likelihoods[0, 3], -np.array([0, 20, 30]) / 10 * ln10)
    none = read_vcf(tmp_path / "gl.vcf", likelihood_field=None)
    assert none.likelihoods is None and none.likelihood_fields == ()
    np.testing.assert_array_equal(data.likelihoods_by_variant(), lik.transpose(1, 0, 2))
    with pytest.raises(ValueError, match="no genotype likelihoods"):
        none.likelihoods_by_variant()


# -- multi-allelic sites ----------------------------------------------------------------------------------

MULTI = [
    record("1", 10, "A", "G", "GT:PL", "0/1:10,0,20", "1/1:30,20,0", "0/0:0,5,9"),
    record("1", 20, "A", "G,T", "GT:PL:GL:DS:GP", "1/2:1,2,3,4,5,6:-0.1,-0.2,-0.3,-0.4,-0.5,-0.6:1,1:0.1,0.2,0.3,0.1,0.2,0.1",
           "0|2:.:.:.:.", "./1:0,10,20,30,40,50:.:0.5,0:0.5,0.5,0,0,0,0", vid="rs2"),
    record("1", 30, "C", "CA,CAA,T", "GT", "3/1", "2|0", "0/0"),
]


def test_multiallelic_records_are_refused_by_default(tmp_path):
    path = write(tmp_path / "multi.vcf", vcf_text(MULTI))
    with pytest.raises(ValueError, match=r"multi\.vcf, line 11 \(1:20\): 1:20 is multi-allelic \(A > G,T\).*"
                                         r"bcftools norm -m-.*multiallelic='split'"):
        read_vcf(path)


def test_multiallelic_records_split_as_bcftools_norm_does(tmp_path):
    data = read_vcf(write(tmp_path / "multi.vcf", vcf_text(MULTI)), multiallelic="split")
    assert data.sites[["pos", "id", "ref", "alt"]].values.tolist() == [
        [10, ".", "A", "G"], [20, "rs2", "A", "G"], [20, "rs2", "A", "T"],
        [30, ".", "C", "CA"], [30, ".", "C", "CAA"], [30, ".", "C", "T"]]
    # GT allele a -> 1, every other allele -> 0, missing stays missing
    assert data.haplotypes[:, :, 1].tolist() == [[1, 0], [0, 0], [-1, 1]]
    assert data.haplotypes[:, :, 2].tolist() == [[0, 1], [0, 1], [-1, 0]]
    assert data.haplotypes[:, :, 5].tolist() == [[1, 0], [0, 0], [0, 0]]
    assert data.genotypes[:, 3].tolist() == [1, 0, 0] and data.genotypes[:, 4].tolist() == [0, 1, 0]
    # likelihoods of 0/0, 0/a, a/a: VCF order j/k at k(k+1)/2 + j
    np.testing.assert_allclose(data.likelihoods[0, 1], np.array([-0.1, -0.2, -0.3]) * np.log(10))
    np.testing.assert_allclose(data.likelihoods[0, 2], np.array([-0.1, -0.4, -0.6]) * np.log(10))
    np.testing.assert_allclose(data.likelihoods[2, 2], -np.array([0, 30, 50]) / 10 * np.log(10))  # PL: no GL there
    np.testing.assert_allclose(data.dosages[:, 1:3], [[1, 1], [np.nan, np.nan], [0.5, 0]])
    np.testing.assert_allclose(data.genotype_probabilities[0, 1:3], [[0.1, 0.2, 0.3], [0.1, 0.1, 0.1]])


@needs_bcftools
def test_split_equals_bcftools_norm(tmp_path):
    path = write(tmp_path / "multi.vcf", vcf_text(MULTI))
    ours = read_vcf(path, multiallelic="split", likelihood_field="PL")
    subprocess.run([BCFTOOLS, "norm", "-m-", "-o", str(tmp_path / "norm.vcf"), str(path)], check=True,
                   capture_output=True)
    theirs = read_vcf(tmp_path / "norm.vcf", likelihood_field="PL")
    pd.testing.assert_frame_equal(ours.sites, theirs.sites)
    for field in ("genotypes", "haplotypes", "phased", "likelihoods", "dosages", "genotype_probabilities"):
        np.testing.assert_array_equal(getattr(ours, field), getattr(theirs, field), err_msg=field)


# -- missing genotypes, samples, regions ---------------------------------------------------------------------


def test_missing_and_half_missing_genotypes(tmp_path):
    text = vcf_text([record("1", 10, "A", "G", "GT", "./.", ".", "./1"),
                     record("1", 20, "A", "G", "GT:DS", ".|.", "1|.:1.5", "0/0:."),
                     record("1", 30, "A", "G", "DS", "0.5", "1", "2")])
    data = read_vcf(write(tmp_path / "missing.vcf", text))
    assert data.genotypes.tolist() == [[-1, -1, -1], [-1, -1, -1], [-1, 0, -1]]
    assert data.haplotypes[2, :, 0].tolist() == [-1, 1]  # the typed allele of ./1 is kept
    assert data.haplotypes[1, :, 1].tolist() == [1, -1]
    assert data.phased.tolist() == [[False, True, False], [False, True, False], [False, False, False]]
    np.testing.assert_array_equal(data.dosages, [[np.nan, np.nan, 0.5], [np.nan, 1.5, 1], [np.nan, np.nan, 2]])
    assert data.allele_pairs()[2, 0].tolist() == [-1, 1]
    assert data.allele_pairs_by_variant().shape == (3, 3, 2)


@pytest.fixture
def indexed(tmp_path):
    records = [record(c, p, "A", "G", "GT", f"{p % 3}/0".replace("2", "1"), "0/1", "1|1")
               for c in ("1", "2") for p in range(1, 9)]
    return bgzip(write(tmp_path / "panel.vcf", vcf_text(records)))


def test_samples_and_region(indexed):
    data = read_vcf(indexed, samples=["C", "A"], region="2:3-5")
    assert data.samples == ("C", "A")
    assert data.sites[["chrom", "pos"]].values.tolist() == [["2", 3], ["2", 4], ["2", 5]]
    assert data.genotypes.tolist() == [[2, 2, 2], [0, 1, 1]]
    assert read_vcf(indexed, region="1").sites.shape == (8, 5)
    assert read_vcf(indexed, region="2:9-").sites.shape == (0, 5)
    assert read_vcf(indexed, region="1:7").sites["pos"].tolist() == [7, 8]  # to the end, as in bcftools
    assert read_vcf(indexed, region="1:1,000-2,000").sites.shape == (0, 5)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"samples": ["A", "Z"]}, ValueError, r"samples: \['Z'\] not in the file"),
    ({"samples": "A"}, TypeError, r"use \['A'\]"),
    ({"samples": []}, ValueError, "samples is empty"),
    ({"samples": ["A", "A"]}, ValueError, "more than once"),
    ({"samples": [1]}, TypeError, "sample names"),
    ({"region": "9:1-10"}, ValueError, "region '9:1-10'"),
    ({"region": 5}, TypeError, "region must be a region string"),
    ({"region": "1:5-2"}, ValueError, "end is not before the start"),
    ({"multiallelic": "drop"}, ValueError, "multiallelic must be"),
    ({"likelihood_field": "GP"}, ValueError, "likelihood_field must be"),
])
def test_bad_arguments_of_read_vcf(indexed, kwargs, error, message):
    with pytest.raises(error, match=message):
        read_vcf(indexed, **kwargs)


def test_a_region_needs_an_index(tmp_path):
    path = write(tmp_path / "plain.vcf", vcf_text([record("1", 10, "A", "G", "GT", "0/1", "0/0", "1/1")]))
    with pytest.raises(ValueError, match="needs a .tbi or .csi index"):
        read_vcf(path, region="1:1-100")
    with pytest.raises(ValueError, match="no such file"):
        read_vcf(tmp_path / "absent.vcf")
    with pytest.raises(TypeError, match="path must be a file name"):
        read_vcf(3)


# -- malformed files ---------------------------------------------------------------------------------------

GOOD = record("1", 5, "A", "C", "GT", "0/0", "0/1", "1/1")  # line 10 of vcf_text
MALFORMED = [
    ("not key=value", vcf_text([GOOD]).replace("##contig=<ID=2>", "##junk"), 3, "reads '##key=value'"),
    ("no fileformat", "\n".join(HEADER[1:]) + "\n" + GOOD + "\n", 1, "starts with '##fileformat=VCFv4.x'"),
    ("unclosed header", vcf_text([GOOD]).replace('Type=Float,Description="Dosage">', 'Type=Float'), 7,
     "does not close it with '>'"),
    ("no #CHROM line", "\n".join(HEADER) + "\n" + GOOD + "\n", 9, "expected a '##' header line or the '#CHROM' line"),
    ("#CHROM with spaces", vcf_text([GOOD]).replace("\tFILTER", " FILTER"), 9, "#CHROM line must list"),
    ("repeated sample", vcf_text([GOOD], samples=("A", "B", "A")), 9, "sample name 'A' is repeated"),
    ("too few columns", vcf_text([GOOD, GOOD[:-4]]), 11, "11 tab-separated columns, where the #CHROM line has 12"),
    ("too many columns", vcf_text([GOOD, GOOD + "\t0/0"]), 11, "13 tab-separated columns"),
    ("POS not a number", vcf_text([GOOD, GOOD.replace("\t5\t", "\t5x\t")]), 11, "POS '5x' is not a whole number"),
    ("bad GT", vcf_text([GOOD, GOOD.replace("0/1", "0/x")]), 11, "sample 'B': genotype '0/x' is not a GT value"),
    ("allele beyond ALT", vcf_text([GOOD, GOOD.replace("1/1", "0/2")]), 11,
     "sample 'C' has genotype '0/2', but the site has 2 alleles"),
    ("haploid", vcf_text([GOOD, GOOD.replace("0/1", "1")]), 11, "genotype '1' is haploid"),
    ("triploid", vcf_text([GOOD, GOOD.replace("0/1", "0/1/1")]), 11, "genotype '0/1/1' is of ploidy 3"),
    ("PL count", vcf_text([GOOD, record("1", 9, "A", "C", "GT:PL", "0/0:0,10,20", "0/1:5,0", "1/1:.")]), 11,
     "FORMAT/PL of sample 'B' is '5,0': 2 values where the site has 3"),
    ("PL not a number", vcf_text([record("1", 9, "A", "C", "GT:PL", "0/0:0,1,2", "0/1:5,0,e", "1/1:.")]), 10,
     "FORMAT/PL of sample 'B' is '5,0,e', which is not 3 numbers"),
    ("negative PL", vcf_text([record("1", 9, "A", "C", "PL", "0,1,2", "0,-3,4", ".")]), 10,
     r"FORMAT/PL of sample 'B' is '0,-3,4', which is outside \[0, inf\]"),
    ("partly missing GL", vcf_text([record("1", 9, "A", "C", "GL", "-1,nan,-2", ".", ".")]), 10,
     "FORMAT/GL of sample 'A' is '-1,nan,-2', which is partly missing"),
    ("positive GL", vcf_text([record("1", 9, "A", "C", "GL", "0,-1,-2", ".", "-1,0,0.5")]), 10, "outside"),
    ("GP not probabilities", vcf_text([record("1", 9, "A", "C", "GP", "0,10,20", ".", ".")]), 10, r"outside \[0, 1\]"),
    ("DS count", vcf_text([record("1", 9, "A", "C", "DS", "0.5,1", ".", ".")]), 10, "one per ALT allele"),
    ("subfields beyond FORMAT", vcf_text([GOOD.replace("0/1", "0/1:7")]), 10, "has 2 ':'-separated values"),
    ("no ALT", vcf_text([record("1", 9, "A", ".", "GT", "0/0", "0/0", "0/0")]), 10, "bcftools view -m2"),
    ("blank line", vcf_text([GOOD, "", GOOD]), 11, "the line is empty"),
    ("spaces for tabs", vcf_text([GOOD, GOOD.replace("\t", " ")]), 11, "spaces instead of tabs"),
    ("empty file", "", None, "no '#CHROM' header line"),
]


@pytest.mark.parametrize("text, line, message", [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_malformed_files_are_named_by_line(tmp_path, text, line, message):
    path = write(tmp_path / "bad.vcf", text)
    where = rf"bad\.vcf, line {line}\b.*" if line else r"bad\.vcf: "
    with pytest.raises(ValueError, match=where + message):
        read_vcf(path)


def test_line_numbers_of_a_bgzipped_file_and_of_a_region(tmp_path):
    records = [record("1", p, "A", "G", "GT", "0/0", "0/1", "1/1") for p in range(1, 30)]
    records[19] = records[19].replace("1/1", "1")  # line 10 + 19 = 29, at 1:20
    path = bgzip(write(tmp_path / "bad.vcf", vcf_text(records)))
    with pytest.raises(ValueError, match=r"bad\.vcf\.gz, line 29 \(1:20\): sample 'C': genotype '1' is haploid"):
        read_vcf(path)
    with pytest.raises(ValueError, match=r"line 29 \(1:20\)"):
        read_vcf(path, region="1:15-25")
    assert read_vcf(path, region="1:21-").sites.shape[0] == 9


def test_what_htslib_refuses_is_named_by_line_too(tmp_path):
    """A GT value htslib refuses before the reader sees the record."""
    path = write(tmp_path / "bad.vcf", vcf_text([GOOD, GOOD.replace("0/1", "0/.x")]))
    with pytest.raises(ValueError, match=r"line 11 \(1:5\): sample 'B': genotype '0/.x' is not a GT value"):
        read_vcf(path)
    path = bgzip(path)
    with pytest.raises(ValueError, match=r"line 11 \(1:5\)"):
        read_vcf(path, region="1:1-10")


def test_an_error_htslib_alone_sees_is_named_by_line(tmp_path):
    """A FORMAT field the reader does not read, which htslib refuses."""
    text = vcf_text([GOOD, record("1", 6, "A", "C", "GT:DP", "0/0:3", "0/1:x", "1/1:4")])
    path = write(tmp_path / "bad.vcf", text.replace("##contig=<ID=2>", '##FORMAT=<ID=DP,Number=1,Type=Integer,'
                                                                         'Description="Depth">'))
    with pytest.raises(ValueError, match=r"bad\.vcf, line 11 \(1:6\): htslib could not parse the record"):
        read_vcf(path)


def test_records_of_a_bcf_are_numbered(tmp_path):
    records = [record("1", p, "A", "C", "GT", "0/0", "0/1", "1/1") for p in range(1, 8)]
    records[4] = records[4].replace("0/1", "1")
    source = write(tmp_path / "in.vcf", vcf_text(records))
    with pysam.VariantFile(str(source)) as vf, pysam.VariantFile(str(tmp_path / "in.bcf"), "wb", header=vf.header) as out:
        for rec in vf:
            out.write(rec)
    with pytest.raises(ValueError, match=r"in\.bcf, record 5 \(1:5\): sample 'B': genotype '1' is haploid"):
        read_vcf(tmp_path / "in.bcf")
    from pysam import bcftools

    bcftools.index(str(tmp_path / "in.bcf"))  # the CSI index, by pysam's own bcftools
    with pytest.raises(ValueError, match=r"in\.bcf, record 2 of region '1:4-6' \(1:5\)"):
        read_vcf(tmp_path / "in.bcf", region="1:4-6")


@pytest.mark.parametrize("content, message", [
    (b"\x1f\x8bnot gzip at all", "cannot be decompressed"),
    (gzip.compress(vcf_text([GOOD] * 50).encode())[:150], "the compressed text breaks off after line"),
    (b"BCF\x02not a BCF", "htslib could not open it"),
], ids=["not gzip", "cut in the header", "not a BCF"])
def test_broken_files(tmp_path, content, message):
    path = tmp_path / "broken.vcf.gz"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"broken\.vcf\.gz: " + message):
        read_vcf(path)


# -- writing: bad arguments ------------------------------------------------------------------------------------


def _write_args():
    sites = small_sites(3)
    return {"sites": sites, "samples": ["A", "B"], "haplotypes": np.zeros((2, 2, 3), dtype=int)}


@pytest.mark.parametrize("change, error, message", [
    ({"path": "x.bcf"}, ValueError, "convert with `bcftools view -Ob`"),
    ({"sites": "table"}, TypeError, "sites must be a DataFrame"),
    ({"sites": small_sites(3).drop(columns="ref")}, ValueError, r"lacks the column\(s\) \['ref'\]"),
    ({"sites": small_sites(3).assign(pos=[1, 0, 2])}, ValueError, "sites.pos: row 1 is 0"),
    ({"sites": small_sites(3).assign(alt=["G", "G,T", "G"])}, ValueError, "sites.alt: row 1"),
    ({"sites": small_sites(3).assign(alt=["G", ".", "G"])}, ValueError, "no ALT allele"),
    ({"sites": small_sites(3).assign(chrom=["1", "1 2", "1"])}, ValueError, "sites.chrom: row 1"),
    ({"sites": small_sites(3).assign(pos=[300, 200, 100])}, ValueError, "sort them, or pass index=False"),
    ({"sites": small_sites(3).assign(chrom=["1", "2", "1"])}, ValueError, "returns to chromosome '1'"),
    ({"samples": ["A", "A"]}, ValueError, "more than once"),
    ({"samples": "AB"}, TypeError, "samples must be a list"),
    ({"samples": ["A", "B\tC"]}, ValueError, r"samples\[1\]"),
    ({"haplotypes": np.zeros((2, 3))}, ValueError, "haplotypes must have 3 dimension"),
    ({"haplotypes": np.zeros((2, 2, 4))}, ValueError, r"haplotypes has shape \(2, 2, 4\); expected \(2, 2, 3\)"),
    ({"haplotypes": np.full((2, 2, 3), 2)}, ValueError, r"haplotypes\[0, 0, 0\] is 2"),
    ({"genotypes": np.zeros((2, 3))}, ValueError, "not both"),
    ({"phased": np.ones((2, 3)), "haplotypes": None, "genotypes": np.zeros((2, 3))}, ValueError, "phased goes with"),
    ({"phased": np.full((2, 3), 3)}, ValueError, "phased must hold True/False"),
    ({"haplotypes": None}, ValueError, "nothing to write"),
    ({"haplotypes": None, "genotypes": np.full((2, 3), 3)}, ValueError, r"genotypes\[0, 0\] is 3"),
    ({"dosages": np.full((2, 3), 2.5)}, ValueError, r"dosages\[0, 0\] is 2.5; DS values are in \[0, 2\]"),
    ({"dosages": np.zeros((3, 2))}, ValueError, r"dosages has shape \(3, 2\)"),
    ({"genotype_probabilities": np.full((2, 3, 3), 0.5)}, ValueError, "sums to 1.5, not 1"),
    ({"genotype_probabilities": np.array([[[np.nan, 0.5, 0.5]] * 3] * 2)}, ValueError, "all given or all NaN"),
    ({"decimals": 2.5}, ValueError, "decimals must be an integer"),
    ({"decimals": 6}, ValueError, "from 0 to 5"),
    ({"source": "a\nb"}, ValueError, "source must be"),
    ({"index": "yes"}, TypeError, "index must be True or False"),
])
def test_bad_arguments_of_write_vcf(tmp_path, change, error, message):
    args = {"path": "out.vcf.gz", **_write_args(), **change}
    path = tmp_path / args.pop("path")
    with pytest.raises(error, match=message):
        write_vcf(path, **args)


def test_unsorted_sites_are_written_without_an_index(tmp_path):
    args = _write_args()
    args["sites"] = args["sites"].assign(pos=[300, 200, 100], chrom=[1, 1, 1], id=["rs1", None, np.nan])
    write_vcf(tmp_path / "out.vcf.gz", **_write_args())  # sorted, indexed: an index the next write removes
    write_vcf(tmp_path / "out.vcf.gz", **args, index=False)
    sites = read_vcf(tmp_path / "out.vcf.gz").sites
    assert sites[["chrom", "pos", "id"]].values.tolist() == [["1", 300, "rs1"], ["1", 200, "."], ["1", 100, "."]]
    assert not (tmp_path / "out.vcf.gz.tbi").exists()
    with pytest.raises(TypeError, match="path must be a file name"):
        write_vcf(None, **args)


def test_pysam_is_optional(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "pysam", None)
    with pytest.raises(ImportError, match=r"pip install 'latentlab\[vcf\]'"):
        read_vcf(tmp_path / "x.vcf")


# -- feeding the estimators -----------------------------------------------------------------------------------


def test_the_reader_feeds_allele_frequency_estimators(tmp_path):
    truth = simulate_genotypes(40, np.array([[0.7, 0.3], [0.4, 0.6], [0.9, 0.1]]), missing=0.1, half_missing=0.1,
                               n_loci=3, random_state=1)  # (variants, samples, 2)
    gl, _ = simulate_genotype_likelihoods(np.where(truth < 0, 0, truth), depth=4, scale="phred", random_state=2)
    pl = np.round(gl).astype(int)  # PL is integer: what the estimators get from the file
    samples = [f"S{i}" for i in range(40)]
    records = []
    for v in range(3):
        values = ["/".join("." if a < 0 else str(a) for a in truth[v, i]) + ":" + ",".join(map(str, pl[v, i]))
                  for i in range(40)]
        records.append(record("1", 100 * (v + 1), "A", "G", "GT:PL", *values))
    data = read_vcf(write(tmp_path / "freq.vcf", vcf_text(records, samples=samples)))
    by_pairs = allele_frequencies_by_locus(data.allele_pairs_by_variant(), random_state=0)
    expected = allele_frequencies_by_locus(truth, random_state=0)
    np.testing.assert_allclose(by_pairs["freq_1"], expected["freq_1"])
    one = AlleleFrequencies(random_state=0).fit(data.allele_pairs()[:, 1])
    assert one.frequencies_[1] == pytest.approx(by_pairs["freq_1"][1], abs=1e-6)
    from_file = allele_frequencies_from_likelihoods(data.likelihoods_by_variant(), random_state=0)
    direct = allele_frequencies_from_likelihoods(pl.astype(float), "phred", random_state=0)
    np.testing.assert_allclose(from_file["freq_1"], direct["freq_1"], rtol=1e-9)


def test_read_phase_write_read_back(tmp_path):
    """The issue's round trip: unphased genotypes in, HaplotypeEM's phase out,
    the same samples, sites and genotypes now phased."""
    sim = simulate_haplotypes(120, n_blocks=1, snps_per_block=6, random_state=4)
    sites = small_sites(6)
    samples = [f"id{i}" for i in range(120)]
    write_vcf(tmp_path / "unphased.vcf.gz", sites, samples, genotypes=sim.genotypes)
    data = read_vcf(tmp_path / "unphased.vcf.gz")
    assert not data.phased.any()
    est = HaplotypeEM(random_state=0).fit(data.allele_pairs(), loci=data.site_names())
    direct = HaplotypeEM(random_state=0).fit(sim.genotypes)
    np.testing.assert_allclose(np.sort(est.frequencies_), np.sort(direct.frequencies_), atol=1e-8)
    assert list(est.haplotypes_.columns[:2]) == ["1:100:A:G", "1:200:A:G"]
    phase = est.most_likely_haplotypes().astype(int)
    write_vcf(tmp_path / "phased.vcf.gz", data.sites, data.samples, haplotypes=phase)
    back = read_vcf(tmp_path / "phased.vcf.gz")
    assert back.samples == data.samples and back.phased.all()
    pd.testing.assert_frame_equal(back.sites, data.sites)
    np.testing.assert_array_equal(back.genotypes, data.genotypes)
    if BCFTOOLS:
        query = subprocess.run([BCFTOOLS, "query", "-f", "[%GT ]\n", str(tmp_path / "phased.vcf.gz")],
                               capture_output=True, text=True, check=True)
        gts = np.array([line.split() for line in query.stdout.splitlines()]).T
        assert (np.char.find(gts, "|") == 1).all()
        counts = np.char.count(gts, "1")
        np.testing.assert_array_equal(counts, sim.genotypes)


def test_vcfdata_is_frozen(tmp_path):
    data = read_vcf(write(tmp_path / "x.vcf", vcf_text([GOOD])))
    assert isinstance(data, VcfData)
    with pytest.raises(AttributeError):
        data.samples = ()
