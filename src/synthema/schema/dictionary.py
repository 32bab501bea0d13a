"""Data dictionaries: the common model every site's data is mapped onto.

A dictionary is a YAML file (format in ``docs/dictionary.md``). It is *public*: bounds,
categories and clinical cut points come from clinical knowledge, never from a site's
private data, because later stages derive the discretised privacy domain from it.

The loader is strict: unknown keys are errors (with a did-you-mean), missing optional
keys are not. All objects are frozen; ``project`` returns a new dictionary.

>>> d = Dictionary.from_mapping({
...     "name": "example", "version": 1,
...     "variables": [
...         {"name": "age", "type": "integer", "min": 18, "max": 100, "unit": "years"},
...         {"name": "sex", "type": "categorical", "categories": ["F", "M"]},
...         {"name": "os_days", "type": "duration", "min": 0, "max": 7300, "unit": "days"},
...         {"name": "os_status", "type": "boolean"},
...         {"name": "efs_days", "type": "duration", "min": 0, "max": 7300, "unit": "days"},
...     ],
...     "survival": [{"time": "os_days", "event": "os_status"}],
...     "rules": ["efs_days <= os_days"],
... })
>>> d.names[:2]
('age', 'sex')
>>> d["sex"].categories
('F', 'M')
>>> d.rules[0].columns
('efs_days', 'os_days')
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from synthema.errors import DictionaryError, ParameterError, SynthemaError
from synthema.schema.rules import Rule

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class VariableType(StrEnum):
    """The seven value types a dictionary variable can have."""

    CATEGORICAL = "categorical"
    ORDINAL = "ordinal"
    BOOLEAN = "boolean"
    INTEGER = "integer"
    CONTINUOUS = "continuous"
    DATE = "date"
    DURATION = "duration"

    @property
    def is_numeric(self) -> bool:
        return self in (VariableType.INTEGER, VariableType.CONTINUOUS, VariableType.DURATION)

    @property
    def has_categories(self) -> bool:
        return self in (VariableType.CATEGORICAL, VariableType.ORDINAL)


_RULE_KIND = {
    VariableType.CATEGORICAL: "str",
    VariableType.ORDINAL: "str",
    VariableType.BOOLEAN: "bool",
    VariableType.INTEGER: "num",
    VariableType.CONTINUOUS: "num",
    VariableType.DURATION: "num",
    VariableType.DATE: "date",
}

_VARIABLE_KEYS = {
    "name": "column name, a plain identifier (letters, digits, underscore)",
    "type": "one of " + ", ".join(t.value for t in VariableType),
    "label": "human-readable label",
    "description": "free text",
    "unit": "unit of measurement, e.g. g/dL",
    "min": "lower bound (number, or ISO date for dates)",
    "max": "upper bound (number, or ISO date for dates)",
    "categories": "allowed values (categorical and ordinal; ordinal in order)",
    "cut_points": "clinical cut points for discretisation (numeric types)",
    "decimals": "digits kept after the decimal point (continuous)",
    "group": "group name, e.g. clinical, karyotype, mutations",
    "omop_concept_id": "standard OMOP concept id, only when verified",
    "required": "true if a value must be present in every row",
    "quantity": "measured quantity for unit conversion, e.g. haemoglobin, creatinine",
}
_TOP_KEYS = {
    "name": "dictionary name",
    "version": "dictionary version",
    "title": "human-readable title",
    "description": "free text",
    "patient_id": "name of the patient id column (optional; without it one row is one patient)",
    "variables": "list of variables",
    "survival": "list of {time, event} pairs",
    "rules": "list of rule expressions or {name, expr, description}",
}
_SURVIVAL_KEYS = {"time": "duration variable", "event": "boolean variable", "label": "label"}
_RULE_KEYS = {"name": "rule name", "expr": "rule expression", "description": "why it holds"}


def check_keys(
    obj: Mapping[str, Any],
    allowed: Mapping[str, str],
    where: str,
    src: str,
    *,
    error: type[SynthemaError] = DictionaryError,
) -> None:
    """Raise ``error`` for the first key of ``obj`` not in ``allowed``, with a did-you-mean.

    Shared by every strict YAML loader (dictionaries, mappings) so they fail alike.
    """
    for key in obj:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), list(allowed), n=1)
            hint = f"did you mean '{close[0]}'?" if close else "allowed: " + ", ".join(allowed)
            raise error(
                f"{src}: unknown key '{key}' in {where}",
                fix=f"remove or rename it ({hint})",
            )


def read_yaml(
    path: Path,
    *,
    loader: type[yaml.SafeLoader] = yaml.SafeLoader,
    error: type[SynthemaError] = DictionaryError,
) -> Any:
    """Parse a UTF-8 YAML file; encoding and syntax errors become ``error`` with the position."""
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 - safe
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text", fix="save the file as UTF-8") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise error(
            f"{path}:{where} {problem}", fix="correct the YAML syntax at that position"
        ) from None


def _as_date(value: Any, where: str, src: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise DictionaryError(
            f"{src}: {where} is {value!r}, not an ISO date", fix="write it as YYYY-MM-DD"
        ) from None


def _as_number(value: Any, where: str, src: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DictionaryError(f"{src}: {where} is {value!r}, not a number", fix="write a number")
    return float(value)


def _flags(raw: Mapping[str, Any], where: str, src: str) -> dict[str, Any]:
    """``required`` (true/false only) and a verified ``omop_concept_id`` (a positive int)."""
    kw: dict[str, Any] = {}
    if raw.get("required") is not None:
        if not isinstance(raw["required"], bool):
            raise DictionaryError(
                f"{src}: {where}: required is {raw['required']!r}", fix="write true or false"
            )
        kw["required"] = raw["required"]
    if raw.get("omop_concept_id") is not None:
        cid = raw["omop_concept_id"]
        if isinstance(cid, bool) or not isinstance(cid, int) or cid <= 0:
            raise DictionaryError(
                f"{src}: {where}: omop_concept_id is {cid!r}",
                fix="write a positive integer concept id, or leave it out if unverified",
            )
        kw["omop_concept_id"] = cid
    return kw


def _bounds(raw: Mapping[str, Any], vtype: VariableType, where: str, src: str
            ) -> dict[str, Any]:
    """``min``/``max``: dates for date variables, numbers for numeric ones, else refused."""
    kw: dict[str, Any] = {}
    for key in ("min", "max"):
        if raw.get(key) is None:
            continue
        if vtype is VariableType.DATE:
            kw[key] = _as_date(raw[key], f"{where}: {key}", src)
        elif vtype.is_numeric:
            kw[key] = _as_number(raw[key], f"{where}: {key}", src)
        else:
            raise DictionaryError(
                f"{src}: {where} is {vtype.value} and cannot have {key}",
                fix=f"remove '{key}' or change the type",
            )
    return kw


def _categories(raw: Mapping[str, Any], vtype: VariableType, where: str, src: str
                ) -> dict[str, Any]:
    """A non-empty list of distinct categories, for (and only for) categorical types."""
    if raw.get("categories") is None:
        if vtype.has_categories:
            raise DictionaryError(
                f"{src}: {where} is {vtype.value} but lists no categories",
                fix="add categories: [A, B, ...]",
            )
        return {}
    if not vtype.has_categories:
        raise DictionaryError(
            f"{src}: {where} is {vtype.value} and cannot have categories",
            fix="remove 'categories' or make the type categorical/ordinal",
        )
    cats = raw["categories"]
    if not isinstance(cats, list) or not cats:
        raise DictionaryError(
            f"{src}: {where}: categories must be a non-empty list",
            fix="write categories: [A, B, ...]",
        )
    cats_s = tuple(str(c) for c in cats)
    if len(set(cats_s)) != len(cats_s):
        dup = sorted({c for c in cats_s if cats_s.count(c) > 1})
        raise DictionaryError(
            f"{src}: {where}: duplicate categories {dup}", fix="list each category once"
        )
    return {"categories": cats_s}


def _cut_points(raw: Mapping[str, Any], vtype: VariableType, where: str, src: str
                ) -> dict[str, Any]:
    """Strictly increasing clinical cut points, for numeric variables only."""
    if raw.get("cut_points") is None:
        return {}
    if not vtype.is_numeric:
        raise DictionaryError(
            f"{src}: {where} is {vtype.value} and cannot have cut_points",
            fix="remove 'cut_points'",
        )
    cuts = raw["cut_points"]
    if not isinstance(cuts, list):
        raise DictionaryError(
            f"{src}: {where}: cut_points must be a list", fix="write cut_points: [a, b]"
        )
    cuts_f = tuple(_as_number(c, f"{where}: cut point", src) for c in cuts)
    if any(b <= a for a, b in zip(cuts_f, cuts_f[1:], strict=False)):
        raise DictionaryError(
            f"{src}: {where}: cut_points {list(cuts_f)} are not strictly increasing",
            fix="sort them and remove duplicates",
        )
    return {"cut_points": cuts_f}


def _decimals(raw: Mapping[str, Any], vtype: VariableType, where: str, src: str
              ) -> dict[str, Any]:
    """0 to 12 decimals, for continuous and duration variables only."""
    if raw.get("decimals") is None:
        return {}
    dec = raw["decimals"]
    if isinstance(dec, bool) or not isinstance(dec, int) or not 0 <= dec <= 12:
        raise DictionaryError(
            f"{src}: {where}: decimals is {dec!r}", fix="write an integer from 0 to 12"
        )
    if vtype not in (VariableType.CONTINUOUS, VariableType.DURATION):
        raise DictionaryError(
            f"{src}: {where} is {vtype.value} and cannot have decimals",
            fix="remove 'decimals' (only continuous and duration values have them)",
        )
    return {"decimals": dec}


@dataclass(frozen=True)
class Variable:
    """One column of the common model.

    ``min``/``max`` are floats for numeric types and ``datetime.date`` for dates.
    """

    name: str
    type: VariableType
    label: str = ""
    description: str = ""
    unit: str | None = None
    min: float | dt.date | None = None
    max: float | dt.date | None = None
    categories: tuple[str, ...] = ()
    cut_points: tuple[float, ...] = ()
    decimals: int | None = None
    group: str = ""
    omop_concept_id: int | None = None
    required: bool = False
    quantity: str | None = None

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any], *, src: str = "<dictionary>") -> Variable:
        """Build and check a variable from its YAML mapping."""
        if not isinstance(raw, Mapping):
            raise DictionaryError(
                f"{src}: a variable entry is {raw!r}, not a mapping",
                fix="write each variable as {name: ..., type: ...}",
            )
        name = raw.get("name")
        where = f"variable '{name}'" if name else "a variable"
        check_keys(raw, _VARIABLE_KEYS, where, src)
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise DictionaryError(
                f"{src}: variable name {name!r} is not a plain identifier",
                fix="use letters, digits and underscores, starting with a letter",
            )
        try:
            vtype = VariableType(str(raw.get("type")))
        except ValueError:
            raise DictionaryError(
                f"{src}: {where} has type {raw.get('type')!r}",
                fix="use one of " + ", ".join(t.value for t in VariableType),
            ) from None
        kw: dict[str, Any] = {"name": name, "type": vtype}
        for key in ("label", "description", "group", "unit", "quantity"):
            if raw.get(key) is not None:
                kw[key] = str(raw[key])
        kw |= _flags(raw, where, src)
        kw |= _bounds(raw, vtype, where, src)
        kw |= _categories(raw, vtype, where, src)
        kw |= _cut_points(raw, vtype, where, src)
        kw |= _decimals(raw, vtype, where, src)
        var = cls(**kw)
        var._check_bounds(src)
        return var

    def _check_bounds(self, src: str) -> None:
        lo, hi = self.min, self.max
        if lo is not None and hi is not None and lo > hi:  # type: ignore[operator]
            raise DictionaryError(
                f"{src}: variable '{self.name}' has min {lo} above max {hi}",
                fix="swap or correct the bounds",
            )
        for c in self.cut_points:
            if (lo is not None and c <= lo) or (hi is not None and c >= hi):  # type: ignore[operator]
                raise DictionaryError(
                    f"{src}: variable '{self.name}' cut point {c} is not inside ({lo}, {hi})",
                    fix="keep cut points strictly between min and max",
                )

    @property
    def is_whole_number(self) -> bool:
        """True when values are stored as integers (integer; duration without decimals)."""
        if self.type is VariableType.INTEGER:
            return True
        return self.type is VariableType.DURATION and not self.decimals

    def to_mapping(self) -> dict[str, Any]:
        """The YAML mapping of this variable, omitting defaults."""
        out: dict[str, Any] = {"name": self.name, "type": self.type.value}
        for key in ("label", "description", "unit", "group", "quantity"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        for key in ("min", "max"):
            val = getattr(self, key)
            if isinstance(val, dt.date):
                out[key] = val.isoformat()
            elif val is not None:
                out[key] = int(val) if float(val).is_integer() else val
        if self.categories:
            out["categories"] = list(self.categories)
        if self.cut_points:
            out["cut_points"] = [int(c) if float(c).is_integer() else c for c in self.cut_points]
        if self.decimals is not None:
            out["decimals"] = self.decimals
        if self.omop_concept_id is not None:
            out["omop_concept_id"] = self.omop_concept_id
        if self.required:
            out["required"] = True
        return out


@dataclass(frozen=True)
class SurvivalPair:
    """A right-censored outcome: a duration and its event indicator."""

    time: str
    event: str
    label: str = ""


@dataclass(frozen=True)
class Dictionary:
    """A data dictionary: variables, survival outcomes and clinical rules."""

    name: str
    version: str
    variables: tuple[Variable, ...]
    title: str = ""
    description: str = ""
    patient_id: str | None = None
    survival: tuple[SurvivalPair, ...] = ()
    rules: tuple[Rule, ...] = ()
    source: str = field(default="<dictionary>", compare=False)

    def __post_init__(self) -> None:
        names = [v.name for v in self.variables]
        if not names:
            raise DictionaryError(f"{self.source}: no variables", fix="list at least one variable")
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise DictionaryError(
                f"{self.source}: variables listed twice: {', '.join(dup)}",
                fix="keep one entry per variable",
            )
        if self.patient_id is not None:
            if not _NAME_RE.match(self.patient_id):
                raise DictionaryError(
                    f"{self.source}: patient_id {self.patient_id!r} is not a plain identifier",
                    fix="use letters, digits and underscores",
                )
            if self.patient_id in names:
                raise DictionaryError(
                    f"{self.source}: patient_id '{self.patient_id}' is also listed as a variable",
                    fix="name it only under patient_id: it is the unit of privacy, not a variable",
                )
        by_name = {v.name: v for v in self.variables}
        for pair in self.survival:
            tvar, evar = by_name.get(pair.time), by_name.get(pair.event)
            if tvar is None or not (tvar.type.is_numeric):
                raise DictionaryError(
                    f"{self.source}: survival time '{pair.time}' is not a numeric variable",
                    fix="name a duration variable under survival: time",
                )
            if evar is None or evar.type is not VariableType.BOOLEAN:
                raise DictionaryError(
                    f"{self.source}: survival event '{pair.event}' is not a boolean variable",
                    fix="name a boolean variable under survival: event",
                )
        kinds = {v.name: _RULE_KIND[v.type] for v in self.variables}
        categories = {v.name: v.categories for v in self.variables if v.categories}
        for rule in self.rules:
            unknown = [c for c in rule.columns if c not in by_name]
            if unknown:
                raise DictionaryError(
                    f"{self.source}: rule '{rule.name}' uses unknown column(s) "
                    f"{', '.join(unknown)}",
                    fix="correct the column name or add the variable",
                )
            try:
                rule.check_types(kinds, categories, self.ordinals)
            except (TypeError, ValueError) as exc:
                raise DictionaryError(
                    f"{self.source}: rule '{rule.name}' ({rule.expr}): {exc}",
                    fix="correct the rule (grammar and types in docs/rules.md)",
                ) from None

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_mapping(cls, raw: Any, *, source: str = "<dictionary>") -> Dictionary:
        """Build a dictionary from parsed YAML, checking every key."""
        if not isinstance(raw, Mapping):
            raise DictionaryError(
                f"{source}: top level is not a mapping", fix="start with 'name:' and 'variables:'"
            )
        check_keys(raw, _TOP_KEYS, "the top level", source)
        for key in ("name", "version", "variables"):
            if raw.get(key) in (None, ""):
                raise DictionaryError(f"{source}: missing '{key}'", fix=f"add '{key}:'")
        if not isinstance(raw["variables"], list):
            raise DictionaryError(
                f"{source}: 'variables' is not a list", fix="write variables as a YAML list"
            )
        variables = tuple(Variable.from_mapping(v, src=source) for v in raw["variables"])
        survival = []
        for item in raw.get("survival") or []:
            if not isinstance(item, Mapping) or "time" not in item or "event" not in item:
                raise DictionaryError(
                    f"{source}: survival entry {item!r} needs 'time' and 'event'",
                    fix="write {time: os_days, event: os_status}",
                )
            check_keys(item, _SURVIVAL_KEYS, "a survival entry", source)
            survival.append(
                SurvivalPair(str(item["time"]), str(item["event"]), str(item.get("label", "")))
            )
        rules = []
        for i, item in enumerate(raw.get("rules") or [], start=1):
            if isinstance(item, str):
                rules.append(Rule.parse(item, name=f"rule_{i}", source=source))
            elif isinstance(item, Mapping) and "expr" in item:
                check_keys(item, _RULE_KEYS, f"rule {i}", source)
                rules.append(
                    Rule.parse(
                        str(item["expr"]),
                        name=str(item.get("name", f"rule_{i}")),
                        description=str(item.get("description", "")),
                        source=source,
                    )
                )
            else:
                raise DictionaryError(
                    f"{source}: rule {i} is {item!r}",
                    fix="write a rule as a string or as {name, expr, description}",
                )
        rule_names = [r.name for r in rules]
        dup = sorted({n for n in rule_names if rule_names.count(n) > 1})
        if dup:
            raise DictionaryError(
                f"{source}: rule names used twice: {', '.join(dup)}", fix="give each rule its name"
            )
        pid = raw.get("patient_id")
        return cls(
            name=str(raw["name"]),
            version=str(raw["version"]),
            variables=variables,
            title=str(raw.get("title", "")),
            description=str(raw.get("description", "")),
            patient_id=str(pid) if pid is not None else None,
            survival=tuple(survival),
            rules=tuple(rules),
            source=source,
        )

    # -- access ---------------------------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        """Variable names in dictionary order."""
        return tuple(v.name for v in self.variables)

    @property
    def columns(self) -> tuple[str, ...]:
        """Columns a clean data file has: the patient id (if any), then the variables."""
        return ((self.patient_id,) if self.patient_id else ()) + self.names

    @property
    def ordinals(self) -> dict[str, tuple[str, ...]]:
        """Ordinal variables and their categories in order."""
        return {v.name: v.categories for v in self.variables if v.type is VariableType.ORDINAL}

    def evaluate_rules(self, df: pd.DataFrame) -> pd.DataFrame:
        """One nullable boolean column per rule: True holds, False violated, NA not applicable."""
        return pd.DataFrame(
            {r.name: r.evaluate(df, ordinals=self.ordinals) for r in self.rules}, index=df.index
        )

    @property
    def groups(self) -> tuple[str, ...]:
        """Group names in order of first appearance."""
        return tuple(dict.fromkeys(v.group for v in self.variables))

    def in_group(self, group: str | None) -> tuple[Variable, ...]:
        """The variables of ``group`` (all of them for None).

        Raises:
            ParameterError: the dictionary has no such group (the message lists them).
        """
        if group is None:
            return self.variables
        if group not in self.groups:
            raise ParameterError(
                f"dictionary '{self.name}' has no group '{group}'",
                fix=f"use one of: {', '.join(g or '(none)' for g in self.groups)}",
            )
        return tuple(v for v in self.variables if v.group == group)

    def __getitem__(self, name: str) -> Variable:
        for v in self.variables:
            if v.name == name:
                return v
        close = difflib.get_close_matches(name, self.names, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise KeyError(f"'{name}' is not a variable of dictionary '{self.name}'{hint}")

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def __len__(self) -> int:
        return len(self.variables)

    def project(self, names: Iterable[str]) -> Dictionary:
        """A dictionary with only ``names``, keeping rules and survival pairs fully inside."""
        keep = set(names)
        missing = keep - set(self.names)
        if missing:
            raise KeyError(f"not in dictionary '{self.name}': {', '.join(sorted(missing))}")
        return Dictionary(
            name=self.name,
            version=self.version,
            variables=tuple(v for v in self.variables if v.name in keep),
            title=self.title,
            description=self.description,
            patient_id=self.patient_id,
            survival=tuple(p for p in self.survival if {p.time, p.event} <= keep),
            rules=tuple(r for r in self.rules if set(r.columns) <= keep),
            source=self.source,
        )

    def to_mapping(self) -> dict[str, Any]:
        """The YAML mapping of this dictionary (round-trips through ``from_mapping``)."""
        out: dict[str, Any] = {"name": self.name, "version": self.version}
        if self.title:
            out["title"] = self.title
        if self.description:
            out["description"] = self.description
        if self.patient_id:
            out["patient_id"] = self.patient_id
        out["variables"] = [v.to_mapping() for v in self.variables]
        if self.survival:
            out["survival"] = [
                {"time": p.time, "event": p.event} | ({"label": p.label} if p.label else {})
                for p in self.survival
            ]
        if self.rules:
            out["rules"] = [r.to_mapping() for r in self.rules]
        return out

    def to_yaml(self) -> str:
        """YAML text of this dictionary."""
        return yaml.safe_dump(self.to_mapping(), sort_keys=False, allow_unicode=True, width=100)


# -- loading ----------------------------------------------------------------------------------
BUILTIN = ("aml", "scd")


def builtin_path(name: str) -> Path:
    """Path of a built-in dictionary YAML shipped in the package."""
    return Path(str(resources.files("synthema.schema") / "data" / f"{name}.yaml"))


def load_dictionary(name_or_path: str | Path) -> Dictionary:
    """Load a built-in dictionary by name (``aml``, ``scd``) or a YAML file by path.

    Built-in dictionaries are parsed once per process (they are frozen, so sharing is safe);
    files are read every time, so an edited file is seen at once.
    """
    if isinstance(name_or_path, Dictionary):
        return name_or_path
    text_name = str(name_or_path)
    if text_name in BUILTIN:
        return _load_builtin(text_name)
    return _load_path(text_name)


@functools.cache
def _load_builtin(name: str) -> Dictionary:
    return _load_path(str(builtin_path(name)))


def _load_path(text_name: str) -> Dictionary:
    if text_name in BUILTIN:
        path = builtin_path(text_name)
    else:
        path = Path(text_name)
        if not path.exists():
            close = difflib.get_close_matches(text_name.lower(), list(BUILTIN), n=1, cutoff=0.6)
            raise DictionaryError(
                f"dictionary '{text_name}' is neither built in nor a file",
                fix=(f"did you mean '{close[0]}'? " if close else "")
                + f"use one of {', '.join(BUILTIN)} or the path of a YAML file",
            )
    return Dictionary.from_mapping(read_yaml(path), source=str(path))
