"""MultivariateNormalEM: the engine's contract, equality with a direct numerical
maximisation of the observed-data likelihood (written here independently),
imputation by the conditional-mean formula, and clear errors."""

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, stats

from latentlab.em.testing import check_model
from latentlab.missing import MultivariateNormalEM, MVNData, MVNModel

MEAN = np.array([1.0, -2.0, 0.5, 3.0])
COV = np.array([[2.0, 0.6, 0.3, 0.0], [0.6, 1.0, -0.2, 0.4], [0.3, -0.2, 1.5, 0.5], [0.0, 0.4, 0.5, 1.2]])


def _table(n=300, seed=0, missing=0.25):
    rng = np.random.default_rng(seed)
    X = rng.multivariate_normal(MEAN, COV, n)
    X[rng.random(X.shape) < missing] = np.nan
    X[np.isnan(X).all(axis=1), 0] = 0.0  # every row shows something
    return X


def _direct_loglik(theta, X):
    """sum_i log N(x_o; mu_o, Sigma_oo) by scipy, Sigma = L L' from theta."""
    p = X.shape[1]
    mu = theta[:p]
    L = np.zeros((p, p))
    L[np.tril_indices(p)] = theta[p:]
    S = L @ L.T
    total = 0.0
    for o in np.unique(~np.isnan(X), axis=0):  # rows that show the same coordinates, together
        rows = X[(~np.isnan(X) == o).all(axis=1)][:, o]
        total += np.sum(np.atleast_1d(stats.multivariate_normal.logpdf(rows, mu[o], S[np.ix_(o, o)])))
    return total


def test_em_equals_a_direct_maximisation_of_the_observed_likelihood():
    X = _table()
    assert len(MVNData.build(X).patterns) >= 5
    fit = MultivariateNormalEM(tol=1e-12, random_state=0).fit(X)
    start = np.r_[np.nanmean(X, axis=0), np.diag(np.sqrt(np.nanvar(X, axis=0)))[np.tril_indices(4)]]
    direct = optimize.minimize(lambda th: -_direct_loglik(th, X), start, method="BFGS", options={"gtol": 1e-9})
    p = 4
    L = np.zeros((p, p))
    L[np.tril_indices(p)] = direct.x[p:]
    assert fit.loglik_ == pytest.approx(-direct.fun, abs=1e-8)
    assert np.allclose(fit.mean_, direct.x[:p], atol=1e-6)
    assert np.allclose(fit.cov_, L @ L.T, atol=1e-6)


def test_the_model_keeps_the_engine_contract():
    X = _table(n=200, seed=1)
    check_model(MVNModel(), MVNData.build(X), parts=[MVNData.build(X[:90]), MVNData.build(X[90:])])


def test_impute_fills_the_conditional_mean():
    X = _table(seed=2)
    fit = MultivariateNormalEM(random_state=0).fit(X)
    filled = fit.impute()
    row = np.flatnonzero(np.isnan(X).sum(axis=1) == 2)[0]
    o, m = ~np.isnan(X[row]), np.isnan(X[row])
    S = fit.cov_
    expected = fit.mean_[m] + S[np.ix_(m, o)] @ np.linalg.inv(S[np.ix_(o, o)]) @ (X[row, o] - fit.mean_[o])
    assert np.allclose(filled[row, m], expected) and np.array_equal(filled[row, o], X[row, o])
    assert not np.isnan(filled).any()


def test_dataframes_keep_their_names_and_an_empty_row_is_kept_and_reported():
    X = _table(seed=3)
    X[5] = np.nan
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    with pytest.warns(UserWarning, match="1 row\\(s\\) have every value missing"):
        fit = MultivariateNormalEM(random_state=0).fit(frame)
    assert list(fit.empty_rows_) == [5]
    filled = fit.impute(frame)
    assert list(filled.columns) == ["a", "b", "c", "d"] and np.allclose(filled.iloc[5], fit.mean_)
    assert "cov[b, a]" in list(fit.summary().parameter)


@pytest.mark.parametrize(("X", "message"), [
    (np.c_[np.ones((10, 2)), np.full(10, np.nan)], "column"),
    (np.full((5, 3), np.nan), "column"),
    (pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["x", "y", "z"]}), "non-numeric"),
    (np.array([[1.0, 2.0, np.nan], [np.nan, 1.0, 2.0], [0.5, np.nan, 1.0]]), "more rows than variables"),
    (np.array([[1.0, np.inf], [2.0, 3.0]]), "infinite"),
    (np.c_[np.r_[np.ones(5), np.full(5, np.nan)], np.r_[np.full(5, np.nan), np.ones(5)], np.arange(10.0)],
     "never observed in the same row"),
])
def test_bad_tables_are_refused_clearly(X, message):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises((ValueError, TypeError), match=message):
            MultivariateNormalEM().fit(X)


def test_little_mcar_test_by_hand_and_its_behaviour():
    """The statistic recomputed here pattern by pattern; under MCAR the
    p-values of 200 tables reject at 5% about 5% of the time (sd 1.5%);
    missingness driven by another variable is detected."""
    X = _table(seed=4)
    fit = MultivariateNormalEM(random_state=0).fit(X)
    result = fit.mcar_test()
    d2, df = 0.0, -4
    for o in np.unique(~np.isnan(X), axis=0):
        rows = X[(~np.isnan(X) == o).all(axis=1)][:, o]
        gap = rows.mean(axis=0) - fit.mean_[o]
        d2 += len(rows) * gap @ np.linalg.inv(fit.cov_[np.ix_(o, o)]) @ gap
        df += o.sum()
    assert result.statistic == pytest.approx(d2, rel=1e-10) and result.df == df
    rejections = [MultivariateNormalEM(random_state=0).fit(_table(n=200, seed=s)).mcar_test().p_value < 0.05
                  for s in range(100, 300)]
    assert 0.02 <= np.mean(rejections) <= 0.09
    rng = np.random.default_rng(5)
    Y = rng.multivariate_normal(MEAN, COV, 500)
    Y[Y[:, 1] > -1.5, 0] = np.nan  # x0 hidden when x1 is large: missing at random, not completely
    assert MultivariateNormalEM(random_state=0).fit(Y).mcar_test().p_value < 1e-6


def test_supplemented_em_gives_the_observed_information_standard_errors():
    """Two routes to the same standard errors (issue 16: within 1%)."""
    X = _table(seed=6, missing=0.3)
    fit = MultivariateNormalEM(random_state=0, tol=1e-12).fit(X)
    observed, sem = fit.summary(), fit.summary(method="sem")
    assert list(observed.parameter) == list(sem.parameter)
    assert np.allclose(sem.std_error, observed.std_error, rtol=0.01)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(8, 120), p=st.integers(1, 5), missing=st.floats(0.0, 0.5), seed=st.integers(0, 10_000))
def test_plain_em_trace_never_decreases(n, p, missing, seed):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(p, p))
    X = rng.normal(size=(n, p)) @ A + rng.normal(size=p)
    X[rng.random(X.shape) < missing] = np.nan
    X[:, 0] = np.where(np.isnan(X).all(axis=1), 0.0, X[:, 0])
    X[0] = np.where(np.isnan(X[0]), 1.0, X[0])
    X[1] = np.where(np.isnan(X[1]), -1.0, X[1])  # every pair of variables seen together
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = MultivariateNormalEM(accelerate=None, max_iter=30, tol=0.0, random_state=seed).fit(X)
        except ValueError:  # too few informative rows for p variables: refused, which is right
            return
    trace = np.asarray(fit.result_.trace)
    assert np.all(np.diff(trace) >= -1e-10 * (1 + np.abs(trace[1:])))
