"""Raw hospital exports: four distinct styles, identifiers, and an exact round trip back."""

from __future__ import annotations

import datetime as dt

import numpy as np
import openpyxl
import pandas as pd
import pytest
import yaml

from synthema.cohorts.raw import group_thousands, make_raw_export
from synthema.errors import DataFileError
from synthema.harmonize import harmonize, harmonize_file
from synthema.schema import Dictionary, load_dictionary
from synthema.tables import read_table

SPEC = {
    "name": "rawtest",
    "version": 1,
    "patient_id": "patient_id",
    "variables": [
        {"name": "age", "type": "integer", "min": 18, "max": 100, "unit": "years"},
        {"name": "sex", "type": "categorical", "categories": ["F", "M"]},
        {"name": "diagnosis_date", "type": "date", "min": "2000-01-01", "max": "2030-12-31"},
        {"name": "risk", "type": "ordinal", "categories": ["low", "intermediate", "high"]},
        {"name": "hb", "type": "continuous", "unit": "g/dL", "quantity": "haemoglobin",
         "min": 2, "max": 20, "decimals": 1},
        {"name": "wbc", "type": "continuous", "unit": "10^9/L", "quantity": "cell_count",
         "min": 0, "max": 500, "decimals": 1},
        {"name": "platelets", "type": "continuous", "unit": "10^9/L", "quantity": "cell_count",
         "min": 0, "max": 2000, "decimals": 0},
        {"name": "creatinine", "type": "continuous", "unit": "mg/dL", "quantity": "creatinine",
         "min": 0, "max": 20, "decimals": 2},
        {"name": "bilirubin", "type": "continuous", "unit": "mg/dL", "quantity": "bilirubin",
         "min": 0, "max": 40, "decimals": 1},
        {"name": "blasts", "type": "continuous", "unit": "%", "quantity": "percent",
         "min": 0, "max": 100, "decimals": 0},
        {"name": "ratio", "type": "continuous", "min": 0, "max": 10},
        {"name": "npm1", "type": "boolean", "group": "mutations"},
        {"name": "os_days", "type": "duration", "min": 0, "max": 7300, "unit": "days"},
        {"name": "os_status", "type": "boolean"},
    ],
}


@pytest.fixture(scope="module")
def dictionary() -> Dictionary:
    return Dictionary.from_mapping(SPEC)


def _clean(n: int = 30, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "patient_id": pd.array([f"P{i:03d}" for i in range(n)], dtype="string"),
        "age": pd.array(rng.integers(18, 95, size=n), dtype="Int64"),
        "sex": pd.array(rng.choice(["F", "M"], size=n), dtype="string"),
        "diagnosis_date": (pd.Timestamp("2005-01-01")
                           + pd.to_timedelta(rng.integers(0, 6000, size=n), unit="D")),
        "risk": pd.array(rng.choice(["low", "intermediate", "high"], size=n), dtype="string"),
        "hb": pd.array(np.round(rng.uniform(4, 17, size=n), 1), dtype="Float64"),
        "wbc": pd.array(np.round(rng.uniform(0.1, 300, size=n), 1), dtype="Float64"),
        "platelets": pd.array(np.round(rng.uniform(3, 900, size=n)), dtype="Float64"),
        "creatinine": pd.array(np.round(rng.uniform(0.3, 6, size=n), 2), dtype="Float64"),
        "bilirubin": pd.array(np.round(rng.uniform(0.1, 12, size=n), 1), dtype="Float64"),
        "blasts": pd.array(np.round(rng.uniform(0, 100, size=n)), dtype="Float64"),
        "ratio": pd.array(rng.uniform(0, 3, size=n), dtype="Float64"),
        "npm1": pd.array(rng.random(n) < 0.3, dtype="boolean"),
        "os_days": pd.array(rng.integers(0, 5000, size=n), dtype="Int64"),
        "os_status": pd.array(rng.random(n) < 0.5, dtype="boolean"),
    })
    frame["diagnosis_date"] = frame["diagnosis_date"].astype("datetime64[ns]")
    for col in ("risk", "hb", "platelets", "npm1", "ratio", "os_days"):
        frame.loc[rng.random(n) < 0.15, col] = pd.NA
    return frame


def _export(dictionary, site, seed=1, clean=None):
    clean = _clean() if clean is None else clean
    return clean, make_raw_export(clean, dictionary, site=site, age_column="age",
                                  index_date_column="diagnosis_date",
                                  rng=np.random.default_rng(seed))


@pytest.mark.parametrize("site", [1, 2, 3, 4])
def test_round_trip_is_exact_in_memory_and_through_files(tmp_path, dictionary, site):
    # Setup
    clean, export = _export(dictionary, site)
    # Run
    in_memory = harmonize(export.data, dictionary, export.mapping)
    paths = export.write(tmp_path, name=f"site_{site:02d}")
    from_file = harmonize_file(paths[0], paths[1], dictionary=dictionary)
    # Assert
    pd.testing.assert_frame_equal(in_memory.data, clean)
    pd.testing.assert_frame_equal(from_file.data, clean)
    assert from_file.summary.dropped_total == 0 and from_file.summary.ignored_columns == ()
    assert [p.name for p in paths] == [f"site_{site:02d}{export.extension}",
                                       f"site_{site:02d}.mapping.yaml"]


def test_four_distinct_styles_cycle_by_site(dictionary):
    # Run
    exports = [_export(dictionary, site)[1] for site in range(1, 6)]
    looks = [(e.extension, str(e.mapping.get("read")), str(e.mapping["columns"]["diagnosis_date"]))
             for e in exports]
    # Assert
    assert len({e.style for e in exports[:4]}) == 4
    assert len(set(looks[:4])) == 4
    assert exports[4].style == exports[0].style


def test_identifiers_are_dropped_and_consistent(dictionary):
    # Setup
    clean, export = _export(dictionary, 1)
    drop = export.mapping["drop"]
    birth = pd.to_datetime(export.data["Geburtsdatum"], format="%d.%m.%Y")
    # Run
    result = harmonize(export.data, dictionary, export.mapping)
    # Assert
    assert drop == ["Name", "PID", "Geburtsdatum", "PLZ"]
    assert export.mapping["columns"]["patient_id"] == {"from": "Studien_ID"}
    assert export.data["Studien_ID"].tolist() == clean["patient_id"].tolist()
    assert export.data["PID"].is_unique
    assert export.data["PLZ"].str.fullmatch(r"\d{5}").all()
    assert export.data["Name"].str.contains(", ").all()
    for b, d, age in zip(birth, clean["diagnosis_date"], clean["age"], strict=True):
        had_birthday = (d.month, d.day) >= (b.month, b.day)
        assert d.year - b.year - (0 if had_birthday else 1) == age
    assert not set(drop) & set(result.data.columns)
    assert result.summary.dropped_columns == tuple(drop)


def test_german_style_details(dictionary):
    # Setup
    clean, export = _export(dictionary, 1)
    data, cols = export.data, export.mapping["columns"]
    # Assert
    assert export.mapping["read"] == {"delimiter": ";", "decimal": ","}
    assert export.mapping["missing_values"] == ["n.d."]
    assert cols["hb"] == {"from": "Hb_mmol", "unit": "mmol/L"}
    assert cols["os_days"] == {"from": "OS_Monate", "unit": "months"}
    assert cols["npm1"] == {"from": "Mut_NPM1", "codes": {"ja": True, "nein": False}}
    assert cols["sex"]["codes"] == {"w": "F", "m": "M"}
    assert (data["Hb_mmol"][clean["hb"].isna().to_numpy()] == "n.d.").all()
    assert data["Hb_mmol"].str.contains(",").any()


def test_french_export_is_latin1(tmp_path, dictionary):
    # Setup
    _, export = _export(dictionary, 2)
    paths = export.write(tmp_path, name="fr")
    # Run / Assert
    assert export.mapping["read"]["encoding"] == "latin-1"
    with pytest.raises(DataFileError, match="not UTF-8"):
        read_table(paths[0])
    text = read_table(paths[0], encoding="latin-1", delimiter=";")
    assert "Hémoglobine (g/L)" in text.columns and "Prénom" in text.columns
    assert export.mapping["columns"]["creatinine"]["unit"] == "µmol/L"


def test_us_export_reports_platelets_per_microlitre(dictionary):
    clean, export = _export(dictionary, 3)
    col = export.mapping["columns"]["platelets"]
    assert col["unit"] == "/uL"
    assert "decimal" not in export.mapping["read"]  # "." is the default
    shown = pd.to_numeric(export.data[col["from"]].str.replace(",", ""), errors="coerce")
    assert (shown.dropna() == clean["platelets"].dropna().astype(float) * 1000).all()


def test_excel_export_has_typed_cells_and_a_named_sheet(tmp_path, dictionary):
    # Setup
    _, export = _export(dictionary, 4)
    path = export.write(tmp_path, name="it")[0]
    # Run
    book = openpyxl.load_workbook(path)
    ws = book["Estrazione"]
    header = [c.value for c in ws[1]]
    row = [c.value for c in ws[2]]
    # Assert
    assert path.suffix == ".xlsx" and export.mapping["read"] == {"sheet": "Estrazione"}
    assert isinstance(row[header.index("sesso")], int)
    assert isinstance(row[header.index("data_diagnosi")], dt.datetime)
    assert export.mapping["columns"]["blasts"]["unit"] == "fraction"
    assert export.mapping["columns"]["os_days"]["unit"] == "weeks"


def test_mapping_points_back_to_a_dictionary_file(tmp_path):
    # Setup: a dictionary in one folder, the export written into another
    (tmp_path / "dicts").mkdir()
    dict_path = tmp_path / "dicts" / "rawtest.yaml"
    dict_path.write_text(yaml.safe_dump(SPEC), encoding="utf-8")
    dictionary = load_dictionary(dict_path)
    clean, export = _export(dictionary, 3)
    # Run
    paths = export.write(tmp_path / "out" / "raw", name="site_03")
    written = yaml.safe_load(paths[1].read_text(encoding="utf-8"))
    result = harmonize_file(None, paths[1])
    # Assert
    assert written["dictionary"] == "../../dicts/rawtest.yaml"
    assert written["file"] == "site_03.csv"
    pd.testing.assert_frame_equal(result.data, clean)


def test_same_seed_same_export(dictionary):
    a = _export(dictionary, 2, seed=7)[1]
    b = _export(dictionary, 2, seed=7)[1]
    c = _export(dictionary, 2, seed=8)[1]
    pd.testing.assert_frame_equal(a.data, b.data)
    assert not a.data["Nom"].equals(c.data["Nom"])


def test_clean_frame_must_have_the_dictionary_columns(dictionary):
    with pytest.raises(ValueError, match="lacks dictionary columns: hb"):
        _export(dictionary, 1, clean=_clean().drop(columns=["hb"]))


@pytest.mark.parametrize("disease", ["aml", "scd"])
def test_builtin_dictionaries_round_trip_through_write_cohort(tmp_path, disease):
    # Setup
    from synthema.cohorts.simulate import simulate, write_cohort

    cohorts = simulate(disease, sites=4, patients=48, seed=11)
    dictionary = load_dictionary(disease)
    # Run
    write_cohort(cohorts, tmp_path, disease=disease, raw=True, seed=11)
    # Assert
    for cohort in cohorts:
        mapping = tmp_path / "raw" / f"{cohort.name}.mapping.yaml"
        result = harmonize_file(None, mapping, dictionary=dictionary)
        pd.testing.assert_frame_equal(result.data, cohort.data.reset_index(drop=True))
        assert result.summary.dropped_total == 0


def test_us_export_writes_large_counts_with_thousands_separators(tmp_path, dictionary):
    # Setup
    clean, export = _export(dictionary, 3)
    cells = export.data[export.mapping["columns"]["platelets"]["from"]]
    shown = cells[cells != "NA"]
    # Run: through the file and in memory
    path = export.write(tmp_path, name="us")[0]
    from_file = harmonize_file(path, tmp_path / "us.mapping.yaml", dictionary=dictionary)
    in_memory = harmonize(export.data, dictionary, export.mapping)
    # Assert: 150000 per µL is written 150,000, and read back as 150 x 10^9/L
    assert shown.str.fullmatch(r"\d{1,3}(,\d{3})+").all()
    pd.testing.assert_frame_equal(from_file.data, clean)
    pd.testing.assert_frame_equal(in_memory.data, clean)


@pytest.mark.parametrize(("text", "expected"), [
    ("150000", "150,000"), ("1234567", "1,234,567"), ("-1234.5", "-1,234.5"), ("999", "999"),
    ("1000", "1,000"), ("12.75", "12.75"), ("0.001", "0.001"),
])
def test_group_thousands(text, expected):
    assert group_thousands(text) == expected
