"""Reading and writing site files: formats, encodings, delimiters, missing markers, sheets.

Everyone reads tables through this room: the command line, harmonisation and validation,
anonymisation, evaluation, the simulator and each federated site. It is a leaf: it imports
only :mod:`synthema.errors` and the dictionary's value formatting (:mod:`synthema.schema`),
so any room may use it and it uses none of them.

- :mod:`~synthema.tables.formats`: which file endings are read and written (one list);
- :mod:`~synthema.tables.read`: :func:`read_table`, any supported file as a frame of text
  cells, with one precise error per way a file can be unreadable;
- :mod:`~synthema.tables.delimited`, :mod:`~synthema.tables.sheets`: CSV/TSV/TXT text
  (delimiters, Excel's ``sep=`` line) and typed workbooks / Parquet files (formulas
  without a saved value flagged);
- :mod:`~synthema.tables.encodings`: UTF-8, UTF-16 by its mark, cp1252 and Latin-1, and
  the control characters a cp1252 file read as Latin-1 holds;
- :mod:`~synthema.tables.missing`: the default missing markers and the per-column rule;
- :mod:`~synthema.tables.decimal_marks`: decimal commas and thousands separators;
- :mod:`~synthema.tables.write`: :func:`write_table`, CSV/TSV as clean files store them, or
  typed Parquet.

Nothing here types a value: that is the dictionary's job (:mod:`synthema.harmonize`).
"""

from synthema.tables.decimal_marks import normalize_decimal
from synthema.tables.delimited import DELIMITERS, delimiter_name, normalize_delimiter
from synthema.tables.encodings import C1_CONTROLS
from synthema.tables.formats import (
    PROVENANCE_SUFFIX,
    READ_SUFFIXES,
    WRITE_SUFFIXES,
    check_output_path,
    is_table_file,
    provenance_path,
)
from synthema.tables.missing import DEFAULT_MISSING, column_markers
from synthema.tables.read import cell_flags, describe_read, read_table, typed_numbers
from synthema.tables.write import clean_text, write_table

__all__ = [
    "C1_CONTROLS",
    "DEFAULT_MISSING",
    "DELIMITERS",
    "PROVENANCE_SUFFIX",
    "READ_SUFFIXES",
    "WRITE_SUFFIXES",
    "cell_flags",
    "check_output_path",
    "clean_text",
    "column_markers",
    "delimiter_name",
    "describe_read",
    "is_table_file",
    "normalize_decimal",
    "normalize_delimiter",
    "provenance_path",
    "read_table",
    "typed_numbers",
    "write_table",
]
