"""A mixed-type numeric encoding for distances and classifiers, fixed by the dictionary alone.

Distances to closest record, nearest-neighbour attacks and the classifiers all need every row as
a vector. The encoding is public and identical for real, holdout and synthetic rows:

* numbers and dates: min-max scaled with the dictionary's bounds (clipped to [0, 1]);
* ordinals: category rank scaled to [0, 1];
* booleans: 0 / 1;
* categoricals: one-hot, each indicator scaled by 1/sqrt(2) so that two different categories
  are at distance 1, like the two ends of a numeric range;
* one missing indicator per variable (value 1 when missing; the value slot is then 0).

Variables without public bounds fall back to the real training data's range, which is fine
for an evaluation (it is never released) and is logged.

>>> from synthema.schema import Dictionary
>>> d = Dictionary.from_mapping({"name": "x", "version": 1, "variables": [
...     {"name": "age", "type": "integer", "min": 0, "max": 100},
...     {"name": "sex", "type": "categorical", "categories": ["F", "M"]}]})
>>> enc = MixedEncoder.from_dictionary(d)
>>> df = pd.DataFrame({"age": pd.array([50, None], dtype="Int64"),
...                    "sex": pd.array(["M", "F"], dtype="string")})
>>> enc.transform(df).astype(float).round(3).tolist()
[[0.5, 0.0, 0.0, 0.707, 0.0], [0.0, 1.0, 0.707, 0.0, 0.0]]
>>> enc.slices["sex"]
slice(2, 5, None)
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthema.schema import Dictionary, Variable, VariableType

_LOG = logging.getLogger(__name__)
_ONE_HOT = 1.0 / math.sqrt(2.0)
_EPOCH = pd.Timestamp("1970-01-01")


def numeric_values(series: pd.Series, var: Variable) -> np.ndarray:
    """Floats of a numeric, date (days since 1970) or boolean column; NaN for missing."""
    if var.type is VariableType.DATE:
        ts = pd.to_datetime(series, errors="coerce")
        return ((ts - _EPOCH).dt.days).to_numpy(dtype=float, na_value=np.nan)
    if var.type is VariableType.BOOLEAN:
        return series.astype("boolean").astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    return pd.to_numeric(series, errors="coerce").astype("Float64").to_numpy(
        dtype=float, na_value=np.nan
    )


def _as_days(value: float | dt.date | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return float((pd.Timestamp(value) - _EPOCH).days)
    return float(value)


@dataclass(frozen=True)
class MixedEncoder:
    """Encodes typed frames into float32 matrices; see the module docstring."""

    variables: tuple[Variable, ...]
    bounds: tuple[tuple[float, float] | None, ...]

    @classmethod
    def from_dictionary(
        cls, dictionary: Dictionary, *, fallback: pd.DataFrame | None = None
    ) -> MixedEncoder:
        """Encoder of every variable; ``fallback`` supplies bounds the dictionary lacks."""
        bounds: list[tuple[float, float] | None] = []
        for var in dictionary.variables:
            if not (var.type.is_numeric or var.type is VariableType.DATE):
                bounds.append(None)
                continue
            lo, hi = _as_days(var.min), _as_days(var.max)
            if (lo is None or hi is None) and fallback is not None and var.name in fallback:
                x = numeric_values(fallback[var.name], var)
                if np.isfinite(x).any():
                    lo = float(np.nanmin(x)) if lo is None else lo
                    hi = float(np.nanmax(x)) if hi is None else hi
                    _LOG.info("'%s' has no public bounds: scaled by the real range", var.name)
            bounds.append((lo if lo is not None else 0.0, hi if hi is not None else 1.0))
        return cls(tuple(dictionary.variables), tuple(bounds))

    def _width(self, var: Variable) -> int:
        if var.type is VariableType.CATEGORICAL:
            return len(var.categories) + 1
        return 2

    @property
    def slices(self) -> dict[str, slice]:
        """The block of encoded columns each variable occupies."""
        out, pos = {}, 0
        for var in self.variables:
            w = self._width(var)
            out[var.name] = slice(pos, pos + w)
            pos += w
        return out

    @property
    def width(self) -> int:
        """Number of encoded columns."""
        return sum(self._width(v) for v in self.variables)

    def columns(self, names: Sequence[str]) -> np.ndarray:
        """Indices of the encoded columns of ``names`` (for attacks on column subsets)."""
        sl = self.slices
        return np.concatenate([np.arange(sl[n].start, sl[n].stop) for n in names])

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        """The (rows x :attr:`width`) float32 matrix of a typed frame."""
        out = np.zeros((len(df), self.width), dtype=np.float32)
        for (name, sl), var, bound in zip(self.slices.items(), self.variables, self.bounds,
                                          strict=True):
            col = df[name] if name in df.columns else pd.Series(pd.NA, index=df.index)
            match var.type:
                case VariableType.CATEGORICAL:
                    codes = pd.Categorical(col.astype("string"), categories=var.categories).codes
                    rows = np.flatnonzero(codes >= 0)
                    # pandas codes are int8 for few categories: widen before adding the offset
                    out[rows, sl.start + codes[rows].astype(np.intp)] = _ONE_HOT
                    out[:, sl.stop - 1] = codes < 0
                case VariableType.ORDINAL:
                    codes = pd.Categorical(col.astype("string"), categories=var.categories).codes
                    scale = max(len(var.categories) - 1, 1)
                    out[:, sl.start] = np.where(codes >= 0, codes / scale, 0.0)
                    out[:, sl.start + 1] = codes < 0
                case VariableType.BOOLEAN:
                    x = numeric_values(col, var)
                    out[:, sl.start] = np.nan_to_num(x, nan=0.0)
                    out[:, sl.start + 1] = np.isnan(x)
                case (VariableType.INTEGER | VariableType.CONTINUOUS | VariableType.DURATION
                      | VariableType.DATE):
                    x = numeric_values(col, var)
                    lo, hi = bound if bound is not None else (0.0, 1.0)
                    scaled = np.clip((x - lo) / (hi - lo if hi > lo else 1.0), 0.0, 1.0)
                    out[:, sl.start] = np.nan_to_num(scaled, nan=0.0)
                    out[:, sl.start + 1] = np.isnan(x)
                case _:
                    raise ValueError(f"unknown variable type {var.type!r}")
        return out
