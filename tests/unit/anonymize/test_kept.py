"""Misconfigured policies: a column kept exactly is judged by its values, not only its header.

Each case is one the re-attack of issue 23 ran through the CLI: before, every one of them
exited 0 and released the column (birth dates, an 8-digit hospital number, survival in
months, initials, surnames, last-contact dates relative to diagnosis = os_days exactly, the
exact age)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from synthema.anonymize import AnonymizationError, anonymize, load_policy
from synthema.schema import load_dictionary


@pytest.fixture(scope="module")
def hospital(raw_aml) -> pd.DataFrame:
    """The AML test site with the extra columns a hospital table could carry."""
    rng = np.random.default_rng(5)
    df = raw_aml.drop(columns=["Geburtsdatum"]).copy()
    dx = pd.to_datetime(df["diagnosis_date"])
    os_days = df["os_days"].astype(int)
    df["last_contact_date"] = (dx + pd.to_timedelta(os_days, unit="D")).dt.strftime("%Y-%m-%d")
    df["os_months"] = (os_days / 30.4375).round(2).astype(str)
    df["ref"] = rng.choice(np.arange(10_000_000, 99_999_999), len(df), replace=False).astype(str)
    birth = dx - pd.to_timedelta(df["age"].astype(int) * 365.25 + rng.integers(0, 365, len(df)),
                                 unit="D")
    df["birthdate"] = birth.dt.strftime("%Y-%m-%d")
    df["Geb.-Datum"] = birth.dt.strftime("%d.%m.%Y")
    df["d1"] = birth.dt.strftime("%d/%m/%Y")  # birth dates under a header that says nothing
    # months of birth as database exports write them (Oracle DD-MON-YYYY, SAS DATE9): 77%
    # distinct, under the distinct-column check; released without a dictionary on main
    month = birth.dt.to_period("M").dt.to_timestamp()
    df["d2"] = month.dt.strftime("%d-%b-%Y").str.upper()
    df["d3"] = month.dt.strftime("%d%b%Y").str.upper()
    df["arzt"] = rng.choice(["Müller", "Schmidt", "Schneider", "Fischer", "Weber"], len(df))
    df["Initialen"] = [f"{a}.{b}." for a, b in zip(rng.choice(list("ABCDEFGHJKLMN"), len(df)),
                                                   rng.choice(list("ABCDEFGHJKLMN"), len(df)),
                                                   strict=True)]
    df["Patient ID"] = df["patient_id"]
    df["ward"] = rng.choice(["H1", "H2", "KMT"], len(df))
    return df


def _policy(keep: str, *, dictionary: bool = True, **changes):
    base = load_policy("aml")
    policy = dataclasses.replace(base, keep=(*base.keep, keep), **changes)
    return policy if dictionary else dataclasses.replace(policy, dictionary=None)


def _no_age_qi():
    return tuple(q for q in load_policy("aml").quasi_identifiers if q.column != "age")


def _relative():
    return dataclasses.replace(load_policy("aml").dates, method="relative",
                               columns=("last_contact_date",), anchor="diagnosis_date")


# column kept, extra policy changes, words of the refusal
CASES = {
    "relative dates (= os_days)": ("last_contact_date", {"dates": _relative()},
                                   "days from diagnosis_date"),
    "survival in months": ("os_months", {}, "is a duration (months"),
    "8-digit hospital number": ("ref", {}, "distinct on 100%"),
    "birthdate": ("birthdate", {}, "direct identifier"),
    "Geb.-Datum": ("Geb.-Datum", {}, "direct identifier"),
    "birth dates, neutral header": ("d1", {}, "is a date"),
    "birth months DD-MON-YYYY, neutral header": ("d2", {}, "is a date"),
    "birth months SAS DATE9, neutral header": ("d3", {}, "is a date"),
    "surnames (arzt)": ("arzt", {}, "direct identifier"),
    "Initialen": ("Initialen", {}, "direct identifier"),
    "Patient ID": ("Patient ID", {}, "direct identifier"),
    "exact age, not a QI": ("age", {"quasi_identifiers": None}, "is a duration (years"),
}


@pytest.mark.parametrize("dictionary", [True, False], ids=["with dictionary", "without"])
@pytest.mark.parametrize("case", list(CASES))
def test_misconfigured_policy_is_refused_in_one_line_quoting_no_cell(hospital, key, case,
                                                                     dictionary, scan):
    # Setup
    column, changes, words = CASES[case]
    if "quasi_identifiers" in changes:
        changes = {"quasi_identifiers": _no_age_qi()}
    policy = _policy(column, dictionary=dictionary, **changes)
    # Run
    with pytest.raises(AnonymizationError) as err:
        anonymize(hospital, policy, key=key, file="site.csv")
    # Assert: one line naming the column, a fix, and no cell of the column
    message, fix = err.value.message, err.value.fix
    assert words in message and f"'{column}'" in message, message
    assert "\n" not in message + fix and fix
    cells = {str(v) for v in hospital[column].dropna() if len(str(v)) >= 4}
    assert not scan(cells, message + fix)


def test_undeclared_column_is_refused_unless_allowed(hospital, key):
    # Setup: a column the dictionary does not declare: nobody has said what it holds
    policy = _policy("ward")
    # Run / Assert
    with pytest.raises(AnonymizationError) as err:
        anonymize(hospital, policy, key=key)
    assert "not a variable of the policy's dictionary (aml)" in err.value.message
    assert "allow: {ward: [undeclared]}" in err.value.fix
    allowed = dataclasses.replace(policy, allow={"ward": ("undeclared",)})
    assert set(anonymize(hospital, allowed, key=key).data["ward"]) <= {"H1", "H2", "KMT"}


def test_distinct_column_needs_both_allowances(hospital, key):
    # a column checked by hand can be let through, but only check by check
    policy = _policy("ref", allow={"ref": ("undeclared",)})
    with pytest.raises(AnonymizationError, match="distinct on 100%"):
        anonymize(hospital, policy, key=key)
    both = dataclasses.replace(policy, allow={"ref": ("undeclared", "distinct")})
    assert "ref" in anonymize(hospital, both, key=key).data


def test_allowances_are_validated():
    with pytest.raises(AnonymizationError, match="identifiers.allow.ward"):
        dataclasses.replace(load_policy("aml"), allow={"ward": ("everything",)})


def test_builtin_policies_pass_the_checks(key, date_key):
    # the new checks refuse nothing the built-in policies release (a shifted enrolment date
    # is distinct on most rows, but it is a date the policy shifts)
    from synthema.cohorts.simulate import simulate

    for disease in ("aml", "scd"):
        data = simulate(disease, sites=1, patients=400, seed=4)[0].data
        assert len(anonymize(data, load_policy(disease), key=key, date_key=date_key).data)


def test_column_kinds_by_dictionary_values_and_header():
    from synthema.anonymize.kept import column_kind, date_share, header_unit

    aml = load_dictionary("aml")
    assert column_kind("age", pd.Series([61, 70]), aml) == ("duration", "years")
    assert column_kind("os_days", pd.Series([1, 2]), aml) == ("duration", "days")
    assert column_kind("diagnosis_date", pd.Series(["2020-01-01"]), aml) == ("date", "")
    assert column_kind("eln2022", pd.Series(["adverse"]), aml) is None
    assert column_kind("x", pd.Series(["03.04.1955", "1.2.1960"]), None) == ("date", "")
    assert column_kind("os_months", pd.Series(["12,5", "3"]), None) == ("duration", "months")
    assert column_kind("os_months", pd.Series(["long", "short"]), None) is None  # not numbers
    assert column_kind("voc_per_year", pd.Series([1, 3]), None) is None  # a rate
    assert header_unit("Jahre seit Diagnose") == "years"
    assert date_share(pd.Series([str(10_000_000 + 7919 * i) for i in range(500)])) < 0.05
