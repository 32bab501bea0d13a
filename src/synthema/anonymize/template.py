# ruff: noqa: E501 - HTML lines
"""The Jinja2 template of ``anonymization.html``.

It extends the page all synthema reports share (:mod:`synthema.evaluate.page`: style,
header, tiles, scorecard table, plotly.js and the figure-drawing script), like the
evaluation report's template does.
"""

TEMPLATE = r"""{% extends "base.html" %}
{% from "macros.html" import scorecard_table, tile %}
{% block title %}synthema anonymisation: {{ r.policy }}{% endblock %}
{% block heading %}Anonymisation &mdash; {{ r.policy }}{% endblock %}
{% block subtitle %}{{ r.records_out }} of {{ r.records_in }} records released &middot;
  {{ r.columns_out|length }} columns &middot; k={{ r.models.k }}
  {%- if r.models.l %}, l={{ r.models.l }} ({{ r.models.l_variant }}){% endif %}
  {%- if r.models.t is not none %}, t={{ r.models.t }}{% endif %} &middot;
  generated {{ created }} by synthema {{ version }}{% endblock %}
{% block main %}
<section id="anonymization">
  <h2>Scorecard</h2>
  {% if r.purpose %}<p>Purpose: {{ r.purpose }}</p>{% endif %}
  <div class="tiles">
    {{ tile("Records released", r.records_out, "of " ~ r.records_in ~ " · " ~ r.information_loss.suppressed_records ~ " suppressed") }}
    {{ tile("Achieved k", fmt(r.achieved.k), "required " ~ r.models.k) }}
    {{ tile("Highest risk", fmt(r.risk.after.prosecutor.highest), "prosecutor · threshold " ~ fmt(r.risk.after.threshold)) }}
    {{ tile("Utility", fmt_score(utility_score), utility_counts ~ " · input vs release, same levels") }}
    {{ tile("Checks", totals.pass ~ " pass", totals.warn ~ " warn · " ~ totals.fail ~ " fail · " ~ totals.error ~ " error") }}
  </div>
  {{ scorecard_table(card) }}
  <p class="muted">Privacy models pass when the policy's values are met; risks pass at or below the
    policy's threshold and warn up to {{ risk_warn }}; utility thresholds are those of docs/evaluate.md.
    Definitions in docs/anonymize.md. Every number is also in anonymization.json.</p>
</section>

<section id="risk">
  <h2>Re-identification risk</h2>
  <p>{{ r.risk.after.population }}; a record is above the threshold when its risk exceeds
    {{ fmt(r.risk.after.threshold) }}.</p>
  <div class="plot" id="risk-fig"></div>
  {{ risk_table }}
  {% if singled_table %}<h3>Released columns that single out records with the quasi-identifiers</h3>
  <p class="muted">An attacker who can learn such a column (a subtype, a treatment) matches on it too; it belongs under quasi_identifiers. Sensitive attributes are what the attacker wants to learn: l-diversity and t-closeness protect them.</p>
  {{ singled_table }}{% endif %}
  {% if warnings %}<h3>Warnings</h3><ul>{% for w in warnings %}<li>{{ w }}</li>{% endfor %}</ul>{% endif %}
</section>

<section id="loss">
  <h2>Information loss and generalisation</h2>
  {{ loss_table }}
  <h3>Generalisation level of each quasi-identifier</h3>
  {{ generalisation_table }}
</section>

<section id="utility">
  <h2>Utility</h2>
  <p class="muted">Computed by synthema.evaluate: {{ r.utility.compared }}.</p>
  {% if has_tvd %}<div class="plot" id="utility-fig"></div>{% endif %}
  {% for title, t in utility_tables %}<h3>{{ title }}</h3>{{ t }}{% endfor %}
</section>

<section id="deidentification">
  <h2>De-identification</h2>
  {% for title, t in deid_tables %}<h3>{{ title }}</h3>{{ t }}{% endfor %}
</section>
{% endblock %}
"""
