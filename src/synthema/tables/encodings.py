"""Text encodings of site files: UTF-8 (with or without BOM), UTF-16, Windows and Latin-1.

Hospital exports come as UTF-8, as Windows cp1252 (Excel's "CSV" on a Western European
Windows), as Latin-1, and as UTF-16 (Excel's "Unicode Text", tab-separated, with a
byte-order mark). :func:`decode` reads UTF-8 unless told otherwise, detects UTF-16 by its
byte-order mark, and refuses anything else naming the byte, its line and the fix.

Latin-1 decodes every byte, so a cp1252 file read as Latin-1 never fails: its Windows
characters (``–`` 0x96, ``’`` 0x92, ``€`` 0x80) become invisible control characters
U+0080-U+009F, which no real text holds. :data:`C1_CONTROLS` finds them; the fixes name
cp1252 first for Windows exports.

>>> decode(None, "Hämoglobin".encode("utf-16"), None)
('Hämoglobin', 'utf-16')
>>> decode(None, "AML–02".encode("cp1252"), "latin-1")[0] == "AML\\x9602"
True
"""

from __future__ import annotations

import codecs
from pathlib import Path

from synthema.errors import DataFileError

C1_CONTROLS = "[\u0080-\u009f]"
"""A regular expression matching the C1 control characters a cp1252 file read as Latin-1
holds where it meant a Windows character."""
_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_CP1252_UNDEFINED = frozenset({0x81, 0x8D, 0x8F, 0x90, 0x9D})
WINDOWS_FIX = ("pass --encoding cp1252 (Windows exports; latin-1 for other Western European "
               "files), or re-save the file as UTF-8")


def _family(encoding: str) -> str:
    """``utf-16``, ``utf-8`` or the codec's own name (``UTF_8`` and ``utf8`` are utf-8)."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return encoding.lower()
    for family in ("utf-16", "utf-8"):
        if name.startswith(family):
            return family
    return name


def utf16_kind(data: bytes) -> str | None:
    """``utf-16`` for a byte-order mark, ``utf-16-le``/``-be`` for NUL-laden text, else None.

    >>> utf16_kind("id;hb".encode("utf-16-le")), utf16_kind(b"id;hb")
    ('utf-16-le', None)
    """
    if data.startswith(_BOMS):
        return "utf-16"
    sample = data[:4096]
    if len(sample) < 4 or sample.count(0) < len(sample) // 4:
        return None
    return "utf-16-le" if sample[1::2].count(0) > sample[0::2].count(0) else "utf-16-be"


def _check_utf16(path: Path | None, data: bytes, encoding: str | None) -> str | None:
    """The encoding to use for UTF-16 data (None: not UTF-16); refuse a wrong declaration."""
    kind = utf16_kind(data)
    if kind is None or (encoding is not None and _family(encoding) == "utf-16"):
        return None
    sign = "a UTF-16 byte-order mark" if kind == "utf-16" else "NUL bytes between its letters"
    if encoding is None and kind == "utf-16":
        return kind
    if encoding is None:
        raise DataFileError(f"{path}: looks like UTF-16 text without a byte-order mark ({sign})",
                            fix=f"pass --encoding {kind}, or re-save the file as UTF-8")
    fix = ("remove the --encoding option (UTF-16 with a byte-order mark is detected)"
           if kind == "utf-16" else f"pass --encoding {kind}")
    raise DataFileError(f"{path}: is UTF-16 text ({sign}), not {encoding}", fix=fix)


def decode(path: Path | None, data: bytes, encoding: str | None) -> tuple[str, str]:
    """The text of ``data`` and the encoding used (UTF-8 or UTF-16 by its mark when None).

    Raises:
        DataFileError: an unknown encoding, bytes that are not text in it (naming the
            byte, offset and line), or UTF-16 data read as anything else.
    """
    enc = _check_utf16(path, data, encoding) or encoding or "utf-8-sig"
    try:
        text = data.decode(enc)
    except LookupError:
        raise DataFileError(
            f"{path}: unknown encoding {encoding!r}",
            fix="use an encoding name such as utf-8, cp1252 or latin-1",
        ) from None
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        byte = data[exc.start]
        family = _family(enc)
        name = "UTF-8" if family == "utf-8" else enc
        if family == "utf-8":
            fix = WINDOWS_FIX
        elif family == "cp1252" and byte in _CP1252_UNDEFINED:
            fix = (f"byte 0x{byte:02X} is not a cp1252 character: pass --encoding latin-1 "
                   "(or the file's real encoding), or re-save the file as UTF-8")
        else:
            fix = "pass the file's real encoding with --encoding, or re-save it as UTF-8"
        raise DataFileError(
            f"{path}: not {name} text: byte 0x{byte:02X} at offset {exc.start} "
            f"(line {line}, character {col})",
            fix=fix,
        ) from None
    used = "utf-8" if enc == "utf-8-sig" else enc
    return text.removeprefix("\ufeff"), used


def looks_utf8(data: bytes, encoding: str) -> bool:
    """True when ``data`` was read with a non-UTF-8 ``encoding`` but is UTF-8 with accents."""
    if _family(encoding).startswith("utf") or data.isascii():
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
