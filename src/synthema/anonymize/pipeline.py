"""The anonymisation pipeline: policy + table in, release + report out.

Order of steps: check the policy fits the columns and the input has one row per patient;
remove direct identifiers; refuse a release that would carry an identifier, free text, an
exact date or a duration derived from a date by mistake; keep only what the purpose needs
(minimisation); transform dates; pseudonymise the patient id in the policy's scope;
generalise the quasi-identifiers at the least-loss lattice node that meets the privacy
models, suppressing the failing classes; measure what was achieved, the re-identification
risk before and after (on the quasi-identifiers, and on every released column an attacker
could combine: :mod:`synthema.anonymize.linkage`), information loss and utility
(:mod:`synthema.anonymize.utility`, rounded so that it cannot rebuild what was suppressed);
shuffle the released rows (an export sorted by date would leak dates through row order).

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

import numpy as np
import pandas as pd

from synthema.anonymize.assessment import RAW_PREFIX, Release, assess
from synthema.anonymize.deidentify import (
    date_shift_key,
    detect_identifiers,
    identifier_values,
    looks_free_text,
    pseudonymize,
    read_key,
    relative_durations,
    scope_salt,
    transform_dates,
)
from synthema.anonymize.hierarchy import Hierarchy, build_hierarchy
from synthema.anonymize.kept import check_kept_columns
from synthema.anonymize.policy import HierarchySpec, Policy
from synthema.anonymize.privacy_models import SensitiveCodes
from synthema.anonymize.report import NOT_NEEDED, AnonymizationReport
from synthema.anonymize.search import SearchResult, search
from synthema.errors import AnonymizationError
from synthema.schema import Dictionary

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnonymizationResult:
    """The released table and its report (:meth:`AnonymizationReport.to_dict` for JSON)."""

    data: pd.DataFrame
    report: AnonymizationReport


def _prefix(file: str) -> str:
    return "" if file == "<data>" else f"{file}: "


def _require(df: pd.DataFrame, names: list[str], where: str, *, file: str = "<data>") -> None:
    missing = [n for n in dict.fromkeys(names) if n not in df.columns]
    # most of the policy's columns absent next to identifier headers: a raw export
    raw_export = len(missing) > len(set(names)) / 2 and detect_identifiers(
        [str(c) for c in df.columns])
    for name in names:
        if name not in df.columns:
            close = difflib.get_close_matches(name, [str(c) for c in df.columns], n=1)
            if close and not raw_export:
                fix = f"fix the policy (did you mean '{close[0]}'?)"
            elif raw_export or detect_identifiers([str(c) for c in df.columns]):
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


def check_release(df: pd.DataFrame, policy: Policy, *, dictionary: Dictionary | None,
                  pseudonymised: set[str]) -> None:
    """Refuse a policy that would release an identifier, free text or a date by mistake.

    Each check looks at what would leave exactly (``purpose.keep``, ``sensitive`` and
    quasi-identifiers that may stay at level 0), not at what the policy calls it:

    - the dictionary's patient id, or a column whose values look like identifiers (e-mail
      addresses, phone numbers, names with a title, codes distinct on nearly every row),
      unless pseudonymised;
    - free text (notes, comments), unless listed under ``identifiers.keep_free_text``;
    - a date released as it is, or days counted from a date (survival, follow-up): with a
      public data cut-off, ``date = cut-off − days`` for everyone alive at it, so a duration
      is a quasi-identifier and must be generalised with the dates (or removed); a column
      distinct on nearly every row, or one the dictionary does not declare, unless
      ``identifiers.allow`` lets it pass (:func:`synthema.anonymize.kept.check_kept_columns`,
      which judges values as well as headers).

    Raises:
        AnonymizationError: naming the column and the fix; no cell value is quoted.
    """
    qis = {h.column: h for h in policy.quasi_identifiers}
    exact = [c for c in dict.fromkeys([*policy.keep, *policy.sensitive,
                                       *(c for c, h in qis.items() if h.min_level == 0)])
             if c in df.columns and c not in pseudonymised]
    where = f"{policy.source}: column '{{}}' (purpose.keep, sensitive or quasi_identifiers)"
    for col in exact:
        if dictionary is not None and col == dictionary.patient_id:
            raise AnonymizationError(
                where.format(col) + " is the dictionary's patient id and would be released "
                "in clear", fix=f"add pseudonym: {{column: {col}}} to the policy, or remove it "
                                "from purpose.keep")
        if col in policy.keep_free_text:
            continue  # checked by hand, the policy says
        if col in policy.keep and col not in qis and looks_free_text(df[col], col):
            raise AnonymizationError(
                where.format(col) + " looks like free text (notes, comments), which can hold "
                "names, places and dates in any form",
                fix="remove it from purpose.keep, or list it under identifiers.keep_free_text "
                    "once it has been checked by hand")
        looks = identifier_values(df[col])
        if looks:
            raise AnonymizationError(
                where.format(col) + f" holds {looks}: it would release identifiers",
                fix="pseudonymise it (pseudonym.column) or remove it from the policy")
    check_kept_columns(df, policy, dictionary=dictionary, pseudonymised=pseudonymised)


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
            if unknown:  # counted, not quoted: a cell may hold anything
                rows = np.flatnonzero(~text.isin([*order, "<NA>"]).to_numpy()) + 2
                raise AnonymizationError(
                    f"{_prefix(file)}column '{col}', row {rows[0]}"
                    f"{f' and {len(rows) - 1} more' if len(rows) > 1 else ''}: "
                    f"{len(unknown)} distinct value(s) not in the policy's sensitive.{col}.order "
                    f"({policy.source}; values not shown)",
                    fix="add the value(s) to the order in the policy, or correct the cells")
            cats = list(order) + (["<NA>"] if (text == "<NA>").any() else [])
            codes = pd.Categorical(text, categories=cats).codes.astype(np.int64)
        else:
            codes, cats = pd.factorize(text)
            codes = codes.astype(np.int64)
        ref = np.bincount(codes, minlength=len(cats)) / max(len(codes), 1)
        out.append(SensitiveCodes(col, codes, len(cats), bool(order), ref))
    return out


@contextmanager
def _in_file(file: str) -> Iterator[None]:
    """Prefix the input's name to the messages of data errors raised inside."""
    try:
        yield
    except AnonymizationError as exc:
        if file == "<data>":
            raise
        raise AnonymizationError(f"{file}: {exc.message}", fix=exc.fix) from None


def _secrets(policy: Policy, *, key: bytes | None, date_key: bytes | None,
             needs_key: bool, shifts: bool) -> tuple[bytes | None, bytes | None, bytes]:
    """``(pseudonym key, date-shift secret, scope salt)`` as the policy needs them.

    The date-shift secret follows the pseudonym scope (:func:`date_shift_key`): random for
    each release by default, the date-shift key only where releases are meant to link.
    """
    secret = read_key(policy, key=key) if needs_key else None
    shift_key = date_shift_key(policy, key=date_key, pseudonym_key=secret) if shifts else None
    return secret, shift_key, scope_salt(policy) if needs_key else b""


def _check_policy_columns(df: pd.DataFrame, policy: Policy, *, file: str,
                          dictionary: Dictionary | None) -> None:
    """The policy's columns exist, no date is handled twice, one row per patient."""
    qi_cols = [h.column for h in policy.quasi_identifiers]
    extra = [policy.pseudonym_column] if policy.pseudonym_column else []
    anchor = [policy.dates.anchor] if policy.dates.method == "relative" else []
    _require(df, [*policy.keep, *qi_cols, *policy.sensitive, *extra,
                  *policy.dates.columns, *anchor], policy.source, file=file)
    twice = sorted(set(policy.dates.columns) & set(qi_cols) - {policy.dates.anchor})
    if twice and policy.dates.method not in ("keep", "relative"):  # relative: days are QIs
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


@dataclass(frozen=True)
class _Plan:
    """What a policy asks of this input: the columns released, removed and transformed."""

    policy: Policy
    roles: dict[str, str]
    raw_pseudonyms: dict[str, str]
    dictionary: Dictionary | None
    removed: dict[str, str]
    out_cols: list[str]
    dated: list[str]
    anchor: list[str]


def anonymize(df: pd.DataFrame, policy: Policy, *, key: bytes | None = None,
              date_key: bytes | None = None, population: pd.DataFrame | None = None,
              dictionary: Dictionary | None = None,
              identifiers: Mapping[str, str] | None = None,
              file: str = "<data>") -> AnonymizationResult:
    """Anonymise ``df`` as ``policy`` says.

    Args:
        df: the input table (typed, or text cells as :func:`read_table` gives them).
        policy: a parsed policy (:func:`load_policy`).
        key: pseudonym key; read from the policy's key file or environment when None.
        date_key: date-shift key (``dates.method: shift`` under ``pseudonym.scope`` study
            or linkage; the default release scope draws its shifts for the run and reads no
            key); read from ``dates.key_file`` or ``dates.key_env`` when None. Never the
            pseudonym key nor a near copy of it.
        population: identification table for journalist and marketer risk; the sample
            stands in for it when None (and the report says so).
        dictionary: the data dictionary ``df`` follows (default: the policy's
            ``dictionary:``); it types the utility check, supplies its survival pairs and
            says which columns are dates, durations and the patient id.
        identifiers: identifier columns carried from a raw export, each with its kind
            (:data:`synthema.anonymize.policy.RAW_ROLES`), handled as ``policy.raw`` says.
        file: the input's name, for messages (a cell's row is its position + 2, the file's
            row when ``df`` is read with :func:`read_table`).

    Raises:
        AnonymizationError: the policy does not fit the data, would release an identifier,
            free text or an exact date or duration, or cannot be met.
    """
    df = df.reset_index(drop=True)
    plan = _plan(df, policy, identifiers, dictionary, file)
    work, date_log = _transform(df, plan, key=key, date_key=date_key, file=file)
    df, date_log = relative_durations(  # relative days that are QIs are banded as days
        df, work, date_log, quasi_identifiers=[h.column for h in plan.policy.quasi_identifiers])
    hierarchies, sensitive, found = _generalise(df, plan, n=len(work), file=file)
    generalised = work.copy()
    for h, level in zip(hierarchies, found.node, strict=True):
        generalised[h.column] = pd.Series(h.labels[level], dtype="string")
    released = generalised[~found.suppressed].reset_index(drop=True)
    report = assess(Release(df, plan.policy, found, hierarchies, sensitive, work, generalised,
                            released, plan.removed, date_log, plan.anchor,
                            plan.raw_pseudonyms),
                    population=population, dictionary=plan.dictionary)  # fmt: skip
    _LOG.info("anonymised %d -> %d records at node %s", len(work), report.records_out,
              found.node)
    # row order is the input's order (often by date or id): shuffled with OS entropy
    data = released.iloc[np.random.default_rng().permutation(len(released))]
    data = data.reset_index(drop=True)
    data.attrs = {}  # read_table's attrs (the input's path) would reach Parquet metadata
    return AnonymizationResult(data=data, report=report)


def _plan(df: pd.DataFrame, policy: Policy, identifiers: Mapping[str, str] | None,
          dictionary: Dictionary | None, file: str) -> _Plan:
    """Check the policy against the input and decide which columns leave and why not."""
    roles = dict(identifiers or {})
    policy, raw_pseudonyms = _raw_plan(policy, roles, [str(c) for c in df.columns])
    if dictionary is None:
        dictionary = policy.data_dictionary()
    qi_cols = [h.column for h in policy.quasi_identifiers]
    extra = [policy.pseudonym_column] if policy.pseudonym_column else []
    anchor = [policy.dates.anchor] if policy.dates.method == "relative" else []
    _check_policy_columns(df, policy, file=file, dictionary=dictionary)
    removed = _identifiers(df, policy, roles)
    check_release(df, policy, dictionary=dictionary,
                  pseudonymised=set(extra) | set(raw_pseudonyms))
    wanted = (set(extra) | set(qi_cols) | set(policy.sensitive) | set(policy.keep)
              | set(raw_pseudonyms))
    out_cols = [c for c in df.columns if c in wanted and c not in removed]
    for col in df.columns:
        if col not in out_cols:
            removed.setdefault(str(col), NOT_NEEDED)
    dated = [c for c in policy.dates.columns if c in out_cols]
    return _Plan(policy, roles, raw_pseudonyms, dictionary, removed, out_cols, dated, anchor)


def _transform(df: pd.DataFrame, plan: _Plan, *, key: bytes | None, date_key: bytes | None,
               file: str) -> tuple[pd.DataFrame, dict[str, str]]:
    """The released columns with dates transformed and ids pseudonymised; what dates became."""
    policy = plan.policy
    secret, shift_key, salt = _secrets(
        policy, key=key, date_key=date_key,
        needs_key=bool(policy.pseudonym_column) or bool(plan.raw_pseudonyms),
        shifts=policy.dates.method == "shift" and bool(plan.dated))
    ids = df[policy.pseudonym_column] if policy.pseudonym_column else None
    work = df[list(dict.fromkeys(plan.out_cols + plan.anchor))]
    with _in_file(file):
        work, date_log = transform_dates(work, replace(policy.dates, columns=tuple(plan.dated)),
                                         ids=ids, key=shift_key)
    if plan.anchor and plan.anchor[0] in [h.column for h in policy.quasi_identifiers]:
        date_log[plan.anchor[0]] = ("anchor of relative days; released only at its "
                                    "generalisation level, as a quasi-identifier")
    work = work[[c for c in plan.out_cols if c in work.columns]].copy()
    for col, prefix, namespace in [
            *([(policy.pseudonym_column, policy.prefix, "")] if policy.pseudonym_column else []),
            *((c, RAW_PREFIX.get(r, "X"), f"{r}:") for c, r in plan.raw_pseudonyms.items())]:
        work[col] = pseudonymize(work[col], secret, prefix=prefix, length=policy.length,
                                 namespace=namespace, salt=salt, column=col)
    return work, date_log


def _generalise(df: pd.DataFrame, plan: _Plan, *, n: int, file: str
                ) -> tuple[list[Hierarchy], list[SensitiveCodes], SearchResult]:
    """The hierarchies, the sensitive codes, and the least-loss node meeting the models."""
    policy, roles = plan.policy, plan.roles
    with _in_file(file):
        hierarchies: list[Hierarchy] = [
            build_hierarchy(df[s.column], s, date_format=policy.dates.format,
                            where=f"raw.{roles[s.column]}" if s.column in roles else None)
            for s in policy.quasi_identifiers]
    sensitive = _sensitive(df, policy, file)
    found = search(hierarchies, sensitive, policy.models, n=n, metric=policy.metric,
                   max_nodes=policy.max_nodes)
    return hierarchies, sensitive, found
