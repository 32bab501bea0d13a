"""Every survival pair analysed once, shared by the survival metrics and the report's plots.

For each (time, event) pair of the dictionary: rows with a missing time or event are counted
and left out (per side); Kaplan-Meier curves with their 95 % bands, censoring marks and numbers
at risk; their largest gap up to the horizon where both keep patients at risk
(:func:`synthema.evaluate.survival.km_horizon`); the log-rank test; a Cox model on the real
rows' baseline covariates (:mod:`synthema.evaluate.covariates`), whose risk tertiles split both
sets into low / intermediate / high risk groups; the groups' restricted mean survival times;

The risk groups are **cross-fitted**: each real row is scored by a model fitted on the other
half of the real rows, every other row by the mean of the two half models. A model scoring its
own training rows separates their outcomes better than anyone else's, so without this a second
sample of the same patients would already differ from the real rows within risk groups.

hazard ratios of the strongest covariates fitted on real and on synthetic rows; and, with a
holdout, Harrell's C of the real-fitted and the synthetic-fitted model on it, with a paired
bootstrap. Null splits of the real rows (:mod:`synthema.evaluate.null`) give what a perfect
generator's curves would differ by at this size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthema.errors import IncomputableMetricError
from synthema.evaluate.bootstrap import paired_gap
from synthema.evaluate.encoding import numeric_values
from synthema.evaluate.survival import (
    MAX_COX_COVARIATES,
    CoxModel,
    KaplanMeier,
    cox_score_z,
    cox_screen,
    fit_cox,
    kaplan_meier,
    km_horizon,
    km_max_distance,
    logrank,
    number_at_risk,
    rmst,
)
from synthema.schema import VariableType

RISK_GROUPS = ("low", "intermediate", "high")
#: covariates whose hazard ratios are compared (the strongest by the real rows' score test)
HR_COVARIATES = 10
#: ridge penalty of the hazard-ratio fits (small: the ratios are read, not only ranked)
HR_PENALIZER = 0.01
_PLOT_POINTS = 160
_MARKS = 120
_Z95 = 1.959963984540054


@dataclass(frozen=True)
class Arm:
    """One side's rows of a survival pair: times, events, encoded covariates, what was dropped.

    ``rows`` are the positions (in the frame) of the rows kept.
    """

    time: np.ndarray
    event: np.ndarray
    x: np.ndarray
    rows: np.ndarray
    dropped: int

    def take(self, mask: np.ndarray) -> Arm:
        """The rows where ``mask`` (over this arm's rows) is true."""
        return Arm(self.time[mask], self.event[mask], self.x[mask], self.rows[mask], 0)

    def km(self) -> KaplanMeier:
        """The Kaplan-Meier curve of these rows."""
        return kaplan_meier(self.time, self.event)


def arm(df: pd.DataFrame, pair, context, real: pd.DataFrame) -> Arm:
    """The rows of ``df`` with a time and an event (the others counted in ``dropped``)."""
    d = context.dictionary
    t = numeric_values(df[pair.time], d[pair.time])
    e = numeric_values(df[pair.event], d[pair.event])
    keep = ~(np.isnan(t) | np.isnan(e))
    return Arm(t[keep], e[keep].astype(bool), context.encode(df, real)[keep],
               np.flatnonzero(keep), int((~keep).sum()))


def _in(rows: np.ndarray, positions: np.ndarray, size: int) -> np.ndarray:
    mask = np.zeros(size, dtype=bool)
    mask[positions] = True
    return mask[rows]


def covariate_columns(context, real) -> tuple[list[str], np.ndarray]:
    """Baseline covariates and their encoded column indices."""
    names, _ = context.covariates
    if not names:
        raise IncomputableMetricError(
            "no baseline covariate is left for the outcome models",
            fix="declare covariates that are not outcomes (see docs/evaluate.md, covariates)")
    return names, context.encoder(real).columns(names)


def _curves(km: KaplanMeier, time: np.ndarray, event: np.ndarray, grid: np.ndarray,
            ticks: np.ndarray) -> dict:
    lower, upper = km.band(grid)
    censored = np.sort(time[~event])
    if len(censored) > _MARKS:
        censored = censored[np.linspace(0, len(censored) - 1, _MARKS).round().astype(int)]
    return {"survival": [round(float(v), 4) for v in km.at(grid)],
            "lower": [round(float(v), 4) for v in lower],
            "upper": [round(float(v), 4) for v in upper],
            "censored": {"time": [round(float(v), 2) for v in censored],
                         "survival": [round(float(v), 4) for v in km.at(censored)]},
            "at_risk": [int(v) for v in number_at_risk(time, ticks)]}


def _ticks(top: float) -> np.ndarray:
    step = _nice(top / 5) if top > 0 else 1.0
    return np.arange(0.0, top + 1e-9, step)


def _nice(x: float) -> float:
    """A round step (1, 2 or 5 times a power of ten) close to ``x``."""
    if x <= 0 or not math.isfinite(x):
        return 1.0
    power = 10 ** math.floor(math.log10(x))
    return min((1, 2, 5, 10), key=lambda m: abs(m * power - x)) * power


@dataclass(frozen=True)
class RiskScore:
    """Cross-fitted Cox risk (see the module docstring).

    ``real_risk`` holds the out-of-fold risk of every row of the real frame (by position);
    other rows are scored by the mean of the two half models; ``cuts`` are the tertiles of the
    real rows' risk.
    """

    halves: tuple[CoxModel, CoxModel]
    real_risk: np.ndarray
    cuts: np.ndarray

    def of(self, arm_: Arm, *, real_rows: np.ndarray | None = None) -> np.ndarray:
        """Risk of an arm's rows; ``real_rows``: which of them are real rows (their positions
        in the real frame, or -1)."""
        out = 0.5 * (self.halves[0].risk(arm_.x) + self.halves[1].risk(arm_.x))
        if real_rows is not None:
            own = real_rows >= 0
            out[own] = self.real_risk[real_rows[own]]
        return out

    def groups(self, arm_: Arm, **kw) -> np.ndarray:
        """Risk group (0 low, 1 intermediate, 2 high) of an arm's rows."""
        return np.digitize(self.of(arm_, **kw), self.cuts)


def cross_fitted_risk(real_arm: Arm, n_real: int, cols: np.ndarray, context) -> RiskScore:
    """Half models fitted on two random halves of the real rows (screened covariates)."""
    fold = context.rng("risk-halves").integers(2, size=len(real_arm.time))
    k = min(MAX_COX_COVARIATES, len(cols))
    halves = []
    for f in (0, 1):
        part = real_arm.take(fold != f)
        if not part.event.any():
            part = real_arm
        halves.append(fit_cox(part.x, part.time, part.event,
                              cols[cox_screen(part.x[:, cols], part.time, part.event, k)]))
    real_risk = np.zeros(n_real)
    for f in (0, 1):
        rows = fold == f
        real_risk[real_arm.rows[rows]] = halves[f].risk(real_arm.x[rows])
    own = real_risk[real_arm.rows]
    cuts = np.quantile(own, [1 / 3, 2 / 3]) if len(own) else np.zeros(2)
    return RiskScore((halves[0], halves[1]), real_risk, cuts)


def _group_distances(score: RiskScore, a: Arm, b: Arm, real_a: np.ndarray,
                     real_b: np.ndarray) -> list[float]:
    ga, gb = score.groups(a, real_rows=real_a), score.groups(b, real_rows=real_b)
    out = []
    for g in range(len(RISK_GROUPS)):
        x, y = a.take(ga == g), b.take(gb == g)
        if not len(x.time) or not len(y.time):
            out.append(1.0 if len(x.time) != len(y.time) else 0.0)
            continue
        out.append(km_max_distance(x.km(), y.km(), horizon=km_horizon(x.time, y.time)))
    return out


def _null(real, synthetic, pair, context, score: RiskScore) -> dict:
    """KM gaps, overall and per risk group, of null splits of the real rows."""
    splits = context.nulls(real, synthetic)
    pool = arm(splits.pool, pair, context, real)
    real_pos = np.where(pool.rows < len(real), pool.rows, -1)  # the pool starts with real rows
    overall, groups = [], []
    for a, b in splits.draws:
        in_a = _in(pool.rows, a, len(splits.pool))
        in_b = _in(pool.rows, b, len(splits.pool))
        x, y = pool.take(in_a), pool.take(in_b)
        if not len(x.time) or not len(y.time):
            continue
        overall.append(km_max_distance(x.km(), y.km(), horizon=km_horizon(x.time, y.time)))
        groups.append(_group_distances(score, x, y, real_pos[in_a], real_pos[in_b]))
    return {"overall": overall, "groups": groups, "scale": splits.scale,
            "source": splits.describe()}


def _order(score: RiskScore, real: Arm, syn: Arm) -> dict:
    """Restricted mean survival per risk group, real and synthetic, up to a shared horizon.

    A pair of groups is *clear* when the real rows separate it by more than 3 standard errors;
    the synthetic order of a clear pair is *reversed* when its difference has the other sign.
    """
    gr, gs = score.groups(real, real_rows=real.rows), score.groups(syn)
    arms = [(real.take(gr == g), syn.take(gs == g)) for g in range(len(RISK_GROUPS))]
    times = [a.time for pair in arms for a in pair if len(a.time)]
    tau = km_horizon(*times) if len(times) == 2 * len(RISK_GROUPS) else 0.0
    est = {}
    for name, (a, b) in zip(RISK_GROUPS, arms, strict=True):
        ra = rmst(a.km(), tau) if len(a.time) else (math.nan, math.nan)
        rb = rmst(b.km(), tau) if len(b.time) else (math.nan, math.nan)
        est[name] = {"real": ra[0], "real_se": math.sqrt(ra[1]) if ra[1] == ra[1] else math.nan,
                     "synthetic": rb[0],
                     "synthetic_se": math.sqrt(rb[1]) if rb[1] == rb[1] else math.nan}
    checks = []
    for better, worse in (("low", "intermediate"), ("intermediate", "high"), ("low", "high")):
        dr = est[better]["real"] - est[worse]["real"]
        se = math.hypot(est[better]["real_se"], est[worse]["real_se"])
        ds = est[better]["synthetic"] - est[worse]["synthetic"]
        clear = bool(tau > 0 and math.isfinite(dr) and se > 0 and abs(dr) > 3 * se)
        checks.append({"groups": [better, worse], "real_difference": dr, "real_se": se,
                       "synthetic_difference": ds, "clear": clear,
                       "reversed": bool(clear and math.isfinite(ds) and ds * dr < 0)})
    return {"horizon": tau, "rmst": est, "pairs": checks}


def _meaning(context, real, column: int) -> tuple[str, float]:
    """A label for an encoded column and the factor that turns its beta into one step's."""
    enc = context.encoder(real)
    for (name, sl), var, bound in zip(enc.slices.items(), enc.variables, enc.bounds,
                                      strict=True):
        if not sl.start <= column < sl.stop:
            continue
        unit = f" {var.unit}" if var.unit else ""
        if column == sl.stop - 1:
            return f"{name}: missing", 1.0
        match var.type:
            case VariableType.CATEGORICAL:
                return f"{name} = {var.categories[column - sl.start]}", 1 / math.sqrt(2)
            case VariableType.ORDINAL:
                return f"{name} (per category)", 1 / max(len(var.categories) - 1, 1)
            case VariableType.BOOLEAN:
                return f"{name} (yes vs no)", 1.0
            case _:
                lo, hi = bound if bound is not None else (0.0, 1.0)
                x = numeric_values(real[name], var)
                step = _nice(float(np.nanstd(x))) if np.isfinite(x).sum() > 1 else 1.0
                return f"{name} (per {step:g}{unit})", step / (hi - lo if hi > lo else 1.0)
    return f"column {column}", 1.0


def hazard_ratios(real_arm: Arm, syn_arm: Arm, cols: np.ndarray, context, real) -> list[dict]:
    """Hazard ratios of the strongest covariates, fitted alike on real and synthetic rows.

    A covariate *agrees* when the two 95 % intervals overlap; it is *flipped* when the real
    interval excludes 1 and the synthetic estimate lies on the other side of 1 with an interval
    that excludes 1 too.
    """
    cols = cols[real_arm.x[:, cols].std(axis=0) > 0]  # a constant column has no ratio
    z = np.abs(cox_score_z(real_arm.x[:, cols], real_arm.time, real_arm.event))
    chosen = cols[np.sort(np.argsort(-z, kind="stable")[:min(HR_COVARIATES, len(cols))])]
    fr = fit_cox(real_arm.x, real_arm.time, real_arm.event, chosen, penalizer=HR_PENALIZER)
    fs = fit_cox(syn_arm.x, syn_arm.time, syn_arm.event, chosen, penalizer=HR_PENALIZER) \
        if syn_arm.event.any() else None
    out = []
    for k, column in enumerate(chosen):
        label, factor = _meaning(context, real, int(column))
        row = {"covariate": label}
        for side, fit in (("real", fr), ("synthetic", fs)):
            if fit is None or not math.isfinite(fit.se[k]):
                row[side] = {"hr": None, "ci": [None, None]}
                continue
            b, se = fit.beta[k] * factor, fit.se[k] * abs(factor)
            row[side] = {"hr": math.exp(b), "ci": [math.exp(b - _Z95 * se),
                                                    math.exp(b + _Z95 * se)]}
        row["status"] = _hr_status(row["real"], row["synthetic"])
        out.append(row)
    return out


def _hr_status(real: dict, syn: dict) -> str:
    if real["hr"] is None or syn["hr"] is None:
        return "not estimable"
    (rl, rh), (sl, sh) = real["ci"], syn["ci"]
    excludes_one = rl > 1 or rh < 1
    if excludes_one and (sl > 1 or sh < 1) and (real["hr"] - 1) * (syn["hr"] - 1) < 0:
        return "flipped"
    if sh < rl or sl > rh:
        return "different"
    return "agree"


def _cindex(model: CoxModel, syn_model: CoxModel | None, hold: Arm, context) -> dict:
    from lifelines.utils import concordance_index as harrell

    def score(rows):
        idx = slice(None) if rows is None else rows
        t, e, x = hold.time[idx], hold.event[idx], hold.x[idx]
        if not e.any():
            return math.nan, math.nan
        a = harrell(t, -model.risk(x), e)
        b = harrell(t, -syn_model.risk(x), e) if syn_model is not None else 0.5
        return a, b

    est = paired_gap(score, len(hold.time), rng=context.rng("cindex-bootstrap"))
    return {"trtr_cindex": est.first, "tstr_cindex": est.second, "gap_sd": est.sd,
            "tstr_sd": est.sd_second, "trtr_sd": est.sd_first,
            "holdout_rows": int(len(hold.time)), "holdout_dropped": hold.dropped}


def _km_part(real_arm: Arm, syn_arm: Arm) -> dict:
    km_r, km_s = real_arm.km(), syn_arm.km()
    horizon = km_horizon(real_arm.time, syn_arm.time) if len(syn_arm.time) else 0.0
    top = float(max(real_arm.time.max(), syn_arm.time.max() if len(syn_arm.time) else 0.0))
    grid, ticks = np.linspace(0.0, top, _PLOT_POINTS), _ticks(top)
    out = {"horizon": horizon, "km_distance": km_max_distance(km_r, km_s, horizon=horizon),
           "km_distance_full": km_max_distance(km_r, km_s),
           "grid": [round(float(g), 2) for g in grid], "ticks": [float(t) for t in ticks],
           "curves": {"real": _curves(km_r, real_arm.time, real_arm.event, grid, ticks),
                      "synthetic": _curves(km_s, syn_arm.time, syn_arm.event, grid, ticks)}}
    if len(syn_arm.time) and syn_arm.event.any():
        out["logrank_chi2"], out["logrank_p"] = logrank(real_arm.time, real_arm.event,
                                                        syn_arm.time, syn_arm.event)
    else:
        out["logrank_chi2"], out["logrank_p"] = float("nan"), 0.0
    return out


def _risk_groups(score: RiskScore, real_arm: Arm, syn_arm: Arm, grid: np.ndarray,
                 ticks) -> dict:
    gr, gs = score.groups(real_arm, real_rows=real_arm.rows), score.groups(syn_arm)
    out = {}
    for g, name in enumerate(RISK_GROUPS):
        a, b = real_arm.take(gr == g), syn_arm.take(gs == g)
        both = len(a.time) and len(b.time)
        ka, kb = a.km(), b.km()
        out[name] = {
            "rows": {"real": int(len(a.time)), "synthetic": int(len(b.time))},
            "horizon": km_horizon(a.time, b.time) if both else 0.0,
            "km_distance": km_max_distance(ka, kb, horizon=km_horizon(a.time, b.time))
            if both else 1.0,
            "curves": {"real": _curves(ka, a.time, a.event, grid, ticks),
                       "synthetic": _curves(kb, b.time, b.event, grid, ticks)}}
    return out


def analyse_pair(real, synthetic, holdout, pair, context) -> dict:
    """Everything the survival metrics and plots need for one pair (see the module docstring)."""
    r, s = arm(real, pair, context, real), arm(synthetic, pair, context, real)
    if not len(r.time) or not r.event.any():
        raise IncomputableMetricError(f"the real data have no events of '{pair.event}'",
                                      fix="evaluate survival on data with follow-up")
    out = {"time": pair.time, "event": pair.event, "label": pair.label or pair.time,
           "unit": context.dictionary[pair.time].unit or "",
           "rows": {"real": int(len(r.time)), "synthetic": int(len(s.time))},
           "dropped": {"real": r.dropped, "synthetic": s.dropped},
           "events": {"real": int(r.event.sum()), "synthetic": int(s.event.sum())}}
    out |= _km_part(r, s)
    names, cols = covariate_columns(context, real)
    k = min(MAX_COX_COVARIATES, len(cols))
    model = fit_cox(r.x, r.time, r.event, cols[cox_screen(r.x[:, cols], r.time, r.event, k)])
    score = cross_fitted_risk(r, len(real), cols, context)
    out["risk_groups"] = _risk_groups(score, r, s, np.asarray(out["grid"]),
                                      np.asarray(out["ticks"]))
    out["null"] = _null(real, synthetic, pair, context, score)
    out["order"] = _order(score, r, s)
    out["hazard_ratios"] = hazard_ratios(r, s, cols, context, real) if len(s.time) else []
    chosen, slices = set(model.columns.tolist()), context.encoder(real).slices
    out["cox_covariates"] = [n for n in names
                             if chosen & set(range(slices[n].start, slices[n].stop))]
    if holdout is not None:
        h = arm(holdout, pair, context, real)
        syn_model = fit_cox(s.x, s.time, s.event, cols[cox_screen(s.x[:, cols], s.time,
                                                                   s.event, k)]) \
            if len(s.time) and s.event.any() else None
        out |= _cindex(model, syn_model, h, context)
    return out


def survival_analysis(real, synthetic, context) -> list[dict]:
    """All survival pairs analysed once and shared by the survival metrics (memoised)."""
    pairs = context.dictionary.survival
    if not pairs:
        raise IncomputableMetricError(f"dictionary '{context.dictionary.name}' has no survival "
                                      "pair", fix="declare survival: [{time, event}]")
    holdout = context.holdout if context.holdout is not None and len(context.holdout) else None
    return context.memo("survival", (real, synthetic, holdout), lambda: [
        analyse_pair(real, synthetic, holdout, p, context) for p in pairs])
