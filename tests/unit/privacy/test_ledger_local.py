"""Both guarantees in the ledger: the aggregated ρ and the local-only ρ of every release."""

from __future__ import annotations

import sqlite3
from fractions import Fraction

import pytest

from synthema.errors import BudgetExceededError, LedgerError
from synthema.privacy.ledger import BudgetLedger


def _copy(ledger: BudgetLedger, target):
    """A consistent copy (the WAL included), via SQLite's backup API."""
    with sqlite3.connect(ledger.path) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    return target


def _tampered(ledger: BudgetLedger, target, update: str):
    """A consistent copy whose append-only trigger is dropped, then ``update`` applied."""
    copy = _copy(ledger, target)
    with BudgetLedger(copy) as intact:
        intact.verify()  # the copy is whole before the edit
    con = sqlite3.connect(copy)
    con.execute("DROP TRIGGER charges_no_update")
    con.execute(update)
    con.commit()
    con.close()
    return copy


@pytest.fixture()
def ledger(tmp_path):
    with BudgetLedger(tmp_path / "site.ledger", rho_max=1.0, site="site-a") as book:
        yield book


def test_every_charge_records_both_guarantees_and_their_totals(ledger):
    # Run: two federated answers (local = the site's share alone) and one central release
    ledger.charge("0.01", query_id="q1", label="round 1", local_rho="0.02")
    ledger.charge("0.03", query_id="q2", label="round 2", local_rho="0.09")
    ledger.charge("0.05", query_id="q3", label="central")

    # Assert
    charges = ledger.charges()
    assert [c.local_rho for c in charges] == [0.02, 0.09, 0.05]  # default: local = rho
    assert [c.local_total for c in charges] == [0.02, 0.11, 0.16]
    assert [c.total for c in charges] == [0.01, 0.04, 0.09]
    assert ledger.local_spent == 0.16 and ledger.spent == 0.09
    ledger.verify()
    rows = sqlite3.connect(ledger.path).execute(
        "SELECT kind, rho, local_rho, local_total FROM history WHERE kind = 'charge'"
    ).fetchall()
    assert rows[-1] == ("charge", 0.05, 0.05, 0.16)


def test_a_local_rho_below_rho_is_refused(ledger):
    with pytest.raises(ValueError, match="never be cheaper"):
        ledger.charge("0.02", query_id="q1", local_rho="0.01")
    assert ledger.charges() == []


def test_the_local_cap_refuses_before_writing(ledger):
    # Setup
    ledger.charge("0.01", query_id="q1", local_rho="0.3", local_rho_max="0.5")

    # Run / Assert: 0.3 + 0.3 > 0.5, refused although the aggregated budget has room
    refused = r"local-only rho=0\.3.*0\.2 left of its local cap"
    with pytest.raises(BudgetExceededError, match=refused):
        ledger.charge("0.01", query_id="q2", local_rho="0.3", local_rho_max="0.5")
    assert [c.query_id for c in ledger.charges()] == ["q1"]
    # exactly at the cap is allowed
    ledger.charge("0.01", query_id="q3", local_rho="0.2", local_rho_max="0.5")
    assert ledger.local_spent == 0.5


def test_a_replay_with_another_local_rho_is_refused(ledger):
    ledger.charge("0.01", query_id="q1", local_rho="0.02")
    assert ledger.charge("0.01", query_id="q1", local_rho="0.02").replayed
    with pytest.raises(LedgerError, match="local 0.02"):
        ledger.charge("0.01", query_id="q1", local_rho="0.05")


def test_verify_finds_a_tampered_local_total(ledger, tmp_path):
    # Setup: a copy with one local total edited
    ledger.charge("0.01", query_id="q1", local_rho="0.02")
    ledger.charge("0.01", query_id="q2", local_rho="0.02")
    copy = _tampered(ledger, tmp_path / "tampered.ledger",
                     "UPDATE charges SET local_total_exact = '1/100' WHERE query_id = 'q2'")

    # Run / Assert
    with BudgetLedger(copy) as tampered, pytest.raises(LedgerError, match="local-only rho"):
        tampered.verify()


def test_verify_finds_a_charge_past_the_cap_it_was_made_under(ledger, tmp_path):
    # Setup: a charge under a cap of 0.5, then the row's cap edited down to 0.1
    ledger.charge("0.01", query_id="q1", local_rho="0.3", local_rho_max="0.5")
    copy = _tampered(ledger, tmp_path / "capped.ledger",
                     "UPDATE charges SET local_rho_max_exact = '1/10'")

    # Run / Assert: the cap is on the row, so verify() sees it was passed
    with BudgetLedger(copy) as tampered, pytest.raises(LedgerError, match="cap 1/10"):
        tampered.verify()


def test_a_format_1_ledger_is_refused_with_a_way_forward(ledger, tmp_path):
    # Setup: the same file claiming the old format (no local-only column then)
    old = _copy(ledger, tmp_path / "old.ledger")
    con = sqlite3.connect(old)
    con.execute("PRAGMA user_version = 1")
    con.commit()
    con.close()

    # Run / Assert
    with pytest.raises(LedgerError, match="format 1 does not record") as info:
        BudgetLedger(old)
    assert "new ledger" in info.value.fix


def test_exact_local_figures(ledger):
    ledger.charge(Fraction(1, 3), query_id="q1", local_rho=Fraction(2, 3))
    [charge] = ledger.charges()
    assert charge.local_rho == float(Fraction(2, 3)) and charge.rho == float(Fraction(1, 3))


def test_verify_accepts_local_spending_exactly_at_the_cap(ledger):
    # Setup: two charges whose local-only rho adds up to the cap exactly (decimal strings)
    ledger.charge("0.01", query_id="q1", local_rho="0.3", local_rho_max="0.5")
    ledger.charge("0.01", query_id="q2", local_rho="0.2", local_rho_max="0.5")

    # Run / Assert: at the cap is within it
    ledger.verify()


def test_a_refusal_names_the_query_when_it_has_no_label(ledger):
    with pytest.raises(BudgetExceededError, match="'q-unlabelled'"):
        ledger.charge("0.01", query_id="q-unlabelled", local_rho="0.9", local_rho_max="0.5")
    with pytest.raises(BudgetExceededError, match="'q-big'"):
        ledger.charge(10, query_id="q-big")
