"""Time ``synthema evaluate`` on 10 000 x 146 AML rows (issue target: at most 60 s on 2 cores).

Three independent simulated cohorts stand for training, holdout and synthetic data (a perfect
generator). Timed twice: the library call on typed frames, and the command end to end (reading
and validating three CSV files, every metric, report.json and report.html). Writes
``benchmarks/results/evaluate.json``.

    .venv/bin/python benchmarks/evaluate.py [--patients 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from synthema.cohorts.simulate import simulate
from synthema.evaluate import evaluate
from synthema.evaluate.files import evaluate_files
from synthema.schema import format_frame, load_dictionary

RESULTS = Path(__file__).parent / "results" / "evaluate.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    d = load_dictionary("aml")
    frames = {name: simulate("aml", sites=1, patients=args.patients, seed=seed)[0].data
              for name, seed in (("train", 1), ("holdout", 2), ("synthetic", 3))}
    start = time.perf_counter()
    report = evaluate(frames["train"], frames["synthetic"], dictionary=d,
                      holdout=frames["holdout"])
    library = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for name, df in frames.items():
            paths[name] = Path(tmp) / f"{name}.csv"
            format_frame(df, d).to_csv(paths[name], index=False)
        start = time.perf_counter()
        done = evaluate_files(dictionary="aml", real=paths["train"], holdout=paths["holdout"],
                              synthetic=paths["synthetic"], out=Path(tmp) / "report")
        command = time.perf_counter() - start
        html_mb = done.html_path.stat().st_size / 2**20
    result = {
        "benchmark": "evaluate",
        "rows": args.patients,
        "columns": len(d.columns),
        "variables": len(d),
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else
        os.cpu_count(),
        "python": platform.python_version(),
        "seconds_library": round(library, 2),
        "seconds_command_end_to_end": round(command, 2),
        "report_html_mib": round(html_mb, 2),
        "target_seconds": 60,
        "per_metric_seconds": {r.name: round(r.seconds, 2) for r in report.results},
        "score": round(report.get_score(), 4),
        "statuses": {r.name: r.status for r in report.results},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if k != "statuses"}, indent=2))  # noqa: T201


if __name__ == "__main__":
    main()
