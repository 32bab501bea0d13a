"""Unit tables: published factors, forgiving spellings, and a clear error for unknown units."""

from __future__ import annotations

import pytest

from synthema.errors import MappingError
from synthema.harmonize.units import (
    UNITS,
    conversion_factor,
    known_units,
    variable_factor,
    variable_quantity,
)
from synthema.schema.dictionary import Variable, VariableType


@pytest.mark.parametrize(("quantity", "source", "target", "value", "expected"), [
    ("haemoglobin", "g/dL", "mmol/L", 10.0, 6.206),      # 1 g/dL = 0.6206 mmol/L Hb(Fe)
    ("haemoglobin", "g/L", "g/dL", 140.0, 14.0),
    ("cell_count", "/uL", "10^9/L", 150_000.0, 150.0),
    ("cell_count", "10^6/L", "G/L", 4_000.0, 4.0),
    ("enzyme_activity", "µkat/L", "U/L", 5.0, 300.0),    # 1 µkat/L = 60 U/L
    ("creatinine", "µmol/L", "mg/dL", 88.42, 1.0),
    ("bilirubin", "umol/L", "mg/dL", 17.1, 1.0),
    ("ferritin", "µg/L", "ng/mL", 250.0, 250.0),
    ("percent", "fraction", "%", 0.25, 25.0),
    ("duration", "months", "days", 12.0, 365.25),
    ("duration", "weeks", "days", 2.0, 14.0),
    ("velocity_cm", "m/s", "cm/s", 1.5, 150.0),
    ("velocity_m", "cm/s", "m/s", 250.0, 2.5),
])
def test_published_factors(quantity, source, target, value, expected):
    factor = conversion_factor(quantity, source, target, column="x")
    assert value * factor == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize("spelling", ["mg/dl", "MG/DL", " mg/dL "])
def test_case_and_space_do_not_matter(spelling):
    assert conversion_factor("creatinine", spelling, "mg/dL", column="x") == 1.0


@pytest.mark.parametrize("spelling", ["x10^9/l", "×10^9/L", "10E9/L", "10**9/L"])
def test_power_of_ten_spellings(spelling):
    assert conversion_factor("cell_count", spelling, "/µL", column="x") == pytest.approx(1000)


def test_greek_mu_and_micro_sign_are_the_same():
    greek = conversion_factor("creatinine", "μmol/L", "mg/dL", column="x")
    micro = conversion_factor("creatinine", "µmol/L", "mg/dL", column="x")
    assert greek == micro


def test_unknown_unit_names_the_column_and_lists_known_units():
    with pytest.raises(MappingError) as err:
        conversion_factor("haemoglobin", "mg/mL", "g/dL", column="Hb_Wert")
    assert "column 'Hb_Wert'" in err.value.message
    assert "g/dL, g/L, mmol/L" in err.value.message
    assert "factor" in err.value.fix


def test_quantity_without_table_needs_a_factor():
    assert conversion_factor("potassium", "mmol/L", "mmol/l", column="K") == 1.0
    with pytest.raises(MappingError, match="no unit table for quantity 'potassium'"):
        conversion_factor("potassium", "mg/dL", "mmol/L", column="K")


def test_variable_factor_checks_the_variable():
    # Setup
    sex = Variable("sex", VariableType.CATEGORICAL, categories=("F", "M"))
    mcv = Variable("mcv", VariableType.CONTINUOUS, unit="fL")
    os_days = Variable("os_days", VariableType.DURATION, unit="days")
    # Run / Assert
    with pytest.raises(MappingError, match="'unit' given for categorical"):
        variable_factor(sex, "g/L", column="Geschlecht")
    with pytest.raises(MappingError, match="has no quantity"):
        variable_factor(mcv, "pL", column="MCV")
    assert variable_factor(mcv, "fl", column="MCV") == 1.0
    assert variable_quantity(os_days) == "duration"
    assert variable_factor(os_days, "months", column="OS_Monate") == 30.4375


def test_every_table_has_a_reference_unit():
    for quantity in UNITS:
        assert 1.0 in UNITS[quantity].values()
        assert known_units(quantity)
    assert known_units("nothing") == ()
