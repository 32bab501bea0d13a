"""Anonymisation: de-identification, minimisation, k-anonymity family, risk and utility.

``anonymize(df, load_policy("aml"))`` removes direct identifiers, keeps only the columns the
policy's purpose needs, pseudonymises patient ids with a keyed HMAC, transforms dates, and
generalises quasi-identifiers at the least-loss node of the hierarchy lattice that meets
k-anonymity, l-diversity and t-closeness within a suppression limit. The report measures
what was achieved, prosecutor/journalist/marketer risk, information loss and utility (through
:mod:`synthema.evaluate`). ``anonymize_export(raw, policy, mapping=...)`` takes a raw site
export instead: harmonised in memory, its identifiers handled as the policy's ``raw:`` says.
See docs/anonymize.md.
"""

from synthema.anonymize.deidentify import (
    detect_identifiers,
    identifier_role,
    pseudonym,
    read_key,
)
from synthema.anonymize.hierarchy import Hierarchy, build_hierarchy
from synthema.anonymize.html import render_html, scorecard_metrics
from synthema.anonymize.pipeline import AnonymizationResult, anonymize
from synthema.anonymize.policy import (
    BUILTIN_POLICIES,
    RAW_ROLES,
    HierarchySpec,
    Models,
    Policy,
    load_policy,
)
from synthema.anonymize.privacy_models import class_measures
from synthema.anonymize.raw import anonymize_export
from synthema.anonymize.report import AnonymizationReport, write_report
from synthema.anonymize.risk import risk_measures
from synthema.anonymize.search import search
from synthema.anonymize.utility import utility_check
from synthema.errors import AnonymizationError

__all__ = [
    "BUILTIN_POLICIES",
    "RAW_ROLES",
    "AnonymizationError",
    "AnonymizationReport",
    "AnonymizationResult",
    "Hierarchy",
    "HierarchySpec",
    "Models",
    "Policy",
    "anonymize",
    "anonymize_export",
    "build_hierarchy",
    "class_measures",
    "detect_identifiers",
    "identifier_role",
    "load_policy",
    "pseudonym",
    "read_key",
    "render_html",
    "risk_measures",
    "scorecard_metrics",
    "search",
    "utility_check",
    "write_report",
]
