"""The neural synthesizer (dpvae) against the default marginal method (mst), judged by
``synthema evaluate``'s metrics (issue 16).

A pooled 3-site simulated AML cohort (the full dictionary, the same simulation as
``benchmarks/synth.py``) is the training data, a second simulated cohort the holdout; each
method is fitted at each ε, samples as many rows as it was fitted on, and
:func:`synthema.evaluate.files.evaluate_files` (what ``synthema evaluate`` runs) scores the
sample. Fit time, the privacy spent and each metric's value and status go to
``benchmarks/results/neural.json``; the table is printed (docs/benchmarks.md copies it).
It measures; it asserts nothing.

    python benchmarks/neural.py                       # 1,500 rows, eps 1, mst and dpvae
    python benchmarks/neural.py --rows 1500 --epsilons 1 inf --methods dpvae mst
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from synth import DATA_SEED, DELTA, SYNTH_SEED, _pooled

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
HOLDOUT_SEED = 4242
METRICS = ("column_distance", "pairwise_tvd", "kway_tvd", "discriminator_auroc",
           "classification_auroc_gap", "cindex_gap", "km_distance", "dcr_share",
           "membership_inference_auroc", "rule_violations")


def run(method: str, epsilon: float, rows: int, folder: Path) -> dict:
    """Fit, sample, evaluate one configuration; return the figures."""
    from synthema.evaluate.files import evaluate_files
    from synthema.schema import load_dictionary
    from synthema.synth import create_synthesizer
    from synthema.tables import write_table

    d = load_dictionary("aml")
    real, holdout = _pooled(rows, DATA_SEED), _pooled(max(rows // 3, 300), HOLDOUT_SEED)
    paths = {name: folder / f"{name}.csv" for name in ("real", "holdout", "synthetic")}
    write_table(real, paths["real"], dictionary=d)
    write_table(holdout, paths["holdout"], dictionary=d)
    model = create_synthesizer(method, dictionary=d, epsilon=epsilon, delta=DELTA,
                               random_state=SYNTH_SEED)
    start = time.perf_counter()
    model.fit(real)
    fit_s = time.perf_counter() - start
    write_table(model.sample(rows, random_state=SYNTH_SEED), paths["synthetic"], dictionary=d)
    report = evaluate_files(dictionary=d, real=paths["real"], holdout=paths["holdout"],
                            synthetic=paths["synthetic"], out=folder / "report").report
    out = {"method": method, "epsilon": "inf" if math.isinf(epsilon) else epsilon,
           "rows": rows, "fit_s": round(fit_s, 1),
           "privacy_spent": {k: (str(v) if isinstance(v, float) and not math.isfinite(v)
                                 else v) for k, v in model.privacy_spent_.items()},
           "training": getattr(model, "training_", None),
           "score": report["score"],
           "groups": {g: v.get("score") for g, v in report["groups"].items()},
           "metrics": {m: {"value": report["metrics"][m]["value"],
                           "status": report["metrics"][m]["status"]}
                       for m in METRICS if m in report["metrics"]}}
    if method == "dpvae":
        steps = model.training_["steps"]
        out["seconds_per_step"] = round(fit_s / steps, 2)
    return out


def markdown(runs: list[dict]) -> str:
    head = ["method", "ε", "ε spent", "fit (s)", "s/step", "score",
            *(m for m in METRICS)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in runs:
        spent = r["privacy_spent"]["epsilon"]
        spent = spent if isinstance(spent, str) else f"{spent:.4g}"
        cells = [r["method"], str(r["epsilon"]), spent, f"{r['fit_s']:.0f}",
                 str(r.get("seconds_per_step", "-")), f"{r['score']:.3f}"]
        for m in METRICS:
            v = r["metrics"].get(m, {})
            value = v.get("value")
            cells.append("-" if value is None else f"{value:.3g} ({v['status']})")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1500)
    parser.add_argument("--epsilons", nargs="+", type=float, default=[1.0])
    parser.add_argument("--methods", nargs="+", default=["dpvae", "mst"])
    parser.add_argument("--out", type=Path, default=RESULTS / "neural.json")
    args = parser.parse_args(argv)
    runs = []
    for method in args.methods:
        for eps in args.epsilons:
            with tempfile.TemporaryDirectory() as tmp:
                runs.append(run(method, eps, args.rows, Path(tmp)))
            print(json.dumps(runs[-1]), flush=True)  # noqa: T201
    result = {"benchmark": "neural", "date": dt.date.today().isoformat(),
              "command": "python benchmarks/neural.py " + " ".join(argv or sys.argv[1:]),
              "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
              "runs": runs}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(markdown(runs))  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
