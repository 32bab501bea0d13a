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


@pytest.mark.parametrize("cells", [
    ["2020-01-01 08:00", "2020-02-03 10:15"],  # minutes, no seconds
    ["03.04.1955 14:30", "01.02.1960 08:00:05"],  # day-first with a time
    ["2020-01-01T08:00:00Z", "2021-05-06T23:59:59+01:00"],  # ISO with a zone
    ["2/3/1961 8:00 PM", "12/25/1960 11:30 am"],  # month-first, 12-hour clock
    ["01-MAR-1932 00:00:00", "03FEB1961 12:00"],  # month names with a time
])
def test_date_times_are_dates(cells):
    # Setup: a released date-time is a date to an attacker, whatever its time of day
    from synthema.anonymize.deidentify import identifier_values
    from synthema.anonymize.kept import column_kind, date_share

    values = pd.Series(cells * 15)

    # Run / Assert: read as dates (so kept as a date or refused as one), not as ids or text
    assert date_share(values) == 1.0
    assert column_kind("when", values, None) == ("date", "")
    assert identifier_values(pd.Series([f"{c} " for c in cells] * 15)) is None


def test_a_time_of_day_alone_is_not_a_date():
    # Setup
    from synthema.anonymize.kept import date_share

    # Run / Assert
    assert date_share(pd.Series(["08:00", "14:30:10", "8:00 PM"])) == 0.0


# Boundaries of the value checks, each computed by hand (issue 28: mutation survivors)

def _kept(*columns: str, **changes):
    """The AML policy keeping only ``columns`` (no sensitive column), with ``changes``."""
    return dataclasses.replace(load_policy("aml"), keep=columns, sensitive={}, **changes)


def _check(df: pd.DataFrame, policy, *, dictionary=None, pseudonymised=frozenset()):
    from synthema.anonymize.kept import check_kept_columns

    check_kept_columns(df, policy, dictionary=dictionary, pseudonymised=set(pseudonymised))


def _codes(distinct: int, rows: int) -> list[str]:
    """``rows`` ward codes W01.. of which ``distinct`` differ (the last ones repeat W01)."""
    return [f"W{i + 1:02d}" for i in range(distinct)] + ["W01"] * (rows - distinct)


def test_distinct_share_counts_from_exactly_min_rows_distinct():
    from synthema.anonymize.kept import MIN_ROWS_DISTINCT, distinct_share

    # Setup: 20 distinct codes (the minimum), and 19; a missing and a blank cell do not count
    assert MIN_ROWS_DISTINCT == 20
    twenty = pd.Series([*_codes(20, 20), None, " "])
    nineteen = pd.Series(_codes(19, 19))
    # Run
    shares = distinct_share(twenty), distinct_share(nineteen)
    # Assert: 20 of 20 distinct = 1.0; 19 cells are too few to say anything
    assert shares == (1.0, None)


def test_column_distinct_on_exactly_distinct_share_is_refused():
    # Setup: 20 rows, 18 distinct codes = 18/20 = 0.9 = DISTINCT_SHARE (refused, >=), and
    # 17 distinct = 0.85 (passes); 20 distinct codes on exactly MIN_ROWS_DISTINCT rows (refused)
    # and 19 codes on 19 rows (too few to judge: passes)
    policy = _kept("code")
    # Run / Assert
    with pytest.raises(AnonymizationError) as err:
        _check(pd.DataFrame({"code": _codes(18, 20)}), policy)
    assert "column 'code' (purpose.keep) is distinct on 90%" in err.value.message
    with pytest.raises(AnonymizationError, match="distinct on 100%"):
        _check(pd.DataFrame({"code": _codes(20, 20)}), policy)
    _check(pd.DataFrame({"code": _codes(17, 20)}), policy)
    _check(pd.DataFrame({"code": _codes(19, 19)}), policy)


@pytest.mark.parametrize("cell, share", [("1900-01-01", 1.0), ("2100-12-31", 1.0),
                                         ("1899-12-31", 0.0), ("2101-01-01", 0.0),
                                         ("1850-06-15", 0.0)])
def test_date_share_counts_years_1900_to_2100_inclusive(cell, share):
    from synthema.anonymize.kept import date_share

    # Setup: a date that parses, inside or just outside the plausible years
    values = pd.Series([cell])
    # Run / Assert
    assert date_share(values) == share


def test_date_share_by_dtype_and_of_an_empty_column():
    from synthema.anonymize.kept import column_kind, date_share

    # Setup: timestamps with a time zone (their text, '1961-02-03 00:00:00+00:00', matches no
    # format: the dtype alone says they are dates), booleans, and columns with no cell
    stamps = pd.Series(pd.to_datetime(["1961-02-03", "1970-01-01"])).dt.tz_localize("UTC")
    flags = pd.Series([True, False, True])
    empty = [pd.Series([None, " ", ""]), pd.Series([], dtype=object)]
    # Run / Assert
    assert date_share(stamps) == 1.0
    assert column_kind("x", stamps, None) == ("date", "")
    assert date_share(flags) == 0.0
    assert [date_share(s) for s in empty] == [0.0, 0.0]
    assert [column_kind("x", s, None) for s in empty] == [None, None]


def test_column_is_a_date_on_more_than_half_of_its_cells():
    from synthema.anonymize.kept import DATE_SHARE, column_kind

    # Setup: 2 of 4 cells are dates (exactly DATE_SHARE = 0.5: not a date), 3 of 5 are (0.6)
    assert DATE_SHARE == 0.5
    half = pd.Series(["2020-01-01", "03.04.1955", "n/a", "unknown"])
    more = pd.Series(["2020-01-01", "03.04.1955", "1961/02/03", "n/a", "unknown"])
    # Run / Assert
    assert column_kind("x", half, None) is None
    assert column_kind("x", more, None) == ("date", "")


def test_header_in_a_time_unit_over_numbers_at_the_boundary():
    from synthema.anonymize.kept import column_kind, header_unit

    # Setup: 9 numbers of 10 cells (exactly 0.9: numbers), 8 of 10 (not numbers); a float
    # column with no value (its dtype says numbers); booleans under a unit header (not numbers)
    nine = pd.Series([*(str(i) for i in range(1, 9)), "2,5", "n/a"])
    eight = pd.Series([*(str(i) for i in range(1, 9)), "n/a", "unknown"])
    missing = pd.Series([np.nan, np.nan])
    flags = pd.Series([True, False] * 5)
    # Run / Assert
    assert header_unit("relapse_within_year") == "years"
    assert column_kind("os_months", nine, None) == ("duration", "months")
    assert column_kind("os_months", eight, None) is None
    assert column_kind("os_months", missing, None) == ("duration", "months")
    assert column_kind("relapse_within_year", flags, None) is None


def test_header_with_the_unit_as_first_word():
    from synthema.anonymize.kept import header_unit

    # Setup: 'Alter (a)' is age in years (a = annum): a first word has no word before it, so
    # it is a unit even when the header ends in a rate word ('a', 'per'); 'a' before the unit
    # makes a rate
    headers = ["Alter (a)", "months_a", "voc_a_year"]
    # Run / Assert
    assert [header_unit(h) for h in headers] == ["years", "months", None]


def _dictionary(**types):
    from synthema.schema import Dictionary
    from synthema.schema.variable import Variable

    variables = tuple(Variable.from_mapping({"name": name, **spec}) for name, spec in types.items())
    return Dictionary(name="t", version="1", variables=variables)


def test_dictionary_type_decides_before_the_values():
    from synthema.anonymize.kept import column_kind

    # Setup: a date variable whose cells read as no date, durations with and without a unit
    # (a duration without one counts days), and a duration in a unit that is not a time unit
    dic = _dictionary(visit={"type": "date"}, fu={"type": "duration"},
                      fu_m={"type": "duration", "unit": "Months"},
                      fu_x={"type": "duration", "unit": "cycles"})
    codes = pd.Series(["unknown", "n/a"])
    # Run / Assert
    assert column_kind("visit", codes, dic) == ("date", "")
    assert column_kind("fu", codes, dic) == ("duration", "days")
    assert column_kind("fu_m", codes, dic) == ("duration", "months")
    assert column_kind("fu_x", codes, dic) == ("duration", "days")


@pytest.mark.parametrize("skipped", ["quasi-identifier", "pseudonymised", "dates.columns"])
def test_a_skipped_column_does_not_stop_the_checks_of_later_ones(skipped):
    # Setup: the first kept column is skipped (a quasi-identifier, pseudonymised, or a date
    # the policy shifts); the second holds birth dates and must still be refused
    first = {"quasi-identifier": "age", "pseudonymised": "pid", "dates.columns": "visit"}[skipped]
    df = pd.DataFrame({first: ["61", "70"], "d1": ["03/04/1955", "17/11/1948"]})
    changes = {"dates": dataclasses.replace(load_policy("aml").dates, method="shift",
                                            columns=("visit",))}
    # Run
    with pytest.raises(AnonymizationError) as err:
        _check(df, _kept(first, "d1", **changes), pseudonymised={"pid"})
    # Assert
    assert "column 'd1' (purpose.keep) is a date" in err.value.message
