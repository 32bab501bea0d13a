"""SCD case-report-form fields in the hospital-style exports and their mappings (issue 26).

Weight, height, blood pressure, albuminuria and liver iron leave each style in the units that
site reports them in, and the mapping the export writes brings every cell back exactly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthema.cohorts import scd
from synthema.cohorts.raw import make_raw_export
from synthema.harmonize import harmonize
from synthema.harmonize.units import conversion_factor
from synthema.schema import load_dictionary

D = load_dictionary("scd")


@pytest.fixture(scope="module")
def clean() -> pd.DataFrame:
    return scd.simulate_site(400, site=1, n_sites=4, rng=np.random.default_rng(26))


def _export(clean: pd.DataFrame, site: int):
    return make_raw_export(clean, D, site=site, age_column="age",
                           index_date_column="enrolment_date", rng=np.random.default_rng(site))


@pytest.mark.parametrize("site", [1, 2, 3, 4])
def test_new_fields_round_trip_through_every_style(clean, site):
    # Run
    export = _export(clean, site)
    back = harmonize(export.data, D, export.mapping)
    # Assert
    pd.testing.assert_frame_equal(back.data, clean)
    assert back.summary.dropped_total == 0


def test_us_style_reports_weight_in_pounds_and_height_in_inches(clean):
    # Setup
    export = _export(clean, site=3)
    cols = export.mapping["columns"]
    # Assert: headers and units name the site's units, values are the converted ones
    assert cols["weight_kg"] == {"from": "WEIGHT_LB", "unit": "lb"}
    assert cols["height_cm"] == {"from": "HEIGHT_IN", "unit": "in"}
    first = clean["weight_kg"].first_valid_index()
    pounds = float(export.data.loc[first, "WEIGHT_LB"].replace(",", ""))
    assert pounds * 0.45359237 == pytest.approx(float(clean.loc[first, "weight_kg"]), abs=0.05)


def test_european_styles_report_albuminuria_in_mg_per_mmol(clean):
    # Setup
    german, french = _export(clean, site=1), _export(clean, site=2)
    # Assert
    assert german.mapping["columns"]["acr_mg_g"]["unit"] == "mg/mmol"
    assert french.mapping["columns"]["acr_mg_g"]["unit"] == "mg/mmol"
    assert french.mapping["columns"]["liver_iron_mri"]["unit"] == "µmol/g"
    assert german.mapping["columns"]["systolic_bp"]["from"] == "RR_sys"


def test_unit_factors_for_the_new_quantities():
    # Assert: exact definitions (lb, in), molar masses (creatinine 113.12, iron 55.845 g/mol)
    assert conversion_factor("mass", "lb", "kg", column="w") == 0.45359237
    assert conversion_factor("length", "in", "cm", column="h") == 2.54
    assert conversion_factor("albumin_creatinine_ratio", "mg/mmol", "mg/g",
                             column="acr") == pytest.approx(8.8402, abs=1e-4)
    assert conversion_factor("liver_iron", "µmol/g", "mg/g", column="lic") == 0.055845
    assert conversion_factor("pressure", "kPa", "mmHg", column="bp") == 7.50062
