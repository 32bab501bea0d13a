"""Mapping files: how one site's export maps onto a data dictionary, and applying them.

A mapping is a YAML file (format in ``docs/harmonize.md``)::

    dictionary: aml                      # name or path of the target dictionary
    source: "Site 2 export"              # free text
    file: site_02.csv                    # optional: the data file, relative to this file
    read: {delimiter: ";", decimal: ",", encoding: latin-1, sheet: Export}
    missing_values: ["n.d."]             # cell texts meaning missing (added to the defaults)
    default_missing: true                # false: only missing_values (and empty) mean missing
    missing_columns: error               # or allow: mapped columns absent from the file
    drop: [Name, Geburtsdatum, PLZ]      # source columns deliberately not carried
    columns:                             # target variable (or patient id) -> source
      patient_id: {from: Studien_ID}
      hb: {from: Hb_mmol, unit: mmol/L}
      sex: {from: Geschlecht, codes: {"1": M, "2": F}}
      diagnosis_date: {from: ED, date_format: "%d.%m.%Y"}
      wbc: {from: Leukos, factor: 0.001}
      hsct_days: {from: SZT_Tag, when: {SZT_Art: allo}}   # carried only where SZT_Art is allo
      age: Alter                         # shorthand for {from: Alter}

The loader is strict like the dictionary loader: unknown keys are errors with a
did-you-mean, keys written twice are errors, and only ``true``/``false`` are booleans
(``ja``, ``yes``, ``no`` stay text, so code maps keep them). Applying a mapping is
:func:`synthema.harmonize.apply.harmonize`.

>>> m = SiteMapping.from_mapping({"dictionary": "aml", "columns": {"hb": {"from": "Hb",
...     "unit": "mmol/L"}, "sex": {"from": "G", "codes": {1: "M", 2: "F"}}}})
>>> m.columns[1].code_map
{'1': 'M', '2': 'F'}
"""

from __future__ import annotations

import codecs
import datetime as dt
import difflib
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from synthema.errors import MappingError
from synthema.harmonize.convert import FALSE_WORDS, TRUE_WORDS, code_text
from synthema.harmonize.summary import plural
from synthema.harmonize.units import variable_factor
from synthema.schema.dictionary import Dictionary, VariableType, load_dictionary
from synthema.schema.strict import check_keys, read_yaml
from synthema.tables import DEFAULT_MISSING, READ_SUFFIXES, normalize_delimiter

_TOP_KEYS = {
    "dictionary": "name or path of the dictionary the mapping targets",
    "source": "free text describing the export",
    "file": "the data file, relative to the mapping file",
    "read": "how to read the file: delimiter, decimal, encoding, sheet",
    "missing_values": "cell texts meaning missing",
    "default_missing": "true (default) or false: whether the default missing markers apply",
    "drop": "source columns deliberately not carried",
    "missing_columns": "error (default) or allow: mapped source columns absent from the file",
    "columns": "target -> {from, unit, factor, codes, date_format, confirm_date_format, when}",
}
_READ_KEYS = {"delimiter": "field separator", "decimal": "decimal separator",
              "encoding": "text encoding", "sheet": "Excel sheet name"}
_MISSING_COLUMNS = ("error", "allow")
_SHOWN_ABSENT = 8
_COLUMN_KEYS = {"from": "source column", "unit": "source unit", "factor": "multiplier",
                "codes": "source code -> target value", "date_format": "strptime format",
                "confirm_date_format": "true: the date format is checked, keep day/month "
                                       "values readable both ways",
                "when": "source column -> values: carry the value only on those rows"}


# -- YAML: YAML 1.2 booleans, no silent duplicate keys ------------------------------------------
class _Loader(yaml.SafeLoader):
    """SafeLoader where only true/false are booleans and ``01`` stays text."""


_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag not in (_BOOL, _INT)]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))
_Loader.add_implicit_resolver(_INT, re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"),
                              list("-+0123456789"))


def _construct_mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} is written twice", key_node.start_mark
            )
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _check_keys(obj: Mapping[str, Any], allowed: Mapping[str, str], where: str, src: str) -> None:
    check_keys(obj, allowed, where, src, error=MappingError)


def _code_key(key: Any, where: str, src: str) -> str:
    if key is None or isinstance(key, bool):
        raise MappingError(f"{src}: {where}: code {key!r} is not text",
                           fix="quote the code as it appears in the file, e.g. \"yes\": true")
    if isinstance(key, float) and key.is_integer():
        return str(int(key))
    return str(key)


# -- the model ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ColumnMapping:
    """How one target column is filled from one source column."""

    target: str
    source: str
    unit: str | None = None
    factor: float | None = None
    codes: tuple[tuple[str, Any], ...] = ()
    date_format: str | None = None
    confirm_date_format: bool = False
    when: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def code_map(self) -> dict[str, Any]:
        """Source code -> target value (None means the code stands for missing)."""
        return dict(self.codes)

    @property
    def needed_sources(self) -> tuple[str, ...]:
        """The source column and the columns its ``when`` condition reads."""
        return (self.source, *(c for c, _ in self.when if c != self.source))

    def condition_text(self) -> str:
        """``when`` in words: ``Allogeneic HSCT is 1`` ('' without a condition)."""
        return " and ".join(f"{c} is {' or '.join(repr(x) for x in v) if len(v) > 1 else v[0]}"
                            for c, v in self.when)

    @classmethod
    def from_mapping(cls, target: str, raw: Any, *, src: str) -> ColumnMapping:
        """Build from ``{from, unit, factor, codes, date_format, ...}`` or a source name."""
        where = f"columns: {target}"
        if isinstance(raw, str | int):
            return cls(target=target, source=str(raw))
        if not isinstance(raw, Mapping):
            raise MappingError(f"{src}: {where} is {raw!r}",
                               fix="write {from: SOURCE_COLUMN, ...} or just the source name")
        _check_keys(raw, _COLUMN_KEYS, where, src)
        if raw.get("from") in (None, ""):
            raise MappingError(f"{src}: {where} has no 'from'", fix="add from: SOURCE_COLUMN")
        factor = raw.get("factor")  # a factor that is no number first: it is what was meant
        if factor is not None and (
            isinstance(factor, bool) or not isinstance(factor, int | float)
            or not math.isfinite(factor) or factor <= 0
        ):
            raise MappingError(f"{src}: {where}: factor is {factor!r}",
                               fix="write a positive number, e.g. factor: 0.001")
        if raw.get("unit") is not None and factor is not None:
            raise MappingError(f"{src}: {where} gives both unit and factor",
                               fix="keep one: 'unit' (converted by table) or 'factor'")
        codes = raw.get("codes") or {}
        if not isinstance(codes, Mapping):
            raise MappingError(f"{src}: {where}: codes must be a mapping",
                               fix='write codes: {"1": M, "2": F}')
        fmt = raw.get("date_format")
        if fmt is not None and "%" not in str(fmt):
            raise MappingError(f"{src}: {where}: date_format {fmt!r} has no % directive",
                               fix='write a strptime format such as "%d.%m.%Y"')
        confirm = raw.get("confirm_date_format", False)
        if not isinstance(confirm, bool):
            raise MappingError(f"{src}: {where}: confirm_date_format is {confirm!r}",
                               fix="write confirm_date_format: true (or leave it out)")
        if confirm and fmt is None:
            raise MappingError(f"{src}: {where}: confirm_date_format without date_format",
                               fix="give the date_format you confirm, e.g. \"%d/%m/%Y\"")
        return cls(
            target=target,
            source=str(raw["from"]),
            unit=str(raw["unit"]) if raw.get("unit") is not None else None,
            factor=float(factor) if factor is not None else None,
            codes=tuple((_code_key(k, where, src), v) for k, v in codes.items()),
            date_format=str(fmt) if fmt is not None else None,
            confirm_date_format=confirm,
            when=_when(raw.get("when"), where, src),
        )

    def to_mapping(self) -> dict[str, Any]:
        """The YAML form, omitting what is not set."""
        out: dict[str, Any] = {"from": self.source}
        if self.unit is not None:
            out["unit"] = self.unit
        if self.factor is not None:
            out["factor"] = self.factor
        if self.codes:
            out["codes"] = dict(self.codes)
        if self.date_format is not None:
            out["date_format"] = self.date_format
        if self.confirm_date_format:
            out["confirm_date_format"] = True
        if self.when:
            out["when"] = {c: list(v) for c, v in self.when}
        return out


def _when(raw: Any, where: str, src: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``{column: value or [values]}`` -> ((column, (text, ...)), ...)."""
    if raw is None:
        return ()
    fix = 'write when: {"Allogeneic HSCT": ["1"]} (source column -> the values that apply)'
    if not isinstance(raw, Mapping) or not raw:
        raise MappingError(f"{src}: {where}: when is {raw!r}", fix=fix)
    out = []
    for column, values in raw.items():
        values = values if isinstance(values, list) else [values]
        if not values or any(v is None or isinstance(v, Mapping | list) for v in values):
            raise MappingError(f"{src}: {where}: when: {column}: {raw[column]!r}", fix=fix)
        out.append((str(column), tuple(code_text(v) or "" for v in values)))
    return tuple(out)


@dataclass(frozen=True)
class SiteMapping:
    """A site's mapping onto a dictionary (see the module docstring for the format)."""

    dictionary: str
    columns: tuple[ColumnMapping, ...]
    source: str = ""
    file: str | None = None
    read: dict[str, str] = field(default_factory=dict)
    missing_values: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()
    missing_columns: str = "error"
    default_missing: bool = True
    path: Path | None = field(default=None, compare=False)

    @classmethod
    def from_mapping(cls, raw: Any, *, source: str = "<mapping>",
                     path: Path | None = None) -> SiteMapping:
        """Build a mapping from parsed YAML, checking every key."""
        if not isinstance(raw, Mapping):
            raise MappingError(f"{source}: top level is not a mapping",
                               fix="start with 'dictionary:' and 'columns:'")
        _check_keys(raw, _TOP_KEYS, "the top level", source)
        for key in ("dictionary", "columns"):
            if raw.get(key) in (None, "", {}):
                raise MappingError(f"{source}: missing '{key}'", fix=f"add '{key}:'")
        if not isinstance(raw["columns"], Mapping):
            raise MappingError(f"{source}: 'columns' is not a mapping",
                               fix="write columns as target: {from: SOURCE}")
        read = raw.get("read") or {}
        if not isinstance(read, Mapping):
            raise MappingError(f"{source}: 'read' is not a mapping",
                               fix='write read: {delimiter: ";", decimal: ","}')
        _check_keys(read, _READ_KEYS, "read", source)
        read = {k: str(v) for k, v in read.items() if v is not None}
        if "delimiter" in read:
            read["delimiter"] = normalize_delimiter(read["delimiter"]) or ""
        if read.get("decimal") not in (None, ",", "."):
            raise MappingError(f"{source}: read: decimal is {read['decimal']!r}",
                               fix="write decimal: \",\" or decimal: \".\"")
        if "encoding" in read:
            try:
                codecs.lookup(read["encoding"])
            except LookupError:
                raise MappingError(f"{source}: read: unknown encoding {read['encoding']!r}",
                                   fix="use e.g. utf-8, latin-1 or cp1252") from None
        lists = {}
        for key in ("missing_values", "drop"):
            value = raw.get(key) or []
            if not isinstance(value, list):
                raise MappingError(f"{source}: '{key}' is not a list", fix=f"write {key}: [a, b]")
            lists[key] = tuple(str(v) for v in value)
        columns = tuple(
            ColumnMapping.from_mapping(str(t), v, src=source) for t, v in raw["columns"].items()
        )
        missing_columns = raw.get("missing_columns", "error")
        if missing_columns not in _MISSING_COLUMNS:
            raise MappingError(f"{source}: missing_columns is {missing_columns!r}",
                               fix="write missing_columns: allow (or error, the default)")
        default_missing = raw.get("default_missing", True)
        if not isinstance(default_missing, bool):
            raise MappingError(f"{source}: default_missing is {default_missing!r}",
                               fix="write default_missing: false (or leave it out)")
        both = sorted({c.source for c in columns} & set(lists["drop"]))
        if both:
            raise MappingError(f"{source}: column(s) both mapped and dropped: {', '.join(both)}",
                               fix="remove them from 'drop' or from 'columns'")
        return cls(
            dictionary=str(raw["dictionary"]), columns=columns,
            source=str(raw.get("source") or ""),
            file=str(raw["file"]) if raw.get("file") else None, read=read,
            missing_values=lists["missing_values"], drop=lists["drop"],
            missing_columns=missing_columns, default_missing=default_missing, path=path,
        )

    def to_mapping(self) -> dict[str, Any]:
        """The YAML form of this mapping (round-trips through ``from_mapping``)."""
        out: dict[str, Any] = {"dictionary": self.dictionary}
        if self.source:
            out["source"] = self.source
        if self.file:
            out["file"] = self.file
        if self.read:
            out["read"] = dict(self.read)
        if self.missing_values:
            out["missing_values"] = list(self.missing_values)
        if not self.default_missing:
            out["default_missing"] = False
        if self.drop:
            out["drop"] = list(self.drop)
        if self.missing_columns != "error":
            out["missing_columns"] = self.missing_columns
        out["columns"] = {c.target: c.to_mapping() for c in self.columns}
        return out

    def to_yaml(self) -> str:
        """YAML text of this mapping."""
        return dump_mapping(self.to_mapping())

    @property
    def where(self) -> str:
        """How to name this mapping in messages."""
        return str(self.path) if self.path else "<mapping>"

    def read_options(self) -> dict[str, Any]:
        """Keyword arguments for :func:`synthema.tables.read_table`: the raw text.

        Neither the decimal mark nor missing markers are applied when reading:
        :func:`synthema.harmonize.harmonize` applies them per column (numbers only for
        numeric variables; markers not where they are a category or a code), so a file
        and the same cells passed as a frame give the same result.
        """
        return {**{k: v for k, v in self.read.items() if k != "decimal"}, "missing_values": ()}

    def missing_markers(self) -> frozenset[str]:
        """Cell texts meaning missing: the defaults (unless switched off) and the mapping's."""
        return frozenset((DEFAULT_MISSING if self.default_missing else ()) + self.missing_values)

    def data_path(self) -> Path | None:
        """The data file named by ``file:``, relative to the mapping file."""
        if not self.file:
            return None
        base = self.path.parent if self.path else Path(".")
        return base / self.file

    def check(self, dictionary: Dictionary) -> None:
        """Check targets, units, codes and date formats against ``dictionary``.

        Raises:
            MappingError: naming the mapping file and column, with the fix.
        """
        self._check_dictionary_name(dictionary)
        for col in self.columns:
            self._check_column(col, dictionary)

    @property
    def builtin(self) -> bool:
        """True for a mapping shipped in the package (``harmonize/data``)."""
        if self.path is None:
            return False
        folder = Path(str(resources.files("synthema.harmonize") / "data"))
        try:
            return self.path.resolve().parent == folder.resolve()
        except OSError:
            return False

    def check_columns(
        self, columns: Iterable[str], *, file: str, patient_id: str | None = None,
        note: str = "",
    ) -> tuple[str, ...]:
        """Check that the source columns the mapping maps are in the file.

        ``drop:`` columns absent from the file are fine (nothing to drop). Mapped columns
        absent from the file are an error, unless ``missing_columns: allow`` (then their
        names are returned, and their targets are left missing); the patient id column
        must always be there.

        Args:
            columns: the file's header.
            file: the file's name, for messages.
            patient_id: the dictionary's patient id (its source is always required).
            note: added to the message (e.g. a hint about the file's encoding).

        Raises:
            MappingError: one line naming at most the first 8 absent columns.
        """
        have = [str(c) for c in columns]
        needed = dict.fromkeys(s for m in self.columns for s in m.needed_sources)
        absent = [c for c in needed if c not in have]
        if not absent:
            return ()
        sources = {m.source for m in self.columns}
        present = [m.source for m in self.columns if m.source in have]
        id_absent = [m.source for m in self.columns
                     if m.target == patient_id and m.source in absent]
        if self.missing_columns == "allow" and not id_absent and present:
            return tuple(absent)
        if self.missing_columns == "allow" and not present:
            shown = absent
            what = f"none of the {len(sources)} mapped source columns is in {file}: "
        elif self.missing_columns == "allow":
            shown = id_absent
            what = f"the patient id column is not in {file}: "
        else:
            shown = absent
            what = f"{plural(len(absent), 'source column')} not in {file}: "
        if not present:  # nothing matches: most likely another site's mapping
            what = f"none of the {len(sources)} mapped source columns is in {file}: "
        lower = {h.lower(): h for h in have}
        hints = []
        for name in shown[:_SHOWN_ABSENT]:
            close = [lower[name.lower()]] if name.lower() in lower else \
                difflib.get_close_matches(name, have, n=1)
            hints.append(f"'{name}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
        more = len(shown) - _SHOWN_ABSENT
        listed = ", ".join(hints) + (f" and {more} more" if more > 0 else "")
        extra = f" ({note})" if note else ""
        raise MappingError(f"{self.where}: {what}{listed}{extra}",
                           fix=self._absent_fix(shown, present, sources, note))

    def _absent_fix(self, shown: list[str], present: list[str], sources: set[str],
                    note: str) -> str:
        """The fix for absent source columns: the encoding, ``when:``, or ``from:`` names."""
        if note:  # the header was decoded wrongly: names with accents cannot match
            return ("remove encoding from 'read:' in the mapping (the file is UTF-8), then "
                    "check the names under 'from:' if columns are still missing")
        conditions = [c.target for c in self.columns
                      if any(w in shown for w, _ in c.when)]
        if conditions and not set(shown) & sources:
            fix = (f"correct the column named under when: in columns: {', '.join(conditions)} "
                   "to match the file's header")
        else:
            fix = "correct the names under 'from:' to match the file's header"
            if conditions:
                fix += f" (and under when: in columns: {', '.join(conditions)})"
        if not present:  # nothing matches: most likely another site's mapping
            fix = ("check that this is the mapping written for this file (each site export has "
                   "its own); if it is, correct the names under 'from:'")
        elif self.missing_columns == "error":
            fix += (", or add 'missing_columns: allow' at the top of the mapping to leave "
                    "their variables missing")
        if self.builtin:
            fix += (f" (a built-in mapping: copy {self.path} next to your data, edit the copy "
                    "and pass its path to --mapping)")
        return fix

    def _check_dictionary_name(self, dictionary: Dictionary) -> None:
        ref = self.dictionary
        name = ref
        if ref.endswith((".yaml", ".yml")) or "/" in ref:
            base = self.path.parent if self.path else Path(".")
            target = Path(ref) if Path(ref).is_absolute() else base / ref
            try:
                name = load_dictionary(target).name
            except Exception:  # any failure means the reference is unusable
                raise MappingError(f"{self.where}: dictionary '{ref}' cannot be loaded",
                                   fix="correct 'dictionary:' (a built-in name or a path "
                                       "relative to the mapping file)") from None
        if name != dictionary.name:
            raise MappingError(
                f"{self.where}: the mapping is for dictionary '{name}', not '{dictionary.name}'",
                fix=f"pass --dictionary {ref}, or use a mapping written for '{dictionary.name}'",
            )

    def _check_column(self, col: ColumnMapping, dictionary: Dictionary) -> None:
        where = f"{self.where}: columns: {col.target}"
        if col.target == dictionary.patient_id:
            if col.unit or col.factor or col.codes or col.date_format or col.when:
                raise MappingError(f"{where}: the patient id takes no conversion",
                                   fix="keep only 'from:'")
            return
        if col.target not in dictionary:
            labels = {v.label.lower(): v.name for v in dictionary.variables if v.label}
            close = difflib.get_close_matches(col.target, dictionary.columns, n=1) or [
                labels[m] for m in difflib.get_close_matches(col.target.lower(), labels, n=1)]
            hint = (f"did you mean '{close[0]}'?" if close
                    else f"see synthema dictionary show {dictionary.name}")
            raise MappingError(f"{where}: '{col.target}' is not a column of dictionary "
                               f"'{dictionary.name}'", fix=f"correct the target name ({hint})")
        var = dictionary[col.target]
        if col.unit is not None:
            try:
                variable_factor(var, col.unit, column=col.source)
            except MappingError as exc:
                raise MappingError(f"{self.where}: {exc.message}", fix=exc.fix) from None
        if col.factor is not None and not var.type.is_numeric:
            raise MappingError(f"{where}: 'factor' given for {var.type.value} variable",
                               fix="remove 'factor:' (it applies to numbers only)")
        if col.date_format is not None and var.type is not VariableType.DATE:
            raise MappingError(f"{where}: 'date_format' given for {var.type.value} variable",
                               fix="remove 'date_format:' (it applies to dates only)")
        for code, value in col.codes:
            text = code_text(value)
            if text is None or _code_fits(text, var):
                continue
            allowed = (", ".join(var.categories) if var.categories
                       else "true, false" if var.type is VariableType.BOOLEAN
                       else f"a {var.type.value}")
            raise MappingError(f"{where}: code '{code}' maps to {value!r}, which is not valid "
                               f"for '{var.name}' (allowed: {allowed})",
                               fix="map the code to an allowed value, or to null for missing")


def _code_fits(text: str, var: Any) -> bool:
    match var.type:
        case VariableType.CATEGORICAL | VariableType.ORDINAL:
            return text in var.categories
        case VariableType.BOOLEAN:
            return text.lower() in TRUE_WORDS | FALSE_WORDS
        case VariableType.INTEGER | VariableType.CONTINUOUS | VariableType.DURATION:
            try:
                float(text.replace(",", "."))
            except ValueError:
                return False
            return True
        case VariableType.DATE:
            try:
                dt.date.fromisoformat(text)
            except ValueError:
                return False
            return True
        case _:
            raise ValueError(f"unknown variable type {var.type!r}")


# -- files --------------------------------------------------------------------------------------
def builtin_mappings() -> tuple[str, ...]:
    """Names of the mappings shipped in the package (``harmonize/data/*.yaml``)."""
    folder = resources.files("synthema.harmonize") / "data"
    return tuple(sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml")))


def load_mapping(name_or_path: str | Path | Mapping[str, Any] | SiteMapping) -> SiteMapping:
    """Load a mapping YAML by path, or a built-in mapping by name (a dict is parsed as is)."""
    if isinstance(name_or_path, SiteMapping):
        return name_or_path
    if isinstance(name_or_path, Mapping):
        return SiteMapping.from_mapping(name_or_path)
    path = Path(name_or_path)
    if not path.exists():
        builtin = Path(str(resources.files("synthema.harmonize") / "data" / f"{name_or_path}.yaml"))
        if not builtin.exists():
            raise MappingError(f"mapping '{name_or_path}' is neither a file nor built in",
                               fix="check the path (built in: "
                                   f"{', '.join(builtin_mappings()) or 'none'})")
        path = builtin
    if path.suffix.lower() in READ_SUFFIXES:  # the export given where the mapping goes
        raise MappingError(
            f"{path}: is a data file ({path.suffix}), not a mapping",
            fix="pass the mapping's YAML file with --mapping and the export as the argument "
                "(synthema harmonize --mapping site.mapping.yaml site.csv)")
    raw = read_yaml(path, loader=_Loader, error=MappingError)
    return SiteMapping.from_mapping(raw, source=str(path), path=path)


def dump_mapping(raw: Mapping[str, Any]) -> str:
    """YAML text of a mapping dict, quoting codes so they read back as text."""
    return yaml.safe_dump(dict(raw), sort_keys=False, allow_unicode=True, width=100)

