"""Writing tables: CSV/TSV as clean files store them, or typed Parquet.

>>> import tempfile, pathlib
>>> p = write_table(pd.DataFrame({"a": [1, 2]}), pathlib.Path(tempfile.mkdtemp()) / "x.tsv")
>>> p.read_text()
'a\\n1\\n2\\n'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from synthema.errors import DataFileError
from synthema.tables.formats import PARQUET_SUFFIXES, check_output_path


def write_table(df: pd.DataFrame, path: str | Path, *, dictionary: Any = None) -> Path:
    """Write ``df`` as CSV/TSV (text, as clean files store it) or Parquet (typed).

    With a ``dictionary`` (:class:`synthema.schema.Dictionary`), CSV cells are formatted
    the way clean files are (booleans 1/0, ISO dates); Parquet keeps the typed columns.

    Raises:
        DataFileError: an ending that cannot be written, a folder, or an unwritable place.
    """
    path = check_output_path(path)
    ext = path.suffix.lower()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if ext in PARQUET_SUFFIXES:
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
