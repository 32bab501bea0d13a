"""ZCDPAccountant: additive composition, refusal before spending, saved state; the registry."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest

from synthema.errors import BudgetExceededError, SynthemaError
from synthema.privacy.accountant import ZCDPAccountant, exact_rho
from synthema.privacy.analysis import cdp_epsilon, gaussian_rho
from synthema.privacy.registry import available_accountants, create_accountant


def test_composition_is_additive_and_exact():
    # Setup
    acc = ZCDPAccountant(rho_max=1.0)
    # Run: ten charges of "0.1" (a float sum would be 0.9999999999999999)
    for i in range(10):
        acc.spend(rho="0.1", label=f"q{i}")
    # Assert
    assert acc.spent == 1.0
    assert acc.remaining == 0.0
    assert len(acc.history) == 10


def test_gaussian_releases_compose_like_one_with_summed_rho():
    # Setup: 4 releases at sigma=2 cost the same as one at sigma=1 (rho 1/8 each, 1/2 total)
    acc = ZCDPAccountant()
    for i in range(4):
        acc.spend(rho=gaussian_rho(1.0, 2.0), label=f"m{i}")
    # Assert
    assert acc.spent == gaussian_rho(1.0, 1.0) == 0.5
    assert acc.epsilon(1e-6) == cdp_epsilon(0.5, 1e-6)


def test_would_exceed_and_refusal_records_nothing():
    # Setup
    acc = ZCDPAccountant(rho_max=0.25)
    acc.spend(rho="0.2", label="first")
    # Run / Assert
    assert not acc.would_exceed("0.05")
    assert acc.would_exceed(0.05)  # the float 0.05 is 0.05000000000000000277...: over by 3e-18
    assert acc.would_exceed(0.0500001)
    with pytest.raises(BudgetExceededError, match=r"rho=0\.15.*spent 0\.2.*remaining 0\.05") as err:
        acc.spend(rho=0.15, label="second")
    assert err.value.fix
    assert isinstance(err.value, SynthemaError)
    assert acc.spent == 0.2 and acc.history == [(0.2, "first")]


def test_unbounded_accountant_only_records():
    acc = ZCDPAccountant()
    acc.spend(rho=1e6, label="huge")
    assert not acc.would_exceed(1e9)
    assert acc.remaining == math.inf


def test_state_dict_round_trip_through_json():
    # Setup
    acc = ZCDPAccountant(rho_max=2.0)
    acc.spend(rho=0.25, label="a")
    acc.spend(rho=Fraction(1, 3), label="b")
    # Run
    state = json.loads(json.dumps(acc.state_dict()))
    restored = ZCDPAccountant()
    restored.load_state_dict(state)
    # Assert
    assert state["mechanism"] == "zcdp"
    assert restored.rho_max == 2.0
    assert restored.history == acc.history
    assert restored.spent == pytest.approx(acc.spent, rel=1e-15)


def test_load_state_dict_checks_the_mechanism_and_budget():
    acc = ZCDPAccountant()
    with pytest.raises(ValueError, match="rdp"):
        acc.load_state_dict({"mechanism": "rdp", "history": []})
    with pytest.raises(BudgetExceededError):
        acc.load_state_dict({"mechanism": "zcdp", "rho_max": 0.1, "history": [[0.2, "x"]]})
    assert acc.history == []


@pytest.mark.parametrize("rho", [-0.1, math.inf, math.nan, "lots", True])
def test_invalid_rho_is_refused(rho):
    with pytest.raises(ValueError, match="rho"):
        ZCDPAccountant().spend(rho=rho, label="bad")


def test_exact_rho_conversions():
    assert exact_rho("0.1") == Fraction(1, 10)
    assert exact_rho(0.1, rounding="down") == Fraction(1, 10)
    assert exact_rho(0.1) == Fraction(0.1) > Fraction(1, 10)  # a charge: the binary value
    assert exact_rho(np.float64(0.1), rounding="down") == Fraction(1, 10)
    assert exact_rho(0.25) == Fraction(1, 4)
    assert exact_rho(np.int64(3)) == 3
    assert exact_rho(Decimal("0.125")) == Fraction(1, 8)
    assert exact_rho("1/3") == Fraction(1, 3)
    with pytest.raises(ValueError, match="rho_max"):
        exact_rho(Decimal("NaN"), name="rho_max")
    with pytest.raises(ValueError, match="rounding"):
        exact_rho(0.1, rounding="nearest")


def test_float_charges_are_never_understated_and_budgets_never_overstated():
    # Setup: floats whose shortest repr lies below / above their binary value
    rng = np.random.default_rng(22)
    values = [0.1, 0.7, 1 / 3, 2 / 3, 0.024356, *rng.random(2000).tolist()]
    below = above = 0
    for x in values:
        # Run
        up, down = exact_rho(x), exact_rho(x, rounding="down")
        # Assert: a charge is at least the float's value, a budget at most
        assert down <= Fraction(x) <= up
        assert {up, down} <= {Fraction(x), Fraction(repr(x))}
        below += Fraction(repr(x)) < Fraction(x)
        above += Fraction(repr(x)) > Fraction(x)
    assert below > 100 and above > 100  # both directions of repr's rounding were exercised


def test_registry_creates_known_and_refuses_unknown():
    # Run
    acc = create_accountant("zcdp", rho_max=0.5)
    # Assert
    assert isinstance(acc, ZCDPAccountant) and acc.rho_max == 0.5
    assert available_accountants() == ["zcdp"]
    with pytest.raises(ValueError, match="Unexpected accounting mechanism: 'rdp'"):
        create_accountant("rdp")
