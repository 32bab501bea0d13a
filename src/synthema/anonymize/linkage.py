"""Re-identification risk over every released column an attacker could combine.

k-anonymity protects the declared quasi-identifiers only. An attacker who knows more about a
patient (the survival days a public data cut-off gives away, a rare subtype, the treatment,
an enrolment date) matches the release on those columns too. This module measures that
attack on the release itself: for each released record, how many released records are
*consistent* with the true values of its patient over a set of columns.

- A column released as a value or a label (a generalised band, a month, a category, days)
  is consistent when the labels are equal (the patient's true value generalises to its
  record's label).
- A shifted date (``dates.method: shift``) is consistent when the released date lies within
  ``max_shift_days`` of the patient's **true** date: the attacker knows the true date and
  the bound, not the shift.

Risk of a record is ``1 / candidates`` (its own record is always a candidate); a record
with one candidate is singled out. Pseudonym columns are left out: they are unique by
construction and link only across releases (see ``pseudonym.scope``).

>>> import pandas as pd
>>> rel = pd.DataFrame({"band": ["30-39", "30-39", "40-49"], "days": ["12", "12", "40"]})
>>> r = linkage_risk(rel, columns=["band", "days"], threshold=0.5)
>>> r["unique_records"], r["prosecutor"]["highest"]
(1, 1.0)
>>> shifted = pd.DataFrame({"d": pd.to_datetime(["2020-01-10", "2020-03-01"])})
>>> true = pd.to_datetime(["2020-01-01", "2020-02-25"])
>>> candidates(shifted, columns=["d"], windows={"d": (true, 30)}).tolist()  # 2020-01-01
[1, 1]
>>> candidates(shifted, columns=["d"], windows={"d": (true, 60)}).tolist()
[2, 2]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from synthema.anonymize.risk import class_keys, summarise

#: rows of the candidate matrix compared at once within one class (memory bound)
_CHUNK = 2048


def _days(values: Any) -> np.ndarray:
    """Whole days since 1970 as float (NaN for missing)."""
    stamps = pd.to_datetime(pd.Series(values).reset_index(drop=True), errors="coerce")
    out = (stamps - pd.Timestamp("1970-01-01")).dt.days.astype("float64")
    return out.to_numpy()


def candidates(released: pd.DataFrame, *, columns: Sequence[str],
               windows: Mapping[str, tuple[Any, int]] | None = None) -> np.ndarray:
    """For each released record, how many released records match its patient.

    Args:
        released: the released table.
        columns: the columns the attacker matches on.
        windows: shifted date columns among ``columns``: ``column -> (true dates of the
            released records, in their order; max_shift_days)``.

    Returns:
        The number of consistent records per released record (at least 1).
    """
    windows = {c: w for c, w in (windows or {}).items() if c in columns}
    exact = [c for c in columns if c not in windows]
    n = len(released)
    group = pd.factorize(pd.Series(class_keys(released[exact].reset_index(drop=True))))[0] \
        if exact else np.zeros(n, dtype=np.int64)
    if not windows:
        return np.bincount(group)[group]
    shifted = {c: _days(released[c]) for c in windows}
    true = {c: _days(t) for c, (t, _) in windows.items()}
    bound = {c: int(m) for c, (_, m) in windows.items()}
    out = np.zeros(n, dtype=np.int64)
    order = np.argsort(group, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(group[order]) != 0])
    for lo, hi in zip(starts, [*starts[1:], n], strict=True):
        rows = order[lo:hi]
        for a in range(0, len(rows), _CHUNK):
            mine = rows[a:a + _CHUNK]
            ok = np.ones((len(mine), len(rows)), dtype=bool)
            for c in windows:
                t, s = true[c][mine][:, None], shifted[c][rows][None, :]
                both_missing = np.isnan(t) & np.isnan(s)
                with np.errstate(invalid="ignore"):
                    ok &= both_missing | (np.abs(s - t) <= bound[c])
            out[mine] = ok.sum(axis=1)
    return np.maximum(out, 1)


def linkage_risk(released: pd.DataFrame, *, columns: Sequence[str],
                 windows: Mapping[str, tuple[Any, int]] | None = None,
                 threshold: float = 0.09) -> dict[str, Any]:
    """Prosecutor risk of the release when the attacker matches on ``columns``.

    Returns:
        ``{"columns", "records", "unique_records", "unique_share", "prosecutor": {highest,
        average, above_threshold}}``.
    """
    count = candidates(released, columns=columns, windows=windows)
    unique = int((count == 1).sum())
    return {
        "columns": list(columns),
        "shifted_dates": {c: int(m) for c, (_, m) in (windows or {}).items() if c in columns},
        "records": int(len(count)),
        "unique_records": unique,
        "unique_share": round(unique / len(count), 6) if len(count) else 0.0,
        "prosecutor": summarise(1.0 / count if len(count) else count.astype(float), threshold),
    }


def singling_out(released: pd.DataFrame, *, quasi_identifiers: Sequence[str],
                 columns: Sequence[str],
                 windows: Mapping[str, tuple[Any, int]] | None = None) -> dict[str, int]:
    """Records singled out by the quasi-identifiers plus each other released column.

    A column whose value an attacker can learn elsewhere (a subtype, a transplant) belongs
    among the quasi-identifiers; this says, column by column, how many released records it
    would make unique if it were known.
    """
    out = {}
    for col in columns:
        if col in quasi_identifiers:
            continue
        count = candidates(released, columns=[*quasi_identifiers, col], windows=windows)
        out[col] = int((count == 1).sum())
    return out
