"""harmonize(): conversions are exact, and every value that does not make it is counted."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from synthema.errors import MappingError, ValidationFailed
from synthema.harmonize import harmonize, harmonize_file
from synthema.harmonize.convert import parse_number
from synthema.harmonize.mapping import SiteMapping

MAPPING = {
    "dictionary": "example",
    "source": "Site 2 export",
    "read": {"delimiter": ";", "decimal": ","},
    "missing_values": ["n.d."],
    "drop": ["Name", "PLZ"],
    "columns": {
        "patient_id": {"from": "Studien_ID"},
        "age": {"from": "Alter"},
        "sex": {"from": "Geschlecht", "codes": {"1": "M", "2": "F", "9": None}},
        "diagnosis_date": {"from": "ED", "date_format": "%d.%m.%Y"},
        "risk": {"from": "Risiko", "codes": {"niedrig": "low", "hoch": "high"}},
        "hb": {"from": "Hb_mmol", "unit": "mmol/L"},
        "wbc": {"from": "Leukos", "factor": 0.001},
        "platelets": {"from": "Thrombos", "unit": "/µL"},
        "npm1": {"from": "Mut_NPM1", "codes": {"ja": True, "nein": False}},
        "os_days": {"from": "OS_Monate", "unit": "months"},
        "os_status": {"from": "Tod"},
        "efs_days": {"from": "EFS_Tage"},
    },
}


def _raw(**changes: list[str | None]) -> pd.DataFrame:
    base = {
        "Name": ["Müller, Anna", "Weber, Uwe", "Koch, Eva"],
        "PLZ": ["10115", "80331", "50667"],
        "Studien_ID": ["S1", "S2", "S3"],
        "Alter": ["61", "70", "45"],
        "Geschlecht": ["2", "1", "2"],
        "ED": ["03.04.2015", "28.02.2019", "01.12.2020"],
        "Risiko": ["niedrig", "intermediate", "hoch"],
        "Hb_mmol": ["5,59", "n.d.", "8.69"],
        "Leukos": ["4500", "12000", "800"],
        "Thrombos": ["150000", "23000", ""],
        "Mut_NPM1": ["ja", "nein", "n.d."],
        "OS_Monate": ["12,5", "3", "24"],
        "Tod": ["1", "0", "0"],
        "EFS_Tage": ["100", "30", "700"],
        "Station": ["H1", "H2", "H1"],
    }
    base.update(changes)
    return pd.DataFrame(base, dtype="string")


def test_german_export_converts_exactly(dictionary):
    # Run
    result = harmonize(_raw(), dictionary, MAPPING, file="site2.csv")
    data, summary = result.data, result.summary
    # Assert
    assert list(data.columns) == list(dictionary.columns)
    assert data["patient_id"].tolist() == ["S1", "S2", "S3"]
    assert data["sex"].tolist() == ["F", "M", "F"]
    assert data["diagnosis_date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2015-04-03", "2019-02-28", "2020-12-01"]
    assert data["risk"].tolist() == ["low", "intermediate", "high"]  # valid categories pass
    assert data["hb"].tolist() == [9.0, pd.NA, 14.0]                # 5.59 x 1.6114 = 9.008
    assert data["wbc"].tolist() == [4.5, 12.0, 0.8]
    assert data["platelets"].tolist() == [150.0, 23.0, pd.NA]
    assert data["npm1"].tolist() == [True, False, pd.NA]
    assert data["os_days"].tolist() == [380, 91, 731]  # 12.5 x 30.4375 = 380.47; 730.5 half up
    assert str(data["os_days"].dtype) == "Int64" and str(data["hb"].dtype) == "Float64"
    assert data["blasts"].isna().all() and data["creatinine"].isna().all()
    assert summary.dropped_total == 0
    assert summary.missing_variables == ("creatinine", "blasts")
    assert summary.ignored_columns == ("Station",)
    assert summary.dropped_columns == ("Name", "PLZ")
    assert "Station" not in data and "Name" not in data
    hb = next(c for c in summary.columns if c.target == "hb")
    assert hb.conversion == "mmol/L -> g/dL (x 1.6114)" and (hb.present, hb.carried) == (2, 2)


def test_every_dropped_value_is_counted_with_example_rows(dictionary):
    # Setup
    raw = _raw(
        Hb_mmol=["5,59", "abc", "30"],            # not a number; out of range after conversion
        Geschlecht=["2", "3", "9"],               # unmapped code; 9 = declared missing
        Risiko=["niedrig", "mittel", "hoch"],     # unmapped code
        ED=["03.04.2015", "2019-02-28", "31.02.2020"],  # two bad dates
        Mut_NPM1=["ja", "vielleicht", "nein"],
        Alter=["61", "17", "45"],                 # out of range
    )
    # Run
    result = harmonize(raw, dictionary, MAPPING)
    dropped = result.summary.dropped_by_column
    # Assert
    assert dropped == {
        "age": {"out of range": 1},
        "sex": {"unmapped code": 1},
        "diagnosis_date": {"not a date (DD.MM.YYYY)": 2},
        "risk": {"unmapped code": 1},
        "hb": {"not a number": 1, "out of range": 1},
        "npm1": {"unmapped code": 1},
    }
    assert result.summary.dropped_total == 8
    cols = {c.target: c for c in result.summary.columns}
    assert cols["hb"].examples["not a number"] == ((3, "abc"),)
    assert cols["hb"].examples["out of range"] == ((4, "30"),)
    assert cols["sex"].declared_missing == 1 and cols["sex"].present == 2
    assert result.data["hb"].tolist() == [9.0, pd.NA, pd.NA]
    assert result.data["sex"].tolist() == ["F", pd.NA, pd.NA]
    # every source value is either carried or dropped
    for c in result.summary.columns:
        assert c.carried + c.dropped_total == c.present


def test_repairs_are_counted_not_hidden(dictionary):
    # Setup: 'Low' is a category up to case; 61,6 years is not a whole number (an age: it
    # is counted in completed years, 61)
    raw = _raw(Risiko=["Low", "intermediate", "hoch"], Alter=["61,6", "70", "45"])
    # Run
    result = harmonize(raw, dictionary, MAPPING)
    cols = {c.target: c for c in result.summary.columns}
    # Assert
    assert result.data["risk"].tolist() == ["low", "intermediate", "high"]
    # 'Low' is how the codes write niedrig: counted (intermediate has no code: passes)
    assert cols["risk"].repaired == {"upper/lower case": 1,
                                     "not a code, read as the category itself": 1}
    assert cols["age"].repaired == {"cut to completed years (age)": 1}
    assert result.data["age"].tolist() == [61, 70, 45]
    assert result.summary.dropped_total == 0


def test_rule_violations_are_kept_and_counted(dictionary):
    raw = _raw(EFS_Tage=["500", "30", "700"])  # 500 days EFS > 380 days OS in row 2
    result = harmonize(raw, dictionary, MAPPING)
    assert result.summary.rule_violations == {"efs_before_os": (2,)}
    assert result.data["efs_days"].tolist() == [500, 30, 700]
    assert any("rule efs_before_os violated in 1 row (kept)" in line
               for line in result.summary.lines())


def test_empty_rows_and_id_problems(dictionary):
    # Setup: row 3 has no mapped value at all (only a name); row 4 repeats S1, row 5 lacks an id
    raw = pd.concat([_raw(), _raw().iloc[:2]], ignore_index=True)
    mapped = [c["from"] for c in MAPPING["columns"].values()]
    raw.loc[1, mapped] = pd.NA
    raw.loc[4, "Studien_ID"] = pd.NA
    # Run
    result = harmonize(raw, dictionary, MAPPING)
    s = result.summary
    # Assert
    assert (s.rows_in, s.rows_out) == (5, 4)
    assert s.empty_rows == (3,)
    assert s.duplicate_ids == ((5, "S1"),)
    assert s.missing_ids == (6,)
    assert result.data["patient_id"].tolist() == ["S1", "S3", "S1", pd.NA]


def test_absent_source_columns_are_a_mapping_error(dictionary):
    # Setup: a mapped column renamed; a drop: column absent (nothing to drop: no error)
    raw = _raw().rename(columns={"Hb_mmol": "hb_mmol"}).drop(columns=["PLZ"])
    # Run
    with pytest.raises(MappingError) as err:
        harmonize(raw, dictionary, MAPPING, file="site2.csv")
    # Assert
    assert "1 source column not in site2.csv" in err.value.message
    assert "'Hb_mmol' (did you mean 'hb_mmol'?)" in err.value.message
    assert "PLZ" not in err.value.message
    assert "header" in err.value.fix and "missing_columns: allow" in err.value.fix


def test_absent_drop_columns_are_never_an_error(dictionary):
    # Run
    result = harmonize(_raw().drop(columns=["PLZ"]), dictionary, MAPPING)
    # Assert: only the dropped columns really in the file are listed
    assert result.summary.dropped_columns == ("Name",)
    assert result.summary.dropped_total == 0


def test_strict_refuses_to_drop(dictionary):
    raw = _raw(Hb_mmol=["5,59", "abc", "30"])
    with pytest.raises(ValidationFailed) as err:
        harmonize(raw, dictionary, MAPPING, strict=True)
    assert "2 values would be dropped (hb: 1 not a number, 1 out of range)" in err.value.message
    assert "--strict" in err.value.fix
    assert harmonize(_raw(), dictionary, MAPPING, strict=True).summary.dropped_total == 0


def test_summary_is_json_ready(dictionary):
    summary = harmonize(_raw(Alter=["61", "x", "45"]), dictionary, MAPPING).summary
    data = json.loads(json.dumps(summary.to_dict()))
    assert data["dropped_total"] == 1
    assert data["columns"][1]["examples"] == {"not a number": [[3, "x"]]}


def test_harmonize_file_reads_with_the_mapping_options(tmp_path, dictionary_file):
    # Setup: a latin-1 semicolon export next to its mapping, which names it under file:
    raw = _raw()
    raw.loc[0, "Name"] = "Lefèvre, Éric"
    raw.to_csv(tmp_path / "export.csv", sep=";", index=False, encoding="latin-1")
    m = dict(MAPPING, dictionary="example.yaml", file="export.csv",
             read={"delimiter": ";", "decimal": ",", "encoding": "latin-1"})
    mapping_path = tmp_path / "export.mapping.yaml"
    mapping_path.write_text(SiteMapping.from_mapping(m).to_yaml(), encoding="utf-8")
    # Run
    result = harmonize_file(None, mapping_path)
    # Assert
    assert result.summary.file == str(tmp_path / "export.csv")
    assert result.data["hb"].tolist() == [9.0, pd.NA, 14.0]
    assert result.data["os_days"].tolist() == [380, 91, 731]


# -- numbers: thousands separators and decimal commas --------------------------------------------
DOT = dict(MAPPING, read={"delimiter": ","})  # the decimal mark is "." (the default)
DECIMAL_COMMA = "not a number (decimal comma? set read: decimal: ',')"


@pytest.mark.parametrize(("cell", "expected"), [
    ("44,000", 44000.0), ("1,458", 1458.0), ("1,234.5", 1234.5), ("-44,000", -44000.0),
    ("1,234,567", 1234567.0), ("8.7", 8.7), ("8,7", None), ("1,45", None), ("12,3456", None),
    ("1,2345.5", None), (",5", None), ("44,000,", None),
])
def test_parse_number_reads_commas_only_as_strict_thousands(cell, expected):
    # Run
    got = parse_number(pd.Series([cell], dtype="string")).iloc[0]
    # Assert
    assert (got is pd.NA) if expected is None else got == expected


def test_parse_number_with_a_decimal_comma_keeps_the_lone_comma():
    got = parse_number(pd.Series(["8,7", "12", "0,5"], dtype="string"), ",")
    assert got.tolist() == [8.7, 12.0, 0.5]


def test_thousands_separators_are_read_and_decimal_commas_dropped(dictionary):
    # Setup: a US-style export (no read: decimal), platelets per µL with thousands commas
    raw = _raw(Thrombos=["44,000", "150,000", "8,7"], Leukos=["4,500", "12,000", "800"],
               Hb_mmol=["5.59", "n.d.", "8.69"], OS_Monate=["12.5", "3", "24"])
    # Run
    result = harmonize(raw, dictionary, DOT)
    cols = {c.target: c for c in result.summary.columns}
    # Assert
    assert result.data["platelets"].tolist() == [44.0, 150.0, pd.NA]
    assert result.data["wbc"].tolist() == [4.5, 12.0, 0.8]
    assert cols["platelets"].dropped == {DECIMAL_COMMA: 1}
    assert cols["platelets"].examples[DECIMAL_COMMA] == ((4, "8,7"),)
    assert result.summary.dropped_total == 1


def test_dot_thousands_with_a_decimal_comma_still_work(tmp_path, dictionary_file):
    # Setup: a German file (decimal ",") writing platelets per µL as 150.000
    raw = _raw(Thrombos=["150.000", "23.500", "1.250,0"])
    raw.to_csv(tmp_path / "export.csv", sep=";", index=False)
    m = dict(MAPPING, dictionary="example.yaml", file="export.csv")
    path = tmp_path / "m.yaml"
    path.write_text(SiteMapping.from_mapping(m).to_yaml(), encoding="utf-8")
    # Run
    result = harmonize_file(None, path)
    # Assert
    assert result.data["platelets"].tolist() == [150.0, 24.0, 1.0]
    assert result.summary.dropped_total == 0


# -- what the summary shows --------------------------------------------------------------------
def test_values_coded_as_missing_show_in_the_table_and_the_lines(dictionary):
    # Setup: "9" is coded as missing (null) by the mapping
    raw = _raw(Geschlecht=["2", "9", "1"])
    # Run
    summary = harmonize(raw, dictionary, MAPPING).summary
    table = {r["variable"]: r for r in summary.table_rows(details=False)}
    # Assert
    assert table["sex"]["dropped"] == "1 coded as missing (mapping) (row 3: 9)"
    assert table["sex"]["carried"] == "2/2"
    assert any("sex <- Geschlecht" in line and "1 coded as missing (mapping)" in line
               for line in summary.lines())
    assert summary.dropped_total == 0


def test_a_column_losing_every_value_gets_a_warning(dictionary):
    # Setup: the dates are DD.MM.YYYY but the mapping says ISO
    m = json.loads(json.dumps(MAPPING))
    m["columns"]["diagnosis_date"]["date_format"] = "%Y-%m-%d"
    # Run
    summary = harmonize(_raw(), dictionary, m).summary
    # Assert
    assert summary.all_dropped_columns == ("diagnosis_date",)
    (warning,) = summary.warnings()
    assert warning.startswith("warning: column diagnosis_date <- ED: all 3 values dropped")
    assert "not a date (YYYY-MM-DD)" in warning and 'date_format: "%d.%m.%Y"' in warning
    assert summary.lines()[-1] == warning
    report = summary.to_dict()
    assert report["all_values_dropped"] == ["diagnosis_date"]
    assert report["warnings"] == [warning]


def test_partly_dropped_columns_give_no_warning(dictionary):
    summary = harmonize(_raw(Hb_mmol=["5,59", "x", "8,69"]), dictionary, MAPPING).summary
    assert summary.warnings() == [] and summary.all_dropped_columns == ()


def test_code_keys_match_ignoring_case_and_are_counted(dictionary):
    # Run
    result = harmonize(_raw(Mut_NPM1=["JA", "Nein", "ja"]), dictionary, MAPPING)
    npm1 = next(c for c in result.summary.columns if c.target == "npm1")
    # Assert
    assert result.data["npm1"].tolist() == [True, False, True]
    assert npm1.repaired == {"code matched ignoring case": 2}
    assert npm1.dropped == {}


def test_codes_differing_only_in_case_are_not_folded(dictionary):
    # Setup: 'Niedrig' and 'NIEDRIG' are both codes, so 'niedrig' is not resolved by case
    m = json.loads(json.dumps(MAPPING))
    m["columns"]["risk"]["codes"] = {"Niedrig": "low", "NIEDRIG": "low", "hoch": "high"}
    # Run
    result = harmonize(_raw(Risiko=["niedrig", "HOCH", "NIEDRIG"]), dictionary, m)
    risk = next(c for c in result.summary.columns if c.target == "risk")
    # Assert
    assert result.data["risk"].tolist() == [pd.NA, "high", "low"]
    assert risk.repaired == {"code matched ignoring case": 1}
    assert risk.dropped == {"unmapped code": 1}


def test_utf8_file_read_as_latin1_is_named_in_the_error_and_warned(tmp_path, dictionary_file):
    # Setup: a UTF-8 export whose mapping says latin-1
    raw = _raw().rename(columns={"Hb_mmol": "Hämoglobin"})
    raw.to_csv(tmp_path / "export.csv", sep=";", index=False, encoding="utf-8")
    m = json.loads(json.dumps(MAPPING))
    m |= {"dictionary": "example.yaml", "file": "export.csv",
          "read": {"delimiter": ";", "decimal": ",", "encoding": "latin-1"}}
    m["columns"]["hb"]["from"] = "Hämoglobin"
    path = tmp_path / "m.yaml"
    path.write_text(SiteMapping.from_mapping(m).to_yaml(), encoding="utf-8")
    # Run
    with pytest.raises(MappingError) as err:
        harmonize_file(None, path)
    # Assert
    assert "looks like UTF-8" in err.value.message
    assert "remove read: encoding" in err.value.message
    assert "\n" not in err.value.message


# -- missing_columns: allow (the built-in reference mapping) ----------------------------------
def _reference_frame(n_columns: int) -> pd.DataFrame:
    from synthema.harmonize import load_mapping

    sources = [c.source for c in load_mapping("synthema_aml_reference").columns][:n_columns]
    raw = pd.DataFrame({s: [pd.NA, pd.NA] for s in sources}, dtype="string")
    raw["ID"] = ["R1", "R2"]
    raw["AGE"] = ["61", "74"]
    raw["SEX"] = ["1", "0"]  # the reference layout: 0 = female, 1 = male
    raw["HB"] = ["9.1", "11.4"]
    raw["PLT"] = ["45", "120"]
    return raw


def test_reference_mapping_harmonises_a_file_with_some_of_its_columns():
    # Setup: 20 of the reference layout's 144 columns, none of the 7 it drops
    raw = _reference_frame(20)
    # Run
    result = harmonize(raw, "aml", "synthema_aml_reference", file="partner.csv")
    s = result.summary
    # Assert
    assert result.data["patient_id"].tolist() == ["R1", "R2"]
    assert result.data["age"].tolist() == [61, 74]
    assert result.data["sex"].tolist() == ["M", "F"]
    assert result.data["hb"].tolist() == [9.1, 11.4]
    assert len(s.columns) == 20 and len(s.absent_columns) == 138 - 20  # 138 mapped columns
    assert ("os_days", "Overall survival") in s.absent_columns
    assert result.data["os_days"].isna().all()
    assert "os_days" not in s.missing_variables
    assert s.dropped_columns == () and s.dropped_total == 0
    line = next(x for x in s.lines() if x.startswith("mapped columns not in the file"))
    assert "os_days <- Overall survival" in line
    folded = [r for r in s.table_rows(details=False) if r["conversion"] == "not in the file"]
    assert [r["variable"] for r in folded] == ["118 mapped columns"]
    assert len([r for r in s.table_rows(details=True)
                if r["conversion"] == "not in the file"]) == 118
    assert s.to_dict()["absent_columns"][0]["source"] not in raw.columns


def test_missing_columns_error_is_one_short_line_with_the_way_out():
    # Setup: the reference mapping without missing_columns: allow
    from synthema.harmonize import load_mapping

    as_yaml = load_mapping("synthema_aml_reference").to_mapping()
    del as_yaml["missing_columns"]
    # Run
    with pytest.raises(MappingError) as err:
        harmonize(_reference_frame(20), "aml", as_yaml, file="partner.csv")
    # Assert
    message = err.value.message
    assert "118 source columns not in partner.csv" in message
    absent = [c.source for c in load_mapping("synthema_aml_reference").columns][20:]
    assert f"'{absent[7]}'" in message and f"'{absent[8]}'" not in message
    assert message.endswith("and 110 more")
    assert "\n" not in message and len(message) < 400
    assert "missing_columns: allow" in err.value.fix


def test_builtin_mapping_still_needs_the_patient_id_and_says_how_to_copy_it():
    # Setup
    raw = _reference_frame(20).drop(columns=["ID"])
    # Run
    with pytest.raises(MappingError, match="the patient id column is not in") as err:
        harmonize(raw, "aml", "synthema_aml_reference", file="partner.csv")
    # Assert
    assert "'ID'" in err.value.message
    assert "copy" in err.value.fix and "synthema_aml_reference.yaml" in err.value.fix


def test_no_mapped_column_in_the_file_is_an_error_even_when_allowed():
    raw = pd.DataFrame({"foo": ["1"], "bar": ["2"]}, dtype="string")
    with pytest.raises(MappingError, match="none of the 137 mapped source columns"):
        harmonize(raw, "aml", "synthema_aml_reference", file="partner.csv")
