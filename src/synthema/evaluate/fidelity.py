"""Fidelity: how close the synthetic distribution is to the real one, from 1-way to k-way.

Distances are in [0, 1], 0 identical. Binned metrics count over the public
:class:`synthema.stats.Domain` (dictionary bins, a missing code per variable), so they measure
what a marginal-based synthesizer models and never depend on data-derived bins. Each distance is
also computed on null splits of the real rows (:mod:`synthema.evaluate.null`): what a perfect
generator scores at this size widens its thresholds, so sampling noise alone never fails it.
"""

from __future__ import annotations

import itertools

import numpy as np

from synthema.evaluate.association import association_matrix
from synthema.evaluate.classifier import fit_predict_proba
from synthema.evaluate.metric import AtMostHalfBetter, Goal, Limits, Metric, Outcome, finite
from synthema.evaluate.null import (
    NullSplits,
    auroc_null_sd,
    prediction_factor,
    share_limits,
    widened,
)
from synthema.evaluate.sample import Sample
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


def _null(context, real, synthetic, stat, *, draws: int | None = None) -> tuple[list, NullSplits]:
    """``stat(a, b)`` on null splits (:class:`~synthema.evaluate.sample.Sample` pairs)."""
    splits = context.nulls(real, synthetic)
    pool = context.sample(splits.pool)
    chosen = splits.draws[:draws] if draws else splits.draws
    return [stat(pool.take(a), pool.take(b)) for a, b in chosen], splits


def _limits(metric, context, real, synthetic, value: float, stat, *,
            draws: int | None = None) -> Limits:
    values, splits = _null(context, real, synthetic, stat, draws=draws)
    k = len(values)
    source = splits.describe().replace(f"{len(splits.draws)} random", f"{k} random")
    return widened(metric, value, values, scale=splits.scale, source=source)


def _numeric(context) -> np.ndarray:
    return np.array([v.type.is_numeric or v.type is VariableType.DATE
                     for v in context.dictionary.variables])


def column_distances(x: Sample, y: Sample, numeric: np.ndarray, shape: np.ndarray
                     ) -> np.ndarray:
    """Per column: KS (missing below every value) for numbers and dates, TVD for the rest."""
    out = np.empty(len(numeric))
    for j, is_num in enumerate(numeric):
        if is_num:
            out[j] = ks_with_missing(x.numbers[:, j], y.numbers[:, j])
        else:
            out[j] = tvd(np.bincount(x.codes[:, j], minlength=shape[j]),
                         np.bincount(y.codes[:, j], minlength=shape[j]))
    return out


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
        """Per column distance, its null bound, and binned marginals (for the report's bars)."""
        sr, ss = context.sample(real), context.sample(synthetic)
        shape = np.asarray(context.domain.shape, dtype=np.int64)
        numeric = _numeric(context)
        dist = column_distances(sr, ss, numeric, shape)
        nulls, splits = _null(context, real, synthetic,
                              lambda a, b: column_distances(a, b, numeric, shape))
        null = np.asarray(nulls) * splits.scale
        bound = null.mean(axis=0) + prediction_factor(len(null)) * null.std(axis=0, ddof=1)
        rows, marginals = [], {}
        for j, var in enumerate(context.dictionary.variables):
            pr = np.bincount(sr.codes[:, j], minlength=shape[j])
            ps = np.bincount(ss.codes[:, j], minlength=shape[j])
            rows.append({"column": var.name, "type": var.type.value,
                         "metric": "ks" if numeric[j] else "tvd", "distance": finite(dist[j]),
                         "null_bound": finite(bound[j]), "beyond_noise": bool(dist[j] > bound[j])})
            marginals[var.name] = {
                "labels": list(context.domain[var.name].labels), "unit": var.unit or "",
                "real": [finite(v) for v in pr / max(pr.sum(), 1)],
                "synthetic": [finite(v) for v in ps / max(ps.sum(), 1)],
            }
        value = float(dist.mean())
        limits = widened(cls, value, null.mean(axis=1), source=splits.describe())
        return Outcome(value, {"columns": rows, "marginals": marginals,
                               "rows_used": _rows(real, synthetic)}, limits)


def _rows(real, synthetic, **extra) -> dict:
    return {"real": len(real), "synthetic": len(synthetic), **extra}


def _scaled(context, real) -> tuple[list[int], list[tuple[float, float]]]:
    """Numeric and date columns and their scaling bounds (the encoder's: dictionary, else real)."""
    enc = context.encoder(real)
    cols, bounds = [], []
    for j, (var, b) in enumerate(zip(enc.variables, enc.bounds, strict=True)):
        if var.type.is_numeric or var.type is VariableType.DATE:
            cols.append(j)
            bounds.append(b if b is not None else (0.0, 1.0))
    return cols, bounds


def wasserstein_columns(x: Sample, y: Sample, cols: list[int],
                        bounds: list[tuple[float, float]]) -> np.ndarray:
    """Wasserstein-1 of the observed values of each column, scaled to [0, 1] by its bounds."""
    out = np.empty(len(cols))
    for k, (j, (lo, hi)) in enumerate(zip(cols, bounds, strict=True)):
        width = hi - lo if hi > lo else 1.0
        a = x.numbers[:, j]
        b = y.numbers[:, j]
        a = np.clip((a[~np.isnan(a)] - lo) / width, 0.0, 1.0)
        b = np.clip((b[~np.isnan(b)] - lo) / width, 0.0, 1.0)
        out[k] = wasserstein_distance(a, b) if len(a) and len(b) else float(len(a) != len(b))
    return out


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
        cols, bounds = _scaled(context, real)
        if not cols:
            return Outcome(0.0, {"columns": [], "note": "no numeric columns"})
        dist = wasserstein_columns(context.sample(real), context.sample(synthetic), cols, bounds)
        names = context.names
        value = float(dist.mean())
        limits = _limits(cls, context, real, synthetic, value, lambda a, b: float(
            wasserstein_columns(a, b, cols, bounds).mean()))
        return Outcome(value, {"columns": [{"column": names[j], "distance": finite(v)}
                                           for j, v in zip(cols, dist, strict=True)],
                               "rows_used": _rows(real, synthetic)}, limits)


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


#: null draws used by the metrics that cost a second or more per draw on large dictionaries
FEW_DRAWS = 8


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
        shape = np.asarray(context.domain.shape, dtype=np.int64)
        m = pairwise_tvd_matrix(context.sample(real).codes, context.sample(synthetic).codes,
                                shape)
        d = m.shape[0]
        if d < 2:
            return Outcome(0.0, {"note": "fewer than two columns"})
        iu = np.triu_indices(d, 1)
        names = context.names
        order = np.argsort(-m[iu])[:_TOP]
        worst = [{"columns": [names[iu[0][k]], names[iu[1][k]]], "tvd": finite(m[iu][k])}
                 for k in order]
        per_column = {n: finite(m[j].sum() / (d - 1)) for j, n in enumerate(names)}
        value = float(m[iu].mean())
        limits = _limits(cls, context, real, synthetic, value, lambda a, b: float(
            pairwise_tvd_matrix(a.codes, b.codes, shape)[iu].mean()), draws=FEW_DRAWS)
        return Outcome(value, {"n_pairs": len(iu[0]), "worst_pairs": worst,
                               "per_column": per_column, "rows_used": _rows(real, synthetic)},
                       limits)


def kway_subsets(context, d: int, k: int) -> list[list[int]]:
    """All k-subsets of d columns when few, else ``max_subsets`` drawn with the context seed."""
    n_all = int(np.prod([d - i for i in range(k)]) // np.prod(range(1, k + 1)))
    if n_all <= context.max_subsets:
        return [list(s) for s in itertools.combinations(range(d), k)]
    rng = context.rng("kway")
    seen: set[tuple[int, ...]] = set()
    while len(seen) < context.max_subsets:
        seen.add(tuple(sorted(rng.choice(d, size=k, replace=False).tolist())))
    return [list(s) for s in sorted(seen)]


def kway_distances(cr: np.ndarray, cs: np.ndarray, shape: np.ndarray,
                   subsets: list[list[int]]) -> np.ndarray:
    """TVD of the k-way marginal of each column subset."""
    out = np.empty(len(subsets))
    for i, cols in enumerate(subsets):
        mult = np.cumprod([1, *shape[cols][::-1][:-1]])[::-1]
        size = int(np.prod(shape[cols]))
        out[i] = tvd(np.bincount(cr[:, cols] @ mult, minlength=size),
                     np.bincount(cs[:, cols] @ mult, minlength=size))
    return out


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
        cr, cs = context.sample(real).codes, context.sample(synthetic).codes
        shape = np.asarray(context.domain.shape, dtype=np.int64)
        d, k = cr.shape[1], min(context.kway, cr.shape[1])
        subsets = kway_subsets(context, d, k)
        dists = kway_distances(cr, cs, shape, subsets)
        worst = [{"columns": [context.names[c] for c in subsets[i]], "tvd": finite(dists[i])}
                 for i in np.argsort(-dists)[:_TOP]]
        value = float(dists.mean())
        limits = _limits(cls, context, real, synthetic, value, lambda a, b: float(
            kway_distances(a.codes, b.codes, shape, subsets).mean()), draws=FEW_DRAWS)
        return Outcome(value, {"k": k, "n_subsets": len(subsets), "worst": worst,
                               "rows_used": _rows(real, synthetic)}, limits)


def _associations(x: Sample, context) -> np.ndarray:
    nominal = np.array([v.type is VariableType.CATEGORICAL
                        for v in context.dictionary.variables])
    return association_matrix(x.numbers, x.codes,
                              np.asarray(context.domain.shape, dtype=np.int64), nominal)


def _association_difference(a: np.ndarray, b: np.ndarray, nominal: np.ndarray) -> np.ndarray:
    """(a − b), Spearman differences halved (ρ spans 2, V spans 1)."""
    scale = np.where(nominal[:, None] | nominal[None, :], 1.0, 0.5)
    return (a - b) * scale


class CorrelationDifference(Metric):
    """Mean absolute difference of pairwise associations (Spearman / Cramér's V)."""

    name = "correlation_difference"
    group = "fidelity"
    goal = Goal.MINIMIZE
    unit = "|Δ association|"
    thresholds = (0.03, 0.06)
    description = ("mean |real − synthetic| association over pairs: Spearman ρ on pairwise-"
                   "complete rows (halved, range 2) for ordered pairs, Cramér's V when a "
                   "categorical is involved")

    @classmethod
    def compute(cls, real, synthetic, *, context) -> Outcome:
        """The difference matrix (for the heatmap) and the most changed pairs in details."""
        nominal = np.array([v.type is VariableType.CATEGORICAL
                            for v in context.dictionary.variables])
        ar = _associations(context.sample(real), context)
        asyn = _associations(context.sample(synthetic), context)
        diff = _association_difference(ar, asyn, nominal)
        d = diff.shape[0]
        if d < 2:
            return Outcome(0.0, {"note": "fewer than two columns"})
        iu = np.triu_indices(d, 1)
        names = context.names
        order = np.argsort(-np.abs(diff[iu]))[:_TOP]
        worst = [{"columns": [names[iu[0][k]], names[iu[1][k]]],
                  "measure": "cramers_v" if nominal[iu[0][k]] or nominal[iu[1][k]]
                  else "spearman", "real": finite(ar[iu][k]), "synthetic": finite(asyn[iu][k])}
                 for k in order]
        value = float(np.abs(diff[iu]).mean())
        limits = _limits(cls, context, real, synthetic, value, lambda a, b: float(np.abs(
            _association_difference(_associations(a, context), _associations(b, context),
                                    nominal)[iu]).mean()), draws=FEW_DRAWS)
        return Outcome(value, {
            "columns": list(names),
            "groups": [v.group or "" for v in context.dictionary.variables],
            "difference": [[round(float(v), 3) for v in row] for row in ar - asyn],
            "real": [[round(float(v), 3) for v in row] for row in ar],
            "worst_pairs": worst,
            "rows_used": _rows(real, synthetic),
        }, limits)


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


def _chance(res: dict) -> Limits:
    """Limits of the discriminator's AUROC: chance (0.5) with its Mann-Whitney spread.

    Within a fold the scores come from a model that never saw those rows, so under the null
    (synthetic rows from the real population) labels are exchangeable given the scores.
    """
    n_real, n_syn = res["rows"]
    sd = auroc_null_sd(n_real, n_syn)
    return share_limits(DiscriminatorAUROC, res["auroc"], 0.5, 1, variance=sd * sd,
                        what="an AUROC at chance")


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
        """Two-fold cross-fitted out-of-fold AUROC, judged against chance and its spread."""
        res = discriminate(real, synthetic, context)
        return Outcome(res["auroc"], {"rows": res["rows"], "folds": 2,
                                      "rows_used": _rows(real, synthetic, discriminator=
                                                         res["rows"])}, _chance(res))


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
        """Same classifier run as :class:`DiscriminatorAUROC`.

        A flexible classifier's propensities spread around c even when there is nothing to
        learn, so the pMSE of a perfect generator is not 0 and depends on the classifier. The
        AUROC of the same out-of-fold propensities has a known null: when it is within what
        chance gives, the spread is the classifier's own noise and the pMSE passes.
        """
        res = discriminate(real, synthetic, context)
        chance = _chance(res)
        details = {"rows": res["rows"], "auroc": finite(res["auroc"]),
                   "rows_used": _rows(real, synthetic, discriminator=res["rows"])}
        if res["auroc"] <= chance.passed:
            good, ok = cls.thresholds
            passed = max(good, res["pmse"])
            return Outcome(res["pmse"], details, Limits(
                passed, max(ok, passed + ok - good), res["pmse"], basis=(
                    f"the discriminator's AUROC {res['auroc']:.3g} is within what chance gives "
                    f"(≤ {chance.passed:.3g}): this spread of propensities is the classifier's "
                    "own noise, so it passes")))
        return Outcome(res["pmse"], details)
