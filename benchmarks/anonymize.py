"""Time and memory of ``synthema anonymize`` on 50k raw AML rows (k=5, l=2).

The input is a simulated 50,000-patient AML cohort (3 sites) in its typed clean form with
the US site style's direct identifiers attached (PATIENT_NAME, MRN, DOB, ZIP), i.e. the
columns a raw export carries. The built-in ``aml`` policy is used with k=5, distinct l=2 on
``eln2022`` and at most 5% suppression. Time is wall-clock of :func:`anonymize` alone (not
simulation); memory is the peak of Python allocations during a second, traced run
(``tracemalloc``, which would distort the timing) and the
process's peak resident set size (``getrusage``). Results go to
``benchmarks/results/anonymize.json``. This script measures; it asserts nothing.

    python benchmarks/anonymize.py            # 50k rows
    python benchmarks/anonymize.py --rows 5000
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
from pathlib import Path

import numpy as np
import pandas as pd

from synthema.anonymize import Models, anonymize, load_policy
from synthema.cohorts.raw import make_raw_export
from synthema.cohorts.simulate import simulate
from synthema.schema import load_dictionary

_LOG = logging.getLogger("benchmarks.anonymize")
RESULTS = Path(__file__).parent / "results" / "anonymize.json"


def raw_rows(rows: int, seed: int = 0) -> pd.DataFrame:
    """``rows`` simulated AML patients with a raw export's identifier columns attached."""
    data = pd.concat([c.data for c in simulate("aml", sites=3, patients=rows, seed=seed)],
                     ignore_index=True)
    export = make_raw_export(data, load_dictionary("aml"), site=3, age_column="age",
                             index_date_column="diagnosis_date",
                             rng=np.random.default_rng(seed))
    idents = export.data[export.mapping["drop"]].reset_index(drop=True)
    return pd.concat([idents, data], axis=1)


def main() -> None:
    """Run the benchmark and write its JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    t0 = time.perf_counter()
    df = raw_rows(args.rows)
    prep = time.perf_counter() - t0
    policy = dataclasses.replace(load_policy("aml"),
                                 models=Models(k=5, l=2, max_suppression=0.05))
    key = os.urandom(32)
    t1 = time.perf_counter()
    result = anonymize(df, policy, key=key)
    seconds = time.perf_counter() - t1
    tracemalloc.start()  # a second, traced run: tracing slows allocation-heavy code a lot
    anonymize(df, policy, key=key)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rep = result.report
    out = {
        "date": dt.date.today().isoformat(),
        "machine": f"{platform.machine()} {platform.system()}, {os.cpu_count()} cpus",
        "python": platform.python_version(),
        "rows": len(df), "columns_in": df.shape[1],
        "identifier_columns": [c for c, why in rep["removed"].items()
                               if why.startswith("direct identifier")],
        "models": rep["models"],
        "seconds": round(seconds, 3),
        "simulate_seconds": round(prep, 3),
        "peak_python_mib": round(peak / 2**20, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "input_mib": round(df.memory_usage(deep=True).sum() / 2**20, 1),
        "records_out": rep["records_out"],
        "achieved": rep["achieved"],
        "generalisation": rep["generalisation"],
        "information_loss": rep["information_loss"],
        "risk_after": {m: rep["risk"]["after"][m] for m in ("prosecutor", "journalist",
                                                             "marketer")},
        "mean_tvd": rep["utility"]["mean_tvd"],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    _LOG.info("%s", json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
