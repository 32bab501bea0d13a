"""The anonymisation pipeline: policy + table in, release + report out.

Order of steps: check the policy fits the columns and the input has one row per patient;
remove direct identifiers and free text; keep only what the purpose needs (minimisation);
transform dates; pseudonymise the patient id; generalise the quasi-identifiers at the
least-loss lattice node that meets the privacy models, suppressing the failing classes;
measure what was achieved, the re-identification risk before and after, information loss
and utility (:mod:`synthema.anonymize.utility`).

Identifier columns carried from a raw site export (:mod:`synthema.anonymize.raw`) arrive
with their kind (``identifiers={"hospital_number": "hospital_number", ...}``); the policy's
``raw:`` section says whether each is removed, replaced by a keyed pseudonym or released as
one more quasi-identifier.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from synthema.anonymize.deidentify import (
    detect_identifiers,
    looks_free_text,
    pseudonymize,
    read_key,
    transform_dates,
)
from synthema.anonymize.hierarchy import Hierarchy, build_hierarchy
from synthema.anonymize.models import SensitiveCodes, achieved
from synthema.anonymize.policy import AnonymizationError, HierarchySpec, Policy
from synthema.anonymize.risk import class_keys, risk_measures
from synthema.anonymize.search import search
from synthema.anonymize.utility import utility_check
from synthema.schema import Dictionary

#: pseudonym prefix of identifiers pseudonymised under ``raw:`` (hospital numbers: H-...)
RAW_PREFIX = {"hospital_number": "H", "national_id": "N"}
#: why a column the purpose does not need was left out (minimisation)
NOT_NEEDED = "not needed for the purpose"

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnonymizationResult:
    """The released table and the report (a JSON-ready dict)."""

    data: pd.DataFrame
    report: dict[str, Any]


def _prefix(file: str) -> str:
    return "" if file == "<data>" else f"{file}: "


def _require(df: pd.DataFrame, names: list[str], where: str, *, file: str = "<data>") -> None:
    for name in names:
        if name not in df.columns:
            close = difflib.get_close_matches(name, [str(c) for c in df.columns], n=1)
            if close:
                fix = f"fix the policy (did you mean '{close[0]}'?)"
            elif detect_identifiers([str(c) for c in df.columns]):
                fix = ("this looks like a raw site export (it has identifier columns): give its "
                       "mapping with --mapping SITE.mapping.yaml, or fix the policy's names")
            else:
                fix = "check the policy's column names against the input's header"
            raise AnonymizationError(
                f"{_prefix(file)}column '{name}' (named by {where}) is not in the input",
                fix=fix)


def check_one_row_per_patient(ids: pd.Series, *, column: str, file: str = "<data>",
                              rows: np.ndarray | None = None) -> None:
    """Refuse a table where two rows carry the same patient id.

    k-anonymity counts rows: a patient with two rows could be half of a class of 4 that
    looks like 4 people, and both rows would carry the same pseudonym. The message names the
    rows (``rows``: each row's number in the file; default position + 2, spreadsheet
    numbering) but never the id.

    Raises:
        AnonymizationError: a patient id occurs in more than one row.
    """
    ids = ids.reset_index(drop=True)
    repeated = (ids.duplicated(keep=False) & ids.notna()).to_numpy(dtype=bool)
    if not repeated.any():
        return
    numbers = (np.arange(len(ids)) + 2 if rows is None else np.asarray(rows))[repeated]
    shown = ", ".join(str(int(r)) for r in numbers[:6]) + (", ..." if len(numbers) > 6 else "")
    n_ids = int(ids[repeated].nunique())
    raise AnonymizationError(
        f"{_prefix(file)}{len(numbers)} rows share {n_ids} patient id"
        f"{'s' if n_ids > 1 else ''} in column '{column}' (rows {shown}; ids not shown)",
        fix="k-anonymity counts rows, so each patient needs exactly one row: merge or remove "
            "the repeated rows at the site, then run again")


def _identifiers(df: pd.DataFrame, policy: Policy,
                 roles: Mapping[str, str]) -> dict[str, str]:
    """Direct identifier columns to remove, with the reason for each."""
    found = {c: f"direct identifier ({role.replace('_', ' ')}, raw export)"
             for c, role in roles.items() if policy.raw_action(role) == "remove"}
    found |= {c: "direct identifier (declared)" for c in policy.identifiers
              if c not in found and c in df.columns}  # absent: nothing to remove
    if policy.detect_identifiers:
        for c in detect_identifiers([str(c) for c in df.columns]):
            found.setdefault(c, "direct identifier (header)")
    qis = {h.column: h for h in policy.quasi_identifiers}
    released = set(policy.keep) | set(policy.sensitive)
    for col in list(found):
        if col == policy.pseudonym_column:
            del found[col]
        elif col in roles and policy.raw_action(roles[col]) == "pseudonym":
            del found[col]  # leaves as a keyed pseudonym, as raw: says
        elif col in qis and qis[col].min_level >= 1:
            del found[col]  # released only generalised (e.g. a truncated postcode)
        elif col in qis or col in released:
            raise AnonymizationError(
                f"{policy.source}: column '{col}' is a direct identifier but the policy "
                "releases it" + (" ungeneralised" if col in qis else ""),
                fix="remove it from purpose.keep/sensitive, give it min_level >= 1, or list "
                    "the real identifiers under identifiers.columns with detect: false")
    return found


def _raw_plan(policy: Policy, roles: Mapping[str, str], columns: list[str]
              ) -> tuple[Policy, dict[str, str]]:
    """The policy with the raw export's quasi-identifiers added, and the columns to pseudonymise.

    Returns:
        ``(policy, pseudonyms)``; ``pseudonyms`` maps a column to its kind.
    """
    clash = sorted(set(roles) & (set(policy.keep) | set(policy.sensitive)
                                 | {h.column for h in policy.quasi_identifiers}))
    if clash:
        raise AnonymizationError(
            f"{policy.source}: raw identifier column(s) {', '.join(clash)} are also named by "
            "the policy", fix="decide on them under raw: only")
    unknown = sorted(set(roles) - set(columns))
    if unknown:
        raise ValueError(f"identifier columns {unknown} are not in the input")
    extra, pseudonyms = [], {}
    for col, role in roles.items():
        action = policy.raw_action(role)
        if isinstance(action, HierarchySpec):
            extra.append(replace(action, column=col))
        elif action == "pseudonym":
            pseudonyms[col] = role
    if extra:
        policy = replace(policy, quasi_identifiers=(*policy.quasi_identifiers, *extra))
    return policy, pseudonyms


def _sensitive(df: pd.DataFrame, policy: Policy, file: str) -> list[SensitiveCodes]:
    out = []
    for col, order in policy.sensitive.items():
        text = df[col].astype("string").fillna("<NA>").reset_index(drop=True)
        if order:
            unknown = sorted(set(text) - set(order) - {"<NA>"})
            if unknown:
                raise AnonymizationError(
                    f"{_prefix(file)}column '{col}' holds "
                    f"{', '.join(map(repr, unknown[:5]))}, not in the policy's "
                    f"sensitive.{col}.order ({policy.source})",
                    fix="add the value(s) to the order in the policy, or correct the cells")
            cats = list(order) + (["<NA>"] if (text == "<NA>").any() else [])
            codes = pd.Categorical(text, categories=cats).codes.astype(np.int64)
        else:
            codes, cats = pd.factorize(text)
            codes = codes.astype(np.int64)
        ref = np.bincount(codes, minlength=len(cats)) / max(len(codes), 1)
        out.append(SensitiveCodes(col, codes, len(cats), bool(order), ref))
    return out


def _population_keys(population: pd.DataFrame | None, df: pd.DataFrame, policy: Policy,
                     levels: list[str] | None) -> list[Any] | None:
    """The population's class keys at the named levels (level 0 everywhere when None).

    Levels go by name (``Hierarchy.names``), not index: over the input and the population
    together a hierarchy can have more levels (longer codes add truncation levels).
    """
    if population is None:
        return None
    cols = [h.column for h in policy.quasi_identifiers]
    absent = [c for c in cols if c not in population.columns]
    if absent:
        raise AnonymizationError(
            f"population table {policy.population or ''} (risk.population): quasi-identifier "
            f"column(s) {', '.join(absent)} missing",
            fix="give the population table every quasi-identifier column, named as in the "
                "input")
    both = pd.concat([df[cols].astype("string"), population[cols].astype("string")],
                     ignore_index=True)
    labels = {}
    for i, spec in enumerate(policy.quasi_identifiers):
        h = build_hierarchy(both[spec.column], spec, date_format=policy.dates.format,
                            show_values=False)
        level = 0 if levels is None else h.names.index(levels[i])
        labels[spec.column] = h.labels[level][len(df):]
    return class_keys(pd.DataFrame(labels, columns=cols))


@contextmanager
def _in_file(file: str) -> Iterator[None]:
    """Prefix the input's name to the messages of data errors raised inside."""
    try:
        yield
    except AnonymizationError as exc:
        if file == "<data>":
            raise
        raise AnonymizationError(f"{file}: {exc.message}", fix=exc.fix) from None


def anonymize(df: pd.DataFrame, policy: Policy, *, key: bytes | None = None,
              population: pd.DataFrame | None = None, dictionary: Dictionary | None = None,
              identifiers: Mapping[str, str] | None = None,
              file: str = "<data>") -> AnonymizationResult:
    """Anonymise ``df`` as ``policy`` says.

    Args:
        df: the input table (typed, or text cells as :func:`read_table` gives them).
        policy: a parsed policy (:func:`load_policy`).
        key: pseudonym key; read from the policy's key file or environment when None.
        population: identification table for journalist and marketer risk; the sample
            stands in for it when None (and the report says so).
        dictionary: the data dictionary ``df`` follows (default: the policy's
            ``dictionary:``); it types the utility check and supplies its survival pairs.
        identifiers: identifier columns carried from a raw export, each with its kind
            (:data:`synthema.anonymize.policy.RAW_ROLES`), handled as ``policy.raw`` says.
        file: the input's name, for messages (a cell's row is its position + 2, the file's
            row when ``df`` is read with :func:`read_table`).

    Raises:
        AnonymizationError: the policy does not fit the data or cannot be met.
    """
    df = df.reset_index(drop=True)
    roles = dict(identifiers or {})
    policy, raw_pseudonyms = _raw_plan(policy, roles, [str(c) for c in df.columns])
    if dictionary is None:
        dictionary = policy.data_dictionary()
    qi_cols = [h.column for h in policy.quasi_identifiers]
    extra = [policy.pseudonym_column] if policy.pseudonym_column else []
    anchor = [policy.dates.anchor] if policy.dates.method == "relative" else []
    _require(df, [*policy.keep, *qi_cols, *policy.sensitive, *extra,
                  *policy.dates.columns, *anchor], policy.source, file=file)
    twice = sorted(set(policy.dates.columns) & set(qi_cols))
    if twice and policy.dates.method != "keep":
        raise AnonymizationError(
            f"{policy.source}: {', '.join(twice)} is under both dates.columns and "
            "quasi_identifiers (its release would be the hierarchy's level of the original "
            f"date, not {policy.dates.method} as dates says)",
            fix="remove it from dates.columns to release it generalised, or from "
                "quasi_identifiers to release it as dates.method says")
    # one row per patient: by the pseudonymised id, else by the dictionary's patient id
    id_column = policy.pseudonym_column or (
        dictionary.patient_id if dictionary is not None and dictionary.patient_id in df else None)
    if id_column:
        check_one_row_per_patient(df[id_column], column=id_column, file=file)
    removed = _identifiers(df, policy, roles)
    for col in policy.keep:
        if col not in policy.keep_free_text and col not in qi_cols and looks_free_text(df[col]):
            removed[col] = "free text (list under identifiers.keep_free_text to keep)"
    wanted = (set(extra) | set(qi_cols) | set(policy.sensitive) | set(policy.keep)
              | set(raw_pseudonyms))
    out_cols = [c for c in df.columns if c in wanted and c not in removed]
    for col in df.columns:
        if col not in out_cols:
            removed.setdefault(str(col), NOT_NEEDED)
    needs_key = (bool(policy.pseudonym_column) or policy.dates.method == "shift"
                 or bool(raw_pseudonyms))
    secret = read_key(policy, key=key) if needs_key else None
    ids = df[policy.pseudonym_column] if policy.pseudonym_column else None
    dated = [c for c in policy.dates.columns if c in out_cols]
    work = df[list(dict.fromkeys(out_cols + anchor))]
    with _in_file(file):
        work, date_log = transform_dates(work, replace(policy.dates, columns=tuple(dated)),
                                         ids=ids, key=secret)
    if anchor and anchor[0] in qi_cols:
        date_log[anchor[0]] = ("anchor of relative days; released only at its generalisation "
                               "level, as a quasi-identifier")
    out_cols = [c for c in out_cols if c in work.columns]
    work = work[out_cols].copy()
    if policy.pseudonym_column:
        work[policy.pseudonym_column] = pseudonymize(
            work[policy.pseudonym_column], secret, prefix=policy.prefix, length=policy.length)
    for col, role in raw_pseudonyms.items():
        work[col] = pseudonymize(work[col], secret, prefix=RAW_PREFIX.get(role, "X"),
                                 length=policy.length, namespace=f"{role}:")

    n = len(work)
    with _in_file(file):
        hierarchies: list[Hierarchy] = [
            build_hierarchy(df[s.column], s, date_format=policy.dates.format,
                            where=f"raw.{roles[s.column]}" if s.column in roles else None,
                            show_values=s.column not in roles)
            for s in policy.quasi_identifiers]
    sensitive = _sensitive(df, policy, file)
    found = search(hierarchies, sensitive, policy.models, n=n, metric=policy.metric,
                   max_nodes=policy.max_nodes)
    keep_rows = ~found.suppressed
    generalised = work.copy()
    for h, level in zip(hierarchies, found.node, strict=True):
        generalised[h.column] = pd.Series(h.labels[level], dtype="string")
    released = generalised[keep_rows].reset_index(drop=True)

    _, classes = np.unique(found.classes[keep_rows], return_inverse=True)
    kept_sens = [SensitiveCodes(s.column, s.codes[keep_rows], s.n_values, s.ordered,
                                s.reference) for s in sensitive]
    # the input's classes from the hierarchies' level 0, the labels the population gets too
    before_keys = class_keys(pd.DataFrame({h.column: h.labels[0] for h in hierarchies},
                                          columns=qi_cols))
    after_keys = class_keys(released[qi_cols])
    pop_before = _population_keys(population, df, policy, None)
    pop_after = _population_keys(population, df, policy,
                                 [h.names[lv] for h, lv in zip(hierarchies, found.node,
                                                               strict=True)])
    m = policy.models
    report = {
        "policy": policy.name,
        "purpose": policy.purpose,
        "records_in": n,
        "records_out": int(keep_rows.sum()),
        "columns_out": list(released.columns),
        "removed": removed,
        "dates": date_log,
        "pseudonym": {"column": policy.pseudonym_column, "method": "HMAC-SHA256, keyed"}
        if policy.pseudonym_column else None,
        "raw_pseudonyms": {c: f"{role.replace('_', ' ')}: HMAC-SHA256 of '{role}:' + value, "
                              f"keyed, prefix {RAW_PREFIX.get(role, 'X')}"
                           for c, role in raw_pseudonyms.items()},
        "models": {"k": m.k, "l": m.l, "l_variant": m.l_variant, "t": m.t,
                   "max_suppression": m.max_suppression},
        "achieved": achieved(classes.astype(np.int64), kept_sens).as_dict(),
        "generalisation": {h.column: f"{lv} of {h.height}"
                           for h, lv in zip(hierarchies, found.node, strict=True)},
        "generalisation_levels": {
            h.column: {"hierarchy": s.type, "level": lv, "highest": h.height,
                       "shows": h.names[lv]}
            for h, s, lv in zip(hierarchies, policy.quasi_identifiers, found.node,
                                strict=True)},
        "information_loss": {
            "generalisation_height": found.height,
            "max_height": found.max_height,
            "relative_height": round(found.height / found.max_height, 6)
            if found.max_height else 0.0,
            "suppressed_records": int(found.suppressed.sum()),
            "suppression_rate": round(float(found.suppressed.mean()), 6) if n else 0.0,
            "non_uniform_entropy_bits": round(found.nue_bits, 3),
            "non_uniform_entropy": round(found.nue, 6),
            "lattice_nodes": found.nodes_total,
            "lattice_nodes_evaluated": found.nodes_evaluated,
        },
        "risk": {
            "before": risk_measures(before_keys, population=pop_before,
                                    threshold=policy.threshold),
            "after": risk_measures(after_keys, population=pop_after,
                                   threshold=policy.threshold),
        },
        "utility": utility_check(
            generalised, keep_rows, dictionary=dictionary,
            generalised={s.column: s.type for s in policy.quasi_identifiers},
            changed=[*date_log, *anchor], exact=work,
            columns=[c for c in released.columns
                     if c != policy.pseudonym_column and c not in raw_pseudonyms]),
    }
    _LOG.info("anonymised %d -> %d records at node %s", n, report["records_out"], found.node)
    return AnonymizationResult(data=released, report=report)
