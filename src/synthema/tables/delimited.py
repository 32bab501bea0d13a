"""Delimited text files (CSV, TSV, TXT): encodings, delimiters, quoting, ragged rows.

Hospitals send CSV exports from Excel: semicolons, Windows encodings, a ``sep=;`` first
line. :func:`read_delimited` decodes the bytes (:mod:`synthema.tables.encodings`: UTF-8
with or without BOM, or UTF-16 with its mark, unless told otherwise), finds the delimiter
among , ; TAB | when none is given, and refuses a row with more or fewer fields than the
header, naming its line and the likely fix.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from pathlib import Path

from synthema.errors import DataFileError
from synthema.tables.encodings import decode, looks_utf8

_LOG = logging.getLogger(__name__)

DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")
_DELIM_NAMES = {",": "comma ','", ";": "semicolon ';'", "\t": "tab", "|": "pipe '|'"}
_DELIM_ALIASES = {"\\t": "\t", "tab": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
_SEP_HINT = re.compile(r'^"?sep=(.)"?[ \t]*$', re.IGNORECASE)

Records = list[tuple[int, int, list[str]]]  # (first line, last line, fields) per record


def delimiter_name(delimiter: str) -> str:
    """``;`` -> ``semicolon ';'`` (the repr of anything unusual)."""
    return _DELIM_NAMES.get(delimiter, repr(delimiter))


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


def _skip_sep_line(path: Path, text: str, delim: str | None) -> tuple[str, str | None, bool]:
    """Excel's ``sep=;`` first line names the delimiter and is not the header.

    Returns the text without it, the delimiter to use and whether the line was there.
    """
    first, _, rest = text.partition("\n")
    hint = _SEP_HINT.match(first.rstrip("\r"))
    if not hint:
        return text, delim, False
    delim = delim or hint.group(1)
    _LOG.info("%s: 'sep=%s' first line: delimiter %r", path, hint.group(1), delim)
    if not rest.strip():
        raise DataFileError(f"{path}: only a 'sep=' line, no header and no data",
                            fix="export the data again")
    return rest, delim, True


def _records(path: Path, text: str, delim: str, skipped: int) -> Records:
    """Every CSV record with the file lines it spans (trailing blank records dropped)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    records: Records = []
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
    return records


def _rows(path: Path, records: Records, delim: str, how: str) -> list[list[str]]:
    """The data rows, trimmed; a row with another number of fields than the header fails."""
    width = len(records[0][2])
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
                   f"--delimiter if the {delimiter_name(delim)} is not the separator")
        elif start != stop:  # one record over several lines: a quote was left open
            fix = (f"close the quote opened in line {start} (the cell runs on to line {stop}), "
                   "or remove the stray '\"'")
        else:
            fix = "add the missing cells (empty cells are fine) or close the quote left open"
        raise DataFileError(
            f"{path}: {where} has {found} fields, expected {width} like the header "
            f"({how}){more}",
            fix=fix,
        )
    return rows


def read_delimited(
    path: Path, delimiter: str | None, encoding: str | None
) -> tuple[list[str], list[list[str]], tuple[str, str, bool]]:
    """Header, rows and ``(delimiter, encoding, looks_utf8)`` of a delimited text file."""
    data = path.read_bytes()
    text, used_encoding = decode(path, data, encoding)
    if not text.strip():
        raise DataFileError(f"{path}: the file has no header and no data (only blank space)",
                            fix="export the data again")
    text, delim, hint = _skip_sep_line(path, text, normalize_delimiter(delimiter))
    detected = delim is None and not hint
    if delim is None:
        head = text.splitlines()[:50]
        delim = _sniff(head) or ("\t" if path.suffix.lower() == ".tsv" else ",")
    how = f"{delimiter_name(delim)} delimiter" + (" detected" if detected else "")
    if hint:
        how += " (sep= line)"
    records = _records(path, text, delim, int(hint))
    rows = _rows(path, records, delim, how)
    utf8 = encoding is not None and looks_utf8(data, used_encoding)
    return [h.strip() for h in records[0][2]], rows, (delim, used_encoding, utf8)
