"""Typed values for dictionary variables: text cells in, typed pandas columns out, and back.

One typed representation is used everywhere downstream: ``boolean`` for booleans,
``Int64`` for integers and whole-number durations, ``Float64`` for continuous values,
``datetime64[ns]`` for dates and ``string`` for categorical/ordinal codes. Missing is NA.

>>> import pandas as pd
>>> from synthema.schema.dictionary import Variable, VariableType
>>> v = Variable("cr", VariableType.BOOLEAN)
>>> p = parse_column(pd.Series(["1", "no", None, "maybe"], dtype="string"), v)
>>> p.values.tolist(), p.bad_type.tolist()
([True, False, <NA>, <NA>], [False, False, False, True])
>>> format_column(p.values, v).tolist()
['1', '0', '', '']
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthema.schema.dictionary import Dictionary, Variable, VariableType

TRUE_WORDS = frozenset({"1", "1.0", "true", "t", "yes", "y"})
FALSE_WORDS = frozenset({"0", "0.0", "false", "f", "no", "n"})
_INT_FLOAT_RE = re.compile(r"^-?\d+\.0+$")
DATE_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y", "%Y/%m/%d", "%d-%m-%Y", "%Y%m%d",
    "%d.%m.%y", "%d/%m/%y", "%m/%d/%y",
)
"""The date layouts synthema recognises in site files, tried in this order (ISO first,
day-first before month-first). One list for every room that guesses a layout: harmonisation
(:func:`synthema.harmonize.dates.guess_date_format`), dictionary drafts and the
anonymiser's identifier detection."""


@dataclass(frozen=True)
class ParsedColumn:
    """A typed column and masks of the cells that failed each check.

    ``values`` keeps out-of-range numbers (so they can be reported or repaired) but holds
    NA where a cell could not be parsed (``bad_type``) or is not a category
    (``bad_category``).
    """

    values: pd.Series
    bad_type: pd.Series
    bad_range: pd.Series
    bad_category: pd.Series


def typed_dtype(var: Variable) -> str:
    """The pandas dtype a variable's typed column has."""
    match var.type:
        case VariableType.BOOLEAN:
            return "boolean"
        case VariableType.INTEGER:
            return "Int64"
        case VariableType.DURATION:
            return "Int64" if var.is_whole_number else "Float64"
        case VariableType.CONTINUOUS:
            return "Float64"
        case VariableType.DATE:
            return "datetime64[ns]"
        case VariableType.CATEGORICAL | VariableType.ORDINAL:
            return "string"
        case _:
            raise ValueError(f"unknown variable type {var.type!r}")


def _false_mask(index: pd.Index) -> pd.Series:
    return pd.Series(np.zeros(len(index), dtype=bool), index=index)


def parse_column(raw: pd.Series, var: Variable) -> ParsedColumn:
    """Parse text cells (NA = missing) into the variable's typed column."""
    text = raw.astype("string").str.strip()
    text = text.mask(text == "")
    present = text.notna().to_numpy(dtype=bool)
    index = raw.index
    bad_type = _false_mask(index)
    bad_category = _false_mask(index)
    match var.type:
        case VariableType.BOOLEAN:
            low = text.str.lower()
            is_true = low.isin(TRUE_WORDS).to_numpy(dtype=bool)
            is_false = low.isin(FALSE_WORDS).to_numpy(dtype=bool)
            values = pd.Series(pd.NA, index=index, dtype="boolean")
            values[is_true] = True
            values[is_false] = False
            bad_type[:] = present & ~is_true & ~is_false
        case VariableType.INTEGER | VariableType.DURATION | VariableType.CONTINUOUS:
            # Clean files use "." as the decimal point and no thousands separator: a comma
            # is ambiguous ("1,458" is 1458 in one country and 1.458 in another), so it is
            # a type problem here; harmonise exports with their own number format instead.
            num = pd.to_numeric(text.where(~text.str.contains(",", regex=False)), errors="coerce")
            num = num.astype("Float64")
            unparsed = present & num.isna().to_numpy(dtype=bool)
            if var.is_whole_number:
                frac = (num - num.round()).abs().fillna(0).to_numpy(dtype=float) > 1e-9
                unparsed |= frac
                num = num.mask(pd.Series(frac, index=index))
                values = num.round().astype("Int64")
            else:
                values = num
            bad_type[:] = unparsed
        case VariableType.DATE:
            parsed = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
            values = parsed.astype("datetime64[ns]")
            bad_type[:] = present & values.isna().to_numpy(dtype=bool)
        case VariableType.CATEGORICAL | VariableType.ORDINAL:
            cats = set(var.categories)
            # spreadsheets turn code 1 into 1.0: accept it when "1" is a category
            fixed = text.where(
                ~(text.str.match(_INT_FLOAT_RE).fillna(False)),
                text.str.replace(r"\.0+$", "", regex=True),
            )
            fixed = fixed.where(fixed.isin(cats) | text.isin(cats), text)
            ok = fixed.isin(cats).fillna(False).to_numpy(dtype=bool)
            values = fixed.where(pd.Series(ok, index=index)).astype("string")
            bad_category[:] = present & ~ok
        case _:
            raise ValueError(f"unknown variable type {var.type!r}")
    return ParsedColumn(values, bad_type, out_of_range(values, var), bad_category)


def out_of_range(values: pd.Series, var: Variable) -> pd.Series:
    """Mask of present values outside the variable's [min, max]."""
    mask = _false_mask(values.index)
    if var.min is None and var.max is None:
        return mask
    if var.type is VariableType.DATE:
        lo = pd.Timestamp(var.min) if var.min is not None else None
        hi = pd.Timestamp(var.max) if var.max is not None else None
    elif var.type.is_numeric:
        lo, hi = var.min, var.max
    else:
        return mask
    if lo is not None:
        mask |= (values < lo).fillna(False).to_numpy(dtype=bool)
    if hi is not None:
        mask |= (values > hi).fillna(False).to_numpy(dtype=bool)
    return mask


def empty_column(var: Variable, index: pd.Index) -> pd.Series:
    """An all-missing typed column."""
    return pd.Series([pd.NA] * len(index) if len(index) else [], index=index).astype(
        typed_dtype(var)
    )


def format_column(values: pd.Series, var: Variable) -> pd.Series:
    """Text cells for a typed column, as clean files store them ('' for missing)."""
    missing = values.isna().to_numpy(dtype=bool)
    match var.type:
        case VariableType.BOOLEAN:
            out = values.astype("boolean").map({True: "1", False: "0"}, na_action="ignore")
        case VariableType.DATE:
            out = pd.to_datetime(values).dt.strftime("%Y-%m-%d")
        case VariableType.INTEGER:
            out = values.astype("Int64").astype("string")
        case VariableType.DURATION | VariableType.CONTINUOUS:
            if var.is_whole_number:
                out = values.astype("Float64").round().astype("Int64").astype("string")
            else:
                dec = var.decimals if var.decimals is not None else 6
                out = (
                    values.astype("Float64")
                    .round(dec)
                    .map(lambda x: _decimal_text(x, dec), na_action="ignore")
                )
        case VariableType.CATEGORICAL | VariableType.ORDINAL:
            out = values.astype("string")
        case _:
            raise ValueError(f"unknown variable type {var.type!r}")
    out = out.astype(object)
    out[missing] = ""
    return out.astype(str)


def _decimal_text(x: float, decimals: int) -> str:
    """Shortest text with at most ``decimals`` digits: 210.0 -> '210', 2.50 -> '2.5'.

    >>> _decimal_text(210.0, 0), _decimal_text(2.5, 2), _decimal_text(-0.0, 1)
    ('210', '2.5', '0')
    """
    text = f"{x:.{decimals}f}"
    if decimals > 0:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def typed_frame(raw: pd.DataFrame, dictionary: Dictionary) -> pd.DataFrame:
    """Parse a text frame that has exactly the dictionary's columns (no checks reported).

    Use ``harmonize.validate`` when the problems matter; this is for trusted files the
    project wrote itself (simulator outputs, test fixtures).
    """
    out = {}
    if dictionary.patient_id:
        out[dictionary.patient_id] = raw[dictionary.patient_id].astype("string")
    for var in dictionary.variables:
        out[var.name] = parse_column(raw[var.name], var).values
    return pd.DataFrame(out, index=raw.index)


def format_frame(df: pd.DataFrame, dictionary: Dictionary) -> pd.DataFrame:
    """Text frame of a typed frame, columns in dictionary order."""
    out = {}
    if dictionary.patient_id:
        out[dictionary.patient_id] = df[dictionary.patient_id].astype("string").fillna("")
    for var in dictionary.variables:
        out[var.name] = format_column(df[var.name], var)
    return pd.DataFrame(out, index=df.index)


def round_to_dictionary(df: pd.DataFrame, dictionary: Dictionary) -> pd.DataFrame:
    """Round continuous columns to their declared decimals (a copy)."""
    out = df.copy()
    for var in dictionary.variables:
        if var.type in (VariableType.CONTINUOUS, VariableType.DURATION) and var.name in out:
            if var.is_whole_number:
                out[var.name] = out[var.name].astype("Float64").round().astype("Int64")
            elif var.decimals is not None:
                out[var.name] = out[var.name].astype("Float64").round(var.decimals)
    return out
