"""The ledger's guarantees a privacy officer signs off, each attacked on its own.

Damaged ledgers are built with ``sqlite3`` directly, on a closed copy of a real ledger whose
append-only triggers are dropped first (the way someone editing the file by hand would), so
that :meth:`BudgetLedger.verify` and the open-time checks are shown to catch each damage.
"""

from __future__ import annotations

import dataclasses
import importlib
import shutil
import sqlite3
import threading
import types
from fractions import Fraction
from pathlib import Path

import pytest

from synthema.errors import BudgetExceededError, LedgerError
from synthema.privacy import BudgetLedger, Charge
from synthema.privacy.accountant import exact_rho


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "site-a.ledger"


def _ledger_with_charges(path: Path) -> Path:
    """A closed ledger: budget 1 → 2 → 1.5, charges 0.2, 0.1, 0.4 (totals .2, .3, .7)."""
    with BudgetLedger(path, rho_max=1.0, site="site-a") as ledger:
        ledger.charge(0.2, query_id="q1", label="age")
        ledger.set_budget(2.0, reason="approved")
        ledger.charge(0.1, query_id="q2", label="sex")
        ledger.set_budget(1.5, reason="lowered")
        ledger.charge(0.4, query_id="q3", label="age x sex")
        ledger.verify()
    return path


def _tamper(source: Path, target: Path, *statements: str) -> Path:
    """Copy the ledger, drop its append-only triggers in the copy, run ``statements``."""
    shutil.copy(source, target)
    con = sqlite3.connect(target)
    triggers = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='trigger'")]
    assert triggers, "the ledger has no append-only triggers to bypass"
    for name in triggers:
        con.execute(f"DROP TRIGGER {name}")
    for statement in statements:
        con.execute(statement)
    con.commit()
    con.close()
    return target


# -- replay -----------------------------------------------------------------------------------


def test_replay_of_a_later_charge_compares_its_own_rho_not_the_running_total(path):
    # Setup: q2 costs 0.1 while the running total after it is 0.3
    with BudgetLedger(path, rho_max=1.0, site="site-a") as ledger:
        ledger.charge(0.2, query_id="q1", label="age")
        ledger.charge(0.1, query_id="q2", label="sex")
        # Run / Assert: the same rho is a free replay
        again = ledger.charge(0.1, query_id="q2", label="sex")
        assert again.replayed and again.rho == 0.1 and again.total == pytest.approx(0.3)
        # a different rho under the same id is refused, even when it equals the total
        for rho in (0.3, 0.2, 0.15):
            with pytest.raises(LedgerError, match=r"q2.*charged rho=0\.1\b.*before") as err:
                ledger.charge(rho, query_id="q2", label="sex")
            assert "new query_id" in err.value.fix
        assert ledger.spent_exact == exact_rho(0.2) + exact_rho(0.1)
        assert len(ledger.charges()) == 2


# -- budget arithmetic at the boundary ---------------------------------------------------------


def test_a_budget_exactly_equal_to_what_is_spent(path):
    # decimal strings are exact: three charges of "0.1" are exactly the budget "0.3"
    with BudgetLedger(path, rho_max="0.3", site="site-a") as ledger:
        # Run
        for i in range(3):
            assert not ledger.would_exceed("0.1")
            ledger.charge("0.1", query_id=f"q{i}", label="cell")
        # Assert
        assert ledger.spent_exact == Fraction(3, 10) and ledger.remaining == 0.0
        assert not ledger.would_exceed(0.0)
        assert ledger.would_exceed(1e-15)
        with pytest.raises(BudgetExceededError):
            ledger.charge(1e-15, query_id="more", label="cell")
        assert ledger.charge(0.0, query_id="free", label="public").total == pytest.approx(0.3)
        # the budget may be set to exactly what is spent, not below
        ledger.set_budget("0.3", reason="freeze")
        with pytest.raises(LedgerError, match="already spent"):
            ledger.set_budget("0.29999999", reason="below")
        ledger.verify()


def test_would_exceed_is_the_charge_decision_without_charging(path):
    with BudgetLedger(path, rho_max=1.0, site="site-a") as ledger:
        ledger.charge(0.25, query_id="q1", label="x")
        # Run / Assert: at, below and above what remains (0.75)
        assert ledger.would_exceed(0.75) is False
        assert ledger.would_exceed(0.7) is False
        assert ledger.would_exceed(0.76) is True
        assert ledger.would_exceed(2) is True
        assert ledger.spent == 0.25 and len(ledger.charges()) == 1  # nothing was charged
        with pytest.raises(ValueError, match="rho"):
            ledger.would_exceed(-0.1)
        # a raised budget is seen at once
        ledger.set_budget(2.0, reason="approved")
        assert ledger.would_exceed(1.75) is False and ledger.would_exceed(1.76) is True


def test_remaining_is_never_negative_after_a_lowered_budget(path):
    with BudgetLedger(path, rho_max=1.0, site="site-a") as ledger:
        ledger.charge(0.625, query_id="q1", label="x")
        ledger.set_budget(0.625, reason="freeze")
        assert ledger.remaining == 0.0 and ledger.rho_max == 0.625
        with pytest.raises(BudgetExceededError, match="remaining 0 of rho_max 0.625"):
            ledger.charge(0.01, query_id="q2", label="x")


@pytest.mark.parametrize("rho_max", [0, 0.0, -1.0, "0", float("nan"), float("inf")])
def test_a_budget_that_is_not_positive_and_finite_is_refused(tmp_path, rho_max):
    # Run / Assert: at creation, nothing is left behind
    target = tmp_path / "new.ledger"
    with pytest.raises(ValueError, match="rho_max"):
        BudgetLedger(target, rho_max=rho_max, site="a")
    assert not target.exists()
    # and when changing it
    with BudgetLedger(tmp_path / "ok.ledger", rho_max=1.0, site="a") as ledger:
        with pytest.raises(ValueError, match="rho_max"):
            ledger.set_budget(rho_max, reason="x")
        assert ledger.rho_max == 1.0 and len(ledger.budget_changes()) == 1


def test_a_tiny_positive_budget_is_accepted(tmp_path):
    with BudgetLedger(tmp_path / "l", rho_max="1e-12", site="a") as ledger:
        assert ledger.rho_max == 1e-12
        ledger.charge("1e-12", query_id="q", label="x")
        assert ledger.remaining == 0.0


# -- file settings ------------------------------------------------------------------------------


def test_file_is_wal_with_full_sync_and_its_own_format_marks(path, monkeypatch):
    # Setup: keep a handle on the connection the ledger opens, to read its settings
    opened: list[sqlite3.Connection] = []
    real_connect = sqlite3.connect

    def spy(*args, **kwargs):
        con = real_connect(*args, **kwargs)
        opened.append(con)
        return con

    monkeypatch.setattr(sqlite3, "connect", spy)
    # Run
    ledger = BudgetLedger(path, rho_max=1.0, site="site-a")
    try:
        ledger.charge(0.1, query_id="q1", label="x")
        # Assert: the ledger's own connection syncs fully (a committed charge survives power loss)
        (con,) = opened
        assert con.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert con.execute("PRAGMA fullfsync").fetchone()[0] == 1
        assert con.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    finally:
        ledger.close()
    monkeypatch.undo()
    # the journal mode and the format marks are in the file itself
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert raw.execute("PRAGMA application_id").fetchone()[0] == int.from_bytes(b"SYNL", "big")
    # the documented on-disk format (docs/privacy.md: "The file format is version 2")
    assert raw.execute("PRAGMA user_version").fetchone()[0] == 2
    meta = dict(raw.execute("SELECT key, value FROM meta"))
    assert meta["site"] == "site-a" and meta["format"] == "synthema-budget-ledger"
    raw.close()


def test_reopening_keeps_wal_and_full_sync(path, monkeypatch):
    BudgetLedger(path, rho_max=1.0, site="site-a").close()
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA journal_mode = DELETE")  # someone switched the journal off
    raw.close()
    opened: list[sqlite3.Connection] = []
    real_connect = sqlite3.connect
    monkeypatch.setattr(sqlite3, "connect",
                        lambda *a, **k: opened.append(real_connect(*a, **k)) or opened[-1])
    with BudgetLedger(path) as ledger:
        assert ledger.spent == 0.0
        assert opened[0].execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert opened[0].execute("PRAGMA synchronous").fetchone()[0] == 2


@pytest.mark.parametrize("version", [0, 2, 99])
def test_another_format_version_is_refused(path, tmp_path, version):
    # Setup: a ledger whose format number is not the one this code writes
    source = _ledger_with_charges(path)
    raw = sqlite3.connect(source)
    current = raw.execute("PRAGMA user_version").fetchone()[0]
    raw.close()
    if version == current:
        version = current + 1
    target = _tamper(source, tmp_path / "other.ledger", f"PRAGMA user_version = {version}")
    # Run / Assert
    with pytest.raises(LedgerError, match=f"ledger format {version} is not supported") as err:
        BudgetLedger(target)
    assert f"expected {current}" in err.value.message
    assert "version that wrote it" in err.value.fix
    with BudgetLedger(source) as good:  # the untouched original still opens
        assert good.spent == pytest.approx(0.7)


def test_a_ledger_without_its_site_is_refused(path, tmp_path):
    target = _tamper(_ledger_with_charges(path), tmp_path / "nosite.ledger",
                     "DELETE FROM meta WHERE key = 'site'")
    with pytest.raises(LedgerError, match="not supported"):
        BudgetLedger(target)


def test_a_ledger_without_any_budget_is_refused(path, tmp_path):
    target = _tamper(_ledger_with_charges(path), tmp_path / "nobudget.ledger",
                     "DELETE FROM budget_changes")
    with pytest.raises(LedgerError, match="has no budget") as err:
        BudgetLedger(target)
    assert "backup" in err.value.fix


# -- verify() -----------------------------------------------------------------------------------


def test_verify_accepts_an_intact_ledger_with_budget_changes(path):
    with BudgetLedger(_ledger_with_charges(path)) as ledger:
        ledger.verify()
        assert [c.total for c in ledger.charges()] == pytest.approx([0.2, 0.3, 0.7])
        assert [c.rho_max for c in ledger.charges()] == [1.0, 2.0, 1.5]


@pytest.mark.parametrize(("statement", "match"), [
    # a running total edited: the total no longer equals the sum of the charges before it
    ("UPDATE charges SET total_exact = '1/5' WHERE query_id = 'q2'", "charge #2 does not add up"),
    # a charge refunded: later totals no longer follow
    ("UPDATE charges SET rho_exact = '0' WHERE query_id = 'q1'", "charge #1 does not add up"),
    # a charge deleted: the next total includes a charge that is gone
    ("DELETE FROM charges WHERE query_id = 'q2'", "charge #3 does not add up"),
    # a charge past the budget in force when it was made
    ("UPDATE charges SET rho_max_exact = '1/2' WHERE query_id = 'q3'",
     "charge #3 does not add up.*budget 1/2"),
])
def test_verify_detects_a_broken_running_total(path, tmp_path, statement, match):
    # Setup
    target = _tamper(_ledger_with_charges(path), tmp_path / "bad.ledger", statement)
    # Run / Assert
    with BudgetLedger(target) as ledger, pytest.raises(LedgerError, match=match) as err:
        ledger.verify()
    assert "backup" in err.value.fix


@pytest.mark.parametrize("statement", [
    # the budget before the last change was 2, not 5: a change was edited out of the chain
    "UPDATE budget_changes SET previous_exact = '5' WHERE seq = 3",
    # a budget change deleted: the last one no longer follows the one before it
    "DELETE FROM budget_changes WHERE seq = 2",
    # the first budget rewritten after the fact
    "UPDATE budget_changes SET rho_max_exact = '3' WHERE seq = 1",
])
def test_verify_detects_a_broken_budget_chain(path, tmp_path, statement):
    # Setup: every charge still adds up; only the chain of budgets is broken
    target = _tamper(_ledger_with_charges(path), tmp_path / "chain.ledger", statement)
    # Run / Assert
    with BudgetLedger(target) as ledger, pytest.raises(LedgerError,
                                                       match="does not follow the one before"):
        ledger.verify()


def test_verify_detects_a_damaged_index_when_the_rows_still_add_up(path, tmp_path):
    # Setup: many charges so that the query-id index has pages of its own; then one byte of
    # an index cell is changed, so that the table and its index disagree
    with BudgetLedger(path, rho_max=1.0, site="site-a") as ledger:
        for i in range(300):
            ledger.charge(0.001, query_id=f"query-{i:04d}", label="x")
    target = tmp_path / "index.ledger"
    shutil.copy(path, target)
    raw = sqlite3.connect(target)
    page_size = raw.execute("PRAGMA page_size").fetchone()[0]
    root = raw.execute("SELECT rootpage FROM sqlite_master WHERE type = 'index' "
                       "AND tbl_name = 'charges'").fetchone()[0]
    raw.close()
    data = bytearray(target.read_bytes())
    page = data[(root - 1) * page_size: root * page_size]
    spot = page.find(b"query-0")
    assert spot > 0
    data[(root - 1) * page_size + spot + 6] = ord("9")  # query-0xxx -> query-9xxx in the index
    target.write_bytes(bytes(data))
    # Run / Assert: the rows still add up, only SQLite's own check sees the damage
    with BudgetLedger(target) as ledger:
        assert len(ledger.charges()) == 300
        with pytest.raises(LedgerError, match="integrity check failed"):
            ledger.verify()


# -- opening, closing, locking ------------------------------------------------------------------


def test_switching_an_old_file_to_wal_waits_for_a_reader(path):
    # Setup: a ledger in the rollback journal, and a reader holding it open
    BudgetLedger(path, rho_max=1.0, site="site-a").close()
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA journal_mode = DELETE")
    raw.close()
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM charges").fetchone()
    result: dict[str, object] = {}

    def open_ledger() -> None:
        try:
            with BudgetLedger(path, timeout=10) as ledger:
                result["spent"] = ledger.spent
        except LedgerError as exc:  # pragma: no cover - reported by the assert below
            result["error"] = exc

    # Run: the ledger opens in a thread while the reader still holds its lock
    thread = threading.Thread(target=open_ledger)
    thread.start()
    thread.join(0.3)
    still_waiting = thread.is_alive()
    reader.execute("COMMIT")
    reader.close()
    thread.join()
    # Assert: it waited for the reader instead of failing, then switched the file to WAL
    assert still_waiting
    assert result == {"spent": 0.0}
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    raw.close()


def test_a_reader_past_the_timeout_gives_a_locked_error_with_a_fix(path):
    BudgetLedger(path, rho_max=1.0, site="site-a").close()
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA journal_mode = DELETE")
    raw.close()
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM charges").fetchone()
    try:
        with pytest.raises(LedgerError, match="locked by another process") as err:
            BudgetLedger(path, timeout=0.05)
        assert "wait for the other synthema process" in err.value.fix
    finally:
        reader.execute("COMMIT")
        reader.close()


def test_a_closed_ledger_says_so(path):
    with BudgetLedger(path, rho_max=1.0, site="site-a") as ledger:
        ledger.charge(0.1, query_id="q1", label="x")
    # Run / Assert: after the with-block the file is closed, every use says how to go on
    for use in (lambda: ledger.spent, lambda: ledger.charges(), lambda: ledger.rho_max,
                lambda: ledger.charge(0.1, query_id="q2", label="x")):
        with pytest.raises(LedgerError, match="ledger is closed") as err:
            use()
        assert err.value.fix == "open it again"
    with BudgetLedger(path) as again:
        assert again.spent == 0.1 and repr(again) == f"BudgetLedger({str(path)!r}, site='site-a')"


def test_a_failed_creation_leaves_an_existing_empty_file_alone(tmp_path, monkeypatch):
    # Setup: the user's own empty file (not created by the ledger)
    target = tmp_path / "placeholder.sqlite"
    target.touch()
    opened: list[sqlite3.Connection] = []
    real_connect = sqlite3.connect
    monkeypatch.setattr(sqlite3, "connect",
                        lambda *a, **k: opened.append(real_connect(*a, **k)) or opened[-1])
    # Run / Assert
    with pytest.raises(LedgerError, match="rho_max and site"):
        BudgetLedger(target, site="a")
    assert target.exists()
    # and the connection it opened is closed again (no handle left on the file)
    (con,) = opened
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        con.execute("SELECT 1")
    monkeypatch.undo()
    with BudgetLedger(target, rho_max=1.0, site="a") as ledger:  # and it can still become one
        assert ledger.rho_max == 1.0


def test_many_threads_creating_the_same_ledger_make_one(tmp_path):
    # Setup: 8 threads open (and so create) one new ledger at the same moment
    target = tmp_path / "shared.ledger"
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def create(i: int) -> None:
        barrier.wait()
        try:
            with BudgetLedger(target, rho_max=1.0, site="site-a") as ledger:
                ledger.charge("0.1", query_id=f"q{i}", label="x")
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Assert: nobody failed, one creation, eight charges
    assert errors == []
    with BudgetLedger(target) as ledger:
        assert [b.reason for b in ledger.budget_changes()] == ["created"]
        assert ledger.spent_exact == Fraction(8, 10)
        ledger.verify()


def test_an_error_inside_a_charge_rolls_it_back(path, monkeypatch):
    # Setup: fail right after the charge row is inserted, before the commit
    ledger_module = importlib.import_module("synthema.privacy.ledger")

    def fail(stage: str) -> None:
        raise RuntimeError(f"crash at {stage}")

    with BudgetLedger(path, rho_max=1.0, site="site-a") as ledger:
        ledger.charge("0.1", query_id="q1", label="x")
        monkeypatch.setattr(ledger_module, "_FAULT_HOOK", fail)
        # Run
        with pytest.raises(RuntimeError, match="crash at after_insert"):
            ledger.charge("0.2", query_id="q2", label="x")
        monkeypatch.setattr(ledger_module, "_FAULT_HOOK", None)
        # Assert: nothing of q2 was kept, and the ledger goes on working
        assert ledger.spent_exact == Fraction(1, 10)
        assert [c.query_id for c in ledger.charges()] == ["q1"]
        assert ledger.charge("0.2", query_id="q2", label="x").total == pytest.approx(0.3)
        ledger.verify()


def test_records_read_back_have_their_documented_defaults(path):
    with BudgetLedger(path, rho_max=1.0, site="site-a") as ledger:
        ledger.charge(0.1, query_id="q1", label="x")
        ledger.set_budget(2.0, reason="approved")
        # Assert: a listed charge is not a replay; the first budget has no previous value
        assert [c.replayed for c in ledger.charges()] == [False]
        assert [b.previous for b in ledger.budget_changes()] == [None, 1.0]
        assert [c.epsilon for c in ledger.charges()] == [None]
        # records are values: nobody downstream can edit what the ledger returned
        with pytest.raises(dataclasses.FrozenInstanceError):
            ledger.charges()[0].rho = 0.0  # type: ignore[misc]
        with pytest.raises(dataclasses.FrozenInstanceError):
            ledger.budget_changes()[0].rho_max = 9.0  # type: ignore[misc]
    # a Charge built by hand is a plain charge unless said otherwise
    defaults = {f.name: f.default for f in dataclasses.fields(Charge)}
    assert defaults["replayed"] is False and defaults["epsilon"] is None


@pytest.mark.parametrize("query_id", ["", None, 7, b"q1"])
def test_a_query_id_must_be_a_non_empty_string(path, query_id):
    with BudgetLedger(path, rho_max=1.0, site="site-a") as ledger:
        with pytest.raises(ValueError, match="query_id must be a non-empty string"):
            ledger.charge(0.1, query_id=query_id, label="x")
        assert ledger.charges() == []


@pytest.mark.parametrize("reason", ["", "   ", None, 3])
def test_a_budget_change_needs_a_written_reason(path, reason):
    with BudgetLedger(path, rho_max=1.0, site="site-a") as ledger:
        with pytest.raises(ValueError, match="reason must say why"):
            ledger.set_budget(2.0, reason=reason)
        assert ledger.rho_max == 1.0
        assert ledger.set_budget(2.0, reason="  ethics board  ").reason == "ethics board"


@pytest.mark.parametrize("table", ["budget_changes", "charges", "meta"])
def test_a_damaged_table_page_is_a_corrupt_ledger_error_not_a_traceback(path, tmp_path, table):
    # Setup: overwrite the first page of one table with garbage, in a copy
    with BudgetLedger(path, rho_max=1.0, site="site-a") as ledger:
        for i in range(40):
            ledger.charge(0.001, query_id=f"q{i}", label="x" * 200)
    target = tmp_path / f"{table}.ledger"
    shutil.copy(path, target)
    raw = sqlite3.connect(target)
    page_size = raw.execute("PRAGMA page_size").fetchone()[0]
    root = raw.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    raw.close()
    data = bytearray(target.read_bytes())
    data[(root - 1) * page_size: root * page_size] = b"\x13" * page_size
    target.write_bytes(bytes(data))
    # Run / Assert: opening, reading or verifying says the ledger is corrupt, with the fix
    with pytest.raises(LedgerError, match="ledger is corrupt") as err:
        with BudgetLedger(target) as ledger:
            ledger.verify()
            ledger.charges()
    assert "restore the ledger file from a backup" in err.value.fix


class _LockedAtFirst:
    """A connection whose switch to WAL reports 'database is locked' the first n times."""

    def __init__(self, path: Path, n: int, message: str = "database is locked") -> None:
        self.con = sqlite3.connect(path)
        self.left, self.message, self.tries = n, message, 0

    def execute(self, sql: str):
        if sql.replace(" ", "").upper() == "PRAGMAJOURNAL_MODE=WAL":
            self.tries += 1
            if self.left:
                self.left -= 1
                raise sqlite3.OperationalError(self.message)
        return self.con.execute(sql)


def test_the_wal_switch_retries_while_locked_until_the_timeout(tmp_path):
    # Setup: SQLite can report "locked" at once, without waiting in its busy handler
    from synthema.privacy._schema import enable_wal

    for i, (failures, timeout, message, ok) in enumerate([
        (3, 30.0, "database is locked", True),  # retried, then switched
        (10**9, 0.0, "database is locked", False),  # no time left: the error is raised
        (1, 30.0, "disk I/O error", False),  # anything but a lock is raised at once
    ]):
        con = _LockedAtFirst(tmp_path / f"{i}.db", failures, message)
        # Run / Assert
        if ok:
            enable_wal(con, timeout=timeout)
            assert con.con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert con.tries == failures + 1
        else:
            with pytest.raises(sqlite3.OperationalError, match=message):
                enable_wal(con, timeout=timeout)
            assert con.con.execute("PRAGMA journal_mode").fetchone()[0] != "wal"
            if "locked" not in message:
                assert con.tries == 1
        con.con.close()


def test_the_wal_switch_pauses_between_tries_and_gives_up_soon_after_the_timeout(
        tmp_path, monkeypatch):
    # Setup: a fake clock (no wall-clock time in the test): reading it costs 0.1 ms, a
    # pause costs what it asks for; the switch stays locked for good
    from synthema.privacy import _schema

    clock = {"now": 0.0, "pauses": []}

    def monotonic() -> float:
        clock["now"] += 1e-4
        return clock["now"]

    def sleep(seconds: float) -> None:
        clock["pauses"].append(seconds)
        clock["now"] += seconds

    monkeypatch.setattr(_schema, "time", types.SimpleNamespace(monotonic=monotonic, sleep=sleep))
    con = _LockedAtFirst(tmp_path / "w.db", 10**9)
    # Run
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        _schema.enable_wal(con, timeout=1.0)
    con.con.close()
    # Assert: a pause before every retry (no busy loop hammering SQLite and a core), and
    # the error within a short pause of the deadline: the caller's timeout is kept, not
    # overrun by a long last pause (after which a retry could still succeed)
    assert con.tries >= 3 and len(clock["pauses"]) == con.tries - 1
    assert all(p > 0 for p in clock["pauses"])
    assert 1.0 < clock["now"] <= 1.0 + 0.05


def _foreign(path):
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE patients (id TEXT)")
    con.commit()
    con.close()


def test_a_foreign_database_is_not_a_ledger_even_without_a_budget(tmp_path):
    path = tmp_path / "other.db"
    _foreign(path)
    with pytest.raises(LedgerError, match="not a synthema budget ledger"):
        BudgetLedger(path)


def test_a_ledger_created_by_another_process_after_we_looked_is_opened(tmp_path, monkeypatch):
    """The creation race: the file looked empty, then another process finished creating it."""
    path = tmp_path / "race.ledger"
    BudgetLedger(path, rho_max=1.0, site="site-a").close()  # the other process
    real_id, real_empty = BudgetLedger._application_id, BudgetLedger._is_empty
    for stale in ("before_checking", "before_the_lock"):
        calls = {"id": 0, "empty": 0}

        def stale_id(self, calls=calls):
            calls["id"] += 1
            return 0 if calls["id"] == 1 else real_id(self)

        def stale_empty(self, calls=calls, stale=stale):
            calls["empty"] += 1
            return (stale == "before_the_lock" and calls["empty"] == 1) or real_empty(self)

        monkeypatch.setattr(BudgetLedger, "_application_id", stale_id)
        monkeypatch.setattr(BudgetLedger, "_is_empty", stale_empty)
        ledger = BudgetLedger(path, rho_max=1.0, site="site-a")
        assert ledger.site == "site-a" and ledger.charges() == []
        ledger.close()


def test_a_foreign_database_created_after_we_looked_is_left_alone(tmp_path, monkeypatch):
    path = tmp_path / "other.db"
    _foreign(path)
    real_empty = BudgetLedger._is_empty
    calls = {"n": 0}

    def stale_empty(self):
        calls["n"] += 1
        return calls["n"] == 1 or real_empty(self)

    monkeypatch.setattr(BudgetLedger, "_is_empty", stale_empty)
    with pytest.raises(LedgerError, match="not a synthema budget ledger"):
        BudgetLedger(path, rho_max=1.0, site="site-a")
    tables = {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master")}
    assert tables == {"patients"}  # no ledger table written into someone else's file
