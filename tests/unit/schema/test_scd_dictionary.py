"""The built-in SCD dictionary: loads strictly, is complete, and its rules mean what they say."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from synthema.harmonize.units import UNITS, unit_factor
from synthema.schema import Dictionary, VariableType, load_dictionary
from synthema.schema.values import empty_column

D = load_dictionary("scd")

GROUPS = ("demographics", "genotype", "vitals", "labs", "treatment", "complications", "outcome")
REQUIRED_NAMES = (
    "genotype",
    "sex",
    "age",
    "enrolment_date",
    "alpha_thal_trait",
    "hbf_pct",
    "hb",
    "mcv",
    "retic_pct",
    "wbc",
    "platelets",
    "ldh",
    "bilirubin",
    "ferritin",
    "creatinine",
    "egfr",
    "acr_mg_g",
    "tcd_velocity",
    "hydroxyurea",
    "hu_dose_mg_kg",
    "chronic_transfusion",
    "new_therapy",
    "voc_per_year",
    "hospitalisations_per_year",
    "acute_chest_syndrome",
    "acs_count",
    "stroke",
    "silent_infarct",
    "priapism",
    "leg_ulcers",
    "avascular_necrosis",
    "trv",
    "pulmonary_hypertension",
    "nephropathy",
    "retinopathy",
    "gallstones",
    "splenic_sequestration",
    "hsct",
    "hsct_days",
    "followup_days",
    "death",
)
VERIFIED_OMOP = {3000963, 3000905, 3024929, 3001122, 3016723, 254062}


def _frame(**cols) -> pd.DataFrame:
    """A one-row typed frame, all missing except ``cols``."""
    index = pd.RangeIndex(1)
    data = {v.name: empty_column(v, index) for v in D.variables}
    for name, value in cols.items():
        data[name] = pd.Series([value], index=index).astype(data[name].dtype)
    return pd.DataFrame(data)


def test_loads_by_name_with_metadata():
    # Assert
    assert isinstance(D, Dictionary)
    assert D.name == "scd"
    assert D.version and D.title and D.description
    assert D.patient_id == "patient_id"
    assert D.columns[0] == "patient_id"


def test_has_at_least_50_grouped_variables():
    # Assert
    assert len(D) >= 50
    assert set(D.groups) == set(GROUPS)
    assert all(v.group in GROUPS for v in D.variables)
    missing = [name for name in REQUIRED_NAMES if name not in D]
    assert not missing


def test_survival_pair_is_followup_and_death():
    # Assert
    assert [(p.time, p.event) for p in D.survival] == [("followup_days", "death")]
    assert D["followup_days"].type is VariableType.DURATION
    assert D["death"].type is VariableType.BOOLEAN


def test_rule_names_unique_and_described():
    # Assert
    names = [r.name for r in D.rules]
    assert len(names) == len(set(names))
    assert len(names) >= 25
    assert all(r.description for r in D.rules)
    assert not any(n.startswith("rule_") for n in names)


def test_categories_are_ascii_codes():
    # Assert
    assert D["genotype"].categories == ("HbSS", "HbSbeta0", "HbSC", "HbSbeta+", "other")
    assert D["sex"].categories == ("F", "M")
    assert D["new_therapy"].categories == (
        "none",
        "crizanlizumab",
        "voxelotor",
        "l_glutamine",
        "gene_therapy",
    )
    for var in D.variables:
        assert all(c.isascii() for c in var.categories), var.name


def test_types_and_bounds_of_key_variables():
    # Assert
    assert D["age"].type is VariableType.INTEGER
    assert (D["age"].min, D["age"].max) == (0, 90)
    assert D["enrolment_date"].type is VariableType.DATE
    assert D["enrolment_date"].min == dt.date(2000, 1, 1)
    assert D["enrolment_date"].max == dt.date(2026, 12, 31)
    assert D["hydroxyurea"].type is VariableType.BOOLEAN
    assert D["voc_per_year"].type is VariableType.INTEGER
    for var in D.variables:
        if var.type.is_numeric:
            assert var.min is not None and var.max is not None, var.name
        if var.type is VariableType.CONTINUOUS:
            assert var.decimals is not None, var.name


def test_clinical_cut_points():
    # Assert
    assert D["tcd_velocity"].cut_points == (170, 200)
    assert D["trv"].cut_points == (2.5, 3.0)
    assert D["hbf_pct"].cut_points == (10, 20)
    assert {1000, 3000} <= set(D["ferritin"].cut_points)
    assert {30, 300} <= set(D["acr_mg_g"].cut_points)


def test_quantities_use_known_names_and_matching_units():
    # Assert
    with_quantity = [v for v in D.variables if v.quantity]
    assert len(with_quantity) >= 15
    for var in with_quantity:
        assert var.quantity in UNITS, var.name  # harmonisation can convert it
        assert unit_factor(var.quantity, var.unit) is not None, var.name
    assert D["creatinine"].unit == "mg/dL"
    assert D["hb"].quantity == "haemoglobin"
    # European labs report albuminuria in mg/mmol: 3 mg/mmol is ~27 mg/g, 30 mg/mmol ~265 mg/g
    assert D["acr_mg_g"].quantity == "albumin_creatinine_ratio"
    factor = unit_factor("albumin_creatinine_ratio", "mg/mmol")
    assert round(3 * factor, 1) == 26.5 and round(30 * factor) == 265


def test_only_verified_omop_concept_ids():
    # Assert
    ids = {v.omop_concept_id for v in D.variables if v.omop_concept_id is not None}
    assert ids <= VERIFIED_OMOP
    assert D["hb"].omop_concept_id == 3000963


def test_round_trips_through_yaml():
    # Run
    again = Dictionary.from_mapping(D.to_mapping())
    # Assert
    assert again.names == D.names
    assert [r.name for r in again.rules] == [r.name for r in D.rules]
    assert [r.expr for r in again.rules] == [r.expr for r in D.rules]


@pytest.mark.parametrize(
    ("rule", "row"),
    [
        ("priapism_males", {"priapism": True, "sex": "F"}),
        ("hu_dose_when_on_hu", {"hydroxyurea": True}),
        ("no_hu_dose_off_hu", {"hydroxyurea": False, "hu_dose_mg_kg": 20.0}),
        ("hu_years_within_age", {"hu_years": 7.0, "age": 5}),
        ("acs_count_implies_acs", {"acs_count": 2, "acute_chest_syndrome": False}),
        ("hsct_within_followup", {"hsct_days": 400, "followup_days": 100}),
        ("hbsc_low_hbf", {"genotype": "HbSC", "age": 30, "hbf_pct": 25.0}),
        ("gene_therapy_no_hu", {"new_therapy": "gene_therapy", "hydroxyurea": True}),
        (
            "gene_therapy_after_first_trial",
            {"new_therapy": "gene_therapy", "enrolment_date": pd.Timestamp("2012-06-01")},
        ),
        ("neutrophils_within_wbc", {"neutrophils": 8.0, "wbc": 6.0}),
        ("hb_fractions_sum_all", {"hbs_pct": 60.0, "hbf_pct": 5.0, "hba2_pct": 3.0,
                                  "hba_pct": 30.0, "hbc_pct": 10.0}),
        ("hbc_needs_a_c_allele", {"hbc_pct": 45.0, "genotype": "HbSS"}),
        ("chronic_transfusion_history", {"chronic_transfusion": True,
                                         "transfusion_history": "episodic"}),
        ("transfusion_method_when_transfused", {"chronic_transfusion": True}),
        ("no_transfusion_method_untransfused", {"chronic_transfusion": False,
                                                "transfusion_method": "exchange"}),
        ("dhtr_after_transfusion", {"delayed_haemolytic_reaction": True,
                                    "transfusion_history": "never"}),
        ("alpha_genotype_trait", {"alpha_thal_trait": True, "alpha_genotype": "aa/aa"}),
        ("newborn_diagnosis_at_birth", {"diagnosis_route": "newborn_screening",
                                        "diagnosis_age": 3}),
        ("diagnosis_before_enrolment", {"diagnosis_age": 20, "age": 12}),
        ("diastolic_below_systolic", {"systolic_bp": 110, "diastolic_bp": 115}),
        ("death_cause_when_dead", {"death": True}),
    ],
)
def test_rule_flags_an_implausible_row(rule, row):
    # Setup
    df = _frame(**row)
    # Run
    result = D.evaluate_rules(df)[rule]
    # Assert
    assert not result.fillna(True).iloc[0]  # violated: False, not missing


def test_rules_hold_or_do_not_apply_on_an_empty_row():
    # Setup
    df = _frame()
    # Run
    result = D.evaluate_rules(df)
    # Assert
    assert not (result == False).any().any()  # noqa: E712 - nullable booleans
