"""benchmarks/peers.py without the peers' venv: datasets, dictionaries, splits, scores, report."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthema.harmonize.validate import validate_frame
from synthema.schema import Dictionary, load_dictionary

BENCH = Path(__file__).resolve().parents[3] / "benchmarks"
sys.path.insert(0, str(BENCH))

import peers  # noqa: E402
import peers_runner  # noqa: E402


# ---- dictionaries and datasets ---------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(peers.LIFELINES))
def test_each_dictionary_validates_its_lifelines_dataset_with_no_problem(name):
    # Setup: the dataset as lifelines ships it, in its dictionary's columns and codes
    d = load_dictionary(BENCH / "dictionaries" / f"{name}.yaml")
    raw = peers._text(peers.lifelines_frame(name), d)
    # Run
    report = validate_frame(raw, d, file=name)
    # Assert: zero problems, a survival pair and at least one rule to hold the peers to
    assert report.problems == ()
    assert len(report.data) == len(raw) > 100
    assert d.survival and d.rules


@pytest.mark.parametrize(("name", "column", "value"), [
    ("rossi", "week", "30"),            # not arrested yet followed less than 52 weeks
    ("kidney_transplant", "white_male", "1"),  # two race-sex groups at once
    ("stanford_heart", "wait_days", "5000"),    # out of bounds and after follow-up
])
def test_a_broken_row_is_reported(name, column, value):
    # Setup: one cell changed so that a rule or a bound breaks
    d = load_dictionary(BENCH / "dictionaries" / f"{name}.yaml")
    raw = peers._text(peers.lifelines_frame(name), d)
    if name == "rossi":
        row = int(np.flatnonzero(raw["arrest"].to_numpy() == "0")[0])
    elif name == "kidney_transplant":
        row = int(np.flatnonzero(raw["black_male"].to_numpy() == "1")[0])
    else:
        row = int(np.flatnonzero(raw["transplant"].to_numpy() == "1")[0])
    raw.loc[row, column] = value
    # Run
    report = validate_frame(raw, d, file=name)
    # Assert
    assert len(report.problems) >= 1
    assert {p.row for p in report.problems} == {row + 2}  # spreadsheet row (header = 1)


def test_stanford_rows_become_one_row_per_patient():
    # Setup: lifelines' start-stop rows
    import lifelines.datasets as ld

    rows = ld.load_stanford_heart_transplants()
    # Run
    df = peers.lifelines_frame("stanford_heart")
    # Assert: one row per id, transplants and deaths as in the last interval of each patient
    assert len(df) == rows["id"].nunique() == 103
    assert df["transplant"].sum() == rows.loc[rows["transplant"] == 1, "id"].nunique()
    last = rows.sort_values(["id", "start"]).groupby("id").tail(1)
    assert df["dead"].sum() == last["event"].sum()
    assert (df["wait_days"].dropna() < df.loc[df["transplant"] == 1, "futime_days"]).all()


def test_the_aml_projection_keeps_rules_and_survival_pairs_inside_it():
    # Run
    d, df, dict_arg = peers.load_dataset("aml", patients=60)
    # Assert
    assert set(d.names) == set(peers.AML_PROJECTION) and len(d) == 29
    assert [p.time for p in d.survival] == ["os_days", "efs_days"]
    assert all(set(r.columns) <= set(d.names) for r in d.rules) and len(d.rules) >= 10
    assert dict_arg is None and list(df.columns) == list(d.columns) and len(df) == 60
    assert Dictionary.from_mapping(__import__("yaml").safe_load(d.to_yaml())) == d


# ---- split ---------------------------------------------------------------------------------------
def test_the_split_is_deterministic_disjoint_and_70_30():
    # Setup
    df = pd.DataFrame({"x": np.arange(103)})
    # Run
    train, hold = peers.split(df, 0)
    again, hold_again = peers.split(df, 0)
    other, _ = peers.split(df, 1)
    # Assert
    assert (len(train), len(hold)) == (72, 31)
    pd.testing.assert_frame_equal(train, again)
    pd.testing.assert_frame_equal(hold, hold_again)
    assert set(train["x"]).isdisjoint(hold["x"]) and len(set(train["x"]) | set(hold["x"])) == 103
    assert not train["x"].equals(other["x"])


# ---- scores --------------------------------------------------------------------------------
def _toy() -> Dictionary:
    return Dictionary.from_mapping({"name": "toy", "version": 1, "variables": [
        {"name": "a", "type": "boolean"},
        {"name": "b", "type": "categorical", "categories": ["x", "y"]},
    ]})


def test_fidelity_of_a_hand_computed_pair():
    # Setup: same margins; the real rows tie a to b perfectly, the synthetic rows not at all
    real = pd.DataFrame({"a": pd.array([True, True, False, False], dtype="boolean"),
                         "b": pd.array(["x", "x", "y", "y"], dtype="string")})
    synthetic = pd.DataFrame({"a": pd.array([True, True, False, False], dtype="boolean"),
                              "b": pd.array(["x", "y", "x", "y"], dtype="string")})
    # Run
    out = peers.fidelity(real, synthetic, _toy())
    # Assert: 1-way 0; 2-way 0.5 (½ Σ |½ − ¼|·2 + ¼·2); Cramér's V 1 against 0
    assert out == {"tvd1": 0.0, "tvd2": 0.5, "cramers_v_gap": 1.0}


def test_quantile_bins_follow_the_real_data_and_missing_has_its_own_code():
    # Setup: real 1..10; two bins cut at the median 5.5
    d = Dictionary.from_mapping({"name": "q", "version": 1, "variables": [
        {"name": "x", "type": "integer", "min": 0, "max": 100}]})
    real = pd.DataFrame({"x": pd.array(range(1, 11), dtype="Int64")})
    synthetic = pd.DataFrame({"x": pd.array([1, 1, 7, None], dtype="Int64")})
    # Run
    (cr, cs), shape = peers.quantile_codes(real, [synthetic], d, bins=2)
    # Assert
    assert shape.tolist() == [3]
    assert cr[:, 0].tolist() == [0] * 5 + [1] * 5
    assert cs[:, 0].tolist() == [0, 0, 1, 2]
    # and the 1-way TVD over those bins: real (½, ½, 0), synthetic (½, ¼, ¼)
    assert peers.fidelity(real, synthetic, d, bins=2)["tvd1"] == pytest.approx(0.25)


def _survival_toy(n: int = 60, seed: int = 0) -> tuple[Dictionary, pd.DataFrame]:
    d = Dictionary.from_mapping({"name": "s", "version": 1, "variables": [
        {"name": "t", "type": "duration", "min": 0, "max": 100, "decimals": 0},
        {"name": "e", "type": "boolean"},
        {"name": "age", "type": "integer", "min": 0, "max": 100},
    ], "survival": [{"time": "t", "event": "e"}], "rules": ["t >= 1"]})
    rng = np.random.default_rng(seed)
    age = rng.integers(20, 90, n)
    t = np.clip(np.round(rng.exponential(60 - age / 2)), 1, 100)
    df = pd.DataFrame({"t": pd.array(t.astype(int), dtype="Int64"),
                       "e": pd.array(rng.random(n) < 0.7, dtype="boolean"),
                       "age": pd.array(age, dtype="Int64")})
    return d, df


def test_a_copy_of_the_training_rows_scores_as_a_perfect_copy():
    # Setup
    d, df = _survival_toy()
    train, hold = peers.split(df, 0)
    # Run
    out = peers.score(train, hold, train.copy(), d)
    # Assert: identical distributions, every row a copy, closer to training than holdout
    assert out["tvd1"] == out["tvd2"] == out["cramers_v_gap"] == 0.0
    assert out["km_gap"] == {"t": 0.0}
    assert out["cindex_tstr"]["t"] == out["cindex_trtr"]["t"]
    assert out["exact_copies"] == len(train.drop_duplicates())
    # the DCR test subsamples the training rows to the holdout's size: the copies of rows left
    # out are not at distance 0, so a full copy scores well above 0.5 but below 1
    assert out["dcr_share"] > 0.6
    assert out["rule_violation_share"] == 0.0 and out["rule_violations"] == {}


def test_rule_breaks_and_a_shifted_survival_curve_are_scored():
    # Setup: synthetic times halved (curve shifted) and one row at t = 0 (breaks t >= 1)
    d, df = _survival_toy(seed=1)
    train, hold = peers.split(df, 0)
    synthetic = train.copy()
    synthetic["t"] = (synthetic["t"] // 2).astype("Int64")
    # Run
    out = peers.score(train, hold, synthetic, d)
    # Assert
    broken = int((synthetic["t"] < 1).sum())
    assert broken >= 1
    assert out["rule_violations"] == {"rule_1": broken}
    assert out["rule_violation_share"] == pytest.approx(broken / len(train), abs=1e-4)
    assert out["km_gap"]["t"] > 0.2


# ---- the runner's output format (runs in the peers' venv; numpy and pandas only) ------------
def test_runner_writes_the_dictionarys_clean_format():
    # Setup: what a peer returns (floats for whole numbers, float labels, days for dates)
    spec = {"columns": [
        {"name": "n", "kind": "integer", "decimals": None},
        {"name": "c", "kind": "continuous", "decimals": 1},
        {"name": "b", "kind": "boolean", "decimals": None},
        {"name": "d", "kind": "date", "decimals": None},
        {"name": "k", "kind": "categorical", "decimals": None},
    ]}
    df = pd.DataFrame({"n": [2.6, np.nan], "c": [1.26, 3.0], "b": ["1.0", None],
                       "d": [0.0, 19723.4], "k": ["x", np.nan]})
    # Run
    out = peers_runner.to_clean(df, spec)
    # Assert
    assert out.to_dict("list") == {"n": ["3", ""], "c": ["1.3", "3.0"], "b": ["1", ""],
                                   "d": ["1970-01-01", "2024-01-01"], "k": ["x", ""]}


def test_runner_reads_labels_as_text_and_numbers_as_floats(tmp_path):
    # Setup
    path = tmp_path / "train.csv"
    path.write_text("n,b,d\n3,1,2024-01-01\n,0,\n", encoding="utf-8")
    spec = {"train": str(path), "columns": [
        {"name": "n", "kind": "integer"}, {"name": "b", "kind": "boolean"},
        {"name": "d", "kind": "date"}]}
    # Run
    df = peers_runner.read_train(spec)
    # Assert
    assert df["n"].tolist()[0] == 3.0 and np.isnan(df["n"].tolist()[1])
    assert df["b"].tolist() == ["1", "0"]
    assert df["d"].tolist()[0] == 19723.0 and np.isnan(df["d"].tolist()[1])


def test_smartnoise_gets_labels_for_short_whole_number_ranges_only():
    assert peers_runner.as_label({"kind": "boolean"})
    assert peers_runner.as_label({"kind": "integer", "min": 0, "max": 52, "decimals": None})
    assert peers_runner.as_label({"kind": "duration", "min": 1, "max": 52, "decimals": 0})
    assert not peers_runner.as_label({"kind": "duration", "min": 1, "max": 4000, "decimals": 0})
    assert not peers_runner.as_label({"kind": "continuous", "min": 0, "max": 8, "decimals": 2})


# ---- the report ----------------------------------------------------------------------------------
def test_the_report_has_one_table_per_dataset_with_the_floor_first(tmp_path):
    # Setup: two runs of one dataset and a failed one
    metrics = {"tvd1": 0.1, "tvd2": 0.2, "cramers_v_gap": 0.05, "km_gap": {"t": 0.1},
               "cindex_tstr": {"t": 0.6}, "cindex_trtr": {"t": 0.7}, "dcr_share": 0.5,
               "exact_copies": 0, "exact_copy_share": 0.0, "rule_violation_share": 0.0}
    base = {"dataset": "rossi", "seed": 0, "rows": {"train": 302, "holdout": 130},
            "status": "ok", "metrics": metrics}
    result = {"runs": [
        {**base, "method": "synthema_eps1", "epsilon": 1.0, "seconds": 12.0},
        {**base, "method": "floor", "epsilon": None},
        {**base, "method": "sdv_ctgan", "epsilon": None, "epochs": 50, "status": "timeout",
         "note": "stopped after 600 s", "metrics": None},
    ], "invocations": [{"date": "2026-12-06", "command": "python benchmarks/peers.py run"}]}
    page = tmp_path / "benchmarks.md"
    page.write_text("# Benchmarks\n\nintro\n", encoding="utf-8")
    # Run
    peers.write_doc(result, page)
    peers.write_doc(result, page)  # idempotent: the section is replaced, not appended twice
    # Assert
    text = page.read_text(encoding="utf-8")
    assert text.count(peers.START) == 1 and text.startswith("# Benchmarks\n\nintro")
    table = text.split("### rossi", 1)[1]
    rows = [ln for ln in table.splitlines() if ln.startswith("| ")]
    assert rows[1].startswith("| bootstrap floor") and rows[2].startswith("| synthema default")
    assert "| 0.100 | 0.200 | 0.050 | 0.100 | 0.600 |" in rows[2]
    assert "Cox C-index trained on real rows: t 0.700" in table
    assert "SDV CTGAN: seed 0: timeout (stopped after 600 s)" in table


def test_targets_compare_the_default_with_the_better_peer():
    # Setup: synthema beats the better smartnoise on 2-way TVD, not on the V gap
    def row(method, tvd2, v, km, tstr=0.68, trtr=0.7, rules=0.0, dcr=0.5):
        return {"method": method, "tvd1": 0.0, "tvd2": tvd2, "cramers_v_gap": v,
                "km_gap": {"t": km, "u": km / 2}, "cindex_tstr": {"t": tstr},
                "cindex_trtr": {"t": trtr}, "rule_violation_share": rules, "dcr_share": dcr}
    rows = [row("floor", 0.05, 0.02, 0.04), row("synthema_eps1", 0.10, 0.09, 0.08),
            row("smartnoise_mst", 0.20, 0.08, 0.30), row("smartnoise_aim", 0.15, 0.10, 0.09),
            row("synthema_epsinf", 0.07, 0.03, 0.07), row("sdv_ctgan", 0.30, 0.02, 0.2)]
    # Run
    got = {c["target"]: (c["value"], c["reference"], c["met"]) for c in peers.targets(rows)}
    # Assert
    assert got["ε = 1: 2-way TVD below the better smartnoise"] == (
        0.10, "0.1500 (smartnoise AIM)", True)
    assert got["ε = 1: V gap below the better smartnoise"] == (0.09, "0.0800 (smartnoise MST)",
                                                                False)
    assert got["ε = 1: KM gap (worst pair) below the better smartnoise"][2] is True
    assert got["ε = 1: C-index within 0.05 of the model trained on real rows"][2] is True
    assert got["ε = ∞: V gap below the best SDV"] == (0.03, "0.0200 (SDV CTGAN)", False)
    assert got["ε = ∞: KM gap (worst pair) ≤ 1.5 × the floor's"] == (0.07, "0.0600", False)


def test_split_facts_count_holdout_rows_equal_to_a_training_row():
    # Setup: 10 rows, all alike but one
    d = _toy()
    df = pd.DataFrame({"a": pd.array([True] * 9 + [False], dtype="boolean"),
                       "b": pd.array(["x"] * 9 + ["y"], dtype="string")})
    train, hold = peers.split(df, 3)
    lone_in_holdout = int((~hold["a"]).sum())
    # Run
    facts = peers.split_facts("toy", 3, (d, df, None))
    # Assert: every holdout row but the lone one (if it fell there) equals a training row
    assert facts["train"] == 7 and facts["holdout"] == 3
    assert facts["holdout_equal_to_train"] == 3 - lone_in_holdout


def test_a_target_against_a_peer_that_did_not_finish_is_not_checked():
    # Setup: smartnoise has no result (timed out)
    rows = [{"method": "synthema_eps1", "tvd1": 0.1, "tvd2": 0.1, "cramers_v_gap": 0.1,
             "km_gap": {"t": 0.1}, "cindex_tstr": {}, "cindex_trtr": {},
             "rule_violation_share": 0.0, "dcr_share": 0.5},
            {"method": "smartnoise_mst", "failed": ["seed 0: timeout"]}]
    # Run
    got = {c["target"]: c for c in peers.targets(rows)}
    # Assert
    tvd = got["ε = 1: 2-way TVD below the better smartnoise"]
    assert tvd["met"] is None and tvd["reference"].startswith("no result of smartnoise MST")
