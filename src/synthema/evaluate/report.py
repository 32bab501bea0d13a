"""Reports (SDMetrics style): metrics grouped into properties, ``generate`` then getters.

A report runs each registered metric of its groups on (real, synthetic); a metric that fails
becomes NaN plus its error message and the rest is still computed. Each metric's status and
score come from :meth:`synthema.evaluate.metric.Metric.judge` (a pass scores 0.75-1, a warn
0.5-0.75, a fail below 0.5). A group's score is the mean of its metrics' scores, held below
0.75 while one of them warns and below 0.5 while one fails; a group with a metric that could
not be computed has no score (the metrics not computed are listed instead), so reports with
and without a holdout never score different metric sets under one name.

>>> from synthema.schema import Dictionary
>>> d = Dictionary.from_mapping({"name": "x", "version": 1, "variables": [
...     {"name": "sex", "type": "categorical", "categories": ["F", "M"]}]})
>>> df = pd.DataFrame({"sex": pd.array(["F", "M", "M"], dtype="string")})
>>> r = FidelityReport(d, metrics=["column_distance"]).generate(df, df)
>>> r.get_score(), r.get_details("column_distance")["columns"][0]["distance"]
(1.0, 0.0)
>>> capped_mean([0.9, 0.95, 0.3], ["pass", "pass", "fail"])
0.4999
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
from synthema.evaluate.metric import GROUPS, Limits, Metric, Outcome, finite
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
    limits: Limits | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (NaN becomes null)."""
        metric = REGISTRY.get(self.name)
        out = {"name": self.name, "group": self.group, "value": finite(self.value),
               "score": finite(self.score), "status": self.status,
               "seconds": round(self.seconds, 3), "error": self.error,
               "limits": self.limits.to_dict() if self.limits is not None else None}
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
        target: str | Sequence[str] | None = None,
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
            settings["targets"] = context.resolve_targets()
            settings["target"] = settings["targets"][0]
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
            "covariates": {"used": context.covariates[0], "left_out": context.covariates[1]},
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
        """Mean of the group scores, capped like them; NaN when a group has no score."""
        props = self.get_properties()
        if not len(props) or props["score"].isna().any():
            return math.nan
        worst = ["fail" if r.fail else "warn" if r.warn else "pass" for r in props.itertuples()]
        return capped_mean(props["score"].tolist(), worst)

    def get_properties(self) -> pd.DataFrame:
        """One row per group: score, counts of pass / warn / fail / error, metrics not computed.

        The score is NaN when a metric of the group could not be computed.
        """
        rows = []
        for group in self.groups:
            res = [r for r in self._require().values() if r.group == group]
            if not res:
                continue
            missing = [r.name for r in res if r.status == "error"]
            score = math.nan if missing else capped_mean([r.score for r in res],
                                                         [r.status for r in res])
            rows.append({"group": group, "score": score,
                         **{s: sum(r.status == s for r in res)
                            for s in ("pass", "warn", "fail", "error")},
                         "not_computed": missing})
        return pd.DataFrame(rows, columns=["group", "score", "pass", "warn", "fail", "error",
                                           "not_computed"])

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
        from synthema.evaluate.verdict import verdict_of

        props = self.get_properties()
        out = jsonable({
            "synthema_report": 1,
            "meta": self._meta,
            "score": finite(self.get_score()),
            "groups": {row.group: {"score": finite(row.score), "pass": int(row["pass"]),
                                   "warn": int(row.warn), "fail": int(row.fail),
                                   "error": int(row.error),
                                   "not_computed": list(row.not_computed)}
                       for _, row in props.iterrows()},
            "metrics": {r.name: r.to_dict() for r in self.results},
        })
        out["verdict"] = verdict_of(out).to_dict()
        return out


def capped_mean(scores: Sequence[float], statuses: Sequence[str]) -> float:
    """Mean score held below 0.5 while a status is ``fail`` and below 0.75 while one warns."""
    mean = float(np.mean(scores))
    if "fail" in statuses:
        return min(mean, 0.4999)
    if "warn" in statuses:
        return min(mean, 0.7499)
    return mean


def _run(metric: type[Metric], real, synthetic, context) -> MetricResult:
    start = time.perf_counter()
    try:
        out = metric.compute(real, synthetic, context=context)
        out = Outcome(float(out.value), out.details, out.limits)
        error = None
    except SynthemaError as exc:
        out = Outcome(math.nan)
        error = exc.message + (f" (fix: {exc.fix})" if exc.fix else "")
    except Exception as exc:  # noqa: BLE001 - one failing metric must not sink the report
        _LOG.exception("metric %s failed", metric.name)
        out, error = Outcome(math.nan), f"{type(exc).__name__}: {exc}"
    status, score, limits = metric.judge(out)
    return MetricResult(metric.name, metric.group, out.value, score, status,
                        time.perf_counter() - start, out.details, error,
                        limits if error is None else None)


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
