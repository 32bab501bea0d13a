"""Utility between the ORIGINAL input and the release (issue 14, item 6): a withheld or
banded column costs what it costs, checked against hand-computed and brute-force TVDs, and
rounded like every other figure computed over the suppressed records too."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from synthema.anonymize import anonymize, load_policy
from synthema.anonymize.assessment import figure_decimals
from synthema.anonymize.column_cost import column_costs
from synthema.anonymize.hierarchy import build_hierarchy
from synthema.anonymize.html import render_html, scorecard_metrics
from synthema.anonymize.policy import HierarchySpec
from synthema.schema import Dictionary, load_dictionary

KEY = b"6be12b7c7a8bb8308dd4c34f1f1607265b77710f25915c4313952eddfcfbbd13"


def _brute_tvd(a: pd.Series, b: pd.Series) -> float:
    """TVD of two columns' values (missing as a value), by counting."""
    ca = Counter("<NA>" if pd.isna(v) else str(v) for v in a)
    cb = Counter("<NA>" if pd.isna(v) else str(v) for v in b)
    return 0.5 * sum(abs(ca[v] / len(a) - cb[v] / len(b)) for v in set(ca) | set(cb))


def _costs(report) -> dict[str, dict]:
    return {c["column"]: c for c in report.utility["input_vs_release"]["columns"]}


@pytest.fixture(scope="module")
def aml_release(raw_aml):
    """The built-in aml policy on the 400-patient export (as in test_anonymize_report)."""
    return anonymize(raw_aml, load_policy("aml"), key=KEY)


def test_a_withheld_column_costs_one_and_counts_in_the_headline(raw_aml):
    # Setup: sex may only be released as '*' (before, input and release were both '*':
    # distance 0, and the report headlined utility 99)
    base = load_policy("aml")
    qis = tuple(dataclasses.replace(s, min_level=1) if s.column == "sex" else s
                for s in base.quasi_identifiers)
    policy = dataclasses.replace(base, quasi_identifiers=qis)
    # Run
    report = anonymize(raw_aml, policy, key=KEY).report
    # Assert: sex is withheld at full cost, and the headline is the mean over every dictionary
    # column of the input (removed ones at 1 too), the purpose's over the policy's columns
    costs = _costs(report)
    assert costs["sex"]["status"] == "withheld" and costs["sex"]["tvd"] == 1.0
    assert costs["aml_type"]["status"] == "removed" and costs["aml_type"]["tvd"] == 1.0
    iv = report.utility["input_vs_release"]
    dictionary = load_dictionary("aml")
    counted = [c for c in costs if c in dictionary]
    assert iv["mean_over"] == len(counted) == len([v for v in dictionary.variables
                                                   if v.name in raw_aml])
    d = report.utility["decimals"]
    assert iv["mean_tvd"] == pytest.approx(np.mean([costs[c]["tvd"] for c in counted]),
                                           abs=10**-d)
    named = {*policy.keep, *policy.sensitive, *(s.column for s in policy.quasi_identifiers)}
    assert iv["purpose_over"] == len(named)
    assert iv["purpose_mean_tvd"] >= 1 / len(named)  # sex alone adds 1/8
    # the page and the scorecard show it
    page = render_html(report)
    assert "What each input column costs" in page and "* (withheld)" in page
    rows = {r["name"]: r for r in scorecard_metrics(report)}
    assert rows["utility lost, the dictionary's columns"]["value"] == iv["mean_tvd"]


def test_a_banded_column_costs_the_hand_computed_tvd():
    # Setup: ages 0..9 (one public bin per year); the release shows bands of 5 and lost
    # the record aged 8
    d = Dictionary.from_mapping({"name": "x", "version": 1, "variables": [
        {"name": "age", "type": "integer", "min": 0, "max": 9}]})
    before = pd.DataFrame({"age": ["0", "1", "2", "7", "8", "9"]})
    after = pd.DataFrame({"age": ["0-4", "0-4", "0-4", "5-9", "5-9"]})
    spec = HierarchySpec("age", "interval", bands=(5,))
    # Run
    out = column_costs(before, after, dictionary=d,
                       generalised={"age": (spec, "bands of 5")})
    # Assert: the release spreads 3/5 over 0..4 (0.12 each) and 2/5 over 5..9 (0.08 each);
    # the input holds 1/6 at 0, 1, 2, 7, 8, 9:
    # TVD = 0.5 (3 |1/6 - 0.12| + 2 * 0.12 + 2 * 0.08 + 3 |1/6 - 0.08|) = 0.4
    hand = 0.5 * (3 * abs(1 / 6 - 0.12) + 2 * 0.12 + 2 * 0.08 + 3 * abs(1 / 6 - 0.08))
    row = out["columns"][0]
    assert row["status"] == "generalised" and row["released_as"] == "bands of 5"
    assert row["tvd"] == pytest.approx(hand, abs=1e-6) == pytest.approx(0.4)
    # the same labels compared in the release's own domain cost only the suppression: 1/10
    assert _brute_tvd(pd.Series(["0-4"] * 3 + ["5-9"] * 3), after["age"]) == pytest.approx(0.1)


def test_a_capped_band_spreads_to_the_dictionary_bound():
    # Setup: '5+' of a duration bounded at 9 covers 5..9; nothing suppressed
    d = Dictionary.from_mapping({"name": "x", "version": 1, "variables": [
        {"name": "t", "type": "duration", "min": 0, "max": 9}]})
    spec = HierarchySpec("t", "interval", bands=(5,), cap=5)
    # Run
    out = column_costs(pd.DataFrame({"t": ["5", "5"]}), pd.DataFrame({"t": ["5+", "5+"]}),
                       dictionary=d, generalised={"t": (spec, "bands of 5, 5+ together")})
    # Assert: all the input's mass at 5, the release's 1/5 on each of 5..9
    assert out["columns"][0]["tvd"] == pytest.approx(0.8)


def test_suppression_alone_gives_the_brute_force_tvd():
    # Setup: a kept column (exact values) of which some records were suppressed
    rng = np.random.default_rng(3)
    d = Dictionary.from_mapping({"name": "x", "version": 1, "variables": [
        {"name": "eln", "type": "ordinal", "categories": ["fav", "int", "adv"]}]})
    before = pd.DataFrame({"eln": rng.choice(["fav", "int", "adv", None], 97)})
    after = before[rng.random(97) > 0.2].reset_index(drop=True)
    # Run
    out = column_costs(before, after, dictionary=d)
    # Assert
    assert out["columns"][0]["status"] == "kept"
    assert out["columns"][0]["tvd"] == pytest.approx(_brute_tvd(before["eln"], after["eln"]),
                                                     abs=1e-6)
    assert out["columns"][0]["tvd"] > 0


def test_report_figures_are_the_brute_force_ones_rounded(raw_aml, aml_release):
    # Setup: the release (its row order is shuffled, which no distribution sees)
    report, released = aml_release.report, aml_release.data
    d = report.utility["decimals"]
    costs = _costs(report)
    # Assert: as every utility figure, d decimals with 10^-d * n >= k (1 at 400 records)
    assert d == figure_decimals(len(raw_aml), report.models.k) == 1
    kept = [c for c, v in costs.items() if v["status"] == "kept"]
    assert {"eln2022", "induction_response", "os_status"} <= set(kept)
    for col in kept:
        brute = _brute_tvd(raw_aml[col], released[col])
        assert costs[col]["tvd"] == round(brute, d), col
    dictionary = load_dictionary("aml")
    gen = {c: (s, report.generalisation_levels[c].shows)
           for c, s in ((s.column, s) for s in load_policy("aml").quasi_identifiers)
           if report.generalisation_levels[c].level > 0}
    exact = column_costs(raw_aml, released, dictionary=dictionary, generalised=gen)
    unrounded = {c["column"]: c["tvd"] for c in exact["columns"] if "tvd" in c}
    for col in gen:
        assert costs[col]["tvd"] == round(unrounded[col], d), col
    assert any(round(v, d) != v for v in unrounded.values())  # rounding did something
    assert all(round(c["tvd"], d) == c["tvd"] for c in costs.values() if "tvd" in c)
    iv = report.utility["input_vs_release"]
    assert round(iv["mean_tvd"], d) == iv["mean_tvd"]
    assert set(iv) >= {"columns", "mean_tvd", "purpose_mean_tvd", "skipped"}


def _one(var: dict) -> Dictionary:
    return Dictionary.from_mapping({"name": "x", "version": 1, "variables": [var]})


def test_a_range_over_grid_max_whole_numbers_is_spread_over_every_other_one():
    # Setup: 100,002 whole numbers (100000..200001), more than GRID_MAX = 100,000, so the grid
    # steps by ceil(100001 / 100000) = 2 from the minimum: 100000, 100002, ... The public
    # bins split at 100002: [100000..100001] and [100002..106667] are the first two
    d = _one({"name": "n", "type": "integer", "min": 100000, "max": 200001,
              "cut_points": [100002]})
    spec = HierarchySpec("n", "interval", bands=(2,), origin=1)
    before = pd.DataFrame({"n": ["100001", "100002"]})
    after = pd.DataFrame({"n": ["100001-100002", "100001-100002"]})
    # Run
    out = column_costs(before, after, dictionary=d, generalised={"n": (spec, "bands of 2")})
    # Assert: the band holds one grid point, 100002, so the release puts all its mass in the
    # second bin; the input has half in each: TVD = 0.5 (with every whole number on the grid
    # the band would cover 100001 and 100002 and cost 0)
    assert out["columns"][0]["tvd"] == pytest.approx(0.5)


def test_a_short_date_range_has_every_day_on_the_grid():
    # Setup: two days, one per public (year) bin; the release shows the year
    d = _one({"name": "dx", "type": "date", "min": "2001-12-31", "max": "2002-01-01"})
    spec = HierarchySpec("dx", "date", levels=("year",))
    # Run
    out = column_costs(pd.DataFrame({"dx": ["2002-01-01"]}), pd.DataFrame({"dx": ["2002"]}),
                       dictionary=d, generalised={"dx": (spec, "year")})
    # Assert: '2002' covers 2002-01-01, the input's own day and bin: TVD 0
    assert out["columns"][0]["tvd"] == 0.0


@pytest.mark.parametrize(("days", "offset"), [(150_000, 2), (199_999, 1)])
def test_a_date_range_under_twice_grid_max_days_has_every_day_on_the_grid(days, offset):
    # Setup: a range of `days` days, under 2 * GRID_MAX, so the grid steps by
    # days // GRID_MAX = 1 day; the release shows exact dates, one of them a day `offset`
    # after the minimum
    lo = dt.date(1700, 1, 1)
    hi = lo + dt.timedelta(days=days - 1)
    d = _one({"name": "dx", "type": "date", "min": lo.isoformat(), "max": hi.isoformat()})
    spec = HierarchySpec("dx", "date", levels=("year",))
    day = (lo + dt.timedelta(days=offset)).isoformat()
    # Run
    out = column_costs(pd.DataFrame({"dx": [day]}), pd.DataFrame({"dx": [day]}),
                       dictionary=d, generalised={"dx": (spec, "exact date")})
    # Assert: the day is on the grid, in the input's own bin: TVD 0 (off the grid it would
    # count as beyond the range: 1)
    assert out["columns"][0]["tvd"] == 0.0


def test_a_boolean_label_spreads_over_false_and_true():
    # Setup: a boolean grouped into one label covering both values; the input is 3/4 true
    d = _one({"name": "b", "type": "boolean"})
    spec = HierarchySpec("b", "groups", levels=({"False": "any", "True": "any"},))
    before = pd.DataFrame({"b": ["True", "True", "True", "False"]})
    # Run
    out = column_costs(before, pd.DataFrame({"b": ["any"] * 4}), dictionary=d,
                       generalised={"b": (spec, "groups, level 1")})
    # Assert: the release is 1/2 false, 1/2 true: TVD = 0.5 (|1/4 - 1/2| + |3/4 - 1/2|) = 1/4
    assert out["columns"][0]["tvd"] == pytest.approx(0.25)


def test_half_open_bands_of_a_continuous_column_spread_over_the_real_range():
    # Setup: hb in [0, 2] (16 public bins of 0.125); bands of 0.5, 1.5 and above together:
    # labels '[0.5, 1)' and '1.5+', which only a grid of real numbers carries
    d = _one({"name": "hb", "type": "continuous", "min": 0, "max": 2})
    spec = HierarchySpec("hb", "interval", bands=(0.5,), cap=1.5)
    before = pd.DataFrame({"hb": ["0.7", "1.9"]})
    after = pd.DataFrame({"hb": ["[0.5, 1)", "1.5+"]})
    # Run
    out = column_costs(before, after, dictionary=d,
                       generalised={"hb": (spec, "bands of 0.5, 1.5+ together")})
    # Assert: each label spreads its 1/2 over 4 bins (1/8 each: 0.5..1 and 1.5..2); the input
    # has 1/2 in [0.625, 0.75) and 1/2 in [1.875, 2], each the bin of one label:
    # TVD = 0.5 (2 |1/2 - 1/8| + 6 / 8) = 0.75, up to the grid's points per bin (12,500 of
    # 100,000, give or take one: a difference under 1e-4)
    assert out["columns"][0]["tvd"] == pytest.approx(0.75, abs=1e-4)


def test_whole_number_bands_of_a_continuous_column_spread_over_whole_numbers():
    # Setup: a continuous column holding whole numbers is banded '1-1' (bands of 1); the
    # grid is then 0, 1, 2
    d = _one({"name": "x", "type": "continuous", "min": 0, "max": 2})
    spec = HierarchySpec("x", "interval", bands=(1,))
    # Run
    out = column_costs(pd.DataFrame({"x": ["1", "2"]}), pd.DataFrame({"x": ["1-1", "2-2"]}),
                       dictionary=d, generalised={"x": (spec, "bands of 1")})
    # Assert: each label is its own value, in the input's own bin: TVD 0
    assert out["columns"][0]["tvd"] == 0.0


def test_missing_labels_count_as_missing_and_narrow_bands_weigh_as_much_as_wide_ones():
    # Setup: ages 0..7 (one bin per year) in bands of 5: '0-4' covers 5 values, '5-9' only
    # 5, 6, 7 (3); one released age is missing, as in the input
    d = _one({"name": "age", "type": "integer", "min": 0, "max": 7})
    spec = HierarchySpec("age", "interval", bands=(5,))
    before = pd.DataFrame({"age": ["0", "5", None, None]})
    after = pd.DataFrame({"age": ["0-4", "5-9", None, None]})
    # Run
    out = column_costs(before, after, dictionary=d, generalised={"age": (spec, "bands of 5")})
    # Assert: the release has 1/4 over 0..4 (1/20 each), 1/4 over 5..7 (1/12 each) and 1/2
    # missing, as the input: TVD = 0.5 (|1/4 - 1/20| + 4/20 + |1/4 - 1/12| + 2/12)
    # = 0.5 (2/5 + 1/3) = 11/30
    hand = 0.5 * (abs(1 / 4 - 1 / 20) + 4 / 20 + abs(1 / 4 - 1 / 12) + 2 / 12)
    assert out["columns"][0]["tvd"] == pytest.approx(hand, abs=1e-6)
    assert hand == pytest.approx(11 / 30)


def test_a_label_beyond_the_bounds_counts_in_a_bin_of_its_own():
    # Setup: ages 0..9; the release shows '10-14', which no allowed age carries, and the
    # input's missing age as '0-4'
    d = _one({"name": "age", "type": "integer", "min": 0, "max": 9})
    spec = HierarchySpec("age", "interval", bands=(5,))
    # Run
    out = column_costs(pd.DataFrame({"age": ["0", None]}),
                       pd.DataFrame({"age": ["0-4", "10-14"]}),
                       dictionary=d, generalised={"age": (spec, "bands of 5")})
    # Assert: input 1/2 at 0 and 1/2 missing; release 1/10 on each of 0..4 and 1/2 beyond:
    # TVD = 0.5 (|1/2 - 1/10| + 4/10 + 1/2 (missing) + 1/2 (beyond)) = 0.9
    assert out["columns"][0]["tvd"] == pytest.approx(0.9)


def test_labels_the_hierarchy_cannot_rebuild_are_skipped_and_left_out_of_the_means():
    # Setup: the level named is not one the spec builds
    d = _one({"name": "age", "type": "integer", "min": 0, "max": 9})
    spec = HierarchySpec("age", "interval", bands=(5,))
    # Run
    out = column_costs(pd.DataFrame({"age": ["1"]}), pd.DataFrame({"age": ["0-6"]}),
                       dictionary=d, generalised={"age": (spec, "bands of 7")})
    # Assert
    row = out["columns"][0]
    assert "tvd" not in row and row["skipped"].startswith("its labels could not be spread")
    assert out["skipped"] == {"age": row["skipped"]}
    assert out["mean_tvd"] is None and out["mean_over"] == 0


def test_an_empty_release_of_a_kept_column_costs_one():
    # Setup: every record suppressed
    d = _one({"name": "sex", "type": "categorical", "categories": ["F", "M"]})
    # Run
    out = column_costs(pd.DataFrame({"sex": ["F", "M"]}), pd.DataFrame({"sex": []}),
                       dictionary=d)
    # Assert: nothing of the column is left
    assert out["columns"][0]["tvd"] == 1.0 and out["mean_tvd"] == 1.0


def test_columns_default_to_the_dictionarys_in_the_input_then_other_released_ones():
    # Setup: the dictionary also declares 'age', which the input lacks; the release carries a
    # column the dictionary lacks, 'note', with values only one side has
    d = Dictionary.from_mapping({"name": "x", "version": 1, "variables": [
        {"name": "age", "type": "integer", "min": 0, "max": 9},
        {"name": "sex", "type": "categorical", "categories": ["F", "M"]}]})
    before = pd.DataFrame({"sex": ["F", "F", "M"], "note": ["a", "a", "b"]})
    after = pd.DataFrame({"sex": ["F", "F", "M"], "note": ["a", "c", None]})
    # Run
    out = column_costs(before, after, dictionary=d)
    # Assert: 'note' compares text values: input a 2/3, b 1/3; release a, c and missing 1/3
    # each: TVD = 0.5 (1/3 + 1/3 + 1/3 + 1/3) = 2/3; the headline counts 'sex' alone
    assert [r["column"] for r in out["columns"]] == ["sex", "note"]
    costs = {r["column"]: r["tvd"] for r in out["columns"]}
    assert costs["note"] == round(_brute_tvd(before["note"], after["note"]), 6)
    assert costs["note"] == round(2 / 3, 6) and costs["sex"] == 0.0
    assert out["mean_tvd"] == 0.0 and out["mean_over"] == 1


def test_transformed_and_undeclared_generalised_columns_are_skipped():
    # Setup: dates released as days from an anchor, and a banded column with no dictionary
    # entry (no public values to spread its labels over)
    d = _one({"name": "dx", "type": "date", "min": "2000-01-01", "max": "2000-12-31"})
    before = pd.DataFrame({"dx": ["2000-01-05"], "w": ["7"]})
    after = pd.DataFrame({"dx": ["4"], "w": ["5-9"]})
    spec = HierarchySpec("w", "interval", bands=(5,))
    # Run
    out = column_costs(before, after, dictionary=d, purpose=("dx", "w"),
                       transformed={"dx": "days from the anchor"},
                       generalised={"w": (spec, "bands of 5")})
    # Assert: neither is measured, and neither counts in a mean
    rows = {r["column"]: r for r in out["columns"]}
    assert rows["dx"]["status"] == "transformed" and "tvd" not in rows["dx"]
    assert rows["w"]["status"] == "generalised" and "tvd" not in rows["w"]
    assert rows["w"]["skipped"].startswith("not in the dictionary")
    assert set(out["skipped"]) == {"dx", "w"}
    assert out["mean_tvd"] is None and out["purpose_mean_tvd"] is None


def test_the_means_are_rounded_to_six_decimals():
    # Setup: three columns, one removed (cost 1), two released unchanged (cost 0)
    d = Dictionary.from_mapping({"name": "x", "version": 1, "variables": [
        {"name": c, "type": "categorical", "categories": ["F", "M"]} for c in "abc"]})
    before = pd.DataFrame({c: ["F", "M"] for c in "abc"})
    # Run
    out = column_costs(before, before[["b", "c"]], dictionary=d, purpose=("a", "b", "c"))
    # Assert: 1/3 at 6 decimals
    assert out["mean_tvd"] == out["purpose_mean_tvd"] == 0.333333


def test_a_date_range_of_twice_grid_max_days_is_spread_over_every_other_day():
    # Setup: 200,000 days from 1700-01-01 (to 2247-08-01), 2 * GRID_MAX, so the grid steps
    # by 2 days; the public bins are 16 periods of 35 years, one of them ending 1944-12-31.
    # The release shows the decade 1940-1949, which straddles that edge
    lo = dt.date(1700, 1, 1)
    hi = lo + dt.timedelta(days=199_999)
    d = _one({"name": "dx", "type": "date", "min": lo.isoformat(), "max": hi.isoformat()})
    spec = HierarchySpec("dx", "date", levels=("decade",))
    # Run
    out = column_costs(pd.DataFrame({"dx": ["1942-06-01"]}),
                       pd.DataFrame({"dx": ["1940-1949"]}),
                       dictionary=d, generalised={"dx": (spec, "decade")})
    # Assert: the input is all in the bin ending 1944; the release puts there the share of
    # the decade's grid days (every other day from 1700-01-01) before 1945, by counting:
    # 913 of 1826 (on every day it would be 1827 of 3653)
    grid = [lo + dt.timedelta(days=k) for k in range(0, 200_000, 2)]
    decade = [g for g in grid if dt.date(1940, 1, 1) <= g <= dt.date(1949, 12, 31)]
    before_edge = sum(g < dt.date(1945, 1, 1) for g in decade)
    assert out["columns"][0]["tvd"] == pytest.approx(1 - before_edge / len(decade), abs=1e-6)
    assert (before_edge, len(decade)) == (913, 1826)


def test_whole_numbers_of_seven_digits_keep_every_digit_on_the_grid():
    # Setup: a count from 1,000,000 to 1,000,009 in bands of 5, released as the hierarchy
    # labels it (before, the grid was written with 6 significant digits: 1000000..1000004
    # read '1e+06', 1000005..1000009 '1.00001e+06', so the band 1000005..1000009 held no
    # grid value and cost 1, as if beyond the bounds)
    d = _one({"name": "n", "type": "integer", "min": 1_000_000, "max": 1_000_009})
    spec = HierarchySpec("n", "interval", bands=(5,))
    before = pd.DataFrame({"n": ["1000007"]})
    after = pd.DataFrame({"n": build_hierarchy(before["n"], spec).labels[1]})
    # Run
    out = column_costs(before, after, dictionary=d, generalised={"n": (spec, "bands of 5")})
    # Assert: one bin per value; the band spreads 1/5 over each of its 5 values, the input
    # is all at 1000007: TVD = 1 - 1/5 = 0.8
    assert out["columns"][0]["tvd"] == pytest.approx(0.8)

