"""What each input column costs: the original input against the release, column by column.

The utility check (:mod:`synthema.anonymize.utility`) compares the release with the input
*passed through the release's own generalisation*, which sees suppression only: a column
withheld as ``*`` on both sides, or age in 20-year bands on both sides, has distance 0. This
module measures the other way, on the **input's own values**: for every column of the
dictionary (and every other released column), the total variation distance between the
input's distribution (all records, exact values) and what the release tells a reader about
it, over the dictionary's public bins (evaluate's domain, :class:`synthema.stats.Domain`):

- **removed** (the purpose does not need it) or **withheld** (released as ``*``): 1, the
  column is gone;
- **generalised** (a band, a month, a group): each released label's records are spread
  uniformly over the dictionary's values the label covers (every whole number, day or
  category the hierarchy puts under it, within the dictionary's bounds), which is all a
  reader knows; then TVD against the input over the dictionary's bins. ``1080+`` of a
  duration bounded at 7300 days spreads over 1080..7300. A range of more than ``GRID_MAX``
  (100,000) whole numbers or days is spread over every s-th one from its minimum (s the
  range over 100,000, rounded up), so a label narrower than s may hold no grid value and
  then costs as a label beyond the bounds;
- **kept** (exact, or shifted dates): TVD of the released values against the input's over
  the same bins, what suppression (and a shift) changed.

The headline ``mean_tvd`` is the mean over the dictionary's columns in the input, removed and
withheld ones included; ``purpose_mean_tvd`` the mean over the columns the policy names
(``purpose.keep``, quasi-identifiers, sensitive attributes, dates). Columns that cannot be
measured (no dictionary bounds to spread a label over, dates released as days from an
anchor) are listed under ``skipped`` with why and left out of both means.

Every figure includes the suppressed records on the input side: the caller rounds them like
the other utility figures (:func:`synthema.anonymize.assessment.figure_decimals`), and no
count per value is published.

>>> import pandas as pd
>>> from synthema.schema import Dictionary
>>> d = Dictionary.from_mapping({"name": "x", "version": 1, "variables": [
...     {"name": "sex", "type": "categorical", "categories": ["F", "M"]}]})
>>> before = pd.DataFrame({"sex": ["F", "F", "M", "M"]})
>>> out = column_costs(before, pd.DataFrame({"sex": ["F", "F", "M"]}), dictionary=d)
>>> out["columns"][0]["tvd"], out["mean_tvd"]  # one M suppressed: |2/4 - 2/3| = 1/6
(0.166667, 0.166667)
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from synthema.anonymize.hierarchy import TOP, build_hierarchy
from synthema.anonymize.policy import HierarchySpec
from synthema.anonymize.utility import typed
from synthema.errors import SynthemaError
from synthema.evaluate import EvaluationContext
from synthema.evaluate.fidelity import tvd
from synthema.schema import Dictionary, Variable, VariableType

#: most points a dictionary range is spread over (a coarser, even step above it)
GRID_MAX = 100_000
COMPARED = ("the original input (all records, exact values) vs the release, per column over "
            "the dictionary's bins: a removed or withheld column costs 1, a generalised "
            "label is spread uniformly over the dictionary's values it covers")


class _Bins:
    """One variable's public bins (evaluate's domain): ``size`` codes, the last missing."""

    def __init__(self, var: Variable) -> None:
        self.one = Dictionary(name="cost", version="1", variables=(var,))
        self.context = EvaluationContext(self.one)
        attr = self.context.domain[var.name]
        self.size, self.missing_code = attr.size, attr.missing_code

    def codes(self, values: pd.Series) -> np.ndarray:
        """Each value's bin (the missing code for missing values)."""
        frame = typed(pd.DataFrame({self.one.variables[0].name: values.reset_index(drop=True)}),
                      self.one)
        return self.context.codes(frame)[:, 0]


def _grid(var: Variable, labels: Collection[str]) -> pd.Series:
    """The values the dictionary allows, as text the hierarchy reads (ISO dates)."""
    if var.type.has_categories:
        return pd.Series(list(var.categories), dtype="string")
    if var.type is VariableType.BOOLEAN:
        return pd.Series(["False", "True"], dtype="string")
    if var.type is VariableType.DATE:
        lo, hi = pd.Timestamp(var.min), pd.Timestamp(var.max)
        step = max(1, ((hi - lo).days + 1) // GRID_MAX)
        return pd.Series(pd.date_range(lo, hi, freq=f"{step}D").strftime("%Y-%m-%d"))
    lo, hi = float(var.min), float(var.max)
    # bands of whole numbers read "30-39"; half-open "[0.5, 1)" means the values are not whole
    # written exactly (not "%g", whose 6 digits made 1000007 "1e+06", off the dictionary's range)
    if var.type is VariableType.CONTINUOUS and any(str(x).startswith("[") for x in labels):
        text = [repr(float(p)) for p in np.linspace(lo, hi, GRID_MAX)]
    else:
        step = max(1.0, np.ceil((hi - lo) / GRID_MAX))
        text = [str(int(p)) for p in np.arange(np.ceil(lo), np.floor(hi) + 1, step)]
    return pd.Series(text, dtype="string")


def _spread(released: pd.Series, var: Variable, attr: _Bins, spec: HierarchySpec,
            level: str) -> np.ndarray | str:
    """The release's counts over the dictionary's bins, each label spread over its values.

    A label no value of the dictionary's range carries (a band beyond its bounds) counts in
    one extra bin, which the input never fills. Returns why, as text, when the hierarchy
    cannot be rebuilt on the dictionary's values.
    """
    labels = released.astype("string")
    grid = _grid(var, set(labels.dropna()))
    try:
        h = build_hierarchy(grid, spec, date_format="%Y-%m-%d", where=f"cost of {var.name}")
        at = h.names.index(level)
    except (SynthemaError, ValueError) as exc:
        return f"its labels could not be spread over the dictionary's values ({exc})"
    grid_bins = attr.codes(grid)
    by_label = pd.Series(grid_bins).groupby(pd.Series(h.labels[at], dtype="string").values)
    out = np.zeros(attr.size + 1)
    for label, n in labels.value_counts(dropna=False).items():
        if pd.isna(label):
            out[attr.missing_code] += n
        elif label in by_label.groups:
            bins = by_label.get_group(label).to_numpy()
            out[: attr.size] += n * np.bincount(bins, minlength=attr.size) / len(bins)
        else:
            out[-1] += n
    return out


def _measured(original: pd.Series, released: pd.Series, var: Variable,
              spec: tuple[HierarchySpec, str] | None) -> float | str:
    """TVD input vs release over the dictionary's bins, or why it cannot be computed."""
    attr = _Bins(var)
    p = np.bincount(attr.codes(original), minlength=attr.size + 1).astype(float)
    if spec is None:
        q = np.bincount(attr.codes(released), minlength=attr.size + 1).astype(float)
    else:
        q = _spread(released, var, attr, *spec)
        if isinstance(q, str):
            return q
    return tvd(p, q) if q.sum() else 1.0


def _undeclared(original: pd.Series, released: pd.Series) -> float:
    """TVD over the input's and release's text values (a column the dictionary lacks)."""
    a = original.astype("string").fillna("\0missing")
    b = released.astype("string").fillna("\0missing")
    cats = sorted(set(a) | set(b))
    return tvd(a.value_counts().reindex(cats, fill_value=0).to_numpy(float),
               b.value_counts().reindex(cats, fill_value=0).to_numpy(float))


def _entry(col: str, original: pd.DataFrame, released: pd.DataFrame, *,
           dictionary: Dictionary | None, removed: Mapping[str, str],
           generalised: Mapping[str, tuple[HierarchySpec, str]],
           transformed: Mapping[str, str]) -> dict[str, Any]:
    """One column's fate in the release and its cost (``tvd``), or ``skipped`` with why."""
    var = dictionary[col] if dictionary is not None and col in dictionary else None
    if col not in released.columns:
        return {"column": col, "released_as": "removed: " + removed.get(col, "not released"),
                "status": "removed", "tvd": 1.0}
    if col in transformed:
        return {"column": col, "released_as": transformed[col], "status": "transformed",
                "skipped": "not comparable with the input's values"}
    spec = generalised.get(col)
    if spec is not None and spec[1].startswith(TOP):
        return {"column": col, "released_as": spec[1], "status": "withheld", "tvd": 1.0}
    status = "generalised" if spec is not None else "kept"
    out = {"column": col, "released_as": spec[1] if spec else "exact values",
           "status": status}
    if var is None:
        if spec is not None:
            return out | {"skipped": "not in the dictionary: no public values to spread its "
                                     "labels over"}
        return out | {"tvd": _undeclared(original[col], released[col])}
    value = _measured(original[col], released[col], var, spec)
    return out | ({"skipped": value} if isinstance(value, str) else {"tvd": value})


def column_costs(original: pd.DataFrame, released: pd.DataFrame, *,
                 dictionary: Dictionary | None,
                 columns: Sequence[str] | None = None,
                 removed: Mapping[str, str] | None = None,
                 generalised: Mapping[str, tuple[HierarchySpec, str]] | None = None,
                 transformed: Mapping[str, str] | None = None,
                 purpose: Collection[str] = ()) -> dict[str, Any]:
    """Per column of the input: what the release holds of it and what that costs (TVD).

    Args:
        original: every input record, exact values (dates before any shift).
        released: the released records (generalised labels, shifted dates).
        dictionary: the input's data dictionary; its columns in ``original`` are the
            headline's. Without one, the columns given are all counted.
        columns: the columns to measure (default: the dictionary's columns in ``original``,
            then the released columns it lacks). Pseudonyms and direct identifiers belong
            out of it: their values are not data.
        removed: columns left out of the release, with why.
        generalised: released columns whose labels are a hierarchy's level: the policy's
            spec and the level's name (``bands of 20``, ``* (withheld)``).
        transformed: released columns whose values mean something else (days from an
            anchor), with what they hold: listed, not measured.
        purpose: the columns the policy names; their mean is ``purpose_mean_tvd``.

    Returns:
        A JSON-ready dict: ``columns`` (each with ``released_as``, ``status`` and ``tvd``, or
        ``skipped``), ``mean_tvd`` over the dictionary's columns (all measured columns
        without a dictionary), ``purpose_mean_tvd``, how many columns each mean counts,
        and what was compared. Figures unrounded: the caller rounds them.
    """
    if columns is None:
        declared = [v.name for v in (dictionary.variables if dictionary else ())
                    if v.name in original.columns]
        columns = declared + [c for c in released.columns if c not in declared]
    rows = [_entry(c, original, released, dictionary=dictionary, removed=removed or {},
                   generalised=generalised or {}, transformed=transformed or {})
            for c in columns]
    for r in rows:
        if "tvd" in r:
            r["tvd"] = round(float(r["tvd"]), 6)
    costs = {r["column"]: r["tvd"] for r in rows if "tvd" in r}
    headline = [c for c in costs if dictionary is None or c in dictionary]
    named = [c for c in costs if c in set(purpose)]

    def mean(cols: list[str]) -> float | None:
        return round(float(np.mean([costs[c] for c in cols])), 6) if cols else None

    return {"compared": COMPARED, "columns": rows,
            "mean_tvd": mean(headline), "mean_over": len(headline),
            "purpose_mean_tvd": mean(named), "purpose_over": len(named),
            "skipped": {r["column"]: r["skipped"] for r in rows if "skipped" in r}}
