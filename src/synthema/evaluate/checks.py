"""Clinical truth: would a clinician draw the same conclusions from the synthetic data?

Three checks of what clinicians look at first (hazard ratios and survival curves side by side,
as in Eckardt et al., npj Digital Medicine 2024, on 1,606 AML patients):

- **hazard ratios**: the strongest covariates of a Cox model on the real rows, fitted alike on
  synthetic rows; their 95 % intervals should overlap ("agree"), and a covariate whose real
  effect is clear must not change side ("flipped");
- **association signs**: the strongest clear Spearman associations of the real rows must not be
  clearly reversed in the synthetic rows (age and outcome at −0.25 real, +0.46 synthetic);
- **risk-group order**: patients the real Cox model puts at low risk must outlive those at high
  risk in the synthetic rows too, wherever the real rows separate the groups clearly.

Each is judged so that a second sample of the same patients passes: "clear" means more than
three standard errors on the real side, and a reversal must be on the other side (two standard
errors for associations and hazard ratios), which sampling noise alone almost never produces.
"""

from __future__ import annotations

import numpy as np

from synthema.evaluate.metric import Goal, Limits, Metric, Outcome, finite
from synthema.evaluate.survival_pairs import survival_analysis
from synthema.schema import VariableType

#: how many of the strongest real associations are checked for a sign flip
STRONGEST = 20


class HazardRatioAgreement(Metric):
    """Share of compared hazard ratios whose real and synthetic 95 % intervals do not overlap."""

    name = "hazard_ratios"
    group = "clinical"
    goal = Goal.MINIMIZE
    unit = "share of covariates"
    thresholds = (0.10, 0.25)
    description = ("Cox hazard ratios of the 10 strongest baseline covariates per survival pair, "
                   "real vs synthetic: share whose 95 % intervals do not overlap; any clear "
                   "real effect whose sign flips fails")

    @classmethod
    def compute(cls, real, synthetic, *, context) -> Outcome:
        """Every pair's ratios with intervals and status in details."""
        res = survival_analysis(real, synthetic, context)
        rows = [{"pair": r["label"], **hr} for r in res for hr in r["hazard_ratios"]]
        rated = [r for r in rows if r["status"] != "not estimable"]
        bad = [r for r in rated if r["status"] in ("different", "flipped")]
        flips = [r for r in rated if r["status"] == "flipped"]
        value = len(bad) / len(rated) if rated else 0.0
        good, ok = cls.thresholds
        limits = Limits(good, ok, value, reference=0.0, basis=(
            "intervals of two samples of the same patients overlap almost always; "
            f"{len(flips)} clear real effect(s) changed side"), override="fail" if flips else None)
        return Outcome(value, {"covariates": _jsonable(rows), "flipped": len(flips),
                               "different": len(bad) - len(flips), "compared": len(rated),
                               "rows_used": _survival_rows(res)}, limits)


class RiskGroupOrder(Metric):
    """Clearly ordered real risk groups whose synthetic survival comes out in reverse order."""

    name = "risk_group_order"
    group = "clinical"
    goal = Goal.MINIMIZE
    max_value = 9.0
    unit = "reversed group pairs"
    thresholds = (0.0, 0.0)
    description = ("risk groups of the real Cox model (low / intermediate / high): pairs whose "
                   "restricted mean survival the real rows separate by > 3 SE and the "
                   "synthetic rows put in reverse order, over survival pairs")

    @classmethod
    def compute(cls, real, synthetic, *, context) -> Outcome:
        """Restricted mean survival per group, real and synthetic, in details."""
        res = survival_analysis(real, synthetic, context)
        reversed_ = sum(c["reversed"] for r in res for c in r["order"]["pairs"])
        clear = sum(c["clear"] for r in res for c in r["order"]["pairs"])
        return Outcome(float(reversed_), {
            "pairs": [{"time": r["time"], "event": r["event"], "label": r["label"],
                       "horizon": finite(r["order"]["horizon"]),
                       "rmst": _jsonable(r["order"]["rmst"]),
                       "checks": _jsonable(r["order"]["pairs"])} for r in res],
            "clear": clear, "rows_used": _survival_rows(res)})


def _fisher_se(n: np.ndarray) -> np.ndarray:
    """Standard error of atanh(Spearman ρ) (Fieller, Hartley and Pearson: √(1.06 / (n − 3)))."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n > 3, np.sqrt(1.06 / (n - 3)), np.inf)


def _complete(numbers: np.ndarray) -> np.ndarray:
    present = (~np.isnan(numbers)).astype(float)
    return present.T @ present


class AssociationSignFlips(Metric):
    """Strong real associations that the synthetic data clearly reverse."""

    name = "association_sign_flips"
    group = "clinical"
    goal = Goal.MINIMIZE
    max_value = float(STRONGEST)
    unit = "flipped pairs"
    thresholds = (0.0, 0.0)
    description = ("clear Spearman associations of the real rows (|atanh ρ| > 3 SE) whose "
                   "synthetic ρ has the other sign beyond 2 SE (pairwise-complete rows); the "
                   f"{STRONGEST} strongest are shown")

    @classmethod
    def compute(cls, real, synthetic, *, context) -> Outcome:
        """The strongest pairs with real and synthetic ρ, and every clear flip, in details."""
        from synthema.evaluate.association import spearman_pairwise

        variables = context.dictionary.variables
        ordered = [j for j, v in enumerate(variables) if v.type is not VariableType.CATEGORICAL]
        xr = context.sample(real).numbers[:, ordered]
        xs = context.sample(synthetic).numbers[:, ordered]
        rr, rs = spearman_pairwise(xr), spearman_pairwise(xs)
        with np.errstate(divide="ignore"):
            zr, zs = np.arctanh(np.clip(rr, -0.999999, 0.999999)), np.arctanh(
                np.clip(rs, -0.999999, 0.999999))
        se_r, se_s = _fisher_se(_complete(xr)), _fisher_se(_complete(xs))
        iu = np.triu_indices(len(ordered), 1)
        clear = np.abs(zr[iu]) > 3 * se_r[iu]
        flipped = clear & (np.sign(zs[iu]) == -np.sign(zr[iu])) & (np.abs(zs[iu]) > 2 * se_s[iu])
        strength = np.where(clear, np.abs(rr[iu]), -1.0)
        top = [k for k in np.argsort(-strength, kind="stable")[:STRONGEST] if clear[k]]
        names = [variables[j].name for j in ordered]

        def row(k: int) -> dict:
            return {"columns": [names[iu[0][k]], names[iu[1][k]]], "real": finite(rr[iu][k]),
                    "synthetic": finite(rs[iu][k]), "flipped": bool(flipped[k])}

        value = float(flipped.sum())  # every clear flip, strongest or not (age and CR)
        return Outcome(value, {"strongest": [row(k) for k in top],
                               "all_flips": [row(k) for k in np.flatnonzero(flipped)],
                               "clear_pairs": int(clear.sum()),
                               "rows_used": {"real": len(real), "synthetic": len(synthetic),
                                             "per_pair": "rows where both are present"}})


def _survival_rows(res: list[dict]) -> dict:
    """Rows each survival pair used per side, and those dropped for a missing time or event."""
    return {r["event"]: {"real": r["rows"]["real"], "synthetic": r["rows"]["synthetic"],
                         "dropped_missing_time_or_event": r["dropped"]} for r in res}


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float | np.floating):
        return finite(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


