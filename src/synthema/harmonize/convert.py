"""Converting one source column into one dictionary variable, accounting for every cell.

:func:`convert_column` is the per-column step of :func:`synthema.harmonize.mapping.harmonize`:
code maps, boolean words, dates in a site's format, unit factors and rounding. It never
drops a value without saying so: each cell that does not make it into the typed column is
flagged under a reason (``dropped``), each value changed beyond the declared conversion
is flagged under ``repaired``.

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

from synthema.schema.dictionary import Variable, VariableType
from synthema.schema.values import out_of_range, typed_dtype

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


@dataclass
class ColumnOutcome:
    """A typed column plus, per reason, masks of the cells dropped or repaired."""

    values: pd.Series
    present: np.ndarray
    declared_missing: np.ndarray
    dropped: dict[str, np.ndarray] = field(default_factory=dict)
    repaired: dict[str, np.ndarray] = field(default_factory=dict)

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


_THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")


def parse_number(text: pd.Series, decimal: str = ".") -> pd.Series:
    """Numbers from text written with the ``decimal`` mark.

    With ``"."`` (the default) a comma is read only as a thousands separator, and only in
    the strict pattern ``44,000`` / ``1,234.5``; any other comma (``8,7``) is not a number
    (see :func:`decimal_comma`). With ``","`` a lone decimal comma counts as a decimal
    point (thousands dots were removed when the file was read).

    >>> parse_number(pd.Series(["44,000", "1,234.5", "8,7", "8.7"], dtype="string")).tolist()
    [44000.0, 1234.5, <NA>, 8.7]
    >>> parse_number(pd.Series(["8,7", "12"], dtype="string"), ",").tolist()
    [8.7, 12.0]
    """
    text = text.astype("string")
    if decimal == ",":
        fixed = text.where(text.str.contains(".", regex=False).fillna(True),
                           text.str.replace(",", ".", regex=False))
    else:
        thousands = text.str.match(_THOUSANDS).fillna(False)
        fixed = text.mask(thousands, text.str.replace(",", "", regex=False))
        fixed = fixed.mask(fixed.str.contains(",", regex=False).fillna(False))
    return pd.to_numeric(fixed, errors="coerce").astype("Float64")


def decimal_comma(text: pd.Series) -> pd.Series:
    """Cells holding a comma that is not a strict thousands separator (``8,7``, ``1,5,0``)."""
    text = text.astype("string")
    comma = text.str.contains(",", regex=False).fillna(False)
    return comma & ~text.str.match(_THOUSANDS).fillna(False)


def finish_numeric(num: pd.Series, var: Variable) -> pd.Series:
    """Round to the variable's precision and give it its typed dtype."""
    if var.is_whole_number:
        return num.round().astype("Int64")
    if var.decimals is not None:
        return num.round(var.decimals).astype("Float64")
    return num.astype("Float64")


def convert_column(
    text: pd.Series,
    var: Variable,
    *,
    codes: Mapping[str, Any] | None = None,
    factor: float | None = None,
    date_format: str | None = None,
    decimal: str = ".",
) -> ColumnOutcome:
    """Turn a column of text cells (NA = missing) into the variable's typed column.

    Args:
        text: source cells, already stripped, NA where the site wrote a missing marker.
        var: the dictionary variable.
        codes: source text -> target value (a category, true/false, a number, or None for
            "means missing"); cells not in the map pass when already valid.
        factor: multiplier from the source unit to the variable's unit (numbers only).
        date_format: ``strptime`` format of dates (ISO ``%Y-%m-%d`` when None).
        decimal: the file's decimal mark (:func:`parse_number`).
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
        case VariableType.BOOLEAN:
            words = [None if v is None else _BOOLEAN.get(v.lower()) for v in cells]
            out.values = pd.Series(pd.array(words, dtype="boolean"), index=index)
            unknown = np.array([w is None for w in words], dtype=bool)
            out.dropped[bad_reason or NOT_TRUE_FALSE] = valid & unknown
        case VariableType.INTEGER | VariableType.CONTINUOUS | VariableType.DURATION:
            _numbers(out, pd.Series(cells, index=index, dtype="string"), var, valid, factor,
                     decimal)
        case VariableType.DATE:
            fmt = date_format or "%Y-%m-%d"
            texts = pd.Series(cells, index=index, dtype="string")
            parsed = pd.to_datetime(texts, format=fmt, errors="coerce").dt.normalize()
            values = parsed.astype("datetime64[ns]")
            shown = fmt.replace("%Y", "YYYY").replace("%m", "MM").replace("%d", "DD")
            out.dropped[f"not a date ({shown})"] = valid & values.isna().to_numpy(dtype=bool)
            out.values = values
        case _:
            raise ValueError(f"unknown variable type {var.type!r}")
    if var.type is VariableType.DATE or var.type.is_numeric:
        outside = out_of_range(out.values, var).to_numpy(dtype=bool)
        if outside.any():
            out.dropped[OUT_OF_RANGE] = outside
            out.values = out.values.mask(pd.Series(outside, index=index))
    out.values = out.values.astype(typed_dtype(var))
    return out


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
) -> None:
    num = parse_number(text, decimal)
    unread = valid & num.isna().to_numpy(dtype=bool)
    comma = np.zeros(len(unread), dtype=bool)
    if decimal != ",":
        comma = unread & decimal_comma(text).to_numpy(dtype=bool)
    out.dropped[NOT_A_NUMBER] = unread & ~comma
    out.dropped[DECIMAL_COMMA] = comma
    if factor is not None and factor != 1.0:
        num = num * factor
        out.values = finish_numeric(num, var)
        return
    finished = finish_numeric(num, var)
    changed = (finished.astype("Float64") != num).fillna(False).to_numpy(dtype=bool)
    if var.is_whole_number:
        out.repaired["rounded to a whole number"] = changed
    elif var.decimals is not None:
        out.repaired[f"rounded to {var.decimals} decimals"] = changed
    out.values = finished


DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y", "%Y/%m/%d", "%d-%m-%Y",
                "%Y%m%d", "%d.%m.%y", "%d/%m/%y", "%m/%d/%y")


def guess_date_format(text: pd.Series) -> str | None:
    """The first common ``strptime`` format that reads every present cell (None: none does).

    >>> guess_date_format(pd.Series(["03.04.2015", "28.02.2019", None], dtype="string"))
    '%d.%m.%Y'
    >>> guess_date_format(pd.Series(["12/31/2020"], dtype="string"))
    '%m/%d/%Y'
    """
    cells = text.astype("string").str.strip().dropna()
    cells = cells[cells != ""]
    if cells.empty:
        return None
    for fmt in DATE_FORMATS:
        parsed = pd.to_datetime(cells, format=fmt, errors="coerce")
        if parsed.notna().all():
            return fmt
    return None
