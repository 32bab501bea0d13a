"""``report.html``: the report as one self-contained page (plotly.js inlined, no network).

Each section (scorecard, fidelity, utility, privacy, clinical) has its own renderer here and
its own Jinja2 template (``templates/report/<section>.html``, shipped as package data);
``templates/report.html`` places them. Figures are plain Plotly JSON built here from
``report.to_dict()`` (no Python figure objects, so a 150-column report renders in well under a
second); the page's script draws them. The style, header, scorecard and script are the ones
every synthema report shares (:mod:`synthema.evaluate.page`). Every string from the data
(column names, rule expressions, errors) is HTML-escaped by Jinja2.
"""

from __future__ import annotations

from markupsafe import Markup

from synthema.evaluate.page import fmt as _fmt
from synthema.evaluate.page import json_script as _json
from synthema.evaluate.page import layout as _layout
from synthema.evaluate.page import render_page, render_section, scorecard, table

REAL, SYN, HOLD = "#2f6db5", "#e07b28", "#7a8794"
_N_MARGINALS = 12
_GROUP_COLORS = {"low": "#1b7f3b", "intermediate": "#b26a00", "high": "#b3261e"}


def _marginal_fig(name: str, m: dict) -> dict:
    return {"data": [
        {"type": "bar", "name": "real", "x": m["labels"], "y": m["real"],
         "marker": {"color": REAL}},
        {"type": "bar", "name": "synthetic", "x": m["labels"], "y": m["synthetic"],
         "marker": {"color": SYN}}],
        "layout": _layout(name, barmode="group", yaxis={"title": {"text": "share"}})}


def _line(name: str, x: list, y: list, color: str, dash: str = "solid") -> dict:
    return {"type": "scatter", "mode": "lines", "name": name, "x": x, "y": y,
            "line": {"color": color, "dash": dash, "shape": "hv", "width": 2}}


def _km_figs(metrics: dict) -> dict:
    figs: dict[str, dict] = {}
    km = metrics.get("km_distance", {}).get("details", {})
    groups = {p["event"]: p for p in
              metrics.get("km_risk_group_distance", {}).get("details", {}).get("pairs", [])}
    for i, pair in enumerate(km.get("pairs", [])):
        grid = pair["grid"]
        figs[f"km-{i}"] = {"data": [_line("real", grid, pair["curves"]["real"], REAL),
                                    _line("synthetic", grid, pair["curves"]["synthetic"], SYN)],
                           "layout": _layout(f"{pair['label']}: sup distance "
                                             f"{_fmt(pair['km_distance'])}",
                                             xaxis={"title": {"text": pair["time"]}},
                                             yaxis={"title": {"text": "survival"},
                                                    "range": [0, 1.02]})}
        rg = groups.get(pair["event"])
        if rg:
            data = []
            for gname, g in rg["groups"].items():
                color = _GROUP_COLORS.get(gname, HOLD)
                data.append(_line(f"{gname} real", grid, g["curves"]["real"], color))
                data.append(_line(f"{gname} synthetic", grid, g["curves"]["synthetic"], color,
                                  "dot"))
            figs[f"km-groups-{i}"] = {"data": data, "layout": _layout(
                f"{pair['label']} by risk group (dotted: synthetic)",
                xaxis={"title": {"text": pair["time"]}},
                yaxis={"title": {"text": "survival"}, "range": [0, 1.02]})}
    return figs


def _hist_fig(title: str, h: dict, xlabel: str) -> dict:
    edges = h["edges"]
    mids = [(a + b) / 2 for a, b in zip(edges, edges[1:], strict=False)]
    return {"data": [
        {"type": "bar", "name": "synthetic → training", "x": mids, "y": h["synthetic"],
         "marker": {"color": SYN}, "opacity": 0.75},
        {"type": "bar", "name": "holdout → training (baseline)", "x": mids, "y": h["holdout"],
         "marker": {"color": HOLD}, "opacity": 0.75}],
        "layout": _layout(title, barmode="overlay", bargap=0.02,
                          xaxis={"title": {"text": xlabel}}, yaxis={"title": {"text": "share"}})}


def _risk_fig(metrics: dict) -> dict | None:
    names, values, lo, hi = [], [], [], []

    def add(label: str, r: dict) -> None:
        if r.get("risk") is None:
            return
        names.append(label)
        values.append(r["risk"])
        lo.append(r["risk"] - (r["risk_ci"][0] or 0.0))
        hi.append((r["risk_ci"][1] or 0.0) - r["risk"])

    for key, label in (("singling_out_risk", "singling out"), ("linkability_risk", "linkability")):
        d = metrics.get(key, {}).get("details", {})
        if d:
            add(label, d)
    for secret, r in metrics.get("inference_risk", {}).get("details", {}).get(
            "secrets", {}).items():
        add(f"inference: {secret}", r)
    if not names:
        return None
    return {"data": [{"type": "bar", "x": names, "y": values, "marker": {"color": SYN},
                      "error_y": {"type": "data", "symmetric": False, "array": hi,
                                  "arrayminus": lo, "color": "#333"}}],
            "layout": _layout("Anonymeter risks (95 % CI)", yaxis={
                "title": {"text": "risk"}, "range": [0, 1]}, showlegend=False)}


def _heatmap(details: dict) -> dict:
    cols = details["columns"]
    return {"data": [{"type": "heatmap", "z": details["difference"], "x": cols, "y": cols,
                      "zmin": -1, "zmax": 1, "colorscale": "RdBu", "reversescale": True,
                      "colorbar": {"title": {"text": "Δ"}}}],
            "layout": _layout("", margin={"l": 110, "r": 10, "t": 10, "b": 110},
                              xaxis={"tickfont": {"size": 8}},
                              yaxis={"tickfont": {"size": 8}, "autorange": "reversed"})}


Section = tuple[Markup, dict[str, dict]]  # the section's HTML and the figures it shows


def _details(metrics: dict, name: str) -> dict:
    return metrics.get(name, {}).get("details", {})


def scorecard_section(report: dict) -> Section:
    """Overall and per-group tiles, and every metric's row with its badge."""
    card, totals = scorecard(report["metrics"].values())
    return render_section("report/scorecard.html", score=report["score"],
                          groups=report["groups"], totals=totals, scorecard=card), {}


def fidelity_section(report: dict) -> Section:
    """The marginals that differ most, any column on demand, associations, worst pairs."""
    metrics = report["metrics"]
    cd = _details(metrics, "column_distance")
    marginals = cd.get("marginals", {})
    worst = sorted(cd.get("columns", []), key=lambda r: -(r["distance"] or 0))[:_N_MARGINALS]
    figures = {f"marg-{i}": _marginal_fig(f"{row['column']} ({row['metric']} "
                                          f"{_fmt(row['distance'])})", marginals[row["column"]])
               for i, row in enumerate(worst)}  # fmt: skip
    corr = _details(metrics, "correlation_difference")
    if corr.get("difference"):
        figures["heatmap"] = _heatmap(corr)
    tables = []
    if corr.get("worst_pairs"):
        tables.append(("Most changed associations", table(
            ["column A", "column B", "real", "synthetic"],
            [[*p["columns"], p["real"], p["synthetic"]] for p in corr["worst_pairs"][:10]],
            numeric=(2, 3))))
    pw = _details(metrics, "pairwise_tvd")
    if pw.get("worst_pairs"):
        tables.append(("Pairs with the largest contingency TVD", table(
            ["column A", "column B", "TVD"],
            [[*p["columns"], p["tvd"]] for p in pw["worst_pairs"][:10]], numeric=(2,))))
    html = render_section("report/fidelity.html", marginal_columns=list(marginals),
                          worst_columns=worst, marginal_figs=[f for f in figures if
                                                              f.startswith("marg-")],
                          has_heatmap="heatmap" in figures, fidelity_tables=tables)
    return html, figures


def utility_section(report: dict) -> Section:
    """TRTR vs TSTR (classification, Harrell's C), log-rank tests, Kaplan-Meier curves."""
    metrics = report["metrics"]
    cls, ci = _details(metrics, "classification_auroc_gap"), _details(metrics, "cindex_gap")
    rows = []
    if cls:
        rows.append([f"classification: {cls['target']}", "AUROC", cls["trtr_auroc"],
                     cls["tstr_auroc"]])
    for p in ci.get("pairs", []):
        rows.append([f"survival: {p['time']} / {p['event']}", "Harrell's C", p["trtr_cindex"],
                     p["tstr_cindex"]])
    tables = []
    if rows:
        tables.append(table(["task", "measure", "train real → test holdout",
                             "train synthetic → test holdout"], rows, numeric=(2, 3)))
    logrank_rows = [[f"{p['time']} / {p['event']}", p["logrank_chi2"], p["logrank_p"]]
                    for p in _details(metrics, "logrank_p").get("pairs", [])]
    if logrank_rows:
        tables.append(Markup("<h3>Log-rank test, real vs synthetic</h3>") + table(
            ["survival pair", "χ²", "p-value"], logrank_rows, numeric=(1, 2)))
    km = _km_figs(metrics)
    return render_section("report/utility.html", utility_tables=tables, km_figs=list(km)), km


def _attack_row(label: str, r: dict) -> list:
    return [label, r["n_attacks"], r["attack_rate"], r["control_rate"], r["baseline_rate"],
            r["risk"], f"{_fmt(r['risk_ci'][0])}–{_fmt(r['risk_ci'][1])}"]


def privacy_section(report: dict) -> Section:
    """Distance histograms against the holdout baseline, and the Anonymeter attacks."""
    metrics = report["metrics"]
    figures: dict[str, dict] = {}
    for key, title, xlabel in (("dcr_share", "Distance to closest training record", "distance"),
                               ("nndr_risk", "Nearest-neighbour distance ratio", "ratio")):
        h = _details(metrics, key).get("histogram")
        if h:
            figures[f"hist-{key}"] = _hist_fig(title, h, xlabel)
    risk = _risk_fig(metrics)
    if risk:
        figures["risks"] = risk
    rows = [_attack_row(label, _details(metrics, key))
            for key, label in (("singling_out_risk", "singling out"),
                               ("linkability_risk", "linkability"))
            if _details(metrics, key).get("n_attacks")]
    rows += [_attack_row(f"inference: {secret}", r) for secret, r in
             _details(metrics, "inference_risk").get("secrets", {}).items()]
    tables = [table(["attack", "attacks", "attack rate", "control rate", "baseline rate",
                     "risk", "95 % CI"], rows, numeric=(1, 2, 3, 4, 5, 6))] if rows else []
    return render_section("report/privacy.html", privacy_figs=list(figures),
                          privacy_tables=tables), figures


def clinical_section(report: dict) -> Section:
    """Rule violations, impossible values and copies of real patients."""
    metrics = report["metrics"]
    tables = []
    rules = _details(metrics, "rule_violations").get("rules", [])
    broken = [r for r in rules if r["violations"] or r["real_violations"]]
    if rules:
        tables.append(Markup("<h3>Rule violations</h3>") + (table(
            ["rule", "expression", "synthetic violations", "synthetic rate", "real violations"],
            [[r["rule"], r["expr"], r["violations"], r["rate"], r["real_violations"]]
             for r in sorted(broken, key=lambda r: -r["violations"])],
            numeric=(2, 3, 4)) if broken else Markup(
                f"<p>All {len(rules)} rules hold on every synthetic row.</p>")))
    iv = _details(metrics, "impossible_values")
    if iv.get("columns"):
        tables.append(Markup("<h3>Impossible values</h3>") + table(
            ["column", "rows"], sorted(iv["columns"].items(), key=lambda kv: -kv[1]),
            numeric=(1,)))
    dup = metrics.get("real_duplicates", {})
    if dup.get("details"):
        d = dup["details"]
        tables.append(Markup("<h3>Copies of real patients</h3>") + table(
            ["synthetic rows equal to a training row", "share", "holdout share (baseline)",
             "duplicates within synthetic"],
            [[d["rows"], dup["value"], d.get("holdout_share"),
              d["synthetic_internal_duplicates"]]], numeric=(0, 1, 2, 3)))
    return render_section("report/clinical.html", clinical_tables=tables), {}


SECTIONS = {
    "scorecard": scorecard_section,
    "fidelity": fidelity_section,
    "utility": utility_section,
    "privacy": privacy_section,
    "clinical": clinical_section,
}
"""The page's sections in order, each rendered by its own function and template."""


def render_html(report_dict: dict, *, version: str = "") -> str:
    """The page for a ``report.to_dict()`` result."""
    sections, figures = {}, {}
    for name, render in SECTIONS.items():
        sections[name], figs = render(report_dict)
        figures |= figs
    marginals = _details(report_dict["metrics"], "column_distance").get("marginals", {})
    return render_page("report.html", figures=figures, version=version,
                       meta=report_dict["meta"], sections=sections,
                       marginals_json=_json(marginals))
