"""The metric contract (SDMetrics style): class attributes plus a classmethod ``compute``.

A metric is a class, never an instance: ``name``, ``group``, ``goal``, ``min_value``,
``max_value``, ``unit`` and the documented ``thresholds`` (pass, warn) are class attributes, and
``compute(real, synthetic, *, context)`` returns a :class:`Outcome` (the raw value in the
metric's unit plus JSON-able details for the report). :meth:`Metric.normalize` maps the raw value
to a score in [0, 1] where 1 is best, and :meth:`Metric.status` to pass / warn / fail against the
thresholds documented in ``docs/evaluate.md``.

>>> class Share(Metric):
...     name, group, goal, min_value, max_value = "share", "clinical", Goal.MINIMIZE, 0.0, 1.0
...     thresholds = (0.01, 0.05)
...     @classmethod
...     def compute(cls, real, synthetic, *, context):
...         return Outcome(0.02)
>>> Share.normalize(0.02), Share.status(0.02), Share.status(float("nan"))
(0.98, 'warn', 'error')
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import pandas as pd

    from synthema.evaluate.context import EvaluationContext

GROUPS = ("fidelity", "utility", "privacy", "clinical")


class Goal(StrEnum):
    """Which direction of the raw value is better."""

    MAXIMIZE = "maximize"
    MINIMIZE = "minimize"


@dataclass(frozen=True)
class Outcome:
    """What ``compute`` returns: the raw value and details for the report (JSON-able)."""

    value: float
    details: dict[str, Any] = field(default_factory=dict)


class Metric:
    """Base class: subclasses set the class attributes and implement ``compute``."""

    name: ClassVar[str] = ""
    group: ClassVar[str] = ""
    goal: ClassVar[Goal] = Goal.MAXIMIZE
    min_value: ClassVar[float] = 0.0
    max_value: ClassVar[float] = 1.0
    unit: ClassVar[str] = "fraction"
    #: value at which the metric passes, and at which it still only warns (direction = goal)
    thresholds: ClassVar[tuple[float, float]] = (math.nan, math.nan)
    description: ClassVar[str] = ""

    @classmethod
    def compute(
        cls, real: pd.DataFrame, synthetic: pd.DataFrame, *, context: EvaluationContext
    ) -> Outcome:
        """The raw value of the metric on ``synthetic`` against ``real``."""
        raise NotImplementedError  # abstract

    @classmethod
    def normalize(cls, value: float) -> float:
        """Score in [0, 1], 1 best (SDMetrics ``BaseMetric.normalize``)."""
        if value is None or math.isnan(value):
            return math.nan
        lo, hi = cls.min_value, cls.max_value
        v = min(max(float(value), lo), hi)
        frac = (v - lo) / (hi - lo)
        return round(frac if cls.goal is Goal.MAXIMIZE else 1.0 - frac, 12)

    @classmethod
    def status(cls, value: float) -> str:
        """``pass``, ``warn`` or ``fail`` against :attr:`thresholds`; ``error`` for NaN."""
        if value is None or math.isnan(value):
            return "error"
        good, ok = cls.thresholds
        if cls.goal is Goal.MINIMIZE:
            return "pass" if value <= good else "warn" if value <= ok else "fail"
        return "pass" if value >= good else "warn" if value >= ok else "fail"


class AtMostHalfBetter(Metric):
    """Metrics whose ideal is 0.5 (a coin toss) and values above it are worse (AUROC, shares).

    Values below 0.5 are no worse than 0.5 (an attacker doing worse than chance can flip its
    guess, but a classifier below chance on held-out data is noise), so they score 1.
    """

    goal: ClassVar[Goal] = Goal.MINIMIZE

    @classmethod
    def normalize(cls, value: float) -> float:
        """1 at or below 0.5, falling linearly to 0 at 1."""
        if value is None or math.isnan(value):
            return math.nan
        return round(1.0 - 2.0 * max(0.0, min(float(value), 1.0) - 0.5), 12)


def finite(value: Any) -> float | None:
    """A JSON-safe float (None for NaN/inf), rounded to 6 significant digits.

    >>> finite(0.1234567891), finite(float("nan"))
    (0.123457, None)
    """
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(v):
        return None
    return float(f"{v:.6g}")
