"""Validating a file in the dictionary's own format: every problem, with its row and fix.

:func:`validate_frame` checks columns (unknown, missing), cells (type, range, category,
required), patient ids (missing, repeated) and clinical rules. Rules are evaluated on the
parsed values only: a cell with a problem counts as missing there, so a rule never fails
because of a typo it cannot see. Row numbers are spreadsheet rows (header = row 1).

>>> import pandas as pd
>>> from synthema.schema import Dictionary
>>> d = Dictionary.from_mapping({"name": "ex", "version": 1, "patient_id": "pid",
...     "variables": [{"name": "age", "type": "integer", "min": 18, "max": 100}]})
>>> raw = pd.DataFrame({"pid": ["A", "A"], "age": ["17", "x"]}, dtype="string")
>>> r = validate_frame(raw, d, file="x.csv")
>>> [(p.row, p.kind) for p in r.problems]
[(2, 'range'), (3, 'duplicate_id'), (3, 'type')]
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthema.errors import ValidationFailed
from synthema.harmonize.summary import plural
from synthema.schema.dictionary import Dictionary, Variable, VariableType, load_dictionary
from synthema.schema.values import empty_column, format_column, parse_column
from synthema.tables import (
    C1_CONTROLS,
    DEFAULT_MISSING,
    cell_flags,
    column_markers,
    describe_read,
    read_table,
)

_SHOWN_FIXES = 3
KINDS = ("unknown_column", "missing_column", "missing_id", "duplicate_id", "type", "range",
         "category", "required", "rule")
_SHOWN_CATEGORIES = 8


@dataclass(frozen=True)
class Problem:
    """One finding of a validation (synthema's one ``Problem``: the evaluation uses it too).

    ``row`` is the spreadsheet row (header = row 1, so a frame's position + 2; None for a
    whole column); ``kind`` one of :data:`KINDS`.
    """

    file: str
    row: int | None
    column: str | None
    kind: str
    value: str | None = None
    message: str = ""
    fix: str = ""

    def __str__(self) -> str:
        where = ", ".join(x for x in (
            f"row {self.row}" if self.row is not None else "",
            f"column {self.column}" if self.column else "") if x)
        return f"{self.file}: {where}: {self.message}" if where else f"{self.file}: {self.message}"


@dataclass(frozen=True)
class ProblemGroup:
    """Problems of one kind in one column: a count, the first rows and values, one fix."""

    kind: str
    column: str | None
    count: int
    rows: tuple[int, ...]
    values: tuple[str, ...]
    message: str
    fix: str


@dataclass(frozen=True)
class ValidationReport:
    """All problems found in one file, and the typed frame of its valid cells."""

    file: str
    rows: int
    problems: tuple[Problem, ...]
    data: pd.DataFrame
    read: str = field(default="", compare=False)

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems

    def counts(self) -> dict[tuple[str, str | None], int]:
        """Number of problems per (kind, column)."""
        return dict(Counter((p.kind, p.column) for p in self.problems))

    def counts_by_kind(self) -> dict[str, int]:
        """Number of problems per kind, in the order of :data:`KINDS`."""
        found = Counter(p.kind for p in self.problems)
        return {k: found[k] for k in KINDS if found[k]}

    def groups(self, max_rows: int = 5) -> list[ProblemGroup]:
        """Problems grouped by (kind, column) with the first ``max_rows`` rows of each."""
        grouped: dict[tuple[str, str | None], list[Problem]] = {}
        for p in self.problems:
            grouped.setdefault((p.kind, p.column), []).append(p)
        out = []
        for (kind, column), items in sorted(
            grouped.items(), key=lambda kv: (KINDS.index(kv[0][0]), str(kv[0][1]))
        ):
            first = items[:max_rows]
            out.append(ProblemGroup(
                kind=kind, column=column, count=len(items),
                rows=tuple(p.row for p in first if p.row is not None),
                values=tuple(p.value for p in first if p.value is not None),
                message=items[0].message, fix=_group_fix(items),
            ))
        return out

    def totals_line(self) -> str:
        """One line: the file, its size, the problems per kind and how it was read."""
        how = f" [{self.read}]" if self.read else ""
        if self.ok:
            return f"{self.file}: {plural(self.rows, 'row')}, no problems{how}"
        kinds = ", ".join(f"{n} {k}" for k, n in self.counts_by_kind().items())
        return (f"{self.file}: {plural(self.rows, 'row')}, "
                f"{plural(len(self.problems), 'problem')} ({kinds}){how}")

    def to_frame(self) -> pd.DataFrame:
        """The problems as a frame (one row each)."""
        cols = ["file", "row", "column", "kind", "value", "message", "fix"]
        return pd.DataFrame([[getattr(p, c) for c in cols] for p in self.problems], columns=cols)

    def raise_for_problems(self) -> None:
        """Raise :class:`ValidationFailed` listing the first problem, when there are any."""
        if self.problems:
            first = self.problems[0]
            raise ValidationFailed(f"{self.totals_line()}; first: {first}", fix=first.fix,
                                   problems=list(self.problems))


def _group_fix(items: list[Problem]) -> str:
    """One fix for a group: the fix when all agree, else the first few fixes per value."""
    fixes: dict[str, str | None] = {}
    for p in items:
        fixes.setdefault(p.fix, p.value)
    if len(fixes) == 1:
        return items[0].fix
    shown = [f"'{v}': {f}" if v is not None else f for f, v in fixes.items()][:_SHOWN_FIXES]
    more = "; ..." if len(fixes) > _SHOWN_FIXES else ""
    return "; ".join(shown) + more


# -- messages -----------------------------------------------------------------------------------
def _allowed(var: Variable) -> str:
    cats = list(var.categories)
    shown = ", ".join(cats[:_SHOWN_CATEGORIES])
    return shown + (f", ... ({len(cats)} in all)" if len(cats) > _SHOWN_CATEGORIES else "")


def _type_problem(var: Variable, value: str) -> tuple[str, str]:
    match var.type:
        case VariableType.INTEGER:
            if "," in value:
                return _comma_problem(value)
            return f"'{value}' is not a whole number", "write a whole number, or leave it empty"
        case VariableType.CONTINUOUS | VariableType.DURATION:
            what = "whole number" if var.is_whole_number else "number"
            if "," in value:
                return _comma_problem(value)
            return (f"'{value}' is not a {what}",
                    f"write a {what} with '.' as decimal point, or leave it empty")
        case VariableType.DATE:
            return (f"'{value}' is not a date in YYYY-MM-DD form",
                    "write YYYY-MM-DD, or harmonise the file with a mapping giving date_format")
        case VariableType.BOOLEAN:
            return f"'{value}' is not true/false", "write 1/0, true/false or yes/no"
        case _:
            return f"'{value}' cannot be read as {var.type.value}", "correct the value"


def _comma_problem(value: str) -> tuple[str, str]:
    """A number written with a comma: decimal comma or thousands separator, it is ambiguous."""
    return (f"'{value}' is not a plain number: use '.' as decimal point and no thousands "
            "separator",
            f"write '{value.replace(',', '')}' or '{value.replace(',', '.')}' as meant, or "
            "harmonise the export with a mapping giving read: decimal")


def _range_problem(var: Variable, value: Any) -> tuple[str, str]:
    unit = f" {var.unit}" if var.unit else ""
    low = var.min is not None and value < (
        pd.Timestamp(var.min) if var.type is VariableType.DATE else var.min)
    bound = var.min if low else var.max
    bound_text = bound.isoformat() if hasattr(bound, "isoformat") else f"{bound:g}"
    shown = value.date().isoformat() if hasattr(value, "date") else f"{value:g}"
    side = "below the minimum" if low else "above the maximum"
    fix = (f"check the value and its unit (the dictionary expects{unit}); correct it or "
           "leave it empty" if unit else "correct the value or leave it empty")
    return f"{shown} is {side} {bound_text}{unit}", fix


def _category_problem(var: Variable, value: str) -> tuple[str, str]:
    """Message and fix for a cell that is not a category: case slip, did-you-mean, or list."""
    fold = {c.lower(): c for c in var.categories}
    if value.lower() in fold:
        return (f"'{value}' is not a category of {var.name} (allowed: {_allowed(var)})",
                f"write '{fold[value.lower()]}' (categories are case-sensitive)")
    close = difflib.get_close_matches(value.lower(), list(fold), n=1, cutoff=0.75)
    if close:
        return (f"'{value}' is not a category of {var.name} (allowed: {_allowed(var)}; "
                f"did you mean '{fold[close[0]]}'?)",
                f"write '{fold[close[0]]}' if that is meant, or another allowed value")
    return (f"'{value}' is not a category of {var.name} (allowed: {_allowed(var)})",
            f"write one of {_allowed(var)}, or map the site's codes with a mapping file")


# -- validation ---------------------------------------------------------------------------------
def validate_frame(
    raw: pd.DataFrame,
    dictionary: Dictionary | str | Path,
    *,
    file: str = "<data>",
    missing_values: Iterable[str] = DEFAULT_MISSING,
) -> ValidationReport:
    """Check a frame of text cells against ``dictionary``; never raises for bad data.

    ``missing_values`` apply to every column except where one is a category of the
    column's variable (ignoring case): there it is a value, checked like any other.
    """
    dictionary = load_dictionary(dictionary)
    raw = raw.rename(columns=str)
    problems: list[Problem] = []
    add = problems.append
    missing = list(frozenset(missing_values) | {""})
    index = raw.index
    rows = np.arange(len(raw)) + 2
    columns = [str(c) for c in raw.columns]
    utf8 = ("the file looks like UTF-8: read it without --encoding; "
            if raw.attrs.get("looks_utf8") else "")
    for col in columns:
        if col not in dictionary.columns:
            close = difflib.get_close_matches(col, dictionary.columns, n=1) or [
                c for c in dictionary.columns if c.lower() == col.lower()]
            fix = utf8 + (f"rename it to '{close[0]}'" if close else
                          "remove it, or harmonise the file with a mapping that maps or drops it")
            add(Problem(file, None, col, "unknown_column", None,
                        f"column '{col}' is not in dictionary '{dictionary.name}'", fix))
    typed: dict[str, pd.Series] = {}
    for name in dictionary.columns:
        if name in columns:
            continue
        required = name == dictionary.patient_id or (
            name in dictionary and dictionary[name].required)
        add(Problem(file, None, name, "missing_column", None, f"column '{name}' is missing",
                    f"add the column and fill it ('{name}' is required)" if required
                    else "add the column (empty cells are allowed)"))
    text = {c: _clean(raw[c], _markers(missing, dictionary, c))
            for c in columns if c in dictionary.columns}
    pid = dictionary.patient_id
    if pid:
        ids = text.get(pid, pd.Series(pd.NA, index=index, dtype="string"))
        typed[pid] = ids
        if pid in text:
            for i in np.flatnonzero(ids.isna().to_numpy(dtype=bool)):
                add(Problem(file, int(rows[i]), pid, "missing_id", None, "the patient id is empty",
                            "give every row its patient id"))
            first_row: dict[str, int] = {}
            for i, value in enumerate(ids.tolist()):
                if value is pd.NA or value is None:
                    continue
                if value in first_row:
                    add(Problem(file, int(rows[i]), pid, "duplicate_id", value,
                                f"patient id '{value}' is already used in row {first_row[value]}",
                                "keep one row per patient (merge or remove the repeat)"))
                else:
                    first_row[value] = int(rows[i])
    bad_cells: dict[str, np.ndarray] = {}
    for var in dictionary.variables:
        if var.name not in text:
            typed[var.name] = empty_column(var, index)
            continue
        typed[var.name], bad_cells[var.name] = _check_column(text[var.name], var, rows, file,
                                                             add)
    _cell_problems(raw, [c for c in columns if c in dictionary.columns], rows, file, add)
    data = pd.DataFrame(typed, index=index)[list(dictionary.columns)]
    _check_rules(data, dictionary, rows, file, add, bad_cells)
    order = {k: i for i, k in enumerate(KINDS)}
    problems.sort(key=lambda p: (p.row is not None, p.row or 0, order[p.kind]))
    return ValidationReport(file=file, rows=len(raw), problems=tuple(problems), data=data,
                            read=describe_read(raw.attrs))


def _cell_problems(raw: pd.DataFrame, columns: list[str], rows: np.ndarray, file: str,
                   add: Any) -> None:
    """Cells changed by how the file was stored: formulas never computed, cp1252 read wrong."""
    for col in columns:
        uncached = cell_flags(raw.attrs, "formula_uncached", col, len(raw))
        for i in np.flatnonzero(uncached) if uncached is not None else ():
            add(Problem(file, int(rows[i]), col, "type", None,
                        "a formula without a saved value (read as empty)",
                        "open the workbook in Excel or LibreOffice and save it, or export "
                        "the values"))
        c1 = raw[col].astype("string").str.contains(C1_CONTROLS, regex=True).fillna(False)
        for i in np.flatnonzero(c1.to_numpy(dtype=bool)):
            value = str(raw[col].iloc[i])
            add(Problem(file, int(rows[i]), col, "type", ascii(value)[1:-1],
                        "holds a control character (0x80-0x9F): the file is likely "
                        "Windows cp1252 read as latin-1",
                        "read it with --encoding cp1252"))


def _markers(missing: list[str], dictionary: Dictionary, column: str) -> list[str]:
    if column not in dictionary:  # the patient id
        return missing
    return list(column_markers(missing, dictionary[column].categories) | {""})


def _clean(cells: pd.Series, missing: list[str]) -> pd.Series:
    text = cells.astype("string").str.strip()
    return text.mask(text.isin(missing))


def _check_column(
    text: pd.Series, var: Variable, rows: np.ndarray, file: str, add
) -> tuple[pd.Series, np.ndarray]:
    """The typed column (bad cells missing) and the mask of cells with a problem."""
    parsed = parse_column(text, var)
    values = parsed.values
    for i in np.flatnonzero(parsed.bad_type.to_numpy(dtype=bool)):
        msg, fix = _type_problem(var, text.iloc[i])
        add(Problem(file, int(rows[i]), var.name, "type", text.iloc[i], msg, fix))
    for i in np.flatnonzero(parsed.bad_category.to_numpy(dtype=bool)):
        msg, fix = _category_problem(var, text.iloc[i])
        add(Problem(file, int(rows[i]), var.name, "category", text.iloc[i], msg, fix))
    bad_range = parsed.bad_range.to_numpy(dtype=bool)
    for i in np.flatnonzero(bad_range):
        msg, fix = _range_problem(var, values.iloc[i])
        add(Problem(file, int(rows[i]), var.name, "range", text.iloc[i], msg, fix))
    if var.required:
        for i in np.flatnonzero(text.isna().to_numpy(dtype=bool)):
            add(Problem(file, int(rows[i]), var.name, "required", None,
                        f"'{var.name}' is required but empty", "fill in a value"))
    bad = (bad_range | parsed.bad_type.to_numpy(dtype=bool)
           | parsed.bad_category.to_numpy(dtype=bool))
    return values.mask(pd.Series(bad_range, index=values.index)), bad


def _check_rules(data: pd.DataFrame, dictionary: Dictionary, rows: np.ndarray, file: str,
                 add, bad_cells: dict[str, np.ndarray]) -> None:
    """Rule problems, on rows where every cell the rule reads passed its own checks.

    A cell with a type, range or category problem is already reported; a rule reading it
    is not applicable on that row (so ``x is not missing`` does not fire a second time).
    """
    if not dictionary.rules or data.empty:
        return
    verdicts = dictionary.evaluate_rules(data)
    shown: dict[str, pd.Series] = {}
    for rule in dictionary.rules:
        broken_mask = (~verdicts[rule.name]).fillna(False).to_numpy(dtype=bool)
        for col in rule.columns:
            if col in bad_cells:
                broken_mask &= ~bad_cells[col]
        broken = np.flatnonzero(broken_mask)
        if not len(broken):
            continue
        for col in rule.columns:
            if col not in shown:
                text = format_column(data[col], dictionary[col])
                shown[col] = text.mask(text == "", "missing")
        why = f" ({rule.description})" if rule.description else ""
        fix = f"correct one of {', '.join(rule.columns)}{why}"
        for i in broken:
            values = ", ".join(f"{c}={shown[c].iloc[i]}" for c in rule.columns)
            add(Problem(file, int(rows[i]), rule.name, "rule", values,
                        f"rule '{rule.name}' ({rule.expr}) does not hold: {values}", fix))


def validate_file(
    path: str | Path, dictionary: Dictionary | str | Path, **read_options: Any
) -> ValidationReport:
    """Read ``path`` (options as :func:`synthema.tables.read_table`) and validate it.

    The missing markers are applied per column by :func:`validate_frame`, not on reading.
    """
    options = dict(read_options)
    missing = options.pop("missing_values", DEFAULT_MISSING)
    raw = read_table(path, **options, missing_values=())
    return validate_frame(raw, dictionary, file=str(path), missing_values=missing)


def _ref(dictionary: Dictionary | str | Path) -> str:
    """How the user named the dictionary (for a command in a fix), else its name."""
    return dictionary.name if isinstance(dictionary, Dictionary) else str(dictionary)


def read_clean_files(
    paths: Sequence[str | Path], dictionary: Dictionary | str | Path
) -> tuple[pd.DataFrame, tuple[ValidationReport, ...]]:
    """The typed rows of clean site files pooled in order, and each file's (clean) report.

    Models are fitted on clean files only: the first file with any problem stops the read.

    Raises:
        ValidationFailed: naming the file and what is wrong, with the command that lists it.
        DataFileError: a file cannot be read.
    """
    d = load_dictionary(dictionary)
    reports = []
    for path in paths:
        report = validate_file(path, d)
        if not report.ok:
            raise ValidationFailed(
                report.totals_line(),
                fix=f"run `synthema validate --dictionary {_ref(dictionary)} {path}` and fix "
                "what it lists: models are fitted on clean files only",
                problems=list(report.problems),
            )
        reports.append(report)
    return pd.concat([r.data for r in reports], ignore_index=True), tuple(reports)


def summarize_file(path: str | Path, dictionary: Dictionary | str | Path) -> dict[str, str]:
    """The cohort summary of one clean file (:func:`synthema.schema.summary.summarize`).

    Cells that break their variable's type, range or categories are read as missing and
    counted under ``invalid cells (read as missing)``.
    """
    from synthema.schema.summary import summarize

    d = load_dictionary(dictionary)
    raw = read_table(path)
    typed = validate_frame(raw, d, file=str(path)).data if set(d.columns) <= set(raw) else None
    return summarize(raw, d, name=Path(path).name, typed=typed)
