"""BudgetLedger across processes: SIGKILL mid-loop, crashes in both windows, concurrent chargers.

Each worker is a fresh Python process (no inherited SQLite handles) running WORKER below.
Waits have deadlines so a broken ledger fails the test instead of hanging it; nothing
asserts on elapsed time.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import pytest

import synthema
from synthema.privacy.ledger import BudgetLedger

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="uses SIGKILL")

WORKER = r"""
import json, os, sys, time
from pathlib import Path
from synthema.errors import BudgetExceededError
from synthema.privacy import ledger as ledger_module
from synthema.privacy.ledger import BudgetLedger

mode, path, log, name, count, rho = sys.argv[1:7]
count, rho = int(count), float(rho)
go = Path(path + ".go")
while not go.exists():  # start line: all workers charge at the same moment
    time.sleep(0.001)

if mode == "crash-before-commit":
    ledger_module._FAULT_HOOK = lambda stage: os._exit(3)
if mode == "unsafe":  # negative control: check and insert in separate transactions
    import contextlib
    BudgetLedger._write = lambda self: contextlib.nullcontext(self._con)
    read_totals = BudgetLedger._totals_exact
    def slow_read(self):
        value = read_totals(self)
        time.sleep(0.005)
        return value
    BudgetLedger._totals_exact = slow_read

granted = []
with BudgetLedger(path, rho_max=0.25, site="site-a") as ledger, open(log, "a") as released:
    for i in range(count):
        query_id = f"{name}-{i}"
        try:
            ledger.charge(str(rho), query_id=query_id, label=f"marginal {i}")  # exact decimal
        except BudgetExceededError:
            continue
        granted.append(query_id)
        if mode == "crash-after-commit":
            os._exit(4)  # charged, answer never released
        released.write(query_id + "\n")  # the "release", only after the charge committed
        released.flush()
        os.fsync(released.fileno())
print(json.dumps(granted))
"""


def start(tmp_path: Path, mode: str, name: str, count: int, rho: float) -> subprocess.Popen:
    script = tmp_path / "worker.py"
    if not script.exists():  # written once: rewriting it could hand a starting worker half a file
        script.write_text(WORKER)
    env = dict(os.environ, PYTHONPATH=str(Path(synthema.__file__).parents[1]))
    args = [mode, str(tmp_path / "ledger"), str(tmp_path / f"{name}.log"), name]
    return subprocess.Popen(
        [sys.executable, str(script), *args, str(count), str(rho)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def released(tmp_path: Path, name: str) -> list[str]:
    log = tmp_path / f"{name}.log"
    return log.read_text().split() if log.exists() else []


def create(tmp_path: Path) -> None:
    BudgetLedger(tmp_path / "ledger", rho_max=0.25, site="site-a").close()
    (tmp_path / "ledger.go").touch()


def check_invariants(tmp_path: Path) -> list[str]:
    """The ledger opens, adds up, stays within budget; returns the charged query ids."""
    with BudgetLedger(tmp_path / "ledger", rho_max=0.25, site="site-a") as ledger:
        ledger.verify()
        rows = ledger.charges()
        assert ledger.spent_exact == sum((Fraction(str(c.rho)) for c in rows), Fraction(0))
        assert ledger.spent_exact <= Fraction(1, 4)
        return [c.query_id for c in rows]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sigkill_at_a_random_point_leaves_a_consistent_ledger(tmp_path, seed):
    # Setup: a process charging 0.001 per query and releasing after each charge
    create(tmp_path)
    stop_after = random.Random(seed).randint(5, 120)
    worker = start(tmp_path, "loop", "w", count=10_000, rho=0.001)
    # Run: kill -9 once it has released `stop_after` answers, mid-loop
    deadline = time.monotonic() + 30
    while len(released(tmp_path, "w")) < stop_after and worker.poll() is None:
        assert time.monotonic() < deadline, "worker made no progress"
        time.sleep(0.002)
    worker.send_signal(signal.SIGKILL)
    worker.communicate(timeout=30)
    # Assert: every released answer was charged; at most one charge was never released
    charged = check_invariants(tmp_path)
    out = released(tmp_path, "w")
    assert set(out) <= set(charged)
    assert len(set(charged) - set(out)) <= 1
    assert len(charged) >= stop_after


def test_crash_between_insert_and_commit_charges_nothing(tmp_path):
    # Setup / Run: the process dies inside the charge transaction
    create(tmp_path)
    worker = start(tmp_path, "crash-before-commit", "w", count=1, rho=0.1)
    worker.communicate(timeout=30)
    # Assert: rolled back as a whole; the retried query is charged once
    assert worker.returncode == 3
    assert check_invariants(tmp_path) == []
    with BudgetLedger(tmp_path / "ledger") as ledger:
        assert not ledger.charge("0.1", query_id="w-0", label="retry").replayed
        assert ledger.charge("0.1", query_id="w-0", label="retry").replayed
        assert ledger.spent == 0.1


def test_crash_between_commit_and_release_keeps_the_charge(tmp_path):
    # Setup / Run: charged, then died before releasing
    create(tmp_path)
    worker = start(tmp_path, "crash-after-commit", "w", count=1, rho=0.1)
    worker.communicate(timeout=30)
    # Assert: the charge stays (never refunded); a retry is not charged again
    assert worker.returncode == 4
    assert check_invariants(tmp_path) == ["w-0"] and released(tmp_path, "w") == []
    with BudgetLedger(tmp_path / "ledger") as ledger:
        assert ledger.charge("0.1", query_id="w-0", label="retry").replayed
        assert ledger.spent == 0.1


def test_concurrent_chargers_never_exceed_the_budget(tmp_path):
    # Setup: 4 processes each try 15 charges of 0.01 against rho_max 0.25 (demand 0.6);
    # they also race to create the ledger file
    workers = [start(tmp_path, "loop", f"w{i}", count=15, rho=0.01) for i in range(4)]
    time.sleep(0.3)
    (tmp_path / "ledger.go").touch()
    # Run
    results = [w.communicate(timeout=60) for w in workers]
    # Assert
    assert [w.returncode for w in workers] == [0, 0, 0, 0], [err for _, err in results]
    granted = [json.loads(out) for out, _ in results]
    flat = [query_id for ids in granted for query_id in ids]
    charged = check_invariants(tmp_path)
    assert len(flat) == len(set(flat)) == 25
    assert sorted(flat) == sorted(charged)
    with BudgetLedger(tmp_path / "ledger") as ledger:
        assert ledger.spent_exact == Fraction(1, 4)
        assert len(ledger.budget_changes()) == 1


def test_negative_control_unserialised_chargers_do_overspend(tmp_path):
    # Setup: the same race with check and insert in separate transactions (the bug that
    # BEGIN IMMEDIATE prevents): proves the test above can fail
    BudgetLedger(tmp_path / "ledger", rho_max=0.25, site="site-a").close()
    workers = [start(tmp_path, "unsafe", f"w{i}", count=15, rho=0.01) for i in range(4)]
    time.sleep(0.3)
    (tmp_path / "ledger.go").touch()
    # Run
    results = [w.communicate(timeout=60) for w in workers]
    # Assert
    assert [w.returncode for w in workers] == [0, 0, 0, 0], [err for _, err in results]
    granted = [query_id for out, _ in results for query_id in json.loads(out)]
    assert len(granted) > 25
