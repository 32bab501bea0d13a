"""Hierarchies: labels per level, nesting, and errors on values they cannot place."""

from __future__ import annotations

import dataclasses

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


def test_interval_bands_are_counted_from_the_origin():
    # Setup: origin 3 is not a multiple of either width, so bands start at 3 + 5j / 3 + 10j
    spec = HierarchySpec("age", "interval", bands=(5, 10), origin=3)

    # Run
    h = build_hierarchy(pd.Series([34, 3, 47]), spec)

    # Assert: 34 = 3 + 31 lies in [33, 38) and [33, 43); 47 = 3 + 44 in [43, 48) and [43, 53)
    assert list(h.labels[1]) == ["33-37", "3-7", "43-47"]
    assert list(h.labels[2]) == ["33-42", "3-12", "43-52"]
    assert h.names[1:3] == ("bands of 5", "bands of 10")


def test_bands_of_large_numbers_keep_every_digit():
    # Setup: seven-digit whole numbers in bands of 5, half-open bands of 0.5, a cap and cuts
    whole = HierarchySpec("count", "interval", bands=(5,), cap=1000010, cuts=(1000005,))
    half = HierarchySpec("dose", "interval", bands=(0.5,))

    # Run
    h = build_hierarchy(pd.Series([1000000, 1000007, 1000012]), whole)
    h_half = build_hierarchy(pd.Series([1000000.0, 1000000.5]), half)

    # Assert: distinct bands get distinct labels that state their bounds exactly
    assert list(h.labels[1]) == ["1000000-1000004", "1000005-1000009", "1000010+"]
    assert list(h.labels[2]) == ["<1000005", "1000005+", "1000005+"]
    assert h.names[1:3] == ("bands of 5, 1000010+ together", "split at 1000005")
    assert list(h_half.labels[1]) == ["[1000000, 1000000.5)", "[1000000.5, 1000001)"]


def test_non_whole_values_or_width_give_half_open_intervals():
    # Setup: fractional values with a whole width, then whole values with a width of 2.5
    frac = HierarchySpec("bmi", "interval", bands=(5,))
    half = HierarchySpec("age", "interval", bands=(2.5,))

    # Run
    h_frac = build_hierarchy(pd.Series([34.5, 37.25]), frac)
    h_half = build_hierarchy(pd.Series([30, 33]), half)

    # Assert: 'a-b' only when both the values and the width are whole (33 // 2.5 = 13 -> 32.5)
    assert list(h_frac.labels[1]) == ["[30, 35)", "[35, 40)"]
    assert list(h_half.labels[1]) == ["[30, 32.5)", "[32.5, 35)"]


def test_cut_groups_are_half_open_unless_values_and_cut_are_whole():
    # Setup: fractional values with whole cuts, then whole values with a fractional upper cut
    frac = HierarchySpec("bmi", "interval", bands=(5,), cuts=(40, 75))
    half = HierarchySpec("age", "interval", bands=(5,), cuts=(40, 75.5))

    # Run
    h_frac = build_hierarchy(pd.Series([39.5, 50.5, 75.0]), frac)
    h_half = build_hierarchy(pd.Series([39, 50, 76]), half)

    # Assert
    assert list(h_frac.labels[2]) == ["<40", "[40, 75)", "75+"]
    assert list(h_half.labels[2]) == ["<40", "[40, 75.5)", "75.5+"]


def test_truncation_of_codes_of_different_lengths():
    # Setup: a five- and a three-character code and a missing one
    spec = HierarchySpec("plz", "truncate")

    # Run
    h = build_hierarchy(pd.Series(["73872", "738", None]), spec)

    # Assert: one level per masked character of the longest code (4), then '*'; a short code
    # is all '*' once the cut reaches its length, never longer than itself
    assert [list(x) for x in h.labels] == [
        ["73872", "738", None], ["7387*", "73*", None], ["738**", "7**", None],
        ["73***", "***", None], ["7****", "***", None], ["*", "*", "*"]]
    assert h.names == ("exact value", "last 1 character masked", "last 2 characters masked",
                       "last 3 characters masked", "last 4 characters masked", "* (withheld)")
    assert (h.lo, h.hi) == (0, 5)


def test_level_names_of_groups_and_dates():
    # Setup: two group levels; a date hierarchy
    groups = HierarchySpec("country", "groups", levels=(
        {"DE": "West", "FR": "West", "PL": "East"}, {"West": "EU", "East": "EU"}))
    dates = HierarchySpec("d", "date", levels=("month", "year"))

    # Run
    h_groups = build_hierarchy(pd.Series(["DE", "PL"]), groups)
    h_dates = build_hierarchy(pd.Series(["2017-02-28"]), dates)

    # Assert: one name per level, level 0 says what kind of value it is
    assert h_groups.names == ("exact value", "groups, level 1", "groups, level 2",
                              "* (withheld)")
    assert [list(x) for x in h_groups.labels[1:3]] == [["West", "East"], ["EU", "EU"]]
    assert h_dates.names == ("exact date", "month", "year", "* (withheld)")


def test_max_level_above_the_hierarchy_is_clamped_to_its_top():
    # Setup: a five-character code has levels 0..5 (four masks and '*')
    codes = pd.Series(["73872"])

    # Run
    h_big = build_hierarchy(codes, HierarchySpec("plz", "truncate", max_level=9))
    h_two = build_hierarchy(codes, HierarchySpec("plz", "truncate", max_level=2))

    # Assert
    assert (h_big.lo, h_big.hi, h_big.height) == (0, 5, 5)
    assert (h_two.hi, h_two.height) == (2, 5)


def test_min_level_above_the_highest_level_raises():
    # Setup: 'suppress' has two levels (exact, '*'); the highest is 1
    values = pd.Series(["a", "b"])

    # Run
    at_top = build_hierarchy(values, HierarchySpec("x", "suppress", min_level=1))
    above = r"min_level 2 is above the highest level 1"
    with pytest.raises(AnonymizationError, match=above) as err:
        build_hierarchy(values, HierarchySpec("x", "suppress", min_level=2))
    with pytest.raises(AnonymizationError, match=r"^qi\.plz: min_level 3 .* level 2$"):
        build_hierarchy(pd.Series(["73872"]),
                        HierarchySpec("plz", "truncate", min_level=3, max_level=2), where="qi.plz")

    # Assert: min_level equal to the top is allowed; the message names the policy key
    assert (at_top.lo, at_top.hi) == (1, 1)
    assert err.value.message.startswith("quasi_identifiers.x:")
    assert err.value.fix == "use min_level between 0 and 1"


def test_hierarchy_is_immutable():
    # Setup: one hierarchy is shared by every node of the search and by the assessment
    h = build_hierarchy(pd.Series(["a"]), HierarchySpec("x", "suppress"))

    # Run / Assert: its level bounds cannot be changed under them
    with pytest.raises(dataclasses.FrozenInstanceError):
        h.lo = 1  # type: ignore[misc]
    assert h.lo == 0
