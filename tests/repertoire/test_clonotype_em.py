"""ClonotypeEM on simulated repertoires with known truth: the clonotypes
called, their abundances, the error rate, the standard errors and the outputs."""

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest

from latentlab.em import covariance
from latentlab.exceptions import BoundaryWarning, ConvergenceWarning
from latentlab.repertoire import ClonotypeEM, simulate_repertoire


def _precision_recall(fit, sim):
    called, true = set(fit.clonotypes_["sequence"]), set(sim.truth["sequence"])
    return len(called & true) / len(called), len(called & true) / len(true)


@pytest.fixture(scope="module")
def sim():
    return simulate_repertoire(n_clonotypes=400, n_reads=60_000, error_rate=0.01, random_state=7)


@pytest.fixture(scope="module")
def fit(sim):
    return ClonotypeEM(random_state=0).fit(sim.observed["sequence"], sim.observed["count"])


def test_the_true_clonotypes_are_called(fit, sim):
    precision, recall = _precision_recall(fit, sim)
    # 400 clonotypes, 20 of them 1-3 substitutions from another: at most 2% may be missed or spurious
    assert precision >= 0.98 and recall >= 0.98, (precision, recall)
    assert len(sim.observed) > 10 * len(sim.truth)  # what exact counting would call


def test_the_error_rate_is_the_realised_one(fit, sim):
    # about 2.5e6 read bases: the realised rate is known to well under 1%; 3% allows the
    # errors absorbed by the few misses or spurious clonotypes
    assert fit.error_rate_ == pytest.approx(sim.read_error_rate, rel=0.03)


def test_large_clonotypes_get_their_reads(fit, sim):
    top = sim.truth.nlargest(20, "reads")
    est = fit.clonotypes_.set_index("sequence")["reads"].reindex(top["sequence"]).to_numpy()
    # reads of a clonotype beyond max_distance (about 1e-4 at this rate and length) are lost
    np.testing.assert_allclose(est, top["reads"], rtol=0.01)


def test_shares_are_a_distribution_and_reads_add_up(fit):
    table = fit.clonotypes_
    assert table["share"].sum() == pytest.approx(1.0)
    assert table["reads"].sum() + fit.unassigned_reads_ == pytest.approx(fit.table_.counts.sum())
    assert table["reads"].is_monotonic_decreasing
    assert (table["reads_lower"] < table["reads"]).all() and (table["reads"] < table["reads_upper"]).all()


def test_each_clonotype_is_its_own_parent_and_reads_go_to_a_near_one(fit):
    a = fit.assignments_
    own = a[a["sequence"].isin(fit.clonotypes_["sequence"])]
    assert (own["parent"] == own["sequence"]).all() and (own["distance"] == 0).all()
    assigned = a[a["parent"].notna()]
    assert assigned["distance"].between(0, fit.max_distance).all()
    assert ((assigned["posterior"] > 0) & (assigned["posterior"] <= 1 + 1e-12)).all()
    assert a["count"].sum() == fit.table_.counts.sum()


def test_diversity_after_correction_is_close_to_the_truth(fit, sim):
    d = fit.diversity()
    assert d.loc["sequences", "richness"] == len(sim.observed)
    assert abs(d.loc["clonotypes", "richness"] - len(sim.truth)) <= 0.02 * len(sim.truth)
    p = sim.truth["reads"] / sim.truth["reads"].sum()
    assert d.loc["clonotypes", "shannon"] == pytest.approx(-(p * np.log(p)).sum(), rel=0.01)


def test_the_rounds_record_the_partitioning(fit):
    r = fit.rounds_
    assert list(r.columns) == ["round", "clonotypes", "loglik", "error_rate", "e_steps", "added"]
    assert r["added"].iloc[-1] == 0 and r["clonotypes"].iloc[-1] == len(fit.clonotypes_)
    assert (np.diff(r["clonotypes"]) == r["added"].iloc[:-1].to_numpy()).all()


def test_share_errors_equal_the_engines_numerical_covariance_with_errors_held():
    sim = simulate_repertoire(n_clonotypes=25, n_reads=5000, error_rate=0.02, family_fraction=0.3, random_state=2)
    fit = ClonotypeEM(max_distance=5, tol=1e-13, random_state=0).fit(sim.observed["sequence"], sim.observed["count"])
    params = fit.result_.params
    fixed = dataclasses.replace(params, weights=np.zeros(params.weights.size, bool),
                                substitution=np.ones((1, 4, 4), bool))
    numerical = np.sqrt(np.diag(covariance(fit.model_, fit._data, params, fixed))[:params.weights.size])
    # central differences carry relative errors of order 1e-5
    np.testing.assert_allclose(fit.share_standard_errors(), numerical, rtol=1e-4)


def test_share_errors_are_multinomial_for_clonotypes_that_share_nothing():
    seqs = ["AAAAAAAAAA", "CCCCCCCCCC", "GGGGGGGGGG", "AAAAAAAAAC"]
    fit = ClonotypeEM(max_distance=1).fit(seqs, [50, 30, 20, 1])
    table = fit.clonotypes_.set_index("sequence")
    w, n = table.loc["CCCCCCCCCC", "share"], table["reads"].sum()
    assert table.loc["CCCCCCCCCC", "share_se"] == pytest.approx(np.sqrt(w * (1 - w) / n), rel=1e-10)


def test_the_matrix_error_model_fits_a_uniform_process_as_uniform(sim):
    fit = ClonotypeEM(error_model="matrix", random_state=0).fit(sim.observed["sequence"], sim.observed["count"])
    off = fit.substitution_[~np.eye(4, dtype=bool)]
    # each of the 12 rates rests on about 2,000 errors: 10% is over 4 standard errors
    np.testing.assert_allclose(off, sim.read_error_rate / 3, rtol=0.1)
    assert fit.error_rate_ == pytest.approx(sim.read_error_rate, rel=0.03)
    assert len(fit.summary()) == 12 + len(fit.clonotypes_)


def test_summary_lists_the_error_rate_then_the_shares(fit):
    s = fit.summary()
    assert s["parameter"].iloc[0] == "error_rate"
    lo, hi = s.loc[0, ["ci_lower", "ci_upper"]]
    assert lo < fit.error_rate_ < hi and s.loc[0, "std_error"] > 0
    assert len(s) == 1 + len(fit.clonotypes_)


def test_sequences_of_other_lengths_are_never_parents():
    fit = ClonotypeEM(max_distance=2).fit(["ACGTACGTAC", "ACGTACGTA", "ACGTACGTAA"], [100, 50, 1])
    a = fit.assignments_.set_index("sequence")
    assert a.loc["ACGTACGTA", "parent"] == "ACGTACGTA"
    assert a.loc["ACGTACGTAA", "parent"] == "ACGTACGTAC"


def test_a_singleton_beyond_reach_is_left_unassigned():
    fit = ClonotypeEM(max_distance=1).fit(["AAAAAAAAAA", "AAAAAAAAAC", "TTTTTTTTTT"], [100, 2, 1])
    assert fit.unassigned_reads_ == 1
    assert fit.assignments_.set_index("sequence").loc["TTTTTTTTTT", "parent"] is None


def test_too_small_a_bound_for_the_error_rate_warns():
    sim = simulate_repertoire(n_clonotypes=30, n_reads=5000, error_rate=0.05, lengths=(45,), random_state=0)
    with pytest.warns(UserWarning, match="raise max_distance"):
        ClonotypeEM(max_distance=1).fit(sim.observed["sequence"], sim.observed["count"])


def test_stopping_at_max_rounds_warns_and_reports_the_clonotypes_it_fitted(sim):
    with pytest.warns(ConvergenceWarning, match="max_rounds"):
        fit = ClonotypeEM(max_rounds=1).fit(sim.observed["sequence"], sim.observed["count"])
    assert len(fit.clonotypes_) == fit.weights_.size == fit.rounds_["clonotypes"].iloc[-1]


def test_a_refit_recomputes_the_standard_errors(sim):
    est = ClonotypeEM(random_state=0).fit(["AAAAAAAAAA", "CCCCCCCCCC"], [30, 20])
    assert est.share_standard_errors().size == 2
    est.fit(sim.observed["sequence"], sim.observed["count"])
    assert est.share_standard_errors().size == len(est.clonotypes_) > 2


def test_the_fit_is_reproducible(sim):
    fits = [ClonotypeEM(random_state=3).fit(sim.observed["sequence"], sim.observed["count"]) for _ in range(2)]
    pd.testing.assert_frame_equal(fits[0].clonotypes_, fits[1].clonotypes_)


def test_a_smaller_alpha_calls_no_more_clonotypes(sim, fit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        strict = ClonotypeEM(alpha=1e-12).fit(sim.observed["sequence"], sim.observed["count"])
    assert len(strict.clonotypes_) <= len(fit.clonotypes_)


def test_an_error_rate_estimated_as_zero_has_no_standard_error_and_says_so():
    fit = ClonotypeEM().fit(["AAAAAAAA", "CCCCCCCC", "GGGGGGGG"], [10, 5, 3])
    assert fit.error_rate_ == 0.0
    with pytest.warns(BoundaryWarning, match="estimated as 0"):
        s = fit.summary()
    assert np.isnan(s.loc[0, "std_error"]) and np.isfinite(s["std_error"].iloc[1:]).all()


def test_a_round_starts_from_a_previous_error_rate_of_zero():
    # round 1 sees no errors (rate 0); round 2's clonotypes have neighbours at distance 1
    seqs = ["AAAAAAAAAA", "CCCCCCCCCC", "CCCCCCCCCA", "GGGGGGGGGG", "GGGGGGGGGA"]
    fit = ClonotypeEM(max_distance=1).fit(seqs, [50, 40, 1, 30, 1])
    assert 0 < fit.error_rate_ < 0.05 and np.isfinite(fit.loglik_)


def test_quality_classes_get_their_own_error_rates():
    sim = simulate_repertoire(n_clonotypes=300, n_reads=60_000, error_rate=0.005, low_quality_fraction=0.3,
                              low_quality_error_rate=0.02, random_state=4)
    obs = sim.observed
    fit = ClonotypeEM(max_distance=5, random_state=0).fit(obs["sequence"], obs["count"], qualities=obs["quality"])
    rates = fit.error_rates_.set_index("quality")["error_rate"]
    assert list(rates.index) == ["20 <= q < 30", "q >= 30"]
    # 18,000 and 42,000 reads of about 42 bases: each realised rate is known to 1-2%; 4% allows the few
    # reads beyond reach and the errors absorbed by a spurious clonotype
    assert rates["20 <= q < 30"] == pytest.approx(sim.read_error_rates[20], rel=0.04)
    assert rates["q >= 30"] == pytest.approx(sim.read_error_rates[35], rel=0.04)
    precision, recall = _precision_recall(fit, sim)
    assert precision >= 0.98 and recall >= 0.98
    a = fit.assignments_
    assert len(a) == len(obs) and set(a["quality"]) == {"20 <= q < 30", "q >= 30"}
    assert fit.summary()["parameter"].iloc[:2].tolist() == ["error_rate[20 <= q < 30]", "error_rate[q >= 30]"]


def test_one_sequence_may_appear_once_per_quality_class_only():
    with pytest.raises(ValueError, match=r"sequences\[2\] repeats sequences\[0\].*quality class q >= 30"):
        ClonotypeEM().fit(["AAAA", "AAAA", "AAAA"], [5, 3, 1], qualities=[35, 15, 31])
