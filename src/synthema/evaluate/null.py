"""What a perfect generator scores at this size: null draws and the limits they set.

A perfect generator draws a second sample of the same patients. Its fidelity and survival
distances are not zero: at a few hundred rows sampling noise alone exceeds the documented
thresholds (a Kaplan-Meier gap of about 1.36·√(2/n) is usual). So each such metric is also
computed on **null splits**: the real training rows and the holdout are pooled and split at
random into disjoint parts as large as the training and the synthetic file. Disjoint parts of
a sample are independent samples of the same population, exactly what a perfect generator
gives. When the pool is too small for both sizes (a holdout smaller than the synthetic file),
the parts are smaller in proportion and their distances are carried to the real sizes by the
√n law of sampling noise (``scale``); without a holdout the training rows alone are split.

The pass limit is the documented threshold or the 99.9 % prediction bound of the null draws
(mean + t₀.₉₉₉,ₖ₋₁ · sd · √(1 + 1/k) over k draws, normal approximation), whichever is larger;
the warn limit keeps the documented distance between the two. Parts larger than
:data:`NULL_MAX_ROWS` are drawn at that size and carried to the real sizes by √n: at such sizes
the documented thresholds decide anyway. So a perfect generator passes at any size, and at
thousands of rows the documented thresholds decide.

Shares with a known expectation (closest-record shares, neighbour ratios, copies, AUROCs of an
attacker at chance) use the binomial or Mann-Whitney spread instead (:func:`share_limits`,
:func:`auroc_null_sd`).

>>> round(auroc_null_sd(400, 400), 4)
0.0204
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import t as student_t

from synthema.evaluate.metric import Goal, Limits, Metric

#: null draws per metric (each a fresh split of the pooled real rows)
NULL_DRAWS = 20
#: rows per part of a null split at most (larger data: parts this size, carried by √n)
NULL_MAX_ROWS = 2000
#: one-sided level at which a perfect generator passes each metric (all ~26: about 97 %)
LEVEL = 0.999
#: standard deviations above the expected value at which a share stops passing (at LEVEL)
Z = 3.090


@dataclass(frozen=True)
class NullSplits:
    """Disjoint parts of the pooled real rows standing for (training, synthetic) samples.

    ``pool`` is the training rows followed by the holdout rows; each draw is a pair of row
    positions into it; ``scale`` carries a draw's distance to the real sizes (1 when the parts
    are as large as the training and synthetic data).
    """

    pool: pd.DataFrame
    draws: tuple[tuple[np.ndarray, np.ndarray], ...]
    scale: float
    sizes: tuple[int, int]
    holdout_used: bool

    def describe(self) -> str:
        """Where the null draws come from, in a phrase."""
        rows = "training and holdout rows" if self.holdout_used else "training rows"
        text = (f"{len(self.draws)} random splits of the pooled {rows} into {self.sizes[0]} "
                f"+ {self.sizes[1]} rows")
        if self.scale != 1.0:
            text += f", scaled by {self.scale:.3g} to the real sizes (√n law)"
        return text


def null_splits(real: pd.DataFrame, holdout: pd.DataFrame | None, n_synthetic: int, *,
                draws: int = NULL_DRAWS, rng: np.random.Generator,
                max_rows: int = NULL_MAX_ROWS) -> NullSplits:
    """Null draws for a comparison of ``real`` with ``n_synthetic`` synthetic rows.

    Parts keep the ratio of the real sizes; they shrink when the pool cannot hold both or
    when one would exceed ``max_rows``.
    """
    use_holdout = holdout is not None and len(holdout) > 0
    pool = pd.concat([real, holdout], ignore_index=True) if use_holdout else \
        real.reset_index(drop=True)
    n_pool, n_r, n_s = len(pool), len(real), n_synthetic
    shrink = min(1.0, n_pool / (n_r + n_s), max_rows / max(n_r, n_s))
    a = min(max(int(n_r * shrink), 1), n_pool - 1)
    b = min(max(int(n_s * shrink), 1), n_pool - a)
    scale = math.sqrt((1 / n_r + 1 / n_s) / (1 / a + 1 / b)) if (a, b) != (n_r, n_s) else 1.0
    out = []
    for _ in range(draws):
        order = rng.permutation(n_pool)
        out.append((np.sort(order[:a]), np.sort(order[a:a + b])))
    return NullSplits(pool, tuple(out), scale, (a, b), use_holdout)


def prediction_factor(k: int) -> float:
    """Standard deviations of k draws above their mean at which a new draw exceeds the bound
    with probability 1 − :data:`LEVEL` (normal draws: t quantile × √(1 + 1/k)).

    >>> round(prediction_factor(20), 3)
    3.668
    """
    if k < 2:
        return math.inf
    return float(student_t.ppf(LEVEL, k - 1)) * math.sqrt(1 + 1 / k)


def widened(metric: type[Metric], value: float, null_values: list[float] | np.ndarray, *,
            scale: float = 1.0, source: str = "") -> Limits:
    """Limits of a distance whose null draws are ``null_values`` (see the module docstring)."""
    null = np.asarray(null_values, dtype=float) * scale
    null = null[np.isfinite(null)]
    good, ok = metric.thresholds
    if len(null) < 2:
        return Limits(good, ok, value, basis="the documented thresholds (too few null draws)")
    mean, sd = float(null.mean()), float(null.std(ddof=1))
    k = len(null)
    high = mean + prediction_factor(k) * sd
    if metric.goal is Goal.MINIMIZE:
        passed = max(good, high)
        warned = max(ok, passed + (ok - good))
    else:  # no maximised distance uses null draws; kept symmetric for completeness
        low = mean - Z * sd
        passed = min(good, low)
        warned = min(ok, passed - (good - ok))
    decided = "the documented threshold" if passed == good else "the null"
    basis = (f"pass limit {passed:.3g}: the larger of the documented {good:g} and what a "
             f"perfect generator reaches at this size ({high:.3g}: the 99.9 % prediction bound "
             f"over {source or f'{k} null draws'}, mean {mean:.3g}); {decided} decides")
    return Limits(passed, warned, value, reference=mean, basis=basis)


def share_limits(metric: type[Metric], value: float, expected: float, n: int, *,
                 variance: float | None = None, what: str = "") -> Limits:
    """Limits of a share whose perfect-generator value is ``expected`` with binomial spread.

    ``variance`` overrides the binomial ``expected (1 − expected) / n`` (e.g. to add the
    noise of an expectation estimated from the holdout: :func:`two_sample_variance`).
    """
    var = expected * (1 - expected) / max(n, 1) if variance is None else variance
    high = expected + Z * math.sqrt(max(var, 0.0))
    good, ok = metric.thresholds
    passed = max(good, high)
    warned = max(ok, passed + (ok - good))
    decided = "the documented threshold" if passed == good else "the spread"
    basis = (f"pass limit {passed:.3g}: the larger of the documented {good:g} and "
             f"{what or 'the expected share'} {expected:.3g} + {Z} × its sampling sd "
             f"({high:.3g}); {decided} decides")
    return Limits(passed, warned, value, reference=expected, basis=basis)


def two_sample_variance(value: float, n: int, reference: float, n_reference: int) -> float:
    """Variance of the difference of two shares under the null that both are equal (pooled, as
    in the two-proportion z-test).

    >>> round(two_sample_variance(0.1, 100, 0.0, 100), 6)
    0.00095
    """
    if n < 1 or n_reference < 1:
        return math.nan
    pooled = (value * n + reference * n_reference) / (n + n_reference)
    return pooled * (1 - pooled) * (1 / n + 1 / n_reference)


def auroc_null_sd(n_pos: int, n_neg: int) -> float:
    """Standard deviation of an AUROC under the null (Mann-Whitney U, no ties)."""
    if n_pos < 1 or n_neg < 1:
        return math.nan
    return math.sqrt((n_pos + n_neg + 1) / (12.0 * n_pos * n_neg))
