"""Validation of synthetic data: fidelity, utility, privacy attacks, clinical rules.

Imports no generator: a report only reads real, holdout and synthetic frames. Metrics are listed
in :data:`REGISTRY`; :func:`evaluate` runs them all, :func:`write_report` writes ``report.json``
and a self-contained ``report.html``. Metrics and thresholds: ``docs/evaluate.md``.
"""

from synthema.evaluate.context import EvaluationContext, Problem
from synthema.evaluate.metric import Goal, IncomputableMetricError, Metric, Outcome
from synthema.evaluate.registry import REGISTRY, metrics_of
from synthema.evaluate.report import (
    ClinicalReport,
    EvaluationReport,
    FidelityReport,
    MetricResult,
    PrivacyReport,
    UtilityReport,
    evaluate,
)

__all__ = [
    "REGISTRY",
    "ClinicalReport",
    "EvaluationContext",
    "EvaluationReport",
    "FidelityReport",
    "Goal",
    "IncomputableMetricError",
    "Metric",
    "MetricResult",
    "Outcome",
    "PrivacyReport",
    "Problem",
    "UtilityReport",
    "evaluate",
    "metrics_of",
]
