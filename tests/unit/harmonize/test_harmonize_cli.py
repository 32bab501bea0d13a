"""`synthema validate` and `synthema harmonize`: exit codes, tables, messages, no tracebacks."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from synthema.cli import app
from synthema.harmonize.mapping import dump_mapping
from synthema.harmonize.validate import validate_file
from synthema.schema import load_dictionary
from synthema.tables import clean_text

runner = CliRunner()


def _run(*args: str):
    result = runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit)
    return result


@pytest.fixture
def clean_csv(tmp_path, dictionary, clean):
    path = tmp_path / "site.csv"
    clean_text(clean, dictionary).to_csv(path, index=False)
    return path


def test_validate_clean_file_exits_0(clean_csv, dictionary_file):
    result = _run("validate", "--dictionary", dictionary_file, clean_csv)
    assert result.exit_code == 0, result.output
    assert "40 rows, no problems" in result.output
    assert "1 file(s), 0 problem(s)" in result.output


def test_validate_problems_exit_1_with_rows_and_fixes(tmp_path, clean_csv, dictionary_file):
    # Setup
    lines = clean_csv.read_text().splitlines()
    header = lines[0].split(",")
    for n in range(1, 8):
        cells = lines[n].split(",")
        cells[header.index("hb")] = "high"
        lines[n] = ",".join(cells)
    cells = lines[9].split(",")
    cells[header.index("sex")] = "X"
    lines[9] = ",".join(cells)
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    # Run
    result = _run("validate", "-d", dictionary_file, bad, clean_csv, "--max-rows-shown", "2")
    # Assert
    assert result.exit_code == 1
    out = result.output
    assert "2, 3 ..." in out                  # first 2 of 7 rows, then more
    assert "'high' is not a number" in out and "(allowed: F, M)" in out
    assert "bad.csv: 40 rows, 8 problems (7 type, 1 category) [comma ',' delimiter detected" in out
    assert "2 file(s), 8 problem(s)" in out


def test_validate_unreadable_file_exits_2(tmp_path, dictionary_file):
    path = tmp_path / "fr.csv"
    path.write_bytes("id;nom\nP1;Lefèvre\n".encode("latin-1"))
    result = _run("validate", "-d", dictionary_file, path)
    assert result.exit_code == 2
    assert "error:" in result.output and "not UTF-8" in result.output
    assert "fix:" in result.output and "--encoding cp1252" in result.output


def test_validate_with_read_options(tmp_path, dictionary, clean, dictionary_file):
    path = tmp_path / "site.txt"
    clean_text(clean, dictionary).to_csv(path, index=False, sep="|", encoding="latin-1")
    result = _run("validate", "-d", dictionary_file, path, "--delimiter", "|",
                  "--encoding", "latin-1")
    assert result.exit_code == 0, result.output


def test_validate_unknown_dictionary_exits_2(clean_csv):
    result = _run("validate", "-d", "cll", clean_csv)
    assert result.exit_code == 2 and "neither built in nor a file" in result.output


@pytest.fixture
def export(tmp_path, dictionary, clean):
    """A semicolon export with decimal commas and Hb in mmol/L, its mapping next to it."""
    text = clean_text(clean, dictionary).rename(columns={"patient_id": "ID", "hb": "Hb_mmol"})
    for name in ("wbc", "creatinine"):  # the other columns hold no decimals
        text[name] = text[name].str.replace(".", ",", regex=False)
    hb = clean["hb"].astype("Float64") / 1.6114
    text["Hb_mmol"] = hb.round(2).map(lambda v: f"{v:.2f}".replace(".", ","),
                                      na_action="ignore").fillna("")
    text["Name"] = "X"
    path = tmp_path / "export.csv"
    text.to_csv(path, sep=";", index=False)
    columns = {name: name for name in dictionary.names if name != "hb"}
    columns |= {"patient_id": "ID", "hb": {"from": "Hb_mmol", "unit": "mmol/L"}}
    mapping = {"dictionary": "example.yaml", "file": "export.csv",
               "read": {"delimiter": ";", "decimal": ","}, "drop": ["Name"], "columns": columns}
    map_path = tmp_path / "export.mapping.yaml"
    map_path.write_text(dump_mapping(mapping), encoding="utf-8")
    return path, map_path


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_harmonize_writes_the_clean_file(tmp_path, export, clean, dictionary_file, suffix):
    # Setup
    _, map_path = export
    out = tmp_path / f"harmonised{suffix}"
    # Run (data file and dictionary come from the mapping)
    result = _run("harmonize", "--mapping", map_path, "--out", out)
    # Assert
    assert result.exit_code == 0, result.output
    assert f"wrote {out} (40 rows, 14 columns)" in result.output
    assert "40 rows read [semicolon ';' delimiter, utf-8], 40 rows written" in result.output
    assert "mmol/L -> g/dL" in result.output
    assert "values dropped in all: 0" in result.output
    assert "source columns dropped by the mapping: Name" in result.output
    if suffix == ".parquet":
        pd.testing.assert_frame_equal(pd.read_parquet(out), clean)
    else:
        report = validate_file(out, dictionary_file)
        assert report.ok
        pd.testing.assert_frame_equal(report.data, clean)


def test_harmonize_strict_exits_2_and_lists_drops(tmp_path, export, dictionary_file):
    # Setup: spreadsheet row 4 gets an unreadable Hb
    path, map_path = export
    lines = path.read_text().splitlines()
    cells = lines[3].split(";")
    cells[lines[0].split(";").index("Hb_mmol")] = "viel"
    lines[3] = ";".join(cells)
    path.write_text("\n".join(lines) + "\n")
    # Run
    lenient = _run("harmonize", "-m", map_path, "-o", tmp_path / "a.csv")
    strict = _run("harmonize", "-m", map_path, "-o", tmp_path / "b.csv", "--strict",
                  "-d", dictionary_file)
    # Assert
    assert lenient.exit_code == 0 and "1 not a number (row 4: viel)" in lenient.output
    assert strict.exit_code == 2
    assert "error:" in strict.output and "1 value would be dropped" in strict.output
    assert not (tmp_path / "b.csv").exists()


def test_harmonize_mapping_errors_exit_2(tmp_path, export, dictionary_file):
    path, map_path = export
    text = map_path.read_text().replace("Hb_mmol", "HB_MMOL")
    map_path.write_text(text)
    result = _run("harmonize", "-m", map_path, "-o", tmp_path / "x.csv", path)
    assert result.exit_code == 2
    assert "1 source column not in" in result.output and "did you mean 'Hb_mmol'" in result.output
    other = _run("harmonize", "-m", map_path, "-o", tmp_path / "x.csv", "-d", "aml")
    assert other.exit_code == 2 and "not 'aml'" in other.output


def test_harmonize_folds_plain_columns_unless_details(tmp_path, export, dictionary_file):
    # Setup
    _, map_path = export
    # Run
    short = _run("harmonize", "-m", map_path, "-o", tmp_path / "a.csv",
                 "--report", tmp_path / "summary.json")
    full = _run("harmonize", "-m", map_path, "-o", tmp_path / "b.csv", "--details")
    # Assert: the short table shows the conversion and folds the 13 copied columns
    # (the patient id included)
    assert short.exit_code == 0, short.output
    assert full.exit_code == 0, full.output
    assert "mmol/L -> g/dL" in short.output and "13 more columns" in short.output
    assert "more columns" not in full.output and "os_status" in full.output
    import json

    report = json.loads((tmp_path / "summary.json").read_text())
    assert report["dropped_total"] == 0 and len(report["columns"]) == 14


# -- validate goes on past an unreadable file ---------------------------------------------------
def test_validate_reports_every_readable_file_and_exits_2_for_an_unreadable_one(
    tmp_path, clean_csv, dictionary_file
):
    # Setup: a clean file, an empty one, then a file with one problem
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    lines = clean_csv.read_text().splitlines()
    lines[1] = lines[1].replace(",F,", ",X,").replace(",M,", ",X,")
    bad = tmp_path / "b.csv"
    bad.write_text("\n".join(lines) + "\n")
    # Run
    both = _run("validate", "-d", dictionary_file, clean_csv, empty, bad)
    problems_only = _run("validate", "-d", dictionary_file, clean_csv, bad)
    # Assert
    assert both.exit_code == 2
    assert "site.csv: 40 rows, no problems" in both.output
    assert "b.csv: 40 rows, 1 problem (1 category)" in both.output
    assert "error:" in both.output and "empty.csv: the file is empty" in both.output
    assert "fix:" in both.output
    assert "3 file(s), 1 problem(s), 1 unreadable" in both.output
    assert problems_only.exit_code == 1


# -- harmonize: outputs refused before any work, warnings ------------------------------------------
def test_harmonize_refuses_to_overwrite_its_input(tmp_path, export, dictionary_file):
    # Setup
    path, map_path = export
    before = path.read_bytes()
    # Run
    result = _run("harmonize", "-m", map_path, "-o", path)
    named = _run("harmonize", "-m", map_path, path, "-o", path)
    # Assert
    assert result.exit_code == 2 and named.exit_code == 2
    assert "is the input file" in result.output and "export_harmonised.csv" in result.output
    assert path.read_bytes() == before


def test_harmonize_refuses_an_unsupported_output_before_any_work(tmp_path, export, dictionary_file):
    _, map_path = export
    result = _run("harmonize", "-m", map_path, "-o", tmp_path / "x.xlsx")
    assert result.exit_code == 2
    assert "cannot write '.xlsx' files" in result.output and ".csv" in result.output
    assert "rows read" not in result.output


def test_harmonize_report_folder_is_created(tmp_path, export, dictionary_file):
    _, map_path = export
    result = _run("harmonize", "-m", map_path, "-o", tmp_path / "a.csv",
                  "--report", tmp_path / "new" / "r.json")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "new" / "r.json").is_file()


def test_harmonize_warns_when_a_column_loses_every_value(tmp_path, export, dictionary_file):
    # Setup: the dates are ISO but the mapping now says DD.MM.YYYY
    _, map_path = export
    text = map_path.read_text().replace("  diagnosis_date: diagnosis_date\n",
                                        "  diagnosis_date: {from: diagnosis_date, "
                                        "date_format: '%d.%m.%Y'}\n")
    assert "%d.%m.%Y" in text
    map_path.write_text(text)
    # Run
    lenient = _run("harmonize", "-m", map_path, "-o", tmp_path / "a.csv",
                   "--report", tmp_path / "r.json")
    strict = _run("harmonize", "-m", map_path, "-o", tmp_path / "b.csv", "--strict")
    # Assert
    assert lenient.exit_code == 0, lenient.output
    assert "warning: column diagnosis_date <- diagnosis_date: all 40 values dropped" in (
        lenient.output)
    assert 'date_format: "%Y-%m-%d"' in lenient.output
    import json

    assert json.loads((tmp_path / "r.json").read_text())["all_values_dropped"] == [
        "diagnosis_date"]
    assert strict.exit_code == 2


def test_harmonize_with_another_sites_mapping_says_so(tmp_path):
    # Setup: two sites' raw exports; site 1's mapping given for site 3's (UTF-8) file and for
    # site 2's latin-1 file
    made = _run("simulate", "--disease", "aml", "--sites", "3", "--patients", "90", "--seed", "4",
                "--raw", "--out", tmp_path / "c")
    assert made.exit_code == 0, made.output
    raw = tmp_path / "c" / "raw"
    mapping = raw / "site_01.mapping.yaml"
    exports = {p.stem: p for p in raw.iterdir() if not p.name.endswith(".mapping.yaml")}

    # Run
    other = _run("harmonize", "--dictionary", "aml", "--mapping", mapping, exports["site_03"],
                 "--out", tmp_path / "o.csv")
    latin = _run("harmonize", "--dictionary", "aml", "--mapping", mapping, exports["site_02"],
                 "--out", tmp_path / "o.csv")

    # Assert: the fix points at the mapping, never at an option harmonize does not have
    mapped = len(load_dictionary("aml").names) + 1  # the variables and the patient id
    assert other.exit_code == 2 and f"none of the {mapped} mapped source columns" in other.output
    assert "this is the mapping written for this file" in other.output
    assert "missing_columns: allow" not in other.output
    assert latin.exit_code == 2 and "not UTF-8" in latin.output
    assert "under 'read:'" in latin.output and "--encoding" not in latin.output
