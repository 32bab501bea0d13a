"""Mapping files: the documented format loads; each malformed or ill-fitting mapping says why."""

from __future__ import annotations

import textwrap

import pytest

from synthema.errors import MappingError
from synthema.harmonize.apply import dictionary_for
from synthema.harmonize.mapping import SiteMapping, builtin_mappings, load_mapping
from synthema.schema import load_dictionary

BRIEF = textwrap.dedent(
    """
    dictionary: example
    source: "Site 2 export"
    read: {delimiter: ";", decimal: ",", encoding: latin-1, sheet: Export}
    missing_values: ["", "NA", "n.d."]
    drop: [Name, Geburtsdatum, PLZ]
    missing_columns: allow
    columns:
      patient_id: {from: Studien_ID}
      hb: {from: Hb_mmol, unit: mmol/L}
      os_days: {from: OS_Monate, unit: months}
      sex: {from: Geschlecht, codes: {"1": M, "2": F}}
      diagnosis_date: {from: ED, date_format: "%d.%m.%Y"}
      npm1: {from: Mut_NPM1, codes: {ja: true, nein: false, yes: true, no: false, "01": true}}
      wbc: {from: Leukos, factor: 0.001}
      age: Alter
    """
)


def _write(tmp_path, text: str, name: str = "m.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_the_documented_format_loads(tmp_path, dictionary):
    # Run
    m = load_mapping(_write(tmp_path, BRIEF))
    m.check(dictionary)
    # Assert
    assert m.read == {"delimiter": ";", "decimal": ",", "encoding": "latin-1", "sheet": "Export"}
    assert m.drop == ("Name", "Geburtsdatum", "PLZ")
    assert m.missing_columns == "allow"
    cols = {c.target: c for c in m.columns}
    assert cols["hb"].unit == "mmol/L" and cols["wbc"].factor == 0.001
    assert cols["age"].source == "Alter"
    # yes/no stay text (YAML 1.2 booleans), "01" keeps its zero
    assert cols["npm1"].code_map == {"ja": True, "nein": False, "yes": True, "no": False,
                                     "01": True}
    assert cols["sex"].code_map == {"1": "M", "2": "F"}
    assert "n.d." in m.missing_markers() and "NA" in m.missing_markers()
    # the file is read as written: markers and the decimal mark apply per column later
    assert m.read_options() == {"delimiter": ";", "encoding": "latin-1", "sheet": "Export",
                                "missing_values": ()}


def test_mapping_round_trips_through_yaml(tmp_path):
    m = load_mapping(_write(tmp_path, BRIEF))
    again = load_mapping(_write(tmp_path, m.to_yaml(), "again.yaml"))
    assert again == m


def test_new_keys_round_trip_through_yaml(tmp_path):
    # Setup: when: (a scalar value is a one-value list), confirm_date_format, default_missing
    text = ("dictionary: example\ndefault_missing: false\ncolumns:\n"
            "  diagnosis_date: {from: D, date_format: '%d/%m/%Y', confirm_date_format: true}\n"
            "  efs_days: {from: E, when: {Art: allo, Status: ['1', 2]}}\n")
    # Run
    m = load_mapping(_write(tmp_path, text))
    again = load_mapping(_write(tmp_path, m.to_yaml(), "again.yaml"))
    # Assert
    assert again == m and m.default_missing is False
    cols = {c.target: c for c in m.columns}
    assert cols["diagnosis_date"].confirm_date_format is True
    assert cols["efs_days"].when == (("Art", ("allo",)), ("Status", ("1", "2")))
    assert cols["efs_days"].needed_sources == ("E", "Art", "Status")
    assert cols["efs_days"].condition_text() == "Art is allo and Status is '1' or '2'"


@pytest.mark.parametrize(("text", "match", "fix"), [
    ("dictionary: example\ncolums: {}\n", "unknown key 'colums' in the top level",
     "did you mean 'columns'"),
    ("dictionary: example\ncolumns: {hb: {form: Hb}}\n", "unknown key 'form' in columns: hb",
     "did you mean 'from'"),
    ("dictionary: example\nread: {delimter: ';'}\ncolumns: {hb: Hb}\n", "in read",
     "did you mean 'delimiter'"),
    ("columns: {hb: Hb}\n", "missing 'dictionary'", "add"),
    ("dictionary: example\ncolumns: {hb: {unit: g/L}}\n", "has no 'from'", "from"),
    ("dictionary: example\ncolumns: {hb: {from: Hb, unit: g/L, factor: 10}}\n",
     "both unit and factor", "keep one"),
    ("dictionary: example\ncolumns: {hb: {from: Hb, factor: -1}}\n", "factor is -1",
     "positive"),
    ("dictionary: example\ncolumns: {diagnosis_date: {from: D, date_format: dd.mm.yyyy}}\n",
     "no % directive", "strptime"),
    ("dictionary: example\ndrop: [Hb]\ncolumns: {hb: Hb}\n", "both mapped and dropped: Hb",
     "remove"),
    ("dictionary: example\nread: {encoding: klingon}\ncolumns: {hb: Hb}\n",
     "unknown encoding", "latin-1"),
    ("dictionary: example\ncolumns:\n  hb: Hb\n  hb: Hb2\n", "line 4.*written twice",
     "correct"),
    ("dictionary: example\ncolumns: {sex: {from: S, codes: {null: M}}}\n", "is not text",
     "quote"),
    ("dictionary: example\nmissing_columns: skip\ncolumns: {hb: Hb}\n",
     "missing_columns is 'skip'", "allow"),
    ("dictionary: example\ndefault_missing: no\ncolumns: {hb: Hb}\n",
     "default_missing is 'no'", "false"),
    ("dictionary: example\ncolumns: {diagnosis_date: {from: D, date_format: '%d/%m/%Y', "
     "confirm_date_format: yes}}\n", "confirm_date_format is 'yes'", "true"),
    ("dictionary: example\ncolumns: {diagnosis_date: {from: D, confirm_date_format: true}}\n",
     "confirm_date_format without date_format", "date_format"),
    ("dictionary: example\ncolumns: {hb: {from: Hb, when: Allo}}\n", "when is 'Allo'",
     "source column -> the values"),
    ("dictionary: example\ncolumns: {hb: {from: Hb, when: {Allo: []}}}\n", "when: Allo",
     "source column -> the values"),
])
def test_malformed_mappings(tmp_path, text, match, fix):
    with pytest.raises(MappingError, match=match) as err:
        load_mapping(_write(tmp_path, text))
    assert fix in err.value.fix


@pytest.mark.parametrize(("columns", "match", "fix"), [
    ({"haemoglobin": "Hb"}, "'haemoglobin' is not a column of dictionary 'example'",
     "did you mean 'hb'"),
    ({"sex": {"from": "S", "codes": {"1": "male"}}}, "code '1' maps to 'male'", "allowed"),
    ({"npm1": {"from": "N", "codes": {"1": "vielleicht"}}}, "true, false", "allowed"),
    ({"sex": {"from": "S", "unit": "g/L"}}, "'unit' given for categorical", "numbers"),
    ({"sex": {"from": "S", "factor": 2}}, "'factor' given for categorical", "numbers"),
    ({"hb": {"from": "S", "date_format": "%d"}}, "'date_format' given for continuous", "dates"),
    ({"hb": {"from": "S", "unit": "mg/mL"}}, "unknown haemoglobin unit 'mg/mL'", "factor"),
    ({"patient_id": {"from": "S", "factor": 2}}, "patient id takes no conversion", "from"),
    ({"patient_id": {"from": "S", "when": {"X": "1"}}}, "patient id takes no conversion",
     "from"),
])
def test_mapping_that_does_not_fit_the_dictionary(dictionary, columns, match, fix):
    m = SiteMapping.from_mapping({"dictionary": "example", "columns": columns})
    with pytest.raises(MappingError, match=match) as err:
        m.check(dictionary)
    assert fix in err.value.fix


def test_mapping_for_another_dictionary(dictionary):
    m = SiteMapping.from_mapping({"dictionary": "scd", "columns": {"hb": "Hb"}})
    with pytest.raises(MappingError, match="for dictionary 'scd', not 'example'") as err:
        m.check(dictionary)
    assert "--dictionary scd" in err.value.fix


def test_dictionary_path_is_relative_to_the_mapping(tmp_path, dictionary_file):
    # Setup
    sub = tmp_path / "maps"
    sub.mkdir()
    path = _write(sub, "dictionary: ../example.yaml\ncolumns: {hb: Hb}\n")
    # Run
    m = load_mapping(path)
    # Assert
    m.check(load_dictionary(dictionary_file))
    assert dictionary_for(m).name == "example"


def test_unknown_mapping_name():
    with pytest.raises(MappingError, match="neither a file nor built in"):
        load_mapping("no_such_mapping")


@pytest.mark.parametrize("name", builtin_mappings())
def test_builtin_mappings_fit_their_dictionary(name):
    m = load_mapping(name)
    m.check(dictionary_for(m))


def test_missing_columns_defaults_to_error():
    m = SiteMapping.from_mapping({"dictionary": "example", "columns": {"hb": "Hb"}})
    assert m.missing_columns == "error" and "missing_columns" not in m.to_mapping()


def test_unit_errors_name_the_mapping_file(tmp_path, dictionary):
    # Setup
    path = _write(tmp_path, "dictionary: example\ncolumns: {hb: {from: Hb_mmol, unit: mg/mL}}\n")
    # Run
    with pytest.raises(MappingError) as err:
        load_mapping(path).check(dictionary)
    # Assert
    assert err.value.message.startswith(f"{path}: column 'Hb_mmol': unknown haemoglobin unit")
    assert "factor" in err.value.fix


def test_builtin_mapping_is_known_as_built_in(tmp_path):
    assert load_mapping("synthema_aml_reference").builtin
    assert load_mapping("synthema_aml_reference").missing_columns == "allow"
    assert not load_mapping(_write(tmp_path, BRIEF)).builtin
