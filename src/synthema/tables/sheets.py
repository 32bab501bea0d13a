"""Typed tabular files (Excel workbooks, Parquet tables) read as the text a CSV would hold.

Spreadsheets and Parquet files store typed cells; synthema reads every file as text so that
one set of checks and conversions applies to all formats. :func:`cell_text` renders a
typed cell: integral floats as ``1`` (not ``1.0``), dates as ISO ``YYYY-MM-DD``, booleans
as ``true``/``false``, missing as None.

Readers also return which cells were stored as numbers: their text is written with a
``.`` whatever the workbook's locale, so a mapping's decimal comma must not apply to them.
A workbook written by a program (openpyxl, many exporters) may hold formulas that were
never computed: such a cell has no saved value and would read as empty. Those cells are
returned too (``formula_uncached``), and formulas whose saved value is 0
(``formula_zero``: what some writers store instead of computing), so that no value
vanishes uncounted. Numbers formatted as percentages (``percent_format``) are stored as
fractions (``0.15`` shows as ``15%``): the reader of the column decides which it meant.
Excel error values (``#REF!``, ``#VALUE!``, ``#DIV/0!``) are flagged (``excel_error``):
their text is no value.

>>> [cell_text(v) for v in (1.0, 2.5, True, dt.datetime(2020, 1, 2), None, float("nan"))]
['1', '2.5', 'true', '2020-01-02', None, None]
"""

from __future__ import annotations

import datetime as dt
import decimal as _decimal
import math
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthema.errors import DataFileError


def cell_text(value: Any) -> str | None:
    """Render a typed spreadsheet/Parquet cell as the text a CSV export would hold."""
    match value:
        case None:
            return None
        case bool():
            return "true" if value else "false"
        case int():
            return str(value)
        case float():
            if math.isnan(value):
                return None
            return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
        case dt.datetime():
            if value.time() == dt.time(0) and value.tzinfo is None:
                return value.date().isoformat()
            return value.isoformat(sep=" ")
        case dt.date() | dt.time():
            return value.isoformat()
        case _decimal.Decimal():
            return format(value.normalize(), "f") if value.is_finite() else None
        case bytes():
            return value.decode("utf-8", errors="replace").strip()
        case str():
            return value.strip()
        case _:
            return str(value).strip()


Numbers = dict[int, list[int]]  # column position -> data-row positions of typed numbers
_FORMULA = re.compile(rb"<(?:\w+:)?f[ >/]")


@dataclass(frozen=True)
class TypedCells:
    """A typed sheet as text: header, rows, and per kind the cells that need a word.

    ``flags`` maps a kind (``typed_numbers``, ``formula_uncached``, ``formula_zero``) to
    the data-row positions of its cells per column position.
    """

    header: list[Any]
    rows: list[list[str]]
    flags: dict[str, Numbers] = field(default_factory=dict)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | _decimal.Decimal) and not isinstance(value, bool)


def _open(path: Path, *, data_only: bool) -> Any:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=data_only)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise DataFileError(
            f"{path}: not a readable .xlsx workbook ({type(exc).__name__}: {exc})",
            fix="open it in Excel or LibreOffice and save it again as .xlsx, or export CSV",
        ) from None


def _sheet_values(path: Path, sheet: str | None, *, data_only: bool
                  ) -> tuple[str, list[list[Any]], dict[str, Numbers]]:
    """The sheet's name, its typed cell values (formulas as text when not ``data_only``) and
    flagged cells: ``percent_format`` (numbers shown as percentages: ``0.15`` is ``15%``)
    and ``excel_error`` (error values such as ``#REF!``)."""
    book = _open(path, data_only=data_only)
    try:
        if sheet is None:
            ws = book.worksheets[0]
        elif sheet in book.sheetnames:
            ws = book[sheet]
        else:
            raise DataFileError(
                f"{path}: no sheet named '{sheet}' (sheets: {', '.join(book.sheetnames)})",
                fix="pass one of those names with --sheet (or read.sheet in the mapping)",
            )
        values: list[list[Any]] = []
        flags: dict[str, Numbers] = {"percent_format": {}, "excel_error": {}}
        for r, row in enumerate(ws.iter_rows()):
            values.append([cell.value for cell in row])
            for c, cell in enumerate(row):
                if not r:
                    continue
                if getattr(cell, "data_type", None) == "e":  # #REF!, #VALUE!, #DIV/0!...
                    flags["excel_error"].setdefault(c, []).append(r - 1)
                elif _is_number(cell.value) and "%" in str(getattr(cell, "number_format",
                                                                     "") or ""):
                    flags["percent_format"].setdefault(c, []).append(r - 1)
        return ws.title, values, {k: v for k, v in flags.items() if v}
    finally:
        book.close()


def _has_formulas(path: Path) -> bool:
    """True when a worksheet of the workbook holds a formula (a cheap scan of its XML)."""
    with zipfile.ZipFile(path) as book:
        return any(_FORMULA.search(book.read(name)) for name in book.namelist()
                   if name.startswith("xl/worksheets/") and name.endswith(".xml"))


def _formula_cells(path: Path, sheet: str, typed: list[list[Any]]) -> dict[str, Numbers]:
    """Data cells holding a formula with no saved value, or with a saved value of 0."""
    if not _has_formulas(path):
        return {}
    _, formulas, _ = _sheet_values(path, sheet, data_only=False)
    found: dict[str, Numbers] = {"formula_uncached": {}, "formula_zero": {}}
    for r, row in enumerate(formulas[1:len(typed)]):
        saved = typed[r + 1]
        for c, value in enumerate(row):
            if not (isinstance(value, str) and value.startswith("=")
                    or type(value).__name__ in ("ArrayFormula", "DataTableFormula")):
                continue
            cached = saved[c] if c < len(saved) else None
            if cached is None:
                found["formula_uncached"].setdefault(c, []).append(r)
            elif _is_number(cached) and cached == 0:
                found["formula_zero"].setdefault(c, []).append(r)
    return {k: v for k, v in found.items() if v}


def read_excel(path: Path, sheet: str | None) -> TypedCells:
    """Header, rows (text) and flagged cells of a sheet (the first when ``sheet`` is None)."""
    name, typed, cell_kinds = _sheet_values(path, sheet, data_only=True)
    grid = [[cell_text(v) or "" for v in row] for row in typed]
    numbers: Numbers = {}
    for r, row in enumerate(typed[1:]):
        for c, value in enumerate(row):
            if _is_number(value) and cell_text(value) is not None:
                numbers.setdefault(c, []).append(r)
    flags = {"typed_numbers": numbers, **_formula_cells(path, name, typed), **cell_kinds}
    uncached = {r + 1 for rows in flags.get("formula_uncached", {}).values() for r in rows}
    while grid and not any(grid[-1]) and len(grid) - 1 not in uncached:
        grid.pop()  # trailing blank rows; a row of formulas without values is not blank
    if not grid:
        raise DataFileError(f"{path}: the sheet is empty", fix="put a header and data in it")
    width = max(len(r) for r in grid)
    grid = [r + [""] * (width - len(r)) for r in grid]
    return TypedCells(grid[0], grid[1:], flags)


def read_parquet(path: Path) -> TypedCells:
    """Header, rows (text) and typed-number cells of a Parquet file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataFileError(
            f"{path}: not a readable Parquet file ({exc})",
            fix="write the file again (e.g. pandas DataFrame.to_parquet) or export CSV",
        ) from None
    typed = [col.to_pylist() for col in table.columns]
    columns = [[cell_text(v) or "" for v in col] for col in typed]
    rows = [list(r) for r in zip(*columns, strict=True)] if columns else []
    numbers: Numbers = {
        c: [r for r, v in enumerate(col) if _is_number(v) and cell_text(v) is not None]
        for c, col in enumerate(typed)
    }
    return TypedCells(list(table.column_names), rows, {"typed_numbers": numbers})
