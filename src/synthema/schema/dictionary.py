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

import dataclasses
import difflib
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from synthema.errors import DictionaryError, ParameterError
from synthema.schema.rules import Rule, evaluate_rules
from synthema.schema.strict import check_keys, read_yaml
from synthema.schema.variable import NAME_RE, Variable, VariableType

__all__ = ["BUILTIN", "Dictionary", "SurvivalPair", "Variable", "VariableType", "builtin_path",
           "load_dictionary"]

_RULE_KIND = {
    VariableType.CATEGORICAL: "str",
    VariableType.ORDINAL: "str",
    VariableType.BOOLEAN: "bool",
    VariableType.INTEGER: "num",
    VariableType.CONTINUOUS: "num",
    VariableType.DURATION: "num",
    VariableType.DATE: "date",
}

_TOP_KEYS = {
    "name": "dictionary name",
    "version": "dictionary version",
    "title": "human-readable title",
    "description": "free text",
    "patient_id": "name of the patient id column (optional; without it one row is one patient)",
    "variables": "list of variables",
    "survival": "list of {time, event} pairs",
    "targets": "list of outcome variables the synthesizers favour and evaluate predicts",
    "rules": "list of rule expressions or {name, expr, description}",
}
_SURVIVAL_KEYS = {"time": "duration variable", "event": "boolean variable", "label": "label",
                  "covariates": "list of prognostic variables the synthesizers model with it"}
_RULE_KEYS = {"name": "rule name", "expr": "rule expression", "description": "why it holds"}


@dataclass(frozen=True)
class SurvivalPair:
    """A right-censored outcome: a duration and its event indicator.

    ``covariates`` are variables known to be prognostic for it (public clinical knowledge,
    e.g. age and ELN 2022 risk for AML survival): the synthesizers model the pair jointly with
    them without spending budget on finding them (:mod:`synthema.synth.anchor`).
    """

    time: str
    event: str
    label: str = ""
    covariates: tuple[str, ...] = ()


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
    targets: tuple[str, ...] = ()
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
            if not NAME_RE.match(self.patient_id):
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
        outcomes = {c for p in self.survival for c in (p.time, p.event)} | set(self.targets)
        for pair in self.survival:
            for i, name in enumerate(pair.covariates):
                problem = ("not a variable" if name not in by_name
                           else "the pair's own column" if name in (pair.time, pair.event)
                           else "a survival column or a target: an outcome, not a covariate"
                           if name in outcomes
                           else "listed twice" if name in pair.covariates[:i] else "")
                if problem:
                    raise DictionaryError(
                        f"{self.source}: covariate '{name}' of survival time '{pair.time}' is "
                        f"{problem}",
                        fix="list each baseline variable once under covariates",
                    )
        self._check_targets(by_name)
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

    def _check_targets(self, by_name: Mapping[str, Variable]) -> None:
        """Each target is a declared variable, listed once, and not a survival time."""
        times = {p.time for p in self.survival}
        seen: set[str] = set()
        for name in self.targets:
            if name not in by_name:
                close = difflib.get_close_matches(name, list(by_name), n=1)
                hint = f"did you mean '{close[0]}'? " if close else ""
                raise DictionaryError(
                    f"{self.source}: target '{name}' is not a variable of the dictionary",
                    fix=f"{hint}name a variable listed under variables: in targets:",
                )
            if name in times:
                raise DictionaryError(
                    f"{self.source}: target '{name}' is a survival time",
                    fix="remove it from targets: (survival pairs are modelled jointly "
                    "already); name its event or another outcome",
                )
            if name in seen:
                raise DictionaryError(
                    f"{self.source}: target '{name}' is listed twice",
                    fix="list each target once under targets:",
                )
            seen.add(name)

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
            covariates = item.get("covariates") or []
            if not isinstance(covariates, list) or not all(isinstance(c, str) for c in covariates):
                raise DictionaryError(
                    f"{source}: covariates of survival time '{item['time']}' are not a list "
                    "of variable names", fix="write covariates: [age, eln2022]")
            survival.append(
                SurvivalPair(str(item["time"]), str(item["event"]), str(item.get("label", "")),
                             tuple(covariates))
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
            targets=_targets(raw.get("targets"), source),
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
        results = evaluate_rules(self.rules, df, ordinals=self.ordinals)
        return pd.DataFrame(
            {r.name: res for r, res in zip(self.rules, results, strict=True)}, index=df.index
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
            survival=tuple(dataclasses.replace(p, covariates=tuple(
                c for c in p.covariates if c in keep)) for p in self.survival
                if {p.time, p.event} <= keep),
            rules=tuple(r for r in self.rules if set(r.columns) <= keep),
            targets=tuple(t for t in self.targets if t in keep),
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
                | ({"covariates": list(p.covariates)} if p.covariates else {})
                for p in self.survival
            ]
        if self.targets:
            out["targets"] = list(self.targets)
        if self.rules:
            out["rules"] = [r.to_mapping() for r in self.rules]
        return out

    def to_yaml(self) -> str:
        """YAML text of this dictionary."""
        return yaml.safe_dump(self.to_mapping(), sort_keys=False, allow_unicode=True, width=100)


def _targets(raw: Any, source: str) -> tuple[str, ...]:
    """``targets:`` as variable names: a YAML list of names (absent or empty: none)."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(t, str) and t for t in raw):
        raise DictionaryError(
            f"{source}: targets is {raw!r}, not a list of variable names",
            fix="write targets: [cr] (a YAML list of outcome variables)",
        )
    return tuple(raw)


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
