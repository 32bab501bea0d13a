"""Site exports to the common model: validation, mappings, unit conversion.

Files are read by :mod:`synthema.tables` (``read_table``: CSV/TSV/TXT, Excel and Parquet
as text cells with precise errors); ``validate_frame``/``validate_file`` list every problem
against a dictionary;
``harmonize``/``harmonize_file`` apply a site's mapping file and account for every value
they drop (``docs/harmonize.md``). Their errors (``MappingError``, ``DataFileError``,
``ValidationFailed``, all from :mod:`synthema.errors`) are importable from here too.
"""

from synthema.errors import DataFileError, MappingError, ValidationFailed
from synthema.harmonize.apply import HarmonizeResult, dictionary_for, harmonize, harmonize_file
from synthema.harmonize.mapping import ColumnMapping, SiteMapping, load_mapping
from synthema.harmonize.summary import ColumnReport, HarmonizeSummary
from synthema.harmonize.units import UNITS, conversion_factor, known_units
from synthema.harmonize.validate import Problem, ValidationReport, validate_file, validate_frame

__all__ = [
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
    "validate_file",
    "validate_frame",
]
