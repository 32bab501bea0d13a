"""Accountants by name, so configs and saved states can say which one they use.

An explicit dict, as in Opacus's ``accountants/registry.py``: adding an accountant is one line,
and an unknown name fails loudly instead of silently falling back.

>>> create_accountant("zcdp", rho_max=1.0)
ZCDPAccountant(rho_max=1.0, spent=0.0)
"""

from __future__ import annotations

from typing import Any

from synthema.errors import ParameterError
from synthema.privacy.accountant import ZCDPAccountant

_ACCOUNTANTS: dict[str, type[ZCDPAccountant]] = {"zcdp": ZCDPAccountant}


def available_accountants() -> list[str]:
    """Names accepted by :func:`create_accountant`.

    >>> available_accountants()
    ['zcdp']
    """
    return sorted(_ACCOUNTANTS)


def create_accountant(mechanism: str, **kwargs: Any) -> ZCDPAccountant:
    """A new accountant for ``mechanism``; keyword arguments go to its constructor.

    Raises:
        ValueError: unknown mechanism name.
    """
    if mechanism in _ACCOUNTANTS:
        return _ACCOUNTANTS[mechanism](**kwargs)
    known = ", ".join(available_accountants())
    raise ParameterError(f"Unexpected accounting mechanism: {mechanism!r} (known: {known})",
                         fix=f"use one of: {known}")
