"""Hierarchies: labels per level, nesting, and errors on values they cannot place."""

from __future__ import annotations

import pandas as pd
import pytest

from synthema.anonymize import AnonymizationError, HierarchySpec, build_hierarchy


def test_date_levels_and_min_level():
    spec = HierarchySpec("d", "date", levels=("month", "year", "decade"), min_level=1)
    h = build_hierarchy(pd.Series(["2017-02-28", None, "2021-12-01"]), spec)
    assert [list(x) for x in h.labels[:4]] == [
        ["2017-02-28", None, "2021-12-01"], ["2017-02", None, "2021-12"],
        ["2017", None, "2021"], ["2010-2019", None, "2020-2029"]]
    assert list(h.labels[-1]) == ["*", "*", "*"] and (h.lo, h.hi) == (1, 4)


def test_postcode_truncation():
    h = build_hierarchy(pd.Series(["73872", "73811"]), HierarchySpec("plz", "truncate"))
    assert [x[0] for x in h.labels] == ["73872", "7387*", "738**", "73***", "7****", "*"]


def test_groups_and_unmapped_value():
    spec = HierarchySpec("country", "groups", levels=({"DE": "West", "FR": "West"},))
    h = build_hierarchy(pd.Series(["DE", "FR"]), spec)
    assert list(h.labels[1]) == ["West", "West"]
    with pytest.raises(AnonymizationError, match="'IT'"):
        build_hierarchy(pd.Series(["DE", "IT"]), spec)


def test_non_nesting_bands_and_non_numbers_raise():
    with pytest.raises(AnonymizationError, match="nest"):
        build_hierarchy(pd.Series([1, 2]), HierarchySpec("age", "interval", bands=(5, 7)))
    with pytest.raises(AnonymizationError, match="not a number"):
        build_hierarchy(pd.Series(["1", "old"]), HierarchySpec("age", "interval", bands=(5,)))


def test_nue_cost_is_log_ratio_of_counts():
    h = build_hierarchy(pd.Series(["a", "a", "b", "c"]), HierarchySpec("x", "suppress"))
    # top level: log2(4/2) for the two 'a', log2(4/1) for 'b' and 'c'
    assert list(h.cost[1]) == [1.0, 1.0, 2.0, 2.0] and list(h.cost[0]) == [0.0] * 4
