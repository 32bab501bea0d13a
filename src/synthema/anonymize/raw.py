"""Anonymising a raw site export: harmonise in memory, carry the identifiers, anonymise.

A raw export (``synthema simulate --raw``, or a hospital's own) has the site's layout and
codes and carries direct identifiers (name, hospital number, birth date, postcode). With the
site's mapping file, :func:`anonymize_export` maps the data columns onto the dictionary with
:func:`synthema.harmonize.harmonize` (every dropped or repaired value counted there), carries
the mapping's ``drop:`` columns alongside under the name of their kind (``name``,
``hospital_number``, ``birth_date``, ``postcode``, ...; see
:func:`synthema.anonymize.deidentify.identifier_role`) and runs
:func:`synthema.anonymize.anonymize` on the result, which removes, pseudonymises or
generalises each identifier as the policy's ``raw:`` section says. Nothing is written
between the steps. The report gains ``harmonization`` (counts only: no cell values, no ids)
and ``identifiers`` (each source column, its kind, its values and what happened to them);
harmonisation's own log lines, which quote example cells, are silenced meanwhile, and a
study id that repeats is refused with the export's row numbers only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from synthema.anonymize.assessment import RAW_PREFIX
from synthema.anonymize.deidentify import identifier_role
from synthema.anonymize.pipeline import (
    AnonymizationResult,
    anonymize,
    check_one_row_per_patient,
)
from synthema.anonymize.policy import HierarchySpec, Policy
from synthema.anonymize.report import (
    AnonymizationReport,
    Harmonization,
    IdentifierColumn,
    InputFile,
)
from synthema.errors import AnonymizationError
from synthema.harmonize import SiteMapping, harmonize, load_mapping
from synthema.harmonize import apply as harmonize_apply
from synthema.harmonize.apply import dictionary_for
from synthema.harmonize.convert import guess_date_format

_LOG = logging.getLogger(__name__)
_HARMONIZE_LOG = logging.getLogger(harmonize_apply.__name__)
NOT_A_DATE = "not a date (set to missing)"


def _canonical(headers: list[str], taken: set[str]) -> dict[str, tuple[str, str]]:
    """Source header -> (column name in the frame, kind); a second name becomes name_2."""
    out = {}
    for header in headers:
        role = identifier_role(header) or "other"
        name, k = role, 2
        while name in taken:
            name, k = f"{role}_{k}", k + 1
        taken.add(name)
        out[header] = (name, role)
    return out


def _birth_dates(text: pd.Series, mapping: SiteMapping) -> tuple[pd.Series, int, str | None]:
    """Parse birth dates in the export's date format; count the cells that are not dates.

    The format is the first that reads every present cell among the mapping's own
    ``date_format``s (the export writes all its dates alike), ISO, and a guess.
    """
    present = text.notna()
    candidates = [c.date_format for c in mapping.columns if c.date_format] + ["%Y-%m-%d"]
    guess = guess_date_format(text)
    candidates += [guess] if guess else []
    best, best_ok, fmt = None, -1, None
    for f in dict.fromkeys(candidates):
        parsed = pd.to_datetime(text, format=f, errors="coerce")
        ok = int(parsed.notna().sum())
        if ok > best_ok:
            best, best_ok, fmt = parsed, ok, f
        if ok == int(present.sum()):
            break
    return best.astype("datetime64[ns]"), int(present.sum()) - best_ok, fmt


def _check_dictionary(policy: Policy, target: str) -> None:
    """The policy must be written for the dictionary the mapping targets."""
    declared = policy.data_dictionary()
    if declared is not None and declared.name != target:
        raise AnonymizationError(
            f"{policy.source}: the policy is for dictionary '{declared.name}' but the mapping "
            f"maps the export onto '{target}'",
            fix=f"use the policy written for this disease (e.g. --policy {target})")


def _harmonization(summary, mapping: SiteMapping) -> Harmonization:
    """Counts of what harmonisation dropped and repaired (no cell values, no ids)."""
    return Harmonization(  # file names only: a folder (a clinic, a person's name) is no output's
        file=Path(summary.file).name,
        mapping=Path(mapping.path).name if mapping.path else mapping.where,
        rows_in=summary.rows_in,
        rows_out=summary.rows_out,
        rows_without_values=len(summary.empty_rows),
        dropped_total=summary.dropped_total,
        repaired_total=sum(sum(c.repaired.values()) for c in summary.columns),
        declared_missing_total=sum(c.declared_missing for c in summary.columns),
        columns=tuple({"column": c.target, "source": c.source, "present": c.present,
                       "carried": c.carried, "dropped": dict(c.dropped),
                       "repaired": dict(c.repaired), "declared_missing": c.declared_missing}
                      for c in summary.columns),
        all_values_dropped=tuple(summary.all_dropped_columns),
        missing_variables=tuple(summary.missing_variables),
        ignored_columns=tuple(summary.ignored_columns),
        missing_ids=len(summary.missing_ids),
        duplicate_ids=len(summary.duplicate_ids),
        rule_violations={k: len(v) for k, v in summary.rule_violations.items()},
    )


class _NoExamples(logging.Filter):
    """Drops harmonisation's log lines: they quote cells and patient ids as examples."""

    def filter(self, record: logging.LogRecord) -> bool:
        return False


@contextmanager
def _counts_only(logger: logging.Logger) -> Iterator[None]:
    """Silence ``logger`` inside; the report and :data:`_LOG` give the counts instead.

    ``synthema harmonize`` logs each dropped value with its row and cell (a study id that
    repeats, a name typed into a code column) so that the site can correct it; anonymising,
    nothing of the export may reach a log.
    """
    quiet = _NoExamples()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


def _action_text(action: str | HierarchySpec, role: str, column: str,
                 report: AnonymizationReport) -> str:
    if isinstance(action, HierarchySpec):
        lv = report.generalisation_levels.get(column)
        level = f"{lv.shows}, level {lv.level} of {lv.highest}" if lv else "?"
        return f"quasi-identifier '{column}' ({action.type}), released as {level}"
    if action == "pseudonym":
        return (f"replaced by a keyed pseudonym ({RAW_PREFIX.get(role, 'X')}-...) in column "
                f"'{column}'")
    return "removed"


def anonymize_export(raw: pd.DataFrame, policy: Policy, *, mapping: SiteMapping | str | Path,
                     key: bytes | None = None, population: pd.DataFrame | None = None,
                     file: str = "<data>") -> AnonymizationResult:
    """Harmonise a raw export with ``mapping`` and anonymise it under ``policy``.

    Args:
        raw: the export's text cells, as :func:`synthema.tables.read_table` reads them
            with the mapping's read options.
        policy: the anonymisation policy; its ``raw:`` section decides on the identifiers.
        mapping: the site's mapping (object or YAML path); its ``drop:`` columns are the
            identifiers carried to de-identification.
        key, population: as for :func:`synthema.anonymize.anonymize`.
        file: the export's name, for messages and the report.

    Raises:
        AnonymizationError: the policy is for another dictionary, or cannot be met.
        MappingError: the mapping does not fit the export.
    """
    mapping = load_mapping(mapping)
    dictionary = dictionary_for(mapping)
    _check_dictionary(policy, dictionary.name)
    raw = raw.reset_index(drop=True)
    with _counts_only(_HARMONIZE_LOG):
        harmonised = harmonize(raw, dictionary, mapping, file=file)
    summary = harmonised.summary
    kept = ~np.isin(np.arange(len(raw)) + 2, summary.empty_rows)
    data = harmonised.data
    if int(kept.sum()) != len(data):  # pragma: no cover - harmonize keeps exactly these rows
        raise RuntimeError("harmonised rows do not line up with the export's rows")
    if dictionary.patient_id and dictionary.patient_id in data:
        check_one_row_per_patient(data[dictionary.patient_id], column=dictionary.patient_id,
                                  file=file, rows=np.flatnonzero(kept) + 2)
    frame, roles, idents = _carry_identifiers(raw, data, mapping, policy, kept)
    result = anonymize(frame, policy, key=key, population=population, dictionary=dictionary,
                       identifiers=roles, file=file)
    report = replace(
        result.report,
        input=InputFile(Path(file).name, len(raw), len(raw) - len(data)),
        harmonization=_harmonization(summary, mapping),
        identifiers=tuple(
            replace(i, action=_action_text(policy.raw_action(i.role), i.role, i.column,
                                           result.report))
            for i in idents),
    )
    _LOG.info("raw export %s: %d rows, %d harmonised, %d values dropped, %d repaired, "
              "%d identifier columns", file, len(raw), len(data), summary.dropped_total,
              report.harmonization.repaired_total, len(idents))
    return AnonymizationResult(data=result.data, report=report)


def _carry_identifiers(raw: pd.DataFrame, data: pd.DataFrame, mapping: SiteMapping,
                       policy: Policy, kept: np.ndarray
                       ) -> tuple[pd.DataFrame, dict[str, str], list[IdentifierColumn]]:
    """The harmonised frame with the export's identifier columns alongside, named by kind.

    Returns the frame, each carried column's kind, and what the report says of each.
    """
    headers = [c for c in mapping.drop if c in raw.columns]
    names = _canonical(headers, set(map(str, data.columns)))
    missing = list(mapping.missing_markers())  # default_missing: false leaves only the mapping's
    carried, roles, idents = {}, {}, []
    for header, (name, role) in names.items():
        text = raw[header].astype("string").str.strip()
        text = text.mask(text.isin(missing) | (text == ""))[kept].reset_index(drop=True)
        entry = IdentifierColumn(source=header, column=name, role=role,
                                 values=int(text.notna().sum()))
        if role == "birth_date" and isinstance(policy.raw_action(role), HierarchySpec):
            values, bad, fmt = _birth_dates(text, mapping)
            entry = replace(entry, date_format=fmt, dropped={NOT_A_DATE: bad} if bad else {})
            carried[name] = values
        else:
            carried[name] = text
        roles[name] = role
        idents.append(entry)
    return pd.concat([data, pd.DataFrame(carried, index=data.index)], axis=1), roles, idents
