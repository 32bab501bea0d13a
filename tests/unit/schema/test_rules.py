"""The rule grammar: three-valued logic, types, and syntax errors with positions."""

from __future__ import annotations

import pandas as pd
import pytest

from synthema.errors import RuleSyntaxError
from synthema.schema.rules import Rule, evaluate_rules


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "cr": pd.array([True, False, None, True], dtype="boolean"),
            "days": pd.array([10, 20, None, 40], dtype="Int64"),
            "os": pd.array([30, 10, 5, None], dtype="Int64"),
            "risk": pd.array(["favorable", "adverse", None, "intermediate"], dtype="string"),
            "dx": pd.to_datetime(["2020-01-01", "2021-06-01", None, "2019-05-05"]),
        }
    )


ORD = {"risk": ("favorable", "intermediate", "adverse")}


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("days <= os", [True, False, None, None]),
        ("cr => days is not missing", [True, True, None, True]),
        ("not cr or days > 15", [False, True, None, True]),
        ("cr and days > 100", [False, False, None, False]),
        ("days > 100 and os > 1", [False, False, None, False]),  # false and n/a is false
        ("days > 1 or os > 100", [True, True, None, True]),  # true or n/a is true
        ('risk >= "intermediate"', [False, True, None, True]),
        ('risk in ["adverse", "favorable"]', [True, True, None, False]),
        ('risk not in ["adverse"]', [True, False, None, True]),
        ("days is missing", [False, False, True, False]),
        ("10 <= days <= 20", [True, True, None, False]),
        ("abs(days - os) >= 10", [True, True, None, None]),
        ("max(days, os) == 30", [True, False, None, None]),
        ("count(cr, days > 15) >= 1", [True, True, False, True]),
        ('dx >= "2020-01-01"', [True, True, None, False]),
        ("days / 0 > 1", [None, None, None, None]),
        ("cr == (days < 30)", [True, False, None, False]),
        ("`days` + 1 == 11", [True, False, None, False]),
        ("-days < 0 implies cr", [True, False, None, True]),
        # booleans count as 0/1 in arithmetic (a boolean column is cast to a number, not reused)
        ("-cr < 0", [True, False, None, True]),
        ("min(cr, days) == 1", [True, False, None, True]),
    ],
)
def test_rule_values(frame, expr, expected):
    # Run
    out = Rule.parse(expr).evaluate(frame, ordinals=ORD)
    # Assert
    assert [None if pd.isna(x) else bool(x) for x in out] == expected


def test_rules_evaluated_together_give_what_each_gives_alone(frame):
    # Setup: rules sharing columns and literals (each column is converted and each literal
    # broadcast once per frame, then reused: a stale or mutated share would show here)
    exprs = ["days <= os", "days > 15", "os > 15", 'dx >= "2020-01-01"', "days > 15 or cr",
             'risk >= "intermediate"', 'risk == "adverse"', "not cr", "cr == (days < 30)",
             '"2020-01-01" <= dx', "days + 15 > 30", "-days < 0 implies cr"]
    rules = [Rule.parse(e) for e in exprs]
    # Run
    together = evaluate_rules(rules, frame, ordinals=ORD)
    # Assert
    assert len(together) == len(rules)
    for rule, res in zip(rules, together, strict=True):
        pd.testing.assert_series_equal(res, rule.evaluate(frame, ordinals=ORD))
    def values(res):
        return [None if pd.isna(v) else bool(v) for v in res]

    assert values(together[1]) == [False, True, None, True]
    assert values(together[3]) == values(together[9]) == [True, True, None, False]
    assert values(together[10]) == [False, True, None, True]


@pytest.mark.parametrize(
    ("expr", "match"),
    [
        ("days <=", r"expected a value.* at end"),
        ("days === 1", r"position 8"),
        ("open(days)", r"unknown function"),
        ("(days > 1", r"expected '\)' at end"),
        ("days > 1 os", r"unexpected token at position 10"),
        ("days in [1, x]", r"expected a number, a quoted string"),
        ("days $ 1", r"unexpected character '\$' at position 6"),
        ("__import__('os')", r"unknown function"),
    ],
)
def test_syntax_errors_name_the_position(expr, match):
    with pytest.raises(RuleSyntaxError, match=match):
        Rule.parse(expr)


def test_no_python_evaluation(frame):
    # A string that Python would evaluate is just text here.
    rule = Rule.parse("risk == \"__import__('os').system('false')\"")
    assert not rule.evaluate(frame).fillna(False).any()


def test_text_ordering_needs_an_ordinal(frame):
    with pytest.raises(TypeError, match="ordinal"):
        Rule.parse('risk > "adverse"').evaluate(frame)
