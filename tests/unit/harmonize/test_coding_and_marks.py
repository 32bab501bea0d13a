"""Codes and number marks that changed values silently (issue 27, review round 2, Q).

The shipped reference mapping codes SEX 0/1; a Spanish file coding it H/M (hombre/mujer)
had every woman's ``M`` read as male, uncounted, and an ISO/IEC 5218 file (0 not known,
2 female) had its 0s read as female with no word. ``1.480`` days (Spanish thousands) was
read as 1.48 and rounded to 1, counted only as "rounded". In a ``.`` file, ``1,250``
beside decimal commas was read as 1250 with no warning.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from synthema.errors import ValidationFailed
from synthema.harmonize import harmonize, harmonize_file
from synthema.harmonize.convert import (
    CODING_IN_DOUBT,
    GROUP_OR_DECIMAL,
    NOT_A_CODE,
    UNMAPPED_CODE,
)

EXAMPLE = Path(__file__).parent / "data" / "AML_DATA_ES.csv"
MAPPING = "synthema_aml_reference"


def _variant(tmp_path: Path, column: str, values: list[str]) -> Path:
    raw = pd.read_csv(EXAMPLE, sep=";", dtype=str, keep_default_na=False)
    raw[column] = values
    path = tmp_path / "variant.csv"
    raw.to_csv(path, sep=";", index=False)
    return path


def _col(result, target):
    return next(c for c in result.summary.columns if c.target == target)


def test_a_spanish_h_m_sex_column_loses_no_woman_to_male(tmp_path):
    # Setup: the example's 0/1 rewritten H (hombre) / M (mujer)
    raw = pd.read_csv(EXAMPLE, sep=";", dtype=str, keep_default_na=False)
    path = _variant(tmp_path, "SEX", raw["SEX"].map({"0": "M", "1": "H"}).tolist())
    # Run
    result = harmonize_file(path, MAPPING)
    sex = _col(result, "sex")
    # Assert: no M (mujer) carried as male; every cell counted
    assert result.data["sex"].isna().all()
    assert sex.dropped == {UNMAPPED_CODE: 5, CODING_IN_DOUBT: 4}
    assert sex.present == 9 and sex.carried == 0


def test_an_iso_5218_sex_column_is_flagged(tmp_path):
    # Setup: ISO/IEC 5218 (1 male, 2 female, 0 not known): women written 2, one 0
    raw = pd.read_csv(EXAMPLE, sep=";", dtype=str, keep_default_na=False)
    sex = raw["SEX"].map({"0": "2", "1": "1"}).tolist()
    sex[1] = "0"
    path = _variant(tmp_path, "SEX", sex)
    # Run
    result = harmonize_file(path, MAPPING)
    with pytest.raises(ValidationFailed):
        harmonize_file(path, MAPPING, strict=True)
    # Assert: the 0 read as F through the codes is named as in doubt
    warning = next(w for w in result.summary.warnings() if "column sex" in w)
    assert "values are not codes of the mapping (row 2: 2" in warning
    assert "the values read through its codes may be wrong too" in warning


def test_a_category_written_in_a_coded_column_is_counted(dictionary):
    # Setup: sex coded w/m, one cell written F directly
    raw = pd.DataFrame({"ID": ["A", "B", "C"], "Geschlecht": ["w", "m", "F"]}, dtype="string")
    m = {"dictionary": "example", "columns": {
        "patient_id": "ID", "sex": {"from": "Geschlecht", "codes": {"w": "F", "m": "M"}}}}
    # Run
    result = harmonize(raw, dictionary, m)
    # Assert
    assert result.data["sex"].tolist() == ["F", "M", "F"]
    assert _col(result, "sex").repaired == {NOT_A_CODE: 1}


def test_a_dot_before_three_digits_in_days_is_refused(tmp_path):
    # Setup: Spanish thousands in OS days and platelets, under the reference's '.'
    raw = pd.read_csv(EXAMPLE, sep=";", dtype=str, keep_default_na=False)
    os_days = raw["Overall survival"].tolist()
    os_days[5], os_days[8] = "1.480", "1.515"
    path = _variant(tmp_path, "Overall survival", os_days)
    # Run
    result = harmonize_file(path, MAPPING)
    col = _col(result, "os_days")
    # Assert: neither 1 nor 2 days, and neither guessed as 1480
    assert result.data["os_days"].iloc[[5, 8]].isna().all()
    assert col.dropped == {GROUP_OR_DECIMAL: 2}
    assert col.examples[GROUP_OR_DECIMAL] == ((7, "1.480"), (10, "1.515"))


@pytest.mark.parametrize(("decimal", "cells", "kept"), [
    (".", ["1.480", "12", "1.5"], [pd.NA, 12, 2]),
    (",", ["1,480", "12", "1,5"], [pd.NA, 12, 2]),
])
def test_whole_number_columns_refuse_a_mark_before_three_digits(dictionary, decimal, cells,
                                                                  kept):
    # Setup: os_days is a whole number; hb (1 decimal) is left alone
    raw = pd.DataFrame({"ID": ["A", "B", "C"], "OS": cells,
                        "Hb": ["12" + decimal + "345", "12", "9"]}, dtype="string")
    m = {"dictionary": "example", "read": {"decimal": decimal},
         "columns": {"patient_id": "ID", "os_days": "OS", "hb": "Hb"}}
    # Run
    result = harmonize(raw, dictionary, m)
    # Assert
    assert result.data["os_days"].tolist() == kept
    assert _col(result, "os_days").dropped == {GROUP_OR_DECIMAL: 1}
    assert result.data["hb"].tolist() == [12.3, 12, 9]  # not a whole number: read as written


def test_a_converted_fraction_is_not_refused(dictionary):
    # Setup: 11.992 months is a fraction of months, not thousands (days are converted)
    raw = pd.DataFrame({"ID": ["A"], "OS_MO": ["11.992"]}, dtype="string")
    m = {"dictionary": "example", "columns": {
        "patient_id": "ID", "os_days": {"from": "OS_MO", "unit": "months"}}}
    # Run
    result = harmonize(raw, dictionary, m)
    # Assert: 11.992 x 30.4375 = 365.0 days
    assert result.data["os_days"].tolist() == [365]
    assert _col(result, "os_days").dropped == {}


def test_dot_mode_mixed_marks_are_warned(dictionary):
    # Setup: a '.' file with decimal commas and a comma-grouped value in one column
    raw = pd.DataFrame({"ID": ["A", "B", "C", "D"],
                        "PLT": ["245,5", "312,25", "1,250", "87"]}, dtype="string")
    m = {"dictionary": "example", "columns": {"patient_id": "ID", "platelets": "PLT"}}
    # Run
    result = harmonize(raw, dictionary, m)
    # Assert: 1,250 is kept as 1250 but named as in doubt
    assert result.data["platelets"].tolist() == [pd.NA, pd.NA, 1250, 87]
    warning = next(w for w in result.summary.warnings() if "mixes decimal marks" in w)
    assert "1 values were read with thousands separators (row 4: 1,250)" in warning
    assert "other values use ',' as the decimal point" in warning
