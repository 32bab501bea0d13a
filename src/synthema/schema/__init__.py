"""Data dictionaries, typed values and clinical rules. Imports nothing else of synthema."""

from synthema.schema.dictionary import (
    BUILTIN,
    Dictionary,
    SurvivalPair,
    Variable,
    VariableType,
    builtin_path,
    load_dictionary,
)
from synthema.schema.rules import Rule
from synthema.schema.values import (
    ParsedColumn,
    format_column,
    format_frame,
    parse_column,
    typed_dtype,
    typed_frame,
)

__all__ = [
    "BUILTIN",
    "Dictionary",
    "ParsedColumn",
    "Rule",
    "SurvivalPair",
    "Variable",
    "VariableType",
    "builtin_path",
    "format_column",
    "format_frame",
    "load_dictionary",
    "parse_column",
    "typed_dtype",
    "typed_frame",
]
