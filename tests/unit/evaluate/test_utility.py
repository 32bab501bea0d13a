"""Utility: nothing lost when training on the real rows themselves, much lost on shuffles."""

from __future__ import annotations

import math

import pytest
from conftest import value

from synthema.evaluate import evaluate


def test_real_against_itself_loses_no_utility(self_report):
    # Assert
    assert value(self_report, "classification_auroc_gap") == 0.0
    assert value(self_report, "cindex_gap") == 0.0
    assert value(self_report, "km_distance") == 0.0
    assert value(self_report, "km_risk_group_distance") == 0.0
    assert value(self_report, "logrank_p") == pytest.approx(1.0)
    assert all(r.status == "pass" for r in self_report.results if r.group == "utility")


def test_column_shuffles_lose_prediction_and_survival_structure(shuffled_report, fresh_report):
    # Assert: a fresh sample keeps what predicts the outcome, a shuffle does not
    assert value(shuffled_report, "classification_auroc_gap") > 0.15
    assert value(fresh_report, "classification_auroc_gap") < 0.05
    assert value(shuffled_report, "cindex_gap") > 0.2
    assert value(fresh_report, "cindex_gap") < 0.05
    assert value(shuffled_report, "km_risk_group_distance") > 0.4
    assert value(shuffled_report, "km_risk_group_distance") > 3 * value(
        fresh_report, "km_risk_group_distance")
    # overall KM: a shuffle keeps each margin, so the gap is smaller than within risk groups;
    # over 12 seed pairs (600 patients) shuffled/fresh ranged 1.9-5.9, fresh alone 0.03-0.09
    assert value(shuffled_report, "km_distance") > 0.12
    assert value(shuffled_report, "km_distance") > 1.5 * value(fresh_report, "km_distance")
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
        assert len(pair["grid"]) == len(pair["groups"]["low"]["curves"]["real"])


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
