"""The in-memory accountant at its budget's edges: refused budgets, exact limits, exact ρ."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest

from synthema.errors import BudgetExceededError
from synthema.privacy.accountant import ZCDPAccountant, exact_rho
from synthema.privacy.analysis import cdp_epsilon


@pytest.mark.parametrize("rho_max", [-1.0, -1e-300, math.nan, -math.inf, "nan"])
def test_a_negative_or_nan_budget_is_refused(rho_max):
    with pytest.raises(ValueError, match="rho_max must be >= 0"):
        ZCDPAccountant(rho_max=rho_max)


def test_a_zero_budget_allows_only_free_releases():
    # Setup
    acc = ZCDPAccountant(rho_max=0.0)
    # Run / Assert: ρ = 0 (a public count) passes, anything above is refused
    acc.spend(rho=0.0, label="public")
    assert acc.remaining == 0.0 and not acc.would_exceed(0.0)
    assert acc.would_exceed(5e-324)
    with pytest.raises(BudgetExceededError):
        acc.spend(rho=1e-12, label="private")
    assert acc.history == [(0.0, "public")]


def test_spending_exactly_the_budget_is_allowed_and_nothing_more():
    # Setup: binary fractions, exact as floats (0.125 + 0.25 == 0.375 with no rounding)
    acc = ZCDPAccountant(rho_max=0.375)
    # Run
    acc.spend(rho=0.125, label="a")
    assert not acc.would_exceed(0.25)
    acc.spend(rho=0.25, label="b")
    # Assert
    assert acc.spent == 0.375 and acc.remaining == 0.0
    assert acc.would_exceed(1e-12) and not acc.would_exceed(0)
    with pytest.raises(BudgetExceededError, match="remaining 0 of rho_max 0.375"):
        acc.spend(rho=1e-12, label="c")
    assert [label for _, label in acc.history] == ["a", "b"]


def test_decimal_strings_fill_a_budget_exactly():
    # ten charges of "0.1" are exactly 1 (as floats, 0.1 is charged at its binary value,
    # slightly above 1/10, and the tenth would not fit)
    acc = ZCDPAccountant(rho_max=1.0)
    for i in range(10):
        acc.spend(rho="0.1", label=f"q{i}")
    assert acc.remaining == 0.0 and acc.would_exceed(1e-12)


def test_remaining_and_epsilon_are_exact_sums():
    acc = ZCDPAccountant(rho_max=1.0)
    for rho in (Fraction(1, 3), Fraction(1, 3), 0.25):
        acc.spend(rho=rho, label="x")
    assert acc.spent == float(Fraction(2, 3) + Fraction(1, 4))
    assert acc.remaining == float(1 - Fraction(2, 3) - Fraction(1, 4))
    assert acc.epsilon(1e-6) == cdp_epsilon(float(Fraction(11, 12)), 1e-6)
    assert repr(acc) == f"ZCDPAccountant(rho_max=1.0, spent={float(Fraction(11, 12))!r})"


def test_an_unbounded_accountant_never_refuses_but_checks_rho():
    acc = ZCDPAccountant()
    assert acc.rho_max == math.inf and not acc.would_exceed(1e300)
    with pytest.raises(ValueError, match="rho"):
        acc.would_exceed(-1.0)
    with pytest.raises(ValueError, match="rho"):
        acc.spend(rho=math.nan, label="x")


def test_a_failed_load_keeps_the_previous_state():
    # Setup
    acc = ZCDPAccountant(rho_max=1.0)
    acc.spend(rho=0.5, label="kept")
    # Run / Assert
    with pytest.raises(ValueError, match="rho_max"):
        acc.load_state_dict({"mechanism": "zcdp", "rho_max": -1, "history": []})
    with pytest.raises(ValueError):
        acc.load_state_dict("zcdp")  # type: ignore[arg-type]
    assert acc.history == [(0.5, "kept")] and acc.rho_max == 1.0 and acc.spent == 0.5
    # a state without a budget loads as unbounded
    acc.load_state_dict({"mechanism": "zcdp", "history": [[0.25, "x"]]})
    assert acc.rho_max == math.inf and acc.spent == 0.25


@pytest.mark.parametrize(("value", "expected"), [
    (0, Fraction(0)),
    (0.0, Fraction(0)),
    ("1e-300", Fraction(1, 10**300)),
    (0.375, Fraction(3, 8)),
    (np.float32(0.5), Fraction(1, 2)),
    (Decimal("0.1"), Fraction(1, 10)),
    (" 0.2 ", Fraction(1, 5)),
    (Fraction(2, 7), Fraction(2, 7)),
])
def test_exact_rho_keeps_the_decimal_value(value, expected):
    assert exact_rho(value) == expected


@pytest.mark.parametrize("value", [-1e-300, -1, Fraction(-1, 3), Decimal("-0.1"), "-0.5",
                                   math.inf, -math.inf, math.nan, Decimal("Infinity"), "inf",
                                   "abc", None, [0.1], True, False])
def test_exact_rho_refuses_what_is_not_a_finite_non_negative_number(value):
    with pytest.raises(ValueError, match="my_rho must be"):
        exact_rho(value, name="my_rho")
