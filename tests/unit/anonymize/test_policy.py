"""Policy loading: built-ins parse, bad keys and values fail with a fix."""

from __future__ import annotations

import pytest

from synthema.anonymize import AnonymizationError, Policy, load_policy


@pytest.mark.parametrize("name", ["aml", "scd"])
def test_builtin_policies_load(name):
    policy = load_policy(name)
    assert policy.models.k == 5 and policy.pseudonym_column == "patient_id"
    assert policy.quasi_identifiers and policy.keep


def test_unknown_key_suggests_the_right_one(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("name: x\nmodel: {k: 3}\n", encoding="utf-8")
    with pytest.raises(AnonymizationError) as err:
        load_policy(path)
    assert "unknown key 'model'" in err.value.message and "models" in err.value.fix


@pytest.mark.parametrize(
    "raw, words",
    [
        ({"models": {"k": 0}}, "models.k"),
        ({"models": {"max_suppression": 1.5}}, "max_suppression"),
        ({"models": {"l": 2}}, "sensitive"),
        ({"dates": {"method": "relative"}}, "anchor"),
        ({"dates": {"method": "blur"}}, "dates.method"),
        ({"quasi_identifiers": {"age": {"type": "interval"}}}, "bands"),
        ({"quasi_identifiers": {"age": {"type": "fuzzy"}}}, "type"),
        ({"quasi_identifiers": {"d": {"type": "date", "levels": ["week"]}}}, "levels"),
    ],
)
def test_bad_values_raise_with_a_fix(raw, words):
    with pytest.raises(AnonymizationError) as err:
        Policy.from_mapping({"name": "x", **raw})
    assert words in err.value.message and err.value.fix


def test_missing_policy_file_names_builtins(tmp_path):
    with pytest.raises(AnonymizationError) as err:
        load_policy(tmp_path / "nope.yaml")
    assert "aml" in err.value.fix


def test_raw_section_parses_actions_and_hierarchies():
    # Run
    policy = Policy.from_mapping({"name": "x", "dictionary": "aml", "raw": {
        "hospital_number": "pseudonym", "postcode": {"type": "truncate", "min_level": 2}}})
    # Assert
    assert policy.dictionary == "aml"
    assert policy.raw_action("hospital_number") == "pseudonym"
    assert policy.raw_action("postcode").type == "truncate"
    assert policy.raw_action("name") == "remove"  # not listed: removed


@pytest.mark.parametrize("name", ["aml", "scd"])
def test_builtin_policies_pseudonymise_hospital_numbers(name):
    policy = load_policy(name)
    assert policy.dictionary == name
    assert policy.raw_action("hospital_number") == "pseudonym"
    assert {policy.raw_action(r) for r in ("name", "birth_date", "postcode")} == {"remove"}


@pytest.mark.parametrize(
    "raw, words",
    [
        ({"name": "pseudonym"}, "raw.name"),
        ({"name": {"type": "suppress", "min_level": 1}}, "cannot be a quasi-identifier"),
        ({"postcode": {"type": "truncate"}}, "never leaves ungeneralised"),
        ({"birth_date": {"type": "truncate", "min_level": 1}}, "raw.birth_date.type"),
        ({"hospital_number": "hash"}, "raw.hospital_number"),
    ],
)
def test_bad_raw_actions_raise_with_a_fix(raw, words):
    with pytest.raises(AnonymizationError) as err:
        Policy.from_mapping({"name": "x", "raw": raw})
    assert words in err.value.message and err.value.fix


def test_unknown_raw_role_suggests_one():
    with pytest.raises(AnonymizationError) as err:
        Policy.from_mapping({"name": "x", "raw": {"postal_code": "remove"}})
    assert "postal_code" in err.value.message and "postcode" in err.value.fix


def test_dictionary_path_is_relative_to_the_policy(tmp_path):
    # Setup: a copy of the AML dictionary next to the policy file
    from synthema.schema import load_dictionary

    (tmp_path / "d.yaml").write_text(load_dictionary("aml").to_yaml(), encoding="utf-8")
    path = tmp_path / "p.yaml"
    path.write_text("name: x\ndictionary: d.yaml\n", encoding="utf-8")
    # Run
    d = load_policy(path).data_dictionary()
    # Assert
    assert d.name == "aml" and Policy(name="y").data_dictionary() is None
