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
>>> m = SiteMapping.from_mapping({"dictionary": "ex", "drop": ["Name"],
...     "read": {"decimal": ","}, "columns": {"pid": "ID", "hb": {"from": "Hb", "unit": "mmol/L"}}})
>>> raw = pd.DataFrame({"ID": ["A", "B"], "Name": ["X", "Y"], "Hb": ["8,69", "n.d."]},
...                    dtype="string")
>>> r = harmonize(raw, d, m)
>>> r.data["hb"].tolist(), r.summary.columns[1].dropped
([14.0, <NA>], {'not a number': 1})
"""

from __future__ import annotations

import codecs
import dataclasses
import decimal as _decimal
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from synthema.errors import DataFileError, MappingError, ParameterError, ValidationFailed
from synthema.harmonize.conditions import Condition, judge_when, unknown_reason
from synthema.harmonize.convert import (
    DECIMAL_COMMA,
    NOT_A_CATEGORY,
    NOT_A_NUMBER,
    NOT_TRUE_FALSE,
    OUT_OF_RANGE,
    ROUNDS_TO_ZERO,
    UNMAPPED_CODE,
    ColumnOutcome,
    convert_column,
    guess_date_format,
)
from synthema.harmonize.dates import SHIFTED_MIDNIGHT, OtherFormat, shown_format
from synthema.harmonize.mapping import ColumnMapping, SiteMapping, load_mapping
from synthema.harmonize.summary import (
    CODED_MISSING,
    EXAMPLES,
    WITHHELD,
    ColumnReport,
    HarmonizeSummary,
    examples_text,
    plural,
)
from synthema.harmonize.units import variable_factor
from synthema.schema.dictionary import Dictionary, Variable, load_dictionary
from synthema.schema.values import empty_column
from synthema.tables import (
    C1_CONTROLS,
    DELIMITERS,
    cell_flags,
    check_output_path,
    column_markers,
    delimiter_name,
    describe_read,
    read_table,
    typed_numbers,
    write_table,
)

_LOG = logging.getLogger(__name__)
FORMULA_UNCACHED = "formula without a saved value"
EXCEL_ERROR = "Excel error value (#REF!, #VALUE!, ...)"
PERCENT_SHOWN = "percentage cell read as shown (Excel stores 15% as 0.15)"
FORMULA_FIX = ("open the workbook in Excel or LibreOffice and save it (its formulas get their "
               "values), or export the values")


@dataclass(frozen=True)
class HarmonizeResult:
    """The harmonised typed frame (dictionary column order), its summary and its dictionary."""

    data: pd.DataFrame
    summary: HarmonizeSummary
    dictionary: Dictionary


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


def _suggestion(res: ColumnOutcome, col: ColumnMapping, var: Variable, src: pd.Series,
                keep: np.ndarray) -> str:
    """The likely fix for a column that lost every value, from its main reason."""
    counts = {k: int((m & keep).sum()) for k, m in res.dropped.items()}
    counts = {k: n for k, n in counts.items() if n}
    # the commonest reason; a decimal comma first, as it explains "not a number" too
    reason = (DECIMAL_COMMA if DECIMAL_COMMA in counts
              else max(counts, key=counts.__getitem__) if counts else "")
    if reason.startswith("not a date"):
        guess = guess_date_format(src[keep & res.present])
        now = col.date_format or "%Y-%m-%d (the default)"
        if res.hint:
            return res.hint
        if guess:
            return (f"the dates are not {now}; set date_format: \"{guess}\" under "
                    f"columns: {col.target} (it reads every value)")
        other = res.date_other
        if other is not None and other.likely:
            return (f"the dates are not {now}; set date_format: \"{other.fmt}\" under "
                    f"columns: {col.target} (it reads {int((other.reads & keep).sum())} of "
                    f"{int((res.present & keep).sum())} values)")
        return f"the dates are not {now}; correct date_format under columns: {col.target}"
    if reason == SHIFTED_MIDNIGHT:
        return ("local midnights stored in UTC read a day early: export the dates as dates "
                "(or in local time)")
    if reason == DECIMAL_COMMA:
        return "the numbers use a decimal comma: set read: {decimal: \",\"} in the mapping"
    if reason == NOT_A_NUMBER:
        return (f"check that '{col.source}' holds numbers (read: decimal in the mapping, "
                "or map text values with codes:)")
    if reason in (UNMAPPED_CODE, NOT_A_CATEGORY, NOT_TRUE_FALSE):
        allowed = (", ".join(var.categories) if var.categories else "true, false")
        return (f"map the file's values to {allowed} with codes: under columns: {col.target}")
    if reason == OUT_OF_RANGE:
        unit = f" {var.unit}" if var.unit else ""
        return (f"every value is outside the dictionary's range after conversion: check "
                f"unit:/factor: (the dictionary expects{unit})")
    return "check the mapping of this column"


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

    This is the one code path of the command line and of Python: :func:`harmonize_file`
    only reads the file's cells as written and calls it. Numbers are read under the
    mapping's decimal mark in numeric columns only; missing markers apply per column,
    never where they are a category or a code.

    Args:
        raw: text cells as :func:`synthema.tables.read_table` returns them (missing
            markers may still be present: the defaults and the mapping's are applied).
        dictionary: the target dictionary (object, built-in name or YAML path).
        mapping: the site's mapping (object, YAML path, or the parsed YAML as a dict).
        file: the file name used in messages and in the summary.
        strict: raise instead of dropping any value or keeping a repeated row.

    Raises:
        MappingError: the mapping names absent source columns or unknown targets, or does
            not fit the dictionary.
        ValidationFailed: ``strict`` and at least one value would be dropped, or a row
            repeats an earlier one exactly.
    """
    dictionary = load_dictionary(dictionary)
    mapping = load_mapping(mapping)
    raw = raw.rename(columns=str)
    if file == "<data>" and raw.attrs.get("file"):
        file = str(raw.attrs["file"])
    _check_not_rewritten(raw, file)
    mapping.check(dictionary)
    if not mapping.columns:
        raise MappingError(f"{mapping.where}: maps no columns", fix="list columns under 'columns:'")
    notes = _read_notes(raw.attrs, mapping)
    _check_split(raw, file, mapping)
    absent = set(mapping.check_columns(
        raw.columns, file=file, patient_id=dictionary.patient_id,
        note="; ".join(notes)))
    mapped = [c for c in mapping.columns if not set(c.needed_sources) & absent]
    stripped = {name: raw[name].astype("string").str.strip()
                for name in dict.fromkeys(s for c in mapped for s in c.needed_sources)}
    cells, kept_markers = _source_cells(mapped, stripped, dictionary, mapping)
    _mask_errors(cells, mapped, raw)
    rows = np.arange(len(raw)) + 2
    empty = pd.DataFrame(cells, index=raw.index).isna().all(axis=1).to_numpy(dtype=bool)
    for name in stripped:  # a formula without a saved value is not an empty cell
        uncached = cell_flags(raw.attrs, "formula_uncached", name, len(raw))
        if uncached is not None:
            empty &= ~uncached
    keep = ~empty
    source = _Source(raw, cells, stripped, keep, rows, mapping.read.get("decimal", "."))
    out, reports = _convert_columns(mapped, dictionary, mapping, source, kept_markers)
    data = _typed_frame(out, dictionary, raw.index)[keep].reset_index(drop=True)
    control = _control_cells(stripped, rows, raw.columns)
    summary = HarmonizeSummary(
        file=file,
        rows_in=len(raw),
        rows_out=len(data),
        columns=tuple(reports),
        **_column_findings(raw, mapping, dictionary, mapped, absent, out),
        notes=tuple(notes + _control_note(control, raw.attrs)),
        empty_rows=tuple(int(r) for r in rows[empty]),
        **_id_findings(data, dictionary, rows[keep], mapped=dictionary.patient_id in out),
        duplicate_rows=_duplicate_rows(data, rows[keep]),
        rule_violations=_rule_findings(data, dictionary, rows[keep]),
        read=describe_read(raw.attrs),
        control_cells=control,
    )
    for line in summary.lines():
        _LOG.info("%s", line)
    if strict:
        _refuse(summary)
    return HarmonizeResult(data=data, summary=summary, dictionary=dictionary)


@dataclass(frozen=True)
class _Source:
    """The export's cells as every column's conversion sees them."""

    raw: pd.DataFrame
    cells: dict[str, pd.Series]      # target -> its source cells, missing markers applied
    stripped: dict[str, pd.Series]   # source column -> trimmed text
    keep: np.ndarray                 # rows written (not every mapped cell missing)
    rows: np.ndarray                 # spreadsheet row numbers
    decimal: str

    def plain(self, column: str) -> np.ndarray | None:
        """Cells of ``column`` a workbook or Parquet file stored as numbers."""
        return typed_numbers(self.raw.attrs, column, len(self.raw))

    def flagged(self, kind: str, column: str) -> np.ndarray:
        """Cells of ``column`` flagged as ``kind`` when read (see ``cell_flags``)."""
        found = cell_flags(self.raw.attrs, kind, column, len(self.raw))
        return np.zeros(len(self.raw), dtype=bool) if found is None else found


def _percent_cells(col: ColumnMapping, var: Variable, source: _Source, src: pd.Series
                   ) -> tuple[pd.Series, np.ndarray]:
    """Workbook numbers shown as percentages, read as shown in a column of percentages.

    Excel stores ``15%`` as ``0.15``. In a variable measured in % whose mapping converts no
    unit (no ``unit: fraction``), the stored fraction would read as 0.15 % and round to 0:
    such cells are read as the percentage the workbook shows, and counted.
    """
    pct = source.flagged("percent_format", col.source) & src.notna().to_numpy(dtype=bool)
    if not pct.any() or var.unit != "%" or _factor(col, var) not in (None, 1.0):
        return src, np.zeros(len(src), dtype=bool)
    shown = src.copy()
    for i in np.flatnonzero(pct):
        shown.iloc[i] = format(_decimal.Decimal(str(src.iloc[i])) * 100, "f")
    return shown, pct


def _factor(col: ColumnMapping, var: Variable) -> float | None:
    """The unit factor of ``col`` (from its ``unit:``, else its ``factor:``)."""
    if col.unit is not None:
        return variable_factor(var, col.unit, column=col.source)
    return col.factor


def _outcome(col: ColumnMapping, var: Variable, text: pd.Series, plain: np.ndarray | None,
             decimal: str) -> tuple[ColumnOutcome, float | None]:
    """``text`` converted as ``col`` converts its cells, and the unit factor used."""
    factor = _factor(col, var)
    res = convert_column(text, var, codes=col.code_map or None, factor=factor,
                         date_format=col.date_format, decimal=decimal,
                         confirm_date_format=col.confirm_date_format, plain=plain)
    return res, factor


def _convert_columns(
    mapped: list[ColumnMapping], dictionary: Dictionary, mapping: SiteMapping, source: _Source,
    kept_markers: dict[str, tuple[str, ...]],
) -> tuple[dict[str, pd.Series], list[ColumnReport]]:
    """Each mapped column converted (the patient id copied), with its account."""
    out: dict[str, pd.Series] = {}
    reports: list[ColumnReport] = []
    for col in mapped:
        src = source.cells[col.target]
        if col.target == dictionary.patient_id:
            out[col.target] = src.astype("string")
            reports.append(_id_report(col, source))
            continue
        condition = (_condition(col, mapped, dictionary, mapping, source) if col.when
                     else None)
        res, report = _convert(col, dictionary[col.target], source, condition)
        out[col.target] = res.values
        reports.append(dataclasses.replace(report, kept_markers=kept_markers[col.target]))
    return out, reports


def _id_report(col: ColumnMapping, source: _Source) -> ColumnReport:
    """The patient id column's account: copied; formulas without a value and Excel error
    values (the row then has no patient id) counted as dropped."""
    n = int(source.cells[col.target][source.keep].notna().sum())
    uncached = source.flagged("formula_uncached", col.source) & source.keep
    errors = source.flagged("excel_error", col.source) & source.keep
    dropped = {k: int(m.sum()) for k, m in ((FORMULA_UNCACHED, uncached),
                                             (EXCEL_ERROR, errors)) if m.any()}
    examples = {}
    if uncached.any():
        examples[FORMULA_UNCACHED] = _formula_examples(uncached, source.rows)
    if errors.any():
        examples[EXCEL_ERROR] = _examples(errors, source.rows, source.raw[col.source])
    return ColumnReport(col.target, col.source, "patient id", n + sum(dropped.values()), n,
                        dropped=dropped, examples=examples)


def _condition(col: ColumnMapping, mapped: list[ColumnMapping], dictionary: Dictionary,
               mapping: SiteMapping, source: _Source) -> Condition:
    """``col``'s ``when`` condition judged on the conditioning columns' harmonised values."""
    conditioning = {}
    for column, _ in col.when:
        by = next((c for c in mapped if c.source == column and c.target != col.target
                   and c.target != dictionary.patient_id), None)
        if by is not None:
            res, _ = _outcome(by, dictionary[by.target], source.cells[by.target],
                              source.plain(by.source), source.decimal)
            conditioning[column] = (by, res.values)

    def harmonised(by: ColumnMapping, text: pd.Series) -> pd.Series:
        return _outcome(by, dictionary[by.target], text, None, source.decimal)[0].values

    return judge_when(col, conditioning, source.stripped, mapping.missing_markers(),
                      where=mapping.where, harmonised=harmonised)


def _typed_frame(out: dict[str, pd.Series], dictionary: Dictionary,
                 index: pd.Index) -> pd.DataFrame:
    """Every dictionary column in order: converted, or all missing when not mapped."""
    frame = {}
    for name in dictionary.columns:
        if name in out:
            frame[name] = out[name]
        elif name == dictionary.patient_id:
            frame[name] = pd.Series(pd.NA, index=index, dtype="string")
        else:
            frame[name] = empty_column(dictionary[name], index)
    return pd.DataFrame(frame, index=index)


def _column_findings(raw: pd.DataFrame, mapping: SiteMapping, dictionary: Dictionary,
                     mapped: list[ColumnMapping], absent: set[str],
                     out: dict[str, pd.Series]) -> dict[str, tuple]:
    """Variables left missing, source columns ignored, dropped or absent from the file."""
    targets = {c.target for c in mapping.columns}
    sources = {s for m in mapping.columns for s in m.needed_sources}
    return {
        "missing_variables": tuple(n for n in dictionary.columns
                                   if n not in out and n not in targets),
        "ignored_columns": tuple(str(c) for c in raw.columns
                                 if c not in sources and c not in mapping.drop),
        "dropped_columns": tuple(c for c in mapping.drop if c in set(raw.columns)),
        "absent_columns": tuple((c.target, next(s for s in c.needed_sources if s in absent))
                                for c in mapping.columns if c not in mapped),
    }


def _source_cells(
    columns: list[ColumnMapping], stripped: dict[str, pd.Series], dictionary: Dictionary,
    mapping: SiteMapping,
) -> tuple[dict[str, pd.Series], dict[str, tuple[str, ...]]]:
    """Per target: the source cells with its missing markers as NA, and markers kept as values.

    A marker that is one of the variable's categories or one of the column's codes (ignoring
    case) is a value in that column: ``None`` is the category ``none`` of a therapy column.
    """
    markers = mapping.missing_markers()
    cells: dict[str, pd.Series] = {}
    kept: dict[str, tuple[str, ...]] = {}
    for col in columns:
        text = stripped[col.source]
        values: list[str] = [k for k, _ in col.codes]
        if col.target in dictionary:
            values += list(dictionary[col.target].categories)
        applied = column_markers(markers, values)
        cells[col.target] = text.mask(text.isin(list(applied)) | (text == ""))
        kept[col.target] = tuple(sorted(m for m in markers - applied if m and (text == m).any()))
    return cells, kept


def _convert(col: ColumnMapping, var: Variable, source: _Source,
             condition: Condition | None) -> tuple[ColumnOutcome, ColumnReport]:
    """Convert one mapped column and account for each of its cells."""
    src, keep, rows, text = source.cells[col.target], source.keep, source.rows, \
        source.raw[col.source]
    withheld = np.zeros(len(src), dtype=bool)
    if condition is not None:
        withheld = src.notna().to_numpy(dtype=bool) & condition.fails
        src = src.mask(pd.Series(withheld, index=src.index))
    src, percent = _percent_cells(col, var, source, src)
    res, factor = _outcome(col, var, src, source.plain(col.source), source.decimal)
    res.repaired[PERCENT_SHOWN] = percent
    if condition is not None:
        lost = condition.unknown & res.values.notna().to_numpy(dtype=bool)
        res.values = res.values.mask(pd.Series(lost, index=src.index))
        res.dropped[unknown_reason(col)] = lost
    uncached = source.flagged("formula_uncached", col.source) & ~withheld
    if uncached.any():
        res.present = res.present | uncached
        res.dropped[FORMULA_UNCACHED] = uncached
    errors = source.flagged("excel_error", col.source) & ~withheld
    if errors.any():
        res.present = res.present | errors
        res.dropped[EXCEL_ERROR] = errors
    dropped = {k: int((m & keep).sum()) for k, m in res.dropped.items() if (m & keep).any()}
    repaired = {k: int((m & keep).sum()) for k, m in res.repaired.items() if (m & keep).any()}
    masks = {**res.repaired, **res.dropped, CODED_MISSING: res.declared_missing,
             WITHHELD: withheld}
    examples = {k: _examples(m & keep, rows, text)
                for k, m in masks.items() if (m & keep).any()}
    if uncached.any():
        examples[FORMULA_UNCACHED] = _formula_examples(uncached & keep, rows)
    present = res.present & ~res.declared_missing & keep
    report = ColumnReport(
        target=col.target, source=col.source, conversion=_conversion_text(col, var, factor),
        present=int(present.sum()), carried=int(res.values[keep].notna().sum()),
        declared_missing=int((res.declared_missing & keep).sum()),
        dropped=dropped, repaired=repaired, examples=examples,
        withheld=int((withheld & keep).sum()), condition=col.condition_text(),
        notes=tuple(_column_notes(res, col, keep, rows, text, dropped)
                    + _formula_notes(source, col.source, dropped)),
    )
    if report.all_dropped:
        report = dataclasses.replace(
            report, suggestion=_suggestion(res, col, var, src, keep), notes=())
        _LOG.info("%s", report.warning())
    return res, report


def _column_notes(res: ColumnOutcome, col: ColumnMapping, keep: np.ndarray, rows: np.ndarray,
                  raw: pd.Series, dropped: dict[str, int]) -> list[str]:
    """Warnings about a column that kept values: a date format in doubt, values lost to 0."""
    notes = []
    if res.date_other is not None:
        notes.append(_date_note(res.date_other, res, col, keep, rows, raw))
    if res.hint and any(k.startswith("not a date") for k in dropped):
        notes.append(res.hint)
    if res.mixed_marks is not None and (res.mixed_marks & keep).any():
        shown = examples_text(_examples(res.mixed_marks & keep, rows, raw))
        notes.append(f"the column mixes decimal marks: {int((res.mixed_marks & keep).sum())} "
                     f"values were read with thousands separators{shown} although other "
                     f"values use '{res.mixed_mark}' as the decimal point: check them")
    if res.coding_doubt is not None and (res.coding_doubt & keep).any():
        shown = examples_text(_examples(res.coding_doubt & keep, rows, raw))
        notes.append(f"{plural(int((res.coding_doubt & keep).sum()), 'value')} are not codes "
                     f"of the mapping{shown}: the file may use another coding than the "
                     "mapping's, so the values read through its codes may be wrong too; "
                     "check codes: against the file's coding")
    if SHIFTED_MIDNIGHT in dropped:
        shown = examples_text(_examples(res.dropped[SHIFTED_MIDNIGHT] & keep, rows, raw))
        notes.append(f"{dropped[SHIFTED_MIDNIGHT]} date-times are all at one evening clock "
                     f"time{shown}: local midnights stored in UTC from a zone ahead of UTC "
                     "read a day early, so they are dropped; export the dates as dates (or "
                     "in local time)")
    if ROUNDS_TO_ZERO in dropped:
        shown = examples_text(_examples(res.dropped[ROUNDS_TO_ZERO] & keep, rows, raw))
        notes.append(f"{dropped[ROUNDS_TO_ZERO]} non-zero values round to 0 after the "
                     f"conversion{shown}: check unit:/factor: and read: decimal")
    return notes


def _formula_examples(mask: np.ndarray, rows: np.ndarray) -> tuple[tuple[int, str], ...]:
    """Example rows of formula cells without a saved value (the frame holds no text)."""
    return tuple((int(r), "formula, no value") for r in rows[mask][:EXAMPLES])


def _formula_notes(source: _Source, column: str, dropped: dict[str, int]) -> list[str]:
    """Warnings about workbook formulas: never computed, or computed to a suspicious 0."""
    notes = []
    if FORMULA_UNCACHED in dropped:
        shown = examples_text(_formula_examples(
            source.flagged("formula_uncached", column) & source.keep, source.rows))
        notes.append(f"{plural(dropped[FORMULA_UNCACHED], 'formula cell')} have no saved value"
                     f"{shown}: the workbook was written by a program that does not compute "
                     f"formulas; {FORMULA_FIX}")
    zero = source.flagged("formula_zero", column) & source.keep
    if zero.any():
        shown = examples_text(_examples(zero, source.rows, source.raw[column]))
        notes.append(f"{plural(int(zero.sum()), 'formula cell')} hold a saved value of 0"
                     f"{shown}: some programs save 0 instead of computing the formula; check "
                     "them in Excel or LibreOffice (kept as 0)")
    return notes


def _date_note(other: OtherFormat, res: ColumnOutcome, col: ColumnMapping, keep: np.ndarray,
               rows: np.ndarray, raw: pd.Series) -> str:
    """The warning of a date column some of whose values another common format reads."""
    fmt = shown_format(col.date_format or "%Y-%m-%d")
    alt = shown_format(other.fmt)
    n = int((other.reads & keep).sum())
    text = (f"{n} of {int((res.present & keep).sum())} dates are not {fmt} but read as {alt}"
            + examples_text(_examples(other.reads & keep, rows, raw)))
    if other.unreadable:
        text += f" ({other.unreadable} more read in no common format)"
    if not other.in_doubt:
        return (text + f", against {other.against} that only {fmt} reads: likely typed the "
                "other way; they were dropped: correct those cells (the other dates are kept)")
    both = other.at_risk & keep
    text += (": the format is likely wrong" if other.likely
             else f": the column mixes {fmt} and {alt} ({other.against} read only as {fmt})")
    if not both.any():
        return (text + f"; correct those cells, or set date_format: \"{other.fmt}\" under "
                f"columns: {col.target} if that is the column's format")
    if col.confirm_date_format:
        return (text + f"; {int(both.sum())} values read both ways were kept as {fmt} "
                "(confirm_date_format: true)")
    return (text + f"; {int(both.sum())} values that read both ways were refused"
            + examples_text(_examples(both, rows, raw))
            + f"; set date_format: \"{other.fmt}\" under columns: {col.target}, or add "
            f"confirm_date_format: true there if {fmt} is right")


def _duplicate_rows(data: pd.DataFrame, rows: np.ndarray) -> tuple[tuple[int, int], ...]:
    """(row, the earlier row it repeats) for written rows equal in every harmonised value.

    Compared after harmonisation, so two rows that differ only in a column the mapping
    drops (a name written in another case) or in how a value is written (``1`` / ``1.0``)
    are one record sent twice.
    """
    if data.shape[1] == 0:
        return ()
    cells = data.astype(object).where(data.notna(), None)
    first: dict[tuple, int] = {}
    found = []
    for i, key in enumerate(cells.itertuples(index=False, name=None)):
        if key in first:
            found.append((int(rows[i]), first[key]))
        else:
            first[key] = int(rows[i])
    return tuple(found)


def _refuse(summary: HarmonizeSummary) -> None:
    """``--strict``: raise on a dropped value, a repeated row or cp1252 read as Latin-1."""
    problems, fixes, otherwise = [], [], []
    if summary.dropped_total:
        worst = "; ".join(
            f"{c.target}: " + ", ".join(f"{n} {r}" for r, n in c.dropped.items())
            for c in summary.columns if c.dropped
        )
        problems.append(f"{plural(summary.dropped_total, 'value')} would be dropped ({worst})")
        if any(FORMULA_UNCACHED in c.dropped for c in summary.columns):
            fixes.append(FORMULA_FIX)
        fixes.append("correct the cells or extend the mapping (codes, unit, date_format)")
        otherwise.append("the values are dropped and counted")
    if summary.duplicate_rows:
        shown = ", ".join(f"row {r} = row {f}" for r, f in summary.duplicate_rows[:EXAMPLES])
        repeat = "repeats" if len(summary.duplicate_rows) == 1 else "repeat"
        problems.append(f"{plural(len(summary.duplicate_rows), 'row')} {repeat} an earlier row "
                        f"in every harmonised value ({shown})")
        fixes.append("remove the repeated rows (one row per patient)")
        otherwise.append("the repeated rows are kept and listed")
    if summary.control_cells:
        problems.append(f"{plural(len(summary.control_cells), 'cell')} hold control characters "
                        "0x80-0x9F (a Windows cp1252 file read as latin-1?)")
        fixes.append("set encoding: cp1252 under 'read:' in the mapping")
        otherwise.append("the cells are kept as read, with a warning")
    if not problems:
        return
    raise ValidationFailed(
        f"{summary.file}: " + "; ".join(problems),
        fix="; ".join(fixes) + " (without --strict " + ", ".join(otherwise) + ")",
        problems=summary.lines(),
    )


def _control_cells(stripped: dict[str, pd.Series], rows: np.ndarray,
                   header: pd.Index) -> tuple[tuple[int, str, str], ...]:
    """(row, column, cell) of mapped cells holding C1 control characters (row 1: a name)."""
    found = [(1, str(name), ascii(str(name))[1:-1]) for name in header
             if re.search(C1_CONTROLS, str(name))]
    for name, text in stripped.items():
        hit = text.str.contains(C1_CONTROLS, regex=True).fillna(False).to_numpy(dtype=bool)
        found += [(int(rows[i]), name, ascii(str(text.iloc[i]))[1:-1])
                  for i in np.flatnonzero(hit)]
    return tuple(sorted(found))


def _control_note(cells: tuple[tuple[int, str, str], ...], attrs: dict) -> list[str]:
    """The warning about C1 control characters: a Windows file read as Latin-1."""
    if not cells:
        return []
    shown = examples_text(tuple((None, f"row {r} {c}: '{v}'") for r, c, v in cells))
    how = f"read as {attrs['encoding']}" if attrs.get("encoding") else "decoded as latin-1"
    return [f"{plural(len(cells), 'cell')} hold control characters 0x80-0x9F{shown}: the file "
            f"is likely Windows cp1252 {how} (its dashes, quotes and euro signs become "
            "invisible codes); set encoding: cp1252 under 'read:' in the mapping"]


def _mask_errors(cells: dict[str, pd.Series], mapped: list[ColumnMapping],
                 raw: pd.DataFrame) -> None:
    """Excel error values (``#REF!``) are no values: read as missing, then counted dropped."""
    for col in mapped:
        errors = cell_flags(raw.attrs, "excel_error", col.source, len(raw))
        if errors is not None:
            cells[col.target] = cells[col.target].mask(pd.Series(errors, index=raw.index))


def _check_not_rewritten(raw: pd.DataFrame, file: str) -> None:
    """Refuse a frame whose cells ``read_table(decimal=...)`` rewrote, ids and codes included.

    harmonize applies the decimal mark per numeric column; a frame already rewritten has
    lost ``101.001`` as an id (it reads ``101001``).
    """
    if raw.attrs.get("decimal"):
        raise ParameterError(
            f"{file}: the frame was read with read_table(decimal={raw.attrs['decimal']!r}), "
            "which rewrites every column, ids and codes included",
            fix="read it without decimal= (harmonize reads numbers per numeric column under "
                "the mapping's read: decimal)")


def _check_split(raw: pd.DataFrame, file: str, mapping: SiteMapping) -> None:
    """Refuse a text file read as one column whose header holds another delimiter.

    A mapping's ``read: delimiter`` that is not the file's (a tab-separated "Unicode Text"
    export read with ``;``) leaves every row in one cell; the useful fix is the delimiter,
    not the ``from:`` names the column check would point at.
    """
    used = raw.attrs.get("delimiter")
    if used is None or raw.shape[1] != 1:
        return
    header = str(raw.columns[0])
    sources = {s for c in mapping.columns for s in c.needed_sources}
    found = [d for d in DELIMITERS  # split there, the header holds most mapped names
             if d != used and 2 * len(sources & {h.strip() for h in header.split(d)})
             >= len(sources)]
    if not found:  # not this file's mapping either way: the column check says so
        return
    names = {"\t": "tab", ",": "','", ";": "';'", "|": "'|'"}
    raise MappingError(
        f"{mapping.where}: {file} read with the {delimiter_name(used)} delimiter is one "
        f"column whose header holds {delimiter_name(found[0])} characters",
        fix=f"set delimiter: {names[found[0]]} under 'read:' in {mapping.where} "
            "(or remove delimiter: there to detect it)")


def _read_notes(attrs: dict, mapping: SiteMapping) -> list[str]:
    """File-level warnings about how the file was read (a UTF-8 file read as Latin-1)."""
    if not attrs.get("looks_utf8"):
        return []
    enc = attrs.get("encoding", mapping.read.get("encoding", ""))
    try:
        enc = codecs.lookup(enc).name
    except LookupError:
        pass
    return [f"the file was read as {enc} but looks like UTF-8 (accents come out as 'Ã©'); "
            "remove read: encoding from the mapping"]


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
    out: str | Path | None = None,
    report: str | Path | None = None,
) -> HarmonizeResult:
    """Read ``path`` with the mapping's read options and harmonise it.

    ``path`` defaults to the mapping's ``file:``; ``dictionary`` to its ``dictionary:``.
    With ``out`` the harmonised table is written there (as clean files store it), with
    ``report`` the summary as JSON; both are checked before any work is done, and ``out``
    may never be the export itself.

    Raises:
        DataFileError: the export cannot be read, or an output cannot be written.
        MappingError, ValidationFailed: as :func:`harmonize`.
    """
    mapping = load_mapping(mapping)
    if path is None:
        path = mapping.data_path()
        if path is None:
            raise MappingError(f"{mapping.where}: no data file given and no 'file:' in it",
                               fix="name the data file on the command line")
    _check_outputs(Path(path), out, report)
    target = dictionary_for(mapping) if dictionary is None else load_dictionary(dictionary)
    result = harmonize(_read_export(path, mapping), target, mapping, file=str(path),
                       strict=strict)
    if out is not None:
        write_table(result.data, out, dictionary=target)
    if report is not None:
        _write_json(Path(report), result.summary.to_dict())
    return result


def _read_export(path: str | Path, mapping: SiteMapping) -> pd.DataFrame:
    """The export's raw text; an encoding problem points at the mapping's ``read:``."""
    try:
        return read_table(path, **mapping.read_options())
    except DataFileError as exc:
        if "--encoding" not in exc.fix:
            raise
        # harmonize reads with the mapping's options: the encoding belongs in its read: section
        raise DataFileError(exc.message, fix=_mapping_fix(exc.fix, mapping.where)) from exc


def _mapping_fix(fix: str, where: str) -> str:
    """A reader's ``--encoding`` advice said in a mapping's words (``read: encoding``).

    >>> _mapping_fix("pass --encoding cp1252 (Windows), or re-save it", "m.yaml")
    "set encoding: cp1252 under 'read:' in m.yaml (Windows), or re-save it"
    """
    fix = re.sub(r"pass --encoding (\S+)", rf"set encoding: \1 under 'read:' in {where}", fix)
    fix = fix.replace("remove the --encoding option", f"remove encoding from 'read:' in {where}")
    return fix.replace("pass the file's real encoding with --encoding",
                       f"set the file's real encoding under 'read:' in {where}")


def _check_outputs(source: Path, out: str | Path | None, report: str | Path | None) -> None:
    """Refuse outputs that cannot be written, or that would overwrite the export."""
    if out is not None:
        out = check_output_path(out)
    if report is not None and Path(report).is_dir():
        raise DataFileError(f"{report}: is a folder", fix="name a file, e.g. summary.json")
    if out is not None and out.resolve() == source.resolve():
        raise DataFileError(f"{out}: is the input file; harmonize never overwrites the export",
                            fix=f"write to another file, e.g. {out.stem}_harmonised{out.suffix}")


def _write_json(path: Path, content: dict) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content, indent=2), encoding="utf-8")
    except OSError as exc:
        raise DataFileError(f"{path}: cannot be written ({exc.strerror or exc})",
                            fix="choose a folder you can write to") from None
