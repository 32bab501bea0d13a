"""Utility measures and the anonymisation report (JSON and a self-contained HTML section).

Utility is checked column by column as the total variation distance (TVD, half the L1
distance between value shares) between the input and the release on each released column.
Quasi-identifiers are compared at the level they were released at, so their TVD measures
what suppression changed; numbers with more than 20 distinct values are compared in 10
equal-width bins over the input's range.

>>> tvd(pd.Series(["a", "a", "b", "b"]), pd.Series(["a", "a", "a", "b"]))
0.25
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

_BINS = 10
_MAX_EXACT = 20


def tvd(original: pd.Series, released: pd.Series) -> float:
    """Total variation distance between two columns' value shares (missing is a value)."""
    a, b = original.reset_index(drop=True), released.reset_index(drop=True)
    num_a = pd.to_numeric(a.astype("string"), errors="coerce") if not a.empty else a
    numeric = (not pd.api.types.is_bool_dtype(a) and num_a.notna().sum() == a.notna().sum()
               and a.notna().any() and a.nunique() > _MAX_EXACT)
    if numeric:
        num_b = pd.to_numeric(b.astype("string"), errors="coerce")
        edges = np.linspace(float(num_a.min()), float(num_a.max()), _BINS + 1)
        a = pd.cut(num_a.astype("float64"), edges, include_lowest=True).astype("string")
        b = pd.cut(num_b.astype("float64"), edges, include_lowest=True).astype("string")
    pa = a.astype("string").fillna("<NA>").value_counts(normalize=True)
    pb = b.astype("string").fillna("<NA>").value_counts(normalize=True)
    if pb.empty:
        return 1.0
    both = pa.index.union(pb.index)
    diff = pa.reindex(both, fill_value=0.0) - pb.reindex(both, fill_value=0.0)
    return round(float(0.5 * diff.abs().sum()), 6)


def utility(original: pd.DataFrame, released: pd.DataFrame, columns: list[str]) -> dict:
    """Per-column TVD on ``columns`` and their mean."""
    per = {c: tvd(original[c], released[c]) for c in columns}
    mean = round(float(np.mean(list(per.values()))), 6) if per else 0.0
    return {"tvd": per, "mean_tvd": mean}


def write_report(report: dict[str, Any], directory: str | Path) -> list[Path]:
    """Write ``anonymization.json`` and ``anonymization.html`` into ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / "anonymization.json"
    json_path.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    html_path = directory / "anonymization.html"
    html_path.write_text(render_html(report), encoding="utf-8")
    return [json_path, html_path]


def _table(rows: list[tuple[Any, ...]], header: tuple[str, ...]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>"
        for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(report: dict[str, Any]) -> str:
    """A self-contained HTML page with one ``<section id="anonymization">``."""
    models = report["models"]
    ach = report["achieved"]
    risk_rows = []
    for stage in ("before", "after"):
        r = report["risk"][stage]
        for model in ("prosecutor", "journalist"):
            m = r[model]
            risk_rows.append((stage, model, m["highest"], m["average"], m["above_threshold"]))
        risk_rows.append((stage, "marketer", "", r["marketer"]["average"], ""))
    loss = report["information_loss"]
    parts = [
        "<section id=\"anonymization\">",
        f"<h2>Anonymisation: {html.escape(report['policy'])}</h2>",
        f"<p>{html.escape(report.get('purpose') or '')}</p>",
        "<h3>Privacy models</h3>",
        _table([(name, models.get(name), ach.get(key)) for name, key in
                (("k", "k"), ("l", "l_distinct"), ("l (entropy)", "l_entropy"), ("t", "t"))],
               ("model", "required", "achieved")),
        "<h3>Re-identification risk</h3>",
        f"<p>{html.escape(report['risk']['after']['population'])}; threshold "
        f"{report['risk']['after']['threshold']}.</p>",
        _table(risk_rows, ("data", "attacker", "highest", "average", "share above threshold")),
        "<h3>Information loss</h3>",
        _table([(k, v) for k, v in loss.items()], ("measure", "value")),
        "<h3>Generalisation</h3>",
        _table([(c, v) for c, v in report["generalisation"].items()], ("column", "level")),
        "<h3>Utility (TVD, input vs release)</h3>",
        _table(list(report["utility"]["tvd"].items()), ("column", "TVD")),
        "<h3>Columns removed</h3>",
        _table(list(report["removed"].items()), ("column", "reason")),
        "</section>",
    ]
    style = ("body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;"
             "margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}")
    return ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Anonymisation report"
            f"</title><style>{style}</style></head><body>{''.join(parts)}</body></html>\n")
