"""Utility: nothing lost when training on the real rows themselves, much lost on shuffles."""

from __future__ import annotations

import math

import pytest
from conftest import value

from synthema.evaluate import evaluate


def status(report, name: str) -> str:
    return {r.name: r for r in report.results}[name].status


def test_real_against_itself_loses_no_utility(self_report):
    # Assert
    assert value(self_report, "classification_auroc_gap") == 0.0
    assert value(self_report, "cindex_gap") == 0.0
    assert value(self_report, "km_distance") == 0.0
    # risk groups are cross-fitted: a real row is scored by the half model that did not see
    # it, any other row by both halves, so even identical rows may change group; still a pass
    assert value(self_report, "km_risk_group_distance") < 0.1
    assert value(self_report, "logrank_p") == pytest.approx(1.0)
    assert all(r.status == "pass" for r in self_report.results if r.group == "utility")


def test_column_shuffles_lose_prediction_and_survival_structure(shuffled_report, fresh_report):
    # Assert: a fresh sample keeps what predicts the outcome, a shuffle does not
    assert value(shuffled_report, "classification_auroc_gap") > 0.15
    assert value(fresh_report, "classification_auroc_gap") < 0.05
    # baseline covariates only (no cr, cr_days, relapse_days): the real-trained C is lower
    # than with the leaks, so the shuffle loses less, but clearly more than the fail limit
    assert value(shuffled_report, "cindex_gap") > 0.08
    assert status(shuffled_report, "cindex_gap") == "fail"
    assert value(fresh_report, "cindex_gap") < 0.05
    assert value(shuffled_report, "km_risk_group_distance") > 0.25
    assert status(shuffled_report, "km_risk_group_distance") == "fail"
    # per group about 200 patients: a fresh sample differs by 0.17 from noise alone, which
    # its null limit allows; the shuffle fails
    assert status(fresh_report, "km_risk_group_distance") == "pass"
    assert value(shuffled_report, "km_risk_group_distance") > 2 * value(
        fresh_report, "km_risk_group_distance")
    # the overall KM curve is no shuffle detector: a shuffle keeps each margin, and up to the
    # horizon (10 % at risk) its gap (0.10) is close to a fresh sample's (0.09)
    details = shuffled_report.get_details("classification_auroc_gap")
    assert details["tstr_auroc"] == pytest.approx(0.5, abs=0.1)


def test_classification_leaves_out_columns_that_define_the_target(fresh_report):
    # Run
    details = fresh_report.get_details("classification_auroc_gap")
    # Assert: cr is defined from induction_response by a rule, so that column is no predictor
    assert details["target"] == "cr"
    assert "induction_response" not in details["features"] and "cr" not in details["features"]
    assert "age" in details["features"]


def test_survival_details_cover_every_pair_and_risk_group(fresh_report, dictionary):
    # Run
    km = fresh_report.get_details("km_distance")["pairs"]
    groups = fresh_report.get_details("km_risk_group_distance")["pairs"]
    # Assert
    assert [p["time"] for p in km] == [p.time for p in dictionary.survival]
    for pair in groups:
        assert set(pair["groups"]) == {"low", "intermediate", "high"}
        curve = pair["groups"]["low"]["curves"]["real"]
        assert len(pair["grid"]) == len(curve["survival"]) == len(curve["lower"])
        assert len(pair["ticks"]) == len(curve["at_risk"])


def test_without_holdout_the_tstr_metrics_fail_alone(real, fresh, dictionary):
    # Run
    report = evaluate(real, fresh, dictionary=dictionary,
                      metrics=["classification_auroc_gap", "cindex_gap", "km_distance"])
    # Assert
    by_name = {r.name: r for r in report.results}
    for name in ("classification_auroc_gap", "cindex_gap"):
        assert math.isnan(by_name[name].value) and by_name[name].status == "error"
        assert "--holdout" in by_name[name].error
    assert by_name["km_distance"].error is None and by_name["km_distance"].value < 0.2


def test_the_dictionary_targets_are_predicted_by_default(real, fresh, dictionary, holdout):
    # Setup: declare two targets; cr (the fallback default) is not among them
    import dataclasses

    declared = dataclasses.replace(dictionary, targets=("relapse", "efs_status"))

    # Run
    report = evaluate(real, fresh, dictionary=declared, holdout=holdout,
                      metrics=["classification_auroc_gap"])
    forced = evaluate(real, fresh, dictionary=declared, holdout=holdout, target="cr",
                      metrics=["classification_auroc_gap"])

    # Assert: both declared targets are scored, and --target still wins over them
    details = report.get_details("classification_auroc_gap")
    assert [t["target"] for t in details["targets"]] == ["relapse", "efs_status"]
    assert "relapse" not in details["features"] and "efs_status" not in details["features"]
    assert [t["target"] for t in forced.get_details("classification_auroc_gap")["targets"]] \
        == ["cr"]
