"""`synthema anonymize`: files in, release and report out; user errors exit 2."""

from __future__ import annotations

import json

import pandas as pd
from typer.testing import CliRunner

from synthema.cli import app

runner = CliRunner()


def test_cli_writes_release_and_report(raw_aml, tmp_path, monkeypatch, key):
    # Setup
    src = tmp_path / "raw.csv"
    raw_aml.to_csv(src, index=False)
    monkeypatch.setenv("SYNTHEMA_PSEUDONYM_KEY", key.decode())
    out, rep = tmp_path / "anon.csv", tmp_path / "report"
    # Run
    res = runner.invoke(app, ["anonymize", "--policy", "aml", str(src), "--out", str(out),
                              "--report", str(rep)])
    # Assert
    assert res.exit_code == 0, res.output
    assert "achieved k=" in res.output
    released = pd.read_csv(out, dtype=str)
    report = json.loads((rep / "anonymization.json").read_text(encoding="utf-8"))
    assert len(released) == report["records_out"] and report["achieved"]["k"] >= 5
    assert "Name" not in released and (rep / "anonymization.html").is_file()
    assert key.decode() not in out.read_text(encoding="utf-8")


def test_cli_reports_a_missing_key_without_traceback(raw_aml, tmp_path, monkeypatch):
    src = tmp_path / "raw.csv"
    raw_aml.head(50).to_csv(src, index=False)
    monkeypatch.delenv("SYNTHEMA_PSEUDONYM_KEY", raising=False)
    res = runner.invoke(app, ["anonymize", "--policy", "aml", str(src), "--out",
                              str(tmp_path / "o.csv"), "--report", str(tmp_path / "r")])
    assert res.exit_code == 2
    assert "no pseudonym key" in res.output and "Traceback" not in res.output


def test_cli_bad_cell_names_the_file_row_and_column(raw_aml, tmp_path, monkeypatch, key):
    # Setup: an age that is not a number on row 8 of the file (header row 1)
    src = tmp_path / "raw.csv"
    bad = raw_aml.astype({"age": "string"})
    bad.loc[6, "age"] = "sixty"
    bad.to_csv(src, index=False)
    monkeypatch.setenv("SYNTHEMA_PSEUDONYM_KEY", key.decode())
    # Run
    res = runner.invoke(app, ["anonymize", "--policy", "aml", str(src), "--out",
                              str(tmp_path / "o.csv"), "--report", str(tmp_path / "r")])
    # Assert
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert f"{src}: column 'age', row 8: not a number" in " ".join(res.output.split())
    assert "sixty" not in res.output  # no cell value in a message
