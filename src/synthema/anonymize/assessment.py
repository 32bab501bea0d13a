"""Measuring a release: every figure of the anonymisation report.

Once the pipeline (:mod:`synthema.anonymize.pipeline`) has chosen the generalisation and the
suppressed classes, :func:`assess` measures what the release achieves: the privacy models
(k, l, t) on the released classes, the re-identification risk before and after (on the
quasi-identifiers, with the population table when one is given, and on every released column
an attacker could combine: :mod:`synthema.anonymize.linkage`), the information lost, and the
utility kept (:mod:`synthema.anonymize.utility`, rounded so that it cannot rebuild what was
suppressed). The result is an :class:`~synthema.anonymize.report.AnonymizationReport`.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from synthema.anonymize.column_cost import column_costs
from synthema.anonymize.hierarchy import Hierarchy, build_hierarchy, parse_dates
from synthema.anonymize.linkage import linkage_risk, singling_out
from synthema.anonymize.policy import HierarchySpec, Models, Policy
from synthema.anonymize.privacy_models import SensitiveCodes, achieved, failing_classes
from synthema.anonymize.report import (
    NOT_NEEDED,
    AnonymizationReport,
    GeneralisationLevel,
    InformationLoss,
    PseudonymScope,
    ReleaseRisk,
)
from synthema.anonymize.risk import class_keys, risk_measures
from synthema.anonymize.search import SearchResult
from synthema.anonymize.utility import utility_check
from synthema.errors import AnonymizationError
from synthema.schema import Dictionary, VariableType

#: pseudonym prefix of identifiers pseudonymised under ``raw:`` (hospital numbers: H-...)
RAW_PREFIX = {"hospital_number": "H", "national_id": "N"}


@dataclass(frozen=True)
class Release:
    """What the pipeline hands over to be measured (one anonymisation run).

    ``work``: every input record after dates and pseudonyms, before generalisation;
    ``generalised``: the same records at the chosen levels; ``released``: its records not
    suppressed; ``removed``: dropped columns and why; ``date_log``: what happened to each
    date column; ``anchor``: the anchor of relative days, if any.
    """

    df: pd.DataFrame
    policy: Policy
    found: SearchResult
    hierarchies: list[Hierarchy]
    sensitive: list[SensitiveCodes]
    work: pd.DataFrame
    generalised: pd.DataFrame
    released: pd.DataFrame
    removed: dict[str, str]
    date_log: dict[str, str]
    anchor: list[str]
    raw_pseudonyms: Mapping[str, str]


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
            f"population table{f' {policy.population}' if policy.population else ''} "
            f"(risk.population): quasi-identifier column(s) {', '.join(absent)} missing",
            fix="give the population table every quasi-identifier column, named as in the "
                "input")
    both = pd.concat([df[cols].astype("string"), population[cols].astype("string")],
                     ignore_index=True)
    labels = {}
    for i, spec in enumerate(policy.quasi_identifiers):
        h = build_hierarchy(both[spec.column], spec, date_format=policy.dates.format)
        level = 0 if levels is None else h.names.index(levels[i])
        labels[spec.column] = h.labels[level][len(df):]
    return class_keys(pd.DataFrame(labels, columns=cols))


def figure_decimals(n: int, k: int) -> int:
    """Decimals kept by figures computed from the suppressed records too (utility).

    Such a figure and the release together give an equation in the suppressed records'
    values: a per-column TVD with 6 decimals gives back, exactly, how many suppressed
    patients were women. Rounded to ``d`` decimals with ``10^-d * n >= k`` (``n`` input
    records), a figure cannot tell apart about ``k`` neighbouring counts (fewer at the ends
    of the possible range); at least 1 decimal, at most 6.

    >>> figure_decimals(400, 5), figure_decimals(666, 5), figure_decimals(50_000, 5)
    (1, 2, 4)
    """
    if n <= 0:
        return 6
    return int(min(6, max(1, math.floor(math.log10(max(n / max(k, 1), 1.0)) + 1e-12))))


_EXACT_KEYS = frozenset({"thresholds", "min_value", "max_value", "seconds", "records"})


def coarsen(value: Any, decimals: int) -> Any:
    """Every float in ``value`` (nested dicts and lists) rounded to ``decimals``.

    Thresholds, bounds and record counts are left as they are.
    """
    match value:
        case bool() | int() | None:
            return value
        case float():
            return round(value, decimals) if math.isfinite(value) else value
        case dict():
            return {k: v if k in _EXACT_KEYS else coarsen(v, decimals) for k, v in value.items()}
        case list() | tuple():
            return [coarsen(v, decimals) for v in value]
        case _:
            return value


_SCOPE_NOTES = {
    "release": "scoped to this release: a random salt drawn for this run (never written) "
               "enters every HMAC, so these pseudonyms occur in no other release and nobody, "
               "key holders included, can link them to an id or to another release (date "
               "shifts, if any, are drawn for this release too)",
    "study": "scoped to study '{study}': every release of this study made with this key "
             "carries the same pseudonyms, so releases of the study join on them (releases "
             "of other studies do not); the risk of joined releases is not measured here",
    "linkage": "stable linkage pseudonym: every release made with this key carries the same "
               "pseudonyms, so any two releases join on them; the risk of joined releases is "
               "not measured here",
}


def _pseudonym_scope(policy: Policy, raw_pseudonyms: Mapping[str, str]) -> PseudonymScope | None:
    """What the report says about the pseudonyms, their scope and how far they link."""
    columns = ([policy.pseudonym_column] if policy.pseudonym_column else []) + list(
        raw_pseudonyms)
    if not columns:
        return None
    note = _SCOPE_NOTES[policy.scope].format(study=policy.study or policy.name)
    shifted = list(policy.dates.columns) if policy.dates.method == "shift" else []
    if shifted and policy.scope != "release":
        note += (f"; the date shifts of {', '.join(shifted)} follow the same scope (keyed by "
                 "the date-shift key): the same shifted dates in every such release, which "
                 "join on them too")
    return PseudonymScope(
        column=policy.pseudonym_column, columns=tuple(columns),
        method=f"HMAC-SHA256, keyed, {policy.length} hex characters, scope {policy.scope}",
        scope=policy.scope,
        study=policy.study or policy.name if policy.scope == "study" else None,
        linkable_across_releases=policy.scope != "release",
        dates_linkable_across_releases=bool(shifted) and policy.scope != "release",
        note=note)


def _shift_windows(df: pd.DataFrame, policy: Policy, date_log: Mapping[str, str],
                   kept: np.ndarray) -> dict[str, tuple[pd.Series, int]]:
    """Each shifted date column: the true dates of the released records and the bound."""
    if policy.dates.method != "shift":
        return {}
    return {c: (parse_dates(df[c], c, policy.dates.format).reset_index(drop=True)[kept]
                .reset_index(drop=True), policy.dates.max_shift_days)
            for c in date_log}


def _released_risk(released: pd.DataFrame, *, qi_cols: list[str], hidden: set[str],
                   windows: Mapping[str, tuple[pd.Series, int]], threshold: float,
                   sensitive: list[SensitiveCodes], models: Models) -> dict[str, Any]:
    """Risk over every released column (pseudonyms aside) and per column with the QIs."""
    cols = [c for c in released.columns if c not in hidden]
    out = linkage_risk(released, columns=cols, windows=windows, threshold=threshold)
    qis = [c for c in qi_cols if c in cols]
    out["singled_out_with_quasi_identifiers"] = singling_out(
        released, quasi_identifiers=qis, columns=cols, windows=windows)
    out["sensitive_disclosed_with_quasi_identifiers"] = sensitive_disclosed(
        released, quasi_identifiers=qis, sensitive=sensitive, models=models,
        columns=[c for c in cols if c not in windows])
    return out


def sensitive_disclosed(released: pd.DataFrame, *, quasi_identifiers: list[str],
                        columns: list[str], sensitive: list[SensitiveCodes],
                        models: Models) -> dict[str, int]:
    """Per other released column: records whose class on the QIs plus it fails l or t.

    l-diversity and t-closeness hold in the classes of the quasi-identifiers; an attacker who
    also knows a patient's treatment or response narrows the class to the records that share
    it, and there the sensitive value may be one value only (distinct l = 1) or far from its
    overall share. ``sensitive`` holds the released records' codes. Shifted dates are left
    out (the attacker knows the true date, not the shifted one).
    """
    if not sensitive or (models.l is None and models.t is None):
        return {}
    names = {s.column for s in sensitive}
    models = replace(models, k=1)  # only l and t: a small class is counted by singling out
    out = {}
    for col in columns:
        if col in quasi_identifiers or col in names:
            continue
        classes = pd.factorize(pd.Series(class_keys(
            released[[*quasi_identifiers, col]].reset_index(drop=True))))[0].astype(np.int64)
        fail, _ = failing_classes(classes, sensitive, models)
        out[col] = int(fail[classes].sum())
    return out


def _warnings(report: AnonymizationReport, sensitive: Collection[str]) -> tuple[str, ...]:
    """What a privacy officer must read beyond the scorecard, in one line each.

    Sensitive attributes are left out of the per-column line: they are what an attacker
    wants to learn, and l-diversity/t-closeness are their protection.
    """
    out = []
    rc = report.risk.released_columns
    if rc["unique_records"]:
        out.append(
            f"{rc['unique_records']} of {rc['records']} released records "
            f"({rc['unique_share']:.1%}) are unique over all released columns "
            f"({', '.join(rc['columns'])}): k = {report.models.k} holds for the "
            "quasi-identifiers only; an attacker who knows a patient's other released values "
            "singles these records out")
    single = {c: n for c, n in rc["singled_out_with_quasi_identifiers"].items()
              if n and c not in sensitive}
    if single:
        out.append("with the quasi-identifiers, each of these columns alone singles out "
                   "released records: " + ", ".join(f"{c} {n}" for c, n in single.items())
                   + "; a column an attacker can know belongs under quasi_identifiers")
    told = {c: n for c, n in rc.get("sensitive_disclosed_with_quasi_identifiers", {}).items()
            if n}
    if told:
        out.append(f"with the quasi-identifiers, each of these columns alone leaves classes "
                   f"whose {', '.join(sensitive)} fails the policy's l/t: "
                   + ", ".join(f"{c} {n} records" for c, n in told.items())
                   + f"; an attacker who knows it learns more of their {', '.join(sensitive)} "
                   "than l and t allow (l and t hold in the quasi-identifiers' classes only)")
    pseudo = report.pseudonym
    if pseudo and pseudo.linkable_across_releases:
        out.append(f"pseudonyms in {', '.join(pseudo.columns)}: {pseudo.note}")
    derived = [c for c, how in report.dates.items()
               if how.startswith(("days from", "generalised"))
               and c not in report.generalisation]  # a relative QI is in the classes
    if derived:
        out.append(f"{', '.join(derived)} derived from dates (dates.method) but not "
                   "quasi-identifiers: outside the k-anonymity classes, counted only in the "
                   "risk over all released columns")
    return tuple(out)


def assess(run: Release, *, population: pd.DataFrame | None,
           dictionary: Dictionary | None) -> AnonymizationReport:
    """Every figure of the release: models, risk (QIs and all columns), loss, utility."""
    policy, found = run.policy, run.found
    n = len(run.work)
    keep_rows = ~found.suppressed
    pseudo = _pseudonym_scope(policy, run.raw_pseudonyms)
    decimals = figure_decimals(n, policy.models.k)
    report = AnonymizationReport(
        policy=policy.name,
        purpose=policy.purpose,
        records_in=n,
        records_out=int(keep_rows.sum()),
        columns_out=tuple(run.released.columns),
        removed=run.removed,
        dates=run.date_log,
        pseudonym=pseudo,
        raw_pseudonyms={c: f"{role.replace('_', ' ')}: HMAC-SHA256 of '{role}:' + value, "
                           f"keyed, prefix {RAW_PREFIX.get(role, 'X')}, scope {policy.scope}"
                        for c, role in run.raw_pseudonyms.items()},
        models=policy.models,
        achieved=_achieved(run, decimals),
        generalisation_levels={
            h.column: GeneralisationLevel(s.type, lv, h.height, h.names[lv])
            for h, s, lv in zip(run.hierarchies, policy.quasi_identifiers, found.node,
                                strict=True)},
        information_loss=_information_loss(found, n),
        risk=_risk(run, population, hidden=set(pseudo.columns) if pseudo else set()),
        utility=_rounded_utility(_utility(run, dictionary, pseudo), policy.models.k),
    )
    return replace(report, warnings=_warnings(report, policy.sensitive))


def _rounded_utility(util: dict[str, Any], k: int) -> dict[str, Any]:
    """Utility figures rounded by the records they compare.

    Above :data:`~synthema.anonymize.utility.MAX_ROWS` input records a sample is compared,
    so the rounding follows the sample's size, not the input's: with 50,000 records and
    their 4 decimals, one sampled record moved a figure by a unit of its last digit.
    """
    decimals = figure_decimals(int(util["records"]["input"]), k)
    return coarsen(util, decimals) | {"decimals": decimals}


def _achieved(run: Release, decimals: int):
    """k, l and t of the released classes (suppressed records left out).

    t is measured against the whole input's distribution, suppressed records included, so
    with all its digits it narrows what the suppressed records held (a review recovered the
    suppressed patients' ELN split among a few dozen candidates): it is rounded *down* to
    ``decimals`` (:func:`figure_decimals`), which keeps the comparison with the required t
    exact (the search enforced it unrounded). k and l depend on released records only.
    """
    keep_rows = ~run.found.suppressed
    _, classes = np.unique(run.found.classes[keep_rows], return_inverse=True)
    kept = [SensitiveCodes(s.column, s.codes[keep_rows], s.n_values, s.ordered, s.reference)
            for s in run.sensitive]
    out = achieved(classes.astype(np.int64), kept)
    if out.t is None:
        return out
    # t is a ratio of record counts computed in floating point: an exact multiple of
    # 10^-decimals can land an ulp below it, and flooring that would report a whole unit
    # less (0.1 for an exact 0.2). 1e-9 is far above that error; a true t less than 1e-9
    # below a multiple is reported as the multiple (too high by < 1e-9: the conservative
    # side of the comparison with the policy's t)
    return replace(out, t=math.floor(out.t * 10**decimals + 1e-9) / 10**decimals)


def _information_loss(found: SearchResult, n: int) -> InformationLoss:
    return InformationLoss(
        generalisation_height=found.height,
        max_height=found.max_height,
        relative_height=round(found.height / found.max_height, 6) if found.max_height else 0.0,
        suppressed_records=int(found.suppressed.sum()),
        suppression_rate=round(float(found.suppressed.mean()), 6) if n else 0.0,
        non_uniform_entropy_bits=round(found.nue_bits, 3),
        non_uniform_entropy=round(found.nue, 6),
        lattice_nodes=found.nodes_total,
        lattice_nodes_evaluated=found.nodes_evaluated,
    )


def _risk(run: Release, population: pd.DataFrame | None, *, hidden: set[str]) -> ReleaseRisk:
    """Risk on the quasi-identifiers before and after, and over every released column."""
    policy, found = run.policy, run.found
    qi_cols = [h.column for h in policy.quasi_identifiers]
    # the input's classes from the hierarchies' level 0, the labels the population gets too
    before = class_keys(pd.DataFrame({h.column: h.labels[0] for h in run.hierarchies},
                                     columns=qi_cols))
    levels = [h.names[lv] for h, lv in zip(run.hierarchies, found.node, strict=True)]
    return ReleaseRisk(
        before=risk_measures(before, population=_population_keys(population, run.df, policy,
                                                                 None),
                             threshold=policy.threshold),
        after=risk_measures(class_keys(run.released[qi_cols]),
                            population=_population_keys(population, run.df, policy, levels),
                            threshold=policy.threshold),
        released_columns=_released_risk(
            run.released, qi_cols=qi_cols, hidden=hidden,
            windows=_shift_windows(run.df, policy, run.date_log, ~found.suppressed),
            threshold=policy.threshold, models=policy.models,
            sensitive=[replace(s, codes=s.codes[~found.suppressed]) for s in run.sensitive]),
    )  # fmt: skip


def _column_costs(run: Release, dictionary: Dictionary | None,
                  hidden: set[str]) -> dict[str, Any]:
    """Each input column's cost, original input vs release (:mod:`.column_cost`).

    Counted: the dictionary's columns and the released ones (pseudonyms aside), and columns
    the purpose left out; identifiers removed as identifiers are not data and stay out.
    """
    policy = run.policy
    gen: dict[str, tuple[HierarchySpec, str]] = {
        h.column: (s, h.names[lv]) for h, s, lv in zip(
            run.hierarchies, policy.quasi_identifiers, run.found.node, strict=True) if lv > 0}
    transformed = {c: how for c, how in run.date_log.items() if how.startswith("days from")}
    if policy.dates.method == "generalize":
        for c in run.date_log:
            spec = HierarchySpec(c, "date", levels=(policy.dates.granularity,))
            gen[c] = (spec, policy.dates.granularity)
    declared = [v.name for v in (dictionary.variables if dictionary else ())
                if v.name in run.df.columns and v.name not in hidden]
    columns = declared + [c for c in [*run.released.columns, *run.removed]
                          if c not in declared and c not in hidden
                          and (c in run.released.columns or run.removed[c] == NOT_NEEDED)]
    purpose = {*policy.keep, *policy.sensitive, *gen, *(h.column for h in run.hierarchies),
               *run.date_log}
    return column_costs(run.df, run.released, dictionary=dictionary, columns=columns,
                        removed=run.removed, generalised=gen, transformed=transformed,
                        purpose=purpose)


def _utility(run: Release, dictionary: Dictionary | None,
             pseudo: PseudonymScope | None) -> dict[str, Any]:
    """Each input column's cost (original input vs release), then evaluate's metrics on
    the input through the release's generalisation vs the release."""
    policy = run.policy
    durations = [s.column for s in policy.quasi_identifiers
                 if s.type == "interval" and dictionary is not None and s.column in dictionary
                 and dictionary[s.column].type is VariableType.DURATION]
    level = dict(zip([h.column for h in policy.quasi_identifiers], run.found.node, strict=True))
    hidden = set(pseudo.columns) if pseudo else set()
    costs = {"input_vs_release": _column_costs(run, dictionary, hidden)}
    return costs | utility_check(  # a quasi-identifier left at level 0 keeps its dictionary type
        run.generalised, ~run.found.suppressed, dictionary=dictionary,
        generalised={s.column: s.type for s in policy.quasi_identifiers
                     if s.column not in durations and level[s.column] > 0},
        bands=durations, changed=[*run.date_log, *run.anchor], exact=run.work,
        columns=[c for c in run.released.columns if c not in hidden])
