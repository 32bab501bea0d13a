"""Re-identification risk under the prosecutor, journalist and marketer attacker models.

For a released record in equivalence class ``j`` (same generalised quasi-identifiers), with
``f_j`` records of that class in the sample (the release) and ``F_j`` in the population:

- prosecutor (knows the target is in the release): risk ``1 / f_j``;
- journalist (knows only that the target is in the population): risk ``1 / F_j``;
- marketer (tries to re-identify everyone): expected share of correct matches,
  ``(1/n) * sum over records of 1 / F_j``.

Without a population table the sample stands in for it (``F_j = f_j``), which makes the
journalist risk equal to the prosecutor risk; the report says so.

>>> r = risk_measures(["a", "a", "b", "c", "c", "c"], threshold=0.4)
>>> r["prosecutor"]["highest"], r["prosecutor"]["average"], r["prosecutor"]["above_threshold"]
(1.0, 0.5, 0.5)
>>> r["marketer"]["average"]
0.5
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd


def summarise(per_record: np.ndarray, threshold: float) -> dict[str, float]:
    """Highest and average per-record risk, and the share of records above ``threshold``."""
    if per_record.size == 0:
        return {"highest": 0.0, "average": 0.0, "above_threshold": 0.0}
    return {
        "highest": round(float(per_record.max()), 6),
        "average": round(float(per_record.mean()), 6),
        "above_threshold": round(float((per_record > threshold + 1e-12).mean()), 6),
    }


def class_keys(frame: pd.DataFrame) -> list[Any]:
    """One hashable key per row from the quasi-identifier columns (missing as None)."""
    if frame.shape[1] == 0:
        return [()] * len(frame)
    cells = frame.astype(object).where(frame.notna(), None)
    return list(map(tuple, cells.itertuples(index=False, name=None)))


def risk_measures(
    sample: Sequence[Any], *, population: Sequence[Any] | None = None, threshold: float = 0.09
) -> dict[str, Any]:
    """Prosecutor, journalist and marketer risk of records keyed by their class.

    Args:
        sample: each released record's class key (e.g. a tuple of generalised values).
        population: each population record's class key, generalised the same way; the
            sample stands in for the population when None.
        threshold: a record "above threshold" has risk strictly above this.

    Returns:
        ``{"prosecutor": {...}, "journalist": {...}, "marketer": {"average"}, ...}`` with
        ``highest``, ``average`` and ``above_threshold`` (share of records) per model.
    """
    keys = list(sample)
    counts = Counter(keys)
    f = np.array([counts[k] for k in keys], dtype=np.float64)
    estimated = population is None
    unmatched = 0
    if estimated:
        big_f = f
    else:
        pop = Counter(population)
        mapped = np.array([pop.get(k, 0) for k in keys], dtype=np.float64)
        unmatched = int((mapped == 0).sum())
        # a released record missing from the population table is at least its own class
        big_f = np.maximum(mapped, f)
    prosecutor = 1.0 / f if f.size else f
    journalist = 1.0 / big_f if big_f.size else big_f
    return {
        "threshold": threshold,
        "records": int(len(keys)),
        "classes": len(counts),
        "population": "sample used as population (no population table given)"
        if estimated else f"population table of {len(population)} records",
        "population_estimated": estimated,
        "records_missing_from_population": unmatched,
        "prosecutor": summarise(prosecutor, threshold),
        "journalist": summarise(journalist, threshold),
        "marketer": {"average": round(float(journalist.mean()), 6) if journalist.size else 0.0},
    }
