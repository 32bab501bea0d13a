"""Anonymisation: de-identification, minimisation, k-anonymity family, risk and utility.

``anonymize(df, load_policy("aml"))`` removes direct identifiers, keeps only the columns the
policy's purpose needs, pseudonymises patient ids with a keyed HMAC, transforms dates, and
generalises quasi-identifiers at the least-loss node of the hierarchy lattice that meets
k-anonymity, l-diversity and t-closeness within a suppression limit. The report measures
what was achieved, prosecutor/journalist/marketer risk, information loss and utility.
See docs/anonymize.md.
"""

from synthema.anonymize.deidentify import detect_identifiers, pseudonym, read_key
from synthema.anonymize.hierarchy import Hierarchy, build_hierarchy
from synthema.anonymize.models import class_measures
from synthema.anonymize.pipeline import AnonymizationResult, anonymize
from synthema.anonymize.policy import (
    BUILTIN_POLICIES,
    AnonymizationError,
    HierarchySpec,
    Models,
    Policy,
    load_policy,
)
from synthema.anonymize.report import render_html, tvd, write_report
from synthema.anonymize.risk import risk_measures
from synthema.anonymize.search import search

__all__ = [
    "BUILTIN_POLICIES",
    "AnonymizationError",
    "AnonymizationResult",
    "Hierarchy",
    "HierarchySpec",
    "Models",
    "Policy",
    "anonymize",
    "build_hierarchy",
    "class_measures",
    "detect_identifiers",
    "load_policy",
    "pseudonym",
    "read_key",
    "render_html",
    "risk_measures",
    "search",
    "tvd",
    "write_report",
]
