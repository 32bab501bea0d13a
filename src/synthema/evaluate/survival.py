"""Survival building blocks: Kaplan-Meier with its bands, Harrell's C, a screened Cox model.

Kaplan-Meier (with Greenwood's variance and lifelines' log(-log) confidence band), numbers at
risk, the restricted mean survival time and the C-index are small numpy functions (tested
against lifelines on its own datasets); the Cox model and the log-rank test are lifelines',
imported only when used.

Curves are compared up to a **horizon** where both still have patients at risk
(:func:`km_horizon`): beyond it a curve is a handful of patients, and one death moves it by a
tenth or more (a null run's gap of 0.83 came from one patient at risk per arm).

>>> km = kaplan_meier(np.array([1.0, 2.0, 2.0, 3.0]), np.array([1, 1, 0, 1]))
>>> km.times.tolist(), km.survival.round(3).tolist()
([1.0, 2.0, 3.0], [0.75, 0.5, 0.0])
>>> km.at(np.array([0.0, 2.5])).tolist()
[1.0, 0.5]
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

MAX_COX_COVARIATES = 30
#: a curve is compared only where it keeps at least this many patients at risk ...
MIN_AT_RISK = 10
#: ... and at least this share of its patients
MIN_AT_RISK_SHARE = 0.10
_Z95 = 1.959963984540054


@dataclass(frozen=True)
class KaplanMeier:
    """A Kaplan-Meier curve: survival just after each distinct event time.

    ``at_risk`` and ``deaths`` are per event time; ``greenwood`` is Σ d / (n (n − d)) up to
    each event time (Greenwood's variance is ``survival² · greenwood``).
    """

    times: np.ndarray
    survival: np.ndarray
    n: int
    at_risk: np.ndarray = field(default_factory=lambda: np.zeros(0))
    deaths: np.ndarray = field(default_factory=lambda: np.zeros(0))
    greenwood: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def at(self, t: np.ndarray) -> np.ndarray:
        """Survival at times ``t`` (right-continuous step function, 1 before the first event)."""
        t = np.asarray(t, dtype=float)
        if not len(self.times):  # no event (or no row): nobody is known to have failed
            return np.ones_like(t)
        pos = np.searchsorted(self.times, t, side="right") - 1
        return np.where(pos >= 0, self.survival[np.clip(pos, 0, None)], 1.0)


    def band(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """95 % pointwise confidence band at ``t``: exponential Greenwood (log(-log)), as
        lifelines' ``KaplanMeierFitter.confidence_interval_``."""
        t = np.asarray(t, dtype=float)
        s = self.at(t)
        if not len(self.times):
            return s.copy(), s.copy()
        pos = np.searchsorted(self.times, t, side="right") - 1
        gw = np.where(pos >= 0, self.greenwood[np.clip(pos, 0, None)], 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            v = gw / np.log(s) ** 2
            half = _Z95 * np.sqrt(v)
            lower = np.exp(-np.exp(np.log(-np.log(s)) + half))
            upper = np.exp(-np.exp(np.log(-np.log(s)) - half))
        lower = np.where(np.isfinite(lower) & (s > 0) & (s < 1), lower, s)
        upper = np.where(np.isfinite(upper) & (s > 0) & (s < 1), upper, s)
        return lower, upper


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
    n, d = at_risk[keep], deaths[keep]
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(n > d, d / (n * (n - d)), np.inf)
    return KaplanMeier(uniq[keep], np.cumprod(1.0 - d / n), len(time), n, d,
                       np.cumsum(terms))


def number_at_risk(time: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Patients still at risk at each of ``t`` (time ≥ t: censored at t counts as at risk)."""
    ordered = np.sort(np.asarray(time, dtype=float))
    return len(ordered) - np.searchsorted(ordered, np.asarray(t, dtype=float), side="left")


def km_horizon(*times: np.ndarray, min_at_risk: int = MIN_AT_RISK,
               min_share: float = MIN_AT_RISK_SHARE) -> float:
    """The last time at which every sample keeps ``max(min_at_risk, min_share · n)`` at risk.

    >>> km_horizon(np.arange(1.0, 101.0), np.arange(1.0, 51.0))
    41.0
    """
    out = np.inf
    for time in times:
        time = np.sort(np.asarray(time, dtype=float))[::-1]
        if not len(time):
            return 0.0
        need = min(max(min_at_risk, int(np.ceil(min_share * len(time)))), len(time))
        out = min(out, float(time[need - 1]))
    return out


def rmst(km: KaplanMeier, tau: float) -> tuple[float, float]:
    """Restricted mean survival time up to ``tau`` and its variance (Greenwood form).

    Var = Σ over event times t ≤ tau of A(t)² d / (n (n − d)), A(t) the area under the curve
    from t to tau (Klein and Moeschberger, section 4.5).
    """
    t = km.times[km.times <= tau]
    edges = np.r_[0.0, t, tau]
    levels = np.r_[1.0, km.survival[:len(t)]]
    areas = np.diff(edges) * levels
    total = float(areas.sum())
    if not len(t):
        return total, 0.0
    after = total - np.cumsum(areas)[:-1]  # area from each event time to tau
    n, d = km.at_risk[:len(t)], km.deaths[:len(t)]
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(n > d, after**2 * d / (n * (n - d)), 0.0)
    return total, float(terms.sum())


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


def cox_score_z(x: np.ndarray, time: np.ndarray, event: np.ndarray) -> np.ndarray:
    """Univariate Cox score statistic z of every covariate (column of ``x``) at beta = 0.

    Each event time's risk set is every patient with time ≥ t, tied times included. The score
    is Σ over event times of (sum of the failing covariates − d · risk-set mean); its variance
    uses the exact (hypergeometric) tie correction Σ d (n − d) / (n − 1) · risk-set variance,
    so for a binary covariate z² is the log-rank statistic (lifelines' ``logrank_test``).
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    order = np.argsort(-time, kind="stable")
    ts, xs, es = time[order], x[order].astype(float), event[order]
    uniq, first = np.unique(-ts, return_index=True)  # distinct times, latest first
    last = np.r_[first[1:], len(ts)] - 1              # the end of each tie block
    n = (last + 1).astype(float)
    csum, csum2 = np.cumsum(xs, axis=0), np.cumsum(xs * xs, axis=0)
    mean, mean2 = csum[last] / n[:, None], csum2[last] / n[:, None]
    block = np.repeat(np.arange(len(uniq)), np.diff(np.r_[first, len(ts)]))
    d = np.bincount(block, weights=es, minlength=len(uniq))
    fail = np.zeros((len(uniq), x.shape[1]))
    np.add.at(fail, block[es], xs[es])
    score = (fail - d[:, None] * mean).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        tie = np.where(n > 1, d * (n - d) / (n - 1), 0.0)
        info = (tie[:, None] * (mean2 - mean**2)).sum(axis=0)
        z = score / np.sqrt(info)
    z[~np.isfinite(z)] = 0.0
    return z


def cox_screen(x: np.ndarray, time: np.ndarray, event: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` covariates with the largest univariate Cox score statistic |z|.

    The score test at beta = 0 needs only risk-set sums (:func:`cox_score_z`), so all
    covariates are screened in one pass; the Cox fit that follows stays small and fast.
    """
    z = np.abs(cox_score_z(x, time, event))
    return np.sort(np.argsort(-z, kind="stable")[:k])


@dataclass(frozen=True)
class CoxModel:
    """A fitted, ridge-penalised Cox model over selected encoded covariates.

    ``se`` are lifelines' standard errors of ``beta`` (NaN for a constant column).
    """

    columns: np.ndarray
    beta: np.ndarray
    mean: np.ndarray
    se: np.ndarray = field(default_factory=lambda: np.zeros(0))

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
    se = np.full(len(columns), np.nan)
    mean = sub.mean(axis=0)
    if varying.any() and event.any():
        df = pd.DataFrame(sub[:, varying], columns=[f"x{i}" for i in range(varying.sum())])
        df["_t"] = np.maximum(time, 1e-3)  # lifelines wants positive durations
        df["_e"] = event.astype(int)
        with warnings.catch_warnings():  # separation and slow convergence: the ridge copes
            warnings.simplefilter("ignore")
            model = CoxPHFitter(penalizer=penalizer).fit(df, "_t", "_e")
        beta[varying] = model.params_.to_numpy()
        se[varying] = model.standard_errors_.to_numpy()
    return CoxModel(np.asarray(columns), beta, mean, se)


def logrank(a_time, a_event, b_time, b_event) -> tuple[float, float]:
    """(chi-square statistic, p-value) of lifelines' log-rank test of two samples."""
    from lifelines.statistics import logrank_test

    res = logrank_test(a_time, b_time, event_observed_A=a_event, event_observed_B=b_event)
    return float(res.test_statistic), float(res.p_value)


def curve_points(km: KaplanMeier, grid: np.ndarray) -> list[float]:
    """Survival on a plotting grid, rounded for the report."""
    return [round(float(v), 4) for v in km.at(grid)]
