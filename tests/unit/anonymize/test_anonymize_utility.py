"""The utility check: evaluate's metrics on the release's own domain, equal to hand-computed
values on small tables, and the C-index cost of generalisation."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest

import synthema.anonymize.report as anonymize_report
from synthema.anonymize.utility import (
    generalisation_cindex,
    release_dictionary,
    typed,
    utility_check,
)
from synthema.schema import Dictionary, Variable, VariableType


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


def test_a_failing_cox_fit_is_reported_not_raised(monkeypatch, caplog):
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
    # and logged with its traceback, for whoever has to find out why
    assert any(r.exc_info and "generalisation C-index failed" in r.getMessage()
               for r in caplog.records)


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
    exact, released, d = _cox_data(800)
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


def test_columns_the_dictionary_does_not_declare_are_typed_by_their_values():
    # Setup: one column of each kind a release can carry without a dictionary entry
    n = 120
    visits = pd.Series(pd.to_datetime("2020-03-01 09:30") + pd.to_timedelta(
        np.arange(n) % 3, unit="D"))  # typed timestamps with a time of day
    df = pd.DataFrame({
        "flag": (["yes", "No", "TRUE", "false"] * n)[:n],
        "count": [str(i % 7 + 1) for i in range(n)],
        "dose": [f"{0.5 + i % 4}" for i in range(n)],
        "constant": ["7"] * n,
        "empty": pd.Series([None] * n, dtype="string"),
        "visit": visits,
        "hundred": [f"c{i % 100}" for i in range(n)],
        "too_many": [f"v{i % 101}" for i in range(n)],
    })
    # Run
    d, skipped = release_dictionary(df, df, list(df.columns), changed=["visit"])
    # Assert
    assert skipped == {"empty": "no values", "too_many": "more than 100 distinct values"}
    assert d["flag"].type is VariableType.BOOLEAN
    assert d["count"].type is VariableType.INTEGER and (d["count"].min, d["count"].max) == (1, 7)
    assert d["dose"].type is VariableType.CONTINUOUS
    assert (d["dose"].min, d["dose"].max) == (0.5, 3.5)
    # one value: a range of one unit above it (a variable needs max > min)
    assert (d["constant"].min, d["constant"].max) == (7, 8)
    # timestamps are compared as the dates they fall on
    assert d["visit"].type is VariableType.DATE
    assert (str(d["visit"].min), str(d["visit"].max)) == ("2020-03-01", "2020-03-03")
    assert d["hundred"].type is VariableType.CATEGORICAL and len(d["hundred"].categories) == 100


def test_nothing_to_compare_gives_no_dictionary_and_says_why():
    df = pd.DataFrame({"a": pd.Series([None] * 4, dtype="string"),
                       "b": [f"v{i}" for i in range(4)]})
    # Run
    d, skipped = release_dictionary(df.iloc[:, :1], df.iloc[:, :1], ["a"])
    check = utility_check(df, np.ones(4, dtype=bool), columns=["a"])
    nothing = utility_check(df, np.zeros(4, dtype=bool), columns=["a", "b"])
    # Assert
    assert d is None and skipped == {"a": "no values"}
    assert check["note"] == "no column to compare" and check["metrics"] == []
    assert check["mean_tvd"] is None and check["tvd"] == {} and check["skipped"] == skipped
    assert nothing["note"] == "nothing was released" and nothing["metrics"] == []
    assert nothing["records"] == {"input": 4, "release": 0, "sampled": False}


def test_rules_and_survival_pairs_apply_when_all_their_columns_are_released_unchanged():
    d = Dictionary.from_mapping({
        "name": "x", "version": 1, "survival": [{"time": "t", "event": "e"}],
        "rules": [{"name": "t_needs_e", "expr": "t > 0 => e is not missing"}],
        "variables": [{"name": "t", "type": "duration", "min": 0, "max": 1000},
                      {"name": "e", "type": "boolean"},
                      {"name": "age", "type": "integer", "min": 18, "max": 100}]})
    df = pd.DataFrame({"t": ["5", "9", "30"], "e": ["true", "false", "true"],
                       "age": ["20-39", "40-59", "20-39"]})
    # Run
    both, _ = release_dictionary(df, df, ["t", "e"], dictionary=d)
    banded, _ = release_dictionary(df, df, ["t", "e", "age"], dictionary=d,
                                   generalised={"age": "interval"})
    shifted, _ = release_dictionary(df, df, ["t", "e"], dictionary=d, changed=["t"])
    # Assert: the rule and the pair hold over exactly the released, unchanged columns
    assert [r.name for r in both.rules] == ["t_needs_e"] and len(both.survival) == 1
    assert [r.name for r in banded.rules] == ["t_needs_e"] and banded["t"] == d["t"]
    assert shifted.rules == () and shifted.survival == ()


def _cox_data(n: int, seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame, Dictionary]:
    """Survival driven by exact age; the release keeps a 50-year band of it."""
    rng = np.random.default_rng(seed)
    age = rng.integers(20, 90, n)
    t = rng.exponential(3000 / np.exp((age - 55) / 12)).round().clip(1, 5000)
    exact = pd.DataFrame({"age": age.astype(str), "t": t.astype(int).astype(str),
                          "e": np.where(rng.random(n) < 0.8, "true", "false")})
    exact.loc[::97, "t"] = None  # a few records without a time: left out of both models
    released = exact.assign(age=np.where(age < 50, "0-49", "50-99"))
    d = Dictionary.from_mapping({
        "name": "x", "version": 1, "survival": [{"time": "t", "event": "e"}],
        "variables": [{"name": "age", "type": "integer", "min": 18, "max": 100},
                      {"name": "t", "type": "duration", "min": 0, "max": 5000},
                      {"name": "e", "type": "boolean"}]})
    return exact, released, d


@pytest.mark.parametrize("n", [5000, 5001])
def test_generalisation_cindex_equals_a_two_fold_cox_by_lifelines(n):
    # Setup: one covariate, so each fold's Cox model ranks records by age (or by band)
    from lifelines import CoxPHFitter
    from lifelines.utils import concordance_index

    exact, released, d = _cox_data(n)
    release, _ = release_dictionary(released, released, ["age", "t", "e"],
                                    generalised={"age": "interval"}, dictionary=d)
    # Run
    res = generalisation_cindex(exact, released, release=release, dictionary=d,
                                generalised=["age"])
    # Assert: at most 5,000 records (a sample drawn without replacement above it), two
    # folds drawn from the same seed, each fold's C of the model fitted on the other
    rng = np.random.default_rng(0)
    rows = np.arange(n)
    if n > 5000:
        rows = np.sort(rng.choice(n, size=5000, replace=False))
    folds = rng.integers(2, size=len(rows))

    def two_fold(x: np.ndarray) -> float:
        t = pd.to_numeric(exact["t"]).to_numpy()[rows]
        e = (exact["e"] == "true").to_numpy()[rows]
        ok = ~np.isnan(t)
        cs = []
        for fold in (0, 1):
            train, test = ok & (folds != fold), ok & (folds == fold)
            cph = CoxPHFitter().fit(pd.DataFrame({"x": x[train], "t": t[train], "e": e[train]}),
                                    "t", "e")
            risk = cph.params_["x"] * x[test]
            cs.append(concordance_index(t[test], -risk, e[test]))
        return float(np.mean(cs))

    exact_c = two_fold(pd.to_numeric(exact["age"]).to_numpy()[rows].astype(float))
    band_c = two_fold((released["age"] == "50-99").to_numpy()[rows].astype(float))
    pair = res["details"]["pairs"][0]
    assert res["details"]["records"] == 5000 and res["details"]["folds"] == 2
    assert pair["exact_cindex"] == round(exact_c, 6)
    assert pair["generalised_cindex"] == round(band_c, 6)
    assert res["details"]["generalised_covariates"] == ["age"]


def test_generalisation_cindex_needs_a_survival_pair_and_a_generalised_covariate():
    exact, released, d = _cox_data(300)
    release, _ = release_dictionary(released, released, ["age", "t", "e"],
                                    generalised={"age": "interval"}, dictionary=d)
    # no survival pair released
    assert generalisation_cindex(exact, released, dictionary=d, generalised=["age"],
                                 release=dataclasses.replace(release, survival=())) is None
    # no generalised quasi-identifier among the covariates
    assert generalisation_cindex(exact, released, release=release, dictionary=d,
                                 generalised=[]) is None


def test_dates_and_undeclared_quasi_identifiers_stay_out_of_the_cox_models():
    # Setup: a date (as its dictionary declares it) and a generalised column the
    # dictionary does not know, next to age
    exact, released, d = _cox_data(400)
    d = dataclasses.replace(d, variables=(*d.variables, Variable(
        "diagnosis_date", VariableType.DATE, min=dt.date(2000, 1, 1), max=dt.date(2030, 1, 1))))
    days = pd.date_range("2010-01-01", periods=400, freq="D").strftime("%Y-%m-%d")
    exact = exact.assign(diagnosis_date=days, ward=[f"w{i % 3}" for i in range(400)])
    released = released.assign(diagnosis_date=days, ward="*")
    cols = ["age", "t", "e", "diagnosis_date", "ward"]
    release, _ = release_dictionary(released, released, cols, dictionary=d,
                                    generalised={"age": "interval", "ward": "suppress"})
    # Run
    res = generalisation_cindex(exact, released, release=release, dictionary=d,
                                generalised=["age", "ward"])
    # Assert
    assert res["details"]["generalised_covariates"] == ["age"]
    assert res["error"] is None and res["value"] is not None


def test_a_sample_at_exactly_max_rows_is_the_whole_input_and_tvd_keeps_six_decimals():
    # Setup: band a, b, c a third each; arm x a third; four records suppressed
    before = pd.DataFrame({"band": ["a", "b", "c"] * 4, "arm": ["x"] * 4 + ["y"] * 8})
    kept = np.array([True] * 4 + [False] * 2 + [True] * 4 + [False] * 2)
    # Run
    check = utility_check(before, kept, columns=["band", "arm"],
                          generalised={"band": "groups", "arm": "groups"}, max_rows=12)
    # Assert: released band 1/2, 1/4, 1/4 and arm 1/2, 1/2; over marginals of six decimals
    # the TVDs are 0.1666665 and 0.166667, and their mean 0.1666665: each kept to six
    assert check["records"] == {"input": 12, "release": 8, "sampled": False}
    for value in (check["tvd"]["band"], check["tvd"]["arm"], check["mean_tvd"]):
        assert value == pytest.approx(1 / 6, abs=1e-6) and round(value, 6) == value


def test_a_sample_is_drawn_without_replacement_from_the_seed():
    # Setup
    rng = np.random.default_rng(9)
    before = pd.DataFrame({"band": rng.choice(["a", "b"], 400)})
    kept = rng.random(400) < 0.7
    # Run
    check = utility_check(before, kept, columns=["band"], generalised={"band": "groups"},
                          max_rows=100)
    # Assert: the 100 records of seed 0 (random_state), each once
    rows = np.random.default_rng(0).choice(400, size=100, replace=False)
    assert check["records"] == {"input": 100, "release": int(kept[rows].sum()),
                                "sampled": True}
    share = before["band"][rows][kept[rows]].eq("a").mean()
    assert check["tvd"]["band"] == pytest.approx(
        abs(share - before["band"][rows].eq("a").mean()), abs=2e-6)


def test_survival_figures_and_the_cindex_cost_with_a_banded_time():
    # Setup: the time released in bands of 500 days, age in two bands; 10 % suppressed
    exact, released, d = _cox_data(600)
    t = pd.to_numeric(exact["t"])
    banded = released.assign(t=[None if pd.isna(v) else f"{int(v // 500) * 500}-"
                                f"{int(v // 500) * 500 + 499}" for v in t])
    kept = np.random.default_rng(4).random(600) > 0.1
    # Run
    check = utility_check(banded, kept, columns=["age", "t", "e"], dictionary=d,
                          generalised={"age": "interval"}, exact=exact, bands=["t"])
    plain = utility_check(banded.drop(columns="t"), kept, columns=["age", "e"], dictionary=d,
                          generalised={"age": "interval"}, exact=exact)
    # Assert: the pair is compared, and the C-index cost uses the same banded time on both
    # sides (the band's start), on the released records
    names = [m["name"] for m in check["metrics"]]
    assert names == ["column_distance", "pairwise_tvd", "km_distance",
                     "km_risk_group_distance", "logrank_p", "cindex_gap_generalisation"]
    starts = pd.Series((t // 500 * 500).astype("Int64").astype("string"))
    both = banded.assign(t=starts)
    release, _ = release_dictionary(both[kept].reset_index(drop=True),
                                    both[kept].reset_index(drop=True), ["age", "t", "e"],
                                    generalised={"age": "interval"}, dictionary=d)
    direct = generalisation_cindex(exact.assign(t=starts)[kept].reset_index(drop=True),
                                   both[kept].reset_index(drop=True), release=release,
                                   dictionary=d, generalised=["age"])
    cindex = check["metrics"][-1]
    assert cindex["details"]["pairs"] == direct["details"]["pairs"]
    assert cindex["details"]["records"] == int(kept.sum())
    assert "survival" not in check
    assert plain["survival"] == "no survival pair of the dictionary is released unchanged"
    assert [m["name"] for m in plain["metrics"]] == ["column_distance", "pairwise_tvd"]


def test_columns_named_like_a_reset_index_change_nothing():
    # Setup: an input may hold columns called 'index' and 'level_0' (a table once written
    # from pandas); the check compares the columns it is given and must not trip on them
    exact, released, d = _cox_data(300)
    kept = np.random.default_rng(6).random(300) > 0.1
    extra = {"index": np.arange(300) % 3, "level_0": np.arange(300) % 2}
    args = {"columns": ["age", "t", "e"], "dictionary": d, "generalised": {"age": "interval"}}
    # Run
    plain = utility_check(released, kept, exact=exact, **args)
    named = utility_check(released.assign(**extra), kept, exact=exact.assign(**extra), **args)
    # Assert: the same figures (run times aside), the C-index cost of generalisation among them
    def figures(check: dict) -> dict:
        return check | {"metrics": [{k: v for k, v in m.items() if k != "seconds"}
                                    for m in check["metrics"]]}

    assert figures(named) == figures(plain)
    assert plain["metrics"][-1]["name"] == "cindex_gap_generalisation"


def test_typed_keeps_typed_columns_and_parses_text_ones():
    # Setup: a harmonised (typed) frame and the same values as text
    d = Dictionary.from_mapping({"name": "x", "version": 1, "variables": [
        {"name": "dose", "type": "continuous", "min": 0, "max": 10},
        {"name": "arm", "type": "categorical", "categories": ["a", "b"]}]})
    frame = pd.DataFrame({"dose": pd.Series([0.016356210987739317, 2.5, None], dtype="Float64"),
                          "arm": pd.Series(["a", "zz", None], dtype="string")})
    text = pd.DataFrame({"dose": ["0.5", "2.5", ""], "arm": ["a", "zz", "b"]})
    # Run
    out, parsed = typed(frame, d), typed(text, d)
    # Assert: a typed number is kept to the last digit; a category outside the dictionary's
    # becomes missing, typed or not
    assert out["dose"].tolist()[:2] == [0.016356210987739317, 2.5] and out["dose"].isna()[2]
    assert str(out["arm"].dtype) == "string" and out["arm"].isna().tolist() == [False, True, True]
    assert parsed["dose"].tolist()[:2] == [0.5, 2.5] and parsed["dose"].isna()[2]
    assert parsed["arm"].tolist()[0] == "a" and parsed["arm"].isna().tolist() == [False, True,
                                                                                  False]


def test_typed_reads_a_date_column_with_times_as_dates():
    # Setup: a date the dictionary declares, given as date-times (text and typed): each
    # cell is a date, not a missing value (a strict %Y-%m-%d parse would drop them all)
    d = Dictionary.from_mapping({"name": "x", "version": 1, "variables": [
        {"name": "seen", "type": "date", "min": "2000-01-01", "max": "2030-12-31"}]})
    text = pd.DataFrame({"seen": ["2020-01-02 10:30", "2021-06-30 08:05", None]})
    stamps = pd.DataFrame({"seen": pd.to_datetime(text["seen"], format="%Y-%m-%d %H:%M")
                           .astype("datetime64[us]")})
    # Run
    out = [typed(text, d)["seen"], typed(stamps, d)["seen"]]
    # Assert: the same days, typed as the dictionary's dates; the missing cell stays missing
    for col in out:
        assert str(col.dtype) == "datetime64[ns]"
        assert col.dt.normalize().tolist() == [pd.Timestamp(2020, 1, 2), pd.Timestamp(2021, 6, 30),
                                               pd.NaT]


def _by_fold(n: int, driver_of_fold: dict[int, str], seed: int = 5) -> pd.DataFrame:
    """Records whose survival is driven by a different covariate in each of the two folds
    ``generalisation_cindex`` draws (random_state 0, no sample below 5,000 records)."""
    rng = np.random.default_rng(seed)
    folds = np.random.default_rng(0).integers(2, size=n)
    x = {"age": rng.integers(20, 90, n), "score": rng.integers(0, 100, n)}
    driver = np.array([x[driver_of_fold[f]][i] for i, f in enumerate(folds)])
    scale = 50 / (x["score"].max() - x["score"].min()) if "score" in driver_of_fold.values() \
        else 1.0
    t = rng.exponential(3000 / np.exp((driver - driver.mean()) * scale / 10)).round().clip(1)
    return pd.DataFrame({"age": x["age"].astype(str), "score": x["score"].astype(str),
                         "t": t.astype(int).astype(str), "e": ["true"] * n})


def _score_dictionary() -> Dictionary:
    return Dictionary.from_mapping({
        "name": "x", "version": 1, "survival": [{"time": "t", "event": "e"}],
        "variables": [{"name": "age", "type": "integer", "min": 18, "max": 100},
                      {"name": "score", "type": "integer", "min": 0, "max": 100},
                      {"name": "t", "type": "duration", "min": 0, "max": 100_000},
                      {"name": "e", "type": "boolean"}]})


def test_generalisation_cindex_is_measured_out_of_fold():
    # Setup: age drives survival in one fold, score in the other; a model fitted on one fold
    # ranks the other no better than chance, one scored on its own fold looks good
    exact = _by_fold(800, {0: "age", 1: "score"})
    released = exact.assign(age=np.where(pd.to_numeric(exact["age"]) < 50, "0-49", "50-99"))
    d = _score_dictionary()
    release, _ = release_dictionary(released, released, list(exact.columns),
                                    generalised={"age": "interval"}, dictionary=d)
    # Run
    res = generalisation_cindex(exact, released, release=release, dictionary=d,
                                generalised=["age"])
    # Assert: each fold is scored by the model of the other
    c = res["details"]["pairs"][0]["exact_cindex"]
    assert 0.35 < c < 0.6, c


def test_a_fold_without_events_is_reported_in_words():
    # Setup: every event falls in fold 0
    exact = _by_fold(300, {0: "age", 1: "age"})
    folds = np.random.default_rng(0).integers(2, size=300)
    exact["e"] = np.where(folds == 0, "true", "false")
    released = exact.assign(age="*")
    d = _score_dictionary()
    release, _ = release_dictionary(released, released, list(exact.columns),
                                    generalised={"age": "suppress"}, dictionary=d)
    # Run
    res = generalisation_cindex(exact, released, release=release, dictionary=d,
                                generalised=["age"])
    # Assert
    assert res["status"] == "error" and res["value"] is None
    assert res["error"].startswith("too few events of 'e' for a two-fold C-index")


def test_cox_models_get_at_most_evaluates_covariate_limit(monkeypatch):
    # Setup: 40 declared covariates next to the generalised age
    import synthema.anonymize.utility as utility
    from synthema.evaluate.survival import MAX_COX_COVARIATES, fit_cox

    seen = []

    def recording(x, time, event, columns, **kwargs):
        seen.append(len(columns))
        return fit_cox(x, time, event, columns, **kwargs)

    monkeypatch.setattr(utility, "fit_cox", recording)
    rng = np.random.default_rng(2)
    n = 300
    exact, released, d = _cox_data(n)
    extra = {f"lab{j}": rng.integers(0, 50, n).astype(str) for j in range(40)}
    exact, released = exact.assign(**extra), released.assign(**extra)
    d = dataclasses.replace(d, variables=(*d.variables, *(
        Variable(c, VariableType.INTEGER, min=0, max=50) for c in extra)))
    release, _ = release_dictionary(released, released, list(exact.columns),
                                    generalised={"age": "interval"}, dictionary=d)
    # Run
    res = generalisation_cindex(exact, released, release=release, dictionary=d,
                                generalised=["age"])
    # Assert: two folds of two models (exact, generalised), each on the 30 screened ones
    assert res["error"] is None
    assert seen == [MAX_COX_COVARIATES] * 4 and MAX_COX_COVARIATES == 30
