"""The dictionary format: the minimal form loads, every malformed input has its own error."""

from __future__ import annotations

import re
import textwrap

import pytest
import yaml

from synthema.errors import DictionaryError
from synthema.schema import VariableType, load_dictionary
from synthema.schema.dictionary import Dictionary

MINIMAL = textwrap.dedent(
    """
    name: example
    version: 1
    variables:
      - {name: age, type: integer, min: 18, max: 100, unit: years}
      - {name: sex, type: categorical, categories: [F, M]}
      - {name: wbc, type: continuous, min: 0, max: 500, unit: 10^9/L}
      - {name: os_days, type: duration, min: 0, max: 7300, unit: days}
      - {name: os_status, type: boolean}
      - {name: efs_days, type: duration, min: 0, max: 7300, unit: days}
    survival:
      - {time: os_days, event: os_status}
    rules:
      - "efs_days <= os_days"
    """
)


def _load(text: str, tmp_path) -> Dictionary:
    path = tmp_path / "d.yaml"
    path.write_text(text, encoding="utf-8")
    return load_dictionary(path)


def _mutate(fn) -> dict:
    raw = yaml.safe_load(MINIMAL)
    fn(raw)
    return raw


def test_minimal_form_is_accepted(tmp_path):
    # Run
    d = _load(MINIMAL, tmp_path)
    # Assert
    assert d.names == ("age", "sex", "wbc", "os_days", "os_status", "efs_days")
    assert d["age"].type is VariableType.INTEGER and d["age"].min == 18
    assert d.survival[0].time == "os_days" and d.survival[0].event == "os_status"
    assert d.rules[0].columns == ("efs_days", "os_days")
    assert d.patient_id is None


def test_round_trip_through_yaml(tmp_path):
    # Setup
    d = load_dictionary("aml")
    # Run
    again = Dictionary.from_mapping(yaml.safe_load(d.to_yaml()))
    # Assert
    assert again == d


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda r: r["variables"][0].update(maxx=3), r"unknown key 'maxx'.*did you mean 'max'"),
        (lambda r: r.update(varibles=[]), r"unknown key 'varibles'"),
        (lambda r: r["variables"][0].update(type="number"), r"has type 'number'"),
        (lambda r: r["variables"][1].pop("categories"), r"lists no categories"),
        (lambda r: r["variables"][0].update(min=200), r"min 200.0 above max 100.0"),
        (lambda r: r["variables"].append({"name": "age", "type": "integer"}), r"listed twice"),
        (lambda r: r["survival"][0].update(event="sex"), r"not a boolean variable"),
        (lambda r: r["rules"].append("efs_days <= pfs_days"), r"unknown column\(s\) pfs_days"),
        (lambda r: r["rules"].append("sex == 'X'"), r"'X' is not a category"),
        (lambda r: r["rules"].append("sex > 3"), r"text compared with a number"),
        (lambda r: r["rules"].append("age + 1"), r"not a true/false condition"),
        (lambda r: r["rules"].append("age >> 1"), r"position 6"),
        (lambda r: r["variables"][0].update(name="2age"), r"not a plain identifier"),
        (lambda r: r["variables"][0].update(categories=["a"]), r"cannot have categories"),
        (lambda r: r["variables"][2].update(cut_points=[5, 1]), r"not strictly increasing"),
        (lambda r: r["variables"][2].update(cut_points=[0, 1]), r"not inside"),
        (lambda r: r["variables"][4].update(min=0), r"boolean and cannot have min"),
        (lambda r: r.pop("name"), r"missing 'name'"),
        (lambda r: r["variables"][0].update(omop_concept_id="x"), r"omop_concept_id"),
        (lambda r: r.update(patient_id="age"), r"also listed as a variable"),
        (lambda r: r.update(targets=["os_stat"]), r"target 'os_stat' is not a variable.*"
         r"did you mean 'os_status'"),
        (lambda r: r.update(targets=["os_days"]), r"target 'os_days' is a survival time.*"
         r"remove it from targets"),
        (lambda r: r.update(targets=["wbc", "wbc"]), r"target 'wbc' is listed twice"),
        (lambda r: r.update(targets="wbc"), r"not a list of variable names.*targets: \[cr\]"),
        (lambda r: r["survival"][0].update(covariates=["agee"]),
         r"covariate 'agee' of survival time 'os_days' is not a variable"),
        (lambda r: r["survival"][0].update(covariates=["os_status"]),
         r"covariate 'os_status' .* is the pair's own column"),
        (lambda r: r["survival"][0].update(covariates=["age", "age"]),
         r"covariate 'age' .* is listed twice"),
        (lambda r: r["survival"][0].update(covariates=["efs_days"]) or r.update(
            targets=["efs_days"]), r"covariate 'efs_days' .* an outcome, not a covariate"),
        (lambda r: r["survival"][0].update(covariates="age"),
         r"covariates of survival time 'os_days' are not a list.*covariates: \[age"),
    ],
)
def test_each_malformed_dictionary_has_its_error(mutate, match):
    # Setup
    raw = _mutate(mutate)
    # Run
    with pytest.raises(DictionaryError) as info:
        Dictionary.from_mapping(raw)
    # Assert: the message and its one-line fix together say what and how
    assert re.search(match, f"{info.value.message} {info.value.fix}")
    assert info.value.fix


def test_targets_are_parsed_kept_by_projection_and_written_back(tmp_path):
    # Setup: a survival event and a number may be targets
    text = MINIMAL + "targets: [os_status, wbc]\n"

    # Run
    d = _load(text, tmp_path)
    again = Dictionary.from_mapping(yaml.safe_load(d.to_yaml()))

    # Assert
    assert d.targets == ("os_status", "wbc")
    assert again == d
    assert d.project(["age", "wbc"]).targets == ("wbc",)
    assert _load(MINIMAL, tmp_path).targets == ()


def test_survival_covariates_are_parsed_kept_by_projection_and_written_back(tmp_path):
    # Setup
    text = MINIMAL.replace("- {time: os_days, event: os_status}",
                           "- {time: os_days, event: os_status, covariates: [age, wbc]}")

    # Run
    d = _load(text, tmp_path)
    again = Dictionary.from_mapping(yaml.safe_load(d.to_yaml()))

    # Assert
    assert d.survival[0].covariates == ("age", "wbc")
    assert again == d
    assert d.project(["age", "os_days", "os_status"]).survival[0].covariates == ("age",)
    assert _load(MINIMAL, tmp_path).survival[0].covariates == ()
    assert load_dictionary("aml").survival[0].covariates == ("age", "eln2022")


def test_a_bad_target_names_the_file_and_the_fix_on_one_line(tmp_path):
    # Run
    with pytest.raises(DictionaryError) as info:
        _load(MINIMAL + "targets: [os_days]\n", tmp_path)

    # Assert
    assert info.value.message == f"{tmp_path / 'd.yaml'}: target 'os_days' is a survival time"
    assert "\n" not in info.value.fix and "targets:" in info.value.fix


def test_builtin_targets_are_clinical_outcomes():
    # Run
    aml, scd = load_dictionary("aml"), load_dictionary("scd")

    # Assert: AML declares complete remission (boolean, outcome group); SCD only survival
    assert aml.targets == ("cr",)
    assert aml["cr"].type is VariableType.BOOLEAN and aml["cr"].group == "outcome"
    assert scd.targets == ()


def test_yaml_syntax_error_names_line(tmp_path):
    # Run / Assert
    with pytest.raises(DictionaryError, match=r"line \d+, column \d+"):
        _load("name: x\nvariables: [\n  - {name: a", tmp_path)


def test_unknown_dictionary_name():
    with pytest.raises(DictionaryError, match="neither built in nor a file") as err:
        load_dictionary("cll")
    assert "did you mean" not in err.value.fix
    for typo in ("amll", "AML", "sdc"):
        with pytest.raises(DictionaryError) as err:
            load_dictionary(typo)
        assert err.value.fix.startswith(f"did you mean '{'scd' if typo == 'sdc' else 'aml'}'?")


def test_project_keeps_only_rules_inside(tmp_path):
    # Setup
    d = _load(MINIMAL, tmp_path)
    # Run
    p = d.project(["age", "os_days", "os_status"])
    # Assert
    assert p.names == ("age", "os_days", "os_status")
    assert p.rules == ()  # efs_days is gone, so its rule is too
    assert len(p.survival) == 1


def test_aml_dictionary_covers_the_reference_structure():
    # Run
    d = load_dictionary("aml")
    groups = {g: [v for v in d.variables if v.group == g] for g in d.groups}
    # Assert
    assert len(d) >= 140
    assert len(groups["karyotype"]) >= 50
    assert len(groups["mutations"]) >= 55
    clinical = len(d) - len(groups["karyotype"]) - len(groups["mutations"])
    assert clinical >= 34
    for name in (
        "npm1",
        "flt3_itd",
        "tp53",
        "cebpa_bzip",
        "t_8_21",
        "complex",
        "eln2022",
        "who2022",
        "icc2022",
        "os_days",
        "efs_days",
        "rfs_days",
        "hsct_days",
    ):
        assert name in d
    assert {(p.time, p.event) for p in d.survival} >= {
        ("os_days", "os_status"),
        ("efs_days", "efs_status"),
    }
    assert d.patient_id == "patient_id"
    # ELN risk is categorical: "not_assessable" has no place in the favorable..adverse order
    assert d["eln2022"].type is VariableType.CATEGORICAL
    assert d["eln2022"].categories == ("favorable", "intermediate", "adverse", "not_assessable")
    for name in ("prior_neoplasm", "mecom_r_other", "mono5", "mono20", "autosomal_monosomies",
                 "karyotype_abnormalities", "tp53_vaf"):  # issue 25
        assert name in d


def test_omop_ids_are_only_the_verified_ones():
    # ../shared/notes/omop_dcat.md: ids marked [V]
    verified = {
        3000963,
        3000905,
        3024929,
        3001122,
        3016723,
        22281,
        24006,
        4130067,
        4130068,
        4130678,
        315523,
        35626024,
        254062,
        140352,
    }
    for name in ("aml", "scd"):
        d = load_dictionary(name)
        ids = {v.omop_concept_id for v in d.variables if v.omop_concept_id}
        assert ids <= verified, (name, ids - verified)


def test_a_cut_point_at_max_is_the_end_of_follow_up():
    # Setup: every man never arrested is followed for exactly 52 weeks (rossi)
    from synthema.stats.binning import numeric_edges

    raw = {"name": "fu", "version": 1, "variables": [
        {"name": "week", "type": "duration", "min": 1, "max": 52, "cut_points": [52]},
        {"name": "level", "type": "continuous", "min": 0, "max": 1, "cut_points": [1]}]}
    # Run / Assert: on a grid the cut closes a bin holding 52 alone
    with pytest.raises(DictionaryError, match="not inside"):
        Dictionary.from_mapping(raw)  # no grid: a bin [1, 1] would be empty
    raw["variables"] = raw["variables"][:1]
    d = Dictionary.from_mapping(raw)
    edges, _ = numeric_edges(d["week"], max_bins=16)
    assert edges[-2:] == (52.0, 53.0)
