"""The registry and the report: contract of every metric, failures isolated, JSON complete."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from synthema.evaluate import (
    REGISTRY,
    EvaluationReport,
    FidelityReport,
    Goal,
    Metric,
    PrivacyReport,
    metrics_of,
)
from synthema.evaluate.metric import GROUPS

DOCS = Path(__file__).resolve().parents[3] / "docs" / "evaluate.md"


@pytest.mark.parametrize("name", list(REGISTRY))
def test_every_metric_follows_the_contract(name):
    # Setup
    metric = REGISTRY[name]
    # Assert
    assert issubclass(metric, Metric) and metric.name == name
    assert metric.group in GROUPS and isinstance(metric.goal, Goal)
    assert metric.min_value < metric.max_value and metric.unit and metric.description
    good, ok = metric.thresholds
    assert not (math.isnan(good) or math.isnan(ok))
    assert (good <= ok) if metric.goal is Goal.MINIMIZE else (good >= ok)
    assert metric.status(good) == "pass" and metric.status(math.nan) == "error"


@pytest.mark.parametrize("name", list(REGISTRY))
def test_thresholds_are_documented(name):
    # Setup
    text = DOCS.read_text(encoding="utf-8")
    metric = REGISTRY[name]
    # Run
    row = re.search(rf"^\| `{name}` \|.*$", text, flags=re.MULTILINE)
    # Assert: the docs table row of the metric quotes its pass and warn thresholds
    assert row is not None, f"{name} has no row in docs/evaluate.md"
    cells = [c.strip() for c in row.group(0).strip("|").split("|")]
    assert cells[-2:] == [f"{metric.thresholds[0]:g}", f"{metric.thresholds[1]:g}"]


def test_groups_cover_the_issue():
    # Assert
    assert {g: len(metrics_of(g)) for g in GROUPS} == {
        "fidelity": 7, "utility": 5, "privacy": 6, "clinical": 8}
    with pytest.raises(ValueError, match="unknown metric group"):
        metrics_of("speed")


def test_a_failing_metric_becomes_nan_and_the_rest_is_computed(monkeypatch, real, fresh,
                                                               dictionary):
    # Setup
    def boom(cls, real, synthetic, *, context):
        raise RuntimeError("kaput")

    monkeypatch.setattr(REGISTRY["wasserstein"], "compute", classmethod(boom))
    # Run
    report = FidelityReport(dictionary, metrics=["column_distance", "wasserstein"])
    report.generate(real, fresh)
    # Assert
    failed = {r.name: r for r in report.results}["wasserstein"]
    assert math.isnan(failed.value) and failed.status == "error"
    assert failed.error == "RuntimeError: kaput"
    assert report.get_details("column_distance")["columns"]
    props = report.get_properties()
    assert props.loc[0, "error"] == 1 and props.loc[0, "pass"] == 1
    # a group missing a metric has no score (it would score a different metric set under the
    # same name); the metric not computed is named instead
    assert props.loc[0, "not_computed"] == ["wasserstein"]
    assert math.isnan(props.loc[0, "score"]) and math.isnan(report.get_score())


def test_getters_need_generate_and_known_names(dictionary, real):
    # Setup
    report = PrivacyReport(dictionary)
    # Assert
    with pytest.raises(ValueError, match="generate"):
        report.get_score()
    with pytest.raises(ValueError, match="unknown metric"):
        EvaluationReport(dictionary, metrics=["nope"])
    assert set(report.metrics) == set(metrics_of("privacy"))


def test_missing_columns_are_a_clear_error(dictionary, real):
    # Setup
    from synthema.errors import SynthemaError

    # Assert
    with pytest.raises(SynthemaError, match="synthetic data lack 1 dictionary column"):
        FidelityReport(dictionary).generate(real, real.drop(columns=["age"]))


def test_report_json_holds_every_number_and_is_strict_json(fresh_report):
    # Run
    text = json.dumps(fresh_report.to_dict(), allow_nan=False)
    data = json.loads(text)
    # Assert
    assert list(data["metrics"]) == list(REGISTRY)
    assert set(data["groups"]) == set(GROUPS)
    first = data["metrics"]["column_distance"]
    assert {"value", "score", "status", "thresholds", "unit", "goal", "details"} <= set(first)
    assert data["meta"]["rows"] == {"real": 600, "synthetic": 600, "holdout": 600}


def test_progress_is_reported_per_metric(real, fresh, dictionary):
    # Setup
    calls = []
    # Run
    FidelityReport(dictionary, metrics=["column_distance", "kway_tvd"]).generate(
        real, fresh, progress=lambda i, n, name: calls.append((i, n, name)))
    # Assert
    assert calls == [(0, 2, "column_distance"), (1, 2, "kway_tvd"), (2, 2, "done")]


def test_every_metric_computes_on_the_scd_dictionary_too():
    # Setup: another disease, few deaths (risk groups without events), target = death
    from synthema.cohorts.simulate import simulate
    from synthema.evaluate import evaluate

    real, hold, syn = (simulate("scd", sites=1, patients=300, seed=s)[0].data for s in (4, 5, 6))
    # Run
    report = evaluate(real, syn, dictionary="scd", holdout=hold)
    # Assert
    assert [r.name for r in report.results if r.error] == []
    assert report.get_details("classification_auroc_gap")["target"] == "death"


def test_report_html_is_built_from_the_shared_page(fresh_report):
    # Setup: the parts anonymization.html uses too
    from synthema.evaluate.html import render_html
    from synthema.evaluate.page import CSS, scorecard

    data = fresh_report.to_dict()
    # Run
    page = render_html(data, version="test")
    # Assert: shared style and scorecard, one badge per metric in the metric's status
    card, totals = scorecard(data["metrics"].values())
    assert CSS in page and "<th>Pass if</th><th>Warn if</th>" in page
    assert [g for g, _ in card] == [g for g in GROUPS if g in data["groups"]]
    badges = re.findall(r'<span class="badge (pass|warn|fail|error)">', page)
    assert sorted(badges) == sorted(m["status"] for m in data["metrics"].values())
    assert sum(totals.values()) == len(data["metrics"])
