"""Singling-out, linkability and attribute-inference risks, after Anonymeter.

Giomi et al., "A Unified Framework for Quantifying Privacy Risk in Synthetic Data", PoPETs 2023.
Each attack is run twice with what the synthetic data give the attacker: against training rows
(the attack) and against real holdout rows the generator never saw (the control). What the
attack wins over the control is what the synthetic data leak about *their* training records,
not what they teach about the population:

    risk = (attack − control) / (1 − control)

Rates are Wilson score estimates; the risk's error is propagated from both rates and the
result bound to [0, 1], as in the reference implementation. Training and holdout samples are
of equal size, so no size correction is needed for singling out.

A risk's **status** comes from its interval, not its point estimate: it fails only when the
lower end of its one-sided 99.9 % interval is above the limit (for the inference attack, a
Bonferroni interval over the secrets, since the largest of several noisy risks is reported).
Few successful attacks on either side give a wide interval: the report shows it, and a
perfect generator passes at any size.

>>> r = residual_risk(success_rate(500, 100), success_rate(500, 50))
>>> round(r.value, 3), [round(x, 3) for x in r.ci]
(0.111, [0.064, 0.158])
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd

from synthema.evaluate.distance import nearest
from synthema.evaluate.encoding import numeric_values
from synthema.evaluate.metric import Goal, Limits, Metric, Outcome, finite
from synthema.evaluate.null import LEVEL
from synthema.schema import VariableType

CONFIDENCE = 0.95
#: one-sided level of the interval whose lower end decides a risk's status
JUDGED = LEVEL
INFERENCE_TOLERANCE = 0.05  # relative error of a correct numeric guess


@dataclass(frozen=True)
class Rate:
    """A success rate and its error at :data:`CONFIDENCE`."""

    value: float
    error: float


@dataclass(frozen=True)
class Risk:
    """A risk in [0, 1] and its confidence interval."""

    value: float
    ci: tuple[float, float]


def success_rate(n_total: int, n_success: int, confidence: float = CONFIDENCE) -> Rate:
    """Wilson score estimate of a Bernoulli rate (robust near 0 and 1)."""
    if n_total <= 0:
        return Rate(math.nan, math.nan)
    z = NormalDist().inv_cdf(0.5 * (1.0 + confidence))
    z2 = z * z
    denom = n_total + z2
    rate = (n_success + 0.5 * z2) / denom
    error = (z / denom) * math.sqrt(n_success * (n_total - n_success) / n_total + 0.25 * z2)
    return Rate(rate, error)


def residual_risk(attack: Rate, control: Rate) -> Risk:
    """(attack − control) / (1 − control) with first-order error propagation, bound to [0, 1]."""
    if control.value >= 1.0:
        return Risk(math.nan, (math.nan, math.nan))
    value = (attack.value - control.value) / (1.0 - control.value)
    d_attack = 1.0 / abs(1.0 - control.value)
    d_control = (attack.value - 1.0) / (1.0 - control.value) ** 2
    error = math.sqrt((attack.error * d_attack) ** 2 + (control.error * d_control) ** 2)
    clip = lambda x: min(max(x, 0.0), 1.0)  # noqa: E731
    return Risk(clip(value), (clip(value - error), clip(value + error)))


def _result(n: int, attack: int, control: int, baseline: int, *, tests: int = 1,
            n_control: int | None = None) -> dict:
    """Rates, the risk with its 95 % interval, and the lower end that judges it.

    ``tests``: how many risks the reported one is the largest of (Bonferroni); ``n_control``:
    control attacks when they differ from ``n``.
    """
    nc = n if n_control is None else n_control
    a, c, b = success_rate(n, attack), success_rate(nc, control), success_rate(n, baseline)
    risk = residual_risk(a, c)
    level = 1 - 2 * (1 - JUDGED) / tests  # two-sided level whose lower end is one-sided JUDGED
    judged = residual_risk(success_rate(n, attack, level), success_rate(nc, control, level))
    return {"n_attacks": n, "n_control": nc, "attack_rate": finite(a.value),
            "control_rate": finite(c.value),
            "baseline_rate": finite(b.value), "risk": finite(risk.value),
            "risk_ci": [finite(risk.ci[0]), finite(risk.ci[1])],
            "risk_lower_judged": finite(judged.ci[0]),
            "successes": {"attack": attack, "control": control, "baseline": baseline}}


def _limits(metric: type[Metric], res: dict, tests: int = 1) -> Limits:
    good, ok = metric.thresholds
    lower = res.get("risk_lower_judged")
    judged = math.nan if lower is None else lower
    extra = f", Bonferroni over {tests} secrets" if tests > 1 else ""
    return Limits(good, ok, judged, reference=0.0, basis=(
        f"judged by the lower end of the risk's one-sided {JUDGED:.1%} interval "
        f"({judged:.3g}{extra}): the attack must beat its control by more than chance to fail"))


def _column_values(df: pd.DataFrame, var) -> np.ndarray:
    """Comparable values: floats for ordered types, object strings for categories (NaN/None)."""
    if var.type.has_categories:
        return df[var.name].astype("string").to_numpy(dtype=object, na_value=None)
    return numeric_values(df[var.name], var)


def _count(values: np.ndarray, op: str, v) -> int:
    match op:
        case "null":
            return int(pd.isna(values).sum())
        case "eq":
            return int((values == v).sum())
        case "le":
            return int((values <= v).sum())
        case "ge":
            return int((values >= v).sum())
        case _:
            raise ValueError(f"unknown operator {op!r}")


def singling_out_queries(synthetic: pd.DataFrame, context, n: int, rng) -> list[tuple]:
    """Univariate queries that match exactly one synthetic row (Anonymeter's univariate mode).

    Candidates: ``col is missing`` when one row is missing, ``col <= min`` and ``col >= max``
    for ordered columns, ``col == v`` for every value held by one row.
    """
    queries = []
    for var in context.dictionary.variables:
        vals = _column_values(synthetic, var)
        missing = pd.isna(vals)
        if missing.sum() == 1:
            queries.append((var.name, "null", None))
        present = vals[~missing]
        if not len(present):
            continue
        if not var.type.has_categories:
            queries += [(var.name, "le", present.min()), (var.name, "ge", present.max())]
        uniq, counts = np.unique(present.astype(str) if var.type.has_categories else present,
                                 return_counts=True)
        queries += [(var.name, "eq", u) for u in uniq[counts == 1]]
    order = rng.permutation(len(queries))
    cache = {v.name: _column_values(synthetic, v) for v in context.dictionary.variables}
    out, seen = [], set()
    for i in order:
        q = queries[i]
        key = (q[0], q[1], str(q[2]))
        if key not in seen and _count(cache[q[0]], q[1], q[2]) == 1:
            seen.add(key)
            out.append(q)
            if len(out) >= n:
                break
    return out


def _describe(query: tuple) -> str:
    """A query as text, e.g. ``wbc >= 412.5``."""
    col, op, v = query
    if op == "null":
        return f"{col} is missing"
    return f"{col} {dict(eq='==', le='<=', ge='>=')[op]} {v}"


def _successes(df: pd.DataFrame, queries: list[tuple], context) -> int:
    cache = {}
    hits = 0
    for col, op, v in queries:
        if col not in cache:
            cache[col] = _column_values(df, context.dictionary[col])
        hits += _count(cache[col], op, v) == 1
    return hits


class SinglingOutRisk(Metric):
    """Anonymeter singling-out risk (univariate predicates from the synthetic data)."""

    name = "singling_out_risk"
    group = "privacy"
    goal = Goal.MINIMIZE
    unit = "risk"
    thresholds = (0.05, 0.15)
    description = ("predicates unique in the synthetic data that single out one training row, "
                   "minus those singling out one holdout row, normalised (Anonymeter)")

    @classmethod
    def compute(cls, real, synthetic, *, context) -> Outcome:
        """Baseline: random predicates built from synthetic values, as a sanity check."""
        train, holdout = context.privacy_pair(real)
        rng = context.rng("singling-out")
        queries = singling_out_queries(synthetic, context, context.n_attacks, rng)
        n = len(queries)
        if n == 0:
            return Outcome(0.0, {"n_attacks": 0,
                                 "note": "no value is unique in the synthetic data"})
        base = []
        for _ in range(n):
            var = context.dictionary.variables[rng.integers(len(context.dictionary))]
            vals = _column_values(synthetic, var)
            v = vals[rng.integers(len(vals))]
            op = "null" if pd.isna(v) else ("eq" if var.type.has_categories else
                                            str(rng.choice(["eq", "le", "ge"])))
            base.append((var.name, op, v))
        res = _result(n, _successes(train, queries, context),
                      _successes(holdout, queries, context), _successes(train, base, context))
        res["examples"] = [_describe(q) for q in queries[:5]]
        res["rows_used"] = {"training": len(train), "holdout": len(holdout),
                            "synthetic": len(synthetic)}
        return Outcome(res["risk"] if res["risk"] is not None else math.nan, res,
                       _limits(cls, res))


def _targets(df: pd.DataFrame, n: int, rng) -> pd.DataFrame:
    return df.iloc[np.sort(rng.choice(len(df), size=min(n, len(df)), replace=False))]


class LinkabilityRisk(Metric):
    """Anonymeter linkability risk: the synthetic data re-link two halves of a record."""

    name = "linkability_risk"
    group = "privacy"
    goal = Goal.MINIMIZE
    unit = "risk"
    thresholds = (0.05, 0.15)
    description = ("columns split in two halves (dictionary order); a target is linked when its "
                   "closest synthetic row is the same on both halves (Anonymeter, 1 neighbour)")

    @classmethod
    def compute(cls, real, synthetic, *, context) -> Outcome:
        """Attack on training targets, control on holdout targets, random-guess baseline."""
        train, holdout = context.privacy_pair(real)
        names = list(context.names)
        half = len(names) // 2
        if half == 0:
            return Outcome(math.nan, {"note": "needs at least two columns"})
        enc = context.encoder(real)
        a_cols, b_cols = enc.columns(names[:half]), enc.columns(names[half:])
        xs = context.encode(synthetic, real)
        rng = context.rng("linkability")

        def links(df: pd.DataFrame) -> tuple[int, int]:
            x = context.encode(_targets(df, context.n_attacks, rng), real)
            ia = nearest(x[:, a_cols], xs[:, a_cols])[1][:, 0]
            ib = nearest(x[:, b_cols], xs[:, b_cols])[1][:, 0]
            return int((ia == ib).sum()), len(x)

        attack, n = links(train)
        control, _ = links(holdout)
        baseline = int((rng.integers(len(xs), size=n) == rng.integers(len(xs), size=n)).sum())
        res = _result(n, attack, control, baseline)
        res["columns"] = [names[:half], names[half:]]
        res["rows_used"] = {"training": len(train), "holdout": len(holdout),
                            "synthetic": len(synthetic)}
        return Outcome(res["risk"] if res["risk"] is not None else math.nan, res,
                       _limits(cls, res))


def _guess_ok(guess: np.ndarray, truth: np.ndarray, numeric: bool) -> np.ndarray:
    """A guess is right when both are present and equal (numbers: within 5 %).

    A missing guess of a missing truth is no hit: it tells the attacker nothing about the
    patient, and counting it made the control succeed 80-90 % of the time, multiplying the
    noise of the risk 5-8 times.
    """
    gm, tm = pd.isna(guess), pd.isna(truth)
    if numeric:
        g, t = guess.astype(float), truth.astype(float)
        with np.errstate(invalid="ignore"):
            close = np.abs(g - t) <= INFERENCE_TOLERANCE * np.abs(t)
        return ~gm & ~tm & close
    return ~gm & ~tm & (guess == truth)


class InferenceRisk(Metric):
    """Anonymeter attribute-inference risk, the largest over the secret columns."""

    name = "inference_risk"
    group = "privacy"
    goal = Goal.MINIMIZE
    unit = "risk"
    thresholds = (0.05, 0.15)
    description = ("the attacker knows every column not tied to the secret by a rule and "
                   "guesses it from the closest synthetic row; max risk over secrets")

    @classmethod
    def compute(cls, real, synthetic, *, context) -> Outcome:
        """Numeric guesses count when within 5 % of the truth; a missing guess never does.

        Targets are drawn among the rows whose secret is known (an unknown secret cannot be
        inferred). Columns a rule ties to the secret are not given to the attacker: the rule
        would give the secret away to anyone, so the control could not tell a leak from it.
        """
        train, holdout = context.privacy_pair(real)
        enc = context.encoder(real)
        xs = context.encode(synthetic, real)
        rng = context.rng("inference")
        secrets = context.resolve_secrets()
        per_secret = {}
        for secret in secrets:
            var = context.dictionary[secret]
            numeric = not (var.type.has_categories or var.type is VariableType.BOOLEAN)
            hidden = context.hidden_from_attacker(secret)
            aux = enc.columns([n for n in context.names if n not in hidden])
            syn_secret = _column_values(synthetic, var)

            def known(df: pd.DataFrame, var=var) -> pd.DataFrame:
                return df[~pd.isna(_column_values(df, var))]

            def wins(df: pd.DataFrame, var=var, aux=aux, syn_secret=syn_secret,
                     numeric=numeric) -> tuple[int, int]:
                t = _targets(known(df), context.n_attacks, rng)
                if not len(t):
                    return 0, 0
                idx = nearest(context.encode(t, real)[:, aux], xs[:, aux])[1][:, 0]
                ok = _guess_ok(syn_secret[idx], _column_values(t, var), numeric)
                return int(ok.sum()), len(t)

            attack, n = wins(train)
            control, n_control = wins(holdout)
            if n == 0 or n_control == 0:
                continue
            guesses = syn_secret[rng.integers(len(syn_secret), size=n)]
            truth = _column_values(_targets(known(train), n, rng), var)
            baseline = int(_guess_ok(guesses, truth, numeric).sum())
            per_secret[secret] = _result(n, attack, control, baseline, tests=len(secrets),
                                         n_control=n_control)
            per_secret[secret]["hidden_from_attacker"] = sorted(hidden - {secret})
        if not per_secret:
            return Outcome(math.nan, {"secrets": {}, "note": "no secret is known in the data"})
        risks = [r["risk"] for r in per_secret.values() if r["risk"] is not None]
        lowers = [r["risk_lower_judged"] for r in per_secret.values()
                  if r["risk_lower_judged"] is not None]
        worst = {"risk_lower_judged": max(lowers) if lowers else None}
        return Outcome(max(risks) if risks else math.nan,
                       {"secrets": per_secret, "rows_used": {
                           "training": len(train), "holdout": len(holdout),
                           "synthetic": len(synthetic)}},
                       _limits(cls, worst, len(per_secret)))
