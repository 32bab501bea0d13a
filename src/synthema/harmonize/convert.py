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
NOT_A_CATEGORY = "not a category"
UNMAPPED_CODE = "unmapped code"
NOT_A_NUMBER = "not a number"
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


def parse_number(text: pd.Series) -> pd.Series:
    """Numbers from text; a lone decimal comma counts as a decimal point."""
    fixed = text.where(text.str.contains(".", regex=False).fillna(True),
                       text.str.replace(",", ".", regex=False))
    return pd.to_numeric(fixed, errors="coerce").astype("Float64")


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
) -> ColumnOutcome:
    """Turn a column of text cells (NA = missing) into the variable's typed column.

    Args:
        text: source cells, already stripped, NA where the site wrote a missing marker.
        var: the dictionary variable.
        codes: source text -> target value (a category, true/false, a number, or None for
            "means missing"); cells not in the map pass when already valid.
        factor: multiplier from the source unit to the variable's unit (numbers only).
        date_format: ``strptime`` format of dates (ISO ``%Y-%m-%d`` when None).
    """
    text = text.astype("string").str.strip()
    text = text.mask(text == "")
    index = text.index
    present = text.notna().to_numpy(dtype=bool)
    declared_missing = np.zeros(len(index), dtype=bool)
    in_map = np.zeros(len(index), dtype=bool)
    if codes:
        in_map = text.isin(list(codes)).fillna(False).to_numpy(dtype=bool)
        mapped = text.map(lambda t: code_text(codes[t]) if t in codes else t, na_action="ignore")
        mapped = mapped.astype("string")
        declared_missing = in_map & mapped.isna().to_numpy(dtype=bool)
        text = mapped
    bad_reason = UNMAPPED_CODE if codes else None
    out = ColumnOutcome(values=text, present=present, declared_missing=declared_missing)
    valid = text.notna().to_numpy(dtype=bool)
    match var.type:
        case VariableType.CATEGORICAL | VariableType.ORDINAL:
            _categories(out, text, var, valid, bad_reason or NOT_A_CATEGORY)
        case VariableType.BOOLEAN:
            low = text.str.lower()
            is_true = low.isin(TRUE_WORDS).fillna(False).to_numpy(dtype=bool)
            is_false = low.isin(FALSE_WORDS).fillna(False).to_numpy(dtype=bool)
            values = pd.Series(pd.NA, index=index, dtype="boolean")
            values[is_true] = True
            values[is_false] = False
            out.values = values
            out.dropped[bad_reason or NOT_TRUE_FALSE] = valid & ~is_true & ~is_false
        case VariableType.INTEGER | VariableType.CONTINUOUS | VariableType.DURATION:
            _numbers(out, text, var, valid, factor)
        case VariableType.DATE:
            fmt = date_format or "%Y-%m-%d"
            parsed = pd.to_datetime(text, format=fmt, errors="coerce").dt.normalize()
            values = parsed.astype("datetime64[ns]")
            shown = fmt.replace("%Y", "YYYY").replace("%m", "MM").replace("%d", "DD")
            out.dropped[f"not a date ({shown})"] = valid & values.isna().to_numpy(dtype=bool)
            out.values = values
        case _:
            raise ValueError(f"unknown variable type {var.type!r}")
    if var.type is VariableType.DATE or var.type.is_numeric:
        outside = out_of_range(out.values, var).to_numpy(dtype=bool)
        out.dropped[OUT_OF_RANGE] = outside
        out.values = out.values.mask(pd.Series(outside, index=index))
    out.values = out.values.astype(typed_dtype(var))
    return out


def _categories(
    out: ColumnOutcome, text: pd.Series, var: Variable, valid: np.ndarray, reason: str
) -> None:
    cats = list(var.categories)
    ok = text.isin(cats).fillna(False).to_numpy(dtype=bool)
    by_lower: dict[str, str | None] = {}
    for c in cats:
        by_lower[c.lower()] = None if c.lower() in by_lower else c
    folded = text.str.lower().map(by_lower, na_action="ignore")
    case_fix = valid & ~ok & folded.notna().to_numpy(dtype=bool)
    values = text.where(pd.Series(ok, index=text.index))
    values = values.mask(pd.Series(case_fix, index=text.index), folded.astype("string"))
    out.values = values.astype("string")
    out.repaired["upper/lower case"] = case_fix
    out.dropped[reason] = valid & ~ok & ~case_fix


def _numbers(
    out: ColumnOutcome,
    text: pd.Series,
    var: Variable,
    valid: np.ndarray,
    factor: float | None,
) -> None:
    num = parse_number(text)
    out.dropped[NOT_A_NUMBER] = valid & num.isna().to_numpy(dtype=bool)
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
