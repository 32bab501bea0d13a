"""The metric contract (SDMetrics style): class attributes plus a classmethod ``compute``.

A metric is a class, never an instance: ``name``, ``group``, ``goal``, ``min_value``,
``max_value``, ``unit`` and the documented ``thresholds`` (pass, warn) are class attributes, and
``compute(real, synthetic, *, context)`` returns a :class:`Outcome`: the raw value in the
metric's unit, JSON-able details for the report and, where the metric can tell, the
:class:`Limits` it is judged by at this data size.

**Statuses a perfect generator passes at any size.** The documented thresholds say how large a
difference matters; at a few hundred rows sampling noise alone can exceed them. So a metric
that knows what a perfect generator (a second sample of the same patients) would score widens
its thresholds to that: its ``Limits`` carry the pass and warn limits actually used, the
number compared with them (the value, or an interval's bound) and one sentence saying how
they were set. :meth:`Metric.judge` turns an outcome into a status and a score.

**Scores that cannot look good while a check fails.** The score maps the judged number onto
[0, 1] piecewise through the limits: a pass scores 0.75-1, a warn 0.5-0.75, a fail below 0.5.

>>> class Share(Metric):
...     name, group, goal, min_value, max_value = "share", "clinical", Goal.MINIMIZE, 0.0, 1.0
...     thresholds = (0.01, 0.05)
...     @classmethod
...     def compute(cls, real, synthetic, *, context):
...         return Outcome(0.02)
>>> Share.normalize(0.02), Share.status(0.02), Share.status(float("nan"))
(0.6875, 'warn', 'error')
>>> Share.judge(Outcome(0.02, limits=Limits(0.03, 0.06, 0.02, basis="null")))[:2]
('pass', 0.8333333333)
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
class Limits:
    """What a status was decided by, at this data size.

    ``passed`` and ``warned`` are the limits used (the documented thresholds, widened to what a
    perfect generator reaches here); ``judged`` is the number compared with them (the value, or
    the bound of its interval that decides); ``reference`` is what a perfect generator scores
    (the holdout's own value or the null's mean) when known; ``basis`` says how, in a sentence.
    """

    passed: float
    warned: float
    judged: float
    reference: float | None = None
    basis: str = ""
    #: a status a stated rule imposes whatever the number (e.g. a model worse than chance)
    override: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (rounded; NaN becomes None)."""
        return {"pass": finite(self.passed), "warn": finite(self.warned),
                "judged": finite(self.judged), "reference": finite(self.reference),
                "basis": self.basis, "override": self.override}


@dataclass(frozen=True)
class Outcome:
    """What ``compute`` returns: the raw value, details for the report (JSON-able) and, when
    the metric knows its sampling spread, the :class:`Limits` it is judged by."""

    value: float
    details: dict[str, Any] = field(default_factory=dict)
    limits: Limits | None = None


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
    #: the best value (None: ``min_value`` when minimising, ``max_value`` when maximising)
    ideal: ClassVar[float | None] = None
    description: ClassVar[str] = ""

    @classmethod
    def compute(
        cls, real: pd.DataFrame, synthetic: pd.DataFrame, *, context: EvaluationContext
    ) -> Outcome:
        """The raw value of the metric on ``synthetic`` against ``real``."""
        raise NotImplementedError  # abstract

    @classmethod
    def default_limits(cls, value: float) -> Limits:
        """The documented thresholds, judging the value itself."""
        return Limits(cls.thresholds[0], cls.thresholds[1], value)

    @classmethod
    def best(cls) -> float:
        """The ideal value."""
        if cls.ideal is not None:
            return cls.ideal
        return cls.min_value if cls.goal is Goal.MINIMIZE else cls.max_value

    @classmethod
    def score(cls, judged: float, passed: float, warned: float) -> float:
        """Score in [0, 1] (1 best): 0.75-1 inside the pass limit, 0.5-0.75 inside the warn
        limit, below 0.5 beyond it, linear in between (the worst value scores 0)."""
        if judged is None or math.isnan(judged):
            return math.nan
        sign = 1.0 if cls.goal is Goal.MINIMIZE else -1.0
        v, ideal, p, w = (sign * float(x) for x in (judged, cls.best(), passed, warned))
        worst = sign * (cls.max_value if cls.goal is Goal.MINIMIZE else cls.min_value)
        w = max(w, p)

        def between(x: float, lo: float, hi: float, top: float, bottom: float) -> float:
            return top if hi <= lo else top - (top - bottom) * (x - lo) / (hi - lo)

        if v <= ideal:
            out = 1.0
        elif v <= p:
            out = between(v, ideal, p, 1.0, 0.75)
        elif v <= w:
            out = between(v, p, w, 0.75, 0.5)
        else:
            out = 0.0 if v >= worst else min(between(v, w, worst, 0.5, 0.0), 0.4999)
        return round(min(max(out, 0.0), 1.0), 10)

    @classmethod
    def normalize(cls, value: float) -> float:
        """Score in [0, 1] of a value judged by the documented thresholds (:meth:`score`)."""
        return cls.score(value, *cls.thresholds)

    @classmethod
    def status(cls, value: float) -> str:
        """``pass``, ``warn`` or ``fail`` against :attr:`thresholds`; ``error`` for NaN."""
        return cls.status_within(value, *cls.thresholds)

    @classmethod
    def status_within(cls, judged: float, passed: float, warned: float) -> str:
        """``pass``, ``warn`` or ``fail`` of ``judged`` against the given limits."""
        if judged is None or math.isnan(judged):
            return "error"
        if cls.goal is Goal.MINIMIZE:
            return "pass" if judged <= passed else "warn" if judged <= warned else "fail"
        return "pass" if judged >= passed else "warn" if judged >= warned else "fail"

    @classmethod
    def judge(cls, outcome: Outcome) -> tuple[str, float, Limits]:
        """(status, score, limits) of an outcome: its own limits, else the thresholds.

        The status compares the judged number (the value, or the bound of its interval that
        decides) with the limits; an ``override`` imposes one. The score maps the value itself
        through the limits and is then held inside its status's band, so a gap of 0.16 that
        passes only because a small holdout cannot tell it from 0 scores 75, not 100.
        """
        limits = outcome.limits or cls.default_limits(outcome.value)
        if outcome.value is None or math.isnan(outcome.value):
            return "error", math.nan, limits
        status = limits.override or cls.status_within(limits.judged, limits.passed,
                                                      limits.warned)
        if status not in BANDS:
            status = cls.status_within(limits.judged, limits.passed, limits.warned)
        lo, hi = BANDS[status]
        raw = cls.score(outcome.value, limits.passed, limits.warned)
        return status, round(min(max(raw, lo), hi), 10), limits


#: the score range of each status
BANDS = {"pass": (0.75, 1.0), "warn": (0.5, 0.7499), "fail": (0.0, 0.4999)}


class AtMostHalfBetter(Metric):
    """Metrics whose ideal is 0.5 (a coin toss) and values above it are worse (AUROC, shares).

    Values below 0.5 are no worse than 0.5 (an attacker doing worse than chance can flip its
    guess, but a classifier below chance on held-out data is noise), so they score 1.
    """

    goal: ClassVar[Goal] = Goal.MINIMIZE
    ideal: ClassVar[float | None] = 0.5


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
