"""MST against AIM against independent marginals, on dictionaries of different sizes.

The evidence behind ``--method auto`` (:mod:`synthema.synth.auto`): which of synthema's
private methods gives the most faithful rows, as a function of what is public before a fit
(the dictionary's size and ε). Reproducible with the repository alone::

    .venv/bin/python benchmarks/methods.py run                       # the full grid (about 2 h)
    .venv/bin/python benchmarks/methods.py run --datasets rossi lung --seeds 0 --epsilons 1
    .venv/bin/python benchmarks/methods.py report                    # rewrite the docs section

Datasets, splits and scores are those of ``benchmarks/peers.py`` (the five lifelines survival
datasets with their dictionaries under ``benchmarks/dictionaries/``, the simulated SCD cohort
and the 29-variable AML projection; 70/30 split; fidelity on the training data's decile bins;
Kaplan–Meier gap, Cox C-index trained on synthetic and tested on the holdout, rule violations
from ``synthema.evaluate``). Each (dataset, split seed, ε, method) is fitted in this process
through the library (``create_synthesizer(...).fit(train)``), samples as many rows as the
training split and is scored. The 146-variable AML dictionary is covered by
``benchmarks/synth.py`` (its tables compare the same three methods at 1k-50k rows).

ε = 1 fits draw their noise from the operating system: each split seed is also a new noise
draw, so the seeds average over both. This script measures; it asserts nothing. Results:
``benchmarks/results/methods.json`` (merged run by run) and a section of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
from _docpage import PACKAGES, machine, write_section
from peers import DELTA, _load, load_dataset, score, split

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "methods.json"
DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- methods-benchmark:start -->", "<!-- methods-benchmark:end -->"

METHODS = ("mst", "aim", "independent")
#: AML variants that separate the dictionary's size from the number of patients: the
#: lifelines datasets are small in both, the simulated cohorts large in both
AML_9 = ("age", "sex", "eln2022", "wbc", "npm1", "flt3_itd", "induction_intensity", "os_days",
         "os_status")
VARIANTS = {"aml_9": (AML_9, 2000), "aml_few": (None, 430)}  # (projection, patients)
DATASETS = ("kidney_transplant", "stanford_heart", "rossi", "lung", "gbsg2", "aml_9", "aml",
            "aml_few", "scd")
EPSILONS = (0.3, 1.0, 4.0, math.inf)
SEEDS = (0, 1, 2)
#: the scores compared (lower is better for each); KM is the worst survival pair
SCORES = (("tvd2", "2-way TVD"), ("cramers_v_gap", "V gap"), ("km", "KM gap"),
          ("cindex_loss", "C-index loss"))


def _eps_json(epsilon: float):
    return "inf" if math.isinf(epsilon) else epsilon


def _eps(value) -> float:
    return math.inf if value == "inf" else float(value)


def load(name: str) -> tuple:
    """``peers.load_dataset``, plus the AML variants of :data:`VARIANTS`: ``aml_9`` (9 of the
    29 variables of the peers' AML projection, 2,000 patients) and ``aml_few`` (all 29, 430
    patients, as many as rossi)."""
    if name not in VARIANTS:
        return load_dataset(name)
    columns, patients = VARIANTS[name]
    d, df, _ = load_dataset("aml", patients=patients)
    if columns is not None:
        d = d.project(columns)
        df = df[list(d.columns)]
    return d, df.reset_index(drop=True), None


def domain_facts(d) -> dict:
    """What is public about a dictionary's domain: attributes and cells."""
    from synthema.stats import Domain

    shape = Domain.from_dictionary(d).shape
    return {"attributes": len(shape), "cells": int(sum(shape)),
            "log10_joint_cells": round(float(np.sum(np.log10(shape))), 1)}


def run_one(dataset: str, seed: int, epsilon: float, method: str, data: tuple) -> dict:
    """Fit, sample and score one (dataset, split seed, ε, method) in this process."""
    from synthema.synth import create_synthesizer

    d, df, _ = data
    train, holdout = split(df, seed)
    record = {"dataset": dataset, "seed": seed, "epsilon": _eps_json(epsilon),
              "method": method, "rows": len(train), "load_before": _load()}
    start = time.perf_counter()
    try:
        synth = create_synthesizer(method, dictionary=d, epsilon=epsilon, delta=DELTA,
                                   random_state=seed).fit(train)
        synthetic = synth.sample(len(train), random_state=seed)
    except Exception as exc:  # noqa: BLE001 - a benchmark records what failed and goes on
        record.update(status="error", note=f"{type(exc).__name__}: {exc}")
        return record
    record["seconds"] = round(time.perf_counter() - start, 2)
    record["status"] = "ok"
    record["metrics"] = score(train, holdout, synthetic, d, random_state=seed)
    record["load_after"] = _load()
    return record


def _key(r: dict) -> tuple:
    return (r["dataset"], r["seed"], str(r["epsilon"]), r["method"])


def load_results(path: Path = RESULTS) -> dict:
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    return {"benchmark": "methods", "runs": []}


def run_grid(args) -> dict:
    result = load_results(args.out)
    result.update(benchmark="methods", machine=machine((*PACKAGES, "lifelines")),
                  settings={"delta": DELTA})
    result.setdefault("invocations", []).append({
        "date": dt.date.today().isoformat(),
        "command": "python benchmarks/methods.py " + " ".join(sys.argv[1:])})
    for dataset in args.datasets:
        data = load(dataset)
        result.setdefault("domains", {})[dataset] = domain_facts(data[0]) | {
            "patients": len(data[1])}
        for seed in args.seeds:
            for epsilon in args.epsilons:
                for method in args.methods:
                    record = run_one(dataset, seed, epsilon, method, data)
                    result["runs"] = [r for r in result["runs"] if _key(r) != _key(record)]
                    result["runs"].append(record)
                    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
                    m = record.get("metrics", {})
                    print(f"{dataset} seed={seed} eps={epsilon:g} {method}: "  # noqa: T201
                          f"{record['status']} tvd2={m.get('tvd2')} km={m.get('km_gap')} "
                          f"s={record.get('seconds')} {record.get('note', '')}", flush=True)
    return result


# ---- reporting ---------------------------------------------------------------------------------
def _values(record: dict) -> dict:
    """The compared scores of one run (KM and C-index: the worst survival pair)."""
    m = record["metrics"]
    km = [v for v in (m.get("km_gap") or {}).values() if v is not None]
    loss = [abs(m["cindex_trtr"][k] - v) for k, v in (m.get("cindex_tstr") or {}).items()
            if v is not None and m.get("cindex_trtr", {}).get(k) is not None]
    return {"tvd2": m.get("tvd2"), "cramers_v_gap": m.get("cramers_v_gap"),
            "km": max(km) if km else None, "cindex_loss": max(loss) if loss else None}


def summarise(result: dict) -> list[dict]:
    """One row per (dataset, ε, method): means over the seeds that ran, and the seeds."""
    cells: dict[tuple, list[dict]] = {}
    for r in result["runs"]:
        if r.get("status") == "ok":
            cells.setdefault((r["dataset"], str(r["epsilon"]), r["method"]), []).append(r)
    rows = []
    for (dataset, eps, method), runs in cells.items():
        vals = [_values(r) for r in runs]
        row = {"dataset": dataset, "epsilon": eps, "method": method, "seeds": len(runs),
               "seconds": float(np.mean([r["seconds"] for r in runs]))}
        for key, _ in SCORES:
            xs = [v[key] for v in vals if v[key] is not None]
            row[key] = float(np.mean(xs)) if xs else None
        rows.append(row)
    return rows


def winners(rows: list[dict]) -> dict[tuple, dict[str, str]]:
    """For each (dataset, ε): the method with the lowest mean of each score."""
    out: dict[tuple, dict[str, str]] = {}
    for dataset, eps in {(r["dataset"], r["epsilon"]) for r in rows}:
        here = [r for r in rows if (r["dataset"], r["epsilon"]) == (dataset, eps)]
        out[(dataset, eps)] = {}
        for key, _ in SCORES:
            scored = [r for r in here if r[key] is not None]
            if scored:
                out[(dataset, eps)][key] = min(scored, key=lambda r: r[key])["method"]
    return out


def mean_ranks(rows: list[dict]) -> dict[tuple, dict[str, float]]:
    """For each (dataset, ε) where all three methods ran: each method's rank (1 = best) on
    each score, averaged over the scores (ties share the better rank)."""
    out: dict[tuple, dict[str, float]] = {}
    for dataset, eps in {(r["dataset"], r["epsilon"]) for r in rows}:
        here = {r["method"]: r for r in rows if (r["dataset"], r["epsilon"]) == (dataset, eps)}
        if set(here) != set(METHODS):
            continue
        ranks: dict[str, list[int]] = {m: [] for m in METHODS}
        for key, _ in SCORES:
            values = {m: here[m][key] for m in METHODS if here[m][key] is not None}
            for m, v in values.items():
                ranks[m].append(1 + sum(w < v for w in values.values()))
        out[(dataset, eps)] = {m: float(np.mean(r)) for m, r in ranks.items() if r}
    return out


def auto_choices(result: dict) -> dict[tuple, str]:
    """What ``--method auto`` chooses for each (dataset, ε) of the results, by today's rule:
    the plan, settled on the number of training rows (which the noisy count estimates within
    a few tens of patients at ε = 1)."""
    from synthema.synth.auto import CANDIDATES, choose_method, settle

    out = {}
    for dataset in {r["dataset"] for r in result["runs"]}:
        d = load(dataset)[0]
        rows = next(r["rows"] for r in result["runs"] if r["dataset"] == dataset)
        for eps in {str(r["epsilon"]) for r in result["runs"] if r["dataset"] == dataset}:
            plan = choose_method(d, epsilon=_eps(eps))
            if plan.method != "independent" and math.isfinite(_eps(eps)):
                plan = settle(plan, patients=rows, allowed=CANDIDATES)
            out[(dataset, eps)] = plan.method
    return out


def _fmt(value, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _shown(eps: str) -> str:
    return "∞" if eps == "inf" else f"{_eps(eps):g}"


def markdown(result: dict) -> str:
    rows = summarise(result)
    domains = result.get("domains", {})
    order = [d for d in DATASETS if d in {r["dataset"] for r in rows}]
    order.sort(key=lambda d: (domains.get(d, {}).get("attributes", 0),
                              domains.get(d, {}).get("patients", 0)))
    eps_order = sorted({r["epsilon"] for r in rows}, key=_eps)
    ranks, auto, best = mean_ranks(rows), auto_choices(result), winners(rows)
    m = result.get("machine", {})
    lines = [START, ""]
    for inv in result.get("invocations", []):
        lines.append(f"- {inv['date']}: `{inv['command']}`")
    pk = m.get("packages", {})
    lines += ["", f"Machine: {m.get('cores')} cores ({m.get('cpu')}), {m.get('ram_gb')} GB RAM, "
              f"Python {m.get('python')}; " + ", ".join(f"{k} {v}" for k, v in pk.items())
              + ". Seconds are fit + sample in one process (JAX compilation included) on "
              "cores shared with other work: upper bounds.", "",
              "Scores (lower is better): 2-way TVD and V gap (mean |Cramér's V real − "
              "synthetic|) on the training data's decile bins, as in the peers table; KM gap: "
              "the worst survival pair's Kaplan–Meier max gap; C-index loss: |Harrell's C of a "
              "Cox model trained on synthetic rows − trained on real rows|, both tested on the "
              "holdout (worst pair). Each is the mean over the split seeds that ran (70/30; at a "
              "finite ε each seed is also a fresh noise draw). *Rank*: each method's rank among "
              "the three on each of the four scores, averaged (1 = best on all four). *auto*: "
              "what `--method auto` chooses for that dictionary and ε today (its plan, settled "
              "on the training rows, which the fit's noisy count estimates), and its rank minus "
              "the best rank (0: auto picked the best).", ""]
    head = ["dataset (attributes, cells, patients)", "ε", "seeds", "rank mst", "rank aim",
            "rank independent", "auto", "auto − best"]
    lines += ["| " + " | ".join(head) + " |", "|---|---|---:|---:|---:|---:|---|---:|"]
    regrets = []
    for dataset in order:
        facts = domains.get(dataset, {})
        name = (f"{dataset} ({facts.get('attributes')}, {facts.get('cells')}, "
                f"{facts.get('patients')})")
        for eps in eps_order:
            if (dataset, eps) not in ranks:
                continue
            rank = ranks[(dataset, eps)]
            low = min(rank.values())
            seeds = min(r["seeds"] for r in rows if (r["dataset"], r["epsilon"]) == (dataset, eps))
            chosen = auto.get((dataset, eps), "-")
            regret = rank.get(chosen, math.nan) - low
            regrets.append(regret)
            cells = [f"**{rank[x]:.2f}**" if rank[x] == low else f"{rank[x]:.2f}"
                     for x in METHODS]
            lines.append(f"| {name} | {_shown(eps)} | {seeds} | " + " | ".join(cells)
                         + f" | {chosen} | {regret:.2f} |")
    if regrets:
        fixed = ", ".join(
            f"always {x}: {np.mean([ranks[k][x] - min(ranks[k].values()) for k in ranks]):.2f}"
            for x in METHODS)
        lines += ["", f"auto picked a best-ranked method in {sum(r == 0 for r in regrets)} of "
                  f"{len(regrets)} cells; its mean rank above the best: "
                  f"{np.mean(regrets):.2f} ({fixed})."]
    lines += ["", "<details><summary>Every score (bold: the best of the three)</summary>", "",
              "| dataset | ε | method | seeds | " + " | ".join(lb for _, lb in SCORES)
              + " | s |", "|---|---|---|---:|" + "---:|" * (len(SCORES) + 1)]
    for dataset in order:
        for eps in eps_order:
            for method in METHODS:
                row = next((r for r in rows if (r["dataset"], r["epsilon"], r["method"])
                            == (dataset, eps, method)), None)
                if row is None:
                    continue
                cells = []
                for key, _ in SCORES:
                    text = _fmt(row[key])
                    if best.get((dataset, eps), {}).get(key) == method:
                        text = f"**{text}**"
                    cells.append(text)
                lines.append(f"| {dataset} | {_shown(eps)} | {method} | {row['seeds']} | "
                             + " | ".join(cells) + f" | {row['seconds']:.1f} |")
    lines += ["", "</details>", "", END]
    return "\n".join(lines)


def write_doc(result: dict, path: Path = DOC) -> None:
    write_section(markdown(result), start=START, end=END,
                  heading="Which method: MST, AIM or independent", path=path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="fit, sample and score; merge into the results")
    r.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    r.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    r.add_argument("--epsilons", nargs="+", type=float, default=list(EPSILONS))
    r.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS))
    r.add_argument("--out", type=Path, default=RESULTS)
    r.add_argument("--no-doc", action="store_true", help="leave docs/benchmarks.md alone")
    p = sub.add_parser("report", help="rewrite the docs section from the results")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.command == "run":
        args.out.parent.mkdir(parents=True, exist_ok=True)
        result = run_grid(args)
        if not args.no_doc:
            write_doc(result)
        return
    write_doc(load_results(args.out))


if __name__ == "__main__":
    main()
