"""Reading any site file into one shape: a frame of text cells named by the header.

Hospitals send CSV exports from Excel (semicolons, decimal commas, Windows encodings),
real ``.xlsx`` workbooks and Parquet files. :func:`read_table` turns any of them into one
shape: a frame of text cells (``string`` dtype, NA for missing) whose columns are the
header names. Nothing is typed here; typing is the dictionary's job
(:mod:`synthema.harmonize.validate`, :mod:`synthema.harmonize.apply`). A data row's
spreadsheet row number is its position + 2 (the header is row 1).

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "site.csv"
>>> _ = p.write_text("id;hb\\nP1;8,7\\nP2;n.d.\\n", encoding="utf-8")
>>> df = read_table(p, decimal=",", missing_values=DEFAULT_MISSING + ("n.d.",))
>>> df.attrs["delimiter"], df["hb"].tolist()
(';', ['8.7', <NA>])
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthema.errors import DataFileError
from synthema.tables.decimal_marks import normalize_decimal
from synthema.tables.delimited import delimiter_name, read_delimited
from synthema.tables.formats import check_input_path
from synthema.tables.missing import DEFAULT_MISSING
from synthema.tables.sheets import Numbers, read_excel, read_parquet

_LOG = logging.getLogger(__name__)
_PANDAS_INDEX = re.compile(r"^__index_level_\d+__$")


def _ranges(positions: Sequence[int]) -> str:
    """``[0, 1, 2, 5]`` -> ``"0-2,5"``: compact, and cheap for pandas to copy in ``attrs``."""
    parts: list[str] = []
    start = prev = positions[0]
    for p in [*positions[1:], None]:
        if p is not None and p == prev + 1:
            prev = p
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if p is not None:
            start = prev = p
    return ",".join(parts)


def typed_numbers(attrs: dict[str, Any], column: str, n: int) -> np.ndarray | None:
    """Mask of ``column``'s cells a workbook or Parquet file stored as numbers (None: none).

    >>> typed_numbers({"typed_numbers": {"hb": "0-1,3"}}, "hb", 5).tolist()
    [True, True, False, True, False]
    """
    return cell_flags(attrs, "typed_numbers", column, n)


def cell_flags(attrs: dict[str, Any], kind: str, column: str, n: int) -> np.ndarray | None:
    """Mask of ``column``'s cells flagged as ``kind`` when the file was read (None: none).

    Kinds: ``typed_numbers`` (see :func:`typed_numbers`), ``formula_uncached`` (a workbook
    formula with no saved value: read as empty), ``formula_zero`` (a formula whose saved
    value is 0), ``percent_format`` (a number shown as a percentage: ``0.15`` is 15%) and
    ``excel_error`` (an error value such as ``#REF!``).

    >>> cell_flags({"formula_uncached": {"ldh": "2"}}, "formula_uncached", "ldh", 4).tolist()
    [False, False, True, False]
    """
    text = attrs.get(kind, {}).get(column)
    if not text:
        return None
    mask = np.zeros(n, dtype=bool)
    for part in text.split(","):
        first, _, last = part.partition("-")
        mask[int(first): min(int(last or first), n - 1) + 1] = True
    return mask


def read_table(
    path: str | Path,
    *,
    delimiter: str | None = None,
    encoding: str | None = None,
    decimal: str | None = None,
    sheet: str | None = None,
    missing_values: Iterable[str] = DEFAULT_MISSING,
) -> pd.DataFrame:
    """Read a CSV/TSV/TXT, Excel (.xlsx, .xlsm) or Parquet file into a frame of text cells.

    Args:
        path: the file; its extension picks the reader (:data:`~synthema.tables.formats.
            READ_FORMATS`).
        delimiter: field separator of text files; detected among , ; TAB | when None.
        encoding: text encoding; UTF-8 (with or without BOM) when None.
        decimal: ``","`` turns ``8,7`` into ``8.7`` (and ``1.500,5`` or ``1 500,5`` into
            ``1500.5``; ``0.500`` stays: a leading 0 group is never thousands);
            ``"."`` removes thousands commas (``1,500.5``); None leaves cells as written.
            It rewrites *every* column (ids too): for drafting a dictionary only;
            :func:`synthema.harmonize.harmonize` reads numbers per column itself.
        sheet: Excel sheet name; the first sheet when None.
        missing_values: cell texts (after trimming spaces) that mean missing.

    Returns:
        A ``string`` frame; ``attrs`` records ``file``, ``format``, for workbooks and
        Parquet files ``typed_numbers`` (column -> positions of cells stored as numbers,
        rendered with a ``.`` whatever the locale, as ranges ``"0-41,43"``; see
        :func:`typed_numbers`), for workbooks ``formula_uncached`` / ``formula_zero``
        when formulas have no saved value or a saved 0, ``percent_format`` for numbers
        shown as percentages and ``excel_error`` for error values (:func:`cell_flags`),
        ``decimal``
        when given (the cells were rewritten) and, for text files,
        the ``delimiter`` and ``encoding`` used (``detected``: whether it was detected;
        ``looks_utf8``: a non-UTF-8 ``encoding`` was given but the bytes are UTF-8 with
        accents); :func:`describe_read` turns them into words. An Excel ``sep=;`` first
        line sets the delimiter (unless ``delimiter`` is given) and is skipped.

    Raises:
        DataFileError: naming the file, line or row and column, with a fix.
    """
    path = Path(path)
    kind = check_input_path(path)
    attrs: dict[str, Any] = {"file": str(path), "format": kind}
    flags: dict[str, Numbers] = {}
    match kind:
        case "delimited":
            header, rows = _read_text(path, delimiter, encoding, attrs)
        case "excel":
            cells = read_excel(path, sheet)
            header, rows, flags = cells.header, cells.rows, cells.flags
            attrs["sheet"] = sheet
        case "parquet":
            cells = read_parquet(path)
            header, rows, flags = cells.header, cells.rows, cells.flags
        case _:
            raise ValueError(f"unknown format {kind!r}")
    frame = _build_frame(path, header, rows, frozenset(missing_values) | {""})
    for flag, positions in flags.items():
        attrs[flag] = _typed_number_ranges(header, positions, frame)
    if decimal is not None:
        attrs["decimal"] = decimal
        frame = frame.apply(lambda col: normalize_decimal(col, decimal))
    frame.attrs.update(attrs)
    return frame


def _read_text(path: Path, delimiter: str | None, encoding: str | None,
               attrs: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a delimited file; how it was read goes into ``attrs``."""
    header, rows, used = read_delimited(path, delimiter, encoding)
    attrs.update(delimiter=used[0], encoding=used[1], detected=delimiter is None)
    if used[2]:
        attrs["looks_utf8"] = True
        _LOG.info("%s: read as %s but the bytes are UTF-8 with accents; "
                  "read it as UTF-8 (no encoding option)", path, used[1])
    _LOG.info("%s: %s delimiter, %s", path, delimiter_name(used[0]), used[1])
    return header, rows


def _typed_number_ranges(header: Sequence[Any], numbers: Numbers,
                         frame: pd.DataFrame) -> dict[str, str]:
    names = [str(h).strip() if h is not None else "" for h in header]
    return {names[pos]: _ranges(rows_at) for pos, rows_at in numbers.items()
            if rows_at and pos < len(names) and names[pos] in frame.columns}


def describe_read(attrs: dict[str, Any]) -> str:
    """How a frame was read, in words ("" when not read by :func:`read_table`).

    >>> describe_read({"format": "delimited", "delimiter": ";", "encoding": "latin-1",
    ...                "detected": True})
    "semicolon ';' delimiter detected, latin-1"
    """
    match attrs.get("format"):
        case "delimited":
            delim = attrs.get("delimiter", ",")
            how = " detected" if attrs.get("detected") else ""
            return f"{delimiter_name(delim)} delimiter{how}, {attrs.get('encoding')}"
        case "excel":
            return f"Excel sheet {attrs['sheet']}" if attrs.get("sheet") else "Excel, first sheet"
        case "parquet":
            return "Parquet"
        case _:
            return ""


def _column_letter(pos: int) -> str:
    letters = ""
    while pos:
        pos, rem = divmod(pos - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _kept_columns(path: Path, names: list[str], rows: list[list[Any]],
                  missing: frozenset[str]) -> list[int]:
    """Positions of the columns to keep: named ones; unnamed empty ones are skipped."""
    keep: list[int] = []
    for pos, name in enumerate(names):
        if _PANDAS_INDEX.match(name):
            continue
        has_data = any(_cell(r, pos) not in missing for r in rows)
        if not name and not has_data:
            _LOG.info("%s: column %d has no name and no data; skipped", path, pos + 1)
            continue
        if not name:
            raise DataFileError(
                f"{path}: column {pos + 1} ({_column_letter(pos + 1)}) has data but no name "
                "in the header",
                fix="type a column name in the header cell, or delete the column",
            )
        keep.append(pos)
    return keep


def _check_unique_names(path: Path, names: list[str], keep: list[int]) -> None:
    seen: dict[str, list[int]] = {}
    for pos in keep:
        seen.setdefault(names[pos], []).append(pos + 1)
    dups = {n: p for n, p in seen.items() if len(p) > 1}
    if dups:
        listed = "; ".join(
            f"'{n}' (columns {', '.join(str(x) for x in p)})" for n, p in dups.items()
        )
        raise DataFileError(
            f"{path}: header names used more than once: {listed}",
            fix="give each column its own name (or delete the copies)",
        )


def _build_frame(
    path: Path, header: Sequence[Any], rows: list[list[Any]], missing: frozenset[str]
) -> pd.DataFrame:
    names = ["" if h is None else str(h).strip() for h in header]
    if not any(names):
        raise DataFileError(
            f"{path}: the first row (header) is empty",
            fix="put the column names in the first row and delete empty rows above it",
        )
    keep = _kept_columns(path, names, rows, missing)
    _check_unique_names(path, names, keep)
    data = {
        names[pos]: [None if (c := _cell(r, pos)) in missing else c for r in rows]
        for pos in keep
    }
    return pd.DataFrame(data, dtype="string", columns=[names[p] for p in keep])


def _cell(row: Sequence[Any], pos: int) -> str:
    return row[pos] if pos < len(row) else ""
