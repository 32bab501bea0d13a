"""Clinical checks (issue 14 item 3): hazard ratios against lifelines, sign flips, risk order."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import value
from lifelines import CoxPHFitter
from lifelines.datasets import load_rossi

from synthema.evaluate import evaluate
from synthema.schema import Dictionary, load_dictionary

ROSSI = load_dictionary(__import__("pathlib").Path(__file__).resolve().parents[3]
                        / "benchmarks" / "dictionaries" / "rossi.yaml")
BOOLS = ("arrest", "fin", "race", "wexp", "mar", "paro")


@pytest.fixture(scope="module")
def rossi() -> pd.DataFrame:
    df = load_rossi()
    for c in BOOLS:
        df[c] = df[c].astype("boolean")
    return df


def test_hazard_ratios_are_lifelines_cox_per_step(rossi):
    # Setup: the reference fit on the same rows, numbers scaled to the dictionary bounds
    # as the encoder does (so the ridge penalty acts alike)
    ref = pd.DataFrame({c: rossi[c].astype(float) for c in ("fin", "race", "wexp", "mar",
                                                            "paro")})
    for c in ("age", "prio"):
        ref[c] = (rossi[c] - ROSSI[c].min) / (ROSSI[c].max - ROSSI[c].min)
    ref["week"], ref["arrest"] = rossi["week"], rossi["arrest"].astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = CoxPHFitter(penalizer=0.01).fit(ref, "week", "arrest")
    # Run
    rows = evaluate(rossi, rossi, dictionary=ROSSI, metrics=["hazard_ratios"]).get_details(
        "hazard_ratios")["covariates"]
    got = {r["covariate"]: r for r in rows}
    # Assert: one row per covariate (no constant missing-indicators), lifelines' HR and CI
    assert len(rows) == 7 and all(r["status"] == "agree" for r in rows)
    for c in ("fin", "race", "wexp", "mar", "paro"):
        r = got[f"{c} (yes vs no)"]["real"]
        assert r["hr"] == pytest.approx(math.exp(fit.params_[c]), rel=1e-4)
        lo, hi = np.exp(fit.confidence_intervals_.loc[c]).to_numpy()
        assert r["ci"] == pytest.approx([lo, hi], rel=1e-4)
    # age per 5 years: beta on the [16, 70] scale times 5 / 54
    r = got["age (per 5 years)"]["real"]
    assert r["hr"] == pytest.approx(math.exp(fit.params_["age"] * 5 / 54), rel=1e-4)


def test_a_reversed_hazard_ratio_is_flagged_and_fails(rossi):
    # Setup: synthetic men whose prior convictions protect instead of harm
    syn = rossi.copy()
    syn["prio"] = (rossi["prio"].max() - rossi["prio"]).astype(rossi["prio"].dtype)
    big = pd.concat([syn] * 3, ignore_index=True)  # enough rows for a clear reversed effect
    # Run
    report = evaluate(rossi, big, dictionary=ROSSI, metrics=["hazard_ratios"])
    rows = {r["covariate"]: r for r in report.get_details("hazard_ratios")["covariates"]}
    result = report.results[0]
    # Assert
    prio = next(r for k, r in rows.items() if k.startswith("prio"))
    assert prio["real"]["hr"] > 1 > prio["synthetic"]["hr"]
    assert prio["status"] == "flipped" and result.status == "fail"


def _sign_flip_data(seed: int, n: int, slope: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.integers(20, 80, n)
    score = slope * (age - 50) / 15 + rng.normal(0, 1, n)
    return pd.DataFrame({"age": pd.array(age, dtype="Int64"),
                         "blasts": pd.array(np.clip(50 + 10 * score, 0, 100).round(),
                                            dtype="Int64")})


def test_an_association_whose_sign_flips_is_counted():
    # Setup: age and blasts at about -0.25 in the real rows and +0.46 in the synthetic ones
    d = Dictionary.from_mapping({"name": "flip", "version": 1, "variables": [
        {"name": "age", "type": "integer", "min": 18, "max": 99},
        {"name": "blasts", "type": "integer", "min": 0, "max": 100}]})
    real, syn = _sign_flip_data(1, 400, -0.3), _sign_flip_data(2, 400, 0.6)
    fresh = _sign_flip_data(3, 400, -0.3)
    # Run
    flipped = evaluate(real, syn, dictionary=d, metrics=["association_sign_flips"])
    same = evaluate(real, fresh, dictionary=d, metrics=["association_sign_flips"])
    # Assert
    pair = flipped.get_details("association_sign_flips")["strongest"][0]
    assert pair["real"] < -0.15 and pair["synthetic"] > 0.3 and pair["flipped"]
    assert value(flipped, "association_sign_flips") == 1.0
    assert flipped.results[0].status == "fail" and same.results[0].status == "pass"


def test_risk_groups_in_reverse_order_are_caught(real, dictionary):
    # Setup: on rossi no two real risk groups differ by 3 SE (nothing to reverse), so take the
    # simulated AML cohort, where age drives survival, and give the oldest patients the
    # youngest patients' outcomes
    outcomes = ["os_days", "os_status", "efs_days", "efs_status"]
    by_age = real.sort_values("age", kind="stable").reset_index(drop=True)
    syn = by_age.copy()
    syn[outcomes] = by_age[outcomes].iloc[::-1].to_numpy()
    for c in outcomes:
        syn[c] = syn[c].astype(real[c].dtype)
    # Run
    report = evaluate(real, syn, dictionary=dictionary, metrics=["risk_group_order"])
    self_report = evaluate(real, real, dictionary=dictionary, metrics=["risk_group_order"])
    # Assert: the real rows separate their groups clearly, the synthetic rows reverse them
    details = report.get_details("risk_group_order")
    assert details["clear"] >= 2
    assert any(c["reversed"] for p in details["pairs"] for c in p["checks"])
    assert report.results[0].status == "fail" and self_report.results[0].status == "pass"


def test_outcome_rates_are_the_data_s_and_a_shifted_rate_fails(real, fresh, holdout,
                                                                 dictionary):
    # Setup: a fresh sample in which 150 survivors are recorded as dead
    shifted = fresh.copy()
    alive = shifted.index[shifted["os_status"].eq(False).fillna(False)][:150]
    shifted.loc[alive, "os_status"] = True
    # Run
    same = evaluate(real, fresh, dictionary=dictionary, holdout=holdout,
                    metrics=["outcome_rates"])
    bad = evaluate(real, shifted, dictionary=dictionary, holdout=holdout,
                   metrics=["outcome_rates"])
    rows = {(r["outcome"], r["value"]): r for r in
            bad.get_details("outcome_rates")["outcomes"]}
    # Assert: rates recomputed with pandas; the shown value is the difference of the row
    # furthest beyond its own limit, and the pass limit shown is that row's
    death = rows[("os_status", "true")]
    assert death["real"] == pytest.approx(real["os_status"].dropna().astype(bool).mean())
    assert death["synthetic"] == pytest.approx(shifted["os_status"].dropna().astype(bool).mean())
    for report in (bad, same):
        found = {(r["outcome"], r["value"]): r for r in
                 report.get_details("outcome_rates")["outcomes"]}
        decider = max(found.values(), key=lambda r: abs(r["difference"]) - r["limit"])
        result = report.results[0]
        assert value(report, "outcome_rates") == pytest.approx(abs(decider["difference"]), abs=1e-6)
        assert result.limits.passed == pytest.approx(decider["limit"], abs=1e-6)
        assert report.get_details("outcome_rates")["decided_by"] == (
            f"{decider['outcome']} = {decider['value']}")
    assert bad.results[0].status == "fail" and same.results[0].status == "pass"


def test_values_beyond_the_real_range_are_counted_per_column(real, fresh, holdout,
                                                              dictionary):
    # Setup: 51 synthetic patients older than anyone real (inside the dictionary's bounds)
    older = fresh.copy()
    oldest = int(real["age"].max())
    older.loc[:50, "age"] = oldest + 1
    # Run
    report = evaluate(real, older, dictionary=dictionary, holdout=holdout,
                      metrics=["outside_real_range"])
    same = evaluate(real, fresh, dictionary=dictionary, holdout=holdout,
                    metrics=["outside_real_range"])
    details = report.get_details("outside_real_range")
    # Assert: counted against the training range, the holdout's own share is the reference
    assert details["columns"]["age"]["above"] == 51 + int((fresh.loc[51:, "age"] > oldest).sum())
    assert 0 <= details["holdout_share"] < 0.05
    assert report.results[0].status == "fail" and same.results[0].status == "pass"


def test_a_flip_outside_the_strongest_associations_still_counts():
    # Setup: 24 strong pairs that hold (ρ ≈ 0.95) and one weaker one that flips (age and
    # response: −0.30 real, +0.26 synthetic in the demo)
    rng = np.random.default_rng(8)
    n = 600

    def frame(slope: float) -> pd.DataFrame:
        cols = {}
        for k in range(24):
            x = rng.normal(0, 1, n)
            cols[f"a{k}"], cols[f"b{k}"] = x, x + rng.normal(0, 0.3, n)
        age = rng.normal(0, 1, n)
        cols["age"], cols["resp"] = age, slope * age + rng.normal(0, 1, n)
        return pd.DataFrame({k: pd.array(np.round(50 + 10 * v), dtype="Int64")
                             for k, v in cols.items()})

    d = Dictionary.from_mapping({"name": "many", "version": 1, "variables": [
        {"name": c, "type": "integer", "min": -100, "max": 200} for c in frame(0.0).columns]})
    real, syn = frame(-0.35), frame(0.35)
    # Run
    report = evaluate(real, syn, dictionary=d, metrics=["association_sign_flips"])
    details = report.get_details("association_sign_flips")
    # Assert: not among the 20 strongest, still a flip
    assert ["age", "resp"] not in [p["columns"] for p in details["strongest"]]
    assert [p["columns"] for p in details["all_flips"]] == [["age", "resp"]]
    assert value(report, "association_sign_flips") == 1.0
    assert report.results[0].status == "fail"
    # and the page lists it, not only the strongest associations (which all held)
    from synthema.evaluate.html import render_html

    page = render_html(report.to_dict())
    assert "Associations the synthetic rows reverse (1;" in page
    assert page.index("<td>age</td><td>resp</td>") < page.index("Strongest real associations")
