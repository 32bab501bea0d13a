"""Policy loading: built-ins parse, bad keys and values fail with a fix."""

from __future__ import annotations

import dataclasses

import pytest

from synthema.anonymize import AnonymizationError, Policy, load_policy
from synthema.anonymize.policy import MIN_SHIFT_DAYS, DatePolicy, HierarchySpec, Models


def _policy(**sections):
    """A policy with k = 5 and the sections given (as parsed YAML)."""
    return Policy.from_mapping({"name": "x", "models": {"k": 5}, **sections})


def _qi(**spec):
    """The interval hierarchy of one quasi-identifier, parsed from ``spec``."""
    return _policy(quasi_identifiers={"v": {"type": "interval", **spec}}).quasi_identifiers[0]


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
    with pytest.raises(AnonymizationError) as err:
        dataclasses.replace(load_policy("aml"), **changes)
    assert words in err.value.message and err.value.fix
    with pytest.raises(AnonymizationError, match="dates.max_shift_days"):
        dataclasses.replace(load_policy("scd").dates, max_shift_days=3)


# -- what the mutation run (benchmarks/mutation.py) found the tests above did not notice ---------

def test_checked_policies_cannot_be_changed_afterwards():
    # a mutable policy would let `policy.length = 8` skip the checks __post_init__ re-runs
    policy = Policy.from_mapping({"name": "x", "models": {"k": 5}, "quasi_identifiers": {
        "age": {"type": "interval", "bands": [5]}}})
    for obj, attr, value in [(policy, "length", 8), (policy.models, "k", 1),
                             (policy.dates, "max_shift_days", 1),
                             (policy.quasi_identifiers[0], "min_level", 0),
                             (DatePolicy(), "method", "keep")]:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(obj, attr, value)


def test_python_defaults_are_the_yaml_defaults():
    # Arrange: the same policy written in Python (defaults) and in YAML (keys left out)
    in_python = Policy(name="x", models=Models(k=5), quasi_identifiers=(
        HierarchySpec(column="age", type="interval", bands=(5.0,)),))
    # Run
    from_yaml = Policy.from_mapping({"name": "x", "models": {"k": 5}, "quasi_identifiers": {
        "age": {"type": "interval", "bands": [5]}}})
    # Assert: every field, dates and hierarchy included
    assert in_python == from_yaml
    assert from_yaml.dates == DatePolicy() and DatePolicy().max_shift_days == 180
    assert (from_yaml.length, from_yaml.scope, from_yaml.detect_identifiers) == (
        16, "release", True)
    # a policy built in Python without models asks for nothing (YAML refuses k = 1)
    assert Policy(name="y").models == Models(k=1, l=None, l_variant="distinct", t=None,
                                             max_suppression=0.0)


def test_date_shift_bound_is_rechecked_in_python():
    assert DatePolicy(method="shift", max_shift_days=36500).max_shift_days == 36500
    assert DatePolicy(method="shift", max_shift_days=MIN_SHIFT_DAYS).max_shift_days == 30
    for bad in (36501, MIN_SHIFT_DAYS - 1, 90.5, True):
        with pytest.raises(AnonymizationError) as err:
            DatePolicy(method="shift", max_shift_days=bad)
        assert "dates.max_shift_days" in err.value.message and "integer" in err.value.fix
    assert DatePolicy(method="keep", max_shift_days=1).max_shift_days == 1  # unused: not checked


@pytest.mark.parametrize("raw, words", [
    ({"purpose": "share with the registry"}, "'purpose' must be a mapping"),
    ({"purpose": {"keep": "age"}}, "purpose.keep must be a list of column names"),
    ({"purpose": {"keep": [1, "age"]}}, "purpose.keep must be a list of column names"),
    ({"identifiers": {"columns": ["name", None]}}, "identifiers.columns must be a list"),
    ({"dates": {"columns": "diagnosis_date"}}, "dates.columns must be a list"),
])
def test_sections_and_column_lists_of_the_wrong_shape_raise(raw, words):
    with pytest.raises(AnonymizationError) as err:
        _policy(**raw)
    assert words in err.value.message and err.value.fix


def test_numeric_bounds_are_inclusive():
    # the largest value each key allows is accepted, one step beyond is not
    top = Policy.from_mapping({"name": "x", "models": {"k": 5, "max_suppression": 1},
                               "pseudonym": {"length": 64}, "risk": {"threshold": 1},
                               "search": {"max_nodes": 10**7}})
    assert (top.length, top.threshold, top.max_nodes, top.models.max_suppression) == (
        64, 1, 10**7, 1)
    low = Policy.from_mapping({"name": "x", "models": {"k": 2, "max_suppression": 0},
                               "pseudonym": {"length": 16}, "risk": {"threshold": 0},
                               "search": {"max_nodes": 1}})
    assert (low.models.k, low.length, low.threshold, low.max_nodes) == (2, 16, 0, 1)
    for raw in ({"pseudonym": {"length": 65}}, {"risk": {"threshold": 1.01}},
                {"search": {"max_nodes": 10**7 + 1}}, {"search": {"max_nodes": 0}},
                {"pseudonym": {"length": 15}}, {"risk": {"threshold": -0.01}},
                {"search": {"max_nodes": 1000.5}}, {"pseudonym": {"length": "32"}},
                {"dates": {"max_shift_days": 36501}}, {"dates": {"max_shift_days": 90.5}}):
        with pytest.raises(AnonymizationError):
            _policy(**raw)


@pytest.mark.parametrize("raw, words", [
    (["name: x"], "a policy must be a mapping"),
    ({"name": "x", "models": {"k": 5}, "quasi_identifiers": ["age"]},
     "quasi_identifiers and sensitive must map column names"),
    ({"name": "x", "models": {"k": 5}, "sensitive": ["eln2022"]},
     "quasi_identifiers and sensitive must map column names"),
    ({"name": "x", "models": {"k": 5}, "sensitive": {"eln2022": {"ordr": ["a", "b"]}}},
     "unknown key 'ordr' in sensitive.eln2022"),
])
def test_policy_shapes_are_checked(raw, words):
    with pytest.raises(AnonymizationError) as err:
        Policy.from_mapping(raw)
    assert words in err.value.message and err.value.fix


def test_name_defaults_to_the_file_name_and_purpose_is_kept(tmp_path):
    path = tmp_path / "registry_release.yaml"
    path.write_text("models: {k: 5}\npurpose: {description: survival by risk group}\n",
                    encoding="utf-8")
    policy = load_policy(path)
    assert policy.name == "registry_release" and policy.purpose == "survival by risk group"
    named = Policy.from_mapping({"name": "aml_share", "models": {"k": 5}}, source=str(path))
    assert named.name == "aml_share" and named.purpose == ""


def test_pseudonym_length_must_be_a_whole_number():
    with pytest.raises(AnonymizationError) as err:
        _policy(pseudonym={"length": 20.5})
    assert "pseudonym.length" in err.value.message and "integer" in err.value.fix
    policy = _policy()
    with pytest.raises(AnonymizationError):  # past from_mapping, in Python, too
        dataclasses.replace(policy, length=20.5)
    assert dataclasses.replace(policy, length=64).length == 64


def test_allowances_parse_and_are_checked():
    # Run
    policy = _policy(identifiers={"allow": {"ward": ["undeclared"],
                                            "lab_id": ["undeclared", "distinct"]}})
    # Assert
    assert policy.allow == {"ward": ("undeclared",), "lab_id": ("undeclared", "distinct")}
    assert _policy().allow == {}
    for bad in (["ward"], {"ward": "undeclared"}, {"ward": ["undeclared", 3]},
                {"ward": ["undeclared"], "lab_id": "distinct"}, {"ward": [3]}):
        with pytest.raises(AnonymizationError) as err:
            _policy(identifiers={"allow": bad})
        assert "identifiers.allow must map column names to lists of checks" in err.value.message
        assert "undeclared, distinct" in err.value.fix
    with pytest.raises(AnonymizationError) as err:
        _policy(identifiers={"allow": {"ward": ["unique"]}})
    assert "identifiers.allow.ward" in err.value.message
    with pytest.raises(AnonymizationError, match="identifiers.allow.ward"):
        dataclasses.replace(policy, allow={"ward": ("unique",)})


def test_model_bounds():
    assert _policy(models={"k": 10**6}).models.k == 10**6
    both = _policy(models={"k": 2, "l": 1, "t": 0, "l_variant": "entropy"},
                   sensitive={"eln2022": None})
    assert (both.models.l, both.models.t, both.models.l_variant) == (1, 0, "entropy")
    top = _policy(models={"k": 2, "l": 10**6, "t": 1}, sensitive={"eln2022": None})
    assert (top.models.l, top.models.t) == (10**6, 1)
    for models, words in [({"k": 10**6 + 1}, "models.k"), ({"k": 5.5}, "models.k"),
                          ({"k": 1.0}, "models.k"), ({"k": True}, "models.k"),
                          ({"k": 5, "l": 0}, "models.l"), ({"k": 5, "l": 2.5}, "models.l"),
                          ({"k": 5, "l": 10**6 + 1}, "models.l"), ({"k": 5, "t": 1.5}, "models.t"),
                          ({"k": 5, "t": -0.1}, "models.t"),
                          ({"k": 5, "l_variant": "recursive"}, "models.l_variant"),
                          ({"k": 5, "max_suppression": -0.1}, "models.max_suppression")]:
        with pytest.raises(AnonymizationError) as err:
            _policy(models=models, sensitive={"eln2022": None})
        assert words in err.value.message, models


def test_dates_section_parses_every_key():
    policy = _policy(dates={"method": "relative", "anchor": "diagnosis_date",
                            "columns": ["cr_date"], "granularity": "quarter",
                            "format": "%d.%m.%Y", "key_env": "SHIFT_KEY"})
    d = policy.dates
    assert (d.method, d.anchor, d.columns, d.granularity, d.format, d.key_env, d.key_file) == (
        "relative", "diagnosis_date", ("cr_date",), "quarter", "%d.%m.%Y", "SHIFT_KEY", None)
    assert _policy(dates={"method": "shift", "max_shift_days": 36500}).dates.max_shift_days == 36500
    for dates, words in [({"method": "shift", "max_shift_days": 36501}, "max_shift_days"),
                         ({"method": "shift", "max_shift_days": 90.5}, "max_shift_days"),
                         ({"granularity": "week"}, "dates.granularity")]:
        with pytest.raises(AnonymizationError) as err:
            _policy(dates=dates)
        assert words in err.value.message


def test_hierarchy_specs_parse_and_are_checked():
    age = _policy(quasi_identifiers={"age": {
        "type": "interval", "bands": [5, 10], "origin": 2, "min_level": 1, "max_level": 3,
        "top": False, "cap": 92, "cuts": [62]}}).quasi_identifiers[0]
    assert (age.bands, age.origin, age.min_level, age.max_level, age.top, age.cap, age.cuts) == (
        (5.0, 10.0), 2.0, 1, 3, False, 92.0, (62.0,))
    groups = _policy(quasi_identifiers={"country": {
        "type": "groups", "levels": [{"DE": "EU-West", 1: 2}]}}).quasi_identifiers[0]
    assert groups.levels == ({"DE": "EU-West", "1": "2"},) and groups.max_level is None
    date = _policy(quasi_identifiers={"d": {"type": "date", "levels": ["month", "year"]}})
    assert date.quasi_identifiers[0].levels == ("month", "year")
    top = _policy(quasi_identifiers={"a": {"type": "suppress", "min_level": 100,
                                           "max_level": 100}}).quasi_identifiers[0]
    assert (top.min_level, top.max_level) == (100, 100)
    for spec, words in [
        ("interval", "must be a mapping"),
        ({"type": "interval", "bands": [5, 0]}, "positive bands"),
        ({"type": "interval", "bands": [-5]}, "positive bands"),
        ({"type": "groups"}, "groups needs levels"),
        ({"type": "groups", "levels": [{"DE": "EU"}, "Europe"]}, "groups needs levels"),
        ({"type": "date", "levels": ["month", "week"]}, ".levels"),
        ({"type": "suppress", "min_level": 101}, "min_level"),
        ({"type": "suppress", "min_level": -1}, "min_level"),
        ({"type": "suppress", "min_level": 1.5}, "min_level"),
        ({"type": "suppress", "max_level": 101}, "max_level"),
        ({"type": "suppress", "max_level": 1.5}, "max_level"),
        ({"type": "suppress", "levelz": 1}, "unknown key 'levelz'"),
        ({"type": "truncate", "cap": 10}, "cap 10 does not close"),
        ({"type": "interval", "bands": [5], "cap": 1e13}, "cap"),
        ({"type": "interval", "bands": [5], "origin": 2, "cap": 60}, "cap 60 does not close"),
        ({"type": "interval", "bands": [5], "origin": 2, "cuts": [60]}, "do not join"),
        ({"type": "truncate", "cuts": [60]}, "do not join"),
        ({"type": "interval", "bands": [5], "cuts": [60, 60]}, "do not join"),
    ]:
        with pytest.raises(AnonymizationError) as err:
            _policy(quasi_identifiers={"age": spec})
        assert words in err.value.message, spec
        assert "quasi_identifiers.age" in err.value.message


def test_hierarchy_number_bounds():
    assert _qi(bands=[0.5, 1]).bands == (0.5, 1.0)  # a positive width below 1 is fine
    assert _qi(bands=[1], cap=1e12).cap == 1e12 and _qi(bands=[1], cap=-1e12).cap == -1e12
    assert _qi(bands=[1], cuts=[-1e12, 1e12]).cuts == (-1e12, 1e12)
    assert _qi(bands=[0.5], cap=2.5).cap == 2.5  # a cap need not be a whole number
    with pytest.raises(AnonymizationError, match="cap 270 does not close"):
        _qi(bands=[90, 180], cap=270)  # closes the 90-day bands, not the 180-day ones
    for kw, words in [({"cap": 1e12 + 1}, ".cap"), ({"cap": -1e12 - 1}, ".cap"),
                      ({"cuts": [1e12 + 1]}, ".cuts"), ({"cuts": [-1e12 - 1]}, ".cuts")]:
        with pytest.raises(AnonymizationError) as err:
            _qi(bands=[1], **kw)
        assert words in err.value.message


def test_cut_points_may_be_fractional_and_meet_the_cap():
    assert _qi(bands=[0.5], cuts=[2.5]).cuts == (2.5,)
    assert (_qi(bands=[5], cuts=[60], cap=60).cap, _qi(bands=[5], cuts=[60]).cap) == (60, None)


def test_raw_identifier_hierarchies():
    # a raw birth date or postcode generalised at level 1 (the lowest a direct identifier may
    # leave at) is accepted
    policy = _policy(raw={"postcode": {"type": "truncate", "min_level": 1},
                          "birth_date": {"type": "date", "levels": ["year"], "min_level": 1}})
    assert policy.raw_action("postcode").min_level == 1
    assert policy.raw_action("birth_date").type == "date"
    # what a role that cannot be generalised may be instead
    with pytest.raises(AnonymizationError) as err:
        _policy(raw={"hospital_number": {"type": "suppress", "min_level": 1}})
    assert "cannot be a quasi-identifier" in err.value.message
    assert err.value.fix == "write remove or pseudonym"
    with pytest.raises(AnonymizationError) as err:
        _policy(raw={"contact": {"type": "suppress", "min_level": 1}})
    assert err.value.fix == "write remove"


@pytest.mark.parametrize("length", [65, 20.5])
def test_a_bad_pseudonym_length_is_reported_before_the_keys_read_after_it(length):
    # Setup: two mistakes in one section; the length is checked where it is read, so the
    # error names it (Policy.__post_init__ repeats the check, but only after every later
    # key of from_mapping, here the scope, has been read and refused)
    raw = {"pseudonym": {"length": length, "scope": "everywhere"}}
    # Run
    with pytest.raises(AnonymizationError) as err:
        _policy(**raw)
    # Assert
    assert "pseudonym.length" in err.value.message and "integer" in err.value.fix
