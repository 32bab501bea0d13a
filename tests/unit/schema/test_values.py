"""Typed values: text cells to typed columns and back, without losing a digit."""

from __future__ import annotations

import pandas as pd
import pytest

from synthema.schema import load_dictionary
from synthema.schema.dictionary import Variable, VariableType
from synthema.schema.values import format_column, format_frame, parse_column, typed_frame


@pytest.mark.parametrize(
    ("var", "values", "text"),
    [
        (
            Variable("p", VariableType.CONTINUOUS, decimals=0),
            [210.0, 100.0, 0.0, None],
            ["210", "100", "0", ""],
        ),
        (
            Variable("w", VariableType.CONTINUOUS, decimals=1),
            [10.0, 2.5, 0.04, None],
            ["10", "2.5", "0", ""],
        ),
        (Variable("d", VariableType.DURATION), [30, 7300, None, 0], ["30", "7300", "", "0"]),
        (Variable("b", VariableType.BOOLEAN), [True, False, None, True], ["1", "0", "", "1"]),
    ],
)
def test_format_keeps_every_digit(var, values, text):
    typed = parse_column(pd.Series([None if v is None else str(v) for v in values]), var).values
    assert format_column(typed, var).tolist() == text


def test_parse_reports_each_failure_kind():
    var = Variable("age", VariableType.INTEGER, min=18, max=100)
    p = parse_column(pd.Series(["50", "5", "x", "50.5", None]), var)
    assert p.bad_type.tolist() == [False, False, True, True, False]
    assert p.bad_range.tolist() == [False, True, False, False, False]
    cat = Variable("sex", VariableType.CATEGORICAL, categories=("1", "2"))
    p = parse_column(pd.Series(["1", "2.0", "3", None]), cat)
    assert p.values.tolist()[:2] == ["1", "2"]
    assert p.bad_category.tolist() == [False, False, True, False]


@pytest.mark.parametrize("name", ["aml", "scd"])
def test_simulated_frames_round_trip_through_text(name):
    from synthema.cohorts.simulate import simulate

    d = load_dictionary(name)
    data = simulate(name, sites=2, patients=400, seed=3)[0].data
    again = typed_frame(format_frame(data, d), d)
    pd.testing.assert_frame_equal(again, data)


def test_a_comma_in_a_number_is_a_type_problem_not_a_guess():
    # "1,458" is 1458 in the US and 1.458 in Germany: a clean file must not guess.
    var = Variable("ldh", VariableType.CONTINUOUS, decimals=0)
    p = parse_column(pd.Series(["1,458", "8,7", "1458", "8.7"]), var)
    assert p.bad_type.tolist() == [True, True, False, False]
    assert p.values.tolist()[2:] == [1458.0, 8.7]
