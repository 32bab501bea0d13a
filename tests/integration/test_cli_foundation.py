"""The CLI as a user runs it: dictionary show/draft, simulate, summary; no tracebacks."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from synthema.cli import app
from synthema.cohorts.simulate import simulate, site_sizes
from synthema.schema import format_frame, load_dictionary

runner = CliRunner()


def _run(*args: str):
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    return result


@pytest.mark.parametrize("name", ["aml", "scd"])
def test_dictionary_show(name):
    result = _run("dictionary", "show", name)
    assert result.exit_code == 0, result.output
    d = load_dictionary(name)
    assert f"{len(d)} variables" in result.output
    assert d.variables[0].name in result.output


def test_dictionary_show_unknown_name_is_a_clean_error():
    result = _run("dictionary", "show", "cll")
    assert result.exit_code == 2
    assert "error:" in result.output and "fix:" in result.output


def test_dictionary_draft_warns_and_writes_loadable_yaml(tmp_path):
    # Setup
    data = tmp_path / "site.csv"
    data.write_text("patient_id,age,sex,cr\np1,61,F,yes\np2,70,M,no\n")
    out = tmp_path / "draft.yaml"
    # Run
    result = _run("dictionary", "draft", str(data), "--out", str(out))
    # Assert
    assert result.exit_code == 0, result.output
    assert "public clinical knowledge" in result.output
    text = out.read_text()
    assert text.startswith("# REVIEW:")
    d = load_dictionary(out)
    assert d.patient_id == "patient_id" and d.names == ("age", "sex", "cr")


@pytest.mark.parametrize("disease", ["aml", "scd"])
def test_simulate_writes_reproducible_clean_files(tmp_path, disease):
    # Run
    a = _run(
        "simulate",
        "--disease",
        disease,
        "--sites",
        "3",
        "--patients",
        "300",
        "--seed",
        "5",
        "--out",
        str(tmp_path / "a"),
    )
    b = _run(
        "simulate",
        "--disease",
        disease,
        "--sites",
        "3",
        "--patients",
        "300",
        "--seed",
        "5",
        "--out",
        str(tmp_path / "b"),
    )
    # Assert
    assert a.exit_code == 0 and b.exit_code == 0, a.output
    files = sorted((tmp_path / "a").glob("site_*.csv"))
    assert [f.name for f in files] == ["site_01.csv", "site_02.csv", "site_03.csv"]
    for f in files:
        assert f.read_bytes() == (tmp_path / "b" / f.name).read_bytes()
    total = sum(len(pd.read_csv(f)) for f in files)
    assert total == 300
    header = files[0].read_text().splitlines()[0].split(",")
    assert tuple(header) == load_dictionary(disease).columns


def test_simulate_bad_arguments():
    result = _run("simulate", "--disease", "cll", "--out", "x")
    assert result.exit_code == 2 and "unknown disease" in result.output
    result = _run("simulate", "--disease", "aml", "--sites", "5", "--patients", "3", "--out", "x")
    assert result.exit_code == 2 and "fewer than --sites" in result.output


def test_site_sizes_are_uneven_and_sum_up():
    import numpy as np

    sizes = site_sizes(1000, 4, np.random.default_rng(3))
    assert sum(sizes) == 1000 and min(sizes) >= 1 and len(set(sizes)) > 1


def test_summary_prints_one_row_per_site(tmp_path):
    # Setup
    d = load_dictionary("aml")
    paths = []
    for c in simulate("aml", sites=2, patients=200, seed=1):
        p = tmp_path / f"{c.name}.csv"
        format_frame(c.data, d).to_csv(p, index=False)
        paths.append(str(p))
    # Run
    result = _run("summary", "--dictionary", "aml", *paths)
    # Assert
    assert result.exit_code == 0, result.output
    assert "site_01.csv" in result.output and "site_02.csv" in result.output
    assert "rule violations" in result.output.replace("\n", " ") or "violat" in result.output
    assert "note:" not in result.output  # clean files: nothing read as missing


def test_summary_counts_invalid_cells_it_leaves_out(tmp_path):
    # Setup: three cells the dictionary does not accept
    d = load_dictionary("aml")
    [c] = simulate("aml", sites=1, patients=40, seed=2)
    text = format_frame(c.data, d)
    text["age"] = text["age"].astype("string")
    text.loc[0, "age"], text.loc[1, "age"], text.loc[2, "sex"] = "sixty", "140", "Femal"
    path = tmp_path / "bad.csv"
    text.to_csv(path, index=False)
    # Run
    result = _run("summary", "--dictionary", "aml", str(path))
    # Assert
    assert result.exit_code == 0, result.output
    assert "note:" in result.output and "3 invalid cell(s) were read as missing" in result.output
    assert "synthema validate --dictionary aml" in result.output


def test_version_and_usage_errors(tmp_path):
    assert _run("--version").output.startswith("synthema ")
    result = _run("dictionary", "show", "aml", "--group", "mutation")
    assert result.exit_code == 2 and "use one of" in result.output and "mutations" in result.output
    result = _run("simulate", "--disease", "aml", "--seed", "-1", "--out", str(tmp_path))
    assert result.exit_code == 2  # Typer's own usage error, no traceback


def test_unwritable_output_is_a_clean_error(tmp_path):
    # Setup: a file where a folder is needed
    blocker = tmp_path / "file"
    blocker.write_text("x")
    # Run
    a = _run("simulate", "--disease", "aml", "--patients", "10", "--out", str(blocker))
    b = _run("simulate", "--disease", "AML", "--patients", "10",
             "--out", str(blocker / "sub"))
    # Assert
    assert a.exit_code == 2 and "is a file" in a.output
    assert b.exit_code == 2 and "error:" in b.output and "fix:" in b.output


def test_draft_leaves_identifiers_out(tmp_path):
    # Setup: a German-style export with identifiers, a hospital number and a study id
    data = tmp_path / "export.csv"
    data.write_text(
        "Studien_ID;PID;Name;Geburtsdatum;PLZ;Alter;ED;Hb\n"
        "S-1;100234;Meier;01.02.1950;80331;70;03.04.2020;8,5\n"
        "S-2;100977;Schulz;11.12.1961;10115;58;07.08.2021;9,1\n"
    )
    out = tmp_path / "draft.yaml"
    # Run
    result = _run("dictionary", "draft", str(data), "--out", str(out), "--decimal", ",")
    # Assert
    assert result.exit_code == 0, result.output
    d = load_dictionary(out)
    assert d.patient_id == "studien_id"
    assert d.names == ("alter", "ed", "hb")
    assert d["hb"].type.value == "continuous" and d["ed"].type.value == "date"
    assert "date_format: '%d.%m.%Y'" in result.output
    for word in ("Meier", "80331", "1950", "100234"):
        assert word not in out.read_text()
