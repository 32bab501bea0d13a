"""Clinical checks: rule violations per rule, impossible values, exact copies."""

from __future__ import annotations

import pandas as pd
import pytest

from synthema.evaluate import EvaluationContext
from synthema.evaluate.clinical import ImpossibleValues, RealDuplicates, RuleViolations
from synthema.harmonize import Problem


@pytest.fixture(scope="module")
def broken(fresh) -> pd.DataFrame:
    """A fresh sample with violations injected into two rules, on known rows."""
    out = fresh.copy()
    died = out.index[out["os_days"].notna() & out["efs_days"].notna()][:7]
    out.loc[died, "efs_days"] = out.loc[died, "os_days"] + 30  # efs_before_os
    no_cr = out.index[out["cr"].eq(False).fillna(False) & ~out.index.isin(died)][:4]
    out.loc[no_cr, "cr_days"] = 20  # no_cr_no_days
    return out


def test_injected_violations_are_flagged_per_rule(real, broken, dictionary):
    # Run
    out = RuleViolations.compute(real, broken, context=EvaluationContext(dictionary))
    # Assert
    by_rule = {r["rule"]: r for r in out.details["rules"]}
    assert by_rule["efs_before_os"]["violations"] == 7
    assert by_rule["no_cr_no_days"]["violations"] == 4
    others = {k: v["violations"] for k, v in by_rule.items()
              if k not in ("efs_before_os", "no_cr_no_days")}
    assert set(others.values()) == {0}
    assert out.value == pytest.approx(11 / len(broken))
    assert out.details["real_share"] == 0.0
    assert RuleViolations.status(out.value) == "warn"


def test_real_data_break_no_rule(real, dictionary):
    # Run
    out = RuleViolations.compute(real, real, context=EvaluationContext(dictionary))
    # Assert
    assert out.value == 0.0 and len(out.details["rules"]) == len(dictionary.rules)


def test_impossible_values_count_ranges_categories_and_loader_problems(real, fresh, dictionary):
    # Setup
    bad = fresh.copy()
    bad["age"] = bad["age"].astype("Int64")
    bad.loc[0, "age"] = 150  # above max
    bad["sex"] = bad["sex"].astype("string")
    bad.loc[1, "sex"] = "X"  # not a category
    # the loader's finding in the file's spreadsheet row 4 (header = 1): the frame's row 2
    ctx = EvaluationContext(dictionary, problems=[Problem("syn.csv", 4, "wbc", "type")])
    # Run
    out = ImpossibleValues.compute(real, bad, context=ctx)
    # Assert
    assert out.details["rows"] == 3 and out.value == pytest.approx(3 / len(bad))
    assert out.details["columns"] == {"age": 1, "sex": 1, "wbc": 1}
    assert ImpossibleValues.status(out.value) == "warn"
    assert ImpossibleValues.status(0.0) == "pass"


def test_duplicates_compare_values_not_storage(real, holdout, dictionary):
    # Setup: the same rows with numbers stored as floats and in another order
    syn = real.sample(frac=1.0, random_state=3).reset_index(drop=True)
    syn["age"] = syn["age"].astype("float64")
    ctx = EvaluationContext(dictionary, holdout=holdout)
    # Run
    out = RealDuplicates.compute(real, syn, context=ctx)
    # Assert
    assert out.value == 1.0 and out.details["holdout_share"] == 0.0
    assert RealDuplicates.compute(real, holdout, context=ctx).value == 0.0
