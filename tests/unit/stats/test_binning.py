"""Bin edges come from the dictionary alone: bounds, cut points, decimals and max_bins."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from synthema.errors import DictionaryError
from synthema.schema import Variable, VariableType
from synthema.stats.binning import date_edges, numeric_edges, uses_log_scale


def _numeric(dictionary):
    return [v for v in dictionary.variables if v.type.is_numeric]


@pytest.mark.parametrize("name", ["aml", "scd"])
def test_every_cut_point_is_an_edge_and_bounds_frame_the_bins(name, request):
    # Setup
    dictionary = request.getfixturevalue(f"{name}_dictionary")
    for var in _numeric(dictionary):
        # Run
        edges, decimals = numeric_edges(var, max_bins=16)
        # Assert
        assert set(var.cut_points) <= set(edges), var.name
        assert edges[0] == var.min, var.name
        step = 10.0**-decimals
        assert edges[-1] == pytest.approx(var.max + step), var.name  # one grid step above max
        assert all(b > a for a, b in zip(edges, edges[1:], strict=False))
        assert len(edges) - 1 <= max(16, len(var.cut_points) + 1)


def test_small_integer_range_gets_one_bin_per_value():
    # Setup
    ecog = Variable("ecog", VariableType.INTEGER, min=0, max=4)
    count = Variable("n", VariableType.INTEGER, min=0, max=10, cut_points=(3.0,))
    # Run
    ecog_edges, ecog_dec = numeric_edges(ecog, max_bins=16)
    count_edges, _ = numeric_edges(count, max_bins=16)
    # Assert
    assert ecog_edges == (0, 1, 2, 3, 4, 5) and ecog_dec == 0
    assert count_edges == tuple(range(12))


def test_refinement_stops_at_max_bins_and_splits_the_widest_bins():
    # Setup
    wbc = Variable(
        "wbc", VariableType.CONTINUOUS, min=0, max=500, cut_points=(4, 10, 100), decimals=1
    )
    # Run
    edges, _ = numeric_edges(wbc, max_bins=8)
    # Assert: the 100-500 bin, by far the widest, takes all four extra cuts
    assert edges == (0.0, 4.0, 10.0, 100.0, 180.0, 260.0, 340.0, 420.0, 500.1)


def test_cut_points_beyond_max_bins_are_all_kept():
    # Setup
    var = Variable("x", VariableType.CONTINUOUS, min=0, max=10, cut_points=(1, 2, 3, 4, 5))
    # Run
    edges, decimals = numeric_edges(var, max_bins=3)
    # Assert
    assert edges == (0, 1, 2, 3, 4, 5, 10) and decimals is None


def test_log_scale_only_for_positive_variables_spanning_two_decades():
    # Setup
    ferritin = Variable("ferritin", VariableType.CONTINUOUS, min=1, max=20000, decimals=0)
    wbc = Variable("wbc", VariableType.CONTINUOUS, min=0, max=500, decimals=1)
    hb = Variable("hb", VariableType.CONTINUOUS, min=3, max=18, decimals=1)
    # Run
    edges, _ = numeric_edges(ferritin, max_bins=8)
    # Assert: log-even bins have (about) equal ratios, not equal widths
    ratios = np.diff(np.log(edges))
    assert uses_log_scale(ferritin) and not uses_log_scale(wbc) and not uses_log_scale(hb)
    assert ratios.max() < 1.6 * ratios.min()


def test_continuous_without_decimals_bins_on_the_real_line():
    # Setup
    var = Variable("x", VariableType.CONTINUOUS, min=0, max=1)
    # Run
    edges, decimals = numeric_edges(var, max_bins=4)
    # Assert
    assert edges == (0, 0.25, 0.5, 0.75, 1) and decimals is None


@pytest.mark.parametrize("bounds", [{}, {"min": 0.0}, {"max": 9.0}])
def test_numeric_variable_without_public_bounds_is_an_error(bounds):
    # Setup
    var = Variable("wbc", VariableType.CONTINUOUS, **bounds)
    # Run / Assert
    with pytest.raises(DictionaryError, match="wbc.*no public") as info:
        numeric_edges(var)
    assert "set min and max" in info.value.fix


def test_date_without_bounds_is_an_error():
    # Setup
    var = Variable("d", VariableType.DATE, min=dt.date(2000, 1, 1))
    # Run / Assert
    with pytest.raises(DictionaryError, match="no public max"):
        date_edges(var)


def test_grid_without_any_allowed_value_is_an_error():
    # Setup
    var = Variable("x", VariableType.CONTINUOUS, min=0.01, max=0.04, decimals=1)
    # Run / Assert
    with pytest.raises(DictionaryError, match="allows no value"):
        numeric_edges(var)


@pytest.mark.parametrize("max_bins", [0, -3, 2.5, True])
def test_bad_max_bins_is_rejected(max_bins):
    # Setup
    var = Variable("x", VariableType.INTEGER, min=0, max=9)
    # Run / Assert
    with pytest.raises(ValueError, match="max_bins"):
        numeric_edges(var, max_bins=max_bins)


def test_dates_are_binned_by_calendar_periods_within_max_bins():
    # Setup
    var = Variable("d", VariableType.DATE, min=dt.date(2000, 1, 1), max=dt.date(2026, 12, 31))
    # Run
    yearly = date_edges(var, max_bins=30)
    biennial = date_edges(var, max_bins=16)
    # Assert
    assert len(yearly) - 1 == 27 and yearly[1] == dt.date(2001, 1, 1)
    assert len(biennial) - 1 == 14 and biennial[1] == dt.date(2002, 1, 1)
    assert biennial[-1] == dt.date(2027, 1, 1)
    assert all(e.month == 1 and e.day == 1 for e in biennial)
