"""In-memory zCDP accountant: the running sum of ρ, checked before each release.

A small stateful shell over :mod:`synthema.privacy.analysis` in the layout of Opacus's
accountants: the state is a plain ``history`` of ``(rho, label)`` pairs, so it can be saved
next to a model and resumed with :meth:`ZCDPAccountant.load_state_dict`. zCDP composes by
addition ([BS16] Lemma 2.3), so the total spent is the exact sum of the history.

ρ values are added as exact fractions (:func:`exact_rho`): a charge given as a float is read
at its binary value or above, a budget at or below, so no float drift can let a tiny
overspend through; given as decimal strings, ten charges of ``"0.1"`` fill a budget of 1.0
exactly. The on-disk, multi-process counterpart is
:class:`synthema.privacy.ledger.BudgetLedger`.

>>> acc = ZCDPAccountant(rho_max=1.0)
>>> for i in range(10):
...     acc.spend(rho="0.1", label=f"marginal {i}")
>>> acc.spent, acc.remaining, acc.would_exceed(1e-9)
(1.0, 0.0, True)
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction
from numbers import Rational, Real
from typing import Any

from synthema.errors import BudgetExceededError, ParameterError
from synthema.privacy.analysis import cdp_epsilon

_RHO_FIX = "give rho as a finite number >= 0 (zCDP), e.g. 0.5"


def exact_rho(
    value: float | Fraction | Decimal | str, *, name: str = "rho", rounding: str = "up"
) -> Fraction:
    """ρ as an exact fraction, never understating a charge nor overstating a budget.

    Strings, Decimals and fractions are exact (``"0.1"`` is 1/10). A float stands for its
    binary value, which its shortest decimal form (``repr``) can round either way: 0.1 is
    read as 1/10 by ``repr`` but is 0.1000000000000000055... in binary. ``rounding="up"``
    (charges: what was spent) takes the larger of the two, ``rounding="down"`` (budgets: what
    may be spent) the smaller, so float rounding can only make the ledger stricter.

    Raises:
        ValueError: negative, NaN or infinite (a release without noise has no finite ρ
            and can never be charged), or an unknown ``rounding``.

    >>> exact_rho("0.25"), exact_rho(Fraction(1, 3)), exact_rho(0.5)
    (Fraction(1, 4), Fraction(1, 3), Fraction(1, 2))
    >>> exact_rho(0.1) > Fraction(1, 10), exact_rho(0.1, rounding="down")
    (True, Fraction(1, 10))
    """
    if rounding not in ("up", "down"):
        raise ValueError(f"rounding must be 'up' or 'down', got {rounding!r}")
    if isinstance(value, bool):
        raise ParameterError(f"{name} must be a number, got {value!r}", fix=_RHO_FIX)
    try:
        if isinstance(value, Rational):
            out = Fraction(value)
        elif isinstance(value, Real | Decimal):
            number = float(value) if isinstance(value, Real) else value
            if isinstance(number, float) and not math.isfinite(number):
                raise ValueError
            if isinstance(number, float):
                pick = max if rounding == "up" else min
                out = pick(Fraction(repr(number)), Fraction(number))
            else:
                out = Fraction(number)
        elif isinstance(value, str):
            out = Fraction(value.strip())
        else:
            raise ValueError
    except (ValueError, ArithmeticError):
        raise ParameterError(f"{name} must be a finite number >= 0, got {value!r}",
                             fix=_RHO_FIX) from None
    if out < 0:
        raise ParameterError(f"{name} must be a finite number >= 0, got {value!r}", fix=_RHO_FIX)
    return out


class ZCDPAccountant:
    """Adds up ρ over releases and refuses one that would pass ``rho_max``.

    Args:
        rho_max: total zCDP budget; ``inf`` (the default) only records.

    >>> acc = ZCDPAccountant(rho_max=0.5)
    >>> acc.spend(rho=0.2, label="1-way marginals")
    >>> acc.history
    [(0.2, '1-way marginals')]
    >>> round(acc.epsilon(1e-6), 4)
    3.1311
    """

    mechanism = "zcdp"

    def __init__(self, *, rho_max: float = math.inf) -> None:
        rho_max = float(rho_max)
        if math.isnan(rho_max) or rho_max < 0:
            raise ParameterError(f"rho_max must be >= 0, got {rho_max!r}", fix=_RHO_FIX)
        self.rho_max = rho_max
        self.history: list[tuple[float, str]] = []
        self._spent = Fraction(0)

    def __repr__(self) -> str:
        return f"ZCDPAccountant(rho_max={self.rho_max!r}, spent={self.spent!r})"

    @property
    def spent(self) -> float:
        """Total ρ spent so far."""
        return float(self._spent)

    @property
    def remaining(self) -> float:
        """ρ left before ``rho_max`` (``inf`` without a budget)."""
        if math.isinf(self.rho_max):
            return math.inf
        return float(exact_rho(self.rho_max, name="rho_max", rounding="down") - self._spent)

    def would_exceed(self, rho: float) -> bool:
        """True if spending ``rho`` now would take the total past ``rho_max``."""
        cost = exact_rho(rho)
        if math.isinf(self.rho_max):
            return False
        return self._spent + cost > exact_rho(self.rho_max, name="rho_max", rounding="down")

    def spend(self, *, rho: float, label: str) -> None:
        """Record one release of ρ; call it before the answer leaves.

        Raises:
            BudgetExceededError: the total would pass ``rho_max``; nothing is recorded.
        """
        cost = exact_rho(rho)
        if self.would_exceed(rho):
            raise BudgetExceededError(
                f"{label!r}: rho={float(cost):.6g} would exceed the budget "
                f"(spent {self.spent:.6g}, remaining {self.remaining:.6g} "
                f"of rho_max {self.rho_max:.6g})",
                fix="spend less (fewer queries, more noise) or start with a larger rho_max",
            )
        self._spent += cost
        self.history.append((float(rho), str(label)))

    def epsilon(self, delta: float) -> float:
        """(ε, δ)-DP equivalent of the total spent (:func:`~.analysis.cdp_epsilon`)."""
        return cdp_epsilon(self.spent, delta)

    def state_dict(self) -> dict[str, Any]:
        """Plain-data state for saving next to an artifact (JSON-serialisable)."""
        return {
            "mechanism": self.mechanism,
            "rho_max": self.rho_max,
            "history": [[rho, label] for rho, label in self.history],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Replace the state with one saved by :meth:`state_dict`.

        Raises:
            ValueError: the state is from another mechanism or malformed.
        """
        mechanism = state.get("mechanism") if isinstance(state, dict) else None
        if mechanism != self.mechanism:
            raise ValueError(f"state_dict is for accountant {mechanism!r}, not {self.mechanism!r}")
        fresh = ZCDPAccountant(rho_max=state.get("rho_max", math.inf))
        for entry in state.get("history", []):
            rho, label = entry
            fresh.spend(rho=rho, label=label)
        self.rho_max, self.history, self._spent = fresh.rho_max, fresh.history, fresh._spent
