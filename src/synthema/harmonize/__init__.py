"""Site exports to the common model: robust reading, validation, mappings, unit conversion.

``read_table`` reads CSV/TSV/TXT, Excel and Parquet files into text cells with precise
errors; ``validate_frame``/``validate_file`` list every problem against a dictionary;
``harmonize``/``harmonize_file`` apply a site's mapping file and account for every value
they drop (``docs/harmonize.md``). Their errors (``MappingError``, ``DataFileError``,
``ValidationFailed``, all from :mod:`synthema.errors`) are importable from here too.
"""

from synthema.errors import DataFileError, MappingError, ValidationFailed
from synthema.harmonize.io import DEFAULT_MISSING, read_table, write_table
from synthema.harmonize.mapping import ColumnMapping, SiteMapping, load_mapping
from synthema.harmonize.result import HarmonizeResult, dictionary_for, harmonize, harmonize_file
from synthema.harmonize.summary import ColumnReport, HarmonizeSummary
from synthema.harmonize.units import UNITS, conversion_factor, known_units
from synthema.harmonize.validate import Problem, ValidationReport, validate_file, validate_frame

__all__ = [
    "DEFAULT_MISSING",
    "UNITS",
    "ColumnMapping",
    "ColumnReport",
    "DataFileError",
    "HarmonizeResult",
    "HarmonizeSummary",
    "MappingError",
    "Problem",
    "SiteMapping",
    "ValidationFailed",
    "ValidationReport",
    "conversion_factor",
    "dictionary_for",
    "harmonize",
    "harmonize_file",
    "known_units",
    "load_mapping",
    "read_table",
    "validate_file",
    "validate_frame",
    "write_table",
]
