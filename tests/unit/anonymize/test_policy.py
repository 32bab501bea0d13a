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
        ({"models": {"k": 5, "max_suppression": 1.5}}, "max_suppression"),
        ({"models": {"k": 5, "l": 2}}, "sensitive"),
        ({"dates": {"method": "relative"}}, "anchor"),
        ({"dates": {"method": "blur"}}, "dates.method"),
        ({"quasi_identifiers": {"age": {"type": "interval"}}}, "bands"),
        ({"quasi_identifiers": {"age": {"type": "fuzzy"}}}, "type"),
        ({"quasi_identifiers": {"d": {"type": "date", "levels": ["week"]}}}, "levels"),
    ],
)
def test_bad_values_raise_with_a_fix(raw, words):
    with pytest.raises(AnonymizationError) as err:
        Policy.from_mapping({"name": "x", "models": {"k": 5}, **raw})
    assert words in err.value.message and err.value.fix


def test_missing_policy_file_names_builtins(tmp_path):
    with pytest.raises(AnonymizationError) as err:
        load_policy(tmp_path / "nope.yaml")
    assert "aml" in err.value.fix


def test_raw_section_parses_actions_and_hierarchies():
    # Run
    policy = Policy.from_mapping({"name": "x", "dictionary": "aml", "models": {"k": 5}, "raw": {
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
        Policy.from_mapping({"name": "x", "models": {"k": 5}, "raw": raw})
    assert words in err.value.message and err.value.fix


def test_unknown_raw_role_suggests_one():
    with pytest.raises(AnonymizationError) as err:
        Policy.from_mapping({"name": "x", "models": {"k": 5}, "raw": {"postal_code": "remove"}})
    assert "postal_code" in err.value.message and "postcode" in err.value.fix


def test_dictionary_path_is_relative_to_the_policy(tmp_path):
    # Setup: a copy of the AML dictionary next to the policy file
    from synthema.schema import load_dictionary

    (tmp_path / "d.yaml").write_text(load_dictionary("aml").to_yaml(), encoding="utf-8")
    path = tmp_path / "p.yaml"
    path.write_text("name: x\ndictionary: d.yaml\nmodels: {k: 5}\n", encoding="utf-8")
    # Run
    d = load_policy(path).data_dictionary()
    # Assert
    assert d.name == "aml" and Policy(name="y").data_dictionary() is None


@pytest.mark.parametrize("text, words", [
    ("name: x\npurpose: {keep: [a]}\n", "no models: section"),
    ("name: x\nmodels: {l_variant: distinct}\n", "models.k is missing"),
    ("name: x\nmodels: {k: 1}\n", "models.k is 1"),
])
def test_policy_without_a_k_is_refused_not_run_at_k_1(tmp_path, text, words):
    # Setup: before, a policy without models: ran at k = 1 (exact values, scorecard passed)
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    # Run / Assert
    with pytest.raises(AnonymizationError) as err:
        load_policy(path)
    assert words in err.value.message and "k: " in err.value.fix


@pytest.mark.parametrize("length", [8, 12, 15])
def test_short_pseudonyms_are_refused(length):
    # 8 hex characters (32 bits) collide: about 5 pairs among 200,000 ids
    with pytest.raises(AnonymizationError, match="pseudonym.length"):
        Policy.from_mapping({"name": "x", "models": {"k": 5},
                             "pseudonym": {"column": "id", "length": length}})


def test_pseudonym_scope_and_date_key_parse():
    policy = Policy.from_mapping({"name": "x", "models": {"k": 5}, "pseudonym": {
        "column": "id", "scope": "study", "study": "AML-2026"},
        "dates": {"method": "shift", "columns": ["d"], "key_file": "shift.key"}})
    assert (policy.scope, policy.study, policy.dates.key_file) == ("study", "AML-2026",
                                                                   "shift.key")
    with pytest.raises(AnonymizationError, match="pseudonym.scope"):
        Policy.from_mapping({"name": "x", "models": {"k": 5},
                             "pseudonym": {"column": "id", "scope": "global"}})


def test_tiny_date_shifts_are_refused():
    with pytest.raises(AnonymizationError, match="max_shift_days"):
        Policy.from_mapping({"name": "x", "models": {"k": 5}, "dates": {
            "method": "shift", "columns": ["d"], "max_shift_days": 3}})


def test_cap_must_close_every_band():
    with pytest.raises(AnonymizationError, match="cap"):
        Policy.from_mapping({"name": "x", "models": {"k": 5}, "quasi_identifiers": {
            "os_days": {"type": "interval", "bands": [90, 180], "cap": 1000}}})


def test_cut_points_must_join_whole_bands_and_rise():
    def policy(**age):
        return Policy.from_mapping({"name": "x", "models": {"k": 5}, "quasi_identifiers": {
            "age": {"type": "interval", "bands": [5, 10, 20], **age}}})

    assert policy(cuts=[60]).quasi_identifiers[0].cuts == (60.0,)
    with pytest.raises(AnonymizationError, match="do not join whole bands"):
        policy(cuts=[65])  # 60-79 would straddle the cut
    with pytest.raises(AnonymizationError, match="do not join whole bands"):
        policy(cuts=[80, 40])
    with pytest.raises(AnonymizationError, match="below the last cut"):
        policy(cuts=[60, 80], cap=60)


@pytest.mark.parametrize("changes, words", [
    ({"length": 8}, "pseudonym.length"), ({"length": 15}, "pseudonym.length"),
    ({"length": 65}, "pseudonym.length"), ({"scope": "global"}, "pseudonym.scope"),
])
def test_policy_built_in_python_is_checked_too(changes, words):
    # before, dataclasses.replace(policy, length=8) ran: 8 hex characters collide (6 pairs
    # over 200,000 ids), the YAML check was skipped
    import dataclasses

    with pytest.raises(AnonymizationError) as err:
        dataclasses.replace(load_policy("aml"), **changes)
    assert words in err.value.message and err.value.fix
    with pytest.raises(AnonymizationError, match="dates.max_shift_days"):
        dataclasses.replace(load_policy("scd").dates, max_shift_days=3)
