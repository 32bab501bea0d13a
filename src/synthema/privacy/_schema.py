"""The budget ledger's file format: SQL schema, records read back, SQLite error handling.

See :mod:`synthema.privacy.ledger`.

Kept apart so that a privacy officer can read the whole file format in one place. ρ values
are stored twice: ``*_exact`` as an exact fraction (``"1/10"``), which the arithmetic uses, and
a REAL copy for reading with any SQLite tool (``sqlite3 budget.sqlite 'SELECT * FROM
history'``). Triggers make every table append-only.

>>> len(SCHEMA) > 5 and all(s.strip().startswith("CREATE") for s in SCHEMA)
True
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from synthema.errors import LedgerError

APPLICATION_ID = 0x53594E4C  # "SYNL": marks the file as a synthema ledger (PRAGMA application_id)
SCHEMA_VERSION = 2  # PRAGMA user_version; 2 added the local-only ρ of every charge
NO_FIX = "restore the ledger file from a backup; never edit or delete it by hand"

_TABLES = (
    """CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )""",
    """CREATE TABLE budget_changes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        changed_at TEXT NOT NULL,
        rho_max REAL NOT NULL,
        rho_max_exact TEXT NOT NULL,
        previous_exact TEXT,
        reason TEXT NOT NULL
    )""",
    """CREATE TABLE charges (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        query_id TEXT NOT NULL UNIQUE,
        label TEXT NOT NULL,
        charged_at TEXT NOT NULL,
        rho REAL NOT NULL,
        rho_exact TEXT NOT NULL,
        total REAL NOT NULL,
        total_exact TEXT NOT NULL,
        rho_max_exact TEXT NOT NULL,
        local_rho REAL NOT NULL,
        local_rho_exact TEXT NOT NULL,
        local_total REAL NOT NULL,
        local_total_exact TEXT NOT NULL,
        local_rho_max_exact TEXT
    )""",
    """CREATE VIEW history AS
        SELECT changed_at AS at, 'budget' AS kind, NULL AS query_id, reason AS label,
               NULL AS rho, NULL AS total, rho_max, NULL AS local_rho, NULL AS local_total
        FROM budget_changes
        UNION ALL
        SELECT charged_at, 'charge', query_id, label, rho, total,
               CAST(rho_max_exact AS REAL), local_rho, local_total
        FROM charges
        ORDER BY at""",
)


def _append_only(table: str) -> tuple[str, ...]:
    return tuple(
        f"""CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table}
        BEGIN SELECT RAISE(ABORT, 'the budget ledger is append-only'); END"""
        for action in ("UPDATE", "DELETE")
    )


SCHEMA: tuple[str, ...] = (
    _TABLES + _append_only("meta") + _append_only("budget_changes") + _append_only("charges")
)


@dataclass(frozen=True)
class Charge:
    """One committed charge: what was asked, when, and the running totals after it.

    Two guarantees are recorded for every release. ``rho`` is the one the budget is charged
    with: for a federated answer, the release's ρ if secure aggregation holds (the site's
    noise summed with the others'). ``local_rho`` is what the site keeps if aggregation were
    broken and its own answer seen alone (its own noise share only; equal to ``rho`` for a
    release that is not aggregated). ``total``/``local_total`` are the running sums.
    ``epsilon`` is the (ε, δ)-DP equivalent of ``total`` when :meth:`BudgetLedger.charges`
    was given a δ; ``replayed`` is True when :meth:`BudgetLedger.charge` found the query id
    already charged and charged nothing.

    >>> c = Charge(1, "q1", "age", "2026-01-01T00:00:00+00:00", 0.1, 0.1, 1.0, 0.2, 0.2)
    >>> c.total, c.local_total
    (0.1, 0.2)
    """

    seq: int
    query_id: str
    label: str
    charged_at: str
    rho: float
    total: float
    rho_max: float
    local_rho: float
    local_total: float
    epsilon: float | None = None
    replayed: bool = False


@dataclass(frozen=True)
class BudgetChange:
    """One change of ``rho_max``, the first being the ledger's creation.

    >>> BudgetChange(1, "2026-01-01T00:00:00+00:00", 1.0, None, "created").previous is None
    True
    """

    seq: int
    changed_at: str
    rho_max: float
    previous: float | None
    reason: str


def not_a_ledger(path: Path) -> LedgerError:
    return LedgerError(
        f"{path}: not a synthema budget ledger",
        fix="point to the site's ledger file (a site creates it at its first federated fit)",
    )


@contextmanager
def sqlite_errors(path: Path) -> Iterator[None]:
    """Turn SQLite's exceptions into a LedgerError with a one-line fix."""
    try:
        yield
    except sqlite3.Error as exc:
        text = str(exc).lower()
        if "not a database" in text:
            raise not_a_ledger(path) from exc
        if "locked" in text or "busy" in text:
            raise LedgerError(
                f"{path}: ledger is locked by another process ({exc})",
                fix="wait for the other synthema process to finish, then retry",
            ) from exc
        if "malformed" in text or "corrupt" in text:
            raise LedgerError(f"{path}: ledger is corrupt ({exc})", fix=NO_FIX) from exc
        if "closed" in text:
            raise LedgerError(f"{path}: ledger is closed", fix="open it again") from exc
        raise LedgerError(f"{path}: ledger cannot be used ({exc})", fix=NO_FIX) from exc


def enable_wal(con: sqlite3.Connection, *, timeout: float) -> None:
    """Switch to the WAL journal (persistent, once per file).

    The switch needs every other connection to be idle, and SQLite reports "locked" at once
    instead of waiting, so it is retried until ``timeout`` seconds have passed.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            if con.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
                return
            con.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc).lower() or time.monotonic() > deadline:
                raise
            time.sleep(0.005)
