# ruff: noqa: E501 - HTML and CSS lines
"""The Jinja2 template of ``report.html``: one file, plotly.js inlined, no network.

Kept as a Python string so the package ships it without package-data rules.
"""

TEMPLATE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>synthema evaluation: {{ meta.dictionary.name }}</title>
<style>
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
</style>
</head>
<body>
<div id="js-errors"></div>
<header>
  <h1>Synthetic data evaluation &mdash; {{ meta.dictionary.name }} v{{ meta.dictionary.version }}</h1>
  <p>{{ meta.rows.real }} real training rows &middot; {{ meta.rows.holdout }} real holdout rows &middot;
     {{ meta.rows.synthetic }} synthetic rows &middot; {{ meta.dictionary.variables }} variables &middot;
     generated {{ created }} by synthema {{ version }} in {{ meta.seconds }} s</p>
</header>
<main>
<section id="scorecard">
  <h2>Scorecard</h2>
  <div class="tiles">
    <div class="tile"><div class="label">Overall score</div>
      <div class="value">{{ fmt_score(score) }}</div>
      <div class="counts">{{ totals.pass }} pass &middot; {{ totals.warn }} warn &middot;
        {{ totals.fail }} fail &middot; {{ totals.error }} error</div></div>
    {% for name, g in groups.items() %}
    <div class="tile"><div class="label">{{ name }}</div>
      <div class="value">{{ fmt_score(g.score) }}</div>
      <div class="counts">{{ g.pass }} pass &middot; {{ g.warn }} warn &middot; {{ g.fail }} fail
        {%- if g.error %} &middot; {{ g.error }} error{% endif %}</div></div>
    {% endfor %}
  </div>
  <table>
    <thead><tr><th>Metric</th><th>Value</th><th>Unit</th><th>Pass if</th><th>Warn if</th>
      <th>Score</th><th>Status</th><th>What it measures</th></tr></thead>
    <tbody>
    {% for group, rows in scorecard %}
      <tr class="grouprow"><td colspan="8">{{ group }}</td></tr>
      {% for m in rows %}
      <tr><td>{{ m.name }}</td><td class="num">{{ fmt(m.value) }}</td><td>{{ m.unit }}</td>
        <td class="num">{{ m.pass_if }}</td><td class="num">{{ m.warn_if }}</td>
        <td class="num">{{ fmt_score(m.score) }}</td>
        <td><span class="badge {{ m.status }}">{{ m.status }}</span></td>
        <td>{{ m.description }}{% if m.error %}<div class="err">{{ m.error }}</div>{% endif %}</td></tr>
      {% endfor %}
    {% endfor %}
    </tbody>
  </table>
  <p class="muted">Scores are each metric normalised to [0, 1] (1 best); thresholds are documented in
    docs/evaluate.md. Every number is also in report.json.</p>
</section>

<section id="fidelity">
  <h2>Fidelity</h2>
  {% if marginal_columns %}
  <h3>Marginals, real vs synthetic (the {{ worst_columns|length }} columns that differ most)</h3>
  <div class="grid">{% for fig in marginal_figs %}<div class="plot" id="{{ fig }}"></div>{% endfor %}</div>
  <h3>Any column</h3>
  <select id="column-picker" aria-label="column">
    {% for c in marginal_columns %}<option value="{{ c }}">{{ c }}</option>{% endfor %}
  </select>
  <div class="plot" id="marginal-any"></div>
  {% endif %}
  {% if has_heatmap %}
  <h3>Association difference (real &minus; synthetic)</h3>
  <div class="plot tall" id="heatmap"></div>
  {% endif %}
  {% for title, table in fidelity_tables %}
  <h3>{{ title }}</h3>{{ table }}
  {% endfor %}
</section>

<section id="utility">
  <h2>Utility</h2>
  {% for t in utility_tables %}{{ t }}{% endfor %}
  {% if km_figs %}
  <h3>Kaplan&ndash;Meier curves, real vs synthetic</h3>
  <div class="grid">{% for fig in km_figs %}<div class="plot" id="{{ fig }}"></div>{% endfor %}</div>
  {% endif %}
</section>

<section id="privacy">
  <h2>Privacy</h2>
  <div class="grid">{% for fig in privacy_figs %}<div class="plot" id="{{ fig }}"></div>{% endfor %}</div>
  {% for t in privacy_tables %}{{ t }}{% endfor %}
</section>

<section id="clinical">
  <h2>Clinical plausibility</h2>
  {% for t in clinical_tables %}{{ t }}{% endfor %}
</section>
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
<script id="marginals" type="application/json">{{ marginals_json }}</script>
<script>
(function () {
  var figs = JSON.parse(document.getElementById("figures").textContent);
  var marg = JSON.parse(document.getElementById("marginals").textContent);
  var config = {displaylogo: false, responsive: true, displayModeBar: false};
  Object.keys(figs).forEach(function (id) {
    var el = document.getElementById(id);
    if (el) { Plotly.newPlot(el, figs[id].data, figs[id].layout, config); }
  });
  var picker = document.getElementById("column-picker");
  function showMarginal(name) {
    var m = marg[name];
    if (!m) { return; }
    Plotly.react("marginal-any", [
      {type: "bar", name: "real", x: m.labels, y: m.real, marker: {color: "#2f6db5"}},
      {type: "bar", name: "synthetic", x: m.labels, y: m.synthetic, marker: {color: "#e07b28"}}
    ], {title: {text: name, font: {size: 13}, x: 0.01, xanchor: "left"}, barmode: "group",
        margin: {l: 48, r: 10, t: 58, b: 70}, yaxis: {title: {text: "share"}},
        legend: {orientation: "h", x: 0, y: 1.0, yanchor: "bottom"}}, config);
  }
  if (picker) {
    picker.addEventListener("change", function () { showMarginal(picker.value); });
    showMarginal(picker.value);
  }
})();
</script>
</body>
</html>
"""
