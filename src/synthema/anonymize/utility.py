"""The utility check of a release, computed by :mod:`synthema.evaluate`'s metrics.

Generalised values (age bands, months, truncated postcodes) cannot be compared with the
exact values they replace, so the comparison is made **in the release's own domain**: the
input is passed through the same transformations (date method, hierarchy level of each
quasi-identifier) and compared, all records, with the release. What the check then measures
is what suppression and the other record-level steps changed in the distributions the
purpose relies on; what generalisation itself lost (a withheld column, a band) is measured
against the original input by :mod:`synthema.anonymize.column_cost`, and by the
information-loss figures (height, non-uniform entropy).

The two frames are typed by a dictionary built for the released columns: generalised
quasi-identifiers become ordinal variables (bands, dates and truncated codes are ordered; a
``groups`` or ``suppress`` hierarchy gives a categorical one) with the labels of their level,
columns the
policy's data dictionary declares and the pipeline left unchanged keep their dictionary
type (so survival pairs and rules still apply), and other columns get a type inferred from
the values. The metrics (registry names) are column-wise TVD/KS (``column_distance``),
pairwise contingency TVD (``pairwise_tvd``) and, where a survival pair of the dictionary is
released, the Kaplan-Meier distance overall and per Cox risk group and the log-rank test
(``km_distance``, ``km_risk_group_distance``, ``logrank_p``).

Because that comparison cannot see what generalisation costs an analysis, one more figure
does: for each released survival pair, Harrell's C of a Cox model on the **exact**
quasi-identifiers minus that of the same model on the **generalised** ones, both fitted and
tested (two folds, the same records and folds) on the released records with evaluate's Cox
fit and concordance (:mod:`synthema.evaluate.survival`); it is judged with the thresholds of
evaluate's ``cindex_gap``. Quasi-identifiers the dictionary does not declare, and dates, are
left out of both models.

>>> import pandas as pd
>>> before = pd.DataFrame({"band": ["30-39", "30-39", "40-49", "50-59"]})
>>> kept = [True, True, True, False]  # the 50-59 record was suppressed
>>> check = utility_check(before, kept, columns=["band"], generalised={"band": "interval"})
>>> check["tvd"], check["metrics"][0]["status"]
({'band': 0.25}, 'pass')

(A TVD of 0.25 between 4 and 3 records is within what sampling alone gives at that size, so
evaluate's size-aware limits pass it; on hundreds of records the same gap fails.)
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from synthema.errors import SynthemaError
from synthema.evaluate import EvaluationContext, EvaluationReport
from synthema.evaluate.encoding import numeric_values
from synthema.evaluate.fidelity import tvd
from synthema.evaluate.metric import finite
from synthema.evaluate.survival import (
    MAX_COX_COVARIATES,
    concordance_index,
    cox_screen,
    fit_cox,
)
from synthema.evaluate.utility import CIndexGap, feature_columns
from synthema.schema import Dictionary, Variable, VariableType
from synthema.schema.values import FALSE_WORDS, TRUE_WORDS, parse_column, typed_dtype

_LOG = logging.getLogger(__name__)
#: hierarchy types whose labels are ordered (an ordinal variable in the comparison)
ORDERED = ("interval", "date", "truncate")
#: metrics run on every release, and on releases that carry a survival pair
METRICS = ("column_distance", "pairwise_tvd")
SURVIVAL_METRICS = ("km_distance", "km_risk_group_distance", "logrank_p")
MAX_CATEGORIES = 100
#: records compared at most (a random sample of records above it)
MAX_ROWS = 10_000
#: records the C-index comparison uses at most (Harrell's C is quadratic in records)
MAX_CINDEX_ROWS = 5000
#: what each metric compares here, in this check's words (evaluate's say real vs synthetic)
DESCRIPTIONS = {
    "column_distance": "mean over columns of TVD (categorical) or Kolmogorov-Smirnov (numeric), "
                       "input vs release",
    "pairwise_tvd": "mean total variation distance of every pair's contingency table, input "
                    "vs release",
    "km_distance": "sup_t |S_input(t) − S_release(t)| on the union of event times, max over "
                   "pairs",
    "km_risk_group_distance": "KM sup distance per risk group (tertiles of the input's Cox "
                              "risk, applied to both), max over groups and pairs",
    "logrank_p": "log-rank test of input vs release survival, smallest p over pairs (with "
                 "thousands of records, small differences are significant)",
}
COMPARED = ("input passed through the release's transformations (date method, generalisation "
            "levels), all records, vs the release")


def _natural(text: str) -> list[Any]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text)]


def _text(values: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.strftime("%Y-%m-%d").astype("string")
    return values.astype("string").str.strip().replace("", pd.NA)


def _infer(name: str, both: pd.Series) -> Variable | str:
    """A variable for a column the dictionary does not describe, or why it is skipped."""
    present = both.dropna()
    if present.empty:
        return "no values"
    low = present.str.lower()
    if low.isin(TRUE_WORDS | FALSE_WORDS).all():
        return Variable(name, VariableType.BOOLEAN)
    num = pd.to_numeric(present, errors="coerce")
    if num.notna().all():
        lo, hi = float(num.min()), float(num.max())
        whole = bool((num == num.round()).all())
        return Variable(name, VariableType.INTEGER if whole else VariableType.CONTINUOUS,
                        min=lo, max=hi if hi > lo else lo + 1.0)
    days = pd.to_datetime(present, format="%Y-%m-%d", errors="coerce")
    if days.notna().all():  # shifted dates: compared as dates, not as text
        return Variable(name, VariableType.DATE, min=days.min().date(), max=days.max().date())
    cats = sorted(set(present), key=_natural)
    if len(cats) > MAX_CATEGORIES:
        return f"more than {MAX_CATEGORIES} distinct values"
    return Variable(name, VariableType.CATEGORICAL, categories=tuple(cats))


def release_dictionary(original: pd.DataFrame, released: pd.DataFrame, columns: Sequence[str],
                       *, generalised: Mapping[str, str] | None = None,
                       changed: Collection[str] = (), dictionary: Dictionary | None = None
                       ) -> tuple[Dictionary | None, dict[str, str]]:
    """The dictionary both frames are typed and compared by, and the columns left out.

    The dictionary is None when no column can be compared.

    Args:
        original, released: the two frames (text or typed cells).
        columns: the released columns to compare.
        generalised: quasi-identifier columns and their hierarchy type (their labels become
            ordinal or categorical values, see :data:`ORDERED`).
        changed: columns the pipeline transformed (dates); their type is inferred.
        dictionary: the data dictionary of the input, if known.
    """
    generalised = dict(generalised or {})
    variables, skipped = [], {}
    for col in columns:
        both = pd.concat([_text(original[col]), _text(released[col])], ignore_index=True)
        declared = dictionary is not None and col in dictionary
        if col in generalised:
            cats = tuple(sorted(set(both.dropna()), key=_natural))
            kind = (VariableType.ORDINAL if generalised[col] in ORDERED
                    else VariableType.CATEGORICAL)
            var: Variable | str = Variable(col, kind, categories=cats) if cats else "no values"
        elif declared and col not in changed:
            var = dictionary[col]  # type: ignore[index]
        else:
            var = _infer(col, both)
        if isinstance(var, str):
            skipped[col] = var
        else:
            variables.append(var)
    if not variables:
        return None, skipped
    kept = {v.name: v for v in variables}
    same = {n for n, v in kept.items()
            if dictionary is not None and n in dictionary and dictionary[n] == v}
    survival = tuple(p for p in (dictionary.survival if dictionary else ())
                     if {p.time, p.event} <= same)
    rules = tuple(r for r in (dictionary.rules if dictionary else ()) if set(r.columns) <= same)
    name = dictionary.name if dictionary is not None else "inferred"
    return Dictionary(name=f"{name} (release)", version="1", variables=tuple(variables),
                      survival=survival, rules=rules), skipped


def typed(df: pd.DataFrame, dictionary: Dictionary) -> pd.DataFrame:
    """``df``'s dictionary columns in their typed form (cells that fail: missing)."""
    out = {}
    for var in dictionary.variables:
        col = df[var.name].reset_index(drop=True)
        if var.type is VariableType.DATE:
            out[var.name] = pd.to_datetime(col, errors="coerce").astype("datetime64[ns]")
        elif str(col.dtype) == typed_dtype(var) and var.type.has_categories:
            out[var.name] = col.where(col.isin(var.categories)).astype("string")
        elif str(col.dtype) == typed_dtype(var):
            out[var.name] = col  # already typed (a harmonised frame)
        else:
            out[var.name] = parse_column(_text(col), var).values
    return pd.DataFrame(out)


def _compact(metric: dict[str, Any]) -> dict[str, Any]:
    """A metric's result without the per-value data (curves, marginals) of its details."""
    details = metric.get("details") or {}
    match metric["name"]:
        case "column_distance":
            details = {"columns": details.get("columns", [])}
        case "pairwise_tvd":
            details = {k: details[k] for k in ("n_pairs", "worst_pairs", "per_column", "note")
                       if k in details}
        case "km_distance":
            # rows left out: those of a pair with missing outcomes count the suppressed
            # records with a missing time or event
            details = {"pairs": [{k: p[k] for k in ("time", "event", "label", "km_distance")}
                                 for p in details.get("pairs", [])]}
        case "km_risk_group_distance":
            # no per-group row counts: the groups split the input, suppressed records
            # included, so input minus release rows gave the suppressed patients' split over
            # the prognostic groups exactly (what the rounding of the figures hides)
            details = {"pairs": [{"time": p["time"], "event": p["event"],
                                  "cox_covariates": p["cox_covariates"],
                                  "groups": {g: {"km_distance": v["km_distance"]}
                                             for g, v in p["groups"].items()}}
                                 for p in details.get("pairs", [])]}
        case _:
            pass
    return metric | {"details": details,
                     "description": DESCRIPTIONS.get(metric["name"], metric["description"])}


def _cindex(frame: pd.DataFrame, d: Dictionary, pair, folds: np.ndarray, seed: int) -> float:
    """Mean over two folds of Harrell's C of a Cox model fitted on the other fold."""
    ctx = EvaluationContext(d, random_state=seed)
    _, cols = feature_columns(ctx, frame, [pair.time, pair.event])
    x = ctx.encode(frame, frame)
    t = numeric_values(frame[pair.time], d[pair.time])
    e = numeric_values(frame[pair.event], d[pair.event])
    ok = ~(np.isnan(t) | np.isnan(e))
    x, t, e, folds = x[ok], t[ok], e[ok].astype(bool), folds[ok]
    k = min(MAX_COX_COVARIATES, len(cols))
    out = []
    for fold in (0, 1):
        train, test = folds != fold, folds == fold
        if not e[train].any() or not e[test].any():
            raise SynthemaError(f"too few events of '{pair.event}' for a two-fold C-index",
                                fix="release more records")
        model = fit_cox(x[train], t[train], e[train],
                        cols[cox_screen(x[train][:, cols], t[train], e[train], k)])
        out.append(concordance_index(t[test], model.risk(x[test]), e[test]))
    return float(np.mean(out))


def generalisation_cindex(exact: pd.DataFrame, released: pd.DataFrame, *,
                          release: Dictionary, dictionary: Dictionary,
                          generalised: Collection[str], random_state: int = 0
                          ) -> dict[str, Any] | None:
    """C-index lost by fitting the Cox model on generalised instead of exact values.

    ``exact`` and ``released`` are the same records (the release, before and after
    generalisation); ``release`` types the released frame (:func:`release_dictionary`),
    ``dictionary`` the exact values. Returns a metric dict shaped like
    ``MetricResult.to_dict()`` (judged as evaluate's ``cindex_gap``), or None when no survival
    pair is released or no quasi-identifier can enter both models.
    """
    dates = {v.name for v in release.variables if v.name in dictionary
             and dictionary[v.name].type is VariableType.DATE}
    both = [v for v in release.variables
            if v.name not in dates and (v.name not in generalised or v.name in dictionary)]
    if not release.survival or not any(v.name in generalised for v in both):
        return None
    names = [v.name for v in both]
    gen_d = Dictionary(name=release.name, version="1", variables=tuple(both),
                       survival=release.survival, rules=release.rules)
    exact_d = Dictionary(name=dictionary.name, version="1", variables=tuple(
        dictionary[v.name] if v.name in generalised else v for v in both),
        survival=release.survival, rules=release.rules)
    rng = np.random.default_rng(random_state)
    rows = np.arange(len(released))
    if len(rows) > MAX_CINDEX_ROWS:
        rows = np.sort(rng.choice(len(rows), size=MAX_CINDEX_ROWS, replace=False))
    folds = rng.integers(2, size=len(rows))
    ex = typed(exact[names].iloc[rows], exact_d)
    ge = typed(released[names].iloc[rows], gen_d)
    pairs, error = [], None
    try:
        for pair in release.survival:
            c_exact = _cindex(ex, exact_d, pair, folds, random_state)
            c_gen = _cindex(ge, gen_d, pair, folds, random_state)
            pairs.append({"time": pair.time, "event": pair.event,
                          "exact_cindex": round(c_exact, 6),
                          "generalised_cindex": round(c_gen, 6)})
        value = float(np.mean([p["exact_cindex"] - p["generalised_cindex"] for p in pairs]))
    except SynthemaError as exc:
        value, error = float("nan"), exc.message
    except Exception as exc:  # noqa: BLE001 - like evaluate: a failing figure is reported
        _LOG.exception("the generalisation C-index failed")
        value, error = float("nan"), f"{type(exc).__name__}: {exc}"
    m = CIndexGap
    return {"name": "cindex_gap_generalisation", "group": "utility", "value": finite(value),
            "score": finite(m.normalize(value)), "status": m.status(value), "seconds": None,
            "error": error, "unit": m.unit, "goal": m.goal.value, "min_value": m.min_value,
            "max_value": m.max_value,
            "thresholds": {"pass": m.thresholds[0], "warn": m.thresholds[1]},
            "description": "Harrell's C of a Cox model on the exact quasi-identifiers minus on "
                           "the generalised ones (released records, 2 folds), mean over "
                           "survival pairs; thresholds of evaluate's cindex_gap",
            "details": {"pairs": pairs, "records": len(rows), "folds": 2,
                        "generalised_covariates": [n for n in names if n in generalised]}}


def band_starts(labels: pd.Series) -> pd.Series:
    """The lower bound of each interval label (``360-719``, ``1080+``, ``[0.5, 1)``), as text.

    A duration released in bands stays a number in the comparison (its band's start, on both
    sides), so a survival pair whose time is banded still gets its Kaplan-Meier figures.
    ``*`` (withheld) becomes missing.

    >>> band_starts(pd.Series(["360-719", "1080+", "[0.5, 1)", "*", None])).tolist()
    ['360', '1080', '0.5', <NA>, <NA>]
    """
    text = labels.astype("string").str.strip()
    start = text.str.extract(r"^\[?\s*(-?[\d.]+)", expand=False)
    return start.astype("string")


def utility_check(transformed: pd.DataFrame, kept: np.ndarray, *, columns: Sequence[str],
                  generalised: Mapping[str, str] | None = None, changed: Collection[str] = (),
                  dictionary: Dictionary | None = None, exact: pd.DataFrame | None = None,
                  bands: Collection[str] = (), max_rows: int = MAX_ROWS,
                  random_state: int = 0) -> dict[str, Any]:
    """Evaluate's metrics between the transformed input and the release, on ``columns``.

    Args:
        transformed: every input record through the release's transformations (dates,
            generalisation levels); the release is ``transformed[kept]``.
        kept: a boolean per record, True when it was released (not suppressed).
        columns: the released columns to compare (pseudonyms left out).
        generalised: quasi-identifier columns and their hierarchy type.
        changed: columns whose values the pipeline transformed (dates).
        dictionary: the data dictionary of the input, if known.
        exact: every input record before generalisation; with ``dictionary``, adds the
            C-index cost of generalisation (:func:`generalisation_cindex`).
        bands: durations of the dictionary released in interval bands; compared as the
            band's start with their dictionary type (:func:`band_starts`).
        max_rows: above this many records, a random sample of records is compared (the
            same records on both sides: the sample's released records are the release).
        random_state: seed of the sample, the folds and the models.

    Returns:
        A JSON-ready dict: ``tvd`` (per column, over evaluate's public bins) and its mean
        ``mean_tvd``, ``metrics`` (each metric's value, score, status, thresholds and compact
        details), ``skipped`` columns with why, and what was compared.
    """
    kept = np.asarray(kept, dtype=bool)
    rows = np.arange(len(transformed))
    if len(rows) > max_rows:
        rng = np.random.default_rng(random_state)
        rows = np.sort(rng.choice(len(rows), size=max_rows, replace=False))
    original = transformed.iloc[rows].reset_index(drop=True)
    for col in bands:
        if col in original:
            original[col] = band_starts(original[col])
    released = original[kept[rows]].reset_index(drop=True)
    d, skipped = release_dictionary(original, released, columns, generalised=generalised,
                                    changed=changed, dictionary=dictionary)
    out: dict[str, Any] = {"compared": COMPARED, "dictionary": d.name if d else None,
                           "records": {"input": len(original), "release": len(released),
                                       "sampled": len(rows) < len(transformed)},
                           "skipped": skipped}
    if d is None or not len(released):
        note = "nothing was released" if not len(released) else "no column to compare"
        return out | {"tvd": {}, "mean_tvd": None, "metrics": [], "note": note}
    names = list(METRICS) + (list(SURVIVAL_METRICS) if d.survival else [])
    report = EvaluationReport(d, metrics=names, random_state=random_state).generate(
        typed(original, d), typed(released, d))
    metrics = [_compact(report.to_dict()["metrics"][n]) for n in names]
    marginals = report.get_details("column_distance").get("marginals", {})
    per = {c: round(tvd(np.asarray(m["real"], dtype=float),
                        np.asarray(m["synthetic"], dtype=float)), 6)
           for c, m in marginals.items()}
    if not d.survival:
        out["survival"] = "no survival pair of the dictionary is released unchanged"
    elif exact is not None and dictionary is not None:
        exact_rel = exact.iloc[rows][kept[rows]].reset_index(drop=True)
        for col in bands:  # the same (banded) outcome on both sides: the gap is the covariates'
            if col in exact_rel:
                exact_rel[col] = released[col]
        cindex = generalisation_cindex(exact_rel, released, release=d, dictionary=dictionary,
                                       generalised=list(generalised or {}),
                                       random_state=random_state)
        if cindex is not None:
            metrics.append(cindex)
    return out | {"tvd": per, "mean_tvd": round(float(np.mean(list(per.values()))), 6),
                  "metrics": metrics}
