"""read_table: every readable format comes out as text cells; every unreadable file says why."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pandas as pd
import pytest

from synthema.errors import DataFileError
from synthema.tables import DEFAULT_MISSING, normalize_decimal, read_table, write_table


def _write(tmp_path, name: str, text: str, encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


# -- delimited text ------------------------------------------------------------------------------
def test_comma_file_reads_as_text_with_missing_as_na(tmp_path):
    # Setup
    path = _write(tmp_path, "a.csv", "id,age,sex\nP1,61,F\nP2,NA, \n")
    # Run
    df = read_table(path)
    # Assert
    assert list(df.columns) == ["id", "age", "sex"]
    assert all(str(t) == "string" for t in df.dtypes)
    assert df["age"].tolist() == ["61", pd.NA]
    assert df["sex"].tolist() == ["F", pd.NA]
    assert df.attrs["delimiter"] == "," and df.attrs["encoding"] == "utf-8"


@pytest.mark.parametrize(("delim", "name"), [(";", "a.csv"), ("\t", "a.tsv"), ("|", "a.txt")])
def test_delimiter_is_detected_and_reported(tmp_path, delim, name):
    # Setup: decimal commas in a semicolon file must not fool the detection
    rows = ["id", "hb", "note"], ["P1", "8,7", "x"], ["P2", "9,1", "y"]
    path = _write(tmp_path, name, "\n".join(delim.join(r) for r in rows) + "\n")
    # Run
    df = read_table(path)
    # Assert
    assert df.attrs["delimiter"] == delim
    assert list(df.columns) == ["id", "hb", "note"]
    assert df["hb"].tolist() == ["8,7", "9,1"]


def test_explicit_delimiter_and_decimal_comma(tmp_path):
    # Setup
    path = _write(tmp_path, "a.csv", "id;hb;plt\nP1;8,7;1.500\nP2;n.d.;120\n")
    # Run
    df = read_table(path, delimiter="semicolon", decimal=",",
                    missing_values=DEFAULT_MISSING + ("n.d.",))
    # Assert
    assert df["hb"].tolist() == ["8.7", pd.NA]
    assert df["plt"].tolist() == ["1500", "120"]


def test_normalize_decimal_leaves_dates_and_text_alone():
    # Setup
    cells = pd.Series(["1,5", "01.02.2020", "1.234,5", "Müller, Anna", "1,234.5",
                       "150\u00a0000"], dtype="string")
    # Run
    comma = normalize_decimal(cells, ",").tolist()
    dot = normalize_decimal(cells, ".").tolist()
    # Assert
    assert comma == ["1.5", "01.02.2020", "1234.5", "Müller, Anna", "1,234.5", "150000"]
    assert dot[4] == "1234.5" and dot[0] == "1,5"


def test_utf8_bom_is_accepted(tmp_path):
    # Setup
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbfid,name\nP1,Jos\xc3\xa9\n")
    # Run
    df = read_table(path)
    # Assert
    assert list(df.columns) == ["id", "name"]
    assert df["name"].tolist() == ["José"]


def test_latin1_file_names_the_byte_and_line_and_reads_with_encoding(tmp_path):
    # Setup
    path = _write(tmp_path, "fr.csv", "id;nom\nP1;Martin\nP2;Lefèvre\n", encoding="latin-1")
    # Run
    with pytest.raises(DataFileError) as err:
        read_table(path)
    df = read_table(path, encoding="latin-1")
    # Assert
    assert "not UTF-8" in err.value.message
    assert "0xE8" in err.value.message and "line 3" in err.value.message
    assert "--encoding cp1252" in err.value.fix and "latin-1" in err.value.fix
    assert "UTF-8" in err.value.fix
    assert df["nom"].tolist() == ["Martin", "Lefèvre"]


def test_unknown_encoding_is_a_clear_error(tmp_path):
    path = _write(tmp_path, "a.csv", "a,b\n1,2\n")
    with pytest.raises(DataFileError, match="unknown encoding 'klingon'"):
        read_table(path, encoding="klingon")


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(DataFileError, match="file not found") as err:
        read_table(tmp_path / "nope.csv")
    assert err.value.fix
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(DataFileError, match="is a folder"):
        read_table(tmp_path / "dir.csv")


@pytest.mark.parametrize(("content", "match"), [
    (b"", "empty \\(0 bytes\\)"),
    (b"  \n\n\t\n", "no header and no data"),
])
def test_empty_files(tmp_path, content, match):
    path = tmp_path / "e.csv"
    path.write_bytes(content)
    with pytest.raises(DataFileError, match=match):
        read_table(path)


def test_ragged_row_gives_line_and_field_counts(tmp_path):
    # Setup: line 3 has an unquoted decimal comma, line 5 one field too many as well
    path = _write(tmp_path, "r.csv", "id,hb,sex\nP1,8.7,F\nP2,8,7,M\nP3,9.0,F\nP4,1,2,M\n")
    # Run
    with pytest.raises(DataFileError) as err:
        read_table(path)
    # Assert
    msg = err.value.message
    assert "line 3 has 4 fields, expected 3" in msg
    assert "comma ',' delimiter detected" in msg and "2 rows in all" in msg
    assert "quote" in err.value.fix and "\n" not in msg


def test_row_with_too_few_fields(tmp_path):
    path = _write(tmp_path, "r.csv", "id;hb;sex\nP1;8;F\nP2;9\n")
    with pytest.raises(DataFileError, match="line 3 has 2 fields, expected 3") as err:
        read_table(path)
    assert "missing cells" in err.value.fix


def test_trailing_empty_fields_and_blank_lines_are_not_data(tmp_path):
    # Setup: Excel-style trailing delimiters; a blank line inside keeps row numbering
    path = _write(tmp_path, "t.csv", "id;hb;\nP1;8;\n\nP3;9;;\n\n\n")
    # Run
    df = read_table(path)
    # Assert
    assert list(df.columns) == ["id", "hb"]
    assert df["id"].tolist() == ["P1", pd.NA, "P3"]


def test_quoted_cells_keep_delimiters(tmp_path):
    path = _write(tmp_path, "q.csv", 'id,name\nP1,"Smith, John"\n')
    assert read_table(path)["name"].tolist() == ["Smith, John"]


def test_duplicate_header_names_are_named_with_positions(tmp_path):
    path = _write(tmp_path, "d.csv", "id,hb,sex,hb\nP1,1,F,2\n")
    with pytest.raises(DataFileError) as err:
        read_table(path)
    assert "'hb' (columns 2, 4)" in err.value.message
    assert "own name" in err.value.fix


def test_blank_header_with_data_is_an_error(tmp_path):
    path = _write(tmp_path, "b.csv", "id,,sex\nP1,x,F\n")
    with pytest.raises(DataFileError, match=r"column 2 \(B\) has data but no name"):
        read_table(path)


@pytest.mark.parametrize("ext", [".xls", ".json", ".sav", ""])
def test_unsupported_extensions_list_the_formats_that_work(tmp_path, ext):
    path = tmp_path / f"data{ext}"
    path.write_text("x")
    with pytest.raises(DataFileError, match="cannot be read") as err:
        read_table(path)
    assert ".csv" in err.value.fix and ".xlsx" in err.value.fix and ".parquet" in err.value.fix


# -- Excel ---------------------------------------------------------------------------------------
def _workbook(path, rows, title="Export", extra_sheet=True):
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = title
    for row in rows:
        ws.append(row)
    if extra_sheet:
        book.create_sheet("Notes").append(["free text"])
    book.save(path)


def test_excel_cells_render_like_a_csv_export(tmp_path):
    # Setup
    path = tmp_path / "x.xlsx"
    _workbook(path, [
        ["id", "code", "hb", "date", "flag", "empty"],
        ["P1", 1.0, 8.7, dt.datetime(2020, 3, 1), True, None],
        ["P2", 2, 12.25, dt.date(2021, 12, 31), False, None],
    ])
    # Run
    df = read_table(path, sheet="Export")
    # Assert
    assert df["code"].tolist() == ["1", "2"]
    assert df["hb"].tolist() == ["8.7", "12.25"]
    assert df["date"].tolist() == ["2020-03-01", "2021-12-31"]
    assert df["flag"].tolist() == ["true", "false"]
    assert df["empty"].isna().all()


def test_excel_unknown_sheet_lists_the_sheets(tmp_path):
    path = tmp_path / "x.xlsx"
    _workbook(path, [["id"], ["P1"]])
    with pytest.raises(DataFileError, match=r"no sheet named 'Daten' \(sheets: Export, Notes\)"):
        read_table(path, sheet="Daten")


def test_corrupt_excel_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.xlsx"
    path.write_bytes(b"PK\x03\x04 this is not a workbook")
    with pytest.raises(DataFileError, match="not a readable .xlsx workbook") as err:
        read_table(path)
    assert "save it again" in err.value.fix


def test_excel_with_empty_first_row_asks_for_the_header(tmp_path):
    path = tmp_path / "x.xlsx"
    _workbook(path, [[None, None], ["id", "hb"], ["P1", 1]])
    with pytest.raises(DataFileError, match="header"):
        read_table(path)


# -- Parquet -------------------------------------------------------------------------------------
def test_parquet_values_render_as_text(tmp_path):
    # Setup
    path = tmp_path / "p.parquet"
    pd.DataFrame({
        "id": ["P1", "P2"],
        "n": pd.array([1, None], dtype="Int64"),
        "x": [2.0, float("nan")],
        "b": pd.array([True, None], dtype="boolean"),
        "d": pd.to_datetime(["2020-01-02", None]),
    }).to_parquet(path)
    # Run
    df = read_table(path)
    # Assert
    assert df["n"].tolist() == ["1", pd.NA]
    assert df["x"].tolist() == ["2", pd.NA]
    assert df["b"].tolist() == ["true", pd.NA]
    assert df["d"].tolist() == ["2020-01-02", pd.NA]


def test_corrupt_parquet_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"PAR1 not really")
    with pytest.raises(DataFileError, match="not a readable Parquet file"):
        read_table(path)


# -- writing -------------------------------------------------------------------------------------
def test_write_table_csv_and_parquet_round_trip(tmp_path, dictionary, clean):
    # Run
    csv_path = write_table(clean, tmp_path / "out" / "c.csv", dictionary=dictionary)
    pq_path = write_table(clean, tmp_path / "c.parquet")
    # Assert
    text = read_table(csv_path)
    assert text["platelets"].dropna().tolist() == [
        str(int(v)) for v in clean["platelets"].dropna()]
    assert text["npm1"].dropna().isin(["0", "1"]).all()
    pd.testing.assert_frame_equal(pd.read_parquet(pq_path), clean)


def test_write_table_refuses_unknown_extension(tmp_path, clean):
    with pytest.raises(DataFileError, match="cannot write '.json'"):
        write_table(clean, tmp_path / "c.json")


# -- Excel's sep= line, UTF-8 read as Latin-1, unwritable outputs -------------------------------
def test_excel_sep_line_sets_the_delimiter_and_is_skipped(tmp_path):
    # Setup: Excel's delimiter hint above the header; decimal commas would fool detection
    path = _write(tmp_path, "a.csv", "sep=;\r\nid;hb;plt\r\nP1;8,7;150\r\nP2;9,1;90\r\n")
    # Run
    df = read_table(path)
    # Assert
    assert list(df.columns) == ["id", "hb", "plt"]
    assert df["hb"].tolist() == ["8,7", "9,1"]
    assert df.attrs["delimiter"] == ";"


def test_sep_line_counts_in_the_line_numbers(tmp_path):
    path = _write(tmp_path, "a.csv", "sep=;\nid;hb;x\nP1;8;1\nP2;9\n")
    with pytest.raises(DataFileError, match="line 4 has 2 fields, expected 3"):
        read_table(path)


def test_utf8_file_read_as_latin1_is_flagged(tmp_path):
    # Setup
    path = _write(tmp_path, "a.csv", "id;Hémoglobine\nP1;8\n")
    ascii_path = _write(tmp_path, "b.csv", "id;hb\nP1;8\n")
    # Run
    wrong = read_table(path, encoding="latin-1")
    right = read_table(path)
    plain = read_table(ascii_path, encoding="latin-1")
    # Assert
    assert "HÃ©moglobine" in wrong.columns and wrong.attrs["looks_utf8"] is True
    assert "looks_utf8" not in right.attrs and "looks_utf8" not in plain.attrs


def test_write_table_turns_os_errors_into_a_message(tmp_path, clean):
    # Setup: the output's folder would have to be created inside a file
    (tmp_path / "file.txt").write_text("x")
    # Run / Assert
    with pytest.raises(DataFileError, match="cannot be written") as err:
        write_table(clean, tmp_path / "file.txt" / "out.csv")
    assert "folder" in err.value.fix
