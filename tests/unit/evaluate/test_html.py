"""The page a reader sees (issue 14 items 3 and 5): survival plots with bands, censoring and
numbers at risk; every name on the heatmap, grouped; labels wrapped, never cut."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from synthema.evaluate.html import render_html, wrap
from synthema.evaluate.survival import number_at_risk


@pytest.fixture(scope="module")
def page(fresh_report) -> tuple[str, dict, dict]:
    data = fresh_report.to_dict()
    html = render_html(data, version="test")
    figures = json.loads(re.search(r'<script id="figures" type="application/json">(.*?)'
                                   r"</script>", html, flags=re.S).group(1))
    return html, figures, data


def test_km_plots_carry_bands_censoring_marks_and_the_horizon(page):
    # Setup
    _, figures, data = page
    pair = data["metrics"]["km_distance"]["details"]["pairs"][0]
    # Run
    fig = figures["km-0"]
    # Assert: per side a band (filled), a curve and censoring marks; the horizon drawn
    fills = [t for t in fig["data"] if t.get("fill") == "tonexty"]
    marks = [t for t in fig["data"] if t.get("mode") == "markers"]
    assert len(fills) == 2 and len(marks) == 2
    assert fig["layout"]["shapes"][0]["x0"] == pair["horizon"]
    assert "week" not in fig["layout"]["xaxis"]["title"]["text"]  # AML: days
    assert fig["layout"]["xaxis"]["title"]["text"] == f"{pair['time']} (days)"


def test_numbers_at_risk_under_each_plot_are_the_data_s(page, real, fresh):
    # Setup
    html, _, data = page
    pair = data["metrics"]["km_distance"]["details"]["pairs"][0]
    ticks = np.asarray(pair["ticks"])
    # Run: count independently, from the rows with a time and an event
    expected = {}
    for side, df in (("real", real), ("synthetic", fresh)):
        keep = df[pair["time"]].notna() & df[pair["event"]].notna()
        expected[side] = number_at_risk(df.loc[keep, pair["time"]].to_numpy(float), ticks)
    # Assert: the table under the plot shows them, real and synthetic
    for side in ("real", "synthetic"):
        row = re.search(rf"<tr><td>{side}</td>(.*?)</tr>", html).group(1)
        shown = [int(x) for x in re.findall(r'<td class="num">(\d+)</td>', row)]
        assert shown == expected[side].tolist()


def test_the_heatmap_names_every_column_grouped_by_dictionary_group(page, dictionary):
    # Setup
    _, figures, _ = page
    heat = figures["heatmap"]
    # Assert: every column on both axes (no every-other label), one tick each, group blocks
    names = heat["data"][0]["x"]
    assert sorted(names) == sorted(dictionary.names)
    assert heat["layout"]["xaxis"]["dtick"] == 1 and heat["layout"]["yaxis"]["dtick"] == 1
    groups = [dictionary[n].group for n in names]
    assert groups == sorted(groups, key=lambda g: sorted(set(groups)).index(g))
    assert len(heat["layout"]["shapes"]) == len(set(groups))


def test_marginal_labels_are_wrapped_never_cut(page):
    # Setup
    _, figures, data = page
    marginals = data["metrics"]["column_distance"]["details"]["marginals"]
    # Assert
    for key, fig in figures.items():
        if not key.startswith("marg-"):
            continue
        shown = [x.replace("<br>", "") for x in fig["data"][0]["x"]]
        column = fig["layout"]["xaxis"]["title"]["text"].split(" (")[0]
        assert shown == [str(x) for x in marginals[column]["labels"]]
    assert wrap("apl_pml_rara", 6) == "apl_<br>pml_<br>rara"


def test_the_page_opens_with_the_verdict_and_lists_the_covariates(page):
    # Setup
    html, _, data = page
    # Assert
    assert html.index('id="verdict"') < html.index('id="scorecard"')
    assert data["verdict"]["headline"] in html
    assert "Not known: no model was given" in html  # no model, no sidecar
    for name in data["meta"]["covariates"]["left_out"]:
        assert f"<td>{name}</td>" in html
