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
    # the value is counted, never shown (a postcode or ward may identify)
    with pytest.raises(AnonymizationError, match=r"1 distinct value\(s\) in 2 row\(s\)") as err:
        build_hierarchy(pd.Series(["DE", "IT", "IT"]), spec)
    assert "IT" not in err.value.message + err.value.fix


def test_non_nesting_bands_and_non_numbers_raise():
    with pytest.raises(AnonymizationError, match="nest"):
        build_hierarchy(pd.Series([1, 2]), HierarchySpec("age", "interval", bands=(5, 7)))
    with pytest.raises(AnonymizationError, match="not a number"):
        build_hierarchy(pd.Series(["1", "old"]), HierarchySpec("age", "interval", bands=(5,)))


def test_nue_cost_is_log_ratio_of_counts():
    h = build_hierarchy(pd.Series(["a", "a", "b", "c"]), HierarchySpec("x", "suppress"))
    # top level: log2(4/2) for the two 'a', log2(4/1) for 'b' and 'c'
    assert list(h.cost[1]) == [1.0, 1.0, 2.0, 2.0] and list(h.cost[0]) == [0.0] * 4


def test_cut_points_add_one_level_of_clinical_groups_that_nests():
    # Setup: the usual AML split at 60 above 5-, 10- and 20-year bands
    spec = HierarchySpec("age", "interval", bands=(5, 10, 20), cuts=(60,))
    ages = pd.Series([18, 59, 60, 61, 79, 95, None])

    # Run
    h = build_hierarchy(ages, spec)

    # Assert: exact, three band levels, the split, '*'; missing stays missing until '*'
    assert h.height == 5 and h.names[4] == "split at 60"
    assert list(h.labels[4]) == ["<60", "<60", "60+", "60+", "60+", "60+", None]
    assert list(h.labels[3]) == ["0-19", "40-59", "60-79", "60-79", "60-79", "80-99", None]
    for lower, upper in zip(h.codes[:-1], h.codes[1:], strict=True):  # every class nests
        pairs = pd.DataFrame({"lo": lower, "up": upper}).drop_duplicates()
        assert not pairs["lo"].duplicated().any()
    three = build_hierarchy(pd.Series([39, 40, 74, 75]),
                            HierarchySpec("age", "interval", bands=(5,), cuts=(40, 75)))
    assert list(three.labels[2]) == ["<40", "40-74", "40-74", "75+"]
