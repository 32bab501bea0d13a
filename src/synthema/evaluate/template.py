# ruff: noqa: E501 - HTML lines
"""The Jinja2 template of ``report.html``: one file, plotly.js inlined, no network.

It extends the page all synthema reports share (:mod:`synthema.evaluate.page`: style,
header, scorecard macros, plotly.js and the figure-drawing script). Kept as a Python string
so the package ships it without package-data rules.
"""

TEMPLATE = r"""{% extends "base.html" %}
{% from "macros.html" import scorecard_table, tile %}
{% block title %}synthema evaluation: {{ meta.dictionary.name }}{% endblock %}
{% block heading %}Synthetic data evaluation &mdash; {{ meta.dictionary.name }} v{{ meta.dictionary.version }}{% endblock %}
{% block subtitle %}{{ meta.rows.real }} real training rows &middot; {{ meta.rows.holdout }} real holdout rows &middot;
     {{ meta.rows.synthetic }} synthetic rows &middot; {{ meta.dictionary.variables }} variables &middot;
     generated {{ created }} by synthema {{ version }} in {{ meta.seconds }} s{% endblock %}
{% block main %}
<section id="scorecard">
  <h2>Scorecard</h2>
  <div class="tiles">
    {{ tile("Overall score", fmt_score(score), totals.pass ~ " pass · " ~ totals.warn ~ " warn · " ~ totals.fail ~ " fail · " ~ totals.error ~ " error") }}
    {% for name, g in groups.items() %}
    {{ tile(name, fmt_score(g.score), g.pass ~ " pass · " ~ g.warn ~ " warn · " ~ g.fail ~ " fail" ~ (" · " ~ g.error ~ " error" if g.error else "")) }}
    {% endfor %}
  </div>
  {{ scorecard_table(scorecard) }}
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
{% endblock %}
{% block data %}<script id="marginals" type="application/json">{{ marginals_json }}</script>{% endblock %}
{% block script %}
<script>
(function () {
  var marg = JSON.parse(document.getElementById("marginals").textContent);
  var config = {displaylogo: false, responsive: true, displayModeBar: false};
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
{% endblock %}
"""
