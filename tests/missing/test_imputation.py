"""Multiple imputation by bootstrap and EM, Rubin's rules, simulated missingness."""

import numpy as np
import pandas as pd
import pytest

from latentlab.missing import MultivariateNormalEM, multiple_imputations, pool, simulate_missing

COV = np.array([[1.0, 0.5, 0.3], [0.5, 1.0, 0.4], [0.3, 0.4, 1.0]])


def _complete(n=500, seed=0):
    return np.random.default_rng(seed).multivariate_normal([0.0, 1.0, 2.0], COV, n)


def test_imputations_keep_observed_values_and_scatter_around_the_conditional_means():
    Y = simulate_missing(_complete(), 0.3, "MAR", random_state=1)
    imps = multiple_imputations(pd.DataFrame(Y, columns=list("abc")), m=40, random_state=2)
    observed = ~np.isnan(Y)
    assert all(np.array_equal(im.to_numpy()[observed], Y[observed]) for im in imps)
    assert all(not im.isna().any().any() for im in imps)
    draws = np.stack([im.to_numpy() for im in imps])
    assert np.std(draws[:, ~observed], axis=0).min() > 0  # proper draws, not one filled table
    means = MultivariateNormalEM(random_state=0).fit(Y).impute()
    # 40 draws around the conditional mean: their average is within a few of its standard errors
    sd = np.sqrt(np.diag(COV)).max()
    assert np.abs(draws.mean(axis=0)[~observed] - means[~observed]).mean() < 4 * sd / np.sqrt(40)


def test_pool_follows_rubins_rules():
    est = np.array([[1.0, 10.0], [1.2, 10.0], [0.8, 10.0]])
    var = np.array([[0.04, 1.0], [0.05, 1.0], [0.03, 1.0]])
    table = pool(est, var, names=["slope", "level"], level=0.9).set_index("parameter")
    b, ubar, m = 0.04, 0.04, 3  # sample variance of 1.0, 1.2, 0.8 and the mean variance
    total = ubar + (1 + 1 / m) * b
    assert table.loc["slope", "estimate"] == pytest.approx(1.0)
    assert table.loc["slope", "std_error"] == pytest.approx(np.sqrt(total))
    assert table.loc["slope", "df"] == pytest.approx((m - 1) * (1 + ubar / ((1 + 1 / m) * b)) ** 2)
    # no spread between the tables: the within variance alone, with infinite df (normal limits)
    assert table.loc["level", "std_error"] == pytest.approx(1.0) and np.isinf(table.loc["level", "df"])
    assert table.loc["level", "ci_upper"] == pytest.approx(10.0 + 1.6448536, rel=1e-6)


@pytest.mark.parametrize("mechanism", ["MCAR", "MAR", "MNAR"])
def test_simulated_mechanisms(mechanism):
    X = _complete(20_000, 3)
    Y = simulate_missing(X, 0.3, mechanism, columns=[1], random_state=4)
    hidden = np.isnan(Y[:, 1])
    assert not np.isnan(Y[:, [0, 2]]).any()
    assert 0.25 < hidden.mean() < 0.32
    gap_driver = X[hidden, 0].mean() - X[~hidden, 0].mean()
    gap_self = X[hidden, 1].mean() - X[~hidden, 1].mean()
    if mechanism == "MCAR":
        assert abs(gap_driver) < 0.05 and abs(gap_self) < 0.05
    elif mechanism == "MAR":
        assert gap_driver > 0.5  # driven by column 0 (observed)
    else:
        assert gap_self > 0.5  # driven by the hidden value itself


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(fraction=1.5), "fraction"), (dict(mechanism="NMAR"), "mechanism"),
    (dict(columns=[5]), "columns"), (dict(mechanism="MAR", columns=[0, 1, 2]), "driver"),
])
def test_simulate_missing_refuses_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        simulate_missing(_complete(50), **{"fraction": 0.2, **kwargs})


def test_pool_refuses_bad_input():
    with pytest.raises(ValueError, match="at least 2"):
        pool([[1.0]], [[0.1]])
    with pytest.raises(ValueError, match="same shape"):
        pool([[1.0], [2.0]], [[0.1, 0.2], [0.1, 0.2]])
    with pytest.raises(ValueError, match="non-negative"):
        pool([[1.0], [2.0]], [[-0.1], [0.1]])
