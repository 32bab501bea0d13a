"""Utility between the ORIGINAL input and the release (issue 14, item 6): a withheld or
banded column costs what it costs, checked against hand-computed and brute-force TVDs, and
rounded like every other figure computed over the suppressed records too."""

from __future__ import annotations

import dataclasses
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from synthema.anonymize import anonymize, load_policy
from synthema.anonymize.assessment import figure_decimals
from synthema.anonymize.column_cost import column_costs
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
