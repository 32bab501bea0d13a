"""The utility check: evaluate's metrics on the release's own domain, equal to hand-computed
values on small tables, and the C-index cost of generalisation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import synthema.anonymize.report as anonymize_report
from synthema.anonymize.utility import generalisation_cindex, release_dictionary, utility_check
from synthema.schema import Dictionary, VariableType


def _metric(check: dict, name: str) -> dict:
    return next(m for m in check["metrics"] if m["name"] == name)


def test_tvd_and_ks_equal_hand_computed_values():
    # Setup: the last record was suppressed
    before = pd.DataFrame({"band": ["30-39", "30-39", "40-49", "50-59"],
                           "dose": ["1", "2", "3", "4"]})
    kept = np.array([True, True, True, False])
    # Run
    check = utility_check(before, kept, columns=["band", "dose"],
                          generalised={"band": "interval"})
    # Assert: TVD(band) = 0.5 (|1/2 - 2/3| + |1/4 - 1/3| + |1/4 - 0|) = 0.25; KS(dose) = 0.25
    assert check["tvd"]["band"] == pytest.approx(0.25)
    rows = {r["column"]: r for r in _metric(check, "column_distance")["details"]["columns"]}
    assert rows["band"]["metric"] == "tvd" and rows["band"]["distance"] == pytest.approx(0.25)
    assert rows["dose"]["metric"] == "ks" and rows["dose"]["distance"] == pytest.approx(0.25)
    assert _metric(check, "column_distance")["value"] == pytest.approx(0.25)
    # pairwise contingency TVD of (band, dose): 4 cells of 1/4 vs 3 cells of 1/3 -> 1/4
    assert _metric(check, "pairwise_tvd")["value"] == pytest.approx(0.25)
    assert check["records"] == {"input": 4, "release": 3, "sampled": False}


def test_nothing_suppressed_means_identical_distributions():
    before = pd.DataFrame({"band": ["30-39", "40-49"] * 10, "x": list("abcd") * 5})
    check = utility_check(before, np.ones(20, dtype=bool), columns=["band", "x"],
                          generalised={"band": "interval"})
    assert check["mean_tvd"] == 0
    assert all(m["value"] == 0 and m["status"] == "pass" for m in check["metrics"])


def test_no_tvd_of_its_own():
    # the report module's own TVD was replaced by evaluate's metrics
    assert not hasattr(anonymize_report, "tvd") and not hasattr(anonymize_report, "utility")


def test_generalised_labels_are_ordered_unless_groups():
    # Setup
    df = pd.DataFrame({"age": ["100-104", "30-34", "*"], "country": ["EU", "US", "EU"],
                       "note": ["a", "b", "c"]})
    # Run
    d, skipped = release_dictionary(df, df, ["age", "country", "note"],
                                    generalised={"age": "interval", "country": "groups"})
    # Assert: bands sorted as numbers, '*' last; groups stay categorical; others inferred
    assert d["age"].type is VariableType.ORDINAL
    assert d["age"].categories == ("30-34", "100-104", "*")
    assert d["country"].type is VariableType.CATEGORICAL
    assert d["note"].type is VariableType.CATEGORICAL and not skipped


def test_a_generalised_column_with_many_labels_keeps_the_cox_metrics_working():
    # Setup: 240 months (one ordinal column, not 240 one-hot ones) before two categoricals
    rng = np.random.default_rng(0)
    n = 1500
    months = pd.date_range("2000-01-01", periods=240, freq="MS").strftime("%Y-%m")
    df = pd.DataFrame({"month": rng.choice(months, n)})
    for j in range(2):
        df[f"c{j}"] = rng.choice([f"v{i}" for i in range(30)], n)
    df["t"] = rng.integers(1, 1000, n).astype(str)
    df["e"] = rng.choice(["true", "false"], n)
    base = Dictionary.from_mapping({
        "name": "x", "version": 1, "survival": [{"time": "t", "event": "e"}],
        "variables": [{"name": "t", "type": "duration", "min": 0, "max": 1000},
                      {"name": "e", "type": "boolean"}]})
    kept = rng.random(n) > 0.05
    # Run
    check = utility_check(df, kept, columns=list(df.columns), generalised={"month": "date"},
                          dictionary=base)
    # Assert
    names = [m["name"] for m in check["metrics"]]
    assert {"km_distance", "km_risk_group_distance", "logrank_p"} <= set(names)
    assert [m["error"] for m in check["metrics"]] == [None] * len(names)


def test_a_failing_cox_fit_is_reported_not_raised(monkeypatch):
    # Setup
    import synthema.anonymize.utility as utility

    def broken(*args, **kwargs):
        raise np.linalg.LinAlgError("singular")

    monkeypatch.setattr(utility, "fit_cox", broken)
    rng = np.random.default_rng(1)
    exact = pd.DataFrame({"age": rng.integers(20, 90, 200).astype(str),
                          "t": rng.integers(1, 900, 200).astype(str), "e": ["true"] * 200})
    released = exact.assign(age="*")
    d = Dictionary.from_mapping({
        "name": "x", "version": 1, "survival": [{"time": "t", "event": "e"}],
        "variables": [{"name": "age", "type": "integer", "min": 18, "max": 100},
                      {"name": "t", "type": "duration", "min": 0, "max": 1000},
                      {"name": "e", "type": "boolean"}]})
    release, _ = release_dictionary(released, released, ["age", "t", "e"],
                                    generalised={"age": "interval"}, dictionary=d)
    # Run
    res = generalisation_cindex(exact, released, release=release, dictionary=d,
                                generalised=["age"])
    # Assert
    assert res["status"] == "error" and "singular" in res["error"] and res["value"] is None


def test_sample_compares_the_same_records_on_both_sides():
    before = pd.DataFrame({"band": ["a", "b"] * 100})
    kept = np.array([True, False] * 100)  # every 'b' record suppressed
    check = utility_check(before, kept, columns=["band"], generalised={"band": "groups"},
                          max_rows=50)
    assert check["records"]["input"] == 50 and check["records"]["sampled"]
    assert 0 < check["records"]["release"] < 50
    # the sample's released records are all 'a': TVD = share of 'b' among the sampled records
    share_b = (check["records"]["input"] - check["records"]["release"]) / 50
    assert check["tvd"]["band"] == pytest.approx(share_b)


def test_generalisation_cindex_sees_what_generalisation_loses():
    # Setup: survival driven by exact age; the release keeps only a 50-year band of it
    rng = np.random.default_rng(3)
    n = 800
    age = rng.integers(20, 90, n)
    t = rng.exponential(3000 / np.exp((age - 55) / 12)).round().clip(1, 5000)
    exact = pd.DataFrame({"age": age.astype(str), "t": t.astype(int).astype(str),
                          "e": ["true"] * n})
    released = exact.assign(age=np.where(age < 50, "0-49", "50-99"))
    d = Dictionary.from_mapping({
        "name": "x", "version": 1, "survival": [{"time": "t", "event": "e"}],
        "variables": [{"name": "age", "type": "integer", "min": 18, "max": 100},
                      {"name": "t", "type": "duration", "min": 0, "max": 5000},
                      {"name": "e", "type": "boolean"}]})
    release, _ = release_dictionary(released, released, ["age", "t", "e"],
                                    generalised={"age": "interval"}, dictionary=d)
    # Run
    res = generalisation_cindex(exact, released, release=release, dictionary=d,
                                generalised=["age"])
    # Assert: the exact-age model ranks better; the gap is the difference of the two C's
    pair = res["details"]["pairs"][0]
    assert pair["exact_cindex"] > pair["generalised_cindex"] + 0.02
    assert res["value"] == pytest.approx(pair["exact_cindex"] - pair["generalised_cindex"],
                                         abs=1e-5)
    assert res["status"] in ("warn", "fail") and res["thresholds"] == {"pass": 0.03,
                                                                       "warn": 0.06}


def test_shifted_dates_are_compared_as_dates():
    # Setup: 300 distinct shifted dates (text, as the pipeline writes them); the last 100
    # records, the latest dates, were suppressed
    days = pd.date_range("2015-01-01", periods=300, freq="D").strftime("%Y-%m-%d")
    before = pd.DataFrame({"enrolment_date": days})
    kept = np.arange(300) < 200
    # Run
    check = utility_check(before, kept, columns=["enrolment_date"], changed=["enrolment_date"])
    # Assert: not skipped as 'more than 100 distinct values'; KS = 1/3 (a third is gone)
    assert check["skipped"] == {}
    row = _metric(check, "column_distance")["details"]["columns"][0]
    assert row["type"] == "date" and row["metric"] == "ks"
    assert row["distance"] == pytest.approx(1 / 3, abs=1e-6)


def test_rounding_counts_the_records_compared_not_the_input():
    # Setup: above MAX_ROWS input records the utility compares a sample of 10,000; before,
    # its figures were rounded by the input's size (50,000 records: 4 decimals), so one
    # sampled record moved a figure by a whole unit of its last digit, where the rule
    # 10^-d * n >= k wants k records per unit
    from synthema.anonymize import Policy, anonymize

    rng = np.random.default_rng(3)
    n = 50_000
    df = pd.DataFrame({"age": rng.integers(18, 90, n), "sex": rng.choice(["F", "M"], n),
                       "flag": rng.choice(["yes", "no"], n, p=[0.1, 0.9])})
    policy = Policy.from_mapping({
        "name": "sampled", "purpose": {"keep": ["flag"]},
        "quasi_identifiers": {"age": {"type": "interval", "bands": [5, 10, 20]},
                              "sex": {"type": "suppress"}},
        "models": {"k": 5, "max_suppression": 0.05}})
    # Run
    util = anonymize(df, policy).report.utility
    # Assert: a sample was compared, and a unit of the last decimal is k of its records
    assert util["records"]["sampled"] and util["records"]["input"] == 10_000
    assert 10 ** -util["decimals"] * util["records"]["input"] >= 5
