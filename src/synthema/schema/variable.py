"""A dictionary variable: its type, bounds, categories, cut points and decimals, checked.

:meth:`Variable.from_mapping` reads one entry of a dictionary's ``variables:`` list; each
field has its own check (:func:`_bounds`, :func:`_categories`, ...), and a mistake raises a
:class:`~synthema.errors.DictionaryError` naming the file, the variable and the fix.

>>> v = Variable.from_mapping({"name": "age", "type": "integer", "min": 18, "max": 100})
>>> v.type.is_numeric, v.min, v.max
(True, 18.0, 100.0)
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from synthema.errors import DictionaryError
from synthema.schema.strict import check_keys

NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


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
        if not isinstance(name, str) or not NAME_RE.match(name):
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
        # a cut at max on a grid closes a bin holding max alone: the end of follow-up (52
        # weeks for every man never arrested) is a value of its own, not the top of a range
        gridded = self.is_whole_number or self.decimals is not None
        for c in self.cut_points:
            at_end = gridded and hi is not None and c == hi
            if (lo is not None and c <= lo) or (hi is not None and c >= hi and not at_end):  # type: ignore[operator]
                raise DictionaryError(
                    f"{src}: variable '{self.name}' cut point {c} is not inside ({lo}, {hi})",
                    fix="keep cut points between min and max (a cut at max, the end of "
                        "follow-up, needs whole numbers or declared decimals)",
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
