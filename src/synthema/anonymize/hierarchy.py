"""Generalisation hierarchies: each quasi-identifier value rendered at every level.

Level 0 is the value as given; each higher level is coarser and the last is ``*`` (unless
the policy says ``top: false``). Levels nest (every level-``i`` class lies inside one
level-``i+1`` class), which makes the privacy models monotone over the lattice and lets the
search prune. Missing values stay a category of their own until the ``*`` level.

>>> import pandas as pd
>>> from synthema.anonymize.policy import HierarchySpec
>>> h = build_hierarchy(pd.Series([34, 37, 71]), HierarchySpec("age", "interval", bands=(5, 10)))
>>> [list(level) for level in h.labels]
[['34', '37', '71'], ['30-34', '35-39', '70-74'], ['30-39', '30-39', '70-79'], ['*', '*', '*']]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthema.anonymize.policy import HierarchySpec
from synthema.errors import AnonymizationError

TOP = "*"


@dataclass(frozen=True)
class Hierarchy:
    """One quasi-identifier's labels and integer codes at every level.

    ``labels[i]`` holds each record's text at level ``i`` (None for missing); ``codes[i]``
    the matching integer codes; ``cost[i]`` each record's non-uniform entropy loss in bits,
    ``log2(n(generalised value) / n(original value))``. ``lo``/``hi`` bound the levels the
    search may choose; ``names[i]`` says in words what level ``i`` shows (``bands of 10``,
    ``quarter``, ``* (withheld)``), for the report.
    """

    column: str
    labels: tuple[np.ndarray, ...]
    codes: tuple[np.ndarray, ...]
    cost: tuple[np.ndarray, ...]
    lo: int
    hi: int
    names: tuple[str, ...] = ()

    @property
    def height(self) -> int:
        """Index of the highest level (0 for a hierarchy with only the original values)."""
        return len(self.labels) - 1


def _codes(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    codes, uniques = pd.factorize(pd.Series(labels, dtype=object), use_na_sentinel=False)
    counts = np.bincount(codes, minlength=len(uniques))
    return codes.astype(np.int64), counts


def _text(values: pd.Series) -> np.ndarray:
    text = values.astype("string")
    return np.array([None if pd.isna(v) else str(v) for v in text], dtype=object)


def _where(bad: pd.Series, column: str) -> str:
    """``column 'age', row 8`` (spreadsheet numbering: header row 1) and how many more."""
    rows = np.flatnonzero(bad.to_numpy(dtype=bool))
    more = f" and {len(rows) - 1} more" if len(rows) > 1 else ""
    return f"column '{column}', row {int(rows[0]) + 2}{more}"


def _interval_levels(values: pd.Series, spec: HierarchySpec) -> list[np.ndarray]:
    num = pd.to_numeric(values.astype("string"), errors="coerce").astype("float64")
    bad = num.isna() & values.notna() & (values.astype("string").str.strip() != "")
    if bad.any():  # the cell is not quoted: a quasi-identifier's value may identify
        raise AnonymizationError(f"{_where(bad, spec.column)}: not a number (value not shown)",
                                 fix="correct the cell(s), or use type: groups or suppress")
    for small, big in zip(spec.bands, spec.bands[1:], strict=False):
        if big % small:
            raise AnonymizationError(
                f"quasi_identifiers.{spec.column}.bands {list(spec.bands)} do not nest",
                fix="make each band width a multiple of the one before, e.g. [5, 10, 20]")
    arr = num.to_numpy()
    whole = bool(np.all(np.isnan(arr) | (arr == np.round(arr))))
    capped = np.zeros(len(arr), dtype=bool) if spec.cap is None else arr >= spec.cap
    levels = []
    for width in spec.bands:
        lo = spec.origin + np.floor((arr - spec.origin) / width) * width
        if whole and float(width).is_integer():
            text = [None if np.isnan(a) else f"{_num(a)}-{_num(a + width - 1)}" for a in lo]
        else:
            text = [None if np.isnan(a) else f"[{_num(a)}, {_num(a + width)})" for a in lo]
        if spec.cap is not None:  # top-coding: one open band from the cap up
            text = [f"{_num(spec.cap)}+" if c else t for t, c in zip(text, capped, strict=True)]
        levels.append(np.array(text, dtype=object))
    if spec.cuts:  # one more level: the groups between clinically chosen cut points
        levels.append(np.array([None if np.isnan(a) else _cut_label(a, spec.cuts, whole)
                                for a in arr], dtype=object))
    return levels


def _num(value: float) -> str:
    """A bound as released text: ``{:g}`` where that reads back as the same number, every
    digit otherwise (``{:g}`` keeps 6 significant digits: 1000005 would read ``1e+06``).

    >>> _num(60.0), _num(0.5), _num(1000005.0), _num(1e6), _num(1234567.5)
    ('60', '0.5', '1000005', '1000000', '1234567.5')
    """
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = f"{value:g}"
    return text if float(text) == value else repr(float(value))


def _cut_label(value: float, cuts: tuple[float, ...], whole: bool) -> str:
    """The group of ``value`` between cut points: ``<60``, ``60-74`` / ``[60, 75)``, ``75+``.

    >>> _cut_label(59, (60,), True), _cut_label(60, (60,), True), _cut_label(70, (60, 75), True)
    ('<60', '60+', '60-74')
    """
    i = int(np.searchsorted(cuts, value, side="right"))
    if i == 0:
        return f"<{_num(cuts[0])}"
    if i == len(cuts):
        return f"{_num(cuts[-1])}+"
    lo, hi = cuts[i - 1], cuts[i]
    return (f"{_num(lo)}-{_num(hi - 1)}" if whole and float(hi).is_integer()
            else f"[{_num(lo)}, {_num(hi)})")


def _date_levels(values: pd.Series, spec: HierarchySpec, fmt: str) -> list[np.ndarray]:
    days = parse_dates(values, spec.column, fmt)
    levels = []
    for gran in spec.levels:
        levels.append(np.array([None if pd.isna(d) else date_label(d, gran) for d in days],
                               dtype=object))
    return levels


def date_label(day: pd.Timestamp, granularity: str) -> str:
    """A date at ``granularity``: ``2017-02``, ``2017-Q1``, ``2017`` or ``2010-2019``.

    >>> date_label(pd.Timestamp("2017-02-28"), "quarter")
    '2017-Q1'
    """
    match granularity:
        case "month":
            return f"{day.year:04d}-{day.month:02d}"
        case "quarter":
            return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"
        case "year":
            return f"{day.year:04d}"
        case "decade":
            start = day.year // 10 * 10
            return f"{start}-{start + 9}"
        case _:
            raise ValueError(f"unknown granularity {granularity!r}")


def parse_dates(values: pd.Series, column: str, fmt: str) -> pd.Series:
    """Parse a date column (already typed, or text in ``fmt``); unparseable cells raise.

    The error names the first bad cell's row in spreadsheet numbering (header row 1), which
    is the file's row when ``values`` has the positions :func:`read_table` gives.
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    text = values.astype("string").str.strip().reset_index(drop=True)
    days = pd.to_datetime(text, format=fmt, errors="coerce")
    bad = days.isna() & text.notna() & (text != "")
    if bad.any():  # the cell is not quoted: it may be a birth date
        raise AnonymizationError(
            f"{_where(bad, column)}: not a date in format {fmt} (value not shown)",
            fix="correct the cell(s), or set dates.format in the policy (e.g. '%d.%m.%Y')")
    return days.set_axis(values.index)


def _truncate_levels(text: np.ndarray) -> list[np.ndarray]:
    longest = max((len(v) for v in text if v is not None), default=0)
    levels = []
    for cut in range(1, longest):
        levels.append(np.array([
            None if v is None else v[: max(len(v) - cut, 0)] + TOP * min(cut, len(v))
            for v in text], dtype=object))
    return levels


def _group_levels(text: np.ndarray, spec: HierarchySpec, where: str) -> list[np.ndarray]:
    """Each level's group of every value; values without a group are counted, never shown.

    A quasi-identifier's values (a postcode, a ward) may identify, whatever the column.
    """
    levels, current = [], text
    for depth, mapping in enumerate(spec.levels, start=1):
        missing = {v for v in current if v is not None and v not in mapping}
        if missing:
            rows = sum(1 for v in current if v is not None and v not in mapping)
            raise AnonymizationError(
                f"{where}.levels[{depth - 1}] has no group for {len(missing)} distinct "
                f"value(s) in {rows} row(s) (values not shown)",
                fix="add every value of the column to the mapping of that level (list the "
                    "column's distinct values at the site to find the missing ones)")
        current = np.array([None if v is None else mapping[v] for v in current], dtype=object)
        levels.append(current)
    return levels


def _level_names(spec: HierarchySpec, levels: int) -> list[str]:
    """What each level above the original shows, in words."""
    match spec.type:
        case "interval":
            top = "" if spec.cap is None else f", {_num(spec.cap)}+ together"
            cuts = [f"split at {', '.join(_num(c) for c in spec.cuts)}"] if spec.cuts else []
            return [f"bands of {_num(w)}{top}" for w in spec.bands] + cuts
        case "date":
            return [str(g) for g in spec.levels]
        case "truncate":
            return [f"last {c} character{'s' if c > 1 else ''} masked"
                    for c in range(1, levels + 1)]
        case "groups":
            return [f"groups, level {d}" for d in range(1, levels + 1)]
        case _:
            return []


def build_hierarchy(values: pd.Series, spec: HierarchySpec, *, date_format: str = "ISO8601",
                    where: str | None = None) -> Hierarchy:
    """Render ``values`` at every level of ``spec`` and precompute codes and NUE costs.

    ``where`` names the hierarchy's policy key in messages (default
    ``quasi_identifiers.<column>``); no message quotes a value.
    """
    where = where or f"quasi_identifiers.{spec.column}"
    values = values.reset_index(drop=True)
    match spec.type:
        case "interval":
            base = _text(values)
            upper = _interval_levels(values, spec)
        case "date":
            days = parse_dates(values, spec.column, date_format)
            base = np.array([None if pd.isna(d) else d.strftime("%Y-%m-%d") for d in days],
                            dtype=object)
            upper = _date_levels(days, spec, date_format)
        case "truncate":
            base = _text(values)
            upper = _truncate_levels(base)
        case "groups":
            base = _text(values)
            upper = _group_levels(base, spec, where)
        case "suppress":
            base, upper = _text(values), []
        case _:
            raise ValueError(f"unknown hierarchy type {spec.type!r}")
    labels = [base, *upper]
    names = ["exact value" if spec.type != "date" else "exact date",
             *_level_names(spec, len(upper))]
    if spec.top:
        labels.append(np.full(len(values), TOP, dtype=object))
        names.append(f"{TOP} (withheld)")
    coded = [_codes(level) for level in labels]
    base_count = coded[0][1][coded[0][0]]
    cost = tuple(np.log2(counts[codes] / base_count) for codes, counts in coded)
    hi = len(labels) - 1 if spec.max_level is None else min(spec.max_level, len(labels) - 1)
    if spec.min_level > hi:
        raise AnonymizationError(
            f"{where}: min_level {spec.min_level} is above the highest level {hi}",
            fix=f"use min_level between 0 and {hi}")
    return Hierarchy(column=spec.column, labels=tuple(labels),
                     codes=tuple(c for c, _ in coded), cost=cost, lo=spec.min_level, hi=hi,
                     names=tuple(names))
