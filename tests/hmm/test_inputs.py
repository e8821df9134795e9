"""Bad inputs raise clear errors naming the input and the problem."""

import numpy as np
import pytest

from latentlab.hmm import CategoricalHMM, GaussianHMM, PoissonHMM, simulate_hmm

X = np.random.default_rng(0).normal(size=(50, 1))


def test_lengths_must_sum_to_rows():
    with pytest.raises(ValueError, match="lengths sum to 40 but the data have 50 rows"):
        GaussianHMM(2).fit(X, lengths=[20, 20])


def test_lengths_must_be_positive_integers():
    with pytest.raises(ValueError, match="lengths must hold positive integers"):
        GaussianHMM(2).fit(X, lengths=[50, 0])


def test_symbols_outside_alphabet():
    with pytest.raises(ValueError, match=r"symbol 5 \(row 3\) outside the alphabet 0..3"):
        CategoricalHMM(2, n_features=4).fit([0, 1, 2, 5])


def test_symbols_must_be_non_negative_integers():
    with pytest.raises(ValueError, match="non-negative integer symbols; found -1 at row 2"):
        CategoricalHMM(2).fit([0, 1, -1, 2])
    with pytest.raises(ValueError, match="found 1.5"):
        CategoricalHMM(2).fit([0, 1.5, 1, 2])


def test_scoring_symbols_beyond_fitted_alphabet():
    model = CategoricalHMM(2, random_state=0).fit([0, 1, 2, 1, 0, 2, 1, 1])
    with pytest.raises(ValueError, match="outside the alphabet 0..2"):
        model.score([0, 3])


def test_negative_counts_for_poisson():
    with pytest.raises(ValueError, match=r"X must hold non-negative integer counts; index \(2, 0\) is negative: -3.0"):
        PoissonHMM(2).fit([1, 2, -3, 4])


@pytest.mark.parametrize("k", [0, -1])
def test_n_components_below_one(k):
    with pytest.raises(ValueError, match=f"n_components must be at least 1; got {k}"):
        GaussianHMM(k).fit(X)


def test_n_components_not_integer():
    with pytest.raises(TypeError, match="n_components must be an integer"):
        GaussianHMM(2.5).fit(X)


def test_partly_missing_row():
    Y = np.ones((10, 2))
    Y[3, 1] = np.nan
    with pytest.raises(ValueError, match="X row 3 is NaN in some columns only"):
        GaussianHMM(1).fit(Y)


def test_bad_settings():
    with pytest.raises(ValueError, match="covariance_type must be one of"):
        GaussianHMM(2, covariance_type="tied").fit(X)
    with pytest.raises(ValueError, match="params must be a string of the letters 'stmc'"):
        GaussianHMM(2, params="stx").fit(X)
    with pytest.raises(ValueError, match="n_iter must be an integer >= 1"):
        GaussianHMM(2, n_iter=0).fit(X)


def test_given_parameters_checked():
    model = GaussianHMM(2, init_params="mc")
    model.startprob_, model.transmat_ = [0.5, 0.5], [[0.9, 0.2], [0.1, 0.9]]
    with pytest.raises(ValueError, match="transmat_ is outside its space"):
        model.fit(X)
    model.transmat_ = np.eye(3)
    with pytest.raises(ValueError, match=r"transmat_ must have shape \(2, 2\)"):
        model.fit(X)


def test_column_mismatch_when_scoring():
    model = GaussianHMM(1).fit(X)
    with pytest.raises(ValueError, match="X has 2 column"):
        model.score(np.ones((5, 2)))


def test_use_before_fit():
    with pytest.raises(AttributeError, match="not fitted yet"):
        GaussianHMM(2).predict(X)


def test_simulate_checks():
    with pytest.raises(ValueError, match="exactly one family"):
        simulate_hmm(10, [1.0], [[1.0]])
    with pytest.raises(ValueError, match="transmat is outside its space"):
        simulate_hmm(10, [0.5, 0.5], [[0.5, 0.6], [0.5, 0.5]], lambdas=[[1.0], [2.0]])


def test_summary_refuses_many_parameters():
    # 2 states in 20 dimensions: 1 + 2 + 2 * 2 * 20 = 83 free parameters, above the default limit of 80
    # (two states, whose compiled recursions the other tests use, rather than a specialisation for 8)
    Y = np.random.default_rng(1).normal(size=(200, 20))
    model = GaussianHMM(2, random_state=0, n_iter=5)
    with pytest.warns(Warning):
        model.fit(Y)
    with pytest.raises(ValueError, match="numerical Hessian in 83 free parameters"):
        model.summary()


def test_dataframe_column_names_label_the_summary_and_are_checked():
    import pandas as pd

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(200, 2)), columns=["height", "weight"])
    fit = GaussianHMM(2, covariance_type="full", random_state=0).fit(X)
    assert list(fit.feature_names_in_) == ["height", "weight"] and fit.n_features_in_ == 2
    labels = fit.summary().parameter.tolist()
    assert "means[1, weight]" in labels and "covars[0, height, weight]" in labels
    with pytest.raises(ValueError, match="feature names"):
        fit.score(X.rename(columns={"height": "h"}))
    counts = PoissonHMM(2, random_state=0).fit(pd.DataFrame({"calls": rng.poisson(3, 200)}))
    assert "lambdas[0, calls]" in counts.summary().parameter.tolist()
    plain = GaussianHMM(2, random_state=0).fit(X.to_numpy())
    assert not hasattr(plain, "feature_names_in_") and "means[0, 1]" in plain.summary().parameter.tolist()
