"""``anonymization.html`` read back: every figure on the page is the JSON's figure.

A privacy officer signs off what the page shows, so each table, tile and plotted value is
read back from the rendered HTML (a small parser of the standard library, no browser) and
compared with ``anonymization.json``'s value, formatted as the reports format numbers.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from html.parser import HTMLParser

import pytest

from synthema.anonymize import anonymize, load_policy
from synthema.anonymize.html import render_html, scorecard_metrics
from synthema.anonymize.report import NOT_NEEDED, Harmonization, IdentifierColumn, InputFile
from synthema.evaluate.page import fmt

KEY = b"8d1c5cbd3f4a0b7e6f2a9d8c7b6a5f4e3d2c1b0a99887766554433221100ffee"


class Page(HTMLParser):
    """Each section's tables (rows of cell texts) under the heading before them, its tiles,
    and its text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list[tuple[str, list[list[str]]]]] = {}
        #: per section, per table: each row's cells as (text, right-aligned)
        self.aligned: dict[str, list[list[list[tuple[str, bool]]]]] = {}
        self.tiles: dict[str, tuple[str, str]] = {}
        self.text: dict[str, str] = {}
        self._section = self._heading = ""
        self._rows: list[list[str]] | None = None
        self._cell: list[str] | None = None
        self._h3: list[str] | None = None
        self._tile: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        cls = dict(attrs).get("class")
        if tag == "section":
            self._section, self._heading = dict(attrs)["id"], ""
            self.tables[self._section], self.text[self._section] = [], ""
            self.aligned[self._section] = []
        elif tag == "h3":
            self._h3 = []
        elif tag == "table":
            self._rows, self._classes = [], []
        elif tag == "tr" and self._rows is not None:
            self._rows.append([])
            self._classes.append([])
        elif tag in ("td", "th") and self._rows is not None:
            self._cell = []
            self._classes[-1].append(cls == "num")
        elif cls == "tile":
            self._tile = []
        elif self._tile is not None and cls in ("label", "value", "counts"):
            self._tile.append("")

    def handle_endtag(self, tag):
        if tag == "h3" and self._h3 is not None:
            self._heading, self._h3 = "".join(self._h3).strip(), None
        elif tag in ("td", "th") and self._cell is not None:
            self._rows[-1].append(re.sub(r"\s+", " ", "".join(self._cell)).strip())
            self._cell = None
        elif tag == "table" and self._rows is not None:
            self.tables[self._section].append((self._heading, self._rows))
            self.aligned[self._section].append(
                [list(zip(r, c, strict=True)) for r, c in zip(self._rows, self._classes,
                                                               strict=True)])
            self._rows = None
        elif tag == "div" and self._tile is not None and len(self._tile) == 3:
            label, value, counts = (re.sub(r"\s+", " ", t).strip() for t in self._tile)
            self.tiles[label] = (value, counts)
            self._tile = None

    def handle_data(self, data):
        if self._section:
            self.text[self._section] += data
        if self._cell is not None:
            self._cell.append(data)
        elif self._h3 is not None:
            self._h3.append(data)
        elif self._tile:
            self._tile[-1] += data

    def table(self, section: str, heading: str = "") -> list[list[str]]:
        """The body rows of the (first) table under ``heading`` in ``section``."""
        return next(rows for h, rows in self.tables[section] if h.startswith(heading))[1:]

    def figures(self, html: str) -> dict:
        return json.loads(re.search(r'<script id="figures" type="application/json">(.*?)'
                                    r"</script>", html, flags=re.S).group(1))


@pytest.fixture(scope="module")
def result(raw_aml):
    """The AML release with a raw export's parts (input file, harmonisation, identifiers)."""
    base = anonymize(raw_aml, load_policy("aml"), key=KEY).report
    harm = Harmonization(
        file="export.csv", mapping="site.mapping.yaml", rows_in=412, rows_out=400,
        rows_without_values=12, dropped_total=5, repaired_total=2, declared_missing_total=1,
        columns=(), all_values_dropped=(), missing_variables=(), ignored_columns=(),
        missing_ids=0, duplicate_ids=0, rule_violations={})
    idents = (IdentifierColumn("PID", "PID", "hospital_number", 400, "removed"),
              IdentifierColumn("Geburtsdatum", "birth_date", "birth_date", 398, "generalised",
                               date_format="%d.%m.%Y", dropped={"unreadable": 2, "future": 1}))
    return dataclasses.replace(base, input=InputFile("export.csv", 412, 12),
                               harmonization=harm, identifiers=idents)


@pytest.fixture(scope="module")
def page(result) -> tuple[dict, str, Page]:
    report = result.to_dict()
    html = render_html(report, version="1.2.3")
    return report, html, Page(html)


def test_risk_table_and_figure_are_the_reports_risk(page):
    report, html, p = page
    risk = report["risk"]
    # Assert: input then release, prosecutor and journalist then marketer; then the release
    # over every released column
    expected = []
    for stage, shown in (("before", "input"), ("after", "release")):
        for model in ("prosecutor", "journalist"):
            m = risk[stage][model]
            expected.append([shown, model, fmt(m["highest"]), fmt(m["average"]),
                             fmt(m["above_threshold"])])
        expected.append([shown, "marketer", "—", fmt(risk[stage]["marketer"]["average"]), "—"])
    p_all = risk["released_columns"]["prosecutor"]
    expected.append(["release, all released columns", "prosecutor", fmt(p_all["highest"]),
                     fmt(p_all["average"]), fmt(p_all["above_threshold"])])
    assert p.table("risk") == expected
    # each released column that singles out records, with the records whose sensitive
    # values fail l/t with it
    told = risk["released_columns"]["sensitive_disclosed_with_quasi_identifiers"]
    assert p.table("risk", "Released columns that single out") == [
        [c, fmt(n), fmt(told.get(c))]
        for c, n in risk["released_columns"]["singled_out_with_quasi_identifiers"].items()]
    # the figure: input and release bars of the same five figures, and the threshold line
    fig = p.figures(html)["risk-fig"]
    for bar, stage in zip(fig["data"][:2], ("before", "after"), strict=True):
        r = risk[stage]
        assert bar["y"] == [r["prosecutor"]["highest"], r["prosecutor"]["average"],
                            r["journalist"]["highest"], r["journalist"]["average"],
                            r["marketer"]["average"]]
    # risks are probabilities: the axis shows all of [0, 1], bars from 0, labels not cut
    lo, hi = fig["layout"]["yaxis"]["range"]
    assert lo == 0 and 1 <= hi <= 1.05 and fig["layout"]["xaxis"]["automargin"] is True
    line = fig["data"][2]
    assert line["y"] == [risk["after"]["threshold"]] * 2
    assert line["x"] == [fig["data"][0]["x"][0], fig["data"][0]["x"][-1]]
    assert line["name"] == f"threshold {risk['after']['threshold']}"
    # every warning, one item each
    assert all(w in p.text["risk"] for w in report["warnings"]) and report["warnings"]


def test_loss_tables_are_the_reports_information_loss(page):
    report, _, p = page
    loss = report["information_loss"]
    assert p.table("loss") == [
        ["records suppressed", f"{loss['suppressed_records']} of {report['records_in']} "
                               f"({loss['suppression_rate']:.2%})"],
        ["generalisation height (sum of the levels chosen)",
         f"{loss['generalisation_height']} of {loss['max_height']} "
         f"({fmt(loss['relative_height'])} of the maximum)"],
        ["non-uniform entropy (0 nothing lost, 1 everything)",
         f"{fmt(loss['non_uniform_entropy'])} ({fmt(loss['non_uniform_entropy_bits'])} bits)"],
        ["lattice nodes evaluated (exact optimum)",
         f"{loss['lattice_nodes_evaluated']} of {loss['lattice_nodes']}"]]
    assert p.table("loss", "Generalisation level") == [
        [c, g["hierarchy"], str(g["level"]), str(g["highest"]), g["shows"]]
        for c, g in report["generalisation_levels"].items()]


def test_utility_tables_and_figure_are_the_reports_utility(page):
    report, html, p = page
    util = report["utility"]
    costs = util["input_vs_release"]
    kept = [c for c in costs["columns"] if c["status"] != "removed"]
    gone = [c["column"] for c in costs["columns"] if c["status"] == "removed"]
    assert kept and gone
    assert p.table("utility", "What each input column costs") == [
        [c["column"], c["status"], c["released_as"],
         fmt(c["tvd"]) if "tvd" in c else "not measured: " + c.get("skipped", "")]
        for c in kept]
    assert f"Removed, TVD 1 each ({len(gone)} columns): {', '.join(gone)}" in p.text["utility"]
    metrics = {m["name"]: m for m in util["metrics"]}
    assert p.table("utility", "Suppression's cost per released column") == [
        [c["column"], c["type"], c["metric"], fmt(c["distance"]), fmt(util["tvd"].get(c["column"]))]
        for c in metrics["column_distance"]["details"]["columns"]]
    worst = metrics["pairwise_tvd"]["details"]["worst_pairs"]
    assert p.table("utility", "Pairs with the largest contingency TVD") == [
        [*w["columns"], fmt(w["tvd"])] for w in worst[:10]]
    logrank = {q["event"]: q for q in metrics["logrank_p"]["details"]["pairs"]}
    km = metrics["km_distance"]["details"]["pairs"]
    assert km and p.table("utility", "Survival (Kaplan–Meier)") == [
        [f"{q['time']} / {q['event']}", fmt(q["km_distance"]),
         fmt(logrank[q["event"]]["logrank_chi2"]), fmt(logrank[q["event"]]["logrank_p"])]
        for q in km]
    # the figure: each counted column's TVD, worst first, coloured by what happened to it,
    # and the removed columns as one bar of TVD 1
    bars = p.figures(html)["utility-fig"]["data"][0]
    shown = sorted((c for c in kept if "tvd" in c), key=lambda c: -c["tvd"])
    assert bars["x"] == [c["column"] for c in shown] + [f"{len(gone)} removed columns"]
    assert bars["y"] == [c["tvd"] for c in shown] + [1.0]
    assert bars["text"] == [c["status"] for c in shown] + ["removed"]
    colour = {"withheld": "#b3261e", "generalised": "#c77700", "kept": "#2f6db5"}
    assert bars["marker"]["color"] == [colour.get(c["status"], "#7a8794")
                                       for c in shown] + ["#7a8794"]
    assert {c["status"] for c in shown} >= {"kept", "generalised"}
    layout = p.figures(html)["utility-fig"]["layout"]
    lo, hi = layout["yaxis"]["range"]
    assert lo == 0 and 1 <= hi <= 1.05 and layout["xaxis"]["automargin"] is True


def test_deidentification_tables_are_the_reports_parts(page):
    report, _, p = page
    harm = report["harmonization"]
    assert p.table("deidentification", "Raw export export.csv harmonised with "
                   "site.mapping.yaml") == [["rows read", "412"],
                                            ["rows kept (with at least one mapped value)", "400"]]
    assert p.table("deidentification", "Identifier columns of the raw export") == [
        ["PID", "hospital number", "400", "—", "removed"],
        ["Geburtsdatum", "birth date", "398", "3", "generalised"]]
    assert f"Values dropped or repaired per column: {harm['detail']}" in p.text[
        "deidentification"]
    removed = report["removed"]
    listed = [[c, why] for c, why in removed.items() if why != NOT_NEEDED]
    unneeded = [c for c, why in removed.items() if why == NOT_NEEDED]
    assert listed and unneeded
    assert p.table("deidentification", f"Columns removed ({len(removed)})") == listed
    assert (f"Not needed for the purpose ({len(unneeded)} columns): " + ", ".join(unneeded)
            in p.text["deidentification"])
    pseudo = report["pseudonym"]
    assert p.table("deidentification", "Pseudonyms") == [[pseudo["column"], pseudo["method"]]]
    # a raw export's identifiers released as keyed pseudonyms are listed after it
    raw = {"IPP": "hospital number: HMAC-SHA256 of 'hospital_number:' + value, keyed"}
    assert Page(render_html(report | {"raw_pseudonyms": raw})).table(
        "deidentification", "Pseudonyms") == [[pseudo["column"], pseudo["method"]],
                                              ["IPP", raw["IPP"]]]
    # the AML policy transforms no date; a release that does lists each one
    assert report["dates"] == {} and "Dates" not in [h for h, _ in p.tables["deidentification"]]
    dates = {"diagnosis_date": "shifted by a keyed offset", "hsct_date": "removed"}
    assert Page(render_html(report | {"dates": dates})).table("deidentification", "Dates") == [
        ["diagnosis_date", "shifted by a keyed offset"], ["hsct_date", "removed"]]


def test_scorecard_tiles_and_table_are_the_reports_figures(page):
    report, _, p = page
    rows = scorecard_metrics(report)
    costs = report["utility"]["input_vs_release"]
    assert p.tiles["Records released"] == (
        str(report["records_out"]), f"of {report['records_in']} · "
        f"{report['information_loss']['suppressed_records']} suppressed")
    assert p.tiles["Achieved k"] == (fmt(report["achieved"]["k"]),
                                     f"required {report['models']['k']}")
    after = report["risk"]["after"]
    assert p.tiles["Highest risk"] == (fmt(after["prosecutor"]["highest"]),
                                       f"prosecutor · threshold {fmt(after['threshold'])}")
    value, counts = p.tiles["Utility kept for the purpose"]
    assert value == str(math.floor(100 * (1 - costs["purpose_mean_tvd"]) + 1e-9))
    assert counts.endswith(f"over the {costs['purpose_over']} columns the policy names · all "
                           f"{costs['mean_over']} input columns (removed ones count as lost): "
                           f"{math.floor(100 * (1 - costs['mean_tvd']) + 1e-9)}")
    n = {s: sum(r["status"] == s for r in rows) for s in ("pass", "warn", "fail", "error")}
    assert p.tiles["Checks"] == (f"{n['pass']} pass", f"{n['warn']} warn · {n['fail']} fail · "
                                                      f"{n['error']} error")
    # the scorecard table: a row per figure, its value as formatted, grouped in order
    body = p.table("anonymization")
    named = [r for r in body if len(r) == 8]
    assert [r[0] for r in named] == [r["name"] for r in rows]
    assert [r[1] for r in named] == [fmt(r["value"]) for r in rows]
    assert [r[6] for r in named] == [r["status"] or "—" for r in rows]
    assert [r[0] for r in body if len(r) == 1] == list(dict.fromkeys(r["group"] for r in rows))


def _number(text: str) -> bool:
    """A figure: a number, possibly followed by words ('18 of 400 (4.50%)'), or none ('—')."""
    return text == "—" or re.match(r"[-−]?\d", text) is not None


def test_columns_of_numbers_are_right_aligned_and_columns_of_words_are_not(page):
    # Setup: the raw export's page, with columns the utility could not compare
    report, _, p = page
    skipped = {"notes": "more than 100 distinct values", "empty": "no values"}
    p2 = Page(render_html(report | {"utility": report["utility"] | {"skipped": skipped}}))
    # Assert: in every table below the scorecard, a column whose cells all start with a
    # number is right-aligned (header too), and one with a cell without any digit is not
    checked = 0
    for section in ("risk", "loss", "utility", "deidentification"):
        for table in p2.aligned[section]:
            head, body = table[0], table[1:]
            for j in range(len(head)):
                cells = [r[j] for r in body if len(r) == len(head)]
                if cells and all(_number(t) for t, _ in cells):
                    assert head[j][1] and all(a for _, a in cells), (section, head[j][0])
                    checked += 1
                elif any(not any(ch.isdigit() for ch in t) and t != "—" for t, _ in cells):
                    assert not head[j][1] and not any(a for _, a in cells), (section,
                                                                             head[j][0])
    assert checked >= 15
    # columns the utility could not compare are listed with why
    assert p2.table("utility", "Columns not compared") == [[c, why] for c, why in
                                                           skipped.items()]


def test_a_release_without_pseudonyms_or_column_costs_renders_without_their_parts(page):
    # Setup: no pseudonym column, no raw pseudonyms; no input-vs-release costs, or none
    # counted
    report, _, _ = page
    bare = report | {"pseudonym": None, "raw_pseudonyms": {},
                     "utility": {k: v for k, v in report["utility"].items()
                                 if k != "input_vs_release"}}
    empty = report | {"utility": report["utility"] | {"input_vs_release": report["utility"][
        "input_vs_release"] | {"columns": []}}}
    # Run
    html, html_empty = render_html(bare), render_html(empty)
    p = Page(html)
    # Assert
    headings = [h for h, _ in p.tables["deidentification"]]
    assert "Pseudonyms" not in headings and headings  # the other tables are still there
    assert "pseudonyms link across releases" not in [r["name"] for r in scorecard_metrics(bare)]
    for doc in (html, html_empty):
        assert set(p.figures(doc)) == {"risk-fig"} and 'id="utility-fig"' not in doc
    assert "What each input column costs" not in [h for h, _ in p.tables["utility"]]
