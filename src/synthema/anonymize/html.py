"""``anonymization.html``: the anonymisation report as one self-contained page.

It renders the report's JSON form (``AnonymizationReport.to_dict()``, exactly what
``anonymization.json`` holds). The page is built from the same parts as the evaluation
report (:mod:`synthema.evaluate.page`: style, header, tiles, scorecard table with pass /
warn / fail badges, plotly.js inlined). The scorecard puts every figure a privacy officer
signs off in one table:

- privacy models: achieved k, l and t against the policy's (pass when met, else fail), and
  the suppression rate against ``max_suppression``;
- re-identification risk: prosecutor, journalist (highest, average) and marketer risk pass
  at or below the policy's threshold (default 0.09) and warn up to :data:`RISK_WARN` (0.2,
  one record in five: the usual limit for sharing with a contracted recipient);
- information loss: shown without a verdict;
- utility: the utility lost between the original input and the release
  (:mod:`synthema.anonymize.column_cost`: mean TVD over the dictionary's columns and over the
  policy's, a removed or withheld column counting 1), shown without a verdict like the
  information loss; then :mod:`synthema.evaluate` metrics with their own thresholds.

>>> rows = scorecard_metrics({"models": {"k": 5, "l": None, "l_variant": "distinct",
...     "t": None, "max_suppression": 0.05}, "achieved": {"k": 4, "l_distinct": None,
...     "l_entropy": None, "t": None}, "information_loss": {"suppression_rate": 0.01,
...     "relative_height": 0.5, "non_uniform_entropy": 0.3, "suppressed_records": 2},
...     "risk": {"after": {"threshold": 0.09, "prosecutor": {"highest": 0.25, "average": 0.1,
...     "above_threshold": 0.4}, "journalist": {"highest": 0.25, "average": 0.05,
...     "above_threshold": 0.4}, "marketer": {"average": 0.05}}}, "utility": {"metrics": []}})
>>> [(r["name"], r["status"]) for r in rows][:4]  # doctest: +NORMALIZE_WHITESPACE
[('k-anonymity', 'fail'), ('suppression rate', 'pass'),
 ('prosecutor risk, highest', 'fail'), ('prosecutor risk, average', 'warn')]
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from markupsafe import Markup

from synthema.anonymize.pipeline import NOT_NEEDED
from synthema.anonymize.report import AnonymizationReport, report_dict
from synthema.evaluate.page import fmt, layout, render_page, render_section, scorecard, table

RISK_WARN = 0.2
#: share of released records above the risk threshold up to which the row warns (then fails)
ABOVE_WARN = 0.05
BEFORE, AFTER = "#7a8794", "#2f6db5"

def _row(name: str, group: str, value: Any, *, goal: str = "maximize", good: Any = None,
         warn: Any = None, unit: str = "", description: str = "") -> dict[str, Any]:
    """One scorecard row; ``status`` from the thresholds (none without them).

    Without ``warn`` (a policy requirement) the row passes or fails, and shows no warn limit.
    """
    status = ""
    if good is not None:
        warn = good if warn is None else warn  # a requirement: met or not, no warn band
        if value is None or (isinstance(value, float) and math.isnan(value)):
            status = "error"
        elif goal == "minimize":
            status = "pass" if value <= good else "warn" if value <= warn else "fail"
        else:
            status = "pass" if value >= good else "warn" if value >= warn else "fail"
        warn = None if warn == good else warn
    return {"name": name, "group": group, "value": value, "unit": unit, "goal": goal,
            "thresholds": {"pass": good, "warn": warn}, "score": None, "status": status,
            "description": description, "error": None}


def _cost_rows(costs: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The utility lost, input vs release: information lost, like NUE, without a verdict."""
    rows = []
    for key, over, what in (("mean_tvd", "mean_over", "the dictionary's columns"),
                            ("purpose_mean_tvd", "purpose_over", "the columns the policy names")):
        if costs is not None and costs.get(key) is not None:
            rows.append(_row(f"utility lost, {what}", "utility", costs[key], goal="minimize",
                             unit="mean TVD", description=f"original input vs release, mean "
                             f"over {costs[over]} columns; a removed or withheld column counts 1"))
    return rows


def scorecard_metrics(report: AnonymizationReport | Mapping[str, Any]) -> list[dict[str, Any]]:
    """The scorecard rows of a report (shaped like ``MetricResult.to_dict()``)."""
    report = report_dict(report)
    m, ach, loss = report["models"], report["achieved"], report["information_loss"]
    model = "privacy model"
    rows = [_row("k-anonymity", model, ach["k"], good=m["k"], unit="records",
                 description="size of the smallest equivalence class")]
    if ach.get("l_distinct") is not None:
        need = m["l"] if m.get("l") is not None and m["l_variant"] == "distinct" else None
        rows.append(_row("l-diversity (distinct)", model, ach["l_distinct"], good=need,
                         unit="values",
                         description="fewest distinct sensitive values in a class"))
        need = m["l"] if m.get("l") is not None and m["l_variant"] == "entropy" else None
        rows.append(_row("l-diversity (entropy)", model, ach["l_entropy"], good=need,
                         unit="exp(entropy)",
                         description="least diverse class, exp of its Shannon entropy"))
    if ach.get("t") is not None:
        rows.append(_row("t-closeness", model, ach["t"], goal="minimize", good=m.get("t"),
                         unit="EMD",
                         description="largest distance of a class's sensitive values from "
                                     "the whole input"))
    rows.append(_row("suppression rate", model, loss["suppression_rate"], goal="minimize",
                     good=m["max_suppression"], unit="share of records",
                     description="share of input records not released (whole failing "
                                 "classes suppressed)"))
    after = report["risk"]["after"]
    limit = after["threshold"]
    warn = max(limit, RISK_WARN)
    risk = "re-identification risk"
    for attacker, what in (("prosecutor", "knows the target is in the release"),
                           ("journalist", "knows the target is in the population")):
        for stat in ("highest", "average"):
            rows.append(_row(f"{attacker} risk, {stat}", risk, after[attacker][stat],
                             goal="minimize", good=limit, warn=warn, unit="probability",
                             description=f"{stat} per-record risk; the attacker {what}"))
    rows.append(_row("marketer risk", risk, after["marketer"]["average"], goal="minimize",
                     good=limit, warn=warn, unit="share",
                     description="expected share of records re-identified by matching all"))
    for attacker in ("prosecutor", "journalist"):  # every record above the limit is warned
        rows.append(_row(f"records above threshold ({attacker})", risk,
                         after[attacker]["above_threshold"], goal="minimize", good=0.0,
                         warn=ABOVE_WARN, unit="share",
                         description=f"share of released records with risk above {limit}: "
                                     f"warns from the first, fails above {ABOVE_WARN:.0%}"))
    released = report["risk"].get("released_columns")
    if released is not None:  # a warning, not a requirement: k covers the QIs only
        rows.append(_row("records unique over all released columns", risk,
                         released["unique_share"], goal="minimize", good=0.0, warn=1.0,
                         unit="share", description="singled out by an attacker who knows "
                         "every released value of a patient (pseudonyms aside; shifted dates "
                         "within the shift bound)"))
    pseudo = report.get("pseudonym")
    if pseudo is not None:
        rows.append(_row("pseudonyms link across releases", risk,
                         int(pseudo["linkable_across_releases"]), goal="minimize", good=0,
                         warn=1, unit="1 yes, 0 no", description=f"scope {pseudo['scope']}: "
                         + pseudo["note"]))
    info = "information loss"
    rows += [
        _row("generalisation height", info, loss["relative_height"], goal="minimize",
             unit="of the maximum", description="sum of the levels chosen, relative"),
        _row("non-uniform entropy", info, loss["non_uniform_entropy"], goal="minimize",
             unit="normalised", description="information lost by generalisation and "
                                            "suppression (0 none, 1 all)"),
        _row("suppressed records", info, loss["suppressed_records"], goal="minimize",
             unit="records", description="records removed with their failing classes"),
    ]
    rows += _cost_rows(report["utility"].get("input_vs_release"))
    for u in report["utility"].get("metrics", []):
        rows.append(u | {"group": "utility"})
    return rows


def _risk_figure(risk: dict[str, Any]) -> dict:
    labels = ["prosecutor highest", "prosecutor average", "journalist highest",
              "journalist average", "marketer"]

    def values(r: dict) -> list[float]:
        return [r["prosecutor"]["highest"], r["prosecutor"]["average"],
                r["journalist"]["highest"], r["journalist"]["average"], r["marketer"]["average"]]

    threshold = risk["after"]["threshold"]
    return {"data": [
        {"type": "bar", "name": "input", "x": labels, "y": values(risk["before"]),
         "marker": {"color": BEFORE}},
        {"type": "bar", "name": "release", "x": labels, "y": values(risk["after"]),
         "marker": {"color": AFTER}},
        {"type": "scatter", "mode": "lines", "name": f"threshold {threshold}",
         "x": [labels[0], labels[-1]], "y": [threshold, threshold],
         "line": {"color": "#b3261e", "dash": "dash", "width": 1.5}}],
        "layout": layout("Re-identification risk, input vs release", barmode="group",
                         xaxis={"automargin": True},
                         yaxis={"title": {"text": "risk"}, "range": [0, 1.02]})}


def _utility_figure(costs: dict[str, Any]) -> dict:
    """Each counted column's cost, worst first (removed columns in one bar: their count)."""
    rows = [c for c in costs["columns"] if "tvd" in c and c["status"] != "removed"]
    rows.sort(key=lambda c: -c["tvd"])
    gone = sum(c["status"] == "removed" for c in costs["columns"])
    colour = {"withheld": "#b3261e", "generalised": "#c77700", "kept": AFTER}
    names = [c["column"] for c in rows] + ([f"{gone} removed columns"] if gone else [])
    return {"data": [{"type": "bar", "name": "TVD", "x": names,
                      "y": [c["tvd"] for c in rows] + ([1.0] if gone else []),
                      "text": [c["status"] for c in rows] + (["removed"] if gone else []),
                      "marker": {"color": [colour.get(c["status"], BEFORE) for c in rows]
                                 + ([BEFORE] if gone else [])}}],
            "layout": layout("Cost per input column: TVD, original input vs release "
                             "(1 = column gone)", xaxis={"automargin": True},
                             yaxis={"title": {"text": "TVD"}, "range": [0, 1.05]})}


def _cost_table(costs: dict[str, Any]) -> Markup:
    """Every counted column but the removed ones (listed in one line: each costs 1)."""
    rows = [[c["column"], c["status"], c["released_as"],
             c.get("tvd", "not measured: " + c.get("skipped", ""))]
            for c in costs["columns"] if c["status"] != "removed"]
    gone = [c["column"] for c in costs["columns"] if c["status"] == "removed"]
    out = table(["input column", "in the release", "released as", "TVD input vs release"],
                rows, numeric=(3,))
    if gone:
        out += Markup('<p style="font-size:13px">{}</p>').format(
            f"Removed, TVD 1 each ({len(gone)} columns): " + ", ".join(gone))
    return out


def _utility_tables(util: dict[str, Any]) -> list[tuple[str, Markup]]:
    metrics = {m["name"]: m for m in util.get("metrics", [])}
    out = []
    if util.get("input_vs_release"):
        out.append(("What each input column costs (original input vs release)",
                    _cost_table(util["input_vs_release"])))
    cols = metrics.get("column_distance", {}).get("details", {}).get("columns", [])
    if cols:
        out.append(("Suppression's cost per released column (input generalised as released "
                    "vs release)", table(
            ["column", "type", "measure", "distance", "TVD over the evaluation bins"],
            [[c["column"], c["type"], c["metric"], c["distance"],
              util.get("tvd", {}).get(c["column"])] for c in cols], numeric=(3, 4))))
    pairs = metrics.get("pairwise_tvd", {}).get("details", {}).get("worst_pairs", [])
    if pairs:
        out.append(("Pairs with the largest contingency TVD", table(
            ["column A", "column B", "TVD"], [[*p["columns"], p["tvd"]] for p in pairs[:10]],
            numeric=(2,))))
    km = metrics.get("km_distance", {}).get("details", {}).get("pairs", [])
    if km:
        logrank = {p["event"]: p for p in
                   metrics.get("logrank_p", {}).get("details", {}).get("pairs", [])}
        out.append(("Survival (Kaplan–Meier), input vs release", table(
            ["survival pair", "KM sup distance", "log-rank χ²", "log-rank p"],
            [[f"{p['time']} / {p['event']}", p["km_distance"],
              logrank.get(p["event"], {}).get("logrank_chi2"),
              logrank.get(p["event"], {}).get("logrank_p")] for p in km],
            numeric=(1, 2, 3))))
    if util.get("skipped"):
        out.append(("Columns not compared", table(["column", "why"],
                                                  list(util["skipped"].items()))))
    return out


def _deid_tables(report: dict[str, Any]) -> list[tuple[str, Markup]]:
    out = []
    harm = report.get("harmonization")
    if harm:
        rows = [["rows read", harm["rows_in"]],
                ["rows kept (with at least one mapped value)", harm["rows_out"]]]
        note = Markup('<p style="font-size:13px">{}</p>').format(
            f"Values dropped or repaired per column: {harm['detail']}. They count every row "
            "of the export, suppressed records included, so they stay at the site.")
        out.append((f"Raw export {harm['file']} harmonised with {harm['mapping']}",
                     table(["", "count"], rows, numeric=(1,)) + note))
    idents = report.get("identifiers")
    if idents:
        out.append(("Identifier columns of the raw export", table(
            ["source column", "kind", "values", "not read (set to missing)", "what happened"],
            [[i["source"], i["role"].replace("_", " "), i["values"],
              sum(i.get("dropped", {}).values()) if "dropped" in i else None, i["action"]]
             for i in idents], numeric=(2, 3))))
    removed = report["removed"]
    unneeded = [c for c, why in removed.items() if why == NOT_NEEDED]
    listed = [[c, why] for c, why in removed.items() if why != NOT_NEEDED]
    parts = [table(["column", "reason"], listed)] if listed else []
    if unneeded:
        parts.append(Markup('<p style="font-size:13px">{}</p>').format(
            f"{NOT_NEEDED.capitalize()} ({len(unneeded)} columns): " + ", ".join(unneeded)))
    out.append((f"Columns removed ({len(removed)})", Markup("").join(parts)))
    pseudo = dict(report.get("raw_pseudonyms") or {})
    if report.get("pseudonym") and report["pseudonym"].get("column"):
        pseudo = {report["pseudonym"]["column"]: report["pseudonym"]["method"]} | pseudo
    if pseudo:
        out.append(("Pseudonyms", table(["column", "method"], list(pseudo.items()))))
    if report.get("dates"):
        out.append(("Dates", table(["column", "what happened"], list(report["dates"].items()))))
    return out


Section = tuple[Markup, dict[str, dict]]  # the section's HTML and the figures it shows
_PACKAGE = "synthema.anonymize"


def _section(name: str, report: dict[str, Any], **context: Any) -> Markup:
    return render_section(f"anonymization/{name}.html", package=_PACKAGE, r=report, **context)


def scorecard_section(report: dict[str, Any]) -> Section:
    """Tiles (records, k, highest risk, utility, checks) and every figure's verdict."""
    card, totals = scorecard(scorecard_metrics(report))
    costs = report["utility"].get("input_vs_release") or {}
    kept = {k: None if costs.get(k) is None else 1 - costs[k]
            for k in ("mean_tvd", "purpose_mean_tvd")}
    return _section(
        "scorecard", report, card=card, totals=totals, risk_warn=fmt(RISK_WARN),
        utility_score=kept["mean_tvd"], purpose_score=kept["purpose_mean_tvd"],
        utility_over=costs.get("mean_over"), purpose_over=costs.get("purpose_over")), {}


def _risk_rows(risk: dict[str, Any]) -> list[list]:
    rows = []
    for stage, shown in (("before", "input"), ("after", "release")):
        r = risk[stage]
        for model in ("prosecutor", "journalist"):
            m = r[model]
            rows.append([shown, model, m["highest"], m["average"], m["above_threshold"]])
        rows.append([shown, "marketer", None, r["marketer"]["average"], None])
    released = risk.get("released_columns")
    if released is not None:
        p = released["prosecutor"]
        rows.append(["release, all released columns", "prosecutor", p["highest"], p["average"],
                     p["above_threshold"]])
    return rows


def risk_section(report: dict[str, Any]) -> Section:
    """Risk before and after (and over every released column), columns that single out."""
    released = report["risk"].get("released_columns")
    told = (released or {}).get("sensitive_disclosed_with_quasi_identifiers", {})
    singled = ([[c, n, told.get(c)]
                for c, n in released["singled_out_with_quasi_identifiers"].items()]
               if released is not None else [])
    html = _section(
        "risk", report,
        risk_table=table(["records", "attacker", "highest", "average", "share above threshold"],
                         _risk_rows(report["risk"]), numeric=(2, 3, 4)),
        singled_table=table(["released column", "records unique with the quasi-identifiers",
                             "records whose sensitive values fail l/t with the "
                             "quasi-identifiers"],
                            singled, numeric=(1, 2)) if singled else None,
        warnings=report.get("warnings", []))
    return html, {"risk-fig": _risk_figure(report["risk"])}


def loss_section(report: dict[str, Any]) -> Section:
    """Suppression, generalisation height, entropy, and each quasi-identifier's level."""
    loss = report["information_loss"]
    loss_rows = [
        ["records suppressed", f"{loss['suppressed_records']} of {report['records_in']} "
                               f"({loss['suppression_rate']:.2%})"],
        ["generalisation height (sum of the levels chosen)",
         f"{loss['generalisation_height']} of {loss['max_height']} "
         f"({fmt(loss['relative_height'])} of the maximum)"],
        ["non-uniform entropy (0 nothing lost, 1 everything)",
         f"{fmt(loss['non_uniform_entropy'])} ({fmt(loss['non_uniform_entropy_bits'])} bits)"],
        ["lattice nodes evaluated (exact optimum)",
         f"{loss['lattice_nodes_evaluated']} of {loss['lattice_nodes']}"],
    ]
    levels = report.get("generalisation_levels") or {
        c: {"hierarchy": "", "level": v, "highest": "", "shows": ""}
        for c, v in report["generalisation"].items()}
    return _section(
        "loss", report, loss_table=table(["measure", "value"], loss_rows, numeric=(1,)),
        generalisation_table=table(
            ["quasi-identifier", "hierarchy", "level chosen", "of", "released as"],
            [[c, v["hierarchy"], v["level"], v["highest"], v["shows"]]
             for c, v in levels.items()], numeric=(2, 3))), {}


def utility_section(report: dict[str, Any]) -> Section:
    """TVD per released column, and evaluate's tables (columns, pairs, survival)."""
    util = report["utility"]
    costs = util.get("input_vs_release")
    figures = {"utility-fig": _utility_figure(costs)} if costs and costs["columns"] else {}
    return _section("utility", report, has_tvd=bool(figures),
                    utility_tables=_utility_tables(util)), figures


def deidentification_section(report: dict[str, Any]) -> Section:
    """The raw export's harmonisation and identifiers, columns removed, pseudonyms, dates."""
    return _section("deidentification", report, deid_tables=_deid_tables(report)), {}


SECTIONS = {
    "scorecard": scorecard_section,
    "risk": risk_section,
    "loss": loss_section,
    "utility": utility_section,
    "deidentification": deidentification_section,
}
"""The page's sections in order, each rendered by its own function and template."""


def render_html(report: AnonymizationReport | Mapping[str, Any], *, version: str = "") -> str:
    """A self-contained page (plotly.js inlined) with ``<section id="anonymization">``."""
    report = report_dict(report)
    sections, figures = {}, {}
    for name, render in SECTIONS.items():
        sections[name], figs = render(report)
        figures |= figs
    return render_page("anonymization.html", package=_PACKAGE, figures=figures,
                       version=version, r=report, sections=sections)
