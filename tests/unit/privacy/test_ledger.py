"""BudgetLedger in one process: refusals, exact totals, idempotency, budget changes, bad files."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from fractions import Fraction

import pytest

from synthema.errors import BudgetExceededError, LedgerError, SynthemaError
from synthema.privacy.analysis import cdp_epsilon
from synthema.privacy.ledger import BudgetLedger


@pytest.fixture
def path(tmp_path):
    return tmp_path / "site-a.ledger"


@pytest.fixture
def ledger(path):
    with BudgetLedger(path, rho_max=1.0, site="site-a") as opened:
        yield opened


def test_refuses_overspend_with_a_clear_error_and_writes_nothing(ledger):
    # Setup
    ledger.charge(0.7, query_id="q1", label="age x sex")
    before = ledger.charges()
    # Run
    with pytest.raises(BudgetExceededError) as err:
        ledger.charge(0.4, query_id="q2", label="wbc x os")
    # Assert: one line naming site, request, spent and remaining; a fix; nothing written
    message = str(err.value)
    assert "\n" not in message
    for part in ("'site-a'", "rho=0.4", "spent 0.7", "remaining 0.3"):
        assert part in message
    assert err.value.fix and isinstance(err.value, SynthemaError)
    assert ledger.charges() == before
    assert ledger.spent == 0.7
    # and a refused query id stays free for a smaller charge
    assert ledger.charge(0.3, query_id="q2", label="wbc x os").total == 1.0


def test_running_totals_are_exact(ledger):
    # Run: 100 charges of "0.01" fill rho_max = 1.0 exactly (a float sum would drift)
    for i in range(100):
        ledger.charge("0.01", query_id=f"q{i}", label="cell")
    # Assert
    assert ledger.spent_exact == Fraction(1)
    assert ledger.remaining == 0.0
    assert [c.total for c in ledger.charges()][:3] == [0.01, 0.02, 0.03]
    with pytest.raises(BudgetExceededError):
        ledger.charge(1e-12, query_id="one-more", label="cell")
    assert ledger.charge(0.0, query_id="free", label="public count").total == 1.0
    ledger.verify()


def test_same_query_id_is_charged_once(ledger):
    # Run
    first = ledger.charge(0.2, query_id="q1", label="age")
    again = ledger.charge(0.2, query_id="q1", label="age")
    # Assert
    assert not first.replayed and again.replayed
    assert again.seq == first.seq and again.charged_at == first.charged_at
    assert ledger.spent == 0.2 and len(ledger.charges()) == 1
    with pytest.raises(LedgerError, match="q1"):
        ledger.charge(0.3, query_id="q1", label="age")


def test_charges_list_timestamps_labels_and_epsilon(ledger):
    # Setup
    ledger.charge(0.125, query_id="a", label="age")
    ledger.charge(0.25, query_id="b", label="sex x outcome")
    # Run
    rows = ledger.charges(delta=1e-6)
    # Assert
    assert [(c.query_id, c.label, c.rho, c.total) for c in rows] == [
        ("a", "age", 0.125, 0.125),
        ("b", "sex x outcome", 0.25, 0.375),
    ]
    assert [c.epsilon for c in rows] == [cdp_epsilon(0.125, 1e-6), cdp_epsilon(0.375, 1e-6)]
    times = [datetime.fromisoformat(c.charged_at) for c in rows]
    assert times[0] <= times[1] and times[0].tzinfo is not None
    assert all(c.rho_max == 1.0 for c in rows)
    assert ledger.charges()[0].epsilon is None
    assert ledger.epsilon(1e-6) == cdp_epsilon(0.375, 1e-6)


def test_reopening_keeps_state(path, ledger):
    # Setup
    ledger.charge(0.3, query_id="q1", label="x")
    ledger.close()
    # Run
    with BudgetLedger(path, rho_max=1.0, site="site-a") as again:
        # Assert
        assert again.spent == 0.3 and again.site == "site-a" and again.rho_max == 1.0
    with BudgetLedger(path) as reader:
        assert reader.charges()[0].query_id == "q1"


def test_mismatched_budget_or_site_is_an_error(path, ledger):
    ledger.close()
    with pytest.raises(LedgerError, match="rho_max=1") as err:
        BudgetLedger(path, rho_max=2.0, site="site-a")
    assert "set_budget" in err.value.fix
    with pytest.raises(LedgerError, match="site-b"):
        BudgetLedger(path, rho_max=1.0, site="site-b")


def test_budget_changes_are_deliberate_and_visible(path, ledger):
    # Setup
    ledger.charge(0.6, query_id="q1", label="x")
    # Run
    raised = ledger.set_budget(2.0, reason="ethics board approval 2026-07")
    lowered = ledger.set_budget(0.8, reason="freeze after the release")
    # Assert
    assert (raised.previous, raised.rho_max) == (1.0, 2.0)
    assert ledger.rho_max == 0.8 and ledger.remaining == pytest.approx(0.2)
    assert [(b.rho_max, b.reason) for b in ledger.budget_changes()] == [
        (1.0, "created"),
        (2.0, "ethics board approval 2026-07"),
        (0.8, "freeze after the release"),
    ]
    assert lowered.seq == 3
    ledger.verify()
    with pytest.raises(LedgerError, match="already spent"):
        ledger.set_budget(0.5, reason="too low")
    with pytest.raises(ValueError, match="reason"):
        ledger.set_budget(3.0, reason=" ")
    ledger.close()
    with BudgetLedger(path, rho_max=0.8, site="site-a") as again:
        assert again.charges()[0].rho_max == 1.0  # the budget in force when charged


def test_rows_are_append_only(path, ledger):
    # Setup
    ledger.charge(0.5, query_id="q1", label="x")
    raw = sqlite3.connect(path)
    # Run / Assert: no refund, no silent budget edit
    for statement in (
        "UPDATE charges SET rho_exact = '0'",
        "DELETE FROM charges",
        "UPDATE budget_changes SET rho_max_exact = '100'",
        "DELETE FROM meta",
    ):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            raw.execute(statement)
    raw.close()
    assert ledger.spent == 0.5


def test_verify_detects_tampering(path, ledger):
    # Setup: someone drops the trigger and rewrites a total
    ledger.charge(0.5, query_id="q1", label="x")
    raw = sqlite3.connect(path)
    raw.execute("DROP TRIGGER charges_no_update")
    raw.execute("UPDATE charges SET rho_exact = '1/10'")
    raw.commit()
    raw.close()
    # Run / Assert
    with pytest.raises(LedgerError, match="does not add up"):
        ledger.verify()


@pytest.mark.parametrize(
    "content",
    [b"patient_id,age\n1,54\n", bytes(range(256)) * 20, b"SQLite format 3\x00" + b"\xff" * 200],
)
def test_a_file_that_is_not_a_ledger_is_refused_and_untouched(tmp_path, content):
    # Setup
    target = tmp_path / "data.csv"
    target.write_bytes(content)
    # Run / Assert
    with pytest.raises(LedgerError, match="not a synthema budget ledger") as err:
        BudgetLedger(target, rho_max=1.0, site="a")
    assert err.value.fix
    assert target.read_bytes() == content


def test_another_sqlite_database_is_refused(tmp_path):
    # Setup
    other = tmp_path / "app.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE patients (id INTEGER)")
    con.commit()
    con.close()
    # Run / Assert
    with pytest.raises(LedgerError, match="not a synthema budget ledger"):
        BudgetLedger(other, rho_max=1.0, site="a")


def test_corrupt_ledger_is_an_error(path, ledger):
    # Setup: the ledger is written, then its pages are overwritten
    for i in range(50):
        ledger.charge(0.001, query_id=f"q{i}", label="x" * 200)
    ledger.close()
    data = bytearray(path.read_bytes())
    data[4096:] = b"\x13" * (len(data) - 4096)
    path.write_bytes(bytes(data))
    # Run / Assert
    with pytest.raises(LedgerError) as err:
        with BudgetLedger(path) as broken:
            broken.verify()
            broken.charges()
    assert err.value.fix


def test_locked_ledger_is_an_error_with_a_fix(path, ledger):
    # Setup: another process holds the write lock
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with BudgetLedger(path, timeout=0.05) as second:
            # Run / Assert
            with pytest.raises(LedgerError, match="locked") as err:
                second.charge(0.1, query_id="q1", label="x")
            assert err.value.fix
            assert second.spent == 0.0  # readers are not blocked (WAL)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_creating_needs_budget_and_site_and_leaves_no_file(tmp_path):
    target = tmp_path / "new.ledger"
    with pytest.raises(LedgerError, match="rho_max and site"):
        BudgetLedger(target, site="a")
    assert not target.exists()
    with pytest.raises(LedgerError, match="directory"):
        BudgetLedger(tmp_path / "missing" / "x.ledger", rho_max=1.0, site="a")
    with pytest.raises(LedgerError):
        BudgetLedger(tmp_path, rho_max=1.0, site="a")


@pytest.mark.parametrize("rho", [-0.1, float("inf"), float("nan")])
def test_invalid_charges_are_refused(ledger, rho):
    with pytest.raises(ValueError, match="rho"):
        ledger.charge(rho, query_id="q", label="x")
    with pytest.raises(ValueError, match="query_id"):
        ledger.charge(0.1, query_id="", label="x")
    assert ledger.charges() == []
