"""Columns a policy releases exactly, judged by their values as well as their names.

:func:`synthema.anonymize.pipeline.check_release` refuses identifiers and free text; this
module refuses the rest of what a misconfigured policy could release exactly from
``purpose.keep`` or ``sensitive`` (quasi-identifiers are generalised, dates under
``dates.columns`` shifted or generalised):

- **dates**, by the dictionary's type or because most cells read as dates in a common
  format (a ``birthdate`` or ``Geb.-Datum`` column under any header);
- **durations**: a dictionary variable of type duration, or counted in days, weeks,
  months or years (``age`` is years since birth), or a header that names a time unit
  (``os_months``, ``Tage``, ``years since``) over numbers. With a public date (the data
  cut-off, a diagnosis date) a duration gives the other date back, so it must be a
  quasi-identifier, generalised in bands with the dates;
- **relative dates** (``dates.method: relative``): days from the anchor are a duration
  too, released only as a quasi-identifier;
- **columns distinct on nearly every row** (an 8-digit hospital number, a sample id), and
  **columns the policy's dictionary does not declare**, unless the policy lists them under
  ``identifiers.allow`` (or ``identifiers.keep_free_text``) after a check by hand.

Every message names the policy, the column and the fix; none quotes a cell.
"""

from __future__ import annotations

import re

import pandas as pd

from synthema.anonymize.policy import ALLOWANCES, Policy
from synthema.errors import AnonymizationError
from synthema.schema import Dictionary, VariableType

#: a column whose non-missing cells are distinct on this share of rows tells patients apart
DISTINCT_SHARE = 0.9
#: fewer non-missing cells than this: distinctness says nothing (every value may be rare)
MIN_ROWS_DISTINCT = 20
#: a column whose cells read as dates on more than this share is a date
DATE_SHARE = 0.5
#: date formats cells are tried in (a year alone is not tried: numbers like 1950 are common)
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m",
                "%d.%m.%Y", "%d.%m.%y", "%d/%m/%Y", "%m/%d/%Y", "%d/%m/%y", "%m/%d/%y",
                "%d-%m-%Y", "%Y%m%d",
                # month names (English abbreviations, any case): Oracle's DD-MON-YYYY and
                # DD-MON-RR, SAS DATE9 (03FEB1961), 03 Feb 1961, Feb 03, 1961
                "%d-%b-%Y", "%d-%b-%y", "%d%b%Y", "%d%b%y", "%d %b %Y", "%d.%b.%Y",
                "%b %d, %Y", "%d %B %Y", "%B %d, %Y")
#: plausible years of a date in a clinical table
_YEARS = (1900, 2100)

#: units that make a number a duration, by the unit they are read as
_TIME_UNITS = {
    "days": "days", "day": "days", "tage": "days", "tagen": "days",
    "jours": "days", "jour": "days", "giorni": "days", "giorno": "days",
    "weeks": "weeks", "week": "weeks", "wk": "weeks", "wks": "weeks", "wochen": "weeks",
    "semaines": "weeks", "settimane": "weeks",
    "months": "months", "month": "months", "mo": "months", "mos": "months", "monate": "months",
    "monaten": "months", "mois": "months", "mesi": "months",
    "years": "years", "year": "years", "yr": "years", "yrs": "years",
    "jahre": "years", "jahren": "years", "ans": "years", "anni": "years",
    # an age is years since birth
    "age": "years", "alter": "years", "âge": "years", "eta": "years", "età": "years",
}
#: header words before a unit that make it a rate, not a duration (voc_per_year)
_RATE = {"per", "pro", "par", "a", "al", "je"}
#: header words that make a number a time since an event
_SINCE = re.compile(r"\b(since|seit|depuis|dal|dalla|time to|time since)\b", re.IGNORECASE)
#: interval bands to suggest for a duration, by unit (each nests in the next, cap a multiple)
_BANDS = {"days": "bands: [90, 180, 360], cap: 1080", "weeks": "bands: [4, 12, 24, 48], cap: 144",
          "months": "bands: [3, 6, 12], cap: 36", "years": "bands: [5, 10, 20]"}


def _cells(values: pd.Series) -> pd.Series:
    """Non-missing cells as stripped text."""
    text = values.dropna().astype(str).str.strip()
    return text[text != ""]


#: a time of day after a date: "08:00", "08:00:05.123", "8:00 PM", "T08:00:00Z", "+01:00"
_TIME_OF_DAY = re.compile(
    r"(?:\s+|T)\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:\s*[AaPp]\.?[Mm]\.?)?"
    r"(?:\s*(?:Z|[+-]\d{2}:?\d{2}))?$")


def reads_as_date(text: pd.Series) -> pd.Series:
    """Which cells (stripped text) read as a date in one of :data:`DATE_FORMATS`, with or
    without a time of day after it (a date-time is a date to an attacker).

    >>> reads_as_date(pd.Series(["2020-01-01 08:00", "03.04.1955 14:30:10", "1.5", "08:00"])
    ...               ).tolist()
    [True, True, False, False]
    """
    day = text.str.replace(_TIME_OF_DAY, "", regex=True)
    ok = pd.Series(False, index=text.index)
    for fmt in DATE_FORMATS:
        for cells in (text, day):
            parsed = pd.to_datetime(cells, format=fmt, errors="coerce")
            ok |= parsed.notna() & parsed.dt.year.between(*_YEARS)
    return ok


def date_share(values: pd.Series) -> float:
    """Share of the non-missing cells that read as a date in one of :data:`DATE_FORMATS`.

    >>> date_share(pd.Series(["1961-02-03", "03.04.1955", None, "x"]))
    0.6666666666666666
    >>> date_share(pd.Series(["12345678", "87654321", "365"]))  # numbers, not dates
    0.0
    >>> date_share(pd.Series(["01-MAR-1932", "01FEB1945", "01-may-30", "Feb 3, 1961"]))
    1.0
    >>> date_share(pd.Series(["2020-01-01 08:00", "2020-02-03 10:15"]))  # date-times
    1.0
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        return 1.0
    if pd.api.types.is_bool_dtype(values):
        return 0.0
    text = _cells(values)
    if text.empty:
        return 0.0
    return float(reads_as_date(text).mean())


def distinct_share(values: pd.Series) -> float | None:
    """Distinct values per non-missing cell (None under :data:`MIN_ROWS_DISTINCT` cells).

    >>> distinct_share(pd.Series(range(100))), distinct_share(pd.Series([1, 2] * 50))
    (1.0, 0.02)
    """
    text = _cells(values)
    return None if len(text) < MIN_ROWS_DISTINCT else text.nunique() / len(text)


def _numbers(values: pd.Series) -> bool:
    """Whether most non-missing cells are numbers (decimal comma allowed)."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return True
    text = _cells(values)
    num = pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce")
    return bool(len(text)) and float(num.notna().mean()) >= 0.9


def header_unit(header: str) -> str | None:
    """The time unit a header names (``os_months`` -> months), None if it names none.

    A unit after ``per`` is a rate (``voc_per_year``), not a duration.

    >>> [header_unit(h) for h in ("os_months", "Überleben (Tage)", "voc_per_year", "age", "hb")]
    ['months', 'days', None, 'years', None]
    >>> header_unit("years since diagnosis")
    'years'
    """
    words = [w for w in re.split(r"[\W_]+", str(header).casefold()) if w]
    for i, word in enumerate(words):
        if word in _TIME_UNITS and (i == 0 or words[i - 1] not in _RATE):
            return _TIME_UNITS[word]
    return "days" if _SINCE.search(str(header).replace("_", " ")) else None


def column_kind(col: str, values: pd.Series, dictionary: Dictionary | None
                ) -> tuple[str, str] | None:
    """``("date", "")`` or ``("duration", unit)`` for a column of dates or of time spans.

    The dictionary's type decides first (a duration, or a number in a time unit: ``age`` in
    years); then the values (dates in a common format, whatever the header); then, for a
    column the dictionary does not declare, a header naming a time unit over numbers.
    """
    if dictionary is not None and col in dictionary:
        var = dictionary[col]
        unit = _TIME_UNITS.get((var.unit or "").strip().casefold())
        if var.type is VariableType.DATE:
            return "date", ""
        if var.type is VariableType.DURATION:
            return "duration", unit or "days"
        if var.type.is_numeric and unit:
            return "duration", unit
    if date_share(values) > DATE_SHARE:
        return "date", ""
    if dictionary is None or col not in dictionary:
        unit = header_unit(col)
        if unit and _numbers(values):
            return "duration", unit
    return None


def duration_fix(col: str, unit: str) -> str:
    """The quasi-identifier a duration in ``unit`` could be released as."""
    bands = _BANDS.get(unit, _BANDS["days"])
    return (f"make it a quasi-identifier, generalised with its date: {col}: {{type: interval, "
            f"{bands}, min_level: 1}} (or remove it from purpose.keep)")


def _declared(col: str, dictionary: Dictionary) -> bool:
    return col in dictionary or col == dictionary.patient_id


def check_kept_columns(df: pd.DataFrame, policy: Policy, *, dictionary: Dictionary | None,
                       pseudonymised: set[str]) -> None:
    """Refuse a date, duration, id-like or undeclared column released exactly.

    Looks at ``purpose.keep`` and ``sensitive`` columns of ``df`` that are neither
    quasi-identifiers, nor pseudonymised, nor dates the policy shifts or generalises; and
    at ``relative`` date outputs, which must be quasi-identifiers.

    Raises:
        AnonymizationError: naming the policy, the column and the fix; no cell is quoted.
    """
    qis = {h.column for h in policy.quasi_identifiers}
    dates = policy.dates
    released = [c for c in dict.fromkeys([*policy.keep, *policy.sensitive]) if c in df.columns]
    if dates.method == "relative":
        for col in dates.columns:
            if col != dates.anchor and col in released and col not in qis:
                raise AnonymizationError(
                    f"{policy.source}: column '{col}' would be released as days from "
                    f"{dates.anchor} (dates.method relative): a duration, which with a public "
                    "data cut-off gives the date back (date = cut-off - days for every patient "
                    "alive at the cut-off)",
                    fix=f"make it a quasi-identifier as well, generalised with the dates: "
                        f"quasi_identifiers: {{{col}: {{type: interval, {_BANDS['days']}, "
                        "min_level: 1}}, or use dates.method shift or generalize")
    handled = set(dates.columns) if dates.method != "keep" else set()
    for col in released:
        if col in qis or col in handled or col in pseudonymised:
            continue
        where = (f"{policy.source}: column '{col}' "
                 f"({'purpose.keep' if col in policy.keep else 'sensitive'})")
        # free text kept after a check by hand (keep_free_text) passes these checks too
        allowed = ALLOWANCES if col in policy.keep_free_text else policy.allow.get(col, ())
        match column_kind(col, df[col], dictionary):
            case ("duration", unit):
                raise AnonymizationError(
                    f"{where} is a duration ({unit} from a date) and would be released "
                    "exactly: with a public date (a data cut-off, a diagnosis date) it gives the "
                    f"other date back (date = cut-off - {unit} for every patient alive at the "
                    "cut-off)", fix=duration_fix(col, unit))
            case ("date", _):
                raise AnonymizationError(
                    f"{where} is a date (by the dictionary or by its values) and would be "
                    "released exactly",
                    fix=f"make it a quasi-identifier ({col}: {{type: date, levels: [month, "
                        "quarter, year], min_level: 1}), or list it under dates.columns with "
                        "method shift or generalize")
            case _:
                pass
        share = distinct_share(df[col])
        if share is not None and share >= DISTINCT_SHARE and "distinct" not in allowed:
            raise AnonymizationError(
                f"{where} is distinct on {share:.0%} of its non-missing rows: values that tell "
                "patients apart are identifiers (a hospital, case or sample number) or "
                "quasi-identifiers",
                fix=f"remove it from the policy, pseudonymise it (pseudonym.column) or "
                    f"generalise it under quasi_identifiers; only if checked by hand to "
                    f"identify no one: identifiers: {{allow: {{{col}: [distinct]}}}}")
        if dictionary is not None and not _declared(col, dictionary) \
                and "undeclared" not in allowed:
            raise AnonymizationError(
                f"{where} is not a variable of the policy's dictionary ({dictionary.name}): "
                "nothing says what it holds (an identifier, a date, a duration?)",
                fix=f"remove it from purpose.keep, or, once checked by hand, list it: "
                    f"identifiers: {{allow: {{{col}: [undeclared]}}}}")
