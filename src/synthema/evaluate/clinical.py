"""Clinical plausibility: rule violations, impossible values, copies of real patients.

Rules come from the dictionary (:meth:`synthema.schema.Dictionary.evaluate_rules`): a rule is
violated on a row where it evaluates to false; where it is not applicable (a value it needs is
missing) it is not counted as a violation but the rows are counted and shown, beside the real
data's own counts (a synthetic row without the outcome a rule checks escapes the rule). The
real data's own rates are the reference, because a site's export can break a rule too.

Values outside the real range and outcome rates are judged against what a second real sample
shows: the holdout's own share of values beyond the training range, and the binomial spread of
a rate. A required variable left empty in a synthetic row is an impossible value.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from synthema.evaluate.encoding import numeric_values
from synthema.evaluate.metric import Goal, Limits, Metric, Outcome, finite
from synthema.evaluate.null import LEVEL, share_limits, two_sample_variance
from synthema.schema import VariableType
from synthema.schema.values import out_of_range


def _violations(df: pd.DataFrame, dictionary) -> pd.DataFrame:
    """Rows x rules: True where the rule evaluates to false (not applicable is no violation)."""
    verdicts = dictionary.evaluate_rules(df)
    return (~verdicts.fillna(True)).astype(bool)


class RuleViolations(Metric):
    """Share of synthetic rows that break at least one clinical rule; per rule in details."""

    name = "rule_violations"
    group = "clinical"
    goal = Goal.MINIMIZE
    unit = "share of rows"
    thresholds = (0.01, 0.05)
    description = ("share of synthetic rows violating ≥ 1 dictionary rule; per rule the rows it "
                   "could not be checked on (a value it needs missing) are counted beside it")

    @classmethod
    def compute(cls, real, synthetic, *, context) -> Outcome:
        """Rules are evaluated on the typed frames.

        A rule is not applicable on a row where a value it needs is missing: no violation, but
        counted. Where the real rows never escape a rule that way, the synthetic rows that do
        are shown as ``escaped`` (a response left empty escapes ``cr_response``); an outcome
        left empty that no real row lacks is counted by ``impossible_values``.
        """
        d = context.dictionary
        if not d.rules:
            return Outcome(0.0, {"rules": [], "note": "the dictionary declares no rules"})
        verdict_s, verdict_r = d.evaluate_rules(synthetic), d.evaluate_rules(real)
        vs, vr = _violations(synthetic, d), _violations(real, d)
        rows = []
        for rule in d.rules:
            n_bad = int(vs[rule.name].sum())
            n_na = int(verdict_s[rule.name].isna().sum())
            real_na = int(verdict_r[rule.name].isna().sum())
            rows.append({"rule": rule.name, "expr": rule.expr,
                         "applicable": int(verdict_s[rule.name].notna().sum()),
                         "not_applicable": n_na, "escaped": n_na if real_na == 0 else 0,
                         "real_not_applicable": real_na,
                         "violations": n_bad, "rate": finite(n_bad / max(len(synthetic), 1)),
                         "real_violations": int(vr[rule.name].sum()),
                         "real_rate": finite(vr[rule.name].sum() / max(len(real), 1))})
        share = float(vs.any(axis=1).mean()) if len(synthetic) else 0.0
        ref = context.holdout if context.holdout is not None and len(context.holdout) else real
        ref_share = float(_violations(ref, d).any(axis=1).mean()) if len(ref) else 0.0
        var = two_sample_variance(share, len(synthetic), ref_share, len(ref))
        which = "holdout's" if ref is not real else "training rows'"
        escaped = verdict_s[[r["rule"] for r in rows if r["escaped"]]].isna().any(axis=1)
        return Outcome(share, {"rules": rows, "violated_rules": sum(r["violations"] > 0
                                                                     for r in rows),
                               "escaped_rows": int(escaped.sum()),
                               "real_share": finite(vr.any(axis=1).mean() if len(real) else 0),
                               "reference_share": finite(ref_share), "reference": which,
                               "rows_used": {"real": len(real), "synthetic": len(synthetic)}},
                       share_limits(cls, share, ref_share, 1, variance=var,
                                    what=f"the {which} own share"))


class ImpossibleValues(Metric):
    """Share of synthetic rows with a value the dictionary forbids (range, category, type)."""

    name = "impossible_values"
    group = "clinical"
    goal = Goal.MINIMIZE
    unit = "share of rows"
    thresholds = (0.0, 0.01)
    description = ("share of synthetic rows with a value outside the dictionary's bounds, not a "
                   "listed category, unreadable (as the loader reported it), or a required "
                   "value left empty (declared required, or an outcome no real row lacks)")

    @classmethod
    def compute(cls, real, synthetic, *, context) -> Outcome:
        """Typed-frame checks plus the cells the loader had to drop (``context.problems``)."""
        bad = np.zeros(len(synthetic), dtype=bool)
        per_column: dict[str, int] = {}
        required: dict[str, int] = {}
        must = must_be_present(context, real)
        for var in context.dictionary.variables:
            col = synthetic[var.name]
            if var.type.has_categories:
                text = col.astype("string")
                mask = (text.notna() & ~text.isin(var.categories)).to_numpy(dtype=bool)
            elif var.type.is_numeric or var.type is VariableType.DATE:
                mask = np.asarray(out_of_range(col, var), dtype=bool)
                if var.type.is_numeric and var.is_whole_number:
                    x = numeric_values(col, var)
                    with np.errstate(invalid="ignore"):
                        mask |= np.nan_to_num(np.abs(x - np.round(x))) > 1e-9
            else:
                mask = np.zeros(len(col), dtype=bool)
            if var.name in must:
                empty = col.isna().to_numpy(dtype=bool)
                if empty.any():
                    required[var.name] = int(empty.sum())
                mask = mask | empty
            if mask.any():
                per_column[var.name] = int(mask.sum())
            bad |= mask
        for p in context.problems:
            position = p.row - 2  # spreadsheet row (header = 1) -> the frame's position
            if 0 <= position < len(bad):
                bad[position] = True
                per_column[p.column] = per_column.get(p.column, 0) + 1
        share = float(bad.mean()) if len(bad) else 0.0
        return Outcome(share, {"rows": int(bad.sum()), "columns": per_column,
                               "required_missing": required,
                               "loader_problems": len(context.problems),
                               "rows_used": {"synthetic": len(synthetic)}})


def must_be_present(context, real: pd.DataFrame) -> set[str]:
    """Variables a synthetic row may not leave empty: those the dictionary declares required,
    and the outcomes (targets, survival times and events, the ``outcome`` group) that no real
    row lacks.

    A synthetic row without its outcome escapes every rule and model that needs it (131 of
    1,500 demo rows had no ``cr``; 80 of them were in CR by their response), so it is a defect,
    not a row to drop quietly.
    """
    from synthema.evaluate.covariates import declared_outcomes

    d = context.dictionary
    try:
        targets = context.resolve_targets()
    except Exception:  # noqa: BLE001 - no classifiable target: survival outcomes only
        targets = []
    outcomes = set(declared_outcomes(d, targets))
    always = {n for n in outcomes if len(real) and real[n].notna().all()}
    return {v.name for v in d.variables if v.required} | always


def row_keys(df: pd.DataFrame, dictionary) -> np.ndarray:
    """One hash per row of its values, independent of how each column is stored.

    Numbers, dates and booleans compare as floats, categories by their dictionary position
    (-1 missing, -2 not a category), so an Int64 copy of a float row is still a copy; −0.0 is
    0.0 (the hash reads the bits, which differ).

    >>> from synthema.schema import Dictionary
    >>> d = Dictionary.from_mapping({"name": "x", "version": 1, "variables": [
    ...     {"name": "v", "type": "continuous", "min": -1, "max": 1}]})
    >>> a, b = (pd.DataFrame({"v": [x]}) for x in (0.0, -0.0))
    >>> bool(row_keys(a, d)[0] == row_keys(b, d)[0])
    True
    """
    cols = {}
    for var in dictionary.variables:
        if var.type.has_categories:
            text = df[var.name].astype("string")
            codes = pd.Categorical(text, categories=var.categories).codes.astype(float)
            codes[(codes < 0) & text.notna().to_numpy(dtype=bool)] = -2
            cols[var.name] = codes
        else:
            cols[var.name] = numeric_values(df[var.name], var) + 0.0  # −0.0 + 0.0 is 0.0
    return pd.util.hash_pandas_object(pd.DataFrame(cols), index=False).to_numpy()


class RealDuplicates(Metric):
    """Share of synthetic rows identical to a training row (every variable equal)."""

    name = "real_duplicates"
    group = "clinical"
    goal = Goal.MINIMIZE
    unit = "share of rows"
    thresholds = (0.01, 0.05)
    description = ("share of synthetic rows that copy a real training row exactly; the holdout's "
                   "own share of copies is the natural baseline")

    @classmethod
    def compute(cls, real, synthetic, *, context) -> Outcome:
        """Rows compare by value (:func:`row_keys`), so storage dtypes do not matter."""
        d = context.dictionary
        train = set(row_keys(real, d).tolist())
        ks = row_keys(synthetic, d)
        copies = np.fromiter((k in train for k in ks.tolist()), dtype=bool, count=len(ks))
        details = {"rows": int(copies.sum()),
                   "synthetic_internal_duplicates": int(pd.Series(ks).duplicated().sum()),
                   "rows_used": {"real": len(real), "synthetic": len(synthetic)}}
        value = float(copies.mean()) if len(ks) else 0.0
        if context.holdout is None or not len(context.holdout):
            return Outcome(value, details)
        kh = row_keys(context.holdout, d)
        h = float(np.mean([k in train for k in kh.tolist()]))
        details["holdout_share"] = finite(h)
        var = two_sample_variance(value, len(ks), h, len(kh))
        return Outcome(value, details, share_limits(
            cls, value, h, 1, variance=var, what="the holdout's own share of copies"))


def _real_range(real: pd.DataFrame, df: pd.DataFrame, dictionary) -> tuple[np.ndarray, dict]:
    """Rows of ``df`` with a number or date outside the training rows' range, and per column
    counts (above the largest, below the smallest real value)."""
    rows = np.zeros(len(df), dtype=bool)
    per: dict[str, dict[str, int]] = {}
    for var in dictionary.variables:
        if not (var.type.is_numeric or var.type is VariableType.DATE):
            continue
        r = numeric_values(real[var.name], var)
        if not np.isfinite(r).any():
            continue
        x = numeric_values(df[var.name], var)
        with np.errstate(invalid="ignore"):
            above, below = x > np.nanmax(r), x < np.nanmin(r)
        if above.any() or below.any():
            per[var.name] = {"above": int(above.sum()), "below": int(below.sum())}
        rows |= above | below
    return rows, per


class OutsideRealRange(Metric):
    """Share of synthetic rows with a value beyond the training rows' range (a fidelity defect,
    not a privacy leak), judged against the holdout's own share."""

    name = "outside_real_range"
    group = "clinical"
    goal = Goal.MINIMIZE
    unit = "share of rows"
    thresholds = (0.01, 0.05)
    description = ("share of synthetic rows with a number or date above the largest or below the "
                   "smallest training value (within the dictionary's bounds); a second real "
                   "sample has some too")

    @classmethod
    def compute(cls, real, synthetic, *, context) -> Outcome:
        """Per column counts in details; the real extremes themselves are not reported."""
        d = context.dictionary
        rows, per = _real_range(real, synthetic, d)
        value = float(rows.mean()) if len(rows) else 0.0
        details = {"rows": int(rows.sum()), "columns": per,
                   "rows_used": {"real": len(real), "synthetic": len(synthetic)}}
        holdout = context.holdout
        if holdout is not None and len(holdout):
            hrows, hper = _real_range(real, holdout, d)
            h = float(hrows.mean())
            details |= {"holdout_share": finite(h), "holdout_columns": hper}
            var = two_sample_variance(value, len(rows), h, len(hrows))
            what = "the holdout's own share"
        else:  # a new continuous value falls outside n others with probability 2 / (n + 1)
            c = sum(1 for v in d.variables if v.type.is_numeric or v.type is VariableType.DATE)
            h = 1 - (1 - 2 / (len(real) + 1)) ** c
            var = h * (1 - h) / max(len(rows), 1)
            what = "the share expected of a new sample (2 / (n + 1) per column)"
        return Outcome(value, details, share_limits(cls, value, h, 1, variance=var, what=what))


def _rates(df: pd.DataFrame, var) -> dict[str, float]:
    """Shares of an outcome's values among known ones, and the share missing."""
    col = df[var.name]
    missing = float(col.isna().mean()) if len(col) else 0.0
    known = col.dropna()
    out: dict[str, float] = {"missing": missing}
    if var.type is VariableType.BOOLEAN:
        out["true"] = float(known.astype(bool).mean()) if len(known) else math.nan
    elif var.type.has_categories:
        counts = known.astype("string").value_counts(normalize=True)
        out |= {str(c): float(counts.get(c, 0.0)) for c in var.categories}
    return out


def outcome_variables(context) -> list[str]:
    """Targets and survival events (the outcomes whose rates are compared)."""
    names: list[str] = []
    try:
        names += context.resolve_targets()
    except Exception:  # noqa: BLE001 - no target: events only
        pass
    names += [p.event for p in context.dictionary.survival]
    return [n for n in dict.fromkeys(names)
            if context.dictionary[n].type is VariableType.BOOLEAN
            or context.dictionary[n].type.has_categories]


class OutcomeRates(Metric):
    """Largest difference in an outcome rate (or its missing share), real vs synthetic."""

    name = "outcome_rates"
    group = "clinical"
    goal = Goal.MINIMIZE
    unit = "rate difference"
    thresholds = (0.05, 0.10)
    description = ("|real − synthetic| share of the outcome value furthest beyond its own "
                   "limit (targets and survival events: event rate, response categories, share "
                   "missing; each limit from the rate's binomial spread)")

    @classmethod
    def compute(cls, real, synthetic, *, context) -> Outcome:
        """Every outcome's rates in details; the one furthest beyond its limit decides."""
        from scipy.stats import norm

        nr, ns = len(real), len(synthetic)
        good, ok = cls.thresholds
        rates = [(name, key, a, _rates(synthetic, context.dictionary[name]).get(key, math.nan))
                 for name in outcome_variables(context)
                 for key, a in _rates(real, context.dictionary[name]).items()]
        rates = [r for r in rates if math.isfinite(r[2]) and math.isfinite(r[3])]
        z = float(norm.ppf(1 - (1 - LEVEL) / max(len(rates), 1)))  # Bonferroni over the rates
        rows, worst = [], None
        for name, key, a, b in rates:
            p = (a * nr + b * ns) / (nr + ns)
            spread = z * math.sqrt(max(p * (1 - p), 0.25 / max(nr, ns)) * (1 / nr + 1 / ns))
            limit = max(good, spread)
            rows.append({"outcome": name, "value": key, "real": finite(a), "synthetic": finite(b),
                         "difference": finite(b - a), "limit": finite(limit)})
            if worst is None or abs(b - a) - limit > worst[0]:
                worst = (abs(b - a) - limit, abs(b - a), limit, f"{name} = {key}")
        if worst is None:
            return Outcome(0.0, {"outcomes": [], "note": "no boolean or categorical outcome"})
        _, judged, limit, which = worst
        # shown and judged: the difference of the row furthest beyond its own limit, so the
        # value, the limit and the status on the page belong to one row
        details = {"outcomes": rows, "decided_by": which,
                   "largest_difference": max(abs(r["difference"]) for r in rows),
                   "rows_used": {"real": nr, "synthetic": ns}}
        return Outcome(judged, details,
                       Limits(limit, limit + (ok - good), judged, reference=0.0, basis=(
                           f"the outcome furthest beyond its own limit decides ({which}, "
                           f"difference {judged:.3g}); pass limit "
                           f"{limit:.3g}: the larger of the documented {good:g} and {z:.3g} "
                           f"binomial standard deviations of the difference (Bonferroni over "
                           f"{len(rates)} rates)")))
