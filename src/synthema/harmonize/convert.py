"""Converting one source column into one dictionary variable, accounting for every cell.

:func:`convert_column` is the per-column step of :func:`synthema.harmonize.apply.harmonize`:
code maps, boolean words, dates in a site's format (:mod:`synthema.harmonize.dates`),
numbers under the file's decimal mark, unit factors and rounding
(:mod:`synthema.harmonize.numbers`). It never drops a value without saying so: each cell
that does not make it into the typed column is flagged under a reason (``dropped``), each
value changed beyond the declared conversion is flagged under ``repaired``. Ranges are
checked on the value as measured (after the unit conversion, before rounding).

>>> from synthema.schema.dictionary import Variable, VariableType
>>> hb = Variable("hb", VariableType.CONTINUOUS, unit="g/dL", min=2, max=20, decimals=1)
>>> text = pd.Series(["8.69", "x", None, "20"], dtype="string")
>>> out = convert_column(text, hb, factor=1.6114)
>>> out.values.tolist(), out.dropped_counts()
([14.0, <NA>, <NA>, <NA>], {'not a number': 1, 'out of range': 1})
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthema.harmonize.dates import (
    DATE_FORMATS,
    MIDNIGHT_READ,
    SHIFTED_MIDNIGHT,
    TIME_DROPPED,
    OtherFormat,
    guess_date_format,
    read_dates,
    serial_hint,
    shown_format,
)
from synthema.harmonize.numbers import (
    decimal_comma,
    finish_numeric,
    is_age,
    parse_number,
    read_numbers,
)
from synthema.schema.dictionary import Variable, VariableType
from synthema.schema.values import out_of_range, typed_dtype

# cohorts/ imports parse_number and finish_numeric, anonymize/ guess_date_format from here
__all__ = [
    "DATE_FORMATS", "ColumnOutcome", "code_text", "convert_column", "decimal_comma",
    "finish_numeric", "guess_date_format", "parse_number",
]

TRUE_WORDS = frozenset({
    "1", "1.0", "true", "t", "yes", "y", "ja", "j", "oui", "si", "sí", "sì", "vero", "wahr",
    "vrai", "pos", "positive", "positiv", "positif", "positivo", "present", "x",
})
FALSE_WORDS = frozenset({
    "0", "0.0", "false", "f", "no", "n", "nein", "non", "falso", "falsch", "faux", "neg",
    "negative", "negativ", "négatif", "negatif", "negativo", "absent",
})
_BOOLEAN = {w: True for w in TRUE_WORDS} | {w: False for w in FALSE_WORDS}
NOT_A_CATEGORY = "not a category"
UNMAPPED_CODE = "unmapped code"
NOT_A_NUMBER = "not a number"
DECIMAL_COMMA = "not a number (decimal comma? set read: decimal: ',')"
CODE_CASE = "code matched ignoring case"
NOT_TRUE_FALSE = "not true/false"
OUT_OF_RANGE = "out of range"
OTHER_MARK = "'.' read as the decimal point (the file's mark is ',')"
TICK_MARK = "tick mark 'x' read as true"
ROUNDS_TO_ZERO = "non-zero value rounds to 0 after conversion (unit? decimal mark?)"
AMBIGUOUS_DATE = "day/month ambiguous, date format in doubt"
COMPLETED_YEARS = "cut to completed years (age)"
NOT_A_CODE = "not a code, read as the category itself"
CODING_IN_DOUBT = "written as a category in a column whose coding is in doubt"
GROUP_OR_DECIMAL = "a mark before 3 digits in a whole-number column (thousands or decimal?)"
_GROUP_OR_DECIMAL = {".": re.compile(r"^[+-]?[1-9]\d{0,2}\.\d{3}$"),
                     ",": re.compile(r"^[+-]?[1-9]\d{0,2},\d{3}$")}


@dataclass
class ColumnOutcome:
    """A typed column plus, per reason, masks of the cells dropped or repaired."""

    values: pd.Series
    present: np.ndarray
    declared_missing: np.ndarray
    dropped: dict[str, np.ndarray] = field(default_factory=dict)
    repaired: dict[str, np.ndarray] = field(default_factory=dict)
    date_other: OtherFormat | None = None
    hint: str = ""
    mixed_marks: np.ndarray | None = None
    mixed_mark: str = "."
    coding_doubt: np.ndarray | None = None

    def dropped_counts(self) -> dict[str, int]:
        """Number of cells dropped per reason (reasons with none left out)."""
        return {k: int(m.sum()) for k, m in self.dropped.items() if m.any()}

    def repaired_counts(self) -> dict[str, int]:
        """Number of cells repaired per reason (reasons with none left out)."""
        return {k: int(m.sum()) for k, m in self.repaired.items() if m.any()}


def code_text(value: Any) -> str | None:
    """The text a code map's target value stands for (None = declared missing)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def convert_column(
    text: pd.Series,
    var: Variable,
    *,
    codes: Mapping[str, Any] | None = None,
    factor: float | None = None,
    date_format: str | None = None,
    decimal: str = ".",
    confirm_date_format: bool = False,
    plain: np.ndarray | None = None,
) -> ColumnOutcome:
    """Turn a column of text cells (NA = missing) into the variable's typed column.

    Args:
        text: source cells, already stripped, NA where the site wrote a missing marker.
        var: the dictionary variable.
        codes: source text -> target value (a category, true/false, a number, or None for
            "means missing"); cells not in the map pass when already valid.
        factor: multiplier from the source unit to the variable's unit (numbers only).
        date_format: ``strptime`` format of dates (ISO ``%Y-%m-%d`` when None).
        decimal: the file's decimal mark (:func:`synthema.harmonize.numbers.read_numbers`).
        confirm_date_format: the mapping confirms ``date_format``: values readable as
            day/month both ways are kept even when other values fail the format.
        plain: cells that are typed numbers of a workbook or Parquet file.
    """
    index = text.index
    cells = [None if v is None or not v.strip() else v.strip()
             for v in text.astype("string").to_numpy(dtype=object, na_value=None)]
    present = np.array([v is not None for v in cells], dtype=bool)
    declared_missing = np.zeros(len(cells), dtype=bool)
    case_matched = np.zeros(len(cells), dtype=bool)
    if codes:
        folded = _folded_codes(codes)
        keys: list[str | None] = []
        for i, v in enumerate(cells):
            if v is None or v in codes:
                keys.append(v)
            elif v.lower() in folded:
                keys.append(folded[v.lower()])
                case_matched[i] = True
            else:
                keys.append(None)
        in_map = np.array([k is not None for k in keys], dtype=bool)
        cells = [code_text(codes[k]) if k is not None else v
                 for k, v in zip(keys, cells, strict=True)]
        declared_missing = in_map & np.array([v is None for v in cells], dtype=bool)
    bad_reason = UNMAPPED_CODE if codes else None
    valid = np.array([v is not None for v in cells], dtype=bool)
    out = ColumnOutcome(values=text, present=present, declared_missing=declared_missing)
    if case_matched.any():
        out.repaired[CODE_CASE] = case_matched
    match var.type:
        case VariableType.CATEGORICAL | VariableType.ORDINAL:
            _categories(out, cells, var, index, bad_reason or NOT_A_CATEGORY)
            if codes:
                targets = {code_text(v) for v in codes.values()}
                written = np.array([v in targets for v in out.values.fillna("")], dtype=bool)
                _coding_doubt(out, present & ~in_map & written, index)
        case VariableType.BOOLEAN:
            words = [None if v is None else _BOOLEAN.get(v.lower()) for v in cells]
            out.values = pd.Series(pd.array(words, dtype="boolean"), index=index)
            unknown = np.array([w is None for w in words], dtype=bool)
            out.dropped[bad_reason or NOT_TRUE_FALSE] = valid & unknown
            out.repaired[TICK_MARK] = np.array([v is not None and v.lower() == "x"
                                                for v in cells], dtype=bool)
        case VariableType.INTEGER | VariableType.CONTINUOUS | VariableType.DURATION:
            _numbers(out, pd.Series(cells, index=index, dtype="string"), var, valid, factor,
                     decimal, plain)
        case VariableType.DATE:
            _dates(out, pd.Series(cells, index=index, dtype="string"), valid,
                   date_format or "%Y-%m-%d", confirm_date_format)
            outside = out_of_range(out.values, var).to_numpy(dtype=bool)
            if outside.any():
                out.dropped[OUT_OF_RANGE] = outside
                out.values = out.values.mask(pd.Series(outside, index=index))
        case _:
            raise ValueError(f"unknown variable type {var.type!r}")
    out.values = out.values.astype(typed_dtype(var))
    return out


def _coding_doubt(out: ColumnOutcome, not_code: np.ndarray, index: pd.Index) -> None:
    """A category written as such where the codes say how it is written: counted or refused.

    ``not_code`` marks cells that are not codes but a category some code stands for (``M``
    where the mapping codes male ``1``); categories no code stands for pass silently, which
    is how a partial code list is meant (``hoch: high`` beside ``low`` written as is). A coded
    column whose cells also hold values the codes do not list (``H`` in a ``0``/``1`` sex
    column) is not coded the way the mapping says: such a cell (``M`` is *mujer*, female, in
    a Spanish H/M coding) is dropped, not guessed, and the values read through the codes are
    flagged by the caller (``coding_doubt``).
    """
    unmapped = out.dropped.get(UNMAPPED_CODE, np.zeros(len(not_code), dtype=bool))
    through = not_code & out.values.notna().to_numpy(dtype=bool)
    if not unmapped.any():
        out.repaired[NOT_A_CODE] = through
        return
    out.coding_doubt = unmapped
    out.dropped[CODING_IN_DOUBT] = through
    out.values = out.values.mask(pd.Series(through, index=index))


def _folded_codes(codes: Mapping[str, Any]) -> dict[str, str]:
    """Lower-cased code -> code, for codes unique ignoring case (``W``/``w`` both: neither)."""
    folded: dict[str, str | None] = {}
    for key in codes:
        folded[key.lower()] = None if key.lower() in folded else key
    return {k: v for k, v in folded.items() if v is not None}


def _categories(
    out: ColumnOutcome, cells: list[str | None], var: Variable, index: pd.Index, reason: str
) -> None:
    cats = set(var.categories)
    by_lower: dict[str, str | None] = {}
    for c in var.categories:
        by_lower[c.lower()] = None if c.lower() in by_lower else c
    values: list[str | None] = []
    fixed = np.zeros(len(cells), dtype=bool)
    bad = np.zeros(len(cells), dtype=bool)
    for i, v in enumerate(cells):
        if v is None or v in cats:
            values.append(v)
        elif by_lower.get(v.lower()):
            values.append(by_lower[v.lower()])
            fixed[i] = True
        else:
            values.append(None)
            bad[i] = True
    out.values = pd.Series(values, index=index, dtype="string")
    out.repaired["upper/lower case"] = fixed
    out.dropped[reason] = bad


def _numbers(
    out: ColumnOutcome,
    text: pd.Series,
    var: Variable,
    valid: np.ndarray,
    factor: float | None,
    decimal: str,
    plain: np.ndarray | None,
) -> None:
    """Read, convert, range-check (as measured) and round a numeric column."""
    read = read_numbers(text, decimal, plain=plain)
    num = read.values
    unread = valid & num.isna().to_numpy(dtype=bool)
    comma = np.zeros(len(unread), dtype=bool)
    if decimal != ",":
        comma = unread & decimal_comma(text).to_numpy(dtype=bool)
    out.dropped[NOT_A_NUMBER] = unread & ~comma
    out.dropped[DECIMAL_COMMA] = comma
    out.repaired[OTHER_MARK] = read.other_mark
    if (read.other_mark.any() or comma.any()) and read.grouped.any():
        out.mixed_marks = read.grouped  # 1,250 beside 245,5: is it 1250 or 1.25?
        out.mixed_mark = "," if comma.any() else "."
    if (var.is_whole_number or var.decimals == 0) and factor in (None, 1.0):
        # (a converted value may be fractional in its own unit: 11.992 months is days)
        doubt = _mask_match(text, _GROUP_OR_DECIMAL[decimal]) & ~read.grouped
        if plain is not None:
            doubt &= ~plain
        out.dropped[GROUP_OR_DECIMAL] = doubt  # '1.480' days: 1480, or 1.48 rounded to 1?
        num = num.mask(pd.Series(doubt, index=num.index))
    converted = num * factor if factor is not None and factor != 1.0 else num
    outside = out_of_range(converted, var).to_numpy(dtype=bool)
    finished = finish_numeric(converted.mask(pd.Series(outside, index=num.index)), var)
    outside |= out_of_range(finished, var).to_numpy(dtype=bool)  # only rounding put it there
    out.dropped[OUT_OF_RANGE] = outside
    shown = finished.astype("Float64")
    if converted is not num:
        zeroed = ((shown == 0) & (converted != 0)).fillna(False).to_numpy(dtype=bool)
        out.dropped[ROUNDS_TO_ZERO] = zeroed
        out.values = finished.mask(pd.Series(outside | zeroed, index=num.index))
        return
    changed = ((shown != converted).fillna(False).to_numpy(dtype=bool)) & ~outside
    if is_age(var):
        out.repaired[COMPLETED_YEARS] = changed
    elif var.is_whole_number:
        out.repaired["rounded to a whole number"] = changed
    elif var.decimals is not None:
        out.repaired[f"rounded to {var.decimals} decimals"] = changed
    out.values = finished.mask(pd.Series(outside, index=num.index))


def _mask_match(text: pd.Series, pattern: re.Pattern[str]) -> np.ndarray:
    return text.astype("string").str.strip().str.match(pattern).fillna(False).to_numpy(
        dtype=bool)


def _dates(out: ColumnOutcome, texts: pd.Series, valid: np.ndarray, fmt: str,
           confirmed: bool) -> None:
    """Dates in ``fmt``; date-times taken as dates; refuse day/month guesses in doubt."""
    read = read_dates(texts, fmt)
    out.dropped[f"not a date ({shown_format(fmt)})"] = valid & read.failed
    out.repaired[TIME_DROPPED] = read.time_dropped
    out.repaired[MIDNIGHT_READ] = read.midnight
    values = read.values
    if read.shifted is not None:
        out.repaired[TIME_DROPPED] = read.time_dropped & ~read.shifted
        out.dropped[SHIFTED_MIDNIGHT] = read.shifted
        values = values.mask(pd.Series(read.shifted, index=values.index))
    out.date_other = read.other
    if read.other is not None and read.other.in_doubt and not confirmed:
        out.dropped[AMBIGUOUS_DATE] = read.other.at_risk
        values = values.mask(pd.Series(read.other.at_risk, index=values.index))
    out.hint = serial_hint(texts, valid & read.failed)
    out.values = values
