"""Anonymisation policies: one strict YAML file says what leaves the site and how.

A policy names the purpose (the columns it needs; everything else is dropped), the direct
identifiers, the pseudonym key, how dates are handled, the quasi-identifiers with their
generalisation hierarchies, the sensitive attributes and the privacy models (k, l, t, maximum
suppression); optionally the data dictionary the data follow and what happens to each kind
of identifier a raw site export carries (``raw:``). docs/anonymize.md documents every key.
Unknown keys fail with a did-you-mean, like dictionaries and mappings do.

>>> p = Policy.from_mapping({"name": "x", "purpose": {"keep": ["a"]}, "models": {"k": 3}})
>>> p.models.k, p.models.max_suppression, p.dates.method, p.scope
(3, 0.0, 'keep', 'release')
>>> p.raw_action("hospital_number"), p.raw_action("birth_date")
('remove', 'remove')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthema.errors import AnonymizationError
from synthema.schema.dictionary import Dictionary, check_keys, load_dictionary, read_yaml

DATA_DIR = Path(__file__).parent / "data"
BUILTIN_POLICIES: tuple[str, ...] = ("aml", "scd")
DATE_METHODS = ("keep", "shift", "relative", "generalize")
GRANULARITIES = ("month", "quarter", "year", "decade")
L_VARIANTS = ("distinct", "entropy")
#: how far pseudonyms link: one release (default), one study, or every release with the key
SCOPES = ("release", "study", "linkage")
#: hex characters of HMAC kept at least: 64 bits, so that collisions are negligible
#: (n^2 / 2^65: about 1e-9 for 200,000 ids); :func:`pseudonymize` still checks for them
MIN_PSEUDONYM_LENGTH = 16
#: a date shift smaller than this keeps the date's month for most patients
MIN_SHIFT_DAYS = 30
METRICS = ("nue", "height")
#: checks a column released exactly may pass once a person has checked it by hand
#: (``identifiers.allow``): not declared by the policy's dictionary, distinct on nearly
#: every row
ALLOWANCES = ("undeclared", "distinct")
#: kinds of direct identifier a raw export carries (:func:`identifier_role` in deidentify)
RAW_ROLES = ("name", "hospital_number", "birth_date", "postcode", "address", "contact",
             "national_id", "other")
_RAW_PSEUDONYM = ("hospital_number", "national_id")
_RAW_HIERARCHY = {"birth_date": ("date",), "postcode": ("truncate", "groups", "suppress")}

_TOP_KEYS = {
    "name": "policy name", "description": "free text",
    "purpose": "{description, keep}: the columns the declared purpose needs",
    "pseudonym": "{column, key_env, key_file, prefix, length, scope, study}",
    "identifiers": "{columns, detect, keep_free_text}",
    "dates": "{method, columns, max_shift_days, anchor, granularity, format, key_env, "
             "key_file}",
    "quasi_identifiers": "column -> hierarchy",
    "sensitive": "column -> {order}",
    "models": "{k, l, l_variant, t, max_suppression}",
    "search": "{metric, max_nodes}", "risk": "{threshold, population}",
    "dictionary": "data dictionary the input follows (name or path): types for the utility check",
    "raw": "role -> remove | pseudonym | hierarchy: identifiers of a raw export (--mapping)",
}
_PURPOSE_KEYS = {"description": "why the data is released", "keep": "columns the purpose needs"}
_PSEUDO_KEYS = {"column": "patient id column", "key_env": "environment variable with the key",
                "key_file": "file holding the key", "prefix": "pseudonym prefix",
                "length": "hex characters kept",
                "scope": "|".join(SCOPES) + ": how far pseudonyms link",
                "study": "study name (scope: study)"}
_IDENT_KEYS = {"columns": "direct identifier columns", "detect": "match identifier headers",
               "keep_free_text": "free-text columns explicitly kept",
               "allow": "column -> [" + ", ".join(ALLOWANCES) + "]: checks a kept column may "
                        "pass once checked by hand"}
_DATE_KEYS = {"method": "|".join(DATE_METHODS), "columns": "date columns",
              "max_shift_days": "largest shift", "anchor": "date column days count from",
              "granularity": "|".join(GRANULARITIES), "format": "date format of the input",
              "key_env": "environment variable with the date-shift key",
              "key_file": "file holding the date-shift key"}
_HIER_KEYS = {"type": "interval|date|truncate|groups|suppress", "bands": "interval widths",
              "cap": "interval: values at or above it form one band (top-coding)",
              "cuts": "interval: cut points of one more level above the bands, e.g. [60]",
              "levels": "date granularities or group mappings", "min_level": "lowest level",
              "max_level": "highest level", "top": "add a '*' level", "origin": "band origin"}
_SENS_KEYS = {"order": "ordered values (ordinal t-closeness distance)"}
_MODEL_KEYS = {"k": "k-anonymity", "l": "l-diversity", "l_variant": "|".join(L_VARIANTS),
               "t": "t-closeness", "max_suppression": "largest share of suppressed records"}
_SEARCH_KEYS = {"metric": "|".join(METRICS), "max_nodes": "largest lattice searched"}
_RISK_KEYS = {"threshold": "per-record risk threshold", "population": "population file"}
_RAW_KEYS = {role: "remove" + (" | pseudonym" if role in _RAW_PSEUDONYM else "")
             + (" | {type: ...} hierarchy" if role in _RAW_HIERARCHY else "")
             for role in RAW_ROLES}


def _fail(src: str, message: str, fix: str) -> AnonymizationError:
    return AnonymizationError(f"{src}: {message}", fix=fix)


def _section(raw: Any, key: str, allowed: dict[str, str], src: str) -> dict[str, Any]:
    value = raw.get(key) or {}
    if not isinstance(value, dict):
        raise _fail(src, f"'{key}' must be a mapping", f"write {key}: followed by indented keys")
    check_keys(value, allowed, key, src, error=AnonymizationError)
    return value


def _names(value: Any, where: str, src: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(src, f"{where} must be a list of column names", f"write {where}: [a, b]")
    return tuple(value)


def _number(value: Any, where: str, src: str, *, lo: float, hi: float, integer: bool) -> Any:
    ok = isinstance(value, int) if integer else isinstance(value, int | float)
    if isinstance(value, bool) or not ok or not lo <= value <= hi:
        kind = "an integer" if integer else "a number"
        raise _fail(src, f"{where} is {value!r}", f"use {kind} between {lo:g} and {hi:g}")
    return value


def _choice(value: Any, choices: tuple[str, ...], where: str, src: str) -> str:
    if value not in choices:
        raise _fail(src, f"{where} is {value!r}", f"use one of {', '.join(choices)}")
    return value


@dataclass(frozen=True)
class HierarchySpec:
    """How one quasi-identifier is generalised; see :mod:`synthema.anonymize.hierarchy`."""

    column: str
    type: str
    bands: tuple[float, ...] = ()
    levels: tuple[Any, ...] = ()
    min_level: int = 0
    max_level: int | None = None
    top: bool = True
    origin: float = 0.0
    cap: float | None = None
    cuts: tuple[float, ...] = ()


@dataclass(frozen=True)
class Models:
    """The privacy models every released equivalence class must satisfy."""

    k: int = 1
    l: int | None = None  # noqa: E741 - the model's name
    l_variant: str = "distinct"
    t: float | None = None
    max_suppression: float = 0.0


@dataclass(frozen=True)
class DatePolicy:
    """What happens to date columns that are not quasi-identifiers."""

    method: str = "keep"
    columns: tuple[str, ...] = ()
    max_shift_days: int = 180
    anchor: str | None = None
    granularity: str = "month"
    format: str = "ISO8601"
    key_env: str | None = "SYNTHEMA_DATE_SHIFT_KEY"
    key_file: str | None = None

    def __post_init__(self) -> None:
        """A shift below the bound keeps most dates' month (also when built in Python)."""
        if self.method == "shift":
            _number(self.max_shift_days, "dates.max_shift_days", "<policy>",
                    lo=MIN_SHIFT_DAYS, hi=36500, integer=True)


@dataclass(frozen=True)
class Policy:
    """A parsed anonymisation policy (see docs/anonymize.md for the YAML)."""

    name: str
    keep: tuple[str, ...] = ()
    purpose: str = ""
    pseudonym_column: str | None = None
    key_env: str | None = "SYNTHEMA_PSEUDONYM_KEY"
    key_file: str | None = None
    prefix: str = "P"
    length: int = 16
    scope: str = "release"
    study: str | None = None
    identifiers: tuple[str, ...] = ()
    detect_identifiers: bool = True
    keep_free_text: tuple[str, ...] = ()
    allow: dict[str, tuple[str, ...]] = field(default_factory=dict)
    dates: DatePolicy = field(default_factory=DatePolicy)
    quasi_identifiers: tuple[HierarchySpec, ...] = ()
    sensitive: dict[str, tuple[str, ...] | None] = field(default_factory=dict)
    models: Models = field(default_factory=Models)
    metric: str = "nue"
    max_nodes: int = 100_000
    threshold: float = 0.09
    population: str | None = None
    dictionary: str | None = None
    raw: dict[str, str | HierarchySpec] = field(default_factory=dict)
    source: str = "<policy>"

    def __post_init__(self) -> None:
        """Re-check what a Python caller can set past :meth:`from_mapping`.

        ``dataclasses.replace(policy, length=8)`` builds a new Policy without the YAML
        checks; a pseudonym of 8 hex characters collides within a few hundred thousand ids.
        """
        _number(self.length, "pseudonym.length", self.source, lo=MIN_PSEUDONYM_LENGTH,
                hi=64, integer=True)
        _choice(self.scope, SCOPES, "pseudonym.scope", self.source)
        for col, checks in self.allow.items():
            for check in checks:
                _choice(check, ALLOWANCES, f"identifiers.allow.{col}", self.source)

    def raw_action(self, role: str) -> str | HierarchySpec:
        """What happens to a raw export's identifier of kind ``role`` (default: removed)."""
        return self.raw.get(role, "remove")

    def data_dictionary(self) -> Dictionary | None:
        """The ``dictionary:`` the data follow (a path is relative to the policy file)."""
        if self.dictionary is None:
            return None
        ref = self.dictionary
        if ref.endswith((".yaml", ".yml")) and not Path(ref).is_absolute() \
                and self.source != "<policy>":
            ref = str(Path(self.source).parent / ref)
        return load_dictionary(ref)

    @classmethod
    def from_mapping(cls, raw: Any, *, source: str = "<policy>") -> Policy:
        """Validate a parsed YAML mapping; every problem names the key and how to fix it."""
        src = source
        if not isinstance(raw, dict):
            raise _fail(src, "a policy must be a mapping", "start the file with name: ...")
        check_keys(raw, _TOP_KEYS, "the policy", src, error=AnonymizationError)
        purpose = _section(raw, "purpose", _PURPOSE_KEYS, src)
        pseudo = _section(raw, "pseudonym", _PSEUDO_KEYS, src)
        ident = _section(raw, "identifiers", _IDENT_KEYS, src)
        if not raw.get("models"):
            raise _fail(src, "the policy has no models: section (without it every class may "
                        "hold one record: k = 1)",
                        "add models: {k: 5, max_suppression: 0.05} (and l/t for the sensitive "
                        "attributes)")
        models = _models(_section(raw, "models", _MODEL_KEYS, src), src)
        search = _section(raw, "search", _SEARCH_KEYS, src)
        risk = _section(raw, "risk", _RISK_KEYS, src)
        raw_section = _section(raw, "raw", _RAW_KEYS, src)
        qis = raw.get("quasi_identifiers") or {}
        sens = raw.get("sensitive") or {}
        if not isinstance(qis, dict) or not isinstance(sens, dict):
            raise _fail(src, "quasi_identifiers and sensitive must map column names",
                        "write quasi_identifiers: {age: {type: interval, bands: [5, 10]}}")
        sensitive = {}
        for col, spec in sens.items():
            spec = spec or {}
            check_keys(spec, _SENS_KEYS, f"sensitive.{col}", src, error=AnonymizationError)
            order = spec.get("order")
            sensitive[str(col)] = tuple(str(v) for v in order) if order else None
        if models.l is not None or models.t is not None:
            if not sensitive:
                raise _fail(src, "models.l or models.t given without sensitive attributes",
                            "list the sensitive columns under sensitive:")
        return cls(
            name=str(raw.get("name") or Path(src).stem),
            keep=_names(purpose.get("keep"), "purpose.keep", src),
            purpose=str(purpose.get("description") or ""),
            pseudonym_column=pseudo.get("column"),
            key_env=pseudo.get("key_env", "SYNTHEMA_PSEUDONYM_KEY"),
            key_file=pseudo.get("key_file"),
            prefix=str(pseudo.get("prefix", "P")),
            length=_number(pseudo.get("length", 16), "pseudonym.length", src,
                           lo=MIN_PSEUDONYM_LENGTH, hi=64, integer=True),
            scope=_choice(pseudo.get("scope", "release"), SCOPES, "pseudonym.scope", src),
            study=None if pseudo.get("study") is None else str(pseudo["study"]),
            identifiers=_names(ident.get("columns"), "identifiers.columns", src),
            detect_identifiers=bool(ident.get("detect", True)),
            keep_free_text=_names(ident.get("keep_free_text"), "identifiers.keep_free_text", src),
            allow=_allow(ident.get("allow"), src),
            dates=_dates(_section(raw, "dates", _DATE_KEYS, src), src),
            quasi_identifiers=tuple(_hierarchy(str(c), s, src) for c, s in qis.items()),
            sensitive=sensitive,
            models=models,
            metric=_choice(search.get("metric", "nue"), METRICS, "search.metric", src),
            max_nodes=_number(search.get("max_nodes", 100_000), "search.max_nodes", src,
                              lo=1, hi=10**7, integer=True),
            threshold=_number(risk.get("threshold", 0.09), "risk.threshold", src,
                              lo=0, hi=1, integer=False),
            population=risk.get("population"),
            dictionary=None if raw.get("dictionary") is None else str(raw["dictionary"]),
            raw={role: _raw_action(role, value, src) for role, value in raw_section.items()},
            source=src,
        )


def _allow(raw: Any, src: str) -> dict[str, tuple[str, ...]]:
    """``identifiers.allow``: column -> the checks it may pass (:data:`ALLOWANCES`)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(
            isinstance(v, list) and all(isinstance(c, str) for c in v) for v in raw.values()):
        raise _fail(src, "identifiers.allow must map column names to lists of checks",
                    f"write allow: {{ward: [undeclared]}} (checks: {', '.join(ALLOWANCES)})")
    return {str(col): tuple(_choice(c, ALLOWANCES, f"identifiers.allow.{col}", src)
                            for c in checks) for col, checks in raw.items()}


def _models(raw: dict[str, Any], src: str) -> Models:
    if "k" not in raw:
        raise _fail(src, "models.k is missing (k = 1 would release unique records)",
                    "set models.k, e.g. k: 5")
    k = raw["k"]
    if isinstance(k, int) and not isinstance(k, bool) and k == 1:
        raise _fail(src, "models.k is 1: every record may be unique in the release",
                    "use k: 2 or more (5 for data shared with a contracted recipient)")
    k = _number(k, "models.k", src, lo=2, hi=10**6, integer=True)
    lval = raw.get("l")
    if lval is not None:
        lval = _number(lval, "models.l", src, lo=1, hi=10**6, integer=True)
    t = raw.get("t")
    if t is not None:
        t = _number(t, "models.t", src, lo=0, hi=1, integer=False)
    return Models(
        k=k, l=lval, t=t,
        l_variant=_choice(raw.get("l_variant", "distinct"), L_VARIANTS, "models.l_variant", src),
        max_suppression=_number(raw.get("max_suppression", 0.0), "models.max_suppression", src,
                                lo=0, hi=1, integer=False),
    )


def _dates(raw: dict[str, Any], src: str) -> DatePolicy:
    method = _choice(raw.get("method", "keep"), DATE_METHODS, "dates.method", src)
    if method == "relative" and not raw.get("anchor"):
        raise _fail(src, "dates.method relative needs dates.anchor",
                    "name the date days are counted from, e.g. anchor: diagnosis_date")
    return DatePolicy(
        method=method,
        columns=_names(raw.get("columns"), "dates.columns", src),
        max_shift_days=_number(raw.get("max_shift_days", 180), "dates.max_shift_days", src,
                               lo=MIN_SHIFT_DAYS, hi=36500, integer=True),
        anchor=raw.get("anchor"),
        granularity=_choice(raw.get("granularity", "month"), GRANULARITIES,
                            "dates.granularity", src),
        format=str(raw.get("format", "ISO8601")),
        key_env=raw.get("key_env", "SYNTHEMA_DATE_SHIFT_KEY"),
        key_file=raw.get("key_file"),
    )


def _hierarchy(column: str, spec: Any, src: str, *, where: str = "") -> HierarchySpec:
    where = where or f"quasi_identifiers.{column}"
    if not isinstance(spec, dict):
        raise _fail(src, f"{where} must be a mapping", "write {type: suppress} or similar")
    check_keys(spec, _HIER_KEYS, where, src, error=AnonymizationError)
    kind = _choice(spec.get("type"), ("interval", "date", "truncate", "groups", "suppress"),
                   f"{where}.type", src)
    bands = tuple(float(b) for b in spec.get("bands") or ())
    levels = tuple(spec.get("levels") or ())
    if kind == "interval" and (not bands or any(b <= 0 for b in bands)):
        raise _fail(src, f"{where}: interval needs positive bands",
                    "write bands: [5, 10, 20] (widths, growing)")
    if kind == "date" and not all(v in GRANULARITIES for v in levels):
        raise _fail(src, f"{where}.levels is {list(levels)}",
                    f"use granularities among {', '.join(GRANULARITIES)}")
    if kind == "groups" and (not levels or not all(isinstance(v, dict) for v in levels)):
        raise _fail(src, f"{where}: groups needs levels, each a value -> group mapping",
                    "write levels: [{DE: EU-West, FR: EU-West}, {EU-West: Europe}]")
    max_level = spec.get("max_level")
    cap = spec.get("cap")
    if cap is not None:
        cap = _number(cap, f"{where}.cap", src, lo=-1e12, hi=1e12, integer=False)
        if kind != "interval" or any(((cap - float(spec.get("origin", 0.0))) / b) % 1
                                     for b in bands):
            raise _fail(src, f"{where}.cap {cap:g} does not close a band of every width",
                        "use an interval hierarchy and a cap that is a multiple of every band "
                        "width (e.g. bands [90, 180, 360] and cap 1080)")
    cuts = tuple(_number(c, f"{where}.cuts", src, lo=-1e12, hi=1e12, integer=False)
                 for c in spec.get("cuts") or ())
    if cuts:
        origin = float(spec.get("origin", 0.0))
        if kind != "interval" or list(cuts) != sorted(set(cuts)) or any(
                ((c - origin) / b) % 1 for c in cuts for b in bands):
            raise _fail(src, f"{where}.cuts {list(cuts)} do not join whole bands",
                        "use an interval hierarchy and increasing cut points that are multiples "
                        "of every band width (e.g. bands [5, 10, 20] and cuts [60])")
        if cap is not None and cap < cuts[-1]:
            raise _fail(src, f"{where}.cap {cap:g} lies below the last cut {cuts[-1]:g}",
                        "raise the cap to the last cut point or above (its band must lie in "
                        "one group)")
    return HierarchySpec(
        column=column, type=kind, bands=bands, cuts=cuts,
        levels=tuple({str(a): str(b) for a, b in v.items()} if isinstance(v, dict) else v
                     for v in levels),
        min_level=_number(spec.get("min_level", 0), f"{where}.min_level", src,
                          lo=0, hi=100, integer=True),
        max_level=None if max_level is None else _number(
            max_level, f"{where}.max_level", src, lo=0, hi=100, integer=True),
        top=bool(spec.get("top", True)),
        origin=float(spec.get("origin", 0.0)),
        cap=None if cap is None else float(cap),
    )


def _raw_action(role: str, value: Any, src: str) -> str | HierarchySpec:
    """``remove``, ``pseudonym`` (numbers) or a hierarchy (birth date, postcode)."""
    where = f"raw.{role}"
    if isinstance(value, dict):
        kinds = _RAW_HIERARCHY.get(role)
        if kinds is None:
            raise _fail(src, f"{where} cannot be a quasi-identifier",
                        "write remove" + (" or pseudonym" if role in _RAW_PSEUDONYM else ""))
        spec = _hierarchy(role, value, src, where=where)
        if spec.type not in kinds:
            raise _fail(src, f"{where}.type is {spec.type!r}", f"use one of {', '.join(kinds)}")
        if spec.min_level < 1:
            raise _fail(src, f"{where}: a direct identifier never leaves ungeneralised",
                        "set min_level: 1 or higher")
        return spec
    allowed = ("remove", "pseudonym") if role in _RAW_PSEUDONYM else ("remove",)
    return _choice(value, allowed, where, src)


def load_policy(name_or_path: str | Path) -> Policy:
    """Load a built-in policy (``aml``, ``scd``) or a policy YAML file.

    Raises:
        AnonymizationError: unknown name, missing file, bad YAML or a bad key.
    """
    text = str(name_or_path)
    if text in BUILTIN_POLICIES:
        path = DATA_DIR / f"{text}.yaml"
    else:
        path = Path(text)
        if not path.is_file():
            raise AnonymizationError(
                f"{path}: no such policy file",
                fix=f"give a policy YAML path or a built-in name ({', '.join(BUILTIN_POLICIES)})",
            )
    raw = read_yaml(path, error=AnonymizationError)
    return Policy.from_mapping(raw, source=str(path))
