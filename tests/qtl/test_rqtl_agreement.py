"""Genotype probabilities and LOD profiles equal R/qtl's on R/qtl's own
crosses (issue 17): hyper (backcross, all male, step 1 cM, error 0.001),
fake.f2 (intercross with an X chromosome, both sexes and cross directions;
Kosambi map, step 2, error 0.01; with and without sex as a covariate) and
fake.bc (backcross, covariates sex and age; step 2.5, error 1e-4).

Tolerances: probabilities to 1e-6 (R's values are stored to 10 significant
digits); Haley-Knott LODs to 1e-6 (closed form on both sides); EM LODs to
1e-3 (both sides stop EM at a tolerance: R/qtl's own EM is within about 6e-5
of the maximum on hyper, ours within 5e-5 at the default tol).
"""

import warnings

import numpy as np
import pytest

from latentlab.qtl import IntervalMapping, genotype_probabilities

from .conftest import reference


def _stacked(probabilities, states):
    """(positions, individuals) of each state, padded with NaN past a chromosome's states."""
    out = []
    for g in range(states):
        out.append(np.concatenate([
            p.probs[:, :, g].T if g < p.probs.shape[2] else np.full(p.probs.shape[1::-1], np.nan)
            for p in probabilities]))
    return out


@pytest.mark.parametrize("name, settings, states", [
    ("hyper", dict(step=1, error_prob=0.001), 2),
    ("fake_f2", dict(step=2, error_prob=0.01, map_function="kosambi"), 3),
])
def test_genotype_probabilities_equal_calc_genoprob(request, name, settings, states):
    cross = request.getfixturevalue(name)
    ref = reference(f"{name}_genoprob.csv.gz")
    probs = genotype_probabilities(cross, **settings)
    assert [p.chromosome for p in probs for _ in p.positions] == ref["chr"].tolist()
    np.testing.assert_allclose(np.concatenate([p.positions for p in probs]), ref["pos"], rtol=0, atol=1e-9)
    n = cross.n_individuals
    for g, ours in enumerate(_stacked(probs, states)):
        theirs = ref[[f"g{g + 1}_{i + 1}" for i in range(n)]].to_numpy()
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6, equal_nan=True)


SCANS = [
    ("hyper", "rqtl_hyper_scan.csv", dict(step=1, error_prob=0.001), "bp", None),
    ("fake_f2", "fake_f2_scan.csv", dict(step=2, error_prob=0.01, map_function="kosambi"), "phenotype", None),
    ("fake_f2", "fake_f2_scan_sexcovar.csv", dict(step=2, error_prob=0.01, map_function="kosambi"), "phenotype",
     ["sex"]),
    ("fake_bc", "fake_bc_scan_covar.csv", dict(step=2.5, error_prob=1e-4), "pheno1", ["sex", "age"]),
]


@pytest.mark.parametrize("name, ref_file, settings, phenotype, covariates", SCANS)
@pytest.mark.parametrize("method, atol", [("em", 1e-3), ("hk", 1e-6)])
def test_lod_profiles_equal_scanone(request, name, ref_file, settings, phenotype, covariates, method, atol):
    cross = request.getfixturevalue(name)
    ref = reference(ref_file)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sex as a covariate is left out on the X chromosome (checked below)
        scan = IntervalMapping(method, **settings).fit(cross, phenotype, covariates=covariates)
    lod = scan.lod_
    assert lod["chromosome"].tolist() == ref["chr"].tolist()
    np.testing.assert_allclose(lod["position"], ref["pos"], rtol=0, atol=1e-9)
    assert (lod["name"] == ref["name"]).all()
    np.testing.assert_allclose(lod["lod"], ref[f"lod_{method}"], rtol=0, atol=atol)


def test_sex_covariate_is_left_out_on_x_with_a_warning(fake_f2):
    with pytest.warns(UserWarning, match=r"\['sex'\] are collinear .* chromosome X"):
        IntervalMapping("hk", step=2).fit(fake_f2, "phenotype", covariates=["sex"])


def test_hyper_peaks_are_the_published_ones(hyper):
    """Sugiyama et al. (2001), as R/qtl's scanone finds them: chromosome 4 at
    about 29.5 cM with LOD about 8.09, chromosome 1 at about 48.3 cM, LOD 3.53."""
    peaks = IntervalMapping(step=1, error_prob=0.001).fit(hyper, "bp").peaks().set_index("chromosome")
    assert peaks.loc["4", "position"] == pytest.approx(29.5, abs=1e-6)
    assert peaks.loc["4", "lod"] == pytest.approx(8.09, abs=0.005)
    assert peaks.loc["1", "position"] == pytest.approx(48.3, abs=1e-6)
    assert peaks.loc["1", "lod"] == pytest.approx(3.53, abs=0.005)
