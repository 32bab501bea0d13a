"""Survival building blocks: Kaplan-Meier on a common grid, Harrell's C, a screened Cox model.

Kaplan-Meier and the C-index are small numpy functions (tested against lifelines on its own
datasets); the Cox model and the log-rank test are lifelines', imported only when used.

>>> km = kaplan_meier(np.array([1.0, 2.0, 2.0, 3.0]), np.array([1, 1, 0, 1]))
>>> km.times.tolist(), km.survival.round(3).tolist()
([1.0, 2.0, 3.0], [0.75, 0.5, 0.0])
>>> km.at(np.array([0.0, 2.5])).tolist()
[1.0, 0.5]
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

MAX_COX_COVARIATES = 30


@dataclass(frozen=True)
class KaplanMeier:
    """A Kaplan-Meier curve: survival just after each distinct event time."""

    times: np.ndarray
    survival: np.ndarray
    n: int

    def at(self, t: np.ndarray) -> np.ndarray:
        """Survival at times ``t`` (right-continuous step function, 1 before the first event)."""
        t = np.asarray(t, dtype=float)
        if not len(self.times):  # no event (or no row): nobody is known to have failed
            return np.ones_like(t)
        pos = np.searchsorted(self.times, t, side="right") - 1
        return np.where(pos >= 0, self.survival[np.clip(pos, 0, None)], 1.0)


def kaplan_meier(time: np.ndarray, event: np.ndarray) -> KaplanMeier:
    """Product-limit estimate; censored at t means still at risk at t (the usual convention)."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    if not len(time):
        return KaplanMeier(np.zeros(0), np.zeros(0), 0)
    uniq, inverse = np.unique(time, return_inverse=True)
    deaths = np.bincount(inverse, weights=event, minlength=len(uniq))
    leaving = np.bincount(inverse, minlength=len(uniq))
    at_risk = len(time) - np.concatenate([[0], np.cumsum(leaving)[:-1]])
    keep = deaths > 0
    factors = 1.0 - deaths[keep] / at_risk[keep]
    return KaplanMeier(uniq[keep], np.cumprod(factors), len(time))


def km_max_distance(a: KaplanMeier, b: KaplanMeier, *, horizon: float | None = None) -> float:
    """Sup |S_a(t) − S_b(t)| over the union of both curves' event times (up to ``horizon``).

    Both curves are step functions that only change at their own event times, so the union
    of event times is a grid on which the supremum is attained exactly.
    """
    grid = np.union1d(a.times, b.times)
    if horizon is not None:
        grid = grid[grid <= horizon]
    if not len(grid):
        return 0.0
    return float(np.max(np.abs(a.at(grid) - b.at(grid))))


def concordance_index(time: np.ndarray, risk: np.ndarray, event: np.ndarray) -> float:
    """Harrell's C: share of comparable pairs where the higher risk fails first (ties: 1/2).

    A pair is comparable when the shorter time is an event; at equal times an event and a
    censoring are comparable (the censored one outlived it), two events are not, as in
    ``lifelines.utils.concordance_index`` (which takes ``-risk`` as its predicted score).
    """
    time = np.asarray(time, dtype=float)
    risk = np.asarray(risk, dtype=float)
    event = np.asarray(event, dtype=bool)
    cases = np.flatnonzero(event)
    num = den = 0.0
    for start in range(0, len(cases), 1024):
        i = cases[start:start + 1024]
        later = time[None, :] > time[i, None]
        tied = (time[None, :] == time[i, None]) & ~event[None, :]
        comparable = later | tied
        diff = risk[i, None] - risk[None, :]
        num += float(((diff > 0) & comparable).sum() + 0.5 * ((diff == 0) & comparable).sum())
        den += float(comparable.sum())
    return num / den if den else float("nan")


def cox_screen(x: np.ndarray, time: np.ndarray, event: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` covariates with the largest univariate Cox score statistic |z|.

    The score test at beta = 0 needs only risk-set sums (Breslow), so all covariates are
    screened in one pass; the Cox fit that follows stays small and fast.
    """
    order = np.argsort(-time, kind="stable")
    xs, es = x[order], event[order].astype(bool)
    n_risk = np.arange(1, len(time) + 1, dtype=float)[:, None]
    mean = np.cumsum(xs, axis=0) / n_risk
    mean2 = np.cumsum(xs * xs, axis=0) / n_risk
    score = (xs[es] - mean[es]).sum(axis=0)
    info = (mean2[es] - mean[es] ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.abs(score) / np.sqrt(info)
    z[~np.isfinite(z)] = 0.0
    return np.sort(np.argsort(-z, kind="stable")[:k])


@dataclass(frozen=True)
class CoxModel:
    """A fitted, ridge-penalised Cox model over selected encoded covariates."""

    columns: np.ndarray
    beta: np.ndarray
    mean: np.ndarray

    def risk(self, x: np.ndarray) -> np.ndarray:
        """Linear predictor (log partial hazard) of encoded rows."""
        return (x[:, self.columns] - self.mean) @ self.beta


def fit_cox(x: np.ndarray, time: np.ndarray, event: np.ndarray, columns: np.ndarray, *,
            penalizer: float = 0.1) -> CoxModel:
    """Fit lifelines' CoxPHFitter on ``columns`` of ``x`` (constant columns get beta 0)."""
    from lifelines import CoxPHFitter

    sub = x[:, columns].astype(float)
    varying = sub.std(axis=0) > 0
    beta = np.zeros(len(columns))
    mean = sub.mean(axis=0)
    if varying.any() and event.any():
        df = pd.DataFrame(sub[:, varying], columns=[f"x{i}" for i in range(varying.sum())])
        df["_t"] = np.maximum(time, 1e-3)  # lifelines wants positive durations
        df["_e"] = event.astype(int)
        with warnings.catch_warnings():  # separation and slow convergence: the ridge copes
            warnings.simplefilter("ignore")
            model = CoxPHFitter(penalizer=penalizer).fit(df, "_t", "_e")
        beta[varying] = model.params_.to_numpy()
    return CoxModel(columns, beta, mean)


def logrank(a_time, a_event, b_time, b_event) -> tuple[float, float]:
    """(chi-square statistic, p-value) of lifelines' log-rank test of two samples."""
    from lifelines.statistics import logrank_test

    res = logrank_test(a_time, b_time, event_observed_A=a_event, event_observed_B=b_event)
    return float(res.test_statistic), float(res.p_value)


def curve_points(km: KaplanMeier, grid: np.ndarray) -> list[float]:
    """Survival on a plotting grid, rounded for the report."""
    return [round(float(v), 4) for v in km.at(grid)]
