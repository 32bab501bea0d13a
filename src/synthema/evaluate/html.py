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

import re

from markupsafe import Markup

from synthema.evaluate.page import fmt as _fmt
from synthema.evaluate.page import json_script as _json
from synthema.evaluate.page import layout as _layout
from synthema.evaluate.page import render_page, render_section, scorecard, table

REAL, SYN, HOLD = "#2f6db5", "#e07b28", "#7a8794"
_N_MARGINALS = 12
_GROUP_COLORS = {"low": "#1b7f3b", "intermediate": "#b26a00", "high": "#b3261e"}


def wrap(label: str, width: int = 14) -> str:
    """A tick label broken into lines of about ``width`` characters (never cut).

    >>> wrap("apl_pml_rara_fusion_present", 10)
    'apl_pml_<br>rara_<br>fusion_<br>present'
    """
    out, line = [], ""
    for part in re.split(r"(?<=[_ ,.\-/])", str(label)):
        if line and len(line) + len(part) > width:
            out.append(line)
            line = ""
        line += part
    out.append(line)
    return "<br>".join(x for x in out if x)


def _axis_title(name: str, m: dict) -> str:
    unit = m.get("unit") or ""
    return f"{name} ({unit})" if unit else name


def _marginal_fig(title: str, m: dict, name: str = "") -> dict:
    # few bars: labels wrapped on lines; many: full labels turned (either way never cut)
    many = len(m["labels"]) > 6
    labels = [str(x) for x in m["labels"]] if many else [wrap(x) for x in m["labels"]]
    return {"data": [
        {"type": "bar", "name": "real", "x": labels, "y": m["real"],
         "marker": {"color": REAL}, "hovertext": m["labels"]},
        {"type": "bar", "name": "synthetic", "x": labels, "y": m["synthetic"],
         "marker": {"color": SYN}, "hovertext": m["labels"]}],
        "layout": _layout(title, barmode="group",
                          xaxis={"title": {"text": _axis_title(name, m)}, "automargin": True,
                                 "tickfont": {"size": 10}, "tickangle": -45 if many else 0},
                          yaxis={"title": {"text": "share of rows"}, "automargin": True})}


def _line(name: str, x: list, y: list, color: str, dash: str = "solid", **extra) -> dict:
    return {"type": "scatter", "mode": "lines", "name": name, "x": x, "y": y,
            "line": {"color": color, "dash": dash, "shape": "hv", "width": 2}} | extra


def _band(name: str, x: list, curve: dict, color: str) -> list[dict]:
    """The 95 % band of a curve: the lower line, then the upper one filled down to it."""
    fill = {"real": "rgba(47,109,181,0.15)", "synthetic": "rgba(224,123,40,0.15)"}[name]
    common = {"hoverinfo": "skip", "showlegend": False, "line": {"width": 0, "shape": "hv",
                                                                  "color": color}}
    return [{"type": "scatter", "mode": "lines", "x": x, "y": curve["lower"], **common},
            {"type": "scatter", "mode": "lines", "x": x, "y": curve["upper"], "fill": "tonexty",
             "fillcolor": fill, **common}]


def _censored(name: str, curve: dict, color: str) -> dict:
    marks = curve["censored"]
    return {"type": "scatter", "mode": "markers", "name": f"{name} censored", "x": marks["time"],
            "y": marks["survival"], "showlegend": False, "hovertemplate": "censored at %{x}",
            "marker": {"symbol": "line-ns-open", "size": 7, "color": color}}


def _time_axis(pair: dict) -> dict:
    unit = pair.get("unit") or ""
    return {"title": {"text": f"{pair['time']} ({unit})" if unit else pair["time"]},
            "tickvals": pair.get("ticks"), "automargin": True}


def _horizon(pair: dict, horizon: float | None) -> dict:
    if horizon is None:
        return {}
    return {"shapes": [{"type": "line", "x0": horizon, "x1": horizon, "y0": 0, "y1": 1,
                        "yref": "paper", "line": {"color": "#5f6b7a", "dash": "dash",
                                                  "width": 1}}],
            "annotations": [{"x": horizon, "y": 1.0, "yref": "paper", "xanchor": "right",
                             "text": "compared up to here", "showarrow": False,
                             "font": {"size": 10, "color": "#5f6b7a"}}]}


def at_risk_table(pair: dict, curves: dict[str, dict]) -> Markup:
    """Numbers at risk under a Kaplan-Meier plot (one row per curve, one column per tick)."""
    ticks = pair.get("ticks") or []
    return table(["at risk", *[_fmt(t) for t in ticks]],
                 [[name, *c["at_risk"]] for name, c in curves.items()],
                 numeric=tuple(range(1, len(ticks) + 1)))


def _km_overall(pair: dict) -> dict:
    grid, curves = pair["grid"], pair["curves"]
    data = []
    for name, color in (("real", REAL), ("synthetic", SYN)):
        data += _band(name, grid, curves[name], color)
        data.append(_line(name, grid, curves[name]["survival"], color))
        data.append(_censored(name, curves[name], color))
    title = (f"{pair['label']}: largest gap {_fmt(pair['km_distance'])} up to "
             f"{_fmt(pair.get('horizon'))} (whole curve {_fmt(pair.get('km_distance_full'))})")
    return {"data": data, "layout": _layout(title, xaxis=_time_axis(pair),
                                            yaxis={"title": {"text": "survival probability"},
                                                   "range": [0, 1.02]},
                                            **_horizon(pair, pair.get("horizon")))}


def _km_groups(pair: dict, rg: dict) -> dict:
    data = []
    for gname, g in rg["groups"].items():
        color = _GROUP_COLORS.get(gname, HOLD)
        data.append(_line(f"{gname} risk, real", rg["grid"], g["curves"]["real"]["survival"],
                          color))
        data.append(_line(f"{gname} risk, synthetic", rg["grid"],
                          g["curves"]["synthetic"]["survival"], color, "dot"))
    return {"data": data, "layout": _layout(
        f"{pair['label']} by risk group of the real Cox model (dotted: synthetic)",
        xaxis=_time_axis(pair), yaxis={"title": {"text": "survival probability"},
                                       "range": [0, 1.02]},
        margin={"l": 50, "r": 10, "t": 90, "b": 60})}


def _km_figs(metrics: dict) -> tuple[dict, list[tuple[str, Markup]]]:
    """Figures, and (figure id, numbers-at-risk table) in page order."""
    figs: dict[str, dict] = {}
    blocks: list[tuple[str, Markup]] = []
    km = metrics.get("km_distance", {}).get("details", {})
    groups = {p["event"]: p for p in
              metrics.get("km_risk_group_distance", {}).get("details", {}).get("pairs", [])}
    for i, pair in enumerate(km.get("pairs", [])):
        figs[f"km-{i}"] = _km_overall(pair)
        blocks.append((f"km-{i}", at_risk_table(pair, pair["curves"])))
        rg = groups.get(pair["event"])
        if rg:
            figs[f"km-groups-{i}"] = _km_groups(pair, rg)
            blocks.append((f"km-groups-{i}", at_risk_table(pair, {
                f"{g} {side}": c["curves"][side] for g, c in rg["groups"].items()
                for side in ("real", "synthetic")})))
    return figs, blocks


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
        add(f"inference:<br>{wrap(secret)}", r)
    if not names:
        return None
    return {"data": [{"type": "bar", "x": names, "y": values, "marker": {"color": SYN},
                      "error_y": {"type": "data", "symmetric": False, "array": hi,
                                  "arrayminus": lo, "color": "#333"}}],
            "layout": _layout("Anonymeter risks (95 % CI)", yaxis={
                "title": {"text": "risk"}, "range": [0, 1]}, showlegend=False,
                xaxis={"tickangle": 0, "automargin": True, "tickfont": {"size": 10}})}


def _heatmap(details: dict) -> dict:
    """Association differences, columns ordered by dictionary group, every name on the axes
    (hover gives the pair and both values); the figure grows with the number of columns."""
    cols = details["columns"]
    groups = details.get("groups") or [""] * len(cols)
    order = sorted(range(len(cols)), key=lambda i: (groups[i], i))
    names = [cols[i] for i in order]
    diff = [[details["difference"][i][j] for j in order] for i in order]
    real = details.get("real")
    text = [[f"{cols[i]} × {cols[j]}<br>real {real[i][j]:.2f}, synthetic "
             f"{real[i][j] - details['difference'][i][j]:.2f}" if real else ""
             for j in order] for i in order]
    font = 11 if len(cols) <= 30 else 8 if len(cols) <= 80 else 6
    size = max(480, min(14 * len(cols) + 180, 2400))
    shapes, start = [], 0
    for k in range(1, len(order) + 1):  # a box around each group's block
        if k == len(order) or groups[order[k]] != groups[order[start]]:
            shapes.append({"type": "rect", "x0": start - 0.5, "x1": k - 0.5, "y0": start - 0.5,
                           "y1": k - 0.5, "line": {"color": "#1d2330", "width": 1}})
            start = k
    return {"data": [{"type": "heatmap", "z": diff, "x": names, "y": names, "text": text,
                      "hoverinfo": "text", "zmin": -1, "zmax": 1, "colorscale": "RdBu",
                      "reversescale": True,
                      "colorbar": {"title": {"text": "real − synthetic"}}}],
            "layout": _layout("", height=size, shapes=shapes,
                              margin={"l": 10, "r": 10, "t": 10, "b": 10},
                              xaxis={"tickfont": {"size": font}, "automargin": True,
                                     "tickangle": -90, "dtick": 1},
                              yaxis={"tickfont": {"size": font}, "automargin": True,
                                     "autorange": "reversed", "dtick": 1})}


Section = tuple[Markup, dict[str, dict]]  # the section's HTML and the figures it shows


def _details(metrics: dict, name: str) -> dict:
    return metrics.get(name, {}).get("details", {})


def verdict_section(report: dict) -> Section:
    """The verdict, how the rows were made, and what each failing check means."""
    from synthema.evaluate.verdict import verdict_of

    verdict = report.get("verdict") or verdict_of(report).to_dict()
    return render_section("report/verdict.html", verdict=verdict,
                          generator=report.get("meta", {}).get("generator"),
                          version=report.get("meta", {}).get("synthema_version", "")), {}


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
    figures = {f"marg-{i}": _marginal_fig(f"{row['column']}: {row['metric'].upper()} "
                                          f"{_fmt(row['distance'])}", marginals[row["column"]],
                                          row["column"])
               for i, row in enumerate(worst)}  # fmt: skip
    corr = _details(metrics, "correlation_difference")
    if corr.get("difference"):
        figures["heatmap"] = _heatmap(corr)
    tables = []
    if corr.get("worst_pairs"):
        tables.append(("Most changed associations", table(
            ["column A", "column B", "measure", "real", "synthetic"],
            [[*p["columns"], {"spearman": "Spearman ρ", "cramers_v": "Cramér's V"}.get(
                p.get("measure"), ""), p["real"], p["synthetic"]]
             for p in corr["worst_pairs"][:10]], numeric=(3, 4))))
    pw = _details(metrics, "pairwise_tvd")
    if pw.get("worst_pairs"):
        tables.append(("Pairs with the largest contingency TVD", table(
            ["column A", "column B", "TVD"],
            [[*p["columns"], p["tvd"]] for p in pw["worst_pairs"][:10]], numeric=(2,))))
    html = render_section("report/fidelity.html", marginal_columns=list(marginals),
                          worst_columns=worst, marginal_figs=[f for f in figures if
                                                              f.startswith("marg-")],
                          has_heatmap="heatmap" in figures, fidelity_tables=tables,
                          heatmap_height=figures.get("heatmap", {}).get("layout", {}).get(
                              "height", 560))
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
    km, blocks = _km_figs(metrics)
    return render_section("report/utility.html", utility_tables=tables, km_blocks=blocks,
                          covariates=report.get("meta", {}).get("covariates")), km


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


def _ci(side: dict) -> str:
    if side.get("hr") is None:
        return "—"
    lo, hi = side["ci"]
    return f"{_fmt(side['hr'])} ({_fmt(lo)}–{_fmt(hi)})"


def _checks_tables(metrics: dict) -> list[Markup]:
    """Hazard ratios, association signs, risk-group order, values outside the real range and
    outcome rates, side by side."""
    out = []
    hr = _details(metrics, "hazard_ratios").get("covariates", [])
    if hr:
        out.append(Markup("<h3>Hazard ratios, real vs synthetic (Cox, 95 % CI)</h3>") + table(
            ["survival", "covariate", "real HR (95 % CI)", "synthetic HR (95 % CI)", "status"],
            [[r["pair"], r["covariate"], _ci(r["real"]), _ci(r["synthetic"]), r["status"]]
             for r in hr]))
    reversed_ = sorted(_details(metrics, "association_sign_flips").get("all_flips", []),
                       key=lambda r: -abs(r["real"] or 0))
    if reversed_:
        out.append(Markup(f"<h3>Associations the synthetic rows reverse ({len(reversed_)}; "
                          f"strongest real first, at most 20)</h3>") + table(
            ["column A", "column B", "real ρ", "synthetic ρ"],
            [[*r["columns"], r["real"], r["synthetic"]] for r in reversed_[:20]],
            numeric=(2, 3)))
    flips = _details(metrics, "association_sign_flips").get("strongest", [])
    if flips:
        out.append(Markup("<h3>Strongest real associations: does the sign hold?</h3>") + table(
            ["column A", "column B", "real ρ", "synthetic ρ", "flipped"],
            [[*r["columns"], r["real"], r["synthetic"], "yes" if r["flipped"] else "no"]
             for r in flips], numeric=(2, 3)))
    order = _details(metrics, "risk_group_order").get("pairs", [])
    rows = [[p["label"], " vs ".join(c["groups"]), c["real_difference"], c["real_se"],
             c["synthetic_difference"], "clear" if c["clear"] else "not clear",
             "REVERSED" if c["reversed"] else "kept"] for p in order for c in p["checks"]]
    if rows:
        out.append(Markup("<h3>Risk-group order: restricted mean survival difference "
                          "(better − worse group, up to the horizon)</h3>") + table(
            ["survival", "groups", "real", "real SE", "synthetic", "real separation",
             "synthetic order"], rows, numeric=(2, 3, 4)))
    rng = metrics.get("outside_real_range", {}).get("details", {})
    if rng.get("columns"):
        out.append(Markup("<h3>Values outside the real range (implausible, not a leak)</h3>")
                   + table(["column", "synthetic rows above the largest real value",
                            "below the smallest", "holdout rows outside (reference)"],
                           [[c, v["above"], v["below"],
                             sum((rng.get("holdout_columns") or {}).get(c, {}).values())]
                            for c, v in rng["columns"].items()], numeric=(1, 2, 3)))
    rates = _details(metrics, "outcome_rates").get("outcomes", [])
    if rates:
        out.append(Markup("<h3>Outcome rates</h3>") + table(
            ["outcome", "value", "real", "synthetic", "difference", "limit"],
            [[r["outcome"], r["value"], r["real"], r["synthetic"], r["difference"],
              r["limit"]] for r in rates], numeric=(2, 3, 4, 5)))
    return out


def clinical_section(report: dict) -> Section:
    """Clinical checks, rule violations, impossible values and copies of real patients."""
    metrics = report["metrics"]
    tables = _checks_tables(metrics)
    rules = _details(metrics, "rule_violations").get("rules", [])
    broken = [r for r in rules if r["violations"] or r["real_violations"] or r.get("escaped")]
    if rules:
        tables.append(Markup("<h3>Rule violations</h3><p class=\"muted\">Escaped: synthetic "
                             "rows the rule could not be checked on (a value it needs missing) "
                             "where no real row escapes it.</p>") + (table(
            ["rule", "expression", "synthetic violations", "synthetic rate",
             "escaped (not checkable)", "real violations"],
            [[r["rule"], r["expr"], r["violations"], r["rate"], r.get("escaped", 0),
              r["real_violations"]]
             for r in sorted(broken, key=lambda r: (-r["violations"], -r.get("escaped", 0)))],
            numeric=(2, 3, 4, 5)) if broken else Markup(
                f"<p>Every rule ({len(rules)}) holds on every synthetic row.</p>")))
    iv = _details(metrics, "impossible_values")
    if iv.get("columns"):
        tables.append(Markup("<h3>Impossible values</h3>") + table(
            ["column", "rows", "of which a required value missing"],
            [[c, n, (iv.get("required_missing") or {}).get(c, 0)]
             for c, n in sorted(iv["columns"].items(), key=lambda kv: -kv[1])],
            numeric=(1, 2)))
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
    "verdict": verdict_section,
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
