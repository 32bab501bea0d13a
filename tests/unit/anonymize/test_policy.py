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
