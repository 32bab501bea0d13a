"""Utility: does what is learnt from synthetic data hold on real patients?

Train-on-synthetic / test-on-real (TSTR) against train-on-real / test-on-real (TRTR), both tested
on the real holdout, for each classification target and for every survival pair of the
dictionary (Cox C-index), plus Kaplan-Meier agreement overall and per risk group, and a log-rank
test. The models use baseline covariates only (:mod:`synthema.evaluate.covariates`): outcomes
and what a rule ties to them define the outcome rather than predict it. Rows with a missing
target, time or event are counted and left out, per side.

Gaps are judged by a paired bootstrap over the holdout rows (:mod:`synthema.evaluate.bootstrap`):
a gap passes unless its lower confidence bound passes the limit, so sampling noise in a small
holdout never fails a perfect generator; a model trained on synthetic rows that ranks the
holdout worse than chance fails whatever the gap. Kaplan-Meier gaps are judged against null
splits of the real rows (:mod:`synthema.evaluate.null`).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import norm

from synthema.errors import IncomputableMetricError
from synthema.evaluate.bootstrap import paired_gap
from synthema.evaluate.classifier import fit_predict_proba
from synthema.evaluate.metric import Goal, Limits, Metric, Outcome, finite
from synthema.evaluate.null import LEVEL, widened
from synthema.evaluate.survival_pairs import (
    RISK_GROUPS,
    covariate_columns,
    survival_analysis,
)
from synthema.schema import VariableType

__all__ = ["RISK_GROUPS", "feature_columns", "survival_analysis"]

#: one-sided level of the bootstrap bounds that judge a gap
GAP_LEVEL = LEVEL


def feature_columns(context, real, outcome=()) -> tuple[list[str], np.ndarray]:
    """Baseline covariates (the same for every outcome) and their encoded column indices."""
    return covariate_columns(context, real)


def _labels(series: pd.Series, var) -> np.ndarray:
    if var.type is VariableType.BOOLEAN:
        return series.astype("boolean").astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    codes = pd.Categorical(series.astype("string"), categories=var.categories).codes
    return np.where(codes >= 0, codes, np.nan).astype(float)


def _auroc(test_y: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    present = np.unique(test_y)
    if len(present) < 2:
        return math.nan
    if len(present) == 2 and set(present) <= set(classes):
        pos = int(np.flatnonzero(classes == present[1])[0])
        return float(roc_auc_score(test_y == present[1], proba[:, pos]))
    full = np.zeros((len(test_y), int(max(present.max(), classes.max())) + 1))
    full[:, classes.astype(int)] = proba
    sub = full[:, present.astype(int)]
    sub = sub / np.maximum(sub.sum(axis=1, keepdims=True), 1e-12)
    return float(roc_auc_score(test_y, sub, multi_class="ovr", labels=present))


def _predict(train_x, train_y, test_x, test_y, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities for the test rows; a model that saw one class ranks every row alike."""
    if len(np.unique(train_y)) < 2:
        classes = np.unique(test_y)
        return np.full((len(test_x), len(classes)), 1.0 / len(classes)), classes
    return fit_predict_proba(train_x, train_y, test_x, random_state=seed)


def _classify(target: str, real, synthetic, holdout, context, cols) -> dict:
    """TRTR and TSTR AUROC of one target on the holdout, with their paired bootstrap."""
    var = context.dictionary[target]
    data, rows = {}, {}
    for key, df in (("real", real), ("synthetic", synthetic), ("holdout", holdout)):
        y = _labels(df[target], var)
        keep = ~np.isnan(y)
        data[key] = (context.encode(df, real)[keep][:, cols], y[keep])
        rows[key] = {"used": int(keep.sum()), "dropped_missing_target": int((~keep).sum())}
    if len(data["synthetic"][1]) == 0:
        raise IncomputableMetricError(f"the synthetic data have no value of '{target}'",
                                      fix="check the generator outputs the target column")
    test_x, test_y = data["holdout"]
    if len(np.unique(test_y)) < 2:
        raise IncomputableMetricError(f"the holdout has a single class of '{target}'",
                                      fix="use a larger holdout or another --target")
    pr = _predict(*data["real"], test_x, test_y, context.random_state)
    ps = _predict(*data["synthetic"], test_x, test_y, context.random_state)

    def score(idx):
        sel = slice(None) if idx is None else idx
        return _auroc(test_y[sel], pr[0][sel], pr[1]), _auroc(test_y[sel], ps[0][sel], ps[1])

    est = paired_gap(score, len(test_y), rng=context.rng(f"auroc-bootstrap-{target}"),
                     draws=200)
    return {"target": target, "trtr_auroc": est.first, "tstr_auroc": est.second,
            "gap": est.gap, "gap_sd": est.sd, "trtr_sd": est.sd_first, "tstr_sd": est.sd_second,
            "rows": rows}


#: two-sided 95 % normal quantile (the interval shown beside a gap, and "clearly" above chance)
_Z95 = 1.959963984540054


def _worse_than_chance(item: dict, first: str, second: str) -> str | None:
    """``fail`` when the synthetic-trained model is clearly worse than chance while the
    real-trained one is clearly better (95 % intervals); ``warn`` when its estimate alone is
    below chance; None otherwise."""
    sd1, sd2 = item[f"{first.split('_')[0]}_sd"], item[f"{second.split('_')[0]}_sd"]
    if not (math.isfinite(sd1) and math.isfinite(sd2)):
        return None
    if item[first] - _Z95 * sd1 <= 0.5:  # the real-trained model itself is not clearly useful
        return None
    if item[second] + _Z95 * sd2 < 0.5:
        return "fail"
    return "warn" if item[second] < 0.5 else None


def gap_limits(metric: type[Metric], items: list[dict], *, first: str, second: str,
               what: str) -> Limits:
    """Limits of the worst gap: judged by its lower bound, so a small holdout's noise never
    fails a perfect generator; a synthetic-trained model below chance while the real-trained
    one is clearly above it warns, or fails when clearly below (the C-index of 0.44)."""
    z = float(norm.ppf(1 - (1 - GAP_LEVEL) / max(len(items), 1)))
    lowers = [i["gap"] - z * i["gap_sd"] if math.isfinite(i["gap_sd"]) else i["gap"]
              for i in items]
    judged = max(lowers)
    worst = items[lowers.index(judged)]
    good, ok = metric.thresholds
    high = worst["gap"] + z * worst["gap_sd"] if math.isfinite(worst["gap_sd"]) else math.nan
    basis = (f"judged by the gap's lower {GAP_LEVEL:.1%} bound over a paired bootstrap of the "
             f"holdout rows: gap {worst['gap']:.3g}, interval {judged:.3g} to {high:.3g}"
             + (f" (Bonferroni over {len(items)} {what}s)" if len(items) > 1 else ""))
    if judged < good < high:
        basis += "; at this holdout size the check cannot tell such a loss from none"
    for i in items:
        verdict = _worse_than_chance(i, first, second)
        if verdict is not None:
            name = i.get("target") or i.get("event")
            return Limits(good, ok, judged, reference=0.0, override=verdict, basis=basis + (
                f"; the model trained on synthetic rows ranks the holdout "
                f"{'clearly ' if verdict == 'fail' else ''}worse than chance "
                f"({i[second]:.3g}) for {name}, the real-trained one clearly better "
                f"({i[first]:.3g})"))
    return Limits(good, ok, judged, reference=0.0, basis=basis)


class ClassificationGap(Metric):
    """AUROC lost by training on synthetic instead of real data (TRTR − TSTR, on the holdout)."""

    name = "classification_auroc_gap"
    group = "utility"
    goal = Goal.MINIMIZE
    min_value = -1.0
    ideal = 0.0
    unit = "AUROC points"
    thresholds = (0.05, 0.10)
    description = ("AUROC(train real, test holdout) − AUROC(train synthetic, test holdout), "
                   "HistGradientBoosting on baseline covariates; worst target; 0 = no loss")

    @classmethod
    def compute(cls, real, synthetic, *, context) -> Outcome:
        """Rows with a missing target are counted and left out of training and testing."""
        holdout = context.require_holdout("train-on-synthetic, test-on-real")
        names, cols = covariate_columns(context, real)
        items = [_classify(t, real, synthetic, holdout, context, cols)
                 for t in context.resolve_targets()]
        worst = max(items, key=lambda i: i["gap"])
        details = {"target": worst["target"], "trtr_auroc": finite(worst["trtr_auroc"]),
                   "tstr_auroc": finite(worst["tstr_auroc"]),
                   "targets": [{k: (finite(v) if isinstance(v, float) else v)
                                for k, v in i.items()} for i in items],
                   "features": names,
                   "model": "HistGradientBoostingClassifier (early stopping)",
                   "rows_used": {t["target"]: t["rows"] for t in items}}
        return Outcome(worst["gap"], details, gap_limits(
            cls, items, first="trtr_auroc", second="tstr_auroc", what="target"))


def _pair_details(results: list[dict], keys: tuple[str, ...]) -> list[dict]:
    return [{"time": r["time"], "event": r["event"], **{k: finite(r.get(k)) for k in keys}}
            for r in results]


def _survival_rows(results: list[dict]) -> dict:
    return {r["event"]: {"real": r["rows"]["real"], "synthetic": r["rows"]["synthetic"],
                         "dropped_missing_time_or_event": r["dropped"],
                         **({"holdout": r["holdout_rows"],
                             "holdout_dropped": r["holdout_dropped"]}
                            if "holdout_rows" in r else {})} for r in results}


class CIndexGap(Metric):
    """C-index lost by fitting the Cox model on synthetic data (TRTR − TSTR, holdout), worst."""

    name = "cindex_gap"
    group = "utility"
    goal = Goal.MINIMIZE
    min_value = -1.0
    ideal = 0.0
    unit = "C-index points"
    thresholds = (0.03, 0.06)
    description = ("Harrell's C on the holdout of a Cox model fitted on real minus one fitted on "
                   "synthetic data (baseline covariates, 30 screened, ridge 0.1), worst pair")

    @classmethod
    def compute(cls, real, synthetic, *, context) -> Outcome:
        """Needs the holdout; per pair C-indices and their bootstrap spread in details."""
        context.require_holdout("the C-index comparison")
        res = survival_analysis(real, synthetic, context)
        items = [{"event": r["event"], "gap": r["trtr_cindex"] - r["tstr_cindex"],
                  "gap_sd": r["gap_sd"], "trtr_cindex": r["trtr_cindex"],
                  "tstr_cindex": r["tstr_cindex"], "trtr_sd": r["trtr_sd"],
                  "tstr_sd": r["tstr_sd"]} for r in res]
        worst = max(items, key=lambda i: i["gap"])
        return Outcome(worst["gap"], {
            "pairs": _pair_details(res, ("trtr_cindex", "tstr_cindex", "gap_sd")),
            "covariates": res[0]["cox_covariates"], "rows_used": _survival_rows(res)},
            gap_limits(cls, items, first="trtr_cindex", second="tstr_cindex", what="pair"))


def _km_limits(metric, value: float, res: list[dict], key: str) -> Limits:
    null = [r["null"] for r in res]
    if key == "overall":
        draws = [max(v) for v in zip(*[n["overall"] for n in null], strict=False)]
    else:
        draws = [max(max(g) for g in gs) for gs in zip(*[n["groups"] for n in null],
                                                       strict=False)]
    return widened(metric, value, draws, scale=null[0]["scale"], source=null[0]["source"])


class KMDistance(Metric):
    """Largest vertical distance between real and synthetic Kaplan-Meier curves (worst pair)."""

    name = "km_distance"
    group = "utility"
    goal = Goal.MINIMIZE
    unit = "survival probability"
    thresholds = (0.10, 0.20)
    description = ("sup_t |S_real(t) − S_synthetic(t)| up to the horizon where both curves keep "
                   "10 % of their patients (at least 10) at risk, max over pairs")

    @classmethod
    def compute(cls, real, synthetic, *, context) -> Outcome:
        """Curves, bands, censoring marks and numbers at risk go into details for the report."""
        res = survival_analysis(real, synthetic, context)
        value = float(max(r["km_distance"] for r in res))
        keys = ("time", "event", "label", "unit", "rows", "dropped", "events", "grid", "ticks",
                "curves")
        return Outcome(value, {"pairs": [
            {k: r[k] for k in keys} | {"km_distance": finite(r["km_distance"]),
                                       "km_distance_full": finite(r["km_distance_full"]),
                                       "horizon": finite(r["horizon"])} for r in res],
            "rows_used": _survival_rows(res)}, _km_limits(cls, value, res, "overall"))


class KMRiskGroupDistance(Metric):
    """KM distance within risk tertiles of a Cox model fitted on the real data (worst group)."""

    name = "km_risk_group_distance"
    group = "utility"
    goal = Goal.MINIMIZE
    unit = "survival probability"
    thresholds = (0.15, 0.25)
    description = ("KM sup distance per risk group (tertiles of the real-data Cox risk on "
                   "baseline covariates, applied to both sets) up to each group's horizon, "
                   "max over groups and pairs")

    @classmethod
    def compute(cls, real, synthetic, *, context) -> Outcome:
        """Per pair and group distances and curves in details."""
        res = survival_analysis(real, synthetic, context)
        worst = max(g["km_distance"] for r in res for g in r["risk_groups"].values())
        return Outcome(float(worst), {"pairs": [
            {"time": r["time"], "event": r["event"], "label": r["label"], "unit": r["unit"],
             "grid": r["grid"], "ticks": r["ticks"], "cox_covariates": r["cox_covariates"],
             "groups": {n: {"rows": g["rows"], "km_distance": finite(g["km_distance"]),
                            "horizon": finite(g["horizon"]), "curves": g["curves"]}
                        for n, g in r["risk_groups"].items()}}
            for r in res], "rows_used": _survival_rows(res)},
            _km_limits(cls, float(worst), res, "groups"))


class LogRankP(Metric):
    """Log-rank p-value, real vs synthetic survival, Bonferroni-adjusted over pairs."""

    name = "logrank_p"
    group = "utility"
    goal = Goal.MAXIMIZE
    unit = "p-value"
    thresholds = (0.001, 0.0001)
    description = ("log-rank test of real vs synthetic survival (lifelines), smallest p over "
                   "pairs times their number (Bonferroni); with thousands of rows small "
                   "differences are significant")

    @classmethod
    def compute(cls, real, synthetic, *, context) -> Outcome:
        """Statistic and p-value per pair in details; the value is the adjusted smallest p."""
        res = survival_analysis(real, synthetic, context)
        p = min(1.0, len(res) * min(r["logrank_p"] for r in res))
        return Outcome(float(p), {"pairs": _pair_details(res, ("logrank_chi2", "logrank_p")),
                                  "adjustment": f"Bonferroni over {len(res)} pair(s)",
                                  "rows_used": _survival_rows(res)})
