"""Fidelity: how close the synthetic distribution is to the real one, from 1-way to k-way.

Distances are in [0, 1], 0 identical. Binned metrics count over the public
:class:`synthema.stats.Domain` (dictionary bins, a missing code per variable), so they measure
what a marginal-based synthesizer models and never depend on data-derived bins.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from synthema.evaluate.classifier import fit_predict_proba
from synthema.evaluate.encoding import numeric_values
from synthema.evaluate.metric import AtMostHalfBetter, Goal, Metric, Outcome, finite
from synthema.schema import VariableType

_TOP = 20


def tvd(p: np.ndarray, q: np.ndarray) -> float:
    """Total variation distance between two count or probability vectors.

    >>> tvd(np.array([1, 1]), np.array([2, 0]))
    0.5
    """
    p = p / max(p.sum(), 1)
    q = q / max(q.sum(), 1)
    return float(0.5 * np.abs(p - q).sum())


def ks_with_missing(x: np.ndarray, y: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic, missing values (NaN) as a mass below all values.

    >>> ks_with_missing(np.array([1.0, 2.0]), np.array([1.0, np.nan]))
    0.5
    """
    x = np.where(np.isnan(x), -np.inf, x)
    y = np.where(np.isnan(y), -np.inf, y)
    if not len(x) or not len(y):
        return float(len(x) != len(y))
    x, y = np.sort(x), np.sort(y)
    grid = np.union1d(x, y)
    fx = np.searchsorted(x, grid, side="right") / len(x)
    fy = np.searchsorted(y, grid, side="right") / len(y)
    return float(np.max(np.abs(fx - fy)))


def wasserstein_distance(u: np.ndarray, v: np.ndarray) -> float:
    """Wasserstein-1 distance of two 1-d samples: the area between their empirical CDFs.

    >>> wasserstein_distance(np.array([0.0, 1.0]), np.array([0.5]))
    0.5
    """
    u, v = np.sort(u), np.sort(v)
    grid = np.sort(np.concatenate([u, v]))
    width = np.diff(grid)
    fu = np.searchsorted(u, grid[:-1], side="right") / len(u)
    fv = np.searchsorted(v, grid[:-1], side="right") / len(v)
    return float(np.sum(np.abs(fu - fv) * width))


def _binned(real: pd.DataFrame, synthetic: pd.DataFrame, context) -> tuple[np.ndarray, ...]:
    cr, cs = context.codes(real), context.codes(synthetic)
    return cr, cs, np.asarray(context.domain.shape, dtype=np.int64)


class ColumnDistance(Metric):
    """Mean per-column distance: TVD for categories, KS (missing below all values) for numbers."""

    name = "column_distance"
    group = "fidelity"
    goal = Goal.MINIMIZE
    unit = "TVD / KS"
    thresholds = (0.05, 0.10)
    description = "mean over columns of TVD (categorical) or Kolmogorov-Smirnov (numeric, date)"

    @classmethod
    def compute(cls, real, synthetic, *, context) -> Outcome:
        """Per column distance and binned marginals (for the report's side-by-side bars)."""
        cr, cs, shape = _binned(real, synthetic, context)
        rows, marginals = [], {}
        for j, var in enumerate(context.dictionary.variables):
            pr = np.bincount(cr[:, j], minlength=shape[j])
            ps = np.bincount(cs[:, j], minlength=shape[j])
            if var.type.is_numeric or var.type is VariableType.DATE:
                kind = "ks"
                dist = ks_with_missing(numeric_values(real[var.name], var),
                                       numeric_values(synthetic[var.name], var))
            else:
                kind, dist = "tvd", tvd(pr, ps)
            rows.append({"column": var.name, "type": var.type.value, "metric": kind,
                         "distance": finite(dist)})
            marginals[var.name] = {
                "labels": list(context.domain[var.name].labels),
                "real": [finite(v) for v in pr / max(pr.sum(), 1)],
                "synthetic": [finite(v) for v in ps / max(ps.sum(), 1)],
            }
        value = float(np.mean([r["distance"] for r in rows]))
        return Outcome(value, {"columns": rows, "marginals": marginals})


class Wasserstein(Metric):
    """Mean Wasserstein-1 distance of numeric columns, in units of each column's public range."""

    name = "wasserstein"
    group = "fidelity"
    goal = Goal.MINIMIZE
    unit = "fraction of range"
    thresholds = (0.02, 0.05)
    description = "mean Wasserstein-1 distance of observed numeric values, scaled by min-max"

    @classmethod
    def compute(cls, real, synthetic, *, context) -> Outcome:
        """One distance per numeric or date column, on the encoder's [0, 1] scale."""
        enc = context.encoder(real)
        er, es = context.encode(real, real), context.encode(synthetic, real)
        rows = []
        for var in context.dictionary.variables:
            if not (var.type.is_numeric or var.type is VariableType.DATE):
                continue
            sl = enc.slices[var.name]
            xr = er[er[:, sl.start + 1] == 0, sl.start]
            xs = es[es[:, sl.start + 1] == 0, sl.start]
            dist = (wasserstein_distance(xr, xs) if len(xr) and len(xs)
                    else float(len(xr) != len(xs)))
            rows.append({"column": var.name, "distance": finite(dist)})
        if not rows:
            return Outcome(0.0, {"columns": [], "note": "no numeric columns"})
        return Outcome(float(np.mean([r["distance"] for r in rows])), {"columns": rows})


def pairwise_tvd_matrix(cr: np.ndarray, cs: np.ndarray, shape: np.ndarray) -> np.ndarray:
    """TVD of every 2-way contingency table (d x d, symmetric, zero diagonal).

    Column ``i`` is paired with all ``j > i`` at once: every pair's cells get their own block of
    one long count vector, so one ``bincount`` per column counts all its tables.
    """
    d = cr.shape[1]
    out = np.zeros((d, d))
    for i in range(d - 1):
        js = np.arange(i + 1, d)
        cells = shape[i] * shape[js]
        offsets = np.concatenate([[0], np.cumsum(cells)[:-1]])
        total = int(cells.sum())

        def counts(c: np.ndarray, i=i, js=js, offsets=offsets, total=total) -> np.ndarray:
            idx = offsets[None, :] + c[:, [i]] * shape[js][None, :] + c[:, js]
            return np.bincount(idx.ravel(), minlength=total) / max(len(c), 1)

        diff = np.abs(counts(cr) - counts(cs))
        out[i, js] = out[js, i] = 0.5 * np.add.reduceat(diff, offsets)
    return out


class PairwiseTVD(Metric):
    """Mean TVD of all 2-way contingency tables over the public bins."""

    name = "pairwise_tvd"
    group = "fidelity"
    goal = Goal.MINIMIZE
    unit = "TVD"
    thresholds = (0.10, 0.20)
    description = "mean total variation distance of every pair's contingency table (binned)"

    @classmethod
    def compute(cls, real, synthetic, *, context) -> Outcome:
        """Mean over pairs; per-column means and the worst pairs in details."""
        cr, cs, shape = _binned(real, synthetic, context)
        m = pairwise_tvd_matrix(cr, cs, shape)
        d = m.shape[0]
        if d < 2:
            return Outcome(0.0, {"note": "fewer than two columns"})
        iu = np.triu_indices(d, 1)
        names = context.names
        order = np.argsort(-m[iu])[:_TOP]
        worst = [{"columns": [names[iu[0][k]], names[iu[1][k]]], "tvd": finite(m[iu][k])}
                 for k in order]
        per_column = {n: finite(m[j].sum() / (d - 1)) for j, n in enumerate(names)}
        return Outcome(float(m[iu].mean()),
                       {"n_pairs": len(iu[0]), "worst_pairs": worst, "per_column": per_column})


class KWayTVD(Metric):
    """Mean TVD of k-way marginals (k = ``context.kway``) on randomly drawn column subsets."""

    name = "kway_tvd"
    group = "fidelity"
    goal = Goal.MINIMIZE
    unit = "TVD"
    thresholds = (0.20, 0.35)
    description = "mean TVD of k-way marginals (default k = 3, up to 500 random subsets)"

    @classmethod
    def compute(cls, real, synthetic, *, context) -> Outcome:
        """Subsets are all k-subsets when few, else ``max_subsets`` drawn with the context seed."""
        cr, cs, shape = _binned(real, synthetic, context)
        d, k = cr.shape[1], min(context.kway, cr.shape[1])
        n_all = int(np.prod([d - i for i in range(k)]) // np.prod(range(1, k + 1)))
        if n_all <= context.max_subsets:
            subsets = [list(s) for s in itertools.combinations(range(d), k)]
        else:
            rng = context.rng("kway")
            seen: set[tuple[int, ...]] = set()
            while len(seen) < context.max_subsets:
                seen.add(tuple(sorted(rng.choice(d, size=k, replace=False).tolist())))
            subsets = [list(s) for s in sorted(seen)]
        dists = []
        for cols in subsets:
            mult = np.cumprod([1, *shape[cols][::-1][:-1]])[::-1]
            size = int(np.prod(shape[cols]))
            pr = np.bincount(cr[:, cols] @ mult, minlength=size)
            ps = np.bincount(cs[:, cols] @ mult, minlength=size)
            dists.append(tvd(pr, ps))
        dists_a = np.asarray(dists)
        worst = [{"columns": [context.names[c] for c in subsets[i]], "tvd": finite(dists_a[i])}
                 for i in np.argsort(-dists_a)[:_TOP]]
        return Outcome(float(dists_a.mean()), {"k": k, "n_subsets": len(subsets), "worst": worst})


def _rank_columns(df: pd.DataFrame, context, ordered: list) -> np.ndarray:
    cols = []
    for var in ordered:
        if var.type is VariableType.ORDINAL:
            x = pd.Categorical(df[var.name].astype("string"), categories=var.categories).codes
            x = np.where(x >= 0, x, np.nan).astype(float)
        else:
            x = numeric_values(df[var.name], var)
        cols.append(pd.Series(x).rank(method="average").to_numpy(dtype=float))
    return np.column_stack(cols) if cols else np.zeros((len(df), 0))


def spearman_pairwise(ranks: np.ndarray) -> np.ndarray:
    """Pearson correlation of ranks on pairwise-complete rows (NaN-free; 0 where undefined)."""
    m = (~np.isnan(ranks)).astype(float)
    x = np.nan_to_num(ranks)
    n = m.T @ m
    sx = x.T @ m  # sx[i, j]: sum of column i over rows where i and j are present
    sxx = (x * x).T @ m
    sxy = x.T @ x
    with np.errstate(divide="ignore", invalid="ignore"):
        cov = sxy / n - (sx / n) * (sx.T / n)
        var_i = sxx / n - (sx / n) ** 2
        corr = cov / np.sqrt(var_i * var_i.T)
    corr[~np.isfinite(corr)] = 0.0
    np.fill_diagonal(corr, 1.0)
    return np.clip(corr, -1.0, 1.0)


def cramers_v(a: np.ndarray, b: np.ndarray, ka: int, kb: int) -> float:
    """Cramér's V of two code vectors (missing is a category of its own)."""
    table = np.bincount(a * kb + b, minlength=ka * kb).reshape(ka, kb).astype(float)
    table = table[table.sum(1) > 0][:, table.sum(0) > 0]
    n = table.sum()
    r, c = table.shape
    if n == 0 or min(r, c) < 2:
        return 0.0
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    return float(np.sqrt(chi2 / n / (min(r, c) - 1)))


def association_matrix(df: pd.DataFrame, codes: np.ndarray, context) -> np.ndarray:
    """Spearman for ordered pairs (numbers, dates, booleans, ordinals), Cramér's V otherwise."""
    variables = context.dictionary.variables
    nominal = [v.type is VariableType.CATEGORICAL for v in variables]
    ordered_idx = [j for j, nom in enumerate(nominal) if not nom]
    out = np.zeros((len(variables), len(variables)))
    ranks = _rank_columns(df, context, [variables[j] for j in ordered_idx])
    out[np.ix_(ordered_idx, ordered_idx)] = spearman_pairwise(ranks)
    shape = context.domain.shape
    for i, nom in enumerate(nominal):
        if not nom:
            continue
        for j in range(len(variables)):
            if j != i and (j > i or not nominal[j]):
                out[i, j] = out[j, i] = cramers_v(codes[:, i], codes[:, j], shape[i], shape[j])
        out[i, i] = 1.0
    return out


class CorrelationDifference(Metric):
    """Mean absolute difference of pairwise associations (Spearman / Cramér's V)."""

    name = "correlation_difference"
    group = "fidelity"
    goal = Goal.MINIMIZE
    unit = "|Δ association|"
    thresholds = (0.03, 0.06)
    description = ("mean |real − synthetic| association over pairs: Spearman ρ (halved, range 2) "
                   "for ordered pairs, Cramér's V when a categorical is involved")

    @classmethod
    def compute(cls, real, synthetic, *, context) -> Outcome:
        """The difference matrix (for the heatmap) and the most changed pairs in details."""
        ar = association_matrix(real, context.codes(real), context)
        asyn = association_matrix(synthetic, context.codes(synthetic), context)
        nominal = np.array([v.type is VariableType.CATEGORICAL
                            for v in context.dictionary.variables])
        scale = np.where(nominal[:, None] | nominal[None, :], 1.0, 0.5)
        diff = (ar - asyn) * scale
        d = diff.shape[0]
        if d < 2:
            return Outcome(0.0, {"note": "fewer than two columns"})
        iu = np.triu_indices(d, 1)
        names = context.names
        order = np.argsort(-np.abs(diff[iu]))[:_TOP]
        worst = [{"columns": [names[iu[0][k]], names[iu[1][k]]],
                  "real": finite(ar[iu][k]), "synthetic": finite(asyn[iu][k])} for k in order]
        return Outcome(float(np.abs(diff[iu]).mean()), {
            "columns": list(names),
            "difference": [[round(float(v), 3) for v in row] for row in ar - asyn],
            "worst_pairs": worst,
        })


def discriminate(real, synthetic, context) -> dict:
    """Out-of-fold propensities of a classifier telling synthetic (1) from real (0) rows.

    Two folds, with identical rows always in the same fold: a row whose copy (with the other
    label) was in the training fold would otherwise be scored against its own copy.
    """
    from sklearn.metrics import roc_auc_score

    def run() -> dict:
        rng = context.rng("discriminator")
        xr, xs = context.encode(real, real), context.encode(synthetic, real)

        def take(x: np.ndarray) -> np.ndarray:
            if len(x) <= context.max_rows:
                return x
            return x[rng.choice(len(x), size=context.max_rows, replace=False)]

        xr, xs = take(xr), take(xs)
        x = np.vstack([xr, xs])
        y = np.r_[np.zeros(len(xr)), np.ones(len(xs))]
        _, row_id = np.unique(x, axis=0, return_inverse=True)
        fold = rng.integers(2, size=row_id.max() + 1)[row_id.ravel()]
        p = np.zeros(len(y))
        for k in (0, 1):
            train, test = fold != k, fold == k
            if not test.any() or len(np.unique(y[train])) < 2:
                p[test] = y[train].mean() if train.any() else 0.5
                continue
            proba, classes = fit_predict_proba(x[train], y[train], x[test],
                                               random_state=context.random_state)
            p[test] = proba[:, list(classes).index(1.0)]
        c = len(xs) / len(y)
        return {"auroc": float(roc_auc_score(y, p)), "pmse": float(np.mean((p - c) ** 2)),
                "rows": [len(xr), len(xs)]}

    return context.memo("discriminator", (real, synthetic), run)


class DiscriminatorAUROC(AtMostHalfBetter):
    """AUROC of a gradient-boosting classifier telling synthetic from real rows (0.5 ideal)."""

    name = "discriminator_auroc"
    group = "fidelity"
    unit = "AUROC"
    thresholds = (0.60, 0.75)
    description = ("cross-fitted AUROC of HistGradientBoosting, real vs synthetic "
                   "(0.5 = cannot tell)")

    @classmethod
    def compute(cls, real, synthetic, *, context) -> Outcome:
        """Two-fold cross-fitted out-of-fold AUROC."""
        res = discriminate(real, synthetic, context)
        return Outcome(res["auroc"], {"rows": res["rows"], "folds": 2})


class PropensityMSE(Metric):
    """Propensity mean squared error (pMSE): spread of the discriminator's propensities."""

    name = "propensity_mse"
    group = "fidelity"
    goal = Goal.MINIMIZE
    max_value = 0.25
    unit = "pMSE"
    thresholds = (0.01, 0.04)
    description = "mean (p − c)² of out-of-fold propensities, c = synthetic share (0 ideal)"

    @classmethod
    def compute(cls, real, synthetic, *, context) -> Outcome:
        """Same classifier run as :class:`DiscriminatorAUROC`."""
        res = discriminate(real, synthetic, context)
        return Outcome(res["pmse"], {"rows": res["rows"]})
