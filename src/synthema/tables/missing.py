"""Cell texts that mean "no value", and the rule that keeps them from eating real values.

A marker is applied per column: where it is (ignoring case) one of the column's categories
or codes it is a value there, not a missing marker (``None`` is the category "none" of a
therapy column, so it is not a default marker at all).
"""

from __future__ import annotations

from collections.abc import Iterable

# Not "None": it is a category in clinical data ("none" of the new therapies); a site whose
# export writes None for missing lists it under missing_values.
DEFAULT_MISSING: tuple[str, ...] = (
    "", "NA", "N/A", "n/a", "NaN", "nan", "NULL", "null", "#N/A",
)


def column_markers(markers: Iterable[str], values: Iterable[str]) -> frozenset[str]:
    """The missing markers that apply to a column whose meaningful ``values`` are given.

    A marker that is (ignoring case) one of the column's categories or codes is a value
    there, not a missing marker: ``None`` is a category of a therapy column.

    >>> sorted(column_markers({"NA", "None"}, ["none", "hydroxyurea"]))
    ['NA']
    """
    taken = {v.casefold() for v in values}
    return frozenset(m for m in markers if m.casefold() not in taken)
