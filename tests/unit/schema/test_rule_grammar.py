"""The rule grammar, operator by operator, against Python's own arithmetic and comparisons.

Each rule is evaluated on a small frame and compared with the same computation done row by
row in plain Python (three-valued: None where an operand is missing), so that a changed
operator, boundary, literal or type check in ``schema/rules.py`` fails a test.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import operator

import pandas as pd
import pytest

from synthema.errors import RuleSyntaxError
from synthema.schema.rules import Rule

A = [3.0, -2.0, 0.0, 7.5, None, 4.0]
B = [3.0, 5.0, -4.0, 2.5, 1.0, None]


@pytest.fixture
def nums() -> pd.DataFrame:
    return pd.DataFrame({
        "a": pd.array(A, dtype="Float64"),
        "b": pd.array(B, dtype="Float64"),
        "flag": pd.array([True, False, True, None, False, True], dtype="boolean"),
        "grade": pd.array(["low", "high", None, "mid", "low", "high"], dtype="string"),
    })


GRADE = {"grade": ("low", "mid", "high")}


def _values(series: pd.Series) -> list[bool | None]:
    return [None if pd.isna(x) else bool(x) for x in series]


def _rowwise(fn, *columns: list) -> list:
    return [None if any(v is None for v in row) else fn(*row) for row in zip(*columns,
                                                                          strict=True)]


_CMP = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
        "==": operator.eq, "!=": operator.ne}


@pytest.mark.parametrize("op", list(_CMP))
def test_numeric_comparisons_match_python_at_and_around_the_boundary(nums, op):
    # Setup: a against b (equal on row 0), and a against literals on both sides of 3
    for rhs in ("b", "3", "2.5", "3.5"):
        expected = _rowwise(_CMP[op], A, B if rhs == "b" else [float(rhs)] * len(A))
        # Run
        out = Rule.parse(f"a {op} {rhs}").evaluate(nums)
        # Assert
        assert _values(out) == expected, (op, rhs)


@pytest.mark.parametrize("op", list(_CMP))
def test_ordinal_comparisons_follow_category_order(nums, op):
    # Setup: ranks low=0 < mid=1 < high=2, compared with "mid" (the middle category)
    rank = {"low": 0, "mid": 1, "high": 2}
    grades = ["low", "high", None, "mid", "low", "high"]
    expected = _rowwise(lambda g: _CMP[op](rank[g], 1), grades)
    # Run
    out = Rule.parse(f'grade {op} "mid"').evaluate(nums, ordinals=GRADE)
    # Assert
    assert _values(out) == expected
    # the literal on the left compares the other way round
    flipped = Rule.parse(f'"mid" {op} grade').evaluate(nums, ordinals=GRADE)
    assert _values(flipped) == _rowwise(lambda g: _CMP[op](1, rank[g]), grades)


def test_text_equality_and_inequality_without_order(nums):
    # Run / Assert: == and != work on any text column; missing stays missing
    assert _values(Rule.parse('grade == "high"').evaluate(nums)) == [
        False, True, None, False, False, True]
    assert _values(Rule.parse('grade != "high"').evaluate(nums)) == [
        True, False, None, True, True, False]
    # the shipped AML rule: induction_intensity != "supportive_care" => response known
    aml = pd.DataFrame({
        "induction_intensity": pd.array(["intensive", "supportive_care", "intensive", None],
                                        dtype="string"),
        "induction_response": pd.array(["cr", None, None, None], dtype="string"),
    })
    rule = Rule.parse('induction_intensity != "supportive_care" => induction_response is not '
                      "missing")
    assert _values(rule.evaluate(aml)) == [True, True, False, None]


@pytest.mark.parametrize(("op", "fn"), [("+", operator.add), ("-", operator.sub),
                                         ("*", operator.mul), ("/", operator.truediv)])
def test_arithmetic_matches_python(nums, op, fn):
    # Setup: the exact result of each row, then thresholds just below, at and above it
    results = [None if a is None or b is None else fn(a, b) for a, b in zip(A, B, strict=True)]
    for i, value in enumerate(results):
        if value is None:
            continue
        for delta, expect in ((-0.25, True), (0.0, False), (0.25, False)):
            # Run
            out = Rule.parse(f"a {op} b > {value + delta!r}" if value + delta >= 0 else
                             f"a {op} b > -{-(value + delta)!r}").evaluate(nums)
            # Assert
            assert _values(out)[i] is expect, (op, i, value, delta)
        assert _values(Rule.parse(f"a {op} b == {abs(value)!r}" if value >= 0 else
                                  f"a {op} b == -{-value!r}").evaluate(nums))[i] is True


def test_precedence_and_left_associativity(nums):
    # Setup: a - b - 1 is (a - b) - 1, a - b * 2 is a - (b * 2), a / b / 2 is (a / b) / 2
    cases = {
        "a - b - 1": lambda a, b: a - b - 1,
        "a - b * 2": lambda a, b: a - b * 2,
        "a / b / 2": lambda a, b: a / b / 2,
        "-a + b": lambda a, b: -a + b,
        "(a + b) * 2": lambda a, b: (a + b) * 2,
        "--a - b": lambda a, b: a - b,
    }
    for expr, fn in cases.items():
        expected = _rowwise(lambda a, b, fn=fn: math.isclose(fn(a, b), 1.5) or fn(a, b) < 1.5,
                            A, B)
        # Run
        out = Rule.parse(f"{expr} <= 1.5").evaluate(nums)
        # Assert
        assert _values(out) == expected, expr


def test_division_by_zero_is_missing_not_infinite(nums):
    # Run / Assert: a / (b - b) divides by zero on every known row
    assert _values(Rule.parse("a / (b - b) > 0").evaluate(nums)) == [None] * 6
    assert _values(Rule.parse("a / (b - b) is missing").evaluate(nums)) == [True] * 6


def test_min_max_and_abs_match_python_and_propagate_missing(nums):
    cases = [("min(a, b)", min, True), ("max(a, b)", max, True),
             ("min(a, b, 1)", lambda a, b: min(a, b, 1), True),
             ("max(a, 0, b)", lambda a, b: max(a, 0, b), True),
             ("abs(a - b)", lambda a, b: abs(a - b), True), ("abs(-a)", lambda a, b: abs(a), False)]
    for expr, fn, needs_b in cases:
        for threshold in (-3.0, 0.0, 1.0, 3.0, 5.0):
            expected = [None if a is None or (needs_b and b is None) else fn(a, b) >= threshold
                        for a, b in zip(A, B, strict=True)]
            # Run
            rule = f"{expr} >= {threshold!r}" if threshold >= 0 else f"{expr} >= -{-threshold!r}"
            out = Rule.parse(rule).evaluate(nums)
            # Assert
            assert _values(out) == expected, (expr, threshold)


def test_count_counts_only_known_true_arguments(nums):
    # Setup: flag, a > 0, b > 0; missing counts as not true
    expected = [sum(bool(v) for v in (f, a is not None and a > 0, b is not None and b > 0))
                for f, a, b in zip([True, False, True, None, False, True], A, B, strict=True)]
    for n in range(4):
        # Run
        out = Rule.parse(f"count(flag, a > 0, b > 0) == {n}").evaluate(nums)
        # Assert
        assert _values(out) == [e == n for e in expected]


@pytest.mark.parametrize(("expr", "expected"), [
    ("a in [3, 7.5]", [True, False, False, True, None, False]),
    ("a in [-2]", [False, True, False, False, None, False]),
    ("a in [-2, 0.0, 4]", [False, True, True, False, None, True]),
    ("a not in [-2, 3]", [False, False, True, True, None, True]),
    ("b in [-4, 1e0]", [False, False, True, False, True, None]),
    ("flag in [true]", [True, False, True, None, False, True]),
    ("flag in [false]", [False, True, False, None, True, False]),
    ("flag not in [true]", [False, True, False, None, True, False]),
    ('grade in ["low", "mid"]', [True, False, None, True, True, False]),
    ("grade in ['high']", [False, True, None, False, False, True]),
])
def test_in_lists_take_numbers_negative_numbers_booleans_and_text(nums, expr, expected):
    # Run
    out = Rule.parse(expr).evaluate(nums)
    # Assert
    assert _values(out) == expected


@pytest.mark.parametrize(("expr", "expected"), [
    ("true", [True] * 6),
    ("false", [False] * 6),
    ("flag == true", [True, False, True, None, False, True]),
    ("flag == false", [False, True, False, None, True, False]),
    ("false or flag", [True, False, True, None, False, True]),
    ("true and flag", [True, False, True, None, False, True]),
    ("true or flag", [True] * 6),
    ("false and flag", [False] * 6),
    ("not flag", [False, True, False, None, True, False]),
    ("not not flag", [True, False, True, None, False, True]),
    ("flag + true == 2", [True, False, True, None, False, True]),
    ("flag implies false", [False, True, False, None, True, False]),
    # right-associative: flag => (a > 0 => b < 0); the left grouping gives False on row 1
    ("flag => a > 0 => b < 0", [False, True, True, None, True, None]),
])
def test_boolean_literals_and_connectives(nums, expr, expected):
    # Run
    out = Rule.parse(expr).evaluate(nums)
    # Assert
    assert _values(out) == expected


def test_kleene_truth_tables_brute_force():
    # Setup: every pair of true/false/missing
    vals = [True, False, None]
    pairs = list(itertools.product(vals, vals))
    df = pd.DataFrame({"p": pd.array([p for p, _ in pairs], dtype="boolean"),
                       "q": pd.array([q for _, q in pairs], dtype="boolean")})

    def kleene_and(p, q):
        return False if p is False or q is False else (None if None in (p, q) else True)

    def kleene_or(p, q):
        return True if p is True or q is True else (None if None in (p, q) else False)

    # Run / Assert
    assert _values(Rule.parse("p and q").evaluate(df)) == [kleene_and(p, q) for p, q in pairs]
    assert _values(Rule.parse("p or q").evaluate(df)) == [kleene_or(p, q) for p, q in pairs]
    assert _values(Rule.parse("p => q").evaluate(df)) == [
        kleene_or(None if p is None else not p, q) for p, q in pairs]
    assert _values(Rule.parse("p is missing").evaluate(df)) == [p is None for p, _ in pairs]
    assert _values(Rule.parse("q is not missing").evaluate(df)) == [q is not None for _, q in pairs]


def test_chained_comparison_is_a_conjunction(nums):
    # Run / Assert: -1 < a < 4 is (-1 < a) and (a < 4), not ((-1 < a) < 4)
    expected = _rowwise(lambda a: -1 < a < 4, A)
    assert _values(Rule.parse("-1 < a < 4").evaluate(nums)) == expected
    assert _values(Rule.parse("0 <= a <= b").evaluate(nums)) == _rowwise(
        lambda a, b: 0 <= a <= b, A, B)


def test_dates_compare_with_iso_literals_and_subtract_to_days():
    # Setup
    df = pd.DataFrame({"dx": pd.to_datetime(["2020-01-01", "2020-03-01", None]),
                       "fu": pd.to_datetime(["2020-01-31", "2020-02-29", "2021-01-01"])})
    # Run / Assert
    assert _values(Rule.parse("fu - dx == 30").evaluate(df)) == [True, False, None]
    assert _values(Rule.parse("fu - dx < 0").evaluate(df)) == [False, True, None]
    assert _values(Rule.parse('dx < "2020-03-01"').evaluate(df)) == [True, False, None]
    assert _values(Rule.parse('"2020-03-01" <= dx').evaluate(df)) == [False, True, None]
    with pytest.raises(ValueError, match="not an ISO date"):
        Rule.parse('dx < "01.03.2020"').evaluate(df)


def test_literal_tokens_numbers_strings_and_quoted_names():
    # Setup
    df = pd.DataFrame({"odd name": pd.array([1500.0, 0.5], dtype="Float64"),
                       "txt": pd.array(['say "hi"', "it's"], dtype="string")})
    # Run / Assert: exponents, leading dots, escaped quotes, backquoted names
    assert _values(Rule.parse("`odd name` == 1.5e3").evaluate(df)) == [True, False]
    assert _values(Rule.parse("`odd name` == .5").evaluate(df)) == [False, True]
    assert _values(Rule.parse("`odd name` == 15E+2").evaluate(df)) == [True, False]
    assert _values(Rule.parse(r'txt == "say \"hi\""').evaluate(df)) == [True, False]
    assert _values(Rule.parse(r"txt == 'it\'s'").evaluate(df)) == [False, True]
    assert Rule.parse("`odd name` > 1 and txt is missing").columns == ("odd name", "txt")


def test_columns_in_order_of_first_use_without_repeats():
    # Run / Assert: columns inside functions, in-lists, negations and implications count
    rule = Rule.parse("not (b > abs(a - c)) => max(d, b) in [1, 2] or count(e, a) == 1")
    assert rule.columns == ("b", "a", "c", "d", "e")
    assert Rule.parse("1 < 2").columns == ()


def test_to_mapping_keeps_only_what_was_given():
    assert Rule.parse("a < b").to_mapping() == "a < b"
    assert Rule.parse("a < b", name="order").to_mapping() == {"name": "order", "expr": "a < b"}
    assert Rule.parse("a < b", description="why").to_mapping() == {
        "name": "a < b", "expr": "a < b", "description": "why"}


@pytest.mark.parametrize("expr", ["a + 1", "a", '"text"', "grade", "min(a, b)", "-a",
                                  "count(flag)", "abs(a)"])
def test_a_rule_that_is_not_true_or_false_is_refused(nums, expr):
    rule = Rule.parse(expr)
    # Run / Assert: on data, and when the dictionary type-checks it
    with pytest.raises(TypeError, match="true/false"):
        rule.evaluate(nums)
    with pytest.raises(TypeError, match="true/false"):
        rule.check_types({"a": "num", "b": "num", "grade": "str", "flag": "bool"}, {}, {})


@pytest.mark.parametrize(("expr", "match"), [
    ("abs(a, b) > 1", r"abs\(\) takes one argument"),
    ("abs() > 1", r"expected a value"),
    ("min(a,) > 1", r"expected a value"),
    ("a in []", r"expected a number"),
    ("a in [1", r"expected '\]'"),
    ("a in [-x]", r"expected a number"),
    ("a in [-'x']", r"expected a number"),
    ("a in [-true]", r"expected a number"),
    ("a in [a]", r"expected a number"),
    ("a is 1", r"expected 'missing'"),
    ("a is not 1", r"expected 'missing'"),
    ("a not b", r"unexpected token"),
    ("a =>", r"expected a value.* at end"),
    ("", r"expected a value.* at end"),
    ("max a", r"unexpected token at position 5"),
])
def test_malformed_rules_are_refused_with_a_position(expr, match):
    with pytest.raises(RuleSyntaxError, match=match) as err:
        Rule.parse(expr, source="d.yaml")
    assert err.value.message.startswith("d.yaml: rule ")
    assert "docs/rules.md" in err.value.fix


def test_unknown_function_is_named_and_position_points_at_it():
    with pytest.raises(RuleSyntaxError, match=r"position 5 \('log'\)") as err:
        Rule.parse("a + log(b) > 1")
    assert "abs, count, max, min" in err.value.message


@pytest.mark.parametrize(("expr", "error", "match"), [
    ('grade in ["low", "medium"]', ValueError, r"'medium' is not a category"),
    ('grade not in ["hgh"]', ValueError, r"'hgh' is not a category"),
    ('grade == "medium"', ValueError, r"'medium' is not a category.*low, mid, high"),
    ('"medium" != grade', ValueError, r"'medium' is not a category"),
    ('grade + 1 > 2', TypeError, "text value was used in arithmetic"),
    ("-grade < 1", TypeError, "text value was used in arithmetic"),
    ("abs(grade) > 1", TypeError, "text value was used in arithmetic"),
    ("max(a, grade) > 1", TypeError, "text value was used in arithmetic"),
    ('a == "low"', TypeError, "text compared with a number"),
    ('"low" < a', TypeError, "text compared with a number"),
    ("a and flag", TypeError, "num value was used where true/false"),
    ("not a", TypeError, "num value was used where true/false"),
    ("count(a) > 1", TypeError, "num value was used where true/false"),
    ('grade > "low"', TypeError, "needs an ordinal column"),
])
def test_dictionary_type_check_refuses_bad_rules(expr, error, match):
    # Setup: what Dictionary.validate hands check_types
    kinds = {"a": "num", "flag": "bool", "grade": "str"}
    categories = {"grade": ("low", "mid", "high")}
    # Run / Assert
    with pytest.raises(error, match=match):
        Rule.parse(expr).check_types(kinds, categories, {})


def test_type_check_accepts_known_categories_and_dates():
    kinds = {"grade": "str", "dx": "date", "flag": "bool", "a": "num"}
    categories = {"grade": ("low", "mid", "high")}
    for expr in ('grade in ["low", "high"]', 'grade >= "mid"', 'dx >= "2020-01-01"',
                 "flag => a > 1", "count(flag, a > 0) <= 1", 'grade != "low" or a / 2 < 1'):
        Rule.parse(expr).check_types(kinds, categories, {"grade": ("low", "mid", "high")})


def test_categories_are_checked_only_while_type_checking(nums):
    # Run / Assert: on data, an unknown literal simply matches nothing
    assert _values(Rule.parse('grade in ["medium"]').evaluate(nums)) == [
        False, False, None, False, False, False]


def test_unknown_column_on_data_names_it(nums):
    with pytest.raises(KeyError, match="'gradee' is not in the data"):
        Rule.parse("gradee > 1").evaluate(nums)


def test_integer_and_plain_bool_columns_are_read_as_numbers_and_booleans():
    # Setup: numpy dtypes, not pandas nullable ones
    df = pd.DataFrame({"n": [1, 2, 3], "f": [True, False, True]})
    # Run / Assert
    assert _values(Rule.parse("f => n >= 2.5").evaluate(df)) == [False, True, True]
    assert _values(Rule.parse("n * f == 3").evaluate(df)) == [False, False, True]


def test_text_that_looks_like_a_keyword_or_an_operator_stays_text():
    # Setup
    df = pd.DataFrame({"txt": pd.array(["true", "-", "false", "+"], dtype="string")})
    # Run / Assert: quoted true/false/- are strings, not booleans or a minus sign
    assert _values(Rule.parse('txt == "true"').evaluate(df)) == [True, False, False, False]
    assert _values(Rule.parse("txt in ['-', 'false']").evaluate(df)) == [False, True, True, False]
    assert _values(Rule.parse('txt not in ["+"]').evaluate(df)) == [True, True, True, False]


def test_only_a_minus_sign_may_precede_a_list_number():
    with pytest.raises(RuleSyntaxError, match=r"expected a number.*position 7 \('\('\)"):
        Rule.parse("a in [(1)]")
    with pytest.raises(RuleSyntaxError, match=r"expected a number.*position 7 \('\+'\)"):
        Rule.parse("a in [+1]")


def test_a_bad_list_element_is_pointed_at():
    with pytest.raises(RuleSyntaxError, match=r"position 13 \('x'\)"):
        Rule.parse("days in [1, x]")
    with pytest.raises(RuleSyntaxError, match=r"position 11 \('x'\)"):
        Rule.parse("days in [-x]")


def test_a_rule_is_an_immutable_value_with_a_readable_repr():
    rule = Rule.parse("a < b", name="order", description="a first")
    assert repr(rule) == "Rule(expr='a < b', name='order', description='a first')"
    with pytest.raises(dataclasses.FrozenInstanceError):
        rule.expr = "a > b"  # type: ignore[misc]
    assert rule == Rule.parse("a < b", name="order", description="a first")
    assert hash(rule) == hash(Rule.parse("a < b", name="order", description="a first"))


def test_backquoted_keyword_names_are_columns():
    # Setup: columns literally called true, missing and and
    df = pd.DataFrame({"true": pd.array([0.0, 2.0], dtype="Float64"),
                       "false": pd.array([5.0, 1.0], dtype="Float64"),
                       "and": pd.array([True, False], dtype="boolean")})
    # Run / Assert
    assert _values(Rule.parse("`true` > 1").evaluate(df)) == [False, True]
    assert _values(Rule.parse("`false` > `true`").evaluate(df)) == [True, False]
    assert _values(Rule.parse("`and` and true").evaluate(df)) == [True, False]
    assert Rule.parse("`true` + `false` > 1").columns == ("true", "false")
