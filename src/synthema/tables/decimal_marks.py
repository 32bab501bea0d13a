"""How people write numbers in exported files: decimal commas and thousands separators.

The patterns are shared by :func:`normalize_decimal` (a whole file, for drafting a
dictionary) and :mod:`synthema.harmonize.numbers` (numeric columns only, under a mapping's
declared mark). A thousands group never follows a leading ``0``: ``0.500`` is a half.

>>> cells = pd.Series(["8,7", "1.500", "0.500", "01.02.2020", "x"], dtype="string")
>>> normalize_decimal(cells, ",").tolist()
['8.7', '1500', '0.500', '01.02.2020', 'x']
"""

from __future__ import annotations

import re

import pandas as pd

from synthema.errors import DataFileError

# thousands groups: the first group is 1-3 digits not starting with 0 (0,500 is a decimal)
THOUSANDS_COMMA = re.compile(r"^[+-]?[1-9]\d{0,2}(,\d{3})+(\.\d+)?$")
THOUSANDS_DOT = re.compile(r"^[+-]?[1-9]\d{0,2}(\.\d{3})+(,\d+)?$")
THOUSANDS_SPACE = re.compile(r"^[+-]?[1-9]\d{0,2}([ \u00a0\u202f]\d{3})+([.,]\d+)?$")
SPACES = r"[ \u00a0\u202f]"
_PLAIN_COMMA_NUMBER = re.compile(r"^[+-]?(\d+,\d*|,\d+)$")


def normalize_decimal(cells: pd.Series, decimal: str) -> pd.Series:
    """Rewrite numbers written with a decimal comma (or thousands separators) with a dot.

    Raises:
        DataFileError: ``decimal`` is neither ``","`` nor ``"."``.
    """
    if decimal not in (",", "."):
        raise DataFileError(f"decimal separator {decimal!r}", fix="use ',' or '.'")
    text = cells.astype("string")
    if decimal == ",":
        spaced = (text.str.match(THOUSANDS_SPACE) & ~text.str.contains(".", regex=False)
                  ).fillna(False)
        text = text.mask(spaced, text.str.replace(SPACES, "", regex=True))
        thousands = text.str.match(THOUSANDS_DOT).fillna(False) | spaced
        text = text.mask(thousands, text.str.replace(".", "", regex=False))
        comma = text.str.match(_PLAIN_COMMA_NUMBER).fillna(False) | thousands
        return text.mask(comma, text.str.replace(",", ".", regex=False))
    thousands = text.str.match(THOUSANDS_COMMA).fillna(False)
    return text.mask(thousands, text.str.replace(",", "", regex=False))
