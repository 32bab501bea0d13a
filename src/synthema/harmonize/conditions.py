"""``when:`` conditions: on which rows a mapped column's value belongs to its variable.

A source column may describe one of several things (``TIME TO HSCT`` is the allogeneic
transplant's only where ``Allogeneic HSCT`` is 1). The condition is judged on the
conditioning column's *harmonised* value when the mapping maps that column too: ``x``,
``1.0`` and ``yes`` are all true for a boolean, so ``when: {Allogeneic HSCT: ["1"]}`` holds
on each of them, as it does on ``1``. A conditioning column the mapping does not map is
compared as text, ignoring case, and numbers by value (``1.0`` is ``1``).

A row is then one of three kinds: the condition holds (the value is carried), it is known
not to hold (the value is *left missing*, counted apart: it describes something else), or
it cannot be judged because the conditioning cell is empty or unreadable (the value is
*dropped* with that reason, so ``--strict`` sees it).

>>> from synthema.harmonize.mapping import ColumnMapping
>>> col = ColumnMapping("hsct_days", "TIME", when=(("Art", ("allo",)),))
>>> text = {"Art": pd.Series(["ALLO", "auto", None, "allo "], dtype="string").str.strip()}
>>> c = judge_when(col, {}, text, frozenset(), where="m.yaml")
>>> c.holds.tolist(), c.unknown.tolist()
([True, False, False, True], [False, False, True, False])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthema.errors import MappingError
from synthema.harmonize.mapping import ColumnMapping

Harmonised = Callable[[ColumnMapping, pd.Series], pd.Series]
"""Typed values of a text series converted as a mapped column converts its cells."""


@dataclass(frozen=True)
class Condition:
    """Per row: the condition ``holds``, or is ``unknown`` (neither: known not to hold)."""

    holds: np.ndarray
    unknown: np.ndarray

    @property
    def fails(self) -> np.ndarray:
        """Rows where the condition is known not to hold."""
        return ~self.holds & ~self.unknown


def unknown_reason(col: ColumnMapping) -> str:
    """The dropped reason of values whose ``when`` condition cannot be judged."""
    return f"condition '{col.condition_text()}' not known (its cell is empty or unreadable)"


def _folded(text: str) -> str:
    """Text compared ignoring case, numbers by value (``1.0`` is ``1``)."""
    try:
        number = float(text)
    except ValueError:
        return text.casefold()
    return str(int(number)) if number.is_integer() else repr(number)


def judge_when(
    col: ColumnMapping,
    conditioning: Mapping[str, tuple[ColumnMapping, pd.Series]],
    stripped: Mapping[str, pd.Series],
    markers: frozenset[str],
    *,
    where: str,
    harmonised: Harmonised | None = None,
) -> Condition:
    """Judge ``col``'s ``when`` condition on every row.

    Args:
        col: the mapped column with a ``when`` condition.
        conditioning: source column -> (the mapped column it fills, that column's
            harmonised values): the listed values are harmonised the same way.
        stripped: source column -> its trimmed text cells.
        markers: missing markers, for conditioning columns the mapping does not map.
        where: the mapping, for messages.
        harmonised: converts text as a mapped column does (needed when ``conditioning``
            names a column).

    Raises:
        MappingError: a listed value is not a value of the conditioning column as mapped.
    """
    n = len(next(iter(stripped.values()))) if stripped else 0
    holds = np.ones(n, dtype=bool)
    known_false = np.zeros(n, dtype=bool)
    unknown = np.zeros(n, dtype=bool)
    for column, values in col.when:
        if column in conditioning and harmonised is not None:
            by, cells = conditioning[column]
            wanted = harmonised(by, pd.Series(list(values), dtype="string"))
            if wanted.isna().any():
                bad = values[int(np.flatnonzero(wanted.isna().to_numpy())[0])]
                raise MappingError(
                    f"{where}: columns: {col.target}: when: '{column}': '{bad}' is not a "
                    f"value of '{column}' as it is mapped to {by.target}",
                    fix=f"list values as the file writes them in '{column}' (e.g. its codes)")
            these = cells.isin(list(wanted)).fillna(False).to_numpy(dtype=bool)
            empty = cells.isna().to_numpy(dtype=bool)
        else:
            text = stripped[column]
            text = text.mask(text.isin(list(markers)) | (text == ""))
            folded = {_folded(v) for v in values}
            these = np.array([t is not None and _folded(t) in folded for t in
                              text.to_numpy(dtype=object, na_value=None)], dtype=bool)
            empty = text.isna().to_numpy(dtype=bool)
        holds &= these
        unknown |= empty
        known_false |= ~these & ~empty
    return Condition(holds=holds & ~unknown & ~known_false, unknown=unknown & ~known_false)
