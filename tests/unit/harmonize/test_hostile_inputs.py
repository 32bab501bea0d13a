"""Hostile cells (issue 27, items 1-8): nothing changes silently, file and frame agree.

Each test feeds cells a review found to be changed silently (a leading-zero number read
as thousands, an id with a dot, ``None`` as a category, swapped dates, halves rounded to
even, Excel date-times) and checks the harmonised value cell by cell, and that whatever is
not carried as written is counted.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from synthema.cli import app
from synthema.errors import ValidationFailed
from synthema.harmonize import harmonize, harmonize_file
from synthema.harmonize.mapping import dump_mapping
from synthema.harmonize.validate import validate_frame
from synthema.tables import normalize_decimal, read_table

OTHER_MARK = "'.' read as the decimal point (the file's mark is ',')"
DECIMAL_COMMA = "not a number (decimal comma? set read: decimal: ',')"


def _site(tmp_path, rows: dict[str, list[str]], columns: dict, *, read=None, name="site",
          extra=None):
    """A ';' export of ``rows`` and its mapping onto the example dictionary (file: set)."""
    data = tmp_path / f"{name}.csv"
    pd.DataFrame(rows, dtype="string").to_csv(data, sep=";", index=False)
    mapping = {"dictionary": "example.yaml", "file": data.name,
               "read": read or {"delimiter": ";", "decimal": ","}, "columns": columns}
    mapping |= extra or {}
    path = tmp_path / f"{name}.mapping.yaml"
    path.write_text(dump_mapping(mapping), encoding="utf-8")
    return path


def _col(result, target):
    return next(c for c in result.summary.columns if c.target == target)


# -- 1. a leading 0 group is a decimal, never thousands -----------------------------------------
def test_leading_zero_numbers_are_decimals_not_thousands(tmp_path, dictionary_file):
    # Setup: a German file (decimal ','): 1.500 groups thousands, 0.500 cannot
    rows = {"ID": ["A", "B", "C", "D"], "Krea": ["0.500", "0.050", "1.500", "0,25"]}
    path = _site(tmp_path, rows, {"patient_id": "ID", "creatinine": "Krea"})
    # Run
    result = harmonize_file(None, path)
    krea = _col(result, "creatinine")
    # Assert: 1.500 is 1500 (out of range, dropped and counted), 0.500 is a half
    assert result.data["creatinine"].tolist() == [0.5, 0.05, pd.NA, 0.25]
    assert krea.dropped == {"out of range": 1}
    assert krea.repaired == {OTHER_MARK: 2}
    assert krea.examples[OTHER_MARK] == ((2, "0.500"), (3, "0.050"))


def test_a_us_leading_zero_comma_is_dropped_not_read_as_thousands(tmp_path, dictionary_file):
    # Setup: decimal '.' (US): 0,500 is no thousands group; 1,500 is
    rows = {"ID": ["A", "B"], "WBC": ["0,500", "1,500"]}
    path = _site(tmp_path, rows, {"patient_id": "ID", "wbc": {"from": "WBC", "factor": 0.001}},
                 read={"delimiter": ";"})
    # Run
    result = harmonize_file(None, path)
    # Assert
    assert result.data["wbc"].tolist() == [pd.NA, 1.5]
    assert _col(result, "wbc").dropped == {DECIMAL_COMMA: 1}


def test_read_table_decimal_never_groups_after_a_leading_zero():
    cells = pd.Series(["0.500", "1.500", "0,5", "0 500", "1 500"], dtype="string")
    assert normalize_decimal(cells, ",").tolist() == ["0.500", "1500", "0.5", "0 500", "1500"]
    assert normalize_decimal(pd.Series(["0,500", "1,500"]), ".").tolist() == ["0,500", "1500"]


# -- 2. ids and codes are never touched by decimal rules ---------------------------------------
def test_ids_with_dots_are_kept_as_written(tmp_path, dictionary_file):
    # Setup: a decimal-comma file whose ids contain dots, and one that looks like their
    # thousands-less twin
    rows = {"Studien_ID": ["101.001", "101001", "7.5"], "Alter": ["61", "70", "45"],
            "Name": ["X", "Y", "Z"]}
    path = _site(tmp_path, rows, {"patient_id": "Studien_ID", "age": "Alter"},
                 extra={"drop": ["Name"]})
    # Run
    result = harmonize_file(None, path)
    # Assert
    assert result.data["patient_id"].tolist() == ["101.001", "101001", "7.5"]
    assert result.summary.duplicate_ids == ()


# -- 3. missing markers never swallow a category -----------------------------------------------
def _therapy_mapping(**extra):
    return {"dictionary": "scd", "columns": {"patient_id": "ID",
            "new_therapy": "Therapie", "hb": "Hb"}, **extra}


def test_none_is_a_category_not_a_missing_marker():
    # Setup: 'none' is an SCD new_therapy category; the site writes it None
    raw = pd.DataFrame({"ID": ["S1", "S2", "S3", "S4"],
                        "Therapie": ["None", "voxelotor", "None", "NA"],
                        "Hb": ["8.1", "None", "9.0", "7.7"]}, dtype="string")
    # Run
    result = harmonize(raw, "scd", _therapy_mapping(missing_values=["None"]))
    therapy, hb = _col(result, "new_therapy"), _col(result, "hb")
    # Assert: None is the category in new_therapy, missing in hb (the mapping says so)
    assert result.data["new_therapy"].tolist() == ["none", "voxelotor", "none", pd.NA]
    assert (therapy.present, therapy.carried) == (3, 3)
    assert therapy.repaired == {"upper/lower case": 2}
    assert therapy.kept_markers == ("None",)
    assert "read as values, not missing: 'None'" in therapy.line()
    (row,) = [r for r in result.summary.table_rows(details=False)
              if r["variable"] == "new_therapy"]  # the CLI's table shows it too
    assert row["repaired"] == "2 upper/lower case; read as values, not missing: 'None'"
    assert result.data["hb"].tolist() == [8.1, pd.NA, 9.0, 7.7]
    assert hb.present == 3 and hb.dropped == {}


def test_none_is_not_a_default_marker_and_defaults_can_be_switched_off():
    # Setup: without the mapping saying so, a None in a number column is counted
    raw = pd.DataFrame({"ID": ["S1", "S2"], "Therapie": ["none", "NA"],
                        "Hb": ["None", "NA"]}, dtype="string")
    # Run
    default = harmonize(raw, "scd", _therapy_mapping())
    off = harmonize(raw, "scd", _therapy_mapping(default_missing=False,
                                                  missing_values=["None"]))
    # Assert
    assert _col(default, "hb").dropped == {"not a number": 1}
    assert default.data["new_therapy"].tolist() == ["none", pd.NA]
    assert _col(off, "new_therapy").dropped == {"not a category": 1}  # NA is no marker now
    assert _col(off, "hb").dropped == {"not a number": 1}             # nor here


def test_validate_does_not_read_a_category_as_missing(tmp_path):
    # Setup: a clean SCD file where a category is written None (a case slip)
    raw = pd.DataFrame({"patient_id": ["S1"], "new_therapy": ["None"]}, dtype="string")
    # Run
    report = validate_frame(raw, "scd", file="scd.csv")
    # Assert
    found = [p for p in report.problems if p.column == "new_therapy"]
    assert [p.kind for p in found] == ["category"] and "write 'none'" in found[0].fix


# -- 4. a partly failing date format is flagged, its ambiguous values refused ------------------
def _us_dates(n: int, seed: int) -> list[dt.date]:
    rng = np.random.default_rng(seed)
    start = dt.date(2012, 1, 1)
    return [start + dt.timedelta(days=int(d)) for d in rng.integers(0, 3000, size=n)]


@pytest.mark.parametrize("seed", [0, 1])
def test_day_month_swaps_are_refused_when_the_format_is_in_doubt(tmp_path, dictionary_file,
                                                                 seed):
    # Setup: US dates (month/day) under a French mapping's day/month format
    dates = _us_dates(82, seed)
    rows = {"ID": [f"P{i}" for i in range(len(dates))],
            "DX": [d.strftime("%m/%d/%Y") for d in dates]}
    columns = {"patient_id": "ID",
               "diagnosis_date": {"from": "DX", "date_format": "%d/%m/%Y"}}
    path = _site(tmp_path, rows, columns)
    fails = sum(d.day > 12 for d in dates)
    both_ways = sum(d.day <= 12 and d.day != d.month for d in dates)
    same = sum(d.day == d.month for d in dates)
    # Run
    result = harmonize_file(None, path)
    col = _col(result, "diagnosis_date")
    # Assert: only dates that read the same both ways are carried, and they are right
    assert col.dropped == {"not a date (DD/MM/YYYY)": fails,
                           "day/month ambiguous, date format in doubt": both_ways}
    assert col.carried == same
    carried = result.data["diagnosis_date"].dropna().dt.date.tolist()
    assert carried == [d for d in dates if d.day == d.month]
    (note,) = col.notes
    assert f"{fails} of {len(dates)} dates are not DD/MM/YYYY but read as MM/DD/YYYY" in note
    assert "the format is likely wrong" in note and 'date_format: "%m/%d/%Y"' in note
    assert any(w.startswith("warning: column diagnosis_date <- DX:") for w in
               result.summary.warnings())


def test_a_confirmed_date_format_keeps_ambiguous_values(tmp_path, dictionary_file):
    # Setup: a French file with one US-style typo; the site confirms day/month
    rows = {"ID": ["A", "B", "C"], "DX": ["03/04/2015", "25/12/2019", "12/31/2020"]}
    columns = {"patient_id": "ID", "diagnosis_date": {
        "from": "DX", "date_format": "%d/%m/%Y", "confirm_date_format": True}}
    path = _site(tmp_path, rows, columns)
    # Run
    result = harmonize_file(None, path)
    col = _col(result, "diagnosis_date")
    # Assert
    assert result.data["diagnosis_date"].dt.strftime("%Y-%m-%d").tolist()[:2] == [
        "2015-04-03", "2019-12-25"]
    assert col.dropped == {"not a date (DD/MM/YYYY)": 1}
    assert "1 values read both ways were kept as DD/MM/YYYY" in col.notes[0]


def test_a_mixed_but_unambiguous_date_column_is_flagged_without_refusals(dictionary):
    # Setup: DD.MM.YYYY with one ISO date: no value reads both ways
    raw = pd.DataFrame({"ID": ["A", "B", "C"], "ED": ["03.04.2015", "2019-02-28", "01.12.2020"]},
                       dtype="string")
    m = {"dictionary": "example", "columns": {"patient_id": "ID", "diagnosis_date": {
        "from": "ED", "date_format": "%d.%m.%Y"}}}
    # Run
    col = _col(harmonize(raw, dictionary, m), "diagnosis_date")
    # Assert
    assert col.dropped == {"not a date (DD.MM.YYYY)": 1} and col.carried == 2
    assert "1 of 3 dates are not DD.MM.YYYY but read as YYYY-MM-DD" in col.notes[0]


# -- 5. half up; ages in completed years; ranges on the value as measured ----------------------
def test_halves_round_up_and_ages_count_completed_years(tmp_path, dictionary_file):
    # Setup: half days from a factor, ages with decimals, creatinine at 3 decimals
    rows = {"ID": ["A", "B", "C", "D"], "EFS": ["89", "91", "1", "3"],
            "Alter": ["44,5", "17,6", "18,9", "45,5"], "Krea": ["1,005", "2,675", "0,125", ""]}
    columns = {"patient_id": "ID", "efs_days": {"from": "EFS", "factor": 0.5},
               "age": "Alter", "creatinine": "Krea"}
    # Run
    result = harmonize_file(None, _site(tmp_path, rows, columns))
    age = _col(result, "age")
    # Assert
    assert result.data["efs_days"].tolist() == [45, 46, 1, 2]   # 44.5, 45.5, 0.5, 1.5
    assert result.data["age"].tolist() == [44, pd.NA, 18, 45]  # 17.6 is 17: under 18
    assert age.dropped == {"out of range": 1}
    assert age.examples["out of range"] == ((3, "17,6"),)
    assert age.repaired == {"cut to completed years (age)": 3}
    assert result.data["creatinine"].tolist() == [1.01, 2.68, 0.13, pd.NA]


def test_ranges_are_checked_before_rounding(dictionary):
    # Setup: hb max 20 g/dL with 1 decimal: 20.04 is above it, though it rounds to 20.0
    raw = pd.DataFrame({"ID": ["A", "B"], "Hb": ["20.04", "19.96"]}, dtype="string")
    m = {"dictionary": "example", "columns": {"patient_id": "ID", "hb": "Hb"}}
    # Run
    result = harmonize(raw, dictionary, m)
    # Assert
    assert result.data["hb"].tolist() == [pd.NA, 20.0]
    assert _col(result, "hb").dropped == {"out of range": 1}


# -- 6. report examples quote the file's cell ---------------------------------------------------
def test_examples_quote_the_cell_as_written(tmp_path, dictionary_file):
    # Setup: a German file; 1.500 mmol/L Hb is 1500 (out of range), a typo with a letter
    rows = {"ID": ["A", "B", "C"], "Hb": ["1.500", "5,59", "5,5x"]}
    path = _site(tmp_path, rows, {"patient_id": "ID", "hb": {"from": "Hb", "unit": "mmol/L"}})
    # Run
    hb = _col(harmonize_file(None, path), "hb")
    # Assert
    assert hb.examples == {"out of range": ((2, "1.500"),), "not a number": ((4, "5,5x"),)}
    assert "(row 2: 1.500)" in hb.line()


# -- 7. workbook and Parquet date-times ---------------------------------------------------------
def _dates_mapping(tmp_path, data_name):
    path = tmp_path / "m.yaml"
    path.write_text(dump_mapping({"dictionary": "example.yaml", "file": data_name, "columns": {
        "patient_id": "id", "diagnosis_date": "dx"}}), encoding="utf-8")
    return path


def test_excel_date_times_are_read_as_dates_and_counted(tmp_path, dictionary_file):
    # Setup: date cells with a time of day, one at midnight
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["id", "dx"])
    ws.append(["A", dt.datetime(2020, 3, 1, 9, 15)])
    ws.append(["B", dt.datetime(2021, 7, 2, 23, 59, 30)])
    ws.append(["C", dt.datetime(2022, 1, 5)])
    book.save(tmp_path / "x.xlsx")
    # Run
    result = harmonize_file(None, _dates_mapping(tmp_path, "x.xlsx"))
    col = _col(result, "diagnosis_date")
    # Assert
    assert result.data["diagnosis_date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2020-03-01", "2021-07-02", "2022-01-05"]
    assert col.dropped == {}
    assert col.repaired == {"date-time read as its date (time of day dropped)": 2}
    assert col.examples["date-time read as its date (time of day dropped)"][0] == (
        2, "2020-03-01 09:15:00")


def test_parquet_zoned_midnights_keep_their_local_date(tmp_path, dictionary_file):
    # Setup: midnight in Berlin is 23:00 UTC the day before
    frame = pd.DataFrame({"id": ["A", "B", "C"], "dx": pd.to_datetime(
        ["2020-03-01", "2020-07-15", "2021-12-31"]).tz_localize("Europe/Berlin")})
    frame.to_parquet(tmp_path / "x.parquet")
    # Run
    result = harmonize_file(None, _dates_mapping(tmp_path, "x.parquet"))
    col = _col(result, "diagnosis_date")
    # Assert
    assert result.data["diagnosis_date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2020-03-01", "2020-07-15", "2021-12-31"]
    assert col.repaired == {"date-time at midnight read as its date": 3}


def test_excel_date_serials_get_a_hint(tmp_path, dictionary_file):
    # Setup: a date column formatted General holds serial numbers
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["id", "dx"])
    ws.append(["A", 43891])
    ws.append(["B", 44000])
    book.save(tmp_path / "x.xlsx")
    # Run
    summary = harmonize_file(None, _dates_mapping(tmp_path, "x.xlsx")).summary
    # Assert
    (warning,) = summary.warnings()
    assert "Excel date serial numbers (43891 is 2020-03-01)" in warning
    assert "format the column as a date" in warning


# -- 8. one code path: a frame and its file give the same result -------------------------------
def test_frame_and_file_harmonise_identically(tmp_path, dictionary_file):
    # Setup: cells whose reading depended on the path
    rows = {"ID": ["101.001", "B", "C", "D"], "Krea": ["1.500", "0.500", "1,25", "0,1"],
            "WBC": ["1.500", "12,5", "0.5", "n.d."], "Hb": ["5,59", "1.234,5", "8.69", ""]}
    columns = {"patient_id": "ID", "creatinine": "Krea", "wbc": "WBC",
               "hb": {"from": "Hb", "unit": "mmol/L"}}
    path = _site(tmp_path, rows, columns, extra={"missing_values": ["n.d."]})
    frame = pd.DataFrame(rows, dtype="string")
    # Run
    from_file = harmonize_file(None, path)
    from_frame = harmonize(frame, dictionary_file, path)
    # Assert
    pd.testing.assert_frame_equal(from_file.data, from_frame.data)
    as_file, as_frame = from_file.summary.to_dict(), from_frame.summary.to_dict()
    for report in (as_file, as_frame):
        report.pop("file"), report.pop("read")
    assert as_file == as_frame
    assert from_file.data["creatinine"].tolist() == [pd.NA, 0.5, 1.25, 0.1]  # 1500: too high
    assert from_file.data["wbc"].tolist() == [pd.NA, 12.5, 0.5, pd.NA]
    assert from_file.data["patient_id"].tolist()[0] == "101.001"
    assert any("wbc <- WBC: the column mixes decimal marks: 1 values were read with "
               "thousands separators (row 2: 1.500)" in w for w in from_file.summary.warnings())


def test_workbook_numbers_ignore_a_decimal_comma(tmp_path, dictionary_file):
    # Setup: a German workbook: typed numbers are stored with a '.', text cells with ','
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["id", "krea"])
    ws.append(["A", 1.234])
    ws.append(["B", "1,5"])
    ws.append(["C", 2])
    book.save(tmp_path / "x.xlsx")
    path = tmp_path / "m.yaml"
    path.write_text(dump_mapping({"dictionary": "example.yaml", "file": "x.xlsx",
                                  "read": {"decimal": ","}, "columns": {
                                      "patient_id": "id", "creatinine": "krea"}}))
    # Run
    result = harmonize_file(None, path)
    # Assert
    assert result.data["creatinine"].tolist() == [1.23, 1.5, 2.0]
    assert read_table(tmp_path / "x.xlsx").attrs["typed_numbers"] == {"krea": "0,2"}
    assert _col(result, "creatinine").repaired == {"rounded to 2 decimals": 1}


# -- 9 (generic parts): conversions rounding to 0, tick marks, repeated rows --------------------
def test_a_conversion_rounding_to_zero_is_dropped_and_warned(tmp_path, dictionary_file):
    # Setup: platelets per µL written with a German thousands dot, read with decimal '.'
    rows = {"ID": ["A", "B"], "PLT": ["150.000", "23000"]}
    path = _site(tmp_path, rows, {"patient_id": "ID", "platelets": {"from": "PLT",
                                                                    "unit": "/µL"}},
                 read={"delimiter": ";"})
    # Run
    result = harmonize_file(None, path)
    plt = _col(result, "platelets")
    # Assert
    assert result.data["platelets"].tolist() == [pd.NA, 23.0]
    assert plt.dropped == {"non-zero value rounds to 0 after conversion (unit? decimal mark?)": 1}
    assert any("1 non-zero values round to 0 after the conversion (row 2: 150.000)" in w
               for w in result.summary.warnings())


def test_a_tick_mark_is_read_as_true_and_counted(dictionary):
    raw = pd.DataFrame({"ID": ["A", "B", "C"], "NPM1": ["x", "1", "0"]}, dtype="string")
    m = {"dictionary": "example", "columns": {"patient_id": "ID", "npm1": {
        "from": "NPM1", "codes": {"1": True, "0": False}}}}
    result = harmonize(raw, dictionary, m)
    assert result.data["npm1"].tolist() == [True, True, False]
    assert _col(result, "npm1").repaired == {"tick mark 'x' read as true": 1}


def test_strict_refuses_repeated_rows(tmp_path, dictionary_file):
    # Setup: row 4 repeats row 2 cell for cell
    rows = {"ID": ["A", "B", "A"], "Alter": ["61", "70", "61"]}
    path = _site(tmp_path, rows, {"patient_id": "ID", "age": "Alter"})
    # Run
    kept = harmonize_file(None, path)
    with pytest.raises(ValidationFailed) as err:
        harmonize_file(None, path, strict=True)
    cli = CliRunner().invoke(app, ["harmonize", "-m", str(path), "-o",
                                   str(tmp_path / "out.csv"), "--strict"])
    # Assert
    assert kept.summary.duplicate_rows == ((4, 2),)
    assert "rows repeating an earlier row in every harmonised value (kept): 1 (row 4 = row 2)" \
        in kept.summary.lines()
    assert "1 row repeats an earlier row in every harmonised value (row 4 = row 2)" in \
        err.value.message
    assert "remove the repeated rows" in err.value.fix
    assert "without --strict the repeated rows are kept and listed" in err.value.fix
    assert cli.exit_code == 2 and "repeats an earlier row" in cli.output
    assert not (tmp_path / "out.csv").exists()


def test_what_the_review_found_right_stays_right(dictionary):
    # scientific notation is read; '<0.1', '>500' and 'k.A.' are dropped and counted
    raw = pd.DataFrame({"ID": ["A", "B", "C", "D"], "WBC": ["1.5e1", "<0.1", ">500", "k.A."]},
                       dtype="string")
    m = {"dictionary": "example", "columns": {"patient_id": "ID", "wbc": "WBC"}}
    result = harmonize(raw, dictionary, m)
    assert result.data["wbc"].tolist() == [15.0, pd.NA, pd.NA, pd.NA]
    assert _col(result, "wbc").dropped == {"not a number": 3}
    assert _col(result, "wbc").examples["not a number"] == ((3, "<0.1"), (4, ">500"),
                                                            (5, "k.A."))
