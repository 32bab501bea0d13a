"""The privacy officer's statement of a site's ledger (`synthema budget show/set`)."""

from __future__ import annotations

import dataclasses

import pytest

from synthema.errors import LedgerError, ParameterError
from synthema.privacy import BudgetLedger
from synthema.privacy.analysis import cdp_epsilon, cdp_rho
from synthema.privacy.statement import read_statement, set_site_budget


@pytest.fixture()
def path(tmp_path):
    p = tmp_path / "site.ledger"
    with BudgetLedger(p, rho_max=0.5, site="site-a") as book:
        book.charge(0.125, query_id="q1", label="one-way")
    return p


def test_the_statement_reads_the_ledger_with_epsilon_at_the_default_delta(path):
    # Run
    s = read_statement(path)
    # Assert: figures from the file, ε at δ = 1e-6 (the documented default)
    assert (s.site, s.rho_max, s.spent, s.remaining) == ("site-a", 0.5, 0.125, 0.375)
    assert s.delta == 1e-6
    assert s.epsilon_spent == cdp_epsilon(0.125, 1e-6)
    assert s.epsilon_max == cdp_epsilon(0.5, 1e-6)
    assert [c.query_id for c in s.charges] == ["q1"]
    assert s.to_dict()["charges"][0]["label"] == "one-way"
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.spent = 0.0  # a statement is a record of the file, not a place to edit it


def test_a_missing_ledger_is_named_and_not_created(tmp_path):
    missing = tmp_path / "nowhere.ledger"
    with pytest.raises(LedgerError, match="no such ledger"):
        read_statement(missing)
    with pytest.raises(LedgerError, match="no such ledger"):
        set_site_budget(missing, rho_max=1.0, reason="DPO approval 2026-12")
    assert not missing.exists()


def test_a_budget_set_as_epsilon_is_converted_at_the_default_delta(path):
    # Run
    s = set_site_budget(path, epsilon_max=4.0, reason="DPO approval 2026-12")
    # Assert: ρ rounded down from cdp_rho(4, 1e-6), never above it
    assert s.rho_max <= cdp_rho(4.0, 1e-6)
    assert s.rho_max == pytest.approx(cdp_rho(4.0, 1e-6), rel=1e-12)
    assert s.delta == 1e-6
    assert s.budget_changes[-1].reason == "DPO approval 2026-12"


def test_exactly_one_budget_is_required(path):
    with pytest.raises(ParameterError, match="exactly one"):
        set_site_budget(path, reason="x")
    with pytest.raises(ParameterError, match="exactly one"):
        set_site_budget(path, epsilon_max=1.0, rho_max=0.1, reason="x")
