"""harmonize(): conversions are exact, and every value that does not make it is counted."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from synthema.errors import MappingError, ValidationFailed
from synthema.harmonize import harmonize, harmonize_file
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
    assert data["os_days"].tolist() == [380, 91, 730]  # 12.5 x 30.4375 = 380.47; 730.5 -> even
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
    # Setup: 'Low' is a category up to case; 61.6 years is not a whole number
    raw = _raw(Risiko=["Low", "intermediate", "hoch"], Alter=["61.6", "70", "45"])
    # Run
    result = harmonize(raw, dictionary, MAPPING)
    cols = {c.target: c for c in result.summary.columns}
    # Assert
    assert result.data["risk"].tolist() == ["low", "intermediate", "high"]
    assert cols["risk"].repaired == {"upper/lower case": 1}
    assert cols["age"].repaired == {"rounded to a whole number": 1}
    assert result.data["age"].tolist() == [62, 70, 45]
    assert result.summary.dropped_total == 0


def test_rule_violations_are_kept_and_counted(dictionary):
    raw = _raw(EFS_Tage=["500", "30", "700"])  # 500 days EFS > 380 days OS in row 2
    result = harmonize(raw, dictionary, MAPPING)
    assert result.summary.rule_violations == {"efs_before_os": (2,)}
    assert result.data["efs_days"].tolist() == [500, 30, 700]
    assert any("rule efs_before_os violated in 1 rows (kept)" in line
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
    raw = _raw().rename(columns={"Hb_mmol": "hb_mmol"}).drop(columns=["PLZ"])
    with pytest.raises(MappingError) as err:
        harmonize(raw, dictionary, MAPPING, file="site2.csv")
    assert "not in site2.csv" in err.value.message
    assert "'Hb_mmol' (did you mean 'hb_mmol'?)" in err.value.message
    assert "'PLZ'" in err.value.message
    assert "header" in err.value.fix


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
    assert result.data["os_days"].tolist() == [380, 91, 730]
