"""Paired bootstrap over holdout rows: the sampling spread of a train-real vs train-synthetic gap.

Both models are fitted once; only the test rows are resampled, and each resample scores both
models on the same rows, so the spread is that of the *difference* (the two scores move
together). Resamples hold at most :data:`MAX_ROWS` rows; the spread of a larger holdout is
carried to its size by √n.

>>> rng = np.random.default_rng(0)
>>> est = paired_gap(lambda rows: (1.0, 0.5), 100, rng=rng, draws=5)
>>> est.gap, est.sd
(0.5, 0.0)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: resamples of the holdout
DRAWS = 50
#: rows per resample at most
MAX_ROWS = 2000


@dataclass(frozen=True)
class GapEstimate:
    """A gap (``first − second`` on all rows), its bootstrap sd, and each score's sd."""

    first: float
    second: float
    gap: float
    sd: float
    sd_first: float
    sd_second: float

    def lower(self, z: float) -> float:
        """The gap's lower confidence bound at ``z`` standard deviations."""
        return self.gap - z * self.sd

    def interval(self, z: float) -> tuple[float, float]:
        """The gap's two-sided interval at ``z``."""
        return self.gap - z * self.sd, self.gap + z * self.sd


def paired_gap(score: Callable[[np.ndarray | None], tuple[float, float]], n: int, *,
               rng: np.random.Generator, draws: int = DRAWS,
               max_rows: int = MAX_ROWS) -> GapEstimate:
    """Bootstrap of ``score(rows) -> (first, second)`` over ``n`` test rows (None: all rows)."""
    first, second = score(None)
    m = min(n, max_rows)
    samples = []
    for _ in range(draws):
        a, b = score(rng.integers(n, size=m))
        if math.isfinite(a) and math.isfinite(b):
            samples.append((a, b))
    if len(samples) < 2:
        return GapEstimate(first, second, first - second, math.nan, math.nan, math.nan)
    arr = np.asarray(samples)
    carry = math.sqrt(m / n)
    return GapEstimate(first, second, first - second,
                       float(np.std(arr[:, 0] - arr[:, 1], ddof=1)) * carry,
                       float(np.std(arr[:, 0], ddof=1)) * carry,
                       float(np.std(arr[:, 1], ddof=1)) * carry)
