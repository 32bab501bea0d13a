"""Reading site files robustly: every way a file can be unreadable gets its own message.

Hospitals send CSV exports from Excel (semicolons, decimal commas, Windows encodings),
real ``.xlsx`` workbooks and Parquet files. :func:`read_table` turns any of them into one
shape: a frame of text cells (``string`` dtype, NA for missing) whose columns are the
header names. Nothing is typed here; typing is the dictionary's job
(:mod:`synthema.harmonize.validate`, :mod:`synthema.harmonize.mapping`). A data row's
spreadsheet row number is its position + 2 (the header is row 1).

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "site.csv"
>>> _ = p.write_text("id;hb\\nP1;8,7\\nP2;n.d.\\n", encoding="utf-8")
>>> df = read_table(p, decimal=",", missing_values=DEFAULT_MISSING + ("n.d.",))
>>> df.attrs["delimiter"], df["hb"].tolist()
(';', ['8.7', <NA>])
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthema.errors import DataFileError
from synthema.harmonize.numbers import THOUSANDS_COMMA, THOUSANDS_DOT, THOUSANDS_SPACE
from synthema.harmonize.sheets import read_excel, read_parquet

_LOG = logging.getLogger(__name__)

# Not "None": it is a category in clinical data ("none" of the new therapies); a site whose
# export writes None for missing lists it under missing_values.
DEFAULT_MISSING: tuple[str, ...] = (
    "", "NA", "N/A", "n/a", "NaN", "nan", "NULL", "null", "#N/A",
)
DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")
FORMATS = {
    ".csv": "delimited", ".tsv": "delimited", ".txt": "delimited",
    ".xlsx": "excel", ".xlsm": "excel", ".parquet": "parquet", ".pq": "parquet",
}
_DELIM_NAMES = {",": "comma ','", ";": "semicolon ';'", "\t": "tab", "|": "pipe '|'"}
_DELIM_ALIASES = {"\\t": "\t", "tab": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
_COMMA_NUMBER = re.compile(r"^[+-]?(\d+,\d*|,\d+)$")
_PANDAS_INDEX = re.compile(r"^__index_level_\d+__$")
_SEP_HINT = re.compile(r'^"?sep=(.)"?[ \t]*$', re.IGNORECASE)
OUTPUT_FORMATS = (".csv", ".tsv", ".parquet", ".pq")


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
    text = attrs.get("typed_numbers", {}).get(column)
    if not text:
        return None
    mask = np.zeros(n, dtype=bool)
    for part in text.split(","):
        first, _, last = part.partition("-")
        mask[int(first): min(int(last or first), n - 1) + 1] = True
    return mask


def normalize_delimiter(delimiter: str | None) -> str | None:
    """Accept ``\\t``/``tab``/``semicolon`` spellings from the command line."""
    if delimiter is None:
        return None
    delim = _DELIM_ALIASES.get(delimiter.lower(), delimiter)
    if len(delim) != 1:
        raise DataFileError(
            f"delimiter {delimiter!r} is not one character",
            fix="pass one of , ; | or tab (e.g. --delimiter ';')",
        )
    return delim


def read_table(
    path: str | Path,
    *,
    delimiter: str | None = None,
    encoding: str | None = None,
    decimal: str | None = None,
    sheet: str | None = None,
    missing_values: Iterable[str] = DEFAULT_MISSING,
) -> pd.DataFrame:
    """Read a CSV/TSV/TXT, Excel (.xlsx) or Parquet file into a frame of text cells.

    Args:
        path: the file; its extension picks the reader.
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
        :func:`typed_numbers`) and, for text files,
        the ``delimiter`` and ``encoding`` used (``detected``: whether it was detected;
        ``looks_utf8``: a non-UTF-8 ``encoding`` was given but the bytes are UTF-8 with
        accents); :func:`describe_read` turns them into words. An Excel ``sep=;`` first
        line sets the delimiter (unless ``delimiter`` is given) and is skipped.

    Raises:
        DataFileError: naming the file, line or row and column, with a fix.
    """
    path = Path(path)
    kind = _check_path(path)
    missing = frozenset(missing_values) | {""}
    attrs: dict[str, Any] = {"file": str(path), "format": kind}
    match kind:
        case "delimited":
            header, rows, used = _read_delimited(path, delimiter, encoding)
            attrs.update(delimiter=used[0], encoding=used[1], detected=delimiter is None)
            if used[2]:
                attrs["looks_utf8"] = True
                _LOG.info("%s: read as %s but the bytes are UTF-8 with accents; "
                             "read it as UTF-8 (no encoding option)", path, used[1])
            _LOG.info("%s: %s delimiter, %s", path, _DELIM_NAMES.get(used[0], used[0]), used[1])
        case "excel":
            header, rows, numbers = read_excel(path, sheet)
            attrs["sheet"] = sheet
        case "parquet":
            header, rows, numbers = read_parquet(path)
        case _:
            raise ValueError(f"unknown format {kind!r}")
    frame = _build_frame(path, header, rows, missing)
    if kind != "delimited":
        names = [str(h).strip() if h is not None else "" for h in header]
        attrs["typed_numbers"] = {
            names[pos]: _ranges(rows_at) for pos, rows_at in numbers.items()
            if rows_at and pos < len(names) and names[pos] in frame.columns}
    if decimal is not None:
        frame = frame.apply(lambda col: normalize_decimal(col, decimal))
    frame.attrs.update(attrs)
    return frame


def check_output_path(path: str | Path) -> Path:
    """Refuse an output path :func:`write_table` cannot write, before any work is done.

    Raises:
        DataFileError: an unsupported extension, or an existing folder.
    """
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in OUTPUT_FORMATS:
        raise DataFileError(
            f"{path}: cannot write '{ext or 'no extension'}' files",
            fix="name the output .csv, .tsv or .parquet",
        )
    if path.is_dir():
        raise DataFileError(f"{path}: is a folder", fix="name an output file, e.g. out.csv")
    return path


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
            return f"{_DELIM_NAMES.get(delim, repr(delim))} delimiter{how}, {attrs.get('encoding')}"
        case "excel":
            return f"Excel sheet {attrs['sheet']}" if attrs.get("sheet") else "Excel, first sheet"
        case "parquet":
            return "Parquet"
        case _:
            return ""


def column_markers(markers: Iterable[str], values: Iterable[str]) -> frozenset[str]:
    """The missing markers that apply to a column whose meaningful ``values`` are given.

    A marker that is (ignoring case) one of the column's categories or codes is a value
    there, not a missing marker: ``None`` is a category of a therapy column.

    >>> sorted(column_markers({"NA", "None"}, ["none", "hydroxyurea"]))
    ['NA']
    """
    taken = {v.casefold() for v in values}
    return frozenset(m for m in markers if m.casefold() not in taken)


def normalize_decimal(cells: pd.Series, decimal: str) -> pd.Series:
    """Rewrite numbers written with a decimal comma (or thousands separators) with a dot.

    >>> cells = pd.Series(["8,7", "1.500", "0.500", "01.02.2020", "x"], dtype="string")
    >>> normalize_decimal(cells, ",").tolist()
    ['8.7', '1500', '0.500', '01.02.2020', 'x']
    """
    if decimal not in (",", "."):
        raise DataFileError(f"decimal separator {decimal!r}", fix="use ',' or '.'")
    text = cells.astype("string")
    if decimal == ",":
        spaced = (text.str.match(THOUSANDS_SPACE) & ~text.str.contains(".", regex=False)
                  ).fillna(False)
        text = text.mask(spaced, text.str.replace(r"[ \u00a0\u202f]", "", regex=True))
        thousands = text.str.match(THOUSANDS_DOT).fillna(False) | spaced
        text = text.mask(thousands, text.str.replace(".", "", regex=False))
        comma = text.str.match(_COMMA_NUMBER).fillna(False) | thousands
        return text.mask(comma, text.str.replace(",", ".", regex=False))
    thousands = text.str.match(THOUSANDS_COMMA).fillna(False)
    return text.mask(thousands, text.str.replace(",", "", regex=False))


def write_table(df: pd.DataFrame, path: str | Path, *, dictionary: Any = None) -> Path:
    """Write ``df`` as CSV/TSV (text, as clean files store it) or Parquet (typed).

    With a ``dictionary`` (:class:`synthema.schema.Dictionary`), CSV cells are formatted
    the way clean files are (booleans 1/0, ISO dates); Parquet keeps the typed columns.
    """
    path = check_output_path(path)
    ext = path.suffix.lower()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if ext in (".parquet", ".pq"):
            df.to_parquet(path, index=False)
            return path
        if dictionary is not None:
            df = clean_text(df, dictionary)
        df.to_csv(path, index=False, sep="\t" if ext == ".tsv" else ",", encoding="utf-8")
    except OSError as exc:
        raise DataFileError(f"{path}: cannot be written ({exc.strerror or exc})",
                            fix="choose a folder you can write to") from None
    return path


def clean_text(df: pd.DataFrame, dictionary: Any) -> pd.DataFrame:
    """Text cells of a typed frame as clean files store them (booleans 1/0, ISO dates)."""
    from synthema.schema.values import format_frame

    text = format_frame(df, dictionary)
    for var in dictionary.variables:
        if var.decimals == 0 and not var.is_whole_number:
            # format_column strips trailing zeros even without decimals ("40" -> "4")
            whole = df[var.name].astype("Float64").round().astype("Int64").astype("string")
            text[var.name] = whole.fillna("").astype(str)
    return text


# -- checks common to every format --------------------------------------------------------------
def _check_path(path: Path) -> str:
    ext = path.suffix.lower()
    if ext not in FORMATS:
        hint = " (old binary Excel: save it as .xlsx or CSV)" if ext == ".xls" else ""
        raise DataFileError(
            f"{path}: '{ext or 'no extension'}' files cannot be read{hint}",
            fix="export the data as .csv, .tsv, .txt, .xlsx or .parquet",
        )
    if not path.exists():
        raise DataFileError(f"{path}: file not found", fix="check the path and the file name")
    if path.is_dir():
        raise DataFileError(f"{path}: is a folder, not a file", fix="name a data file")
    if path.stat().st_size == 0:
        raise DataFileError(f"{path}: the file is empty (0 bytes)", fix="export the data again")
    return FORMATS[ext]


def _column_letter(pos: int) -> str:
    letters = ""
    while pos:
        pos, rem = divmod(pos - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _build_frame(
    path: Path, header: Sequence[Any], rows: list[list[Any]], missing: frozenset[str]
) -> pd.DataFrame:
    names = ["" if h is None else str(h).strip() for h in header]
    if not any(names):
        raise DataFileError(
            f"{path}: the first row (header) is empty",
            fix="put the column names in the first row and delete empty rows above it",
        )
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
    data = {
        names[pos]: [None if (c := _cell(r, pos)) in missing else c for r in rows]
        for pos in keep
    }
    return pd.DataFrame(data, dtype="string", columns=[names[p] for p in keep])


def _cell(row: Sequence[Any], pos: int) -> str:
    return row[pos] if pos < len(row) else ""


# -- delimited text -----------------------------------------------------------------------------
def _decode(path: Path, data: bytes, encoding: str | None) -> tuple[str, str]:
    enc = encoding or "utf-8-sig"
    try:
        text = data.decode(enc)
    except LookupError:
        raise DataFileError(
            f"{path}: unknown encoding {encoding!r}",
            fix="use an encoding name such as utf-8, latin-1 or cp1252",
        ) from None
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        byte = data[exc.start : exc.start + 1].hex().upper()
        name = "UTF-8" if enc.lower().replace("_", "-").startswith("utf-8") else enc
        fix = (
            "pass --encoding latin-1 (or cp1252 for Windows Excel exports), "
            "or re-save the file as UTF-8"
            if name == "UTF-8"
            else "pass the file's real encoding with --encoding, or re-save it as UTF-8"
        )
        raise DataFileError(
            f"{path}: not {name} text: byte 0x{byte} at offset {exc.start} "
            f"(line {line}, character {col})",
            fix=fix,
        ) from None
    return text.removeprefix("\ufeff"), ("utf-8" if enc == "utf-8-sig" else enc)


def _sniff(lines: list[str]) -> str | None:
    best: tuple[float, int, int] | None = None
    choice = None
    for rank, delim in enumerate(DELIMITERS):
        rows = [r for r in csv.reader(lines, delimiter=delim) if r]
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        body = rows[1:] or rows
        fits = sum(len(r) == width or (len(r) > width and not any(r[width:])) for r in body)
        score = (fits / len(body), width, -rank)
        if best is None or score > best:
            best, choice = score, delim
    return choice


def _looks_utf8(data: bytes, encoding: str) -> bool:
    """True when ``data`` was read with a non-UTF-8 ``encoding`` but is UTF-8 with accents."""
    if encoding.lower().replace("_", "-").startswith("utf") or data.isascii():
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _read_delimited(
    path: Path, delimiter: str | None, encoding: str | None
) -> tuple[list[str], list[list[str]], tuple[str, str, bool]]:
    data = path.read_bytes()
    text, used_encoding = _decode(path, data, encoding)
    if not text.strip():
        raise DataFileError(f"{path}: the file has no header and no data (only blank space)",
                            fix="export the data again")
    delim = normalize_delimiter(delimiter)
    first, _, rest = text.partition("\n")
    hint = _SEP_HINT.match(first.rstrip("\r"))
    skipped = 0
    if hint:  # Excel's "sep=;" line: the delimiter, not the header
        text, skipped = rest, 1
        delim = delim or hint.group(1)
        _LOG.info("%s: 'sep=%s' first line: delimiter %r", path, hint.group(1), delim)
        if not text.strip():
            raise DataFileError(f"{path}: only a 'sep=' line, no header and no data",
                                fix="export the data again")
    detected = delim is None and not hint
    if delim is None:
        head = text.splitlines()[:50]
        delim = _sniff(head) or ("\t" if path.suffix.lower() == ".tsv" else ",")
    delim_name = _DELIM_NAMES.get(delim, repr(delim))
    how = f"{delim_name} delimiter" + (" detected" if detected else "")
    if hint:
        how += " (sep= line)"
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    records: list[tuple[int, int, list[str]]] = []
    end = skipped
    try:
        for rec in reader:
            records.append((end + 1, reader.line_num + skipped, rec))
            end = reader.line_num + skipped
    except csv.Error as exc:
        raise DataFileError(
            f"{path}: line {reader.line_num + skipped + 1}: cannot be read as CSV ({exc})",
            fix="check for an unclosed quote or binary content near that line, "
            "or export the file again",
        ) from None
    while records and not any(c.strip() for c in records[-1][2]):
        records.pop()
    if not records:
        raise DataFileError(f"{path}: no header row", fix="export the data again")
    header = records[0][2]
    width = len(header)
    rows: list[list[str]] = []
    ragged: list[tuple[int, int, int]] = []
    for start, stop, rec in records[1:]:
        if not rec:
            rec = [""] * width
        if len(rec) > width and not any(c.strip() for c in rec[width:]):
            rec = rec[:width]
        if len(rec) != width:
            ragged.append((start, stop, len(rec)))
        rows.append([c.strip() for c in rec])
    if ragged:
        start, stop, found = ragged[0]
        where = f"line {start}" if start == stop else f"the row on lines {start}-{stop}"
        more = f"; {len(ragged)} rows in all" if len(ragged) > 1 else ""
        if found > width:
            fix = (f"quote cells that contain the delimiter (or a decimal comma), or pass "
                   f"--delimiter if the {delim_name} is not the separator")
        else:
            fix = "add the missing cells (empty cells are fine) or close the quote left open"
        raise DataFileError(
            f"{path}: {where} has {found} fields, expected {width} like the header "
            f"({how}){more}",
            fix=fix,
        )
    looks_utf8 = encoding is not None and _looks_utf8(data, used_encoding)
    return [h.strip() for h in header], rows, (delim, used_encoding, looks_utf8)
