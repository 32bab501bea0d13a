"""``synthema evaluate`` end to end: files in, report.json and a self-contained report.html out."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from synthema.cli import app
from synthema.schema import format_frame


@pytest.fixture(scope="module")
def files(tmp_path_factory, real, holdout, fresh, dictionary):
    folder = tmp_path_factory.mktemp("evaluate")
    (folder / "dict.yaml").write_text(dictionary.to_yaml(), encoding="utf-8")
    paths = {}
    for name, df in (("train", real[:200]), ("holdout", holdout[:200]), ("syn", fresh[:200])):
        text = format_frame(df, dictionary)
        if name == "syn":
            text = text.drop(columns=[dictionary.patient_id])
            text.loc[3, "age"] = "250"  # out of range: read as missing, counted as impossible
        paths[name] = folder / f"{name}.csv"
        text.to_csv(paths[name], index=False)
    return folder, paths


@pytest.fixture(scope="module")
def result(files):
    folder, paths = files
    out = folder / "report"
    res = CliRunner().invoke(app, [
        "evaluate", "--dictionary", str(folder / "dict.yaml"), "--real", str(paths["train"]),
        "--holdout", str(paths["holdout"]), "--synthetic", str(paths["syn"]), "--out", str(out)])
    return res, out


def test_cli_writes_both_reports(result):
    # Setup
    res, out = result
    # Assert
    assert res.exit_code == 0, res.output
    assert "report.html" in res.output and "Traceback" not in res.output
    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert data["meta"]["loader"]["synthetic"]["problems"] == {"range": 1}
    assert data["metrics"]["impossible_values"]["details"]["rows"] == 1
    assert all(m["error"] is None for m in data["metrics"].values())
    # the terminal gives each group's counts, as in the report
    for group, g in data["groups"].items():
        assert f"{g['pass']} pass, {g['warn']} warn, {g['fail']} fail" in res.output, group


def test_html_is_self_contained(result):
    # Setup
    _, out = result
    html = (out / "report.html").read_text(encoding="utf-8")
    # Assert: plotly.js inline, nothing fetched from anywhere
    assert "plotly.js v" in html
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)\s*=", html, flags=re.I)
    assert "@import" not in html
    for section in ("scorecard", "fidelity", "utility", "privacy", "clinical"):
        assert f'id="{section}"' in html
    assert html.count('<span class="badge') == 21


def test_cli_errors_are_friendly(files, tmp_path):
    # Setup
    folder, paths = files
    # Run
    res = CliRunner().invoke(app, [
        "evaluate", "--dictionary", "aml", "--real", str(paths["train"]),
        "--synthetic", str(tmp_path / "absent.csv"), "--out", str(tmp_path / "o")])
    # Assert
    assert res.exit_code == 2 and "error:" in res.output and "Traceback" not in res.output


def test_several_real_site_files_are_pooled(files, real, dictionary, tmp_path):
    # Setup: the training rows as two site files
    folder, paths = files
    first, second = tmp_path / "site_01.csv", tmp_path / "site_02.csv"
    format_frame(real[:120], dictionary).to_csv(first, index=False)
    format_frame(real[120:200], dictionary).to_csv(second, index=False)

    # Run
    res = CliRunner().invoke(app, [
        "evaluate", "--dictionary", str(folder / "dict.yaml"), "--real", str(first),
        "--real", str(second), "--synthetic", str(paths["syn"]), "--out", str(tmp_path / "r")])

    # Assert: both files read (before, a repeated --real kept the last one silently)
    assert res.exit_code == 0, res.output
    data = json.loads((tmp_path / "r" / "report.json").read_text(encoding="utf-8"))
    assert data["meta"]["rows"]["real"] == 200
    assert [f["rows"] for f in data["meta"]["loader"]["real"]] == [120, 80]


def test_misspelt_target_stops_before_reading(files, tmp_path):
    folder, paths = files
    res = CliRunner().invoke(app, [
        "evaluate", "--dictionary", str(folder / "dict.yaml"), "--real", str(paths["train"]),
        "--synthetic", str(paths["syn"]), "--out", str(tmp_path / "r"), "--target", "crr"])
    assert res.exit_code == 2
    assert "target 'crr' is not a variable" in res.output and "did you mean 'cr'?" in res.output
    assert not (tmp_path / "r").exists()
