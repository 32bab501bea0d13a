"""How a file was stored must not change values silently (issue 27, review round 2).

D3: workbook formulas written by a program that does not compute them have no saved value
and read as empty; D4: a Windows cp1252 file read as Latin-1 carries invisible C1 control
characters into ids and categories, and UTF-16 files got a fix that could not work. Also:
rows that repeat an earlier row once the mapping has dropped or normalised a column, and a
frame whose cells ``read_table(decimal=...)`` already rewrote.
"""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from synthema.cli import app
from synthema.errors import DataFileError, MappingError, ParameterError, ValidationFailed
from synthema.harmonize import harmonize, harmonize_file
from synthema.harmonize.mapping import dump_mapping
from synthema.harmonize.validate import validate_file
from synthema.tables import read_table

UNCACHED = "formula without a saved value"


def _mapping(tmp_path, file: str, columns: dict, read: dict | None = None) -> str:
    path = tmp_path / "m.yaml"
    mapping = {"dictionary": "example.yaml", "file": file, "columns": columns}
    if read:
        mapping["read"] = read
    path.write_text(dump_mapping(mapping), encoding="utf-8")
    return str(path)


def _col(result, target):
    return next(c for c in result.summary.columns if c.target == target)


def _formula_book(path, cached: bool) -> None:
    """A workbook whose hb cells of rows 3-4 are formulas (openpyxl saves no value)."""
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["id", "hb", "age"])
    ws.append(["A", 12.5, 40])
    ws.append(["B", "=10+2", 50])
    ws.append(["C", "=B2*1", 60])
    book.save(path)
    if cached:  # what writers that do not compute formulas store: a value of 0
        import re
        import zipfile
        src = path.with_suffix(".tmp.xlsx")
        path.rename(src)
        with zipfile.ZipFile(src) as zin, zipfile.ZipFile(path, "w") as zout:
            for item in zin.infolist():
                data = zin.read(item.filename)
                if item.filename.startswith("xl/worksheets/"):
                    data = re.sub(rb"(<f>[^<]*</f>)(<v\s*/>|<v></v>)?", rb"\1<v>0</v>", data)
                zout.writestr(item, data)


# -- D3: formulas without a saved value ----------------------------------------------------------
def test_formulas_without_a_saved_value_are_counted_dropped(tmp_path, dictionary_file):
    # Setup
    _formula_book(tmp_path / "x.xlsx", cached=False)
    mapping = _mapping(tmp_path, "x.xlsx", {"patient_id": "id", "hb": "hb", "age": "age"})
    # Run
    result = harmonize_file(None, mapping)
    with pytest.raises(ValidationFailed) as err:
        harmonize_file(None, mapping, strict=True)
    hb = _col(result, "hb")
    # Assert: present counts the formula cells, they are dropped with their reason
    assert result.data["hb"].tolist() == [12.5, pd.NA, pd.NA]
    assert (hb.present, hb.carried, hb.dropped) == (3, 1, {UNCACHED: 2})
    assert hb.examples[UNCACHED] == ((3, "formula, no value"), (4, "formula, no value"))
    (warning,) = result.summary.warnings()
    assert "2 formula cells have no saved value (row 3: formula, no value" in warning
    assert "save it (its formulas get their values)" in warning
    assert "2 formula without a saved value" in err.value.message
    assert "open the workbook in Excel or LibreOffice and save it" in err.value.fix


def test_formulas_saved_as_zero_are_warned(tmp_path, dictionary_file):
    # Setup
    _formula_book(tmp_path / "x.xlsx", cached=True)
    mapping = _mapping(tmp_path, "x.xlsx", {"patient_id": "id", "hb": "hb", "age": "age"})
    # Run
    result = harmonize_file(None, mapping)
    # Assert: 0 is out of hb's range here, but the warning names the formulas as the cause
    assert any("2 formula cells hold a saved value of 0 (row 3: 0, row 4: 0)" in w
               for w in result.summary.warnings())


def test_a_row_of_formulas_without_values_is_not_an_empty_row(tmp_path, dictionary_file):
    # Setup: row 3 holds only formulas
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["id", "hb"])
    ws.append(["A", 12.5])
    ws.append(["=\"B\"", "=10+2"])
    book.save(tmp_path / "x.xlsx")
    mapping = _mapping(tmp_path, "x.xlsx", {"patient_id": "id", "hb": "hb"})
    # Run
    result = harmonize_file(None, mapping)
    report = validate_file(tmp_path / "x.xlsx", dictionary_file)
    # Assert
    assert result.summary.empty_rows == ()
    assert _col(result, "patient_id").dropped == {UNCACHED: 1}
    assert result.summary.rows_out == 2
    assert any(p.row == 3 and "formula without a saved value" in p.message
               for p in report.problems)


def test_read_table_flags_formula_cells(tmp_path):
    # Setup
    _formula_book(tmp_path / "x.xlsx", cached=False)
    # Run
    frame = read_table(tmp_path / "x.xlsx")
    # Assert
    assert frame.attrs["formula_uncached"] == {"hb": "1-2"}
    assert frame["hb"].isna().tolist() == [False, True, True]


# -- D4: encodings -------------------------------------------------------------------------------
def _cp1252_site(tmp_path, encoding: str | None) -> str:
    text = "id;risk;hb\nAML–01;low;12,5\nAML-02;high’;11\nAML-03;low;10\n"
    (tmp_path / "s.csv").write_bytes(text.encode("cp1252"))
    read = {"delimiter": ";", "decimal": ","} | ({"encoding": encoding} if encoding else {})
    return _mapping(tmp_path, "s.csv", {"patient_id": "id", "risk": "risk", "hb": "hb"}, read)


def test_cp1252_read_as_latin1_is_warned_and_refused_under_strict(tmp_path, dictionary_file):
    # Setup
    mapping = _cp1252_site(tmp_path, "latin-1")
    # Run
    result = harmonize_file(None, mapping)
    with pytest.raises(ValidationFailed) as err:
        harmonize_file(None, mapping, strict=True)
    # Assert: the id with its invisible control character is named, row and file column
    assert result.data["patient_id"].tolist()[0] == "AML\x9601"
    assert result.summary.control_cells == ((2, "id", "AML\\x9601"),
                                            (3, "risk", "high\\x92"))
    warning = next(w for w in result.summary.warnings() if "control characters" in w)
    assert "row 2 id: 'AML\\x9601'" in warning
    assert "set encoding: cp1252 under 'read:'" in warning
    assert "2 cells hold control characters 0x80-0x9F" in err.value.message
    assert "set encoding: cp1252 under 'read:'" in err.value.fix
    assert result.summary.to_dict()["control_characters"][0] == {
        "row": 2, "column": "id", "cell": "AML\\x9601"}


def test_cp1252_read_as_cp1252_keeps_the_dash(tmp_path, dictionary_file):
    # Run
    result = harmonize_file(None, _cp1252_site(tmp_path, "cp1252"))
    # Assert
    assert result.data["patient_id"].tolist()[0] == "AML–01"
    assert result.summary.control_cells == ()


def test_an_undeclared_cp1252_file_names_cp1252_first(tmp_path, dictionary_file):
    # Run
    with pytest.raises(DataFileError) as err:
        harmonize_file(None, _cp1252_site(tmp_path, None))
    # Assert
    assert "not UTF-8 text: byte 0x96" in err.value.message
    assert err.value.fix.startswith("set encoding: cp1252 under 'read:' in ")


def test_validate_names_control_characters(tmp_path, dictionary_file):
    # Setup
    (tmp_path / "v.csv").write_bytes("patient_id;age\nP–1;40\n".encode("cp1252"))
    # Run
    report = validate_file(tmp_path / "v.csv", dictionary_file, delimiter=";",
                           encoding="latin-1")
    # Assert
    (problem,) = [p for p in report.problems if "control character" in p.message]
    assert (problem.row, problem.column) == (2, "patient_id")
    assert "--encoding cp1252" in problem.fix


def test_utf16_with_a_byte_order_mark_is_detected(tmp_path):
    # Setup: Excel's "Unicode Text"
    (tmp_path / "u.txt").write_bytes("id\tHämoglobin\nA\t12\n".encode("utf-16"))
    # Run
    frame = read_table(tmp_path / "u.txt")
    # Assert
    assert list(frame.columns) == ["id", "Hämoglobin"]
    assert frame.attrs["encoding"] == "utf-16"


@pytest.mark.parametrize(("data", "encoding", "fix"), [
    ("id;hb\nA;1\n".encode("utf-16"), "latin-1", "remove the --encoding option"),
    ("id;hb\nA;1\n".encode("utf-16-le"), None, "pass --encoding utf-16-le"),
    ("id;hb\nA;1\n".encode("utf-16-be"), "utf-8", "pass --encoding utf-16-be"),
], ids=["bom-as-latin-1", "le-undeclared", "be-as-utf-8"])
def test_utf16_read_as_something_else_gets_a_fix_that_works(tmp_path, data, encoding, fix):
    # Setup
    (tmp_path / "u.csv").write_bytes(data)
    # Run
    with pytest.raises(DataFileError) as err:
        read_table(tmp_path / "u.csv", encoding=encoding)
    # Assert: the fix, followed, reads the file
    assert "UTF-16" in err.value.message
    assert err.value.fix.startswith(fix)
    fixed = None if fix.startswith("remove") else fix.split()[2]
    assert read_table(tmp_path / "u.csv", encoding=fixed)["hb"].tolist() == ["1"]


def test_the_mapping_fix_for_utf16_names_the_read_section(tmp_path, dictionary_file):
    # Setup
    (tmp_path / "s.csv").write_bytes("id;hb\nA;12\n".encode("utf-16"))
    mapping = _mapping(tmp_path, "s.csv", {"patient_id": "id", "hb": "hb"},
                       {"delimiter": ";", "encoding": "latin-1"})
    # Run
    with pytest.raises(DataFileError) as err:
        harmonize_file(None, mapping)
    # Assert
    assert err.value.fix.startswith("remove encoding from 'read:' in ")


# -- duplicates after harmonisation --------------------------------------------------------------
def test_strict_refuses_rows_equal_once_a_dropped_column_is_gone(tmp_path, dictionary_file):
    # Setup: row 4 repeats row 2 except for the name's case (a column the mapping drops)
    # and how the age is written
    pd.DataFrame({"ID": ["A", "B", "A"], "Name": ["Martin", "Roux", "MARTIN"],
                  "Alter": ["61", "70", "61.0"]}).to_csv(tmp_path / "s.csv", sep=";",
                                                         index=False)
    path = tmp_path / "m.yaml"
    path.write_text(dump_mapping({
        "dictionary": "example.yaml", "file": "s.csv", "read": {"delimiter": ";"},
        "columns": {"patient_id": "ID", "age": "Alter"}, "drop": ["Name"]}), encoding="utf-8")
    # Run
    kept = harmonize_file(None, path)
    with pytest.raises(ValidationFailed) as err:
        harmonize_file(None, path, strict=True)
    # Assert
    assert kept.summary.duplicate_rows == ((4, 2),)
    assert "1 row repeats an earlier row in every harmonised value (row 4 = row 2)" in \
        err.value.message


# -- a frame read_table(decimal=) already rewrote -------------------------------------------------
def test_a_frame_read_with_a_decimal_is_refused(tmp_path, dictionary_file):
    # Setup: read_table(decimal=',') rewrites ids too (101.001 -> 101001)
    pd.DataFrame({"ID": ["101.001"], "Krea": ["0,5"]}).to_csv(tmp_path / "s.csv", sep=";",
                                                              index=False)
    mapping = _mapping(tmp_path, "s.csv", {"patient_id": "ID", "creatinine": "Krea"},
                       {"delimiter": ";", "decimal": ","})
    frame = read_table(tmp_path / "s.csv", delimiter=";", decimal=",")
    # Run
    with pytest.raises(ParameterError) as err:
        harmonize(frame, dictionary_file, mapping)
    plain = harmonize(read_table(tmp_path / "s.csv", delimiter=";"), dictionary_file, mapping)
    # Assert
    assert frame["ID"].tolist() == ["101001"]
    assert "read_table(decimal=',')" in err.value.message
    assert "read it without decimal=" in err.value.fix
    assert plain.data["patient_id"].tolist() == ["101.001"]


def test_cli_validate_reports_uncomputed_formulas(tmp_path, dictionary_file):
    # Setup
    _formula_book(tmp_path / "x.xlsx", cached=False)
    book = openpyxl.load_workbook(tmp_path / "x.xlsx")
    book.active["A1"] = "patient_id"
    book.save(tmp_path / "x.xlsx")
    # Run
    result = CliRunner().invoke(app, ["validate", "-d", dictionary_file,
                                      str(tmp_path / "x.xlsx")])
    # Assert
    assert "formula without a saved value" in result.output


def test_a_tab_file_read_with_a_semicolon_names_the_delimiter(tmp_path, dictionary_file):
    # Setup: Excel's "Unicode Text" (UTF-16, tab-separated) under a ';' mapping
    (tmp_path / "s.txt").write_bytes("id\thb\nA\t12\n".encode("utf-16"))
    mapping = _mapping(tmp_path, "s.txt", {"patient_id": "id", "hb": "hb"}, {"delimiter": ";"})
    # Run
    with pytest.raises(MappingError) as err:
        harmonize_file(None, mapping)
    # Assert: the fix names the delimiter, not the from: names
    assert "one column whose header holds tab characters" in err.value.message
    assert err.value.fix.startswith("set delimiter: tab under 'read:'")


# -- Excel percentages and dates stored in UTC ---------------------------------------------------
def _percent_book(path, unit: str | None) -> str:
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["id", "blasts"])
    for i, value in enumerate((0.15, 0.005, 0.9)):
        ws.append([f"P{i}", value])
        ws.cell(row=i + 2, column=2).number_format = "0%"
    book.save(path)
    column = {"from": "blasts"} | ({"unit": unit} if unit else {})
    return _mapping(path.parent, path.name, {"patient_id": "id", "blasts": column})


def test_percentage_cells_are_read_as_shown(tmp_path, dictionary_file):
    # Setup: Excel stores 15% as 0.15; the mapping converts no unit (blasts are in %)
    mapping = _percent_book(tmp_path / "p.xlsx", None)
    # Run
    result = harmonize_file(None, mapping)
    col = _col(result, "blasts")
    # Assert: not 0, 0 and 1 (0.15 % rounded)
    assert result.data["blasts"].tolist() == [15, 1, 90]
    assert col.repaired == {"percentage cell read as shown (Excel stores 15% as 0.15)": 3,
                            "rounded to 0 decimals": 1}  # 0.5 % shown as 1%


def test_percentage_cells_under_unit_fraction_are_not_scaled_twice(tmp_path, dictionary_file):
    # Run
    result = harmonize_file(None, _percent_book(tmp_path / "p.xlsx", "fraction"))
    # Assert
    assert result.data["blasts"].tolist() == [15, 1, 90]
    assert _col(result, "blasts").repaired == {}


def test_midnights_stored_in_utc_are_not_read_a_day_early(tmp_path, dictionary_file):
    # Setup: Berlin midnights written in UTC (23:00 in winter, 22:00 in summer), and
    # New York evening times with their own zone (their local date is right)
    local = pd.to_datetime(["2020-01-10", "2020-07-15", "2021-12-31"]).tz_localize(
        "Europe/Berlin")
    pd.DataFrame({"id": ["A", "B", "C"], "dx": local.tz_convert("UTC")}).to_parquet(
        tmp_path / "utc.parquet")
    ny = pd.to_datetime(["2020-01-10 23:30", "2020-07-15 23:30", "2021-12-31 23:30"])
    pd.DataFrame({"id": ["A", "B", "C"], "dx": ny.tz_localize("America/New_York")}).to_parquet(
        tmp_path / "ny.parquet")
    # Run
    utc = harmonize_file(None, _mapping(tmp_path, "utc.parquet",
                                        {"patient_id": "id", "diagnosis_date": "dx"}))
    zoned = harmonize_file(None, _mapping(tmp_path, "ny.parquet",
                                          {"patient_id": "id", "diagnosis_date": "dx"}))
    # Assert: never 2020-01-09 / 2020-07-14 / 2021-12-30; the zoned ones keep their date
    assert utc.data["diagnosis_date"].isna().all()
    assert _col(utc, "diagnosis_date").dropped == {
        "evening date-time at one clock time (a local midnight stored in UTC? the date may "
        "be a day early)": 3}
    assert "export the dates as dates" in utc.summary.warnings()[0]
    assert zoned.data["diagnosis_date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2020-01-10", "2020-07-15", "2021-12-31"]


def test_real_times_of_day_are_still_read_as_their_date(tmp_path, dictionary_file):
    # Setup: evening times that vary are times, not shifted midnights
    times = pd.to_datetime(["2020-01-10 21:15", "2020-07-15 23:00", "2021-12-31 19:40"])
    pd.DataFrame({"id": ["A", "B", "C"], "dx": times}).to_parquet(tmp_path / "t.parquet")
    # Run
    result = harmonize_file(None, _mapping(tmp_path, "t.parquet",
                                           {"patient_id": "id", "diagnosis_date": "dx"}))
    # Assert
    assert result.data["diagnosis_date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2020-01-10", "2020-07-15", "2021-12-31"]


# -- fixes that name the real cause (attack_errors.py) -------------------------------------------
def test_a_folder_given_as_the_export_is_called_a_folder(tmp_path):
    # Run
    with pytest.raises(DataFileError) as err:
        read_table(tmp_path)
    # Assert: not "'no extension' files cannot be read"
    assert err.value.message.endswith("is a folder, not a file")
    assert "name the export file inside it" in err.value.fix


def test_the_export_given_as_the_mapping_is_called_a_data_file(tmp_path):
    # Setup
    (tmp_path / "site.csv").write_text("id;hb\nA;1\n", encoding="utf-8")
    # Run
    result = CliRunner().invoke(app, ["harmonize", "--mapping", str(tmp_path / "site.csv"),
                                      "--out", str(tmp_path / "o.csv")])
    # Assert: not "start with 'dictionary:' and 'columns:'"
    assert result.exit_code == 2
    assert "is a data file (.csv), not a mapping" in result.output
    assert "pass the mapping's YAML file with --mapping" in result.output


def test_an_unclosed_quote_is_named_first(tmp_path):
    # Setup: a quote opened in line 3 swallows the rest of the file
    (tmp_path / "q.csv").write_text('id;hb;age\nA;1;40\nB;"2;50\nC;3;60\nD;4;70\n',
                                    encoding="utf-8")
    # Run
    with pytest.raises(DataFileError) as err:
        read_table(tmp_path / "q.csv")
    # Assert
    assert "the row on lines 3-5" in err.value.message
    assert err.value.fix.startswith("close the quote opened in line 3")


def test_excel_error_values_are_dropped_and_counted(tmp_path, dictionary_file):
    # Setup: a broken reference in the id column, #DIV/0! in a number (written as Excel
    # saves them: cells of type 'e')
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["id", "hb"])
    ws.append(["A", 12.5])
    ws.append(["#REF!", 11.0])
    ws.append(["C", "#DIV/0!"])
    for cell in (ws["A3"], ws["B4"]):
        cell.data_type = "e"
    book.save(tmp_path / "x.xlsx")
    # Run
    result = harmonize_file(None, _mapping(tmp_path, "x.xlsx", {"patient_id": "id",
                                                                "hb": "hb"}))
    # Assert: '#REF!' is no patient id
    error = "Excel error value (#REF!, #VALUE!, ...)"
    assert result.data["patient_id"].tolist() == ["A", pd.NA, "C"]
    assert _col(result, "patient_id").dropped == {error: 1}
    assert _col(result, "hb").dropped == {error: 1}
    assert _col(result, "hb").examples[error] == ((4, "#DIV/0!"),)
    assert result.summary.missing_ids == (3,)


def test_a_factor_that_is_no_number_is_named_before_unit_and_factor(dictionary):
    # Setup: a column with a unit gets a factor written as text
    raw = pd.DataFrame({"ID": ["A"], "WBC": ["5"]}, dtype="string")
    m = {"dictionary": "example", "columns": {
        "patient_id": "ID", "wbc": {"from": "WBC", "unit": "G/L", "factor": "abc"}}}
    # Run
    with pytest.raises(MappingError) as err:
        harmonize(raw, dictionary, m)
    # Assert: not "gives both unit and factor"
    assert "factor is 'abc'" in err.value.message
    assert err.value.fix == "write a positive number, e.g. factor: 0.001"
