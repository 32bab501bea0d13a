"""A site's privacy budget ledger: one SQLite file, charged before any answer leaves.

Guarantees (docs/privacy.md explains them for a privacy officer):

- **Charge before release.** :meth:`BudgetLedger.charge` commits the charge, and only then
  may the caller release the noisy answer. A crash between the two leaves a charge without a
  release (privacy-safe), never a release without a charge.
- **Atomic, serialised.** The check (``spent + ρ <= rho_max``) and the insert run in one
  ``BEGIN IMMEDIATE`` transaction, which takes SQLite's write lock first: processes charging
  at the same time queue up and can never jointly pass ``rho_max``. A refused charge writes
  nothing.
- **Crash safe.** WAL journal with ``synchronous=FULL``: a committed charge survives a
  killed process and a power cut; an uncommitted one vanishes as a whole.
- **Exact, append-only, no refunds.** ρ is stored as an exact fraction next to a readable
  float, with the running total and the budget in force on every row.
- **Both guarantees.** Every charge also records its *local-only* ρ: what the release costs if
  secure aggregation were broken and the site's answer seen alone (its own noise share only),
  with its running total. An optional cap (``local_rho_max``) refuses a charge whose local
  total would pass it, in the same transaction; the cap in force is kept on the charge row,
  so :meth:`BudgetLedger.verify` can check it was respected. Triggers refuse any
  UPDATE or DELETE, so charges are never refunded and every budget change stays visible.
- **Idempotent per query id.** Charging a ``query_id`` again returns the first charge and
  costs nothing, so a query retried after a crash is not charged twice. The retried answer
  must then be the same noisy answer (cached, or noise derived from the query id), never
  fresh noise: fresh noise is a second release and needs a new query id.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "budget.sqlite"
>>> with BudgetLedger(path, rho_max=1.0, site="hospital-a") as ledger:
...     first = ledger.charge(0.25, query_id="q1", label="age x sex")
...     again = ledger.charge(0.25, query_id="q1", label="age x sex")
...     ledger.spent, ledger.remaining, again.replayed
(0.25, 0.75, True)
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

from synthema.errors import BudgetExceededError, LedgerError, ParameterError
from synthema.privacy._schema import (
    APPLICATION_ID,
    NO_FIX,
    SCHEMA,
    SCHEMA_VERSION,
    BudgetChange,
    Charge,
    enable_wal,
    not_a_ledger,
    sqlite_errors,
)
from synthema.privacy.accountant import exact_rho
from synthema.privacy.analysis import cdp_epsilon

# Test-only fault injection: called with a stage name inside the charge transaction.
_FAULT_HOOK: Callable[[str], None] | None = None

_CHARGE_COLUMNS = (
    "seq, query_id, label, charged_at, rho_exact, total_exact, rho_max_exact, "
    "local_rho_exact, local_total_exact"
)


def _float_or_none(exact: str | None) -> float | None:
    return None if exact is None else float(Fraction(exact))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _charge_amounts(rho: float, local_rho: float | None, local_rho_max: float | None
                    ) -> tuple[Fraction, Fraction, Fraction | None]:
    """A charge's exact ρ, local-only ρ (never below ρ) and local cap (rounded down)."""
    cost = exact_rho(rho)
    local = cost if local_rho is None else exact_rho(local_rho, name="local_rho")
    if local < cost:
        raise ValueError(
            f"local_rho={local_rho!r} is below rho={rho!r}: a site's answer seen alone "
            "can never be cheaper than the aggregated release"
        )
    local_cap = (
        None
        if local_rho_max is None
        else exact_rho(local_rho_max, name="local_rho_max", rounding="down")
    )
    return cost, local, local_cap


class BudgetLedger:
    """The zCDP budget of one site, kept in a SQLite file on that site's disk.

    Args:
        path: the ledger file; created (with its parent directory present) if missing.
        rho_max: the budget. Required to create a ledger; when opening one it must equal
            the stored budget (or be omitted): change it only with :meth:`set_budget`.
        site: the site name. Required to create; checked when given on opening.
        timeout: seconds to wait for another process's write lock before giving up.

    Raises:
        LedgerError: not a ledger, corrupt, locked, or opened with another site/budget.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        rho_max: float | None = None,
        site: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.path = Path(path)
        if self.path.is_dir() or not self.path.parent.is_dir():
            raise LedgerError(
                f"{self.path}: not a file in an existing directory",
                fix="give a file path inside an existing directory",
            )
        existed = self.path.exists()
        self._timeout = float(timeout)
        with sqlite_errors(self.path):
            self._con = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
        try:
            self._open(rho_max, site)
        except BaseException:
            self._con.close()
            if not existed and self.path.exists() and self.path.stat().st_size == 0:
                self.path.unlink()  # leave no empty file behind a failed creation
            raise

    # -- opening ---------------------------------------------------------------------------

    def _open(self, rho_max: float | None, site: str | None) -> None:
        with sqlite_errors(self.path):
            if self._application_id() != APPLICATION_ID:
                self._create(rho_max, site)
            enable_wal(self._con, timeout=self._timeout)
            for pragma in ("synchronous = FULL", "fullfsync = ON", "foreign_keys = ON"):
                self._con.execute(f"PRAGMA {pragma}")
            version = self._con.execute("PRAGMA user_version").fetchone()[0]
            meta = dict(self._con.execute("SELECT key, value FROM meta"))
        if version == 1 and "site" in meta:
            raise LedgerError(
                f"{self.path}: ledger format 1 does not record the local-only rho of its "
                "charges, which this synthema version needs",
                fix="keep this file as the record of what the site spent; start the site on "
                "a new ledger path and lower its budget by what the old one spent "
                "(`synthema budget show --ledger OLD` prints it)",
            )
        if version != SCHEMA_VERSION or "site" not in meta:
            raise LedgerError(
                f"{self.path}: ledger format {version} is not supported (expected "
                f"{SCHEMA_VERSION})",
                fix="open it with the synthema version that wrote it",
            )
        self.site: str = meta["site"]
        if site is not None and site != self.site:
            raise LedgerError(
                f"{self.path}: ledger belongs to site {self.site!r}, not {site!r}",
                fix="use this site's own ledger file",
            )
        with sqlite_errors(self.path):
            stored = self._rho_max_exact()
        if rho_max is not None and exact_rho(rho_max, name="rho_max", rounding="down") != stored:
            raise LedgerError(
                f"{self.path}: site {self.site!r} has rho_max={float(stored):g} in its "
                f"ledger, not {rho_max!r}",
                fix=f"pass rho_max={float(stored):g}, or change the budget deliberately "
                "with BudgetLedger(path).set_budget(new, reason=...)",
            )

    def _application_id(self) -> int:
        return self._con.execute("PRAGMA application_id").fetchone()[0]

    def _is_empty(self) -> bool:
        return self._con.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0

    def _create(self, rho_max: float | None, site: str | None) -> None:
        if not self._is_empty():  # a foreign database, or a ledger created since we looked
            if self._application_id() == APPLICATION_ID:
                return
            raise not_a_ledger(self.path)
        if rho_max is None or not site:
            raise LedgerError(
                f"{self.path}: no ledger here yet, and creating one needs rho_max and site",
                fix="pass rho_max=... and site=... to create the ledger",
            )
        budget = exact_rho(rho_max, name="rho_max", rounding="down")
        if budget <= 0:
            raise ParameterError(f"rho_max must be > 0, got {rho_max!r}",
                                 fix="give the site's budget as a positive rho (or epsilon)")
        with self._write():
            if self._application_id() == APPLICATION_ID:
                return  # another process created it meanwhile
            if not self._is_empty():
                raise not_a_ledger(self.path)
            for statement in SCHEMA:
                self._con.execute(statement)
            self._con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            self._con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            now = _now()
            self._con.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?)",
                [("site", site), ("created_at", now), ("format", "synthema-budget-ledger")],
            )
            self._con.execute(
                "INSERT INTO budget_changes (changed_at, rho_max, rho_max_exact, "
                "previous_exact, reason) VALUES (?, ?, ?, NULL, 'created')",
                (now, float(budget), str(budget)),
            )

    # -- plumbing --------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One BEGIN IMMEDIATE transaction: takes the write lock before reading anything."""
        self._con.execute("BEGIN IMMEDIATE")
        try:
            yield self._con
        except BaseException:
            self._con.execute("ROLLBACK")
            raise
        self._con.execute("COMMIT")

    def _rho_max_exact(self) -> Fraction:
        row = self._con.execute(
            "SELECT rho_max_exact FROM budget_changes ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        if row is None:
            raise LedgerError(f"{self.path}: ledger has no budget", fix=NO_FIX)
        return Fraction(row[0])

    def _totals_exact(self) -> tuple[Fraction, Fraction]:
        """(total ρ, total local-only ρ) charged so far."""
        row = self._con.execute(
            "SELECT total_exact, local_total_exact FROM charges ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        return (Fraction(0), Fraction(0)) if row is None else (Fraction(row[0]), Fraction(row[1]))

    def _spent_exact(self) -> Fraction:
        return self._totals_exact()[0]

    @staticmethod
    def _charge(row: tuple, *, delta: float | None = None, replayed: bool = False) -> Charge:
        seq, query_id, label, charged_at, rho, total, rho_max, local, local_total = row
        total_value = float(Fraction(total))
        epsilon = None if delta is None else cdp_epsilon(total_value, delta)
        return Charge(
            seq, query_id, label, charged_at, float(Fraction(rho)), total_value,
            float(Fraction(rho_max)), float(Fraction(local)), float(Fraction(local_total)),
            epsilon, replayed,
        )  # fmt: skip

    # -- public API --------------------------------------------------------------------------

    def close(self) -> None:
        """Close the file; the ledger object is unusable afterwards."""
        self._con.close()

    def __enter__(self) -> BudgetLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"BudgetLedger({str(self.path)!r}, site={self.site!r})"

    @property
    def rho_max(self) -> float:
        """The budget now in force."""
        with sqlite_errors(self.path):
            return float(self._rho_max_exact())

    @property
    def spent_exact(self) -> Fraction:
        """Total ρ charged so far, exactly."""
        with sqlite_errors(self.path):
            return self._spent_exact()

    @property
    def spent(self) -> float:
        """Total ρ charged so far."""
        return float(self.spent_exact)

    @property
    def local_spent(self) -> float:
        """Total local-only ρ charged so far (what the site keeps if aggregation failed)."""
        with sqlite_errors(self.path):
            return float(self._totals_exact()[1])

    @property
    def remaining(self) -> float:
        """ρ left before ``rho_max`` (0 once the budget is used up or lowered to the total)."""
        with sqlite_errors(self.path):
            return float(max(Fraction(0), self._rho_max_exact() - self._spent_exact()))

    def would_exceed(self, rho: float) -> bool:
        """Advisory check; only :meth:`charge` decides, atomically."""
        cost = exact_rho(rho)
        with sqlite_errors(self.path):
            return self._spent_exact() + cost > self._rho_max_exact()

    def epsilon(self, delta: float) -> float:
        """(ε, δ)-DP equivalent of the total charged so far."""
        return cdp_epsilon(self.spent, delta)

    def charge(
        self,
        rho: float,
        *,
        query_id: str,
        label: str = "",
        local_rho: float | None = None,
        local_rho_max: float | None = None,
    ) -> Charge:
        """Charge ρ for one query, atomically, before its answer is released.

        Args:
            rho: the query's zCDP cost, finite and ≥ 0 (for a federated answer: the cost if
                secure aggregation holds).
            query_id: unique id of the query; charging it again returns the first charge.
            label: what was asked, for the privacy officer (e.g. the marginal's columns).
            local_rho: the cost if the answer were seen alone (the site's own noise share);
                default ``rho`` (a release that is not aggregated). Must be ≥ ``rho``.
            local_rho_max: optional cap on the running total of ``local_rho``.

        Returns:
            The committed charge (``replayed=True`` if ``query_id`` was already charged).

        Raises:
            BudgetExceededError: the charge would pass ``rho_max`` or ``local_rho_max``;
                nothing was written.
            LedgerError: ``query_id`` was charged before with another ρ, or the file fails.
            ValueError: a bad ρ, or ``local_rho`` below ``rho``.
        """
        cost, local, local_cap = _charge_amounts(rho, local_rho, local_rho_max)
        if not isinstance(query_id, str) or not query_id:
            raise ValueError(f"query_id must be a non-empty string, got {query_id!r}")
        with sqlite_errors(self.path), self._write() as con:
            row = con.execute(
                f"SELECT {_CHARGE_COLUMNS} FROM charges WHERE query_id = ?", (query_id,)
            ).fetchone()
            if row is not None:
                return self._replay(row, query_id, cost, local)
            budget = self._rho_max_exact()
            spent, local_spent = self._totals_exact()
            what = label or query_id
            self._refuse_over_caps(what, cost, local, spent, local_spent, budget, local_cap)
            total, local_total = spent + cost, local_spent + local
            values = (query_id, str(label), _now(), float(cost), str(cost))
            values += (float(total), str(total), str(budget))
            values += (float(local), str(local), float(local_total), str(local_total))
            values += (None if local_cap is None else str(local_cap),)
            cursor = con.execute(
                "INSERT INTO charges (query_id, label, charged_at, rho, rho_exact, total, "
                "total_exact, rho_max_exact, local_rho, local_rho_exact, local_total, "
                "local_total_exact, local_rho_max_exact) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                values,
            )
            if _FAULT_HOOK is not None:
                _FAULT_HOOK("after_insert")
            return self._charge(
                (cursor.lastrowid, query_id, str(label), values[2], str(cost), str(total),
                 str(budget), str(local), str(local_total))
            )  # fmt: skip

    def _replay(self, row: tuple, query_id: str, cost: Fraction, local: Fraction) -> Charge:
        """A query id charged before: the first charge again, if it asks for the same ρ."""
        before, local_before = Fraction(row[4]), Fraction(row[7])
        if before != cost or local_before != local:
            raise LedgerError(
                f"{self.path}: query {query_id!r} was charged rho={float(before)} "
                f"(local {float(local_before)}) before, now asks for "
                f"rho={float(cost)} (local {float(local)})",
                fix="give a changed query a new query_id",
            )
        return self._charge(row, replayed=True)

    def _refuse_over_caps(self, what: str, cost: Fraction, local: Fraction, spent: Fraction,
                          local_spent: Fraction, budget: Fraction,
                          local_cap: Fraction | None) -> None:
        """Raise, writing nothing, when the charge would pass the local cap or ``rho_max``."""
        if local_cap is not None and local_spent + local > local_cap:
            left = float(max(Fraction(0), local_cap - local_spent))
            raise BudgetExceededError(
                f"site {self.site!r}: {what!r} costs local-only "
                f"rho={float(local):.6g} (the site's answer seen alone), more than the "
                f"{left:.6g} left of its local cap {float(local_cap):.6g}",
                fix="ask for fewer or noisier answers (a larger --dropouts gives each site "
                "more noise), or have the privacy officer raise the site's local cap",
            )
        if spent + cost > budget:
            left = float(max(Fraction(0), budget - spent))
            raise BudgetExceededError(
                f"site {self.site!r}: charging rho={float(cost):.6g} for {what!r}"
                f" would exceed the budget (spent {float(spent):.6g}, remaining {left:.6g}"
                f" of rho_max {float(budget):.6g})",
                fix="ask for fewer or noisier answers, or have the privacy officer raise "
                "the budget with set_budget(..., reason=...)",
            )

    def charges(self, *, delta: float | None = None) -> list[Charge]:
        """Every charge in order; with ``delta``, each with ε of the running total."""
        with sqlite_errors(self.path):
            rows = self._con.execute(f"SELECT {_CHARGE_COLUMNS} FROM charges ORDER BY seq")
            return [self._charge(row, delta=delta) for row in rows.fetchall()]

    def budget_changes(self) -> list[BudgetChange]:
        """Every value ``rho_max`` has had, from creation on, each with the reason given."""
        with sqlite_errors(self.path):
            rows = self._con.execute(
                "SELECT seq, changed_at, rho_max_exact, previous_exact, reason "
                "FROM budget_changes ORDER BY seq"
            ).fetchall()
        return [
            BudgetChange(seq, at, float(Fraction(new)), _float_or_none(old), why)
            for seq, at, new, old, why in rows
        ]

    def set_budget(self, rho_max: float, *, reason: str) -> BudgetChange:
        """Change ``rho_max`` deliberately; the change is recorded for the privacy officer.

        Raising the budget is a privacy decision, lowering it freezes further queries;
        both are allowed and both are logged with ``reason``. The budget can never go below
        what is already spent: spent privacy cannot be taken back.

        Raises:
            ValueError: empty reason or non-positive budget.
            LedgerError: the new budget is below the amount already spent.
        """
        new = exact_rho(rho_max, name="rho_max", rounding="down")
        if new <= 0:
            raise ParameterError(f"rho_max must be > 0, got {rho_max!r}",
                                 fix="give the site's budget as a positive rho (or epsilon)")
        if not isinstance(reason, str) or not reason.strip():
            raise ParameterError("reason must say why the budget changes (it is logged)",
                                 fix="e.g. --reason 'approved by the DPO on 2026-03-01'")
        with sqlite_errors(self.path), self._write() as con:
            old, spent = self._rho_max_exact(), self._spent_exact()
            if new < spent:
                raise LedgerError(
                    f"{self.path}: site {self.site!r} already spent rho={float(spent):g}; "
                    f"rho_max cannot go down to {float(new):g}",
                    fix=f"set rho_max >= {float(spent):g} (spent privacy is never refunded)",
                )
            at = _now()
            cursor = con.execute(
                "INSERT INTO budget_changes (changed_at, rho_max, rho_max_exact, "
                "previous_exact, reason) VALUES (?, ?, ?, ?, ?)",
                (at, float(new), str(new), str(old), reason.strip()),
            )
        return BudgetChange(cursor.lastrowid, at, float(new), float(old), reason.strip())

    def verify(self) -> None:
        """Check the file and its arithmetic: every running total is the sum of the charges
        before it, and never above the budget in force when it was charged.

        Raises:
            LedgerError: the file is damaged or its rows do not add up.
        """
        with sqlite_errors(self.path):
            status = self._con.execute("PRAGMA integrity_check").fetchone()[0]
            rows = self._con.execute(
                "SELECT seq, rho_exact, total_exact, rho_max_exact, local_rho_exact, "
                "local_total_exact, local_rho_max_exact FROM charges ORDER BY seq"
            ).fetchall()
            budgets = self._con.execute(
                "SELECT seq, rho_max_exact, previous_exact FROM budget_changes ORDER BY seq"
            ).fetchall()
        if status != "ok":
            raise LedgerError(f"{self.path}: integrity check failed: {status}", fix=NO_FIX)
        for (_, before, _), (seq, _, previous) in zip(budgets, budgets[1:], strict=False):
            if previous != before:
                raise LedgerError(
                    f"{self.path}: budget change #{seq} does not follow the one before it",
                    fix=NO_FIX,
                )
        running = local_running = Fraction(0)
        for seq, rho, total, budget, local, local_total, local_cap in rows:
            running += Fraction(rho)
            local_running += Fraction(local)
            if Fraction(total) != running or running > Fraction(budget):
                raise LedgerError(
                    f"{self.path}: charge #{seq} does not add up (total {total}, "
                    f"recomputed {running}, budget {budget})",
                    fix=NO_FIX,
                )
            over_cap = local_cap is not None and local_running > Fraction(local_cap)
            wrong = Fraction(local_total) != local_running or Fraction(local) < Fraction(rho)
            if wrong or over_cap:
                raise LedgerError(
                    f"{self.path}: charge #{seq}'s local-only rho does not add up (total "
                    f"{local_total}, recomputed {local_running}; local {local}, rho {rho}; "
                    f"cap {local_cap})",
                    fix=NO_FIX,
                )
