import numpy as np
import pytest

from latentlab.em import GroupedSimplex, Interval, Positive, Real, Simplex, UnitInterval


@pytest.mark.parametrize(
    "constraint, x",
    [
        (Real(), np.array([-1.5, 0.0, 2.0])),
        (Positive(), np.array([0.1, 3.0, 20.0])),
        (UnitInterval(), np.array([0.01, 0.5, 0.99])),
        (Simplex(), np.array([0.2, 0.5, 0.3])),
        (Simplex(axis=1), np.array([[0.2, 0.8], [0.6, 0.4]])),
        (Simplex(axis=0), np.array([[0.2, 0.8], [0.8, 0.2]])),
        (GroupedSimplex([1, 0, 1, 2, 0, 1]), np.array([0.2, 0.9, 0.5, 1.0, 0.1, 0.3])),
    ],
)
def test_free_coordinates_round_trip(constraint, x):
    free = constraint.interior(x)
    u = constraint.to_free(x, free)
    assert u.size == constraint.n_free(free)
    np.testing.assert_allclose(constraint.from_free(u, x, free), x, rtol=1e-12, atol=1e-15)


def test_any_free_coordinates_map_inside_the_space():
    rng = np.random.default_rng(1)
    for c, x in [(Positive(), np.ones(3)), (UnitInterval(), np.full(3, 0.5)), (Simplex(), np.full(4, 0.25))]:
        free = c.interior(x)
        for _ in range(20):
            u = rng.normal(scale=5, size=c.n_free(free))
            assert c.is_valid(c.from_free(u, x, free))


def test_simplex_holds_zero_entries_fixed():
    x = np.array([0.5, 0.0, 0.3, 0.2])
    c = Simplex()
    free = c.interior(x)
    assert c.n_free(free) == 2  # three positive entries, one constraint
    y = c.from_free(np.array([0.3, -1.0]), x, free)
    assert y[1] == 0.0
    assert np.isclose(y.sum(), 1.0)


@pytest.mark.parametrize(
    "constraint, bad",
    [
        (Positive(), np.array([1.0, -0.1])),
        (Positive(), np.array([1.0, np.nan])),
        (UnitInterval(), np.array([0.5, 1.2])),
        (Simplex(), np.array([0.5, 0.6])),
        (Simplex(), np.array([1.2, -0.2])),
        (Real(), np.array([np.inf])),
        (GroupedSimplex([0, 0, 1]), np.array([0.5, 0.5, 0.9])),
        (GroupedSimplex([0, 0, 1]), np.array([0.5, 0.5])),
        (Real(), np.array([1.0, np.nan])),
        (Real(), np.array([-np.inf, 0.0])),
        (Positive(), np.array([np.inf])),
        (Positive(upper=2.0), np.array([1.0, 2.5])),
        (UnitInterval(), np.array([np.nan, 0.5])),
        (Interval(-1.0, 1.0), np.array([0.0, 1.0])),  # open: the bound itself is out
        (Interval(-1.0, 1.0, closed=True), np.array([0.0, 1.5])),
        (Interval(-1.0, 1.0, closed=True), np.array([np.nan])),
        (Simplex(), np.array([np.nan, 1.0])),
    ],
)
def test_invalid_values_are_rejected(constraint, bad):
    assert not constraint.is_valid(bad)


@pytest.mark.parametrize(
    "constraint, good",
    [
        (Real(), np.array([-1e300, 0.0, 1e300])),
        (Positive(), np.array([0.0, 3.0])),  # the bounds themselves are in
        (Positive(upper=2.0), np.array([2.0])),
        (UnitInterval(), np.array([0.0, 1.0])),
        (Interval(-1.0, 1.0, closed=True), np.array([-1.0, 1.0])),
        (Interval(-1.0, 1.0), np.array([-0.999, 0.999])),
        (Simplex(axis=1), np.array([[1.0, 0.0], [0.25, 0.75]])),
        (Real(), np.array([])),
        (Positive(), np.array(2.0)),
    ],
)
def test_valid_values_are_accepted(constraint, good):
    assert constraint.is_valid(good)


def test_grouped_simplex_agrees_with_simplex_rows_and_tidies_each_group():
    """Two groups laid out as a 2x3 Simplex(axis=1): same free coordinates, same count."""
    rows = np.array([[0.2, 0.0, 0.8], [0.1, 0.6, 0.3]])
    grouped = GroupedSimplex([0, 0, 0, 1, 1, 1])
    x = rows.ravel()
    assert grouped.is_valid(x)
    free = grouped.interior(x)
    np.testing.assert_allclose(grouped.to_free(x, free), Simplex(axis=1).to_free(rows, free.reshape(2, 3)))
    assert grouped.n_free(free) == 1 + 2
    u = np.array([0.4, -2.0, 1.0])
    np.testing.assert_allclose(grouped.from_free(u, x, free),
                               Simplex(axis=1).from_free(u, rows, free.reshape(2, 3)).ravel())
    np.testing.assert_allclose(grouped.tidy(2 * x), x)
