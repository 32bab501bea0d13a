"""Reports (SDMetrics style): metrics grouped into properties, ``generate`` then getters.

A report runs each registered metric of its groups on (real, synthetic); a metric that fails
becomes NaN plus its error message and the rest is still computed. Scores are each metric's
normalised value in [0, 1] (1 best); a group's score is the mean of its metrics' scores.

>>> from synthema.schema import Dictionary
>>> d = Dictionary.from_mapping({"name": "x", "version": 1, "variables": [
...     {"name": "sex", "type": "categorical", "categories": ["F", "M"]}]})
>>> df = pd.DataFrame({"sex": pd.array(["F", "M", "M"], dtype="string")})
>>> r = FidelityReport(d, metrics=["column_distance"]).generate(df, df)
>>> r.get_score(), r.get_details("column_distance")["columns"][0]["distance"]
(1.0, 0.0)
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from synthema.errors import ParameterError, SynthemaError
from synthema.evaluate.context import EvaluationContext
from synthema.evaluate.metric import GROUPS, Metric, finite
from synthema.evaluate.registry import REGISTRY
from synthema.schema import Dictionary, load_dictionary

if TYPE_CHECKING:
    from synthema.harmonize.validate import Problem

_LOG = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class MetricResult:
    """One metric's outcome: raw value, normalised score, status, details or error."""

    name: str
    group: str
    value: float
    score: float
    status: str
    seconds: float
    details: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (NaN becomes null)."""
        metric = REGISTRY.get(self.name)
        out = {"name": self.name, "group": self.group, "value": finite(self.value),
               "score": finite(self.score), "status": self.status,
               "seconds": round(self.seconds, 3), "error": self.error}
        if metric is not None:
            out |= {"unit": metric.unit, "goal": metric.goal.value,
                    "min_value": finite(metric.min_value), "max_value": finite(metric.max_value),
                    "thresholds": {"pass": finite(metric.thresholds[0]),
                                   "warn": finite(metric.thresholds[1])},
                    "description": metric.description}
        return out | {"details": self.details}


def jsonable(obj: Any) -> Any:
    """``obj`` with numpy scalars and arrays made plain and NaN / inf made None.

    >>> jsonable({"a": np.float64("nan"), "b": [np.int64(2), (1.5,)]})
    {'a': None, 'b': [2, [1.5]]}
    """
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | np.ndarray):
        return [jsonable(v) for v in obj]
    if isinstance(obj, bool | np.bool_):
        return bool(obj)
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        return float(obj) if math.isfinite(obj) else None
    return obj


def _columns_of(df: pd.DataFrame, dictionary: Dictionary, which: str) -> pd.DataFrame:
    missing = [n for n in dictionary.names if n not in df.columns]
    if missing:
        raise SynthemaError(
            f"the {which} data lack {len(missing)} dictionary column(s): {', '.join(missing[:5])}",
            fix="harmonise the file onto the dictionary first (synthema harmonize / validate)",
        )
    return df[list(dictionary.names)].reset_index(drop=True)


class EvaluationReport:
    """Every group: fidelity, utility, privacy, clinical.

    Args:
        dictionary: the dictionary (object, built-in name or YAML path).
        metrics: names from :data:`synthema.evaluate.registry.REGISTRY` (default: every metric
            of the report's groups).
        holdout, target, random_state, n_attacks, max_rows, kway, secrets, problems: see
            :class:`synthema.evaluate.context.EvaluationContext`.
    """

    groups: ClassVar[tuple[str, ...]] = GROUPS

    def __init__(
        self,
        dictionary: Dictionary | str,
        *,
        metrics: Sequence[str] | None = None,
        holdout: pd.DataFrame | None = None,
        target: str | None = None,
        random_state: int = 0,
        n_attacks: int = 2000,
        max_rows: int = 5000,
        kway: int = 3,
        secrets: Sequence[str] | None = None,
        problems: Sequence[Problem] = (),
    ) -> None:
        self.dictionary = load_dictionary(dictionary)
        names = list(metrics) if metrics is not None else [
            n for n, m in REGISTRY.items() if m.group in self.groups]
        unknown = [n for n in names if n not in REGISTRY]
        if unknown:
            raise ParameterError(f"unknown metric(s) {unknown}; registered: {', '.join(REGISTRY)}",
                                 fix="name registered metrics (docs/evaluate.md lists them)")
        self.metrics: dict[str, type[Metric]] = {n: REGISTRY[n] for n in names}
        self._holdout = holdout
        self._settings = {"target": target, "random_state": random_state,
                          "n_attacks": n_attacks, "max_rows": max_rows, "kway": kway,
                          "secrets": list(secrets) if secrets is not None else None}
        self._problems = tuple(problems)
        self._results: dict[str, MetricResult] | None = None
        self._meta: dict[str, Any] = {}

    # -- run ----------------------------------------------------------------------------------
    def generate(self, real: pd.DataFrame, synthetic: pd.DataFrame, *,
                 progress: Progress | None = None) -> EvaluationReport:
        """Compute every metric; ``progress(done, total, name)`` is called before each one."""
        d = self.dictionary
        real = _columns_of(real, d, "real")
        synthetic = _columns_of(synthetic, d, "synthetic")
        holdout = None if self._holdout is None else _columns_of(self._holdout, d, "holdout")
        if not len(real) or not len(synthetic):
            raise SynthemaError("the real or synthetic data have no rows",
                                fix="evaluate non-empty files")
        context = EvaluationContext(d, holdout=holdout, problems=self._problems,
                                    **self._settings)
        settings = dict(self._settings)
        try:
            settings["target"] = context.resolve_target()
        except SynthemaError:
            pass
        results: dict[str, MetricResult] = {}
        total = len(self.metrics)
        start = time.perf_counter()
        for i, (name, metric) in enumerate(self.metrics.items()):
            if progress is not None:
                progress(i, total, name)
            results[name] = _run(metric, real, synthetic, context)
        if progress is not None:
            progress(total, total, "done")
        self._results = results
        self._meta = {
            "dictionary": {"name": d.name, "version": d.version, "variables": len(d)},
            "rows": {"real": len(real), "synthetic": len(synthetic),
                     "holdout": 0 if holdout is None else len(holdout)},
            "settings": settings,
            "seconds": round(time.perf_counter() - start, 3),
            "loader_problems": len(self._problems),
        }
        return self

    # -- getters ------------------------------------------------------------------------------
    def _require(self) -> dict[str, MetricResult]:
        if self._results is None:
            raise ValueError("the report has not been generated yet: call generate() first")
        return self._results

    @property
    def results(self) -> list[MetricResult]:
        """Metric results in report order."""
        return list(self._require().values())

    def get_score(self) -> float:
        """Mean of the group scores (NaN groups left out)."""
        scores = self.get_properties()["score"].dropna()
        return float(scores.mean()) if len(scores) else math.nan

    def get_properties(self) -> pd.DataFrame:
        """One row per group: mean score and counts of pass / warn / fail / error."""
        rows = []
        for group in self.groups:
            res = [r for r in self._require().values() if r.group == group]
            if not res:
                continue
            scores = [r.score for r in res if not math.isnan(r.score)]
            rows.append({"group": group, "score": float(np.mean(scores)) if scores else math.nan,
                         **{s: sum(r.status == s for r in res)
                            for s in ("pass", "warn", "fail", "error")}})
        return pd.DataFrame(rows, columns=["group", "score", "pass", "warn", "fail", "error"])

    def get_details(self, name: str) -> dict[str, Any]:
        """Details of one metric (per column, per rule, per pair, ...)."""
        results = self._require()
        if name not in results:
            raise ParameterError(
                f"metric {name!r} is not in this report; it has {', '.join(results)}",
                fix="ask for one of the metrics the report computed")
        return results[name].details

    def scorecard(self) -> pd.DataFrame:
        """One row per metric: group, value, score, status, thresholds, error."""
        rows = []
        for r in self.results:
            m = self.metrics[r.name]
            rows.append({"group": r.group, "metric": r.name, "value": r.value, "unit": m.unit,
                         "goal": m.goal.value, "pass": m.thresholds[0], "warn": m.thresholds[1],
                         "score": r.score, "status": r.status, "error": r.error})
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """Everything the report computed, JSON-able."""
        props = self.get_properties()
        return jsonable({
            "synthema_report": 1,
            "meta": self._meta,
            "score": finite(self.get_score()),
            "groups": {row.group: {"score": finite(row.score), "pass": int(row["pass"]),
                                   "warn": int(row.warn), "fail": int(row.fail),
                                   "error": int(row.error)} for _, row in props.iterrows()},
            "metrics": {r.name: r.to_dict() for r in self.results},
        })


def _run(metric: type[Metric], real, synthetic, context) -> MetricResult:
    start = time.perf_counter()
    try:
        out = metric.compute(real, synthetic, context=context)
        value, details, error = float(out.value), out.details, None
    except SynthemaError as exc:
        value, details = math.nan, {}
        error = exc.message + (f" (fix: {exc.fix})" if exc.fix else "")
    except Exception as exc:  # noqa: BLE001 - one failing metric must not sink the report
        _LOG.exception("metric %s failed", metric.name)
        value, details, error = math.nan, {}, f"{type(exc).__name__}: {exc}"
    return MetricResult(metric.name, metric.group, value, metric.normalize(value),
                        metric.status(value), time.perf_counter() - start, details, error)


class FidelityReport(EvaluationReport):
    """Fidelity metrics only."""

    groups = ("fidelity",)


class UtilityReport(EvaluationReport):
    """Utility metrics only."""

    groups = ("utility",)


class PrivacyReport(EvaluationReport):
    """Privacy metrics only."""

    groups = ("privacy",)


class ClinicalReport(EvaluationReport):
    """Clinical-plausibility metrics only."""

    groups = ("clinical",)


def evaluate(real: pd.DataFrame, synthetic: pd.DataFrame, *, dictionary: Dictionary | str,
             holdout: pd.DataFrame | None = None, progress: Progress | None = None,
             **options: Any) -> EvaluationReport:
    """Generate the full report; ``options`` are :class:`EvaluationReport` keywords."""
    report = EvaluationReport(dictionary, holdout=holdout, **options)
    return report.generate(real, synthetic, progress=progress)
