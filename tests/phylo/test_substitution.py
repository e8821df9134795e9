"""Substitution models: P(t) is a transition matrix, a semigroup, stationary
and reversible, and equals the textbook definitions (closed-form JC69, HKY85
through a Taylor-series matrix exponential)."""

import numpy as np
import pytest

from latentlab.phylo import GTR, HKY85, JC69, K80, substitution_model

from .independent import hky_rate_matrix, jc_transition, transitions

FREQS = np.array([0.1, 0.2, 0.3, 0.4])
MODELS = [JC69(), K80(3.0), HKY85(4.0, FREQS), GTR([0.5, 3.0, 0.8, 1.2, 4.0], FREQS)]
TIMES = np.array([1e-8, 0.01, 0.3, 2.0, 10.0])


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.name)
def test_rows_sum_to_one_and_entries_are_probabilities(model):
    P = model.transition(TIMES)
    np.testing.assert_allclose(P.sum(axis=2), 1.0, atol=1e-13)
    assert np.all(P > 0) and np.all(P <= 1)
    np.testing.assert_allclose(model.transition(0.0), np.eye(4), atol=1e-14)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.name)
def test_chapman_kolmogorov(model):
    for s, t in [(0.1, 0.25), (1.0, 0.003), (2.5, 4.0)]:
        np.testing.assert_allclose(model.transition(s) @ model.transition(t), model.transition(s + t), atol=1e-13)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.name)
def test_stationary_reversible_and_one_substitution_per_unit_time(model):
    pi, Q = model.freqs, model.rate_matrix()
    np.testing.assert_allclose(-pi @ np.diag(Q), 1.0, rtol=1e-13)
    np.testing.assert_allclose(pi @ model.transition(0.7), pi, atol=1e-14)
    flux = pi[:, None] * model.transition(0.7)
    np.testing.assert_allclose(flux, flux.T, atol=1e-14)


def test_jc69_is_the_closed_form():
    for t in TIMES:
        np.testing.assert_allclose(JC69().transition(t), jc_transition(t), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("kappa", [0.5, 4.0, 60.0])
def test_hky85_and_k80_are_the_textbook_rate_matrix(kappa):
    for model, freqs in ((HKY85(kappa, FREQS), FREQS), (K80(kappa), np.full(4, 0.25))):
        np.testing.assert_allclose(model.rate_matrix(), hky_rate_matrix(kappa, freqs), rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(model.transition(TIMES), transitions(TIMES, hky_rate_matrix(kappa, freqs)),
                                   rtol=1e-9, atol=1e-13)


def test_gtr_with_kappa_rates_is_hky():
    gtr = GTR([1.0, 5.0, 1.0, 1.0, 5.0], FREQS)
    np.testing.assert_allclose(gtr.transition(TIMES), HKY85(5.0, FREQS).transition(TIMES), atol=1e-14)


@pytest.mark.parametrize(("make", "word"), [
    (lambda: K80(-1.0), "kappa"), (lambda: K80(np.nan), "kappa"), (lambda: HKY85(2.0, [0.5, 0.5]), "freqs"),
    (lambda: HKY85(2.0, [0.5, 0.5, 0.5, -0.5]), "freqs"), (lambda: GTR([1.0, 2.0]), "5 rates"),
    (lambda: GTR([1.0, 1.0, 0.0, 1.0, 1.0]), "AT"), (lambda: substitution_model("F81"), "substitution"),
    (lambda: HKY85().transition(0.1), "freqs"), (lambda: JC69().transition(-0.1), "branch lengths"),
])
def test_bad_parameters_are_refused_by_name(make, word):
    with pytest.raises(ValueError, match=word):
        make()
