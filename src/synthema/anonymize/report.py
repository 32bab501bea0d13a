"""The anonymisation report as typed records, and the two files it is written to.

:func:`synthema.anonymize.anonymize` returns an :class:`AnonymizationReport`: what was
released (records, columns), what was removed and why, what happened to dates and
pseudonyms, the privacy models required and achieved, the generalisation chosen, the
information lost, the re-identification risk (before, after, and over every released
column) and the utility kept; for a raw site export also the harmonisation's counts and each
identifier column's fate. Each part is a frozen record; :meth:`AnonymizationReport.to_dict`
is the JSON form, made only at the edge: ``anonymization.json``, the HTML page
(:mod:`synthema.anonymize.html`) and the command's summary render it.

The risk and utility parts are kept as the JSON-ready figures their modules compute
(:func:`synthema.anonymize.risk.risk_measures`, :mod:`synthema.anonymize.linkage`,
:func:`synthema.anonymize.utility.utility_check`, whose metrics are
``synthema.evaluate`` results).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from synthema.anonymize.policy import Models
from synthema.anonymize.privacy_models import Achieved

#: why a column the purpose does not need was left out (minimisation)
NOT_NEEDED = "not needed for the purpose"
#: the site-internal harmonisation counts written next to the report (never published)
INTERNAL_NAME = "harmonization.json"

@dataclass(frozen=True)
class InformationLoss:
    """What generalisation and suppression cost (heights, suppression, entropy, the search)."""

    generalisation_height: int
    max_height: int
    relative_height: float
    suppressed_records: int
    suppression_rate: float
    non_uniform_entropy_bits: float
    non_uniform_entropy: float
    lattice_nodes: int
    lattice_nodes_evaluated: int


@dataclass(frozen=True)
class GeneralisationLevel:
    """The level chosen for one quasi-identifier, of how many, and what it shows."""

    hierarchy: str
    level: int
    highest: int
    shows: str


@dataclass(frozen=True)
class PseudonymScope:
    """The pseudonym columns, how they are made, and how far they link across releases."""

    column: str | None
    columns: tuple[str, ...]
    method: str
    scope: str
    study: str | None
    linkable_across_releases: bool
    dates_linkable_across_releases: bool
    note: str


@dataclass(frozen=True)
class ReleaseRisk:
    """Re-identification risk of the input and the release on the quasi-identifiers
    (:func:`~synthema.anonymize.risk.risk_measures`), and of the release over every released
    column (:func:`~synthema.anonymize.linkage.linkage_risk`)."""

    before: Mapping[str, Any]
    after: Mapping[str, Any]
    released_columns: Mapping[str, Any]


@dataclass(frozen=True)
class InputFile:
    """A raw export as read: its name (no folder), rows, and rows with no mapped value."""

    file: str
    rows: int
    rows_without_values: int


@dataclass(frozen=True)
class Harmonization:
    """What harmonising a raw export in memory dropped and repaired: counts, never values."""

    file: str
    mapping: str
    rows_in: int
    rows_out: int
    rows_without_values: int
    dropped_total: int
    repaired_total: int
    declared_missing_total: int
    columns: tuple[Mapping[str, Any], ...]
    all_values_dropped: tuple[str, ...]
    missing_variables: tuple[str, ...]
    ignored_columns: tuple[str, ...]
    missing_ids: int
    duplicate_ids: int
    rule_violations: Mapping[str, int]

    def published(self) -> dict[str, Any]:
        """What the release's report may say: the file and its row counts, nothing per column.

        The per-column counts (values present, carried, dropped, repaired) are over every
        row of the export, suppressed records and columns the policy left out included:
        subtracted from the release they give exact counts about the suppressed patients
        (a review read the missing ELN values among 127 suppressed records that way). They
        stay at the site, in ``harmonization.json`` (:func:`write_report`).
        """
        return {"file": self.file, "mapping": self.mapping, "rows_in": self.rows_in,
                "rows_out": self.rows_out, "detail": INTERNAL_NAME + " (site-internal)"}


@dataclass(frozen=True)
class IdentifierColumn:
    """One identifier column of a raw export: its kind, its values, what happened to it."""

    source: str
    column: str
    role: str
    values: int
    action: str = ""
    date_format: str | None = None
    dropped: Mapping[str, int] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"source": self.source, "column": self.column, "role": self.role,
                               "values": self.values}
        if self.dropped is not None:  # a birth date read as dates (released generalised)
            out |= {"date_format": self.date_format, "dropped": dict(self.dropped)}
        return out | {"action": self.action}


@dataclass(frozen=True)
class AnonymizationReport:
    """Every figure of one release (see the module docstring; JSON: :meth:`to_dict`)."""

    policy: str
    purpose: str
    records_in: int
    records_out: int
    columns_out: tuple[str, ...]
    removed: Mapping[str, str]
    dates: Mapping[str, str]
    pseudonym: PseudonymScope | None
    raw_pseudonyms: Mapping[str, str]
    models: Models
    achieved: Achieved
    generalisation_levels: Mapping[str, GeneralisationLevel]
    information_loss: InformationLoss
    risk: ReleaseRisk
    utility: Mapping[str, Any]
    warnings: tuple[str, ...] = ()
    input: InputFile | None = None
    harmonization: Harmonization | None = None
    identifiers: tuple[IdentifierColumn, ...] | None = field(default=None)

    @property
    def generalisation(self) -> dict[str, str]:
        """Each quasi-identifier's level as ``"level of highest"``."""
        return {c: f"{g.level} of {g.highest}" for c, g in self.generalisation_levels.items()}

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``anonymization.json``); a raw export's parts come first."""
        raw: dict[str, Any] = {}
        if self.input is not None:
            raw["input"] = asdict(self.input)
        if self.harmonization is not None:
            raw["harmonization"] = self.harmonization.published()
        if self.identifiers is not None:
            raw["identifiers"] = [i.to_dict() for i in self.identifiers]
        return {"policy": self.policy, "purpose": self.purpose, **raw, **_plain({
            "records_in": self.records_in,
            "records_out": self.records_out,
            "columns_out": list(self.columns_out),
            "removed": dict(self.removed),
            "dates": dict(self.dates),
            "pseudonym": None if self.pseudonym is None else asdict(self.pseudonym),
            "raw_pseudonyms": dict(self.raw_pseudonyms),
            "models": asdict(self.models),
            "achieved": self.achieved.as_dict(),
            "generalisation": self.generalisation,
            "generalisation_levels": {c: asdict(g) for c, g in self.generalisation_levels.items()},
            "information_loss": asdict(self.information_loss),
            "risk": asdict(self.risk),
            "utility": dict(self.utility),
            "warnings": list(self.warnings),
        })}


def _plain(value: Any) -> Any:
    """Tuples as lists and mappings as dicts, all the way down (what JSON holds)."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def report_dict(report: AnonymizationReport | Mapping[str, Any]) -> dict[str, Any]:
    """The JSON form of a report given as the record or already as that form."""
    return report.to_dict() if isinstance(report, AnonymizationReport) else dict(report)


def write_report(report: AnonymizationReport | Mapping[str, Any], directory: str | Path, *,
                 version: str = "") -> list[Path]:
    """Write ``anonymization.json`` and ``anonymization.html`` into ``directory``."""
    from synthema.anonymize.html import render_html

    data = report_dict(report)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / "anonymization.json"
    json_path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    html_path = directory / "anonymization.html"
    html_path.write_text(render_html(data, version=version), encoding="utf-8")
    paths = [json_path, html_path]
    harm = getattr(report, "harmonization", None)
    if harm is not None:  # counts over every row and column of the export: not for release
        internal = directory / INTERNAL_NAME
        internal.write_text(json.dumps({
            "not_for_release": "counts over every row of the raw export, suppressed records "
                               "and columns not released included: keep at the site",
            **_plain(asdict(harm))}, indent=2, default=str) + "\n", encoding="utf-8")
        paths.append(internal)
    return paths
