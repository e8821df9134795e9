"""The issue's targets on its own simulation: 10,000 true clonotypes, 10^6
reads, 0.5% and 1% per-base sequencing error (about 12 s for both)."""

import numpy as np
import pytest

from latentlab.repertoire import ClonotypeEM, collapse_by_ratio, simulate_repertoire


def _scores(called, truth):
    called, true = set(called), set(truth)
    tp = len(called & true)
    precision, recall = tp / len(called), tp / len(true)
    return precision, recall, 2 * precision * recall / (precision + recall)


@pytest.fixture(scope="module", params=[0.005, 0.01])
def case(request):
    sim = simulate_repertoire(n_clonotypes=10_000, n_reads=1_000_000, error_rate=request.param, random_state=1)
    fit = ClonotypeEM(random_state=0).fit(sim.observed["sequence"], sim.observed["count"])
    return sim, fit


def test_precision_and_recall_beat_both_baselines(case):
    sim, fit = case
    precision, recall, f1 = _scores(fit.clonotypes_["sequence"], sim.truth["sequence"])
    assert precision >= 0.95 and recall >= 0.95, (precision, recall)
    exact = _scores(sim.observed["sequence"], sim.truth["sequence"])[2]
    ratio = _scores(collapse_by_ratio(sim.observed["sequence"], sim.observed["count"])["sequence"],
                    sim.truth["sequence"])[2]
    assert f1 > max(exact, ratio), (f1, exact, ratio)


def test_the_100_largest_clonotypes_are_within_2_percent(case):
    sim, fit = case
    top = sim.truth.nlargest(100, "reads")
    est = fit.clonotypes_.set_index("sequence")["reads"].reindex(top["sequence"]).to_numpy()
    assert not np.isnan(est).any()
    assert np.max(np.abs(est / top["reads"].to_numpy() - 1)) < 0.02


def test_the_error_rate_is_within_10_percent(case):
    sim, fit = case
    assert fit.error_rate_ == pytest.approx(sim.read_error_rate, rel=0.10)


def test_richness_is_within_5_percent_where_exact_counting_overstates_it_many_times(case):
    sim, fit = case
    d = fit.diversity()
    assert abs(d.loc["clonotypes", "richness"] / len(sim.truth) - 1) < 0.05
    assert d.loc["sequences", "richness"] > 10 * len(sim.truth)
