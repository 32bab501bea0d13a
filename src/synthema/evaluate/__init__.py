"""Validation of synthetic data: fidelity, utility, privacy attacks, clinical rules.

Imports no generator: a report only reads real, holdout and synthetic frames. Metrics are listed
in :data:`REGISTRY`; :func:`evaluate` runs them all on frames, :func:`evaluate_files` on files
and writes ``report.json`` and a self-contained ``report.html``. Metrics and thresholds:
``docs/evaluate.md``.
"""

from synthema.errors import IncomputableMetricError
from synthema.evaluate.context import EvaluationContext
from synthema.evaluate.files import EvaluatedFiles, evaluate_files
from synthema.evaluate.metric import Goal, Metric, Outcome
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
    "EvaluatedFiles",
    "EvaluationReport",
    "FidelityReport",
    "Goal",
    "IncomputableMetricError",
    "Metric",
    "MetricResult",
    "Outcome",
    "PrivacyReport",
    "UtilityReport",
    "evaluate",
    "evaluate_files",
    "metrics_of",
]
