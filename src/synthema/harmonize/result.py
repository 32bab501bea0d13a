"""Applying a mapping: a site's text export in, a typed dictionary-shaped frame out.

:func:`harmonize` converts each mapped column (:mod:`synthema.harmonize.convert`), fills
unmapped variables with missing values, leaves ignored and dropped source columns behind,
and reports all of it in a :class:`~synthema.harmonize.summary.HarmonizeSummary`. Rows
breaking a clinical rule are kept and counted. With ``strict=True`` any dropped value is
an error instead.

>>> import pandas as pd
>>> from synthema.schema import Dictionary
>>> d = Dictionary.from_mapping({"name": "ex", "version": 1, "patient_id": "pid",
...     "variables": [{"name": "hb", "type": "continuous", "unit": "g/dL",
...                    "quantity": "haemoglobin", "decimals": 1, "min": 2, "max": 20}]})
>>> m = SiteMapping.from_mapping({"dictionary": "ex", "drop": ["Name"], "columns": {
...     "pid": "ID", "hb": {"from": "Hb", "unit": "mmol/L"}}})
>>> raw = pd.DataFrame({"ID": ["A", "B"], "Name": ["X", "Y"], "Hb": ["8,69", "n.d."]},
...                    dtype="string")
>>> r = harmonize(raw, d, m)
>>> r.data["hb"].tolist(), r.summary.columns[1].dropped
([14.0, <NA>], {'not a number': 1})
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from synthema.errors import MappingError, ValidationFailed
from synthema.harmonize.convert import convert_column
from synthema.harmonize.io import DEFAULT_MISSING, describe_read, read_table
from synthema.harmonize.mapping import ColumnMapping, SiteMapping, load_mapping
from synthema.harmonize.summary import EXAMPLES, ColumnReport, HarmonizeSummary
from synthema.harmonize.units import variable_factor
from synthema.schema.dictionary import Dictionary, Variable, load_dictionary
from synthema.schema.values import empty_column

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class HarmonizeResult:
    """The harmonised typed frame (dictionary column order) and its summary."""

    data: pd.DataFrame
    summary: HarmonizeSummary


def _conversion_text(col: ColumnMapping, var: Variable, factor: float | None) -> str:
    parts = []
    if col.unit is not None:
        parts.append(f"{col.unit} -> {var.unit}" + (f" (x {factor:.6g})" if factor != 1 else ""))
    elif col.factor is not None:
        parts.append(f"x {col.factor:.6g}")
    if col.codes:
        parts.append(f"{len(col.codes)} codes")
    if col.date_format:
        parts.append(f"date {col.date_format}")
    return ", ".join(parts)


def _examples(mask: np.ndarray, rows: np.ndarray, raw: pd.Series) -> tuple[tuple[int, str], ...]:
    where = np.flatnonzero(mask)[:EXAMPLES]
    return tuple((int(rows[i]), str(raw.iloc[i])) for i in where)


def dictionary_for(mapping: SiteMapping) -> Dictionary:
    """The dictionary a mapping names (built-in name, or a path relative to the mapping)."""
    ref = mapping.dictionary
    if ref.endswith((".yaml", ".yml")) or "/" in ref:
        base = mapping.path.parent if mapping.path else Path(".")
        return load_dictionary(Path(ref) if Path(ref).is_absolute() else base / ref)
    return load_dictionary(ref)


def harmonize(
    raw: pd.DataFrame,
    dictionary: Dictionary | str | Path,
    mapping: SiteMapping | str | Path | dict,
    *,
    file: str = "<data>",
    strict: bool = False,
) -> HarmonizeResult:
    """Map a site's text frame onto ``dictionary`` with ``mapping``.

    Args:
        raw: text cells as :func:`synthema.harmonize.io.read_table` returns them (missing
            markers may still be present: the defaults and the mapping's are applied).
        dictionary: the target dictionary (object, built-in name or YAML path).
        mapping: the site's mapping (object, YAML path, or the parsed YAML as a dict).
        file: the file name used in messages and in the summary.
        strict: raise instead of dropping any value.

    Raises:
        MappingError: the mapping names absent source columns or unknown targets, or does
            not fit the dictionary.
        ValidationFailed: ``strict`` and at least one value would be dropped.
    """
    dictionary = load_dictionary(dictionary)
    mapping = load_mapping(mapping)
    raw = raw.rename(columns=str)
    if file == "<data>" and raw.attrs.get("file"):
        file = str(raw.attrs["file"])
    mapping.check(dictionary)
    mapping.check_columns(raw.columns, file=file)
    if not mapping.columns:
        raise MappingError(f"{mapping.where}: maps no columns", fix="list columns under 'columns:'")
    missing = list(frozenset(DEFAULT_MISSING) | set(mapping.missing_values))
    rows = np.arange(len(raw)) + 2
    text = {}
    for name in dict.fromkeys(c.source for c in mapping.columns):
        cells = raw[name].astype("string").str.strip()
        text[name] = cells.mask(cells.isin(missing))
    empty = pd.DataFrame(text).isna().all(axis=1).to_numpy(dtype=bool)
    keep = ~empty
    out: dict[str, pd.Series] = {}
    reports: list[ColumnReport] = []
    for col in mapping.columns:
        src = text[col.source]
        if col.target == dictionary.patient_id:
            out[col.target] = src.astype("string")
            n = int(src[keep].notna().sum())
            reports.append(ColumnReport(col.target, col.source, "patient id", n, n))
            continue
        var = dictionary[col.target]
        factor = col.factor
        if col.unit is not None:
            factor = variable_factor(var, col.unit, column=col.source)
        res = convert_column(src, var, codes=col.code_map or None, factor=factor,
                             date_format=col.date_format)
        out[col.target] = res.values
        dropped = {k: int((m & keep).sum()) for k, m in res.dropped.items() if (m & keep).any()}
        repaired = {k: int((m & keep).sum()) for k, m in res.repaired.items() if (m & keep).any()}
        examples = {k: _examples(m & keep, rows, raw[col.source])
                    for k, m in {**res.repaired, **res.dropped}.items() if (m & keep).any()}
        present = res.present & ~res.declared_missing & keep
        reports.append(ColumnReport(
            target=col.target, source=col.source,
            conversion=_conversion_text(col, var, factor),
            present=int(present.sum()), carried=int(res.values[keep].notna().sum()),
            declared_missing=int((res.declared_missing & keep).sum()),
            dropped=dropped, repaired=repaired, examples=examples,
        ))
    index = raw.index
    frame = {}
    for name in dictionary.columns:
        if name in out:
            frame[name] = out[name]
        elif name == dictionary.patient_id:
            frame[name] = pd.Series(pd.NA, index=index, dtype="string")
        else:
            frame[name] = empty_column(dictionary[name], index)
    data = pd.DataFrame(frame, index=index)[keep].reset_index(drop=True)
    kept_rows = rows[keep]
    summary = HarmonizeSummary(
        file=file,
        rows_in=len(raw),
        rows_out=len(data),
        columns=tuple(reports),
        missing_variables=tuple(n for n in dictionary.columns if n not in out),
        ignored_columns=tuple(
            str(c) for c in raw.columns
            if c not in {m.source for m in mapping.columns} and c not in mapping.drop
        ),
        dropped_columns=tuple(mapping.drop),
        empty_rows=tuple(int(r) for r in rows[empty]),
        **_id_findings(data, dictionary, kept_rows, mapped=dictionary.patient_id in out),
        rule_violations=_rule_findings(data, dictionary, kept_rows),
        read=describe_read(raw.attrs),
    )
    for line in summary.lines():
        _LOG.info("%s", line)
    if strict and summary.dropped_total:
        worst = "; ".join(
            f"{c.target}: " + ", ".join(f"{n} {r}" for r, n in c.dropped.items())
            for c in summary.columns if c.dropped
        )
        raise ValidationFailed(
            f"{file}: {summary.dropped_total} values would be dropped ({worst})",
            fix="correct those cells or extend the mapping (codes, unit); without --strict "
                "they are dropped and counted",
            problems=summary.lines(),
        )
    return HarmonizeResult(data=data, summary=summary)


def _id_findings(
    data: pd.DataFrame, dictionary: Dictionary, rows: np.ndarray, *, mapped: bool
) -> dict[str, tuple]:
    if not dictionary.patient_id or not mapped:
        return {}
    ids = data[dictionary.patient_id]
    absent = ids.isna().to_numpy(dtype=bool)
    repeated = (ids.duplicated(keep="first") & ids.notna()).to_numpy(dtype=bool)
    return {
        "missing_ids": tuple(int(r) for r in rows[absent]),
        "duplicate_ids": tuple((int(rows[i]), str(ids.iloc[i])) for i in np.flatnonzero(repeated)),
    }


def _rule_findings(
    data: pd.DataFrame, dictionary: Dictionary, rows: np.ndarray
) -> dict[str, tuple[int, ...]]:
    if not dictionary.rules or data.empty:
        return {}
    verdicts = dictionary.evaluate_rules(data)
    found = {}
    for rule in dictionary.rules:
        broken = (~verdicts[rule.name]).fillna(False).to_numpy(dtype=bool)
        if broken.any():
            found[rule.name] = tuple(int(r) for r in rows[broken])
    return found


def harmonize_file(
    path: str | Path | None,
    mapping: SiteMapping | str | Path,
    *,
    dictionary: Dictionary | str | Path | None = None,
    strict: bool = False,
) -> HarmonizeResult:
    """Read ``path`` with the mapping's read options and harmonise it.

    ``path`` defaults to the mapping's ``file:``; ``dictionary`` to its ``dictionary:``.
    """
    mapping = load_mapping(mapping)
    if path is None:
        path = mapping.data_path()
        if path is None:
            raise MappingError(f"{mapping.where}: no data file given and no 'file:' in it",
                               fix="name the data file on the command line")
    target = dictionary_for(mapping) if dictionary is None else load_dictionary(dictionary)
    raw = read_table(path, **mapping.read_options())
    return harmonize(raw, target, mapping, file=str(path), strict=strict)
