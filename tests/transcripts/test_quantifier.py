"""TranscriptQuantifier on simulated classes with a known truth: estimates,
quant.sf-like output, gene totals, uncertainty, warnings and bad input."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from latentlab.transcripts import EquivalenceClasses, TranscriptQuantifier, simulate_equivalence_classes


@pytest.fixture(scope="module")
def sim():
    return simulate_equivalence_classes(n_genes=50, n_fragments=200_000, random_state=0)


@pytest.fixture(scope="module")
def fit(sim):
    return TranscriptQuantifier(random_state=0).fit(sim.classes, sim.transcriptome.tx2gene())


def test_estimates_follow_the_truth(fit, sim):
    true = sim.truth["fragments"].to_numpy()
    est = fit.quant_["NumReads"].to_numpy()
    assert spearmanr(est, true).statistic > 0.95
    big = true >= 1000  # sampling error about 3% at 1,000 fragments; shared exons add some
    assert np.median(np.abs(est[big] / true[big] - 1)) < 0.05


def test_the_quant_table_is_salmons_plus_uncertainty(fit, sim):
    q = fit.quant_
    assert q.columns[:5].tolist() == ["Name", "Length", "EffectiveLength", "TPM", "NumReads"]
    assert q["TPM"].sum() == pytest.approx(1e6)
    assert q["NumReads"].sum() == pytest.approx(sim.classes.n_fragments)
    ok = q["NumReads_se"].notna()
    assert (q.loc[ok, "NumReads_lower"] <= q.loc[ok, "NumReads"]).all()
    assert (q.loc[ok, "TPM"] <= q.loc[ok, "TPM_upper"]).all()
    x = q["NumReads"] / q["EffectiveLength"]
    np.testing.assert_allclose(q["TPM"], 1e6 * x / x.sum())


def test_write_quant_round_trips(fit, tmp_path):
    path = tmp_path / "quant.tsv"
    fit.write_quant(path)
    back = pd.read_csv(path, sep="\t")
    np.testing.assert_allclose(back["NumReads"], fit.quant_["NumReads"], rtol=1e-7)
    assert back.columns.tolist() == fit.quant_.columns.tolist()


def test_gene_totals_sum_their_transcripts(fit, sim):
    genes = fit.genes_.set_index("gene")
    by_gene = fit.quant_.groupby(sim.truth["gene"].to_numpy())["NumReads"].sum()
    np.testing.assert_allclose(genes.loc[by_gene.index, "NumReads"], by_gene)
    true = sim.truth.groupby("gene")["fragments"].sum()
    assert spearmanr(genes.loc[true.index, "NumReads"], true).statistic > 0.97
    # a gene total is better determined than its isoforms: its relative error is smaller
    assert (genes["NumReads_se"] / genes["NumReads"]).median() <= \
        (fit.quant_["NumReads_se"] / fit.quant_["NumReads"]).median()


def test_tiny_estimates_are_reported_as_zero(sim):
    loose = TranscriptQuantifier(min_reads=0.0, tol=1e-4, random_state=0).fit(sim.classes)
    strict = TranscriptQuantifier(min_reads=50.0, tol=1e-4, random_state=0).fit(sim.classes)
    small = (loose.reads_ > 0) & (loose.reads_ < 50)
    assert small.any() and (strict.reads_[small] == 0).all()
    assert strict.fractions_.sum() == pytest.approx(1.0)


def test_identical_patterns_are_reported_and_get_no_standard_error():
    classes = [["A", "B"], ["A", "B", "C"], ["C"]]
    c = EquivalenceClasses.from_lists(["A", "B", "C"], [100.0, 100.0, 120.0], classes, [50, 20, 30])
    with pytest.warns(UserWarning, match="identical compatibility patterns"):
        fit = TranscriptQuantifier(tol=1e-14, random_state=0).fit(c)
    assert fit.unidentifiable_ == [["A", "B"]]
    se = fit.standard_errors().set_index("Name")["NumReads"]
    assert np.isnan(se[["A", "B"]]).all() and se["C"] > 0
    # their total is identified: as if A and B were one transcript
    merged = TranscriptQuantifier(tol=1e-14, random_state=0).fit(EquivalenceClasses.from_lists(
        ["AB", "C"], [100.0, 120.0], [["AB"], ["AB", "C"], ["C"]], [50, 20, 30]))
    # both fits stop by the engine's rule at tol 1e-14: their maxima agree to about 1e-7
    assert se["C"] == pytest.approx(merged.standard_errors().set_index("Name")["NumReads"]["C"], rel=1e-5)


def test_with_proportional_patterns_the_shorter_transcript_takes_the_mass():
    c = EquivalenceClasses.from_lists(["A", "B", "C"], [100.0, 150.0, 120.0], [["A", "B"], ["A", "B", "C"], ["C"]],
                                      [50, 20, 30])
    with pytest.warns(UserWarning, match="identical compatibility patterns"):
        fit = TranscriptQuantifier(tol=1e-14, max_iter=100_000).fit(c)
    reads = dict(zip(c.transcripts, fit.reads_))
    assert reads["B"] < 1e-3 * reads["A"]


def test_observed_information_errors_agree_with_200_bootstraps(fit, sim):
    boot = fit.bootstrap(200, n_jobs=2, random_state=1)
    se_boot = boot.std(ddof=1).to_numpy()
    se = fit.quant_["NumReads_se"].to_numpy()
    m = (sim.truth["fragments"].to_numpy() >= 50) & np.isfinite(se)
    # 200 bootstraps estimate a standard deviation to about 5%: a median within 10% is honest agreement
    assert np.median(np.abs(se_boot[m] / se[m] - 1)) < 0.10


def test_the_bootstrap_is_reproducible(fit):
    a = fit.bootstrap(5, random_state=3)
    b = fit.bootstrap(5, n_jobs=2, random_state=3)
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize(("make", "words"), [
    (lambda: EquivalenceClasses.from_lists(["A", "B"], [100, 100], [["A", "Z"]], [3]), ["class 0", "'Z'"]),
    (lambda: EquivalenceClasses.from_lists(["A", "B"], [100, 100], [[0, 5]], [3]), ["class 0", "index 5"]),
    (lambda: EquivalenceClasses.from_lists(["A", "B"], [100, 100], [["A"], ["B"]], [3, -1]), ["counts", "class 1"]),
    (lambda: EquivalenceClasses.from_lists(["A", "B"], [100, 0], [["A"], ["B"]], [3, 1]), ["effective_lengths", "entry 1"]),
    (lambda: EquivalenceClasses.from_lists(["A", "B"], [100, -5], [["A"], ["B"]], [3, 1]), ["effective_lengths"]),
    (lambda: EquivalenceClasses.from_lists(["A", "B"], [100, np.nan], [["A"], ["B"]], [3, 1]), ["effective_lengths"]),
    (lambda: EquivalenceClasses.from_lists(["A", "A"], [100, 100], [["A"]], [3]), ["transcripts[1]", "twice"]),
    (lambda: EquivalenceClasses.from_lists(["A", "B"], [100, 100], [[]], [3]), ["class 0", "no transcript"]),
    (lambda: EquivalenceClasses.from_lists(["A", "B"], [100, 100], [["A"]], [3, 4]), ["counts", "1 classes"]),
    (lambda: EquivalenceClasses.from_lists(["A", "B"], [100, 100], [["A", "B"]], [3], weights=[[0.5]]), ["class 0", "weights"]),
    (lambda: EquivalenceClasses.from_lists(["A", "B"], [100, 100], [["A", "B"]], [3], weights=[[0.5, -1]]), ["class 0", "weight"]),
    (lambda: EquivalenceClasses.from_lists(["A", "B"], [100], [["A"]], [3]), ["effective_lengths", "2 transcripts"]),
])
def test_bad_classes_are_refused_naming_the_problem(make, words):
    with pytest.raises((ValueError, TypeError)) as err:
        make()
    for w in words:
        assert w in str(err.value), err.value


def test_bad_fits_are_refused(sim):
    with pytest.raises(TypeError, match="EquivalenceClasses"):
        TranscriptQuantifier().fit(sim.classes.frame())
    with pytest.raises(ValueError, match="no gene for"):
        TranscriptQuantifier().fit(sim.classes, sim.transcriptome.tx2gene().iloc[1:])
    with pytest.raises(ValueError, match="no fragment"):
        TranscriptQuantifier().fit(sim.classes.with_counts(np.zeros(sim.classes.n_classes)))
    with pytest.raises(ValueError, match="min_reads"):
        TranscriptQuantifier(min_reads=-1.0).fit(sim.classes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = TranscriptQuantifier().fit(sim.classes)
    with pytest.raises(AttributeError, match="tx2gene"):
        _ = fitted.genes_


def test_plots_draw_and_check_their_input(fit, sim):
    import matplotlib

    matplotlib.use("Agg")
    ax = fit.plot_against(sim.truth.set_index("transcript")["fragments"])
    assert ax.get_xscale() == "log" and len(ax.lines) + len(ax.containers) >= 2
    assert fit.plot_uncertainty().get_ylabel() == "relative standard error"
    with pytest.raises(ValueError, match="one value per transcript"):
        fit.plot_against(np.ones(3))
