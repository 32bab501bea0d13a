"""Nothing is dropped silently (issue 24 item 6; issue 14 item 4): every metric says which rows
it used and why others were left out; a synthetic row without an outcome is a defect."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthema.evaluate import EvaluationContext, evaluate
from synthema.evaluate.clinical import ImpossibleValues, RealDuplicates, RuleViolations
from synthema.schema import Dictionary


@pytest.fixture(scope="module")
def no_target(fresh) -> tuple[pd.DataFrame, np.ndarray]:
    """A fresh sample with the target (cr) missing on 50 rows, 30 of them in CR by response."""
    out = fresh.copy()
    in_cr = np.flatnonzero(out["induction_response"].isin(["cr", "cri"]).fillna(False))[:30]
    other = np.flatnonzero(out["induction_response"].isin(["refractory", "early_death"])
                           .fillna(False))[:20]
    rows = np.r_[in_cr, other]
    out.loc[rows, "cr"] = pd.NA
    return out, rows


def test_rows_without_the_target_are_counted_not_hidden(real, holdout, dictionary, no_target):
    # Setup
    syn, rows = no_target
    # Run
    report = evaluate(real, syn, dictionary=dictionary, holdout=holdout,
                      metrics=["classification_auroc_gap"])
    used = report.get_details("classification_auroc_gap")["rows_used"]["cr"]
    # Assert: 131 of 1,500 such rows went unreported in the demo
    assert used["synthetic"] == {"used": len(syn) - len(rows),
                                 "dropped_missing_target": len(rows)}
    assert used["real"]["dropped_missing_target"] == int(real["cr"].isna().sum())


def test_a_synthetic_row_without_an_outcome_every_real_row_has_is_a_defect(real, fresh,
                                                                            dictionary,
                                                                            no_target):
    # Setup: every real row has cr; 50 synthetic rows lack it, and so escape the rule
    # cr == (induction_response in [cr, cri]) (80 such demo rows counted 0 before)
    syn, rows = no_target
    ctx = EvaluationContext(dictionary)
    # Run
    impossible = ImpossibleValues.compute(real, syn, context=ctx)
    rules = {r["rule"]: r for r in RuleViolations.compute(real, syn, context=ctx)
             .details["rules"]}
    # Assert
    assert real["cr"].notna().all()
    assert impossible.details["required_missing"] == {"cr": len(rows)}
    assert impossible.details["rows"] >= len(rows)
    base = RuleViolations.compute(real, fresh, context=ctx).details["rules"]
    was = {r["rule"]: r["not_applicable"] for r in base}["cr_response"]
    assert rules["cr_response"]["not_applicable"] == was + len(rows)
    assert ImpossibleValues.compute(real, real, context=ctx).value == 0.0


def test_rows_escaping_a_rule_the_real_rows_always_meet_are_shown():
    # Setup: "a => b > 0" is never not-applicable in the real rows; b missing in a synthetic
    # row makes it so: no violation, but shown as escaped
    d = Dictionary.from_mapping({"name": "esc", "version": 1, "variables": [
        {"name": "a", "type": "boolean"}, {"name": "b", "type": "integer", "min": 0,
                                           "max": 9}],
        "rules": [{"name": "a_needs_b", "expr": "a => b > 0"}]})
    real = pd.DataFrame({"a": pd.array([True, False, True], dtype="boolean"),
                         "b": pd.array([1, 0, 2], dtype="Int64")})
    syn = pd.DataFrame({"a": pd.array([True, True, True, False], dtype="boolean"),
                        "b": pd.array([1, None, 0, 3], dtype="Int64")})
    # Run
    out = RuleViolations.compute(real, syn, context=EvaluationContext(d))
    rule = out.details["rules"][0]
    # Assert: one broken (b = 0), one escaped (b missing)
    assert rule["violations"] == 1 and rule["escaped"] == 1 and rule["not_applicable"] == 1
    assert out.value == 0.25 and out.details["escaped_rows"] == 1


def test_holdout_rows_without_time_or_event_are_counted(real, holdout, dictionary):
    # Setup
    hold = holdout.copy()
    hold.loc[:4, "os_days"] = pd.NA
    hold.loc[5:7, "os_status"] = pd.NA
    # Run
    report = evaluate(real, real, dictionary=dictionary, holdout=hold, metrics=["cindex_gap"])
    used = report.get_details("cindex_gap")["rows_used"]["os_status"]
    # Assert: 295 of 302 used, not said, before
    assert used["holdout_dropped"] == 8 and used["holdout"] == len(hold) - 8
    assert used["dropped_missing_time_or_event"] == {"real": 0, "synthetic": 0}


def test_a_required_value_left_empty_is_impossible():
    # Setup
    d = Dictionary.from_mapping({"name": "req", "version": 1, "variables": [
        {"name": "t", "type": "duration", "min": 0, "max": 99, "required": True},
        {"name": "x", "type": "integer", "min": 0, "max": 9}]})
    real = pd.DataFrame({"t": pd.array([1, 2, 3, 4], dtype="Int64"),
                         "x": pd.array([1, None, 3, 4], dtype="Int64")})
    syn = pd.DataFrame({"t": pd.array([1, None, None, 4], dtype="Int64"),
                        "x": pd.array([None, None, 3, 4], dtype="Int64")})
    # Run
    out = ImpossibleValues.compute(real, syn, context=EvaluationContext(d))
    # Assert: x may be missing, t may not
    assert out.details["required_missing"] == {"t": 2} and out.value == 0.5


def test_a_copy_with_minus_zero_is_still_a_copy():
    # Setup: -0.0 and 0.0 are the same number but hash differently bit for bit
    d = Dictionary.from_mapping({"name": "z", "version": 1, "variables": [
        {"name": "v", "type": "continuous", "min": -5, "max": 5},
        {"name": "w", "type": "integer", "min": 0, "max": 9}]})
    real = pd.DataFrame({"v": [0.0, 1.5, -2.0], "w": pd.array([1, 2, 3], dtype="Int64")})
    syn = pd.DataFrame({"v": [-0.0, 1.5, 2.0], "w": pd.array([1, 2, 3], dtype="Int64")})
    # Run
    out = RealDuplicates.compute(real, syn, context=EvaluationContext(d))
    # Assert
    assert out.details["rows"] == 2 and out.value == pytest.approx(2 / 3)


def test_copies_are_judged_against_the_holdouts_own_rate():
    # Setup: a coarse dictionary where a second sample of the same population repeats about
    # 13 % of training rows by chance; a perfect generator copies about as many
    d = Dictionary.from_mapping({"name": "coarse", "version": 1, "variables": [
        {"name": "a", "type": "boolean"}, {"name": "b", "type": "integer", "min": 0,
                                            "max": 30}]})
    rng = np.random.default_rng(0)

    def draw(n):
        return pd.DataFrame({"a": pd.array(rng.random(n) < 0.5, dtype="boolean"),
                             "b": pd.array(rng.geometric(0.08, n).clip(0, 30),
                                           dtype="Int64")})

    real, holdout, syn = draw(60), draw(300), draw(300)
    ctx = EvaluationContext(d, holdout=holdout)
    # Run
    out = RealDuplicates.compute(real, syn, context=ctx)
    status, _, limits = RealDuplicates.judge(out)
    # Assert: the documented 1 % would fail it; the holdout's own rate passes it
    assert out.details["holdout_share"] > 0.05 and out.value > 0.05
    assert RealDuplicates.status(out.value) == "fail"
    assert status == "pass" and limits.reference == out.details["holdout_share"]


def test_every_metric_says_which_rows_it_used(fresh_report):
    # Assert: issue 14 item 4, rows used by each metric reported
    missing = [r.name for r in fresh_report.results if "rows_used" not in r.details]
    assert missing == []
