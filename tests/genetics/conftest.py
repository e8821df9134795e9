"""Shared pieces of the genetics tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def vcf_round_trip(tmp_path):
    """``run(G, fit)``: genotypes ``G`` (n, L) written as an unphased VCF
    (chr7, positions 1000, 1250, ...), read back, phased by ``fit(data)``
    (the :class:`VcfData` read; returns the fitted estimator), its phased GT,
    DS and GP written and read back. Checks what every phaser owes the round
    trip: the same samples and sites, every genotype phased and called, the
    called ones kept, the dosages as fitted (written with 4 decimals).
    Returns ``(data, fitted, back)`` for further checks."""
    pytest.importorskip("pysam")
    from latentlab.genetics import read_vcf, write_vcf

    def run(G, fit):
        n, L = G.shape
        sites = pd.DataFrame({"chrom": "chr7", "pos": 1000 + 250 * np.arange(L), "id": ".", "ref": "A", "alt": "G"})
        samples = [f"s{i}" for i in range(n)]
        write_vcf(tmp_path / "in.vcf.gz", sites, samples, genotypes=G)
        data = read_vcf(tmp_path / "in.vcf.gz")
        fitted = fit(data)
        write_vcf(tmp_path / "out.vcf.gz", data.sites, data.samples, haplotypes=fitted.haplotypes_,
                  dosages=fitted.dosages_, genotype_probabilities=fitted.genotype_probabilities_)
        back = read_vcf(tmp_path / "out.vcf.gz")
        assert back.samples == tuple(samples) and back.sites[["chrom", "pos"]].equals(sites[["chrom", "pos"]])
        assert back.phased.all() and (back.genotypes >= 0).all()
        called = G >= 0
        assert np.array_equal(back.genotypes[called], G[called])
        np.testing.assert_allclose(back.dosages, fitted.dosages_, atol=5e-5)  # written with 4 decimals
        return data, fitted, back

    return run
