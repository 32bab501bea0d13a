"""Drafting a dictionary from a site file: ``synthema dictionary draft`` as one library call.

The file is read with :mod:`synthema.tables` (its decimal mark applied to every column: a
draft is a starting point, never data), the dictionary inferred by
:func:`synthema.schema.draft.draft_dictionary`, and the YAML written with one ``# REVIEW:``
line per thing a person must check before the dictionary is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from synthema.errors import ParameterError
from synthema.schema.dictionary import Dictionary
from synthema.schema.draft import draft_dictionary


@dataclass(frozen=True)
class Draft:
    """The drafted dictionary, what to review, the rows it was drafted from and the YAML path."""

    dictionary: Dictionary
    warnings: tuple[str, ...]
    rows: int
    path: Path


def draft_file(data: str | Path, *, out: str | Path, name: str | None = None,
               **read_options: str | None) -> Draft:
    """Draft a dictionary from ``data`` and write it to ``out`` with its review notes.

    ``read_options`` are :func:`synthema.tables.read_table`'s (delimiter, encoding, decimal,
    sheet). The dictionary is named ``name`` (default: the file's stem).

    Raises:
        ParameterError: ``out`` is a folder (checked before the file is read).
        DataFileError: the file cannot be read.
    """
    from synthema.tables import read_table

    data, out = Path(data), Path(out)
    if out.exists() and out.is_dir():
        raise ParameterError(f"{out} is a directory", fix="give a file name, e.g. dict.yaml")
    frame = read_table(data, **read_options)
    dictionary, warnings = draft_dictionary(frame, name=name or data.stem)
    header = "".join(f"# REVIEW: {w}\n" for w in warnings)
    out.write_text(header + dictionary.to_yaml(), encoding="utf-8")
    return Draft(dictionary, tuple(warnings), len(frame), out)
