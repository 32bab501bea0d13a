"""Time and memory of ``synthema anonymize`` on 50k raw AML rows (k=5, l=2).

The input is a simulated 50,000-patient AML cohort (3 sites), measured two ways:

- ``harmonised`` (the top-level figures): the typed clean form with the US site style's
  direct identifiers attached (PATIENT_NAME, MRN, DOB, ZIP), through :func:`anonymize`;
- ``raw_export``: the same patients as the US site's raw export (text cells in its own
  layout and codes, identifiers included), through :func:`anonymize_export` with the
  export's mapping: harmonisation in memory, then the same anonymisation
  (``synthema anonymize --mapping``, less reading the file).

The built-in ``aml`` policy is used with k=5, distinct l=2 on ``eln2022`` and at most 5%
suppression. Time is wall-clock of the call alone (not simulation); memory is the peak of
Python allocations during a second, traced run of the same call (``tracemalloc``, which
would distort the timing) and the process's peak resident set size (``getrusage``, one
figure for the whole run); the 1-minute load average before and after each timed call is
kept, since other work may share the cores. Results go to
``benchmarks/results/anonymize.json`` and a table in ``docs/benchmarks.md`` (between the
anonymize-benchmark markers). This script measures; it asserts nothing.

    python benchmarks/anonymize.py                 # 50k rows, JSON and docs table
    python benchmarks/anonymize.py --rows 5000 --out /tmp/anonymize.json --no-doc
    python benchmarks/anonymize.py --report-only   # the docs table from the JSON
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import logging
import os
import platform
import resource
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _docpage import write_section

from synthema.anonymize import (
    AnonymizationResult,
    Models,
    anonymize,
    anonymize_export,
    load_policy,
)
from synthema.cohorts.raw import RawExport, make_raw_export
from synthema.cohorts.simulate import simulate
from synthema.schema import load_dictionary

_LOG = logging.getLogger("benchmarks.anonymize")
RESULTS = Path(__file__).parent / "results" / "anonymize.json"
DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
START, END = "<!-- anonymize-benchmark:start -->", "<!-- anonymize-benchmark:end -->"


def raw_rows(rows: int, seed: int = 0) -> tuple[pd.DataFrame, RawExport]:
    """``rows`` simulated AML patients with a raw export's identifier columns attached, and
    the raw export itself (text cells and mapping)."""
    data = pd.concat([c.data for c in simulate("aml", sites=3, patients=rows, seed=seed)],
                     ignore_index=True)
    export = make_raw_export(data, load_dictionary("aml"), site=3, age_column="age",
                             index_date_column="diagnosis_date",
                             rng=np.random.default_rng(seed))
    idents = export.data[export.mapping["drop"]].reset_index(drop=True)
    return pd.concat([idents, data], axis=1), export


def measure(run: Callable[[], AnonymizationResult]
            ) -> tuple[AnonymizationResult, float, float, list[float]]:
    """``(result, seconds, peak Python MiB, load)``: a timed run, then a traced one.

    ``load`` is the 1-minute load average before and after the timed run.
    """
    load = [os.getloadavg()[0]]
    t0 = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - t0
    load.append(os.getloadavg()[0])
    tracemalloc.start()  # a second, traced run: tracing slows allocation-heavy code a lot
    run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, seconds, peak / 2**20, [round(x, 2) for x in load]


def summary(rep: dict[str, Any]) -> dict[str, Any]:
    """The figures of a report the benchmark keeps."""
    return {
        "records_in": rep["records_in"],
        "records_out": rep["records_out"],
        "achieved": rep["achieved"],
        "generalisation": rep["generalisation"],
        "generalisation_levels": {c: v["shows"] for c, v in rep["generalisation_levels"].items()},
        "information_loss": rep["information_loss"],
        "risk_after": {m: rep["risk"]["after"][m] for m in ("prosecutor", "journalist",
                                                             "marketer")},
        "released_columns": {k: rep["risk"]["released_columns"][k] for k in (
            "records", "unique_records", "unique_share")},
        "mean_tvd": rep["utility"]["mean_tvd"],
        "utility": {m["name"]: m["value"] for m in rep["utility"]["metrics"]},
    }


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def _num(x: float | None) -> str:
    return "—" if x is None else f"{x:g}"


def _levels(x: dict[str, Any]) -> str:
    shows = x.get("generalisation_levels", {})
    return ", ".join(f"{c} {shows.get(c, '')} ({v})".replace("  ", " ")
                     for c, v in x["generalisation"].items())


def markdown(r: dict[str, Any]) -> str:
    """The docs table of a result (between the markers)."""
    raw = r["raw_export"]
    m = r["models"]
    loads = [*r.get("load", []), *raw.get("load", [])]
    load = (f" 1-minute load average around the timed calls: {min(loads):.2f}–{max(loads):.2f}"
            " (other work shared the cores, so timings are upper bounds)." if loads else "")

    def row(name: str, a: Any, b: Any) -> str:
        return f"| {name} | {a} | {b} |"

    lines = [
        START,
        f"Measured {r['date']} with `python benchmarks/anonymize.py` on {r['machine']}, "
        f"Python {r['python']}.{load}",
        "",
        f"Data: {r['rows']:,} simulated AML patients (3 sites). *Harmonised*: the typed table "
        f"with the US site's identifier columns attached ({', '.join(r['identifier_columns'])};"
        f" {r['columns_in']} columns), through `anonymize`. *Raw export*: the same patients as "
        f"the US site's raw export ({raw['columns_in']} text columns in its layout and codes), "
        "through `anonymize_export` with its mapping (harmonised in memory, then the same "
        f"anonymisation). Policy: built-in `aml`, k = {m['k']}, distinct l = {m['l']} on "
        f"eln2022, at most {_pct(m['max_suppression'])} suppressed. Time: wall clock of the "
        "call alone, utility check included; memory: peak Python allocations of a second, "
        "traced run (tracemalloc) and the process's peak RSS (one figure for the whole run).",
        "",
        "| | harmonised | raw export |",
        "|---|---:|---:|",
        row("time (s)", f"{r['seconds']:.2f}", f"{raw['seconds']:.2f}"),
        row("peak Python allocations (MiB)", f"{r['peak_python_mib']:.0f}",
            f"{raw['peak_python_mib']:.0f}"),
        row("input frame in memory (MiB)", f"{r['input_mib']:.0f}", f"{raw['input_mib']:.0f}"),
        row("records released", f"{r['records_out']:,} of {r['records_in']:,}",
            f"{raw['records_out']:,} of {raw['records_in']:,}"),
        row("suppressed", f"{r['information_loss']['suppressed_records']:,} "
                          f"({_pct(r['information_loss']['suppression_rate'])})",
            f"{raw['information_loss']['suppressed_records']:,} "
            f"({_pct(raw['information_loss']['suppression_rate'])})"),
        row("achieved k / distinct l / entropy l / t",
            *(f"{a['k']} / {a['l_distinct']} / {a['l_entropy']:.3f} / {a['t']:.3f}"
              for a in (r["achieved"], raw["achieved"]))),
        row("generalisation (level of highest)", _levels(r), _levels(raw)),
        row("non-uniform entropy (0–1)", f"{r['information_loss']['non_uniform_entropy']:.3f}",
            f"{raw['information_loss']['non_uniform_entropy']:.3f}"),
        row("lattice nodes evaluated", *(
            f"{x['information_loss']['lattice_nodes_evaluated']} of "
            f"{x['information_loss']['lattice_nodes']}" for x in (r, raw))),
        row("prosecutor risk highest / average", *(
            f"{x['risk_after']['prosecutor']['highest']:.3f} / "
            f"{x['risk_after']['prosecutor']['average']:.3f}" for x in (r, raw))),
        row("records above risk 0.09", *(
            _pct(x["risk_after"]["prosecutor"]["above_threshold"]) for x in (r, raw))),
        row("records unique over all released columns", *(
            f"{x['released_columns']['unique_records']:,} "
            f"({_pct(x['released_columns']['unique_share'])})" for x in (r, raw))),
        row("utility: mean TVD / C-index cost of generalisation (rounded)", *(
            f"{x['mean_tvd']} / {_num(x['utility'].get('cindex_gap_generalisation'))}"
            for x in (r, raw))),
        "",
        f"Process peak RSS: {r['peak_rss_mib']:.0f} MiB. Simulating the cohort (not timed "
        f"above): {r['simulate_seconds']:.1f} s.",
        END,
    ]
    return "\n".join(lines)


def write_doc(text: str, path: Path = DOC) -> None:
    """Replace this benchmark's section of docs/benchmarks.md."""
    write_section(text, start=START, end=END, heading="Anonymisation", path=path)


def main() -> None:
    """Run the benchmark and write its JSON and docs table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--no-doc", action="store_true", help="do not update docs/benchmarks.md")
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite the docs table from the result JSON; run nothing")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.report_only:
        write_doc(markdown(json.loads(args.out.read_text(encoding="utf-8"))))
        _LOG.info("updated %s from %s", DOC, args.out)
        return
    t0 = time.perf_counter()
    df, export = raw_rows(args.rows)
    prep = time.perf_counter() - t0
    policy = dataclasses.replace(load_policy("aml"),
                                 models=Models(k=5, l=2, max_suppression=0.05))
    key = os.urandom(32)
    result, seconds, peak, load = measure(lambda: anonymize(df, policy, key=key))
    raw_result, raw_seconds, raw_peak, raw_load = measure(
        lambda: anonymize_export(export.data, policy, mapping=export.mapping, key=key,
                                 file="site_03.csv"))
    rep, raw_rep = result.report.to_dict(), raw_result.report.to_dict()
    out = {
        "date": dt.date.today().isoformat(),
        "machine": f"{platform.machine()} {platform.system()}, {os.cpu_count()} cpus",
        "python": platform.python_version(),
        "rows": len(df), "columns_in": df.shape[1],
        "identifier_columns": [c for c, why in rep["removed"].items()
                               if why.startswith("direct identifier")],
        "models": rep["models"],
        "seconds": round(seconds, 3),
        "load": load,
        "simulate_seconds": round(prep, 3),
        "peak_python_mib": round(peak, 1),
        "input_mib": round(df.memory_usage(deep=True).sum() / 2**20, 1),
        **summary(rep),
        "raw_export": {
            "seconds": round(raw_seconds, 3),
            "load": raw_load,
            "peak_python_mib": round(raw_peak, 1),
            "input_mib": round(export.data.memory_usage(deep=True).sum() / 2**20, 1),
            "columns_in": export.data.shape[1],
            "harmonization": {k: raw_rep["harmonization"][k] for k in (
                "rows_in", "rows_out", "dropped_total", "repaired_total")},
            "identifiers": {i["source"]: i["action"] for i in raw_rep["identifiers"]},
            **summary(raw_rep),
        },
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    _LOG.info("%s", json.dumps(out, indent=2))
    if not args.no_doc:
        write_doc(markdown(out))
        _LOG.info("updated %s", DOC)


if __name__ == "__main__":
    main()
