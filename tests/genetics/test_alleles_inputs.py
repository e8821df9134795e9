"""Bad input to AlleleFrequencies raises a clear error, never NaN."""

import numpy as np
import pytest

from latentlab.genetics import AlleleFrequencies, simulate_genotype_likelihoods, simulate_genotypes


def test_allele_not_in_list():
    with pytest.raises(ValueError, match=r"row 1 allele 2 is 'C'.*alleles \('A', 'B'\)"):
        AlleleFrequencies(alleles=["A", "B"]).fit([("A", "B"), ("B", "C")])


def test_every_individual_missing():
    with pytest.raises(ValueError, match="every allele of every individual is missing"):
        AlleleFrequencies().fit([(None, None), (-1, -1), (np.nan, np.nan)])


def test_genotypes_shape_and_single_allele():
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        AlleleFrequencies().fit([1, 2, 3])
    with pytest.raises(ValueError, match="at least two alleles"):
        AlleleFrequencies().fit([(1, 1), (1, 1)])
    with pytest.raises(ValueError, match="repeated"):
        AlleleFrequencies(alleles=[1, 1]).fit([(1, 1)])


def test_likelihood_vector_wrong_length():
    with pytest.raises(ValueError, match="4 likelihoods per individual.*K\\(K\\+1\\)/2"):
        AlleleFrequencies().fit_likelihoods(np.zeros((5, 4)))
    with pytest.raises(ValueError, match="alleles lists 2"):
        AlleleFrequencies(alleles=["a", "b"]).fit_likelihoods(np.zeros((5, 6)))


def test_likelihood_all_zero_or_bad():
    with np.errstate(divide="ignore"):
        gl = np.log(np.array([[0.1, 0.5, 0.4], [0.0, 0.0, 0.0], [0.3, 0.3, 0.4]]))
        with pytest.raises(ValueError, match="row 1 gives every genotype likelihood zero"):
            AlleleFrequencies().fit_likelihoods(gl)
    with pytest.raises(ValueError, match="row 0 is partly NaN"):
        AlleleFrequencies().fit_likelihoods([[np.nan, 0.0, 0.0], [0.0, -1.0, -2.0]])
    with pytest.raises(ValueError, match="scale"):
        AlleleFrequencies().fit_likelihoods(np.zeros((2, 3)), scale="log2")
    with pytest.raises(ValueError, match="no individual carries information"):
        AlleleFrequencies().fit_likelihoods(np.zeros((4, 3)))


def test_phenotype_not_in_system():
    with pytest.raises(ValueError, match=r"phenotype 'C' is 'C', which is not one of the phenotypes"):
        AlleleFrequencies().fit_phenotypes({"A": 10, "C": 3})
    with pytest.raises(ValueError, match="non-negative integer"):
        AlleleFrequencies().fit_phenotypes({"A": 10, "O": -3})
    with pytest.raises(ValueError, match="all phenotype counts are zero"):
        AlleleFrequencies().fit_phenotypes({"A": 0, "O": 0})


def test_bad_phenotype_systems():
    with pytest.raises(ValueError, match="listed under two phenotypes"):
        AlleleFrequencies().fit_phenotypes({"x": 1}, {"x": [("a", "a"), ("a", "b")], "y": [("a", "b"), ("b", "b")]})
    with pytest.raises(ValueError, match=r"\['b/b'\] belong to no phenotype"):
        AlleleFrequencies().fit_phenotypes({"x": 1}, {"x": [("a", "a")], "y": [("a", "b")]})
    with pytest.raises(ValueError, match="differ from the phenotype system"):
        AlleleFrequencies(alleles=["A", "B"]).fit_phenotypes({"A": 1})
    with pytest.raises(ValueError, match="'ABO' or a mapping"):
        AlleleFrequencies().fit_phenotypes({"A": 1}, "MN")


def test_custom_system_dominant_allele():
    """A dominant allele D: phenotype '+' = {DD, Dd}, '-' = {dd}. The MLE is
    p_d = sqrt(n_- / N) (closed form)."""
    fit = AlleleFrequencies(tol=1e-14, random_state=0).fit_phenotypes(
        {"+": 640, "-": 360}, {"+": [("D", "D"), ("D", "d")], "-": [("d", "d")]}
    )
    assert fit.frequencies_["d"] == pytest.approx(np.sqrt(0.36), abs=1e-6)
    with pytest.raises(ValueError, match="no degrees of freedom"):
        fit.hwe_test()


def test_not_fitted_and_bad_settings():
    from latentlab.em import NotFittedError

    with pytest.raises(NotFittedError):
        AlleleFrequencies().summary()
    with pytest.raises(TypeError, match="inbreeding"):
        AlleleFrequencies(inbreeding="yes").fit([(0, 1)])
    with pytest.raises(ValueError, match="start"):
        AlleleFrequencies(random_state=0).fit([(0, 1), (1, 1)]).em_path(2, start=[0.5, 0.6])


def test_simulator_inputs():
    with pytest.raises(ValueError, match="sum to 1"):
        simulate_genotypes(10, [0.5, 0.6])
    with pytest.raises(ValueError, match="missing \\+ half_missing"):
        simulate_genotypes(10, [0.5, 0.5], missing=0.7, half_missing=0.5)
    with pytest.raises(ValueError, match="complete"):
        simulate_genotype_likelihoods(np.array([[0, -1]]), depth=2.0)
    with pytest.raises(ValueError, match="depth"):
        simulate_genotype_likelihoods(np.array([[0, 1]]), depth=0.0)


def test_simulated_likelihoods_are_vcf_ordered():
    """With no sequencing error and deep coverage the best genotype is the true one."""
    g = simulate_genotypes(200, [0.3, 0.3, 0.4], random_state=1)
    gl, reads = simulate_genotype_likelihoods(g, depth=40.0, error_rate=0.0, random_state=2)
    from latentlab.genetics.genotypes import genotype_index

    assert (gl.argmax(axis=1) == genotype_index(g[:, 0], g[:, 1])).mean() > 0.99
    assert abs(reads.mean() - 40) < 2  # Poisson(40) mean of 200 draws: se 0.45
