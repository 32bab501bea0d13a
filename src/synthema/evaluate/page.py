# ruff: noqa: E501 - HTML and CSS lines
"""The page every synthema HTML report shares: style, header, scorecard, plotly.js inlined.

``report.html`` (:mod:`synthema.evaluate.html`) and ``anonymization.html``
(:mod:`synthema.anonymize.report`) are Jinja2 templates that extend :data:`BASE` (blocks
``title``, ``heading``, ``subtitle``, ``main``, ``script``) and import the scorecard macros
from :data:`MACROS`; :func:`render_page` renders one with plotly.js and its figures inlined,
so the page needs no network. Figures are plain Plotly JSON (``{"data", "layout"}``) keyed
by the id of the ``<div class="plot">`` that shows them. Every string is HTML-escaped.

>>> rows, totals = scorecard([{"name": "k", "group": "privacy", "value": 5, "unit": "",
...     "goal": "maximize", "thresholds": {"pass": 5, "warn": 5}, "score": None,
...     "status": "pass", "description": "smallest class"}])
>>> rows[0][0], rows[0][1][0]["pass_if"], totals["pass"]
('privacy', '≥ 5', 1)
>>> fmt(0.000123), fmt(None), fmt_score(0.5)
('1.23e-04', '—', '50')
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

from markupsafe import Markup, escape

STATUSES = ("pass", "warn", "fail", "error")

CSS = """
:root { --pass:#1b7f3b; --warn:#b26a00; --fail:#b3261e; --error:#6b6b6b; --ink:#1d2330;
        --muted:#5f6b7a; --line:#dfe3ea; --real:#2f6db5; --syn:#e07b28; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; margin: 0;
       color: var(--ink); background: #f6f7f9; }
header { background: #1d2330; color: #fff; padding: 16px 28px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header p { margin: 0; color: #c9d1dd; font-size: 13px; }
main { padding: 18px 28px 40px; max-width: 1400px; margin: auto; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px;
          padding: 14px 18px; margin-bottom: 18px; }
h2 { font-size: 18px; margin: 4px 0 12px; }
h3 { font-size: 15px; margin: 14px 0 8px; }
.tiles { display: grid; grid-template-columns: repeat(5, 1fr); gap: 12px; margin-bottom: 14px; }
.tile { border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; background: #fbfcfd; }
.tile .label { font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
.tile .value { font-size: 26px; font-weight: 650; }
.tile .counts { font-size: 12px; color: var(--muted); }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #f0f2f5; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.badge { display: inline-block; min-width: 44px; text-align: center; border-radius: 10px;
         padding: 1px 8px; color: #fff; font-size: 12px; font-weight: 600; }
.pass { background: var(--pass); } .warn { background: var(--warn); }
.fail { background: var(--fail); } .error { background: var(--error); }
.grouprow td { background: #f8f9fb; font-weight: 600; text-transform: capitalize; }
.muted { color: var(--muted); font-size: 12px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(400px, 1fr)); gap: 10px; }
.plot { width: 100%; height: 300px; }
.plot.tall { height: 560px; }
.err { color: var(--fail); font-size: 12px; }
select { font-size: 13px; padding: 2px 4px; }
#js-errors { display: none; color: #fff; background: var(--fail); padding: 8px 28px; }
"""

BASE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{% block title %}{% endblock %}</title>
<style>{{ css }}</style>
</head>
<body>
<div id="js-errors"></div>
<header>
  <h1>{% block heading %}{% endblock %}</h1>
  <p>{% block subtitle %}{% endblock %}</p>
</header>
<main>
{% block main %}{% endblock %}
</main>
<script>
window.addEventListener("error", function (e) {
  var box = document.getElementById("js-errors");
  box.style.display = "block";
  box.textContent = "report script error: " + e.message;
});
</script>
<script>{{ plotly_js }}</script>
<script id="figures" type="application/json">{{ figures_json }}</script>
{% block data %}{% endblock %}
<script>
(function () {
  var figs = JSON.parse(document.getElementById("figures").textContent);
  var config = {displaylogo: false, responsive: true, displayModeBar: false};
  Object.keys(figs).forEach(function (id) {
    var el = document.getElementById(id);
    if (el) { Plotly.newPlot(el, figs[id].data, figs[id].layout, config); }
  });
})();
</script>
{% block script %}{% endblock %}
</body>
</html>
"""

MACROS = r"""
{% macro tile(label, value, counts="") -%}
<div class="tile"><div class="label">{{ label }}</div>
  <div class="value">{{ value }}</div>
  <div class="counts">{{ counts }}</div></div>
{%- endmacro %}

{% macro scorecard_table(groups) -%}
<table>
  <thead><tr><th>Metric</th><th>Value</th><th>Unit</th><th>Pass if</th><th>Warn if</th>
    <th>Score</th><th>Status</th><th>What it measures</th></tr></thead>
  <tbody>
  {% for group, rows in groups %}
    <tr class="grouprow"><td colspan="8">{{ group }}</td></tr>
    {% for m in rows %}
    <tr><td>{{ m.name }}</td><td class="num">{{ fmt(m.value) }}</td><td>{{ m.unit }}</td>
      <td class="num">{{ m.pass_if }}</td><td class="num">{{ m.warn_if }}</td>
      <td class="num">{{ fmt_score(m.score) }}</td>
      <td>{% if m.status %}<span class="badge {{ m.status }}">{{ m.status }}</span>{% else %}&mdash;{% endif %}</td>
      <td>{{ m.description }}{% if m.error %}<div class="err">{{ m.error }}</div>{% endif %}</td></tr>
    {% endfor %}
  {% endfor %}
  </tbody>
</table>
{%- endmacro %}
"""


def fmt(v: Any) -> str:
    """A number as the reports show it (4 significant digits; '—' for missing)."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.2e}"
    return str(v)


def fmt_score(v: Any) -> str:
    """A [0, 1] score as 0–100 ('—' for none)."""
    return "—" if v is None else f"{100 * v:.0f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, numeric: Sequence[int] = ()
          ) -> Markup:
    """An escaped HTML table; columns listed in ``numeric`` are right-aligned."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
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


def _threshold(sign: str, value: Any) -> str:
    return "—" if value is None else f"{sign} {fmt(value)}"


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
        sign = "≥" if m.get("goal") == "maximize" else "≤"
        by_group.setdefault(m["group"], []).append({
            "name": m["name"], "value": m.get("value"), "unit": m.get("unit", ""),
            "pass_if": _threshold(sign, limits.get("pass")),
            "warn_if": _threshold(sign, limits.get("warn")),
            "score": m.get("score"), "status": m.get("status") or "",
            "description": m.get("description", ""), "error": m.get("error")})
        if m.get("status") in totals:
            totals[m["status"]] += 1
    return list(by_group.items()), totals


def render_page(template: str, *, figures: dict[str, dict], version: str = "",
                **context: Any) -> str:
    """Render a template that extends ``base.html`` (plotly.js and ``figures`` inlined)."""
    import jinja2
    from plotly.offline import get_plotlyjs

    env = jinja2.Environment(
        loader=jinja2.DictLoader({"base.html": BASE, "macros.html": MACROS}),
        autoescape=True, undefined=jinja2.StrictUndefined)
    env.globals.update(fmt=fmt, fmt_score=fmt_score)
    return env.from_string(template).render(
        css=Markup(CSS), plotly_js=Markup(get_plotlyjs()), figures_json=json_script(figures),
        created=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), version=version,
        **context)
