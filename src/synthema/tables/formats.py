"""Which files synthema reads and writes: one list of endings for every room.

Before this list existed each reader kept its own and they drifted (``.pq`` and ``.xlsm``
were read by the command line but not picked up as a site's file by the federation).

>>> is_table_file("site_01.XLSM"), is_table_file("notes.docx")
(True, False)
"""

from __future__ import annotations

from pathlib import Path

from synthema.errors import DataFileError

READ_FORMATS: dict[str, str] = {
    ".csv": "delimited", ".tsv": "delimited", ".txt": "delimited",
    ".xlsx": "excel", ".xlsm": "excel", ".parquet": "parquet", ".pq": "parquet",
}
"""File ending -> the reader that handles it (:func:`synthema.tables.read_table`)."""
READ_SUFFIXES: tuple[str, ...] = tuple(READ_FORMATS)
WRITE_SUFFIXES: tuple[str, ...] = (".csv", ".tsv", ".parquet", ".pq")
PARQUET_SUFFIXES: tuple[str, ...] = (".parquet", ".pq")


def is_table_file(path: str | Path) -> bool:
    """True when ``path``'s ending is one :func:`synthema.tables.read_table` reads."""
    return Path(path).suffix.lower() in READ_FORMATS


def check_input_path(path: Path) -> str:
    """The reader of an existing, non-empty data file (``delimited``, ``excel``, ``parquet``).

    Raises:
        DataFileError: an ending no reader handles, a missing file, a folder, an empty file.
    """
    ext = path.suffix.lower()
    if path.is_dir():  # before the ending: a folder has none, and is not a file format
        raise DataFileError(f"{path}: is a folder, not a file",
                            fix="name the export file inside it (.csv, .tsv, .txt, .xlsx "
                                "or .parquet)")
    if ext not in READ_FORMATS:
        hint = " (old binary Excel: save it as .xlsx or CSV)" if ext == ".xls" else ""
        raise DataFileError(
            f"{path}: '{ext or 'no extension'}' files cannot be read{hint}",
            fix="export the data as .csv, .tsv, .txt, .xlsx or .parquet",
        )
    if not path.exists():
        raise DataFileError(f"{path}: file not found", fix="check the path and the file name")
    if path.stat().st_size == 0:
        raise DataFileError(f"{path}: the file is empty (0 bytes)", fix="export the data again")
    return READ_FORMATS[ext]


def check_output_path(path: str | Path) -> Path:
    """Refuse an output path :func:`synthema.tables.write_table` cannot write, before any work.

    Raises:
        DataFileError: an unsupported extension, or an existing folder.
    """
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in WRITE_SUFFIXES:
        raise DataFileError(
            f"{path}: cannot write '{ext or 'no extension'}' files",
            fix="name the output .csv, .tsv or .parquet",
        )
    if path.is_dir():
        raise DataFileError(f"{path}: is a folder", fix="name an output file, e.g. out.csv")
    return path


#: appended to a sampled file's name for the sidecar that says how its rows were made
PROVENANCE_SUFFIX = ".provenance.json"


def provenance_path(table: str | Path) -> Path:
    """The provenance sidecar of a table file: written by ``synth sample``, read by
    ``evaluate`` (``synthetic.csv`` -> ``synthetic.csv.provenance.json``).

    >>> provenance_path("out/synthetic.csv").as_posix()
    'out/synthetic.csv.provenance.json'
    """
    table = Path(table)
    return table.with_name(table.name + PROVENANCE_SUFFIX)
