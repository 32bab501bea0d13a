"""The survival anchor at ε = 1: Cox C-index, Kaplan-Meier gap and 2-way TVD over many fits.

A single ε = 1 fit is one noise draw, and the C-index of a Cox model trained on a few hundred
synthetic rows moves by ±0.1 from draw to draw; this script fits each method ``--fits`` times
on the same split of each dataset (the peer benchmark's datasets, split and scores:
``benchmarks/peers.py``) and reports mean ± standard deviation.

    .venv/bin/python benchmarks/anchor.py --fits 10                      # lifelines cohorts
    .venv/bin/python benchmarks/anchor.py --datasets aml --fits 3 --methods auto

Methods: ``independent`` (plain independent marginals: no association at all), ``anchored``
(independent marginals with ``survival_anchor=True``) and ``auto`` (the default: what the
command line fits). Results go to ``benchmarks/results/anchor.json`` (merged by dataset and
method) and the table is printed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peers  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "anchor.json"
LIFELINES = ("rossi", "gbsg2", "lung", "kidney_transplant", "stanford_heart")
METHODS = {"independent": ("independent", {}),
           "anchored": ("independent", {"survival_anchor": True}),
           "auto": ("auto", {})}


def run(dataset: str, method: str, fits: int, epsilon: float) -> dict:
    """``fits`` fits of ``method`` on the seed-0 training split, each scored on the holdout."""
    from synthema.synth import create_synthesizer

    d, df, _ = peers.load_dataset(dataset)
    train, hold = peers.split(df, 0)
    name, params = METHODS[method]
    rows = []
    for r in range(fits):
        start = time.perf_counter()
        s = create_synthesizer(name, dictionary=d, epsilon=epsilon, random_state=r, **params)
        s.fit(train)
        synthetic = s.sample(len(train), random_state=r)
        seconds = time.perf_counter() - start
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sc = peers.score(train, hold, synthetic, d)
        rows.append({"cindex": float(np.mean(list(sc["cindex_tstr"].values()))),
                     "cindex_real": float(np.mean(list(sc["cindex_trtr"].values()))),
                     "km_gap": float(max(sc["km_gap"].values())), "tvd2": sc["tvd2"],
                     "fitted": s.method, "seconds": round(seconds, 2)})
        print(dataset, method, r, rows[-1], flush=True)  # noqa: T201
    out = {"fits": fits, "epsilon": epsilon, "fitted": sorted({r["fitted"] for r in rows}),
           "cindex_real": rows[0]["cindex_real"]}
    for key in ("cindex", "km_gap", "tvd2"):
        values = np.array([r[key] for r in rows])
        out[key] = [float(values.mean()), float(values.std())]
    return out


def table(results: dict) -> str:
    lines = ["| dataset | method (fitted) | fits | C-index (real) | KM gap | 2-way TVD |",
             "|---|---|---:|---:|---:|---:|"]
    for dataset, methods in results.items():
        for method, r in methods.items():
            lines.append(
                f"| {dataset} | {method} ({', '.join(r['fitted'])}) | {r['fits']} | "
                f"{r['cindex'][0]:.3f} ± {r['cindex'][1]:.3f} ({r['cindex_real']:.3f}) | "
                f"{r['km_gap'][0]:.3f} ± {r['km_gap'][1]:.3f} | "
                f"{r['tvd2'][0]:.3f} ± {r['tvd2'][1]:.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", nargs="+", default=list(LIFELINES))
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    ap.add_argument("--fits", type=int, default=10)
    ap.add_argument("--epsilon", type=float, default=1.0)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    for dataset in args.datasets:
        for method in args.methods:
            results.setdefault(dataset, {})[method] = run(dataset, method, args.fits,
                                                          args.epsilon)
            args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(table(results))  # noqa: T201


if __name__ == "__main__":
    main()
