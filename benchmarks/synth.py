"""Speed, memory and fidelity of the synthesizers on the full AML dictionary.

Each configuration (method, epsilon, rows) runs in its own subprocess so that its peak resident
memory (``getrusage`` max RSS: Python, JAX/XLA buffers and the data together) is its own and a
slow run can be stopped. A run simulates a pooled 3-site AML cohort of ``rows`` patients, fits the
synthesizer, samples as many rows, and compares synthetic with source on the public Domain's
discretised codes: the mean total-variation distance over all 1-way marginals and over a fixed
random sample of 200 attribute pairs. A ``reference`` row gives the same distances between the
source and as many rows drawn from it with replacement: the sampling-noise floor that even a
generator reproducing the source distribution exactly would show.

This script measures; it asserts nothing. Results go to ``benchmarks/results/synth.json`` and a
table in ``docs/benchmarks.md`` (between the synth-benchmark markers).

    python benchmarks/synth.py            # the full grid (long: run it in the background)
    python benchmarks/synth.py --quick    # 1k rows, mst and independent, a few minutes
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

from _docpage import machine, write_section

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- synth-benchmark:start -->", "<!-- synth-benchmark:end -->"

DATA_SEED = 2024  # the simulated source cohort
REFERENCE_SEED = 4048  # the bootstrap draw of the noise floor
SYNTH_SEED = 0
N_PAIRS = 200
PAIR_SEED = 0
DELTA = 1e-6
TARGETS = {"seconds_10k": 60.0, "peak_rss_gb": 2.0, "tvd2_eps1": 0.05}

FULL = {
    "methods": ("mst", "aim", "independent"),
    "sizes": (1_000, 10_000, 50_000),  # speed and memory, at epsilon 1
    "epsilons": (0.5, 1.0, 4.0, math.inf),  # fidelity, at quality_rows
    "quality_rows": 10_000,
}
QUICK = {
    "methods": ("mst", "independent"),
    "sizes": (1_000,),
    "epsilons": (1.0, math.inf),
    "quality_rows": 1_000,
}


# ---- one configuration, in a child process ----------------------------------------------------
def _max_rss_bytes() -> int:
    import resource

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024  # Linux reports KiB


def _pooled(rows: int, seed: int):
    import pandas as pd

    from synthema.cohorts.simulate import simulate

    sites = simulate("aml", sites=3, patients=rows, seed=seed)
    return pd.concat([s.data for s in sites], ignore_index=True)


def _tvd(real, synth) -> tuple[list[float], list[float]]:
    """Total-variation distances of 1-way marginals (every column) and 2-way (given pairs)."""
    import numpy as np

    from synthema.schema import load_dictionary
    from synthema.stats import Domain

    d = load_dictionary("aml")
    domain = Domain.from_dictionary(d)
    ids = [d.patient_id] if d.patient_id else []  # distances ignore ids (bootstrap repeats them)
    a = domain.encode(real.drop(columns=ids, errors="ignore")).codes
    b = domain.encode(synth.drop(columns=ids, errors="ignore")).codes
    shape = domain.shape
    pairs = _pairs(len(shape))

    def dist(x, y, size):
        p = np.bincount(x, minlength=size) / max(len(x), 1)
        q = np.bincount(y, minlength=size) / max(len(y), 1)
        return 0.5 * float(np.abs(p - q).sum())

    one = [dist(a[:, j], b[:, j], shape[j]) for j in range(len(shape))]
    two = [
        dist(a[:, i] * shape[j] + a[:, j], b[:, i] * shape[j] + b[:, j], shape[i] * shape[j])
        for i, j in pairs
    ]
    return one, two


def _pairs(n_attributes: int) -> list[tuple[int, int]]:
    import itertools

    import numpy as np

    every = list(itertools.combinations(range(n_attributes), 2))
    rng = np.random.default_rng(PAIR_SEED)
    pick = rng.choice(len(every), size=min(N_PAIRS, len(every)), replace=False)
    return [every[k] for k in sorted(pick)]


def run_child(config: dict) -> dict:
    """Fit and sample one configuration; return timings, memory and distances."""
    import numpy as np

    rows, method = config["rows"], config["method"]
    epsilon = float(config["epsilon"])
    t0 = time.perf_counter()
    real = _pooled(rows, DATA_SEED)
    simulate_s = time.perf_counter() - t0
    out: dict = {"simulate_s": round(simulate_s, 2)}
    if method == "reference":
        # a perfect copy of the source distribution, sampled: rows drawn with replacement
        synth_df = real.sample(n=rows, replace=True, random_state=REFERENCE_SEED)
    else:
        from synthema.synth import create_synthesizer

        out["rss_before_fit_mb"] = round(_max_rss_bytes() / 2**20, 1)
        model = create_synthesizer(
            method, dictionary="aml", epsilon=epsilon, delta=DELTA, random_state=SYNTH_SEED
        )
        t0 = time.perf_counter()
        model.fit(real)
        out["fit_s"] = round(time.perf_counter() - t0, 2)
        t0 = time.perf_counter()
        synth_df = model.sample(rows, random_state=SYNTH_SEED)
        out["sample_s"] = round(time.perf_counter() - t0, 2)
        out["fit_sample_s"] = round(out["fit_s"] + out["sample_s"], 2)
        out["peak_rss_mb"] = round(_max_rss_bytes() / 2**20, 1)
        spent = dict(model.privacy_spent_)
        out["privacy_spent"] = {k: _json_number(v) for k, v in spent.items()}
        report = getattr(model, "sampling_report_", None)
        out["sampling_report"] = _jsonable(report)
    one, two = _tvd(real, synth_df)
    out.update(
        tvd1_mean=round(float(np.mean(one)), 4),
        tvd1_max=round(float(np.max(one)), 4),
        tvd2_mean=round(float(np.mean(two)), 4),
        tvd2_max=round(float(np.max(two)), 4),
        n_pairs=len(two),
    )
    return out


def _json_number(value):
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # "inf": JSON has no infinity
    return value


def _jsonable(value):
    try:
        return json.loads(json.dumps(value, default=str))
    except (TypeError, ValueError):
        return str(value)


# ---- the grid, in the parent ----------------------------------------------------------------

def configurations(grid: dict) -> list[dict]:
    """Speed runs (every size at epsilon 1), fidelity runs (every epsilon), noise floors."""
    seen, out = set(), []

    def add(purpose, method, epsilon, rows):
        key = (method, epsilon, rows)
        if key in seen:
            next(c for c in out if c["key"] == key)["purpose"] += f"+{purpose}"
            return
        seen.add(key)
        out.append(
            {"key": key, "purpose": purpose, "method": method, "epsilon": epsilon, "rows": rows}
        )

    for rows in sorted(set(grid["sizes"]) | {grid["quality_rows"]}):
        add("floor", "reference", math.inf, rows)
    for method in grid["methods"]:
        for rows in grid["sizes"]:
            add("speed", method, 1.0, rows)
        for eps in grid["epsilons"]:
            add("fidelity", method, eps, grid["quality_rows"])
    return out


def run_grid(grid: dict, *, timeout: float, log=print) -> list[dict]:
    runs = []
    too_slow: dict[str, int] = {}  # method -> smallest size that timed out
    for config in configurations(grid):
        method, eps, rows = config["method"], config["epsilon"], config["rows"]
        label = f"{method} eps={eps:g} rows={rows}"
        record = {k: config[k] for k in ("purpose", "method", "rows")}
        record["epsilon"] = _json_number(float(eps))
        if method in too_slow and rows >= too_slow[method]:
            record["status"] = "skipped"
            record["note"] = f"a run with {too_slow[method]} rows already exceeded {timeout:g} s"
            log(f"{label}: skipped")
            runs.append(record)
            continue
        payload = json.dumps({"method": method, "epsilon": str(eps), "rows": rows})
        record["load_before"] = _load()
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(
                [sys.executable, __file__, "--child", payload],
                capture_output=True,
                text=True,
                timeout=timeout,
                cwd=ROOT,
            )
        except subprocess.TimeoutExpired:
            record["status"] = "timeout"
            record["note"] = f"stopped after {timeout:g} s"
            too_slow[method] = min(rows, too_slow.get(method, rows))
            log(f"{label}: timeout after {timeout:g} s")
            runs.append(record)
            continue
        wall = time.perf_counter() - t0
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        if proc.returncode != 0 or not lines:
            record["status"] = "error"
            record["note"] = (proc.stderr.strip().splitlines() or ["no output"])[-1][:300]
            log(f"{label}: error: {record['note']}")
        else:
            record["status"] = "ok"
            record.update(json.loads(lines[-1]))
            record["process_s"] = round(wall, 1)
            record["load_after"] = _load()
            log(
                f"{label}: "
                + ", ".join(
                    f"{k}={record[k]}"
                    for k in ("fit_sample_s", "peak_rss_mb", "tvd1_mean", "tvd2_mean")
                    if k in record
                )
            )
        runs.append(record)
    return runs


def _load() -> float | None:
    """1-minute load average: timings taken while other work shares the cores are slower."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def _mean_load(runs: list[dict]) -> float | None:
    loads = [r[k] for r in runs for k in ("load_before", "load_after") if r.get(k) is not None]
    return round(sum(loads) / len(loads), 2) if loads else None


# ---- reporting ----------------------------------------------------------------------------
def _eps(value) -> str:
    return "∞ (no noise)" if str(value) == "inf" else f"{float(value):g}"


def _cell(run: dict, key: str, fmt: str = "{}") -> str:
    if run.get("status") != "ok":
        return run.get("status", "-")
    return fmt.format(run[key]) if key in run else "-"


def targets(result: dict) -> list[dict]:
    """Each target, per method: the measured value and whether it is met."""
    runs = [r for r in result["runs"] if r.get("status") == "ok"]
    quality_rows = result["grid"]["quality_rows"]
    out = []
    for method in result["grid"]["methods"]:
        mine = [r for r in result["runs"] if r["method"] == method]
        at10k = [
            r for r in runs if r["method"] == method and r["rows"] == 10_000 and r["epsilon"] == 1.0
        ]
        if at10k:
            s = at10k[0]["fit_sample_s"]
            out.append(
                {
                    "method": method,
                    "target": "fit+sample, 10k rows ≤ 60 s",
                    "value": f"{s:.1f} s",
                    "met": s <= TARGETS["seconds_10k"],
                }
            )
        elif any(r["rows"] == 10_000 for r in mine):
            out.append(
                {
                    "method": method,
                    "target": "fit+sample, 10k rows ≤ 60 s",
                    "value": "did not finish",
                    "met": False,
                }
            )
        peaks: dict[int, float] = {}  # rows -> the largest peak of any run of that size
        for r in runs:
            if r["method"] == method and "peak_rss_mb" in r:
                peaks[r["rows"]] = max(peaks.get(r["rows"], 0.0), r["peak_rss_mb"])
        if peaks:  # judged on every run
            worst = max(peaks.values())
            by_size = ", ".join(f"{n // 1000}k: {mb / 1024:.2f}" for n, mb in sorted(peaks.items()))
            out.append(
                {
                    "method": method,
                    "target": "peak memory ≤ 2 GB (every size measured)",
                    "value": f"{worst / 1024:.2f} GB (GB by rows: {by_size})",
                    "met": worst / 1024 <= TARGETS["peak_rss_gb"],
                }
            )
        q = [
            r
            for r in runs
            if r["method"] == method and r["rows"] == quality_rows and r["epsilon"] == 1.0
        ]
        if q:
            v = q[0]["tvd2_mean"]
            out.append(
                {
                    "method": method,
                    "target": f"mean 2-way TVD at ε = 1 ({quality_rows:,} rows) ≤ 0.05",
                    "value": f"{v:.4f}",
                    "met": v <= TARGETS["tvd2_eps1"],
                }
            )
    return out


def markdown(result: dict) -> str:
    m = result["machine"]
    pk = ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v)
    lines = [
        START,
        f"Measured {result['date']} with `{result['command']}` "
        f"({result['total_minutes']:.0f} min in all).",
        "",
        f"Machine: {m['cores']} cores ({m['cpu']}), {m['ram_gb']} GB RAM, Python {m['python']}, "
        f"{m['platform']}; {pk}. Mean 1-minute load average around the runs: "
        f"{_mean_load(result['runs'])} (a load above the benchmark's own 1 means other work "
        "shared the cores: timings are then upper bounds).",
        "",
        f"Data: the full AML dictionary ({result['attributes']} attributes), a simulated 3-site "
        f"cohort pooled (seed {DATA_SEED}); the synthesizer samples as many rows as it was fitted "
        f"on; δ = {DELTA:g}. Time is fit + sample in the child process (imports and simulation "
        "excluded); memory is the child's peak resident set size (Python, JAX and data "
        "together). TVD is the total-variation distance between synthetic and source marginals on "
        f"the Domain's codes: mean over all 1-way marginals, and over {N_PAIRS} fixed random "
        "pairs for 2-way (0 = identical, 1 = disjoint). The *reference* rows compare the source "
        "with as many rows drawn from it with replacement: the sampling-noise floor that even a "
        "generator reproducing the source distribution exactly would show.",
        "",
        "### Targets",
        "",
        "| method | target | measured | met |",
        "|---|---|---|---|",
    ]
    for t in targets(result):
        lines.append(
            f"| {t['method']} | {t['target']} | {t['value']} | {'yes' if t['met'] else '**no**'} |"
        )
    lines += [
        "",
        "### Speed and memory (ε = 1)",
        "",
        "| method | rows | fit (s) | sample (s) | fit + sample (s) | peak RSS (MB) | "
        "mean 1-way TVD | mean 2-way TVD |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    runs = result["runs"]
    for r in runs:
        if "speed" in r["purpose"]:
            lines.append(
                f"| {r['method']} | {r['rows']:,} | {_cell(r, 'fit_s')} | {_cell(r, 'sample_s')} "
                f"| {_cell(r, 'fit_sample_s')} | {_cell(r, 'peak_rss_mb')} "
                f"| {_cell(r, 'tvd1_mean')} | {_cell(r, 'tvd2_mean')} |"
            )
    q = result["grid"]["quality_rows"]
    lines += [
        "",
        f"### Fidelity by ε ({q:,} rows)",
        "",
        "| method | ε | ρ spent | mean 1-way TVD | mean 2-way TVD | max 2-way TVD | "
        "fit + sample (s) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        if r["rows"] == q and (r["method"] == "reference" or "fidelity" in r["purpose"]):
            rho = (r.get("privacy_spent") or {}).get("rho", "-")
            rho = f"{rho:.4g}" if isinstance(rho, float) else str(rho)
            eps = "-" if r["method"] == "reference" else _eps(r["epsilon"])
            lines.append(
                f"| {r['method']} | {eps} | {rho if r['method'] != 'reference' else '-'} "
                f"| {_cell(r, 'tvd1_mean')} | {_cell(r, 'tvd2_mean')} | {_cell(r, 'tvd2_max')} "
                f"| {_cell(r, 'fit_sample_s') if r['method'] != 'reference' else '-'} |"
            )
    floors = [r for r in runs if r["method"] == "reference" and r["rows"] != q]
    if floors:
        lines += [
            "",
            "Reference (noise floor) at other sizes: "
            + "; ".join(
                f"{r['rows']:,} rows: 1-way {_cell(r, 'tvd1_mean')}, 2-way {_cell(r, 'tvd2_mean')}"
                for r in floors
            )
            + ".",
        ]
    notes = [r for r in runs if r.get("status") != "ok"]
    if notes:
        lines += [
            "",
            "Runs that did not finish: "
            + "; ".join(
                f"{r['method']} ε={_eps(r['epsilon'])} {r['rows']:,} rows: {r['status']}"
                f" ({r.get('note', '')})"
                for r in notes
            )
            + ".",
        ]
    lines.append(END)
    return "\n".join(lines)


def write_doc(text: str, path: Path = DOC) -> None:
    """Replace this benchmark's section of docs/benchmarks.md."""
    write_section(text, start=START, end=END, heading="Synthesizers", path=path)


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1k rows, mst + independent")
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds per configuration (default 1200; quick: 300)",
    )
    parser.add_argument("--methods", nargs="+", help="override the methods")
    parser.add_argument("--sizes", nargs="+", type=int, help="override the speed sizes")
    parser.add_argument("--epsilons", nargs="+", type=float, help="override the fidelity ε")
    parser.add_argument("--quality-rows", type=int, help="override the fidelity size")
    parser.add_argument("--out", type=Path, help="result JSON (default results/synth.json)")
    parser.add_argument("--no-doc", action="store_true", help="do not update docs/benchmarks.md")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite docs/benchmarks.md from the result JSON; run nothing",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        config = json.loads(args.child)
        _say(json.dumps(run_child(config)))
        return 0

    if args.report_only:
        source = args.out or RESULTS / "synth.json"
        result = json.loads(source.read_text(encoding="utf-8"))
        result["target_results"] = targets(result)
        source.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        write_doc(markdown(result))
        _say(f"updated {DOC} from {source}")
        return 0

    grid = dict(QUICK if args.quick else FULL)
    if args.methods:
        grid["methods"] = tuple(args.methods)
    if args.sizes:
        grid["sizes"] = tuple(args.sizes)
    if args.epsilons:
        grid["epsilons"] = tuple(args.epsilons)
    if args.quality_rows:
        grid["quality_rows"] = args.quality_rows
    timeout = args.timeout or (300.0 if args.quick else 1200.0)
    out = args.out or RESULTS / ("synth_quick.json" if args.quick else "synth.json")
    command = "python benchmarks/synth.py" + (
        " " + " ".join(sys.argv[1:]) if argv is None and len(sys.argv) > 1 else ""
    )
    start = time.perf_counter()

    def log(msg: str) -> None:
        _say(f"[{time.perf_counter() - start:7.0f} s] {msg}")

    runs = run_grid(grid, timeout=timeout, log=log)
    from synthema.schema import load_dictionary

    result = {
        "benchmark": "synth",
        "date": dt.date.today().isoformat(),
        "command": command,
        "machine": machine(),
        "grid": {
            k: [str(v) if isinstance(v, float) and math.isinf(v) else v for v in val]
            if isinstance(val, tuple)
            else val
            for k, val in grid.items()
        },
        "timeout_s": timeout,
        "attributes": len(load_dictionary("aml")),
        "delta": DELTA,
        "n_pairs": N_PAIRS,
        "targets": TARGETS,
        "total_minutes": round((time.perf_counter() - start) / 60, 1),
        "runs": runs,
    }
    result["target_results"] = targets(result)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    log(f"wrote {out}")
    if not args.no_doc and not args.quick:
        write_doc(markdown(result))
        log(f"updated {DOC}")
    _say(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
