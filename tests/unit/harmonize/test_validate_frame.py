"""validate_frame/validate_file: each kind of problem, at the right spreadsheet row, with a fix."""

from __future__ import annotations

import pandas as pd
import pytest

from synthema.errors import ValidationFailed
from synthema.harmonize.validate import validate_file, validate_frame
from synthema.tables import clean_text


def _text(clean, dictionary) -> pd.DataFrame:
    return clean_text(clean, dictionary).astype("string")


def _set(frame: pd.DataFrame, row: int, column: str, value: str | None) -> None:
    """Put ``value`` in spreadsheet ``row`` (header = row 1)."""
    frame.loc[frame.index[row - 2], column] = value


def test_clean_data_is_ok_and_typed(dictionary, clean):
    # Run
    report = validate_frame(_text(clean, dictionary), dictionary, file="site.csv")
    # Assert
    assert report.ok and report.problems == ()
    assert report.totals_line() == "site.csv: 40 rows, no problems"
    pd.testing.assert_frame_equal(report.data, clean)


def test_unknown_and_missing_columns_are_column_level(dictionary, clean):
    # Setup
    text = _text(clean, dictionary).rename(columns={"age": "Age"}).drop(columns=["risk"])
    text["comment"] = "x"
    # Run
    report = validate_frame(text, dictionary, file="f.csv")
    found = {(p.kind, p.column): p for p in report.problems}
    # Assert
    assert found[("unknown_column", "Age")].row is None
    assert found[("unknown_column", "Age")].fix == "rename it to 'age'"
    assert "mapping" in found[("unknown_column", "comment")].fix
    assert "required" in found[("missing_column", "age")].fix
    assert found[("missing_column", "risk")].fix == "add the column (empty cells are allowed)"
    assert report.data["risk"].isna().all() and str(report.data["risk"].dtype) == "string"


def test_cell_problems_have_the_right_rows_values_and_fixes(dictionary, clean):
    # Setup
    text = _text(clean, dictionary)
    _set(text, 2, "age", "17")           # range
    _set(text, 3, "hb", "abc")           # type
    _set(text, 4, "sex", "X")            # category
    _set(text, 5, "sex", None)           # required
    _set(text, 6, "risk", "High")        # category, case
    _set(text, 7, "diagnosis_date", "03.04.2015")  # type (not ISO)
    _set(text, 8, "npm1", "maybe")       # type
    _set(text, 9, "platelets", "2500")   # range
    # Run
    report = validate_frame(text, dictionary, file="f.csv")
    got = [(p.row, p.column, p.kind, p.value) for p in report.problems]
    # Assert
    assert got == [
        (2, "age", "range", "17"),
        (3, "hb", "type", "abc"),
        (4, "sex", "category", "X"),
        (5, "sex", "required", None),
        (6, "risk", "category", "High"),
        (7, "diagnosis_date", "type", "03.04.2015"),
        (8, "npm1", "type", "maybe"),
        (9, "platelets", "range", "2500"),
    ]
    by_row = {p.row: p for p in report.problems}
    assert by_row[2].message == "17 is below the minimum 18 years"
    assert "(allowed: F, M)" in by_row[4].message
    assert by_row[6].fix == "write 'high' (categories are case-sensitive)"
    assert "YYYY-MM-DD" in by_row[7].message and "date_format" in by_row[7].fix
    assert "above the maximum 2000 10^9/L" in by_row[9].message
    assert all(p.fix and "\n" not in p.message + p.fix for p in report.problems)
    assert report.data["age"].isna().iloc[0] and report.data["hb"].isna().iloc[1]


def test_ids_missing_and_repeated(dictionary, clean):
    # Setup
    text = _text(clean, dictionary)
    _set(text, 4, "patient_id", None)
    _set(text, 6, "patient_id", text["patient_id"].iloc[0])
    # Run
    report = validate_frame(text, dictionary)
    # Assert
    ids = [(p.row, p.kind) for p in report.problems]
    assert ids == [(4, "missing_id"), (6, "duplicate_id")]
    assert "already used in row 2" in report.problems[1].message


def test_rules_name_the_rule_and_show_values_on_parsed_cells_only(dictionary, clean):
    # Setup: row 3 breaks the rule; row 5's efs cell is unreadable so the rule is n/a there
    text = _text(clean, dictionary)
    _set(text, 3, "os_days", "100")
    _set(text, 3, "efs_days", "200")
    _set(text, 5, "os_days", "100")
    _set(text, 5, "efs_days", "2x00")
    # Run
    report = validate_frame(text, dictionary)
    # Assert
    rules = [p for p in report.problems if p.kind == "rule"]
    assert [(p.row, p.column) for p in rules] == [(3, "efs_before_os")]
    assert rules[0].message == ("rule 'efs_before_os' (efs_days <= os_days) does not hold: "
                                "efs_days=200, os_days=100")
    assert "EFS ends no later than OS" in rules[0].fix
    assert [(p.row, p.kind) for p in report.problems if p.row == 5] == [(5, "type")]


def test_counts_groups_and_totals(dictionary, clean):
    # Setup
    text = _text(clean, dictionary)
    for row in range(2, 9):
        _set(text, row, "hb", "?")
    _set(text, 10, "sex", "X")
    # Run
    report = validate_frame(text, dictionary, file="f.csv")
    groups = report.groups(max_rows=3)
    # Assert
    assert report.counts() == {("type", "hb"): 7, ("category", "sex"): 1}
    assert report.counts_by_kind() == {"type": 7, "category": 1}
    assert [(g.kind, g.column, g.count, g.rows) for g in groups] == [
        ("type", "hb", 7, (2, 3, 4)), ("category", "sex", 1, (10,))]
    assert report.totals_line() == "f.csv: 40 rows, 8 problems (7 type, 1 category)"
    assert len(report.to_frame()) == 8
    with pytest.raises(ValidationFailed, match="8 problems") as err:
        report.raise_for_problems()
    assert len(err.value.problems) == 8


def test_validate_file_rows_match_file_lines(tmp_path, dictionary, clean):
    # Setup: a semicolon file with decimal commas; line 4 holds a bad value
    text = _text(clean.head(5), dictionary)
    text["hb"] = text["hb"].str.replace(".", ",", regex=False)
    _set(text, 4, "blasts", "110")
    path = tmp_path / "site.csv"
    text.to_csv(path, sep=";", index=False)
    # Run (the decimal commas are declared, as a mapping's read: decimal would)
    report = validate_file(path, dictionary, delimiter=";", decimal=",")
    # Assert
    assert [(p.row, p.kind, p.column) for p in report.problems] == [(4, "range", "blasts")]
    assert path.read_text().splitlines()[3].split(";")[9] == "110"
    assert report.data["hb"].notna().sum() == clean.head(5)["hb"].notna().sum()


def test_numbers_with_a_comma_are_type_problems_with_a_specific_fix(dictionary, clean):
    # Setup: a decimal comma and a thousands separator in a clean file
    text = _text(clean, dictionary)
    _set(text, 2, "creatinine", "8,7")
    _set(text, 3, "platelets", "1,458")
    # Run
    report = validate_frame(text, dictionary)
    found = {p.row: p for p in report.problems}
    # Assert
    assert [(p.row, p.kind) for p in report.problems] == [(2, "type"), (3, "type")]
    assert found[2].message == ("'8,7' is not a plain number: use '.' as decimal point and "
                                "no thousands separator")
    assert "'87' or '8.7'" in found[2].fix and "read: decimal" in found[2].fix
    assert "'1458' or '1.458'" in found[3].fix


# -- a bad cell is reported once; category fixes are specific -----------------------------------
ELN = {
    "name": "eln", "version": 1, "patient_id": "pid",
    "variables": [
        {"name": "apl", "type": "boolean"},
        {"name": "eln2022", "type": "ordinal",
         "categories": ["favorable", "intermediate", "adverse"]},
        {"name": "age", "type": "integer", "min": 18, "max": 100},
    ],
    "rules": [{"name": "eln2022_present", "expr": "not apl => eln2022 is not missing"},
              {"name": "age_known", "expr": "age is not missing"}],
}


def test_a_bad_cell_is_not_reported_again_by_a_rule_reading_it():
    # Setup: row 2 misspells the category, row 3 has an unreadable age, row 4 has an age
    # out of range; row 5 really lacks its ELN risk
    from synthema.schema import Dictionary

    d = Dictionary.from_mapping(ELN)
    raw = pd.DataFrame({"pid": ["A", "B", "C", "D"], "apl": ["0", "0", "0", "0"],
                        "eln2022": ["favourable", "adverse", "adverse", None],
                        "age": ["60", "6x", "170", "50"]}, dtype="string")
    # Run
    report = validate_frame(raw, d, file="f.csv")
    got = [(p.row, p.kind, p.column) for p in report.problems]
    # Assert
    assert got == [(2, "category", "eln2022"), (3, "type", "age"), (4, "range", "age"),
                   (5, "rule", "eln2022_present")]
    first = report.problems[0]
    assert "did you mean 'favorable'?" in first.message
    assert first.fix.startswith("write 'favorable'")


def test_category_fix_is_specific_per_value(dictionary, clean):
    # Setup: a case slip and a value that is nothing like a category, in one column
    text = _text(clean, dictionary)
    _set(text, 2, "sex", "f")
    _set(text, 3, "sex", "X")
    # Run
    report = validate_frame(text, dictionary)
    by_row = {p.row: p for p in report.problems}
    (group,) = report.groups()
    # Assert
    assert by_row[2].fix == "write 'F' (categories are case-sensitive)"
    assert "write 'F'" not in by_row[3].fix and "F, M" in by_row[3].fix
    assert "did you mean" not in by_row[3].message
    assert group.fix.startswith("'f': write 'F'") and "'X': write one of F, M" in group.fix


def test_one_problem_is_singular(dictionary, clean):
    text = _text(clean.head(1), dictionary)
    _set(text, 2, "sex", "X")
    report = validate_frame(text, dictionary, file="f.csv")
    assert report.totals_line() == "f.csv: 1 row, 1 problem (1 category)"


def test_utf8_file_read_as_latin1_says_so_for_unknown_columns(tmp_path, dictionary, clean):
    # Setup: a UTF-8 file with an accented column name, read as latin-1
    text = _text(clean.head(3), dictionary)
    text["Hémoglobine"] = "8"
    path = tmp_path / "site.csv"
    text.to_csv(path, index=False, encoding="utf-8")
    # Run
    report = validate_file(path, dictionary, encoding="latin-1")
    # Assert
    (unknown,) = [p for p in report.problems if p.kind == "unknown_column"]
    assert unknown.column == "HÃ©moglobine"
    assert unknown.fix.startswith("the file looks like UTF-8: read it without --encoding")
