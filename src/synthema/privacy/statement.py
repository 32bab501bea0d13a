"""A site's ledger as its privacy officer reads it, and the one way to change its budget.

``synthema budget show`` prints a :class:`LedgerStatement` (:func:`read_statement`): the
spend as zCDP ρ and as (ε, δ), both guarantees (the aggregated ρ the budget is charged with
and the local-only ρ of the site's answers seen alone), every charge and every budget
change. ``synthema budget set`` calls :func:`set_site_budget`, which records the reason.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "site.sqlite"
>>> BudgetLedger(path, rho_max=0.5, site="a").close()
>>> set_site_budget(path, reason="approved", rho_max=1.0).rho_max
1.0
>>> set_site_budget(path, reason="approved")
Traceback (most recent call last):
...
synthema.errors.ParameterError: give exactly one of epsilon_max or rho_max
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthema.errors import LedgerError, ParameterError
from synthema.privacy._schema import BudgetChange, Charge
from synthema.privacy.analysis import cdp_epsilon, cdp_rho
from synthema.privacy.ledger import BudgetLedger


@dataclass(frozen=True)
class LedgerStatement:
    """A site's spend at one moment: totals, what is left, every charge and budget change."""

    site: str
    rho_max: float
    spent: float
    local_spent: float
    remaining: float
    delta: float
    charges: tuple[Charge, ...]
    budget_changes: tuple[BudgetChange, ...]

    @property
    def epsilon_spent(self) -> float:
        """(ε, δ)-DP equivalent of the aggregated ρ spent."""
        return cdp_epsilon(self.spent, self.delta)

    @property
    def epsilon_max(self) -> float:
        """The budget as ε at ``delta``."""
        return cdp_epsilon(self.rho_max, self.delta)

    @property
    def local_epsilon(self) -> float:
        """The local-only guarantee as ε at ``delta``."""
        return cdp_epsilon(self.local_spent, self.delta)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form ``synthema budget show --json`` prints."""
        return {
            "site": self.site, "rho_max": self.rho_max, "spent": self.spent,
            "local_spent": self.local_spent, "remaining": self.remaining,
            "epsilon_spent": self.epsilon_spent, "delta": self.delta,
            "charges": [c.__dict__ for c in self.charges],
            "budget_changes": [c.__dict__ for c in self.budget_changes],
        }  # fmt: skip


def _existing(path: str | Path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise LedgerError(f"{path}: no such ledger", fix="give the site's ledger file path")
    return path


def read_statement(path: str | Path, *, delta: float = 1e-6) -> LedgerStatement:
    """The statement of the ledger at ``path`` (ε figures at ``delta``).

    Raises:
        LedgerError: no ledger there, or the file cannot be used.
    """
    with BudgetLedger(_existing(path)) as book:
        return LedgerStatement(
            site=book.site, rho_max=book.rho_max, spent=book.spent,
            local_spent=book.local_spent, remaining=book.remaining, delta=delta,
            charges=tuple(book.charges(delta=delta)),
            budget_changes=tuple(book.budget_changes()),
        )  # fmt: skip


def set_site_budget(path: str | Path, *, reason: str, epsilon_max: float | None = None,
                    rho_max: float | None = None, delta: float = 1e-6) -> LedgerStatement:
    """Change a site's budget to ``epsilon_max`` (at ``delta``) or ``rho_max``, with a reason.

    A privacy officer's decision: the change and its reason stay in the ledger.

    Raises:
        ParameterError: not exactly one of the two budgets, or an empty reason.
        LedgerError: no ledger there, or the new budget is below what was spent.
    """
    if (epsilon_max is None) == (rho_max is None):
        raise ParameterError("give exactly one of epsilon_max or rho_max",
                             fix="e.g. --epsilon-max 4 --reason 'approved by the DPO'")
    new = cdp_rho(epsilon_max, delta) if epsilon_max is not None else float(rho_max)
    with BudgetLedger(_existing(path)) as book:
        book.set_budget(new, reason=reason)
    return read_statement(path, delta=delta)
