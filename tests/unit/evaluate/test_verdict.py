"""The verdict and the generator header (issue 14 items 1 and 2), and scores that cannot look
good while their checks fail."""

from __future__ import annotations

import json
import math

import pytest

from synthema.evaluate import REGISTRY
from synthema.evaluate.metric import Limits, Outcome
from synthema.evaluate.utility import ClassificationGap, gap_limits
from synthema.evaluate.verdict import ADVICE, ANALYTIC, BASIC, INFORMATIVE, PRIVACY, verdict_of


def _report(**statuses: str) -> dict:
    metrics = {name: {"status": "pass", "value": 0.0} for name in REGISTRY}
    for name, status in statuses.items():
        metrics[name] = {"status": status, "value": 1.0}
    return {"metrics": metrics, "meta": {"generator": {"private": True}}}


def test_every_metric_has_a_meaning_an_advice_and_a_role():
    # Assert
    assert set(ADVICE) == set(REGISTRY)
    assert all(m.endswith(".") and a.endswith(".") for m, a in ADVICE.values())
    roles = [*BASIC, *PRIVACY, *ANALYTIC, *INFORMATIVE]
    assert sorted(roles) == sorted(REGISTRY)


@pytest.mark.parametrize(("statuses", "level"), [
    ({}, "exploratory"),
    ({"km_distance": "warn", "discriminator_auroc": "fail", "logrank_p": "fail"}, "exploratory"),
    ({"association_sign_flips": "fail"}, "method_development"),
    ({"cindex_gap": "error"}, "method_development"),
    ({"rule_violations": "fail", "km_distance": "fail"}, "not_fit"),
    ({"dcr_share": "fail"}, "not_fit"),
    ({"real_duplicates": "fail"}, "not_fit"),
])
def test_the_verdict_follows_its_stated_rules(statuses, level):
    # Run
    v = verdict_of(_report(**statuses))
    # Assert: failing checks come with one sentence of meaning and one of advice
    assert v.level == level
    failing = {f["name"] for f in v.failing}
    assert failing == {n for n, s in statuses.items() if s == "fail"}
    assert all(f["meaning"] and f["advice"] for f in v.failing)


def test_a_generator_without_privacy_is_never_releasable():
    # Setup: a perfect-looking report of rows from a model fitted at ε = ∞
    report = _report()
    report["meta"]["generator"] = {"private": False, "method": "mst"}
    # Run
    v = verdict_of(report)
    # Assert
    assert v.level == "exploratory" and not v.releasable
    assert v.release.startswith("NOT PRIVATE")
    unknown = _report()
    unknown["meta"]["generator"] = None
    assert not verdict_of(unknown).releasable  # provenance unknown: no release on it


def test_a_gap_that_passes_only_by_its_interval_scores_at_the_bottom_of_pass():
    # Setup: gap 0.16 on a holdout too small to tell it from 0 (the rossi case)
    item = {"target": "arrest", "gap": 0.16, "gap_sd": 0.079, "trtr_auroc": 0.61,
            "tstr_auroc": 0.55, "trtr_sd": 0.054, "tstr_sd": 0.061}
    limits = gap_limits(ClassificationGap, [item], first="trtr_auroc", second="tstr_auroc",
                        what="target")
    # Run
    status, score, _ = ClassificationGap.judge(Outcome(0.16, limits=limits))
    # Assert: it passes (a perfect generator would look like this too) but scores 75, not 100
    assert status == "pass" and score == 0.75
    assert "cannot tell" in limits.basis


def test_a_model_trained_on_synthetic_rows_worse_than_chance_does_not_pass():
    # Setup: real-trained C 0.61 (clearly above 0.5), synthetic-trained 0.45
    item = {"event": "arrest", "gap": 0.16, "gap_sd": 0.079, "trtr_cindex": 0.61,
            "tstr_cindex": 0.45, "trtr_sd": 0.054, "tstr_sd": 0.061}
    clear = dict(item, tstr_cindex=0.35, gap=0.26)
    # Run
    warn = ClassificationGap.judge(Outcome(0.16, limits=gap_limits(
        ClassificationGap, [item], first="trtr_cindex", second="tstr_cindex", what="pair")))
    fail = ClassificationGap.judge(Outcome(0.26, limits=gap_limits(
        ClassificationGap, [clear], first="trtr_cindex", second="tstr_cindex", what="pair")))
    # Assert
    assert warn[0] == "warn" and "worse than chance" in warn[2].basis
    assert fail[0] == "fail" and fail[1] < 0.5


def test_scores_stay_inside_their_status_band():
    # Setup: a failing metric judged by an override whose value alone would score well
    from synthema.evaluate.checks import HazardRatioAgreement

    out = Outcome(0.0, limits=Limits(0.1, 0.25, 0.0, override="fail"))
    # Run
    status, score, _ = HazardRatioAgreement.judge(out)
    # Assert
    assert status == "fail" and score < 0.5
    assert not math.isnan(score)


def test_sampled_files_carry_their_provenance_into_the_report(tmp_path, real, holdout,
                                                              dictionary):
    # Setup: a non-private model (ε = ∞) fitted and sampled through the library calls the
    # commands use
    from synthema.evaluate import evaluate_files
    from synthema.synth.files import fit_files, sample_file
    from synthema.tables import write_table

    small = dictionary.project(["age", "sex", "ecog", "os_days", "os_status"])
    train = tmp_path / "train.csv"
    hold = tmp_path / "holdout.csv"

    write_table(real[list(small.columns)], train, dictionary=small)
    write_table(holdout[list(small.columns)], hold, dictionary=small)
    model = fit_files([train], dictionary=small, out=tmp_path / "m.synth", method="mst",
                      epsilon=math.inf, seed=1)
    sampled = sample_file(model.path, rows=300, out=tmp_path / "syn.csv", seed=1)
    # Run
    done = evaluate_files(dictionary=small, real=train, holdout=hold, synthetic=sampled.path,
                          out=tmp_path / "report")
    meta = done.report["meta"]["generator"]
    html = done.html_path.read_text(encoding="utf-8")
    # Assert: the sidecar says how, the page opens with it, NOT PRIVATE in red
    assert sampled.sidecar is not None and json.loads(sampled.sidecar.read_text())["rows"] == 300
    assert meta["method"] == "mst" and meta["private"] is False and meta["rows"] == 300
    assert "sidecar" in meta["source"] and meta["warnings"] == []
    assert done.report["verdict"]["releasable"] is False
    assert html.index('id="verdict"') < html.index('id="scorecard"')
    assert '<span class="notprivate">NOT PRIVATE</span>' in html


def test_cli_model_option_states_how_the_rows_were_made(tmp_path, real, holdout, dictionary):
    # Setup: a private model (ε = 2); the sampled file's sidecar removed, so only --model tells
    from typer.testing import CliRunner

    from synthema.cli import app
    from synthema.synth.files import fit_files, sample_file
    from synthema.tables import write_table

    small = dictionary.project(["age", "sex", "ecog", "os_days", "os_status"])
    train, hold = tmp_path / "train.csv", tmp_path / "holdout.csv"
    write_table(real[list(small.columns)], train, dictionary=small)
    write_table(holdout[list(small.columns)], hold, dictionary=small)
    yaml_path = tmp_path / "small.yaml"
    yaml_path.write_text(small.to_yaml(), encoding="utf-8")
    model = fit_files([train], dictionary=small, out=tmp_path / "m.synth", method="mst",
                      epsilon=2.0, seed=1)
    sampled = sample_file(model.path, rows=200, out=tmp_path / "syn.csv", seed=1)
    sampled.sidecar.unlink()
    # Run
    res = CliRunner().invoke(app, [
        "evaluate", "--dictionary", str(yaml_path), "--real", str(train), "--holdout",
        str(hold), "--synthetic", str(sampled.path), "--out", str(tmp_path / "r"),
        "--model", str(model.path)])
    data = json.loads((tmp_path / "r" / "report.json").read_text())
    # Assert
    assert res.exit_code == 0, res.output
    assert "verdict: " in res.output and "release: " in res.output
    gen = data["meta"]["generator"]
    assert gen["private"] is True and gen["epsilon"] == pytest.approx(2.0, rel=1e-6)
    assert gen["source"] == "the model given (--model)"


def test_the_page_says_what_method_auto_chose_and_why():
    # Setup: a report whose generator came from a model fitted with --method auto
    from synthema.evaluate.html import verdict_section

    choice = {"requested": "auto", "method": "mst", "reason": "157 attributes: MST fit best",
              "attributes": 157, "cells": 2000, "epsilon": 1.0}
    generator = {"method": "mst", "method_choice": choice, "private": True, "mode": "central",
                 "epsilon": 1.0, "delta": 1e-6, "rho": 0.02, "rows": 10, "model": "m.synth",
                 "dictionary": {"name": "aml", "version": "1"}, "synthema_version": "0",
                 "source": "the model given (--model)", "warnings": []}
    named = dict(generator, method_choice=None)
    verdict = {"level": "fail", "headline": "h", "reasons": [], "release": "r",
               "releasable": False, "failing": [], "warning": [], "not_computed": [],
               "rules": []}

    # Run
    html, _ = verdict_section({"verdict": verdict, "meta": {"generator": generator}})
    plain, _ = verdict_section({"verdict": verdict, "meta": {"generator": named}})

    # Assert
    assert "mst (chosen by --method auto: 157 attributes: MST fit best)" in html
    assert "chosen by --method auto" not in plain
