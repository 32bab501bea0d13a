"""Reading numbers written by people, and rounding them the way clinicians do.

A site's file declares one decimal mark (``read: decimal`` in its mapping). Under it, the
other mark is a thousands separator only in the strict grouped pattern, and never after a
leading ``0`` group: ``0.500`` in a decimal-comma file is half, not five hundred (nobody
writes a thousands separator after a zero). Numbers are read this way only in the
columns of numeric variables: ids and codes are never touched by decimal rules.

Rounding is half up (44.5 years of follow-up is 45, like 45.5 is 46; Python's own
``round`` goes to the even neighbour) and ages are counted in completed years (17.6 years
old is 17: an adult-only minimum of 18 refuses it).

>>> read_numbers(pd.Series(["1.500", "0.500", "8,7", "1.234,5"], dtype="string"),
...              ",").values.tolist()
[1500.0, 0.5, 8.7, 1234.5]
>>> read_numbers(pd.Series(["1,500", "0,500", "8.7"], dtype="string"), ".").values.tolist()
[1500.0, <NA>, 8.7]
>>> round_half_up(pd.Series([44.5, 45.5, 2.675, -0.5], dtype="Float64"), 0).tolist()
[45.0, 46.0, 3.0, -1.0]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthema.schema.dictionary import Variable
from synthema.tables.decimal_marks import SPACES as _SPACES
from synthema.tables.decimal_marks import THOUSANDS_COMMA, THOUSANDS_DOT, THOUSANDS_SPACE

_COMMA_NUMBER = re.compile(r"^[+-]?(\d+,\d*|,\d+)([eE][+-]?\d+)?$")
_AGE = re.compile(r"(^|_)age($|_)")
_AGE_LABEL = re.compile(r"^age\b")
_YEARS = ("years", "year", "y", "yr", "yrs")


@dataclass(frozen=True)
class NumberRead:
    """Numbers read from text, and the cells that used the other decimal mark.

    ``other_mark`` flags cells of a decimal-comma file written with an unambiguous decimal
    point (``8.69``, ``0.500``): read as meant, counted by the caller. ``grouped`` flags
    cells read with thousands separators (``1.500``): in a column that also has
    ``other_mark`` cells, their reading is in doubt.
    """

    values: pd.Series
    other_mark: np.ndarray
    grouped: np.ndarray


def read_numbers(text: pd.Series, decimal: str = ".", *, plain: np.ndarray | None = None
                 ) -> NumberRead:
    """Numbers from text written with the ``decimal`` mark (NA where not a number).

    With ``"."`` a comma is read only as a thousands separator in the strict pattern
    ``44,000`` / ``1,234.5`` (first group not ``0``); any other comma is not a number
    (see :func:`decimal_comma`). With ``","`` the comma is the decimal mark, dots (and
    spaces) group thousands in the strict pattern ``1.500`` / ``1.234,5``, and a dot in
    any other position (``8.69``, ``0.500``) is read as a decimal point and flagged.

    Args:
        text: cells, NA for missing.
        decimal: the file's declared decimal mark.
        plain: cells that are typed numbers of a workbook or Parquet file (rendered with a
            ``.`` whatever the file's mark): read with ``"."``, never flagged.
    """
    if decimal not in (",", "."):
        raise ValueError(f"decimal mark {decimal!r}: use ',' or '.'")
    cells = text.astype("string").str.strip()
    none = np.zeros(len(cells), dtype=bool)
    if decimal == ".":
        values = _read_dot(cells)
        return NumberRead(values, none, _mask(cells.str.match(THOUSANDS_COMMA)))
    spaced = _mask(cells.str.match(THOUSANDS_SPACE))
    cells_c = cells.mask(spaced, cells.str.replace(_SPACES, "", regex=True))
    grouped = _mask(cells_c.str.match(THOUSANDS_DOT))
    cells_c = cells_c.mask(grouped, cells_c.str.replace(".", "", regex=False))
    has_comma = _mask(cells_c.str.contains(",", regex=False))
    comma_number = _mask(cells_c.str.match(_COMMA_NUMBER))
    fixed = cells_c.mask(comma_number, cells_c.str.replace(",", ".", regex=False))
    fixed = fixed.mask(has_comma & ~comma_number)
    values = pd.to_numeric(fixed, errors="coerce").astype("Float64")
    other = ~has_comma & ~grouped & _mask(cells.str.contains(".", regex=False))
    other &= values.notna().to_numpy(dtype=bool)
    if plain is not None and plain.any():
        dot = _read_dot(cells)
        values = values.mask(pd.Series(plain, index=values.index), dot)
        other &= ~plain
        grouped &= ~plain
    return NumberRead(values, other, grouped)


def _read_dot(cells: pd.Series) -> pd.Series:
    grouped = _mask(cells.str.match(THOUSANDS_COMMA))
    fixed = cells.mask(grouped, cells.str.replace(",", "", regex=False))
    spaced = _mask(fixed.str.match(THOUSANDS_SPACE)) & ~_mask(fixed.str.contains(",", regex=False))
    fixed = fixed.mask(spaced, fixed.str.replace(_SPACES, "", regex=True))
    fixed = fixed.mask(_mask(fixed.str.contains(",", regex=False)))
    return pd.to_numeric(fixed, errors="coerce").astype("Float64")


def _mask(flags: pd.Series) -> np.ndarray:
    return flags.fillna(False).to_numpy(dtype=bool)


def parse_number(text: pd.Series, decimal: str = ".") -> pd.Series:
    """Numbers from text written with the ``decimal`` mark (see :func:`read_numbers`).

    >>> parse_number(pd.Series(["44,000", "1,234.5", "8,7", "8.7"], dtype="string")).tolist()
    [44000.0, 1234.5, <NA>, 8.7]
    >>> parse_number(pd.Series(["8,7", "12"], dtype="string"), ",").tolist()
    [8.7, 12.0]
    """
    return read_numbers(text, decimal).values


def decimal_comma(text: pd.Series) -> pd.Series:
    """Cells holding a comma that is not a strict thousands separator (``8,7``, ``0,500``)."""
    text = text.astype("string").str.strip()
    comma = text.str.contains(",", regex=False).fillna(False)
    return comma & ~text.str.match(THOUSANDS_COMMA).fillna(False)


def round_half_up(num: pd.Series, decimals: int) -> pd.Series:
    """Round halves away from zero (clinical convention), not to the even neighbour.

    Values are first rounded to 9 decimals at the target scale, so that a decimal text
    such as ``2.675`` (stored as 2.67499999...) rounds as written.
    """
    arr = num.astype("Float64").to_numpy(dtype="float64", na_value=np.nan)
    scale = 10.0 ** decimals
    with np.errstate(invalid="ignore"):
        scaled = np.round(np.abs(arr) * scale, 9)
        out = np.sign(arr) * np.floor(scaled + 0.5) / scale
    out = np.where(out == 0, 0.0, out)  # no -0.0
    return pd.Series(pd.array(out, dtype="Float64"), index=num.index).mask(num.isna())


def is_age(var: Variable) -> bool:
    """True for an age in years: counted in completed years, never rounded up."""
    if not var.is_whole_number or (var.unit or "").strip().lower() not in _YEARS:
        return False
    return bool(_AGE.search(var.name.lower()) or _AGE_LABEL.match((var.label or "").lower()))


def finish_numeric(num: pd.Series, var: Variable) -> pd.Series:
    """Round to the variable's precision (half up; ages down to completed years), typed."""
    if var.is_whole_number:
        if is_age(var):
            arr = num.astype("Float64").to_numpy(dtype="float64", na_value=np.nan)
            with np.errstate(invalid="ignore"):
                whole = np.floor(np.round(arr, 9))
            return pd.Series(pd.array(whole, dtype="Float64"), index=num.index).mask(
                num.isna()).astype("Int64")
        return round_half_up(num, 0).astype("Int64")
    if var.decimals is not None:
        return round_half_up(num, var.decimals).astype("Float64")
    return num.astype("Float64")
