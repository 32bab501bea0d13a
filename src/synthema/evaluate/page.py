"""The page every synthema HTML report shares: style, header, scorecard, plotly.js inlined.

The templates are Jinja2 files shipped as package data: ``templates/base.html`` (blocks
``title``, ``heading``, ``subtitle``, ``main``, ``data``, ``script``), ``templates/macros.html``
(tiles, the scorecard table) and ``templates/style.css`` here; each report keeps its own
templates in its package's ``templates/`` folder (``report.html`` and one template per section
in :mod:`synthema.evaluate`, ``anonymization.html`` and its sections in
:mod:`synthema.anonymize`). A report renders each section with :func:`render_section` and the
page with :func:`render_page`, which inlines plotly.js and the figures, so the page needs no
network. Figures are plain Plotly JSON (``{"data", "layout"}``) keyed by the id of the
``<div class="plot">`` that shows them. Every string is HTML-escaped.

>>> rows, totals = scorecard([{"name": "k", "group": "privacy", "value": 5, "unit": "",
...     "goal": "maximize", "thresholds": {"pass": 5, "warn": 5}, "score": None,
...     "status": "pass", "description": "smallest class"}])
>>> rows[0][0], rows[0][1][0]["pass_if"], totals["pass"]
('privacy', '≥ 5', 1)
>>> fmt(0.000123), fmt(None), fmt_score(0.5), fmt_score(0.4999)
('1.23e-04', '—', '50', '49')
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
from collections.abc import Iterable, Sequence
from importlib import resources
from typing import Any

from markupsafe import Markup, escape

STATUSES = ("pass", "warn", "fail", "error")

TEMPLATES = "templates"
"""The package folder of the templates (``base.html``, ``macros.html``, ``style.css`` here)."""


def _template_text(name: str) -> str:
    return (resources.files("synthema.evaluate") / TEMPLATES / name).read_text(encoding="utf-8")


CSS = _template_text("style.css")
"""The style every report page inlines."""


def fmt(v: Any) -> str:
    """A number as the reports show it (4 significant digits; '—' for missing)."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.2e}"
    return str(v)


def fmt_score(v: Any) -> str:
    """A [0, 1] score as 0–100, rounded down ('—' for none): a failing score never reads 50."""
    return "—" if v is None else f"{math.floor(100 * v + 1e-9):.0f}"  # 0.4999 is 49, not 50


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, numeric: Sequence[int] = ()
          ) -> Markup:
    """An escaped HTML table; columns listed in ``numeric`` are right-aligned."""
    head = "".join(f"<th class=\"num\">{escape(h)}</th>" if i in numeric else
                   f"<th>{escape(h)}</th>" for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(
            f"<td class=\"num\">{escape(fmt(c))}</td>" if i in numeric else
            f"<td>{escape(fmt(c))}</td>" for i, c in enumerate(r)) + "</tr>"
        for r in rows)
    return Markup(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def layout(title: str, **extra: Any) -> dict:
    """The Plotly layout every report figure starts from."""
    return {"title": {"text": title, "font": {"size": 13}, "x": 0.01, "xanchor": "left",
                      "y": 0.98, "yanchor": "top"},
            "margin": {"l": 50, "r": 10, "t": 58, "b": 60},
            "legend": {"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom",
                       "font": {"size": 11}}} | extra


def json_script(obj: Any) -> Markup:
    """JSON safe to put inside a ``<script type="application/json">`` element."""
    text = json.dumps(obj, allow_nan=False, separators=(",", ":"))
    return Markup(text.replace("</", "<\\/").replace("<!--", "<\\!--"))


def _threshold(sign: str, value: Any, used: Any = None) -> str:
    """The documented limit, and the one used at this data size when it differs."""
    if value is None:
        return "—"
    if used is None or fmt(used) == fmt(value):
        return f"{sign} {fmt(value)}"
    return f"{sign} {fmt(value)} (here {fmt(used)})"


def _rows_used(rows: Any) -> str:
    """``rows_used`` of a metric's details as a short phrase (nested counts flattened)."""
    if not isinstance(rows, dict):
        return ""
    parts = []
    for key, v in rows.items():
        if isinstance(v, dict):
            inner = _rows_used(v)
            if inner:
                parts.append(f"{key}: {inner}")
        elif isinstance(v, int | float) and not isinstance(v, bool):
            parts.append(f"{key.replace('_', ' ')} {fmt(v)}")
    return ", ".join(parts)


def scorecard(metrics: Iterable[dict]) -> tuple[list[tuple[str, list[dict]]], dict[str, int]]:
    """Scorecard rows grouped in order of first appearance, and counts per status.

    Each metric is a dict shaped like ``MetricResult.to_dict()``: ``name``, ``group``,
    ``value``, ``unit``, ``goal``, ``thresholds`` (``pass``, ``warn``), ``score``, ``status``
    (``pass``/``warn``/``fail``/``error``, or empty for a figure without thresholds),
    ``description`` and ``error``.
    """
    by_group: dict[str, list[dict]] = {}
    totals = dict.fromkeys(STATUSES, 0)
    for m in metrics:
        limits = m.get("thresholds") or {}
        used = m.get("limits") or {}
        sign = "≥" if m.get("goal") == "maximize" else "≤"
        by_group.setdefault(m["group"], []).append({
            "name": m["name"], "value": m.get("value"), "unit": m.get("unit", ""),
            "pass_if": _threshold(sign, limits.get("pass"), used.get("pass")),
            "warn_if": _threshold(sign, limits.get("warn"), used.get("warn")),
            "score": m.get("score"), "status": m.get("status") or "",
            "description": m.get("description", ""), "error": m.get("error"),
            "basis": used.get("basis") or "",
            "rows": _rows_used((m.get("details") or {}).get("rows_used"))})
        if m.get("status") in totals:
            totals[m["status"]] += 1
    return list(by_group.items()), totals


@functools.cache
def _environment(package: str) -> Any:
    """Templates of ``package`` first, then the shared ones; autoescape, strict undefined."""
    import jinja2

    loader = jinja2.ChoiceLoader([jinja2.PackageLoader(package, TEMPLATES),
                                  jinja2.PackageLoader("synthema.evaluate", TEMPLATES)])
    env = jinja2.Environment(loader=loader, autoescape=True,
                             undefined=jinja2.StrictUndefined)  # fmt: skip
    env.globals.update(fmt=fmt, fmt_score=fmt_score)
    return env


def render_section(template: str, *, package: str = "synthema.evaluate",
                   **context: Any) -> Markup:
    """One section of a page (an escaped HTML fragment) from ``package``'s templates."""
    return Markup(_environment(package).get_template(template).render(**context))


def render_page(template: str, *, figures: dict[str, dict], version: str = "",
                package: str = "synthema.evaluate", **context: Any) -> str:
    """Render a page template that extends ``base.html`` (plotly.js and ``figures`` inlined)."""
    from plotly.offline import get_plotlyjs

    return _environment(package).get_template(template).render(
        css=Markup(CSS), plotly_js=Markup(get_plotlyjs()), figures_json=json_script(figures),
        created=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), version=version,
        **context)
