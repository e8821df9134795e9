"""One estimator convention across the package: every estimator's summary()
starts with the same columns, print_summary() prints a header and returns
None, get_params/set_params round-trip and repr shows non-default settings."""

import numpy as np
import pytest

from latentlab.em.estimator import SUMMARY_COLUMNS


def _poisson_mixture():
    from latentlab.mixtures import PoissonMixture

    return PoissonMixture(2, random_state=0).fit(range(10), weights=[162, 267, 271, 185, 111, 61, 27, 8, 3, 1])


def _gaussian_mixture():
    from latentlab.mixtures import GaussianMixture, simulate_gaussian_mixture

    X, _ = simulate_gaussian_mixture(300, [0.5, 0.5], [[0, 0], [4, 4]], [np.eye(2), np.eye(2)], random_state=0)
    return GaussianMixture(2, random_state=0).fit(X)


def _alleles():
    from latentlab.genetics import AlleleFrequencies, simulate_genotypes

    return AlleleFrequencies(random_state=0).fit(simulate_genotypes(300, [0.6, 0.3, 0.1], missing=0.1, random_state=0))


def _haplotypes():
    from latentlab.genetics import HaplotypeEM, simulate_haplotypes

    sim = simulate_haplotypes(200, n_blocks=1, snps_per_block=3, haplotypes_per_block=3, random_state=1)
    return HaplotypeEM(random_state=0).fit(sim.genotypes)


def _survival(kind):
    from latentlab.survival import CensoredExponential, ExponentialCure, Turnbull, simulate_censored_exponential

    df = simulate_censored_exponential(300, 0.5, study_end=6.0, visit_interval=1.0, cure_fraction=0.3, random_state=0)
    cls = {"exp": CensoredExponential, "cure": ExponentialCure, "turnbull": Turnbull}[kind]
    return cls().fit_interval_censoring(df["lower"], df["upper"]) if kind != "turnbull" else \
        cls().fit(df["lower"], df["upper"])


def _capture():
    from latentlab.ecology import CaptureRecapture, simulate_capture_histories

    histories, _ = simulate_capture_histories(200, 5, [(1.0, 0.3)], random_state=0)
    return CaptureRecapture("M0", random_state=0).fit(histories)


def _hmm(kind):
    from latentlab.hmm import CategoricalHMM, GaussianHMM, PoissonHMM, simulate_hmm

    start, trans = [0.5, 0.5], [[0.9, 0.1], [0.2, 0.8]]
    if kind == "gaussian":
        X, _ = simulate_hmm(400, start, trans, means=[[0.0], [3.0]], covars=[[1.0], [1.0]], random_state=0)
        return GaussianHMM(2, covariance_type="diag", random_state=0).fit(X)
    if kind == "poisson":
        X, _ = simulate_hmm(400, start, trans, lambdas=[[1.0], [6.0]], random_state=0)
        return PoissonHMM(2, random_state=0).fit(X)
    X, _ = simulate_hmm(400, start, trans, emissionprob=[[0.7, 0.2, 0.1], [0.1, 0.2, 0.7]], random_state=0)
    return CategoricalHMM(2, random_state=0).fit(X)


def _state_space():
    from latentlab.statespace import local_level

    return local_level().fit([1120.0, 1160.0, 963.0, 1210.0, 1160.0, 1160.0, 813.0, 1230.0, 1370.0, 1140.0] * 3)


def _missing():
    from latentlab.missing import MultivariateNormalEM

    rng = np.random.default_rng(0)
    X = rng.multivariate_normal([0.0, 1.0, 2.0], np.eye(3) + 0.5, 200)
    X[rng.random(X.shape) < 0.2] = np.nan
    return MultivariateNormalEM(random_state=0).fit(X)


def _regression():
    from latentlab.missing import RegressionEM

    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 2))
    y = 1.0 + X @ [0.5, -1.0] + rng.normal(size=200)
    X[rng.random(X.shape) < 0.2] = np.nan
    return RegressionEM(random_state=0).fit(X, y)


def _interval_mapping():
    from latentlab.qtl import IntervalMapping, simulate_cross

    cross = simulate_cross(100, qtl=[("1", 30.0, 1.0)], random_state=0)
    return IntervalMapping(step=5).fit(cross)


def _clonotypes():
    from latentlab.repertoire import ClonotypeEM, simulate_repertoire

    sim = simulate_repertoire(n_clonotypes=20, n_reads=3000, random_state=0)
    return ClonotypeEM(random_state=0).fit(sim.observed["sequence"], sim.observed["count"])


def _transcripts():
    from latentlab.transcripts import TranscriptQuantifier, simulate_equivalence_classes

    sim = simulate_equivalence_classes(n_genes=10, n_fragments=20_000, random_state=0)
    return TranscriptQuantifier(random_state=0).fit(sim.classes)


def _particle_em():
    from latentlab.statespace import LinearGaussian, ParticleSSM

    y = np.random.default_rng(0).normal(0.0, 1.0, 80).cumsum() * 0.2 + np.random.default_rng(1).normal(0.0, 1.0, 80)
    return ParticleSSM(LinearGaussian(), n_particles=200, initial_particles=20, random_state=0).fit(y)


def _phylo():
    from latentlab.phylo import HKY85, BranchLengthEM, simulate_alignment

    tree = "((a:0.1,b:0.2):0.05,(c:0.3,f:0.07):0.02,(d:0.1,e:0.15):0.1);"
    aln = simulate_alignment(tree, HKY85(4.0, [0.3, 0.2, 0.2, 0.3]), 500, random_state=0)
    return BranchLengthEM("HKY85", random_state=0).fit(aln, tree)


def _tree_search():
    from latentlab.phylo import JC69, StructuralEM, simulate_alignment

    tree = "((a:0.1,b:0.2):0.05,(c:0.3,f:0.07):0.02,(d:0.1,e:0.15):0.1);"
    aln = simulate_alignment(tree, JC69(), 500, random_state=0)
    return StructuralEM("JC69", gamma_categories=4, n_perturbations=1, random_state=0).fit(aln)


FITTED = {
    "PoissonMixture": _poisson_mixture,
    "GaussianMixture": _gaussian_mixture,
    "AlleleFrequencies": _alleles,
    "HaplotypeEM": _haplotypes,
    "CensoredExponential": lambda: _survival("exp"),
    "ExponentialCure": lambda: _survival("cure"),
    "Turnbull": lambda: _survival("turnbull"),
    "CaptureRecapture": _capture,
    "GaussianHMM": lambda: _hmm("gaussian"),
    "PoissonHMM": lambda: _hmm("poisson"),
    "CategoricalHMM": lambda: _hmm("categorical"),
    "LinearGaussianSSM": _state_space,
    "MultivariateNormalEM": _missing,
    "RegressionEM": _regression,
    "IntervalMapping": _interval_mapping,
    "ClonotypeEM": _clonotypes,
    "TranscriptQuantifier": _transcripts,
    "ParticleSSM": _particle_em,
    "BranchLengthEM": _phylo,
    "StructuralEM": _tree_search,
}


@pytest.fixture(scope="module", params=sorted(FITTED))
def fitted(request):
    with np.errstate(all="ignore"), _quiet():
        return FITTED[request.param]()


class _quiet:
    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *exc):
        self._ctx.__exit__(*exc)


def test_summary_has_the_same_columns_everywhere(fitted):
    with _quiet():
        table = fitted.summary()
    assert list(table.columns[: len(SUMMARY_COLUMNS)]) == SUMMARY_COLUMNS
    assert len(table) >= 1
    with _quiet():
        assert list(fitted.summary(level=0.9).columns[:5]) == SUMMARY_COLUMNS


def test_print_summary_prints_a_header_and_returns_none(fitted, capsys):
    with _quiet():
        assert fitted.print_summary() is None
    out = capsys.readouterr().out
    for label in ("model", "observations", "log-likelihood", "AIC", "BIC", "iterations", "converged", "covariance"):
        assert label in out, label
    assert "std_error" in out


def test_get_set_params_round_trip(fitted):
    params = fitted.get_params()
    twin = type(fitted)(**params)
    assert twin.get_params().keys() == params.keys()
    assert repr(twin) == repr(fitted)
    name = next(iter(params))
    assert fitted.set_params(**{name: params[name]}) is fitted
    with pytest.raises(ValueError, match="not a parameter"):
        fitted.set_params(no_such_setting=1)


def test_every_hypothesis_test_returns_a_test_result():
    from latentlab.em import TestResult
    from latentlab.genetics import AlleleFrequencies, HaplotypeEM

    rng = np.random.default_rng(1)
    genotypes = rng.binomial(1, 0.3, size=(200, 2))  # allele pairs of a biallelic locus
    fit = AlleleFrequencies(random_state=0).fit(genotypes)
    haplotypes = HaplotypeEM(random_state=0).fit(rng.binomial(2, 0.4, size=(150, 3)))
    for result in (fit.hwe_test("lrt"), fit.hwe_test("exact"), haplotypes.linkage_equilibrium_test()):
        assert isinstance(result, TestResult)
        assert 0.0 <= result["p_value"] <= 1.0
        assert result.to_series()["p_value"] == result.p_value
        assert "p =" in str(result)


def test_kaplan_meier_summary_has_the_same_columns():
    from latentlab.survival import KaplanMeier

    km = KaplanMeier(level=0.9).fit([1.0, 2.0, 2.0, 3.0, 5.0, 8.0], [1, 1, 0, 1, 0, 1])
    table = km.summary()
    assert list(table.columns[: len(SUMMARY_COLUMNS)]) == SUMMARY_COLUMNS
    assert table["parameter"].tolist() == ["S(1)", "S(2)", "S(3)", "S(8)"]  # event times only
    assert table["estimate"].tolist() == km.survival_function_.loc[[1.0, 2.0, 3.0, 8.0], "survival"].tolist()
