"""Clinical plausibility: rule violations, impossible values, copies of real patients.

Rules come from the dictionary (:meth:`synthema.schema.Dictionary.evaluate_rules`): a rule is
violated on a row where it evaluates to false; where it is not applicable (a value it needs is
missing) it is not counted. The real data's own rates are reported beside the synthetic ones,
because a site's export can break a rule too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthema.evaluate.encoding import numeric_values
from synthema.evaluate.metric import Goal, Metric, Outcome, finite
from synthema.schema import VariableType
from synthema.schema.values import out_of_range


def _violations(df: pd.DataFrame, dictionary) -> pd.DataFrame:
    verdicts = dictionary.evaluate_rules(df)
    return (~verdicts.fillna(True)).astype(bool)


class RuleViolations(Metric):
    """Share of synthetic rows that break at least one clinical rule; per rule in details."""

    name = "rule_violations"
    group = "clinical"
    goal = Goal.MINIMIZE
    unit = "share of rows"
    thresholds = (0.01, 0.05)
    description = "share of synthetic rows violating ≥ 1 dictionary rule (per-rule rates listed)"

    @classmethod
    def compute(cls, real, synthetic, *, context) -> Outcome:
        """Rules are evaluated on the typed frames; NA (not applicable) never counts."""
        d = context.dictionary
        if not d.rules:
            return Outcome(0.0, {"rules": [], "note": "the dictionary declares no rules"})
        vs, vr = _violations(synthetic, d), _violations(real, d)
        applicable = d.evaluate_rules(synthetic).notna()
        rows = []
        for rule in d.rules:
            n_app = int(applicable[rule.name].sum())
            n_bad = int(vs[rule.name].sum())
            rows.append({"rule": rule.name, "expr": rule.expr, "applicable": n_app,
                         "violations": n_bad, "rate": finite(n_bad / max(len(synthetic), 1)),
                         "real_violations": int(vr[rule.name].sum()),
                         "real_rate": finite(vr[rule.name].sum() / max(len(real), 1))})
        share = float(vs.any(axis=1).mean()) if len(synthetic) else 0.0
        return Outcome(share, {"rules": rows, "violated_rules": sum(r["violations"] > 0
                                                                     for r in rows),
                               "real_share": finite(vr.any(axis=1).mean() if len(real) else 0)})


class ImpossibleValues(Metric):
    """Share of synthetic rows with a value the dictionary forbids (range, category, type)."""

    name = "impossible_values"
    group = "clinical"
    goal = Goal.MINIMIZE
    unit = "share of rows"
    thresholds = (0.0, 0.01)
    description = ("share of synthetic rows with a value outside the dictionary's bounds, not a "
                   "listed category, or unreadable (as the loader reported it)")

    @classmethod
    def compute(cls, real, synthetic, *, context) -> Outcome:
        """Typed-frame checks plus the cells the loader had to drop (``context.problems``)."""
        bad = np.zeros(len(synthetic), dtype=bool)
        per_column: dict[str, int] = {}
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
                               "loader_problems": len(context.problems)})


def row_keys(df: pd.DataFrame, dictionary) -> np.ndarray:
    """One hash per row of its values, independent of how each column is stored.

    Numbers, dates and booleans compare as floats, categories by their dictionary position
    (-1 missing, -2 not a category), so an Int64 copy of a float row is still a copy.
    """
    cols = {}
    for var in dictionary.variables:
        if var.type.has_categories:
            text = df[var.name].astype("string")
            codes = pd.Categorical(text, categories=var.categories).codes.astype(float)
            codes[(codes < 0) & text.notna().to_numpy(dtype=bool)] = -2
            cols[var.name] = codes
        else:
            cols[var.name] = numeric_values(df[var.name], var)
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
                   "synthetic_internal_duplicates": int(pd.Series(ks).duplicated().sum())}
        if context.holdout is not None and len(context.holdout):
            kh = row_keys(context.holdout, d)
            details["holdout_share"] = finite(np.mean([k in train for k in kh.tolist()]))
        return Outcome(float(copies.mean()) if len(ks) else 0.0, details)
