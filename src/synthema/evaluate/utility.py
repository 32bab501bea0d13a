"""Utility: does what is learnt from synthetic data hold on real patients?

Train-on-synthetic / test-on-real (TSTR) against train-on-real / test-on-real (TRTR), both tested
on the real holdout, for a classification target and for every survival pair of the dictionary
(Cox C-index), plus Kaplan-Meier agreement overall and per risk group, and a log-rank test.
Columns tied to the outcome by a clinical rule are left out of the features, because they
encode its definition (``cr`` from ``induction_response``), not the patient.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthema.errors import IncomputableMetricError
from synthema.evaluate.classifier import fit_predict_proba
from synthema.evaluate.encoding import numeric_values
from synthema.evaluate.metric import Goal, Metric, Outcome, finite
from synthema.evaluate.survival import (
    MAX_COX_COVARIATES,
    concordance_index,
    cox_screen,
    curve_points,
    fit_cox,
    kaplan_meier,
    km_max_distance,
    logrank,
)
from synthema.schema import VariableType

RISK_GROUPS = ("low", "intermediate", "high")
_PLOT_POINTS = 120


def feature_columns(context, real, outcome: list[str]) -> tuple[list[str], np.ndarray]:
    """Predictor variables for an outcome and their encoded column indices."""
    d = context.dictionary
    drop = set(outcome) | context.linked_columns(outcome)
    for pair in d.survival:
        drop |= {pair.time, pair.event}
    names = [v.name for v in d.variables
             if v.name not in drop and v.type is not VariableType.DATE]
    if not names:
        raise IncomputableMetricError(f"no predictors left for {', '.join(outcome)}",
                                      fix="evaluate a dictionary with baseline covariates")
    return names, context.encoder(real).columns(names)


def _labels(series: pd.Series, var) -> np.ndarray:
    if var.type is VariableType.BOOLEAN:
        return series.astype("boolean").astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    codes = pd.Categorical(series.astype("string"), categories=var.categories).codes
    return np.where(codes >= 0, codes, np.nan).astype(float)


def _auroc(train_x, train_y, test_x, test_y, seed: int) -> float:
    from sklearn.metrics import roc_auc_score

    present = np.unique(test_y)
    if len(present) < 2:
        raise IncomputableMetricError("the holdout has a single target class",
                                      fix="use a larger holdout or another --target")
    if len(np.unique(train_y)) < 2:
        return 0.5  # a model that saw one class ranks every test row alike
    proba, classes = fit_predict_proba(train_x, train_y, test_x, random_state=seed)
    if len(present) == 2 and set(present) <= set(classes):
        pos = int(np.flatnonzero(classes == present[1])[0])
        return float(roc_auc_score(test_y == present[1], proba[:, pos]))
    full = np.zeros((len(test_y), int(max(present.max(), classes.max())) + 1))
    full[:, classes.astype(int)] = proba
    sub = full[:, present.astype(int)]
    sub = sub / np.maximum(sub.sum(axis=1, keepdims=True), 1e-12)
    return float(roc_auc_score(test_y, sub, multi_class="ovr", labels=present))


class ClassificationGap(Metric):
    """AUROC lost by training on synthetic instead of real data (TRTR − TSTR, on the holdout)."""

    name = "classification_auroc_gap"
    group = "utility"
    goal = Goal.MINIMIZE
    min_value = -1.0
    unit = "AUROC points"
    thresholds = (0.05, 0.10)
    description = ("AUROC(train real, test holdout) − AUROC(train synthetic, test holdout), "
                   "HistGradientBoosting; 0 = no loss")

    @classmethod
    def normalize(cls, value: float) -> float:
        """1 when synthetic training loses nothing (or gains), 0 at a loss of 0.5 or more."""
        if value is None or np.isnan(value):
            return float("nan")
        return float(1.0 - min(max(value, 0.0), 0.5) / 0.5)

    @classmethod
    def compute(cls, real, synthetic, *, context) -> Outcome:
        """Rows with a missing target are left out of training and testing."""
        holdout = context.require_holdout("train-on-synthetic, test-on-real")
        target = context.resolve_target()
        var = context.dictionary[target]
        names, cols = feature_columns(context, real, [target])
        data = {}
        for key, df in (("real", real), ("synthetic", synthetic), ("holdout", holdout)):
            y = _labels(df[target], var)
            keep = ~np.isnan(y)
            data[key] = (context.encode(df, real)[keep][:, cols], y[keep])
        if len(data["synthetic"][1]) == 0:
            raise IncomputableMetricError(f"the synthetic data have no value of '{target}'",
                                          fix="check the generator outputs the target column")
        trtr = _auroc(*data["real"], *data["holdout"], context.random_state)
        tstr = _auroc(*data["synthetic"], *data["holdout"], context.random_state)
        return Outcome(trtr - tstr, {"target": target, "trtr_auroc": finite(trtr),
                                     "tstr_auroc": finite(tstr), "features": names,
                                     "model": "HistGradientBoostingClassifier (early stopping)"})


def _surv_arrays(df: pd.DataFrame, pair, context) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t = numeric_values(df[pair.time], context.dictionary[pair.time])
    e = numeric_values(df[pair.event], context.dictionary[pair.event])
    keep = ~(np.isnan(t) | np.isnan(e))
    return t[keep], e[keep].astype(bool), keep


def _analyse_pair(real, synthetic, holdout, pair, context) -> dict:
    tr, er, kr = _surv_arrays(real, pair, context)
    ts, es, ks = _surv_arrays(synthetic, pair, context)
    if len(tr) == 0 or not er.any():
        raise IncomputableMetricError(f"the real data have no events of '{pair.event}'",
                                      fix="evaluate survival on data with follow-up")
    km_r, km_s = kaplan_meier(tr, er), kaplan_meier(ts, es)
    top = float(max(tr.max(), ts.max() if len(ts) else 0.0))
    grid = np.linspace(0.0, top, _PLOT_POINTS)
    out: dict = {
        "time": pair.time, "event": pair.event, "label": pair.label or pair.time,
        "rows": {"real": int(len(tr)), "synthetic": int(len(ts))},
        "km_distance": km_max_distance(km_r, km_s),
        "grid": [round(float(g), 2) for g in grid],
        "curves": {"real": curve_points(km_r, grid), "synthetic": curve_points(km_s, grid)},
    }
    if len(ts) and es.any():
        out["logrank_chi2"], out["logrank_p"] = logrank(tr, er, ts, es)
    else:
        out["logrank_chi2"], out["logrank_p"] = float("nan"), 0.0
    names, cols = feature_columns(context, real, [pair.time, pair.event])
    xr = context.encode(real, real)[kr]
    xs = context.encode(synthetic, real)[ks]
    k = min(MAX_COX_COVARIATES, len(cols))
    real_model = fit_cox(xr, tr, er, cols[cox_screen(xr[:, cols], tr, er, k)])
    rr, rs = real_model.risk(xr), real_model.risk(xs)
    cuts = np.quantile(rr, [1 / 3, 2 / 3])
    groups = {}
    for g, name in enumerate(RISK_GROUPS):
        in_r, in_s = np.digitize(rr, cuts) == g, np.digitize(rs, cuts) == g
        a, b = kaplan_meier(tr[in_r], er[in_r]), kaplan_meier(ts[in_s], es[in_s])
        groups[name] = {"rows": {"real": int(in_r.sum()), "synthetic": int(in_s.sum())},
                        "km_distance": km_max_distance(a, b) if in_r.any() and in_s.any()
                        else 1.0,
                        "curves": {"real": curve_points(a, grid),
                                   "synthetic": curve_points(b, grid)}}
    out["risk_groups"] = groups
    chosen, slices = set(real_model.columns.tolist()), context.encoder(real).slices
    out["cox_covariates"] = [n for n in names
                             if chosen & set(range(slices[n].start, slices[n].stop))]
    if holdout is not None:
        th, eh, kh = _surv_arrays(holdout, pair, context)
        xh = context.encode(holdout, real)[kh]
        out["trtr_cindex"] = concordance_index(th, real_model.risk(xh), eh)
        if len(ts) and es.any():
            syn_model = fit_cox(xs, ts, es, cols[cox_screen(xs[:, cols], ts, es, k)])
            out["tstr_cindex"] = concordance_index(th, syn_model.risk(xh), eh)
        else:
            out["tstr_cindex"] = 0.5
    return out


def survival_analysis(real, synthetic, context) -> list[dict]:
    """All survival pairs analysed once and shared by the survival metrics."""
    pairs = context.dictionary.survival
    if not pairs:
        raise IncomputableMetricError(f"dictionary '{context.dictionary.name}' has no survival "
                                      "pair", fix="declare survival: [{time, event}]")
    holdout = context.holdout if context.holdout is not None and len(context.holdout) else None
    return context.memo("survival", (real, synthetic, holdout), lambda: [
        _analyse_pair(real, synthetic, holdout, p, context) for p in pairs])


def _pair_details(results: list[dict], keys: tuple[str, ...]) -> list[dict]:
    return [{"time": r["time"], "event": r["event"], **{k: finite(r.get(k)) for k in keys}}
            for r in results]


class CIndexGap(Metric):
    """C-index lost by fitting the Cox model on synthetic data (TRTR − TSTR, holdout), mean."""

    name = "cindex_gap"
    group = "utility"
    goal = Goal.MINIMIZE
    min_value = -1.0
    unit = "C-index points"
    thresholds = (0.03, 0.06)
    description = ("Harrell's C on the holdout of a Cox model fitted on real minus one fitted on "
                   "synthetic data (30 screened covariates, ridge 0.1), mean over survival pairs")
    normalize = ClassificationGap.normalize

    @classmethod
    def compute(cls, real, synthetic, *, context) -> Outcome:
        """Needs the holdout; per pair C-indices in details."""
        context.require_holdout("the C-index comparison")
        res = survival_analysis(real, synthetic, context)
        gaps = [r["trtr_cindex"] - r["tstr_cindex"] for r in res]
        return Outcome(float(np.mean(gaps)),
                       {"pairs": _pair_details(res, ("trtr_cindex", "tstr_cindex"))})


class KMDistance(Metric):
    """Largest vertical distance between real and synthetic Kaplan-Meier curves (worst pair)."""

    name = "km_distance"
    group = "utility"
    goal = Goal.MINIMIZE
    unit = "survival probability"
    thresholds = (0.10, 0.20)
    description = "sup_t |S_real(t) − S_synthetic(t)| on the union of event times, max over pairs"

    @classmethod
    def compute(cls, real, synthetic, *, context) -> Outcome:
        """Curves on a plotting grid go into details for the report."""
        res = survival_analysis(real, synthetic, context)
        return Outcome(float(max(r["km_distance"] for r in res)), {"pairs": [
            {k: r[k] for k in ("time", "event", "label", "rows", "grid", "curves")}
            | {"km_distance": finite(r["km_distance"])} for r in res]})


class KMRiskGroupDistance(Metric):
    """KM distance within risk tertiles of a Cox model fitted on the real data (worst group)."""

    name = "km_risk_group_distance"
    group = "utility"
    goal = Goal.MINIMIZE
    unit = "survival probability"
    thresholds = (0.15, 0.25)
    description = ("KM sup distance per risk group (tertiles of the real-data Cox risk, applied "
                   "to both sets), max over groups and pairs")

    @classmethod
    def compute(cls, real, synthetic, *, context) -> Outcome:
        """Per pair and group distances and curves in details."""
        res = survival_analysis(real, synthetic, context)
        worst = max(g["km_distance"] for r in res for g in r["risk_groups"].values())
        return Outcome(float(worst), {"pairs": [
            {"time": r["time"], "event": r["event"], "label": r["label"], "grid": r["grid"],
             "cox_covariates": r["cox_covariates"],
             "groups": {n: {"rows": g["rows"], "km_distance": finite(g["km_distance"]),
                            "curves": g["curves"]} for n, g in r["risk_groups"].items()}}
            for r in res]})


class LogRankP(Metric):
    """Smallest log-rank p-value, real vs synthetic survival, over pairs (high = alike)."""

    name = "logrank_p"
    group = "utility"
    goal = Goal.MAXIMIZE
    unit = "p-value"
    thresholds = (0.05, 0.01)
    description = ("log-rank test of real vs synthetic survival (lifelines), smallest p over "
                   "pairs; with thousands of rows small differences are significant")

    @classmethod
    def normalize(cls, value: float) -> float:
        """1 from p = 0.05 up (no evidence of a difference), falling linearly to 0 at p = 0."""
        if value is None or np.isnan(value):
            return float("nan")
        return float(min(value / cls.thresholds[0], 1.0))

    @classmethod
    def compute(cls, real, synthetic, *, context) -> Outcome:
        """Statistic and p-value per pair in details."""
        res = survival_analysis(real, synthetic, context)
        return Outcome(float(min(r["logrank_p"] for r in res)),
                       {"pairs": _pair_details(res, ("logrank_chi2", "logrank_p"))})
