"""synthema's default synthesizer against peer synthesizers, on the same splits, scored alike.

Reproducible by anyone with the repository and the package registry::

    .venv/bin/python benchmarks/peers.py setup     # builds .peers-venv from peers-requirements.txt
    .venv/bin/python benchmarks/peers.py run       # every dataset, method and seed (long)
    .venv/bin/python benchmarks/peers.py run --datasets rossi lung --seeds 0 --epochs 50
    .venv/bin/python benchmarks/peers.py report    # rewrite the docs section from the JSON

Methods (``METHODS``): synthema's default ``synth fit`` (whatever ``--method`` defaults to when
this runs) at ε = 1 and at ε = ∞, through synthema's own command line; smartnoise-synth's MST
and AIM at ε = 1; SDV's GaussianCopula, CTGAN and TVAE (not private: references); and a
*bootstrap floor*: as many rows drawn with replacement from the training split, scored the same
way, i.e. what a generator that reproduced the training distribution exactly would get. The
peers need packages that cannot share synthema's environment (smartnoise-synth 1.0.8 pins
mbi < 2 and opacus 0.14; SDV brings torch), so they live in their own virtualenv and run as
subprocesses of ``benchmarks/peers_runner.py``, which reads a CSV and a JSON spec and writes a
CSV. Every synthetic file then goes through the same path: ``synthema validate`` against the
dataset's dictionary (cells breaking a type, bound or category become missing and are counted)
and :func:`score`.

Datasets (``DATASETS``): simulated AML (a documented 29-variable projection of the 146-variable
dictionary, see ``AML_PROJECTION``) and SCD (all 53 variables) cohorts from ``synthema
simulate``, and five real survival datasets shipped with lifelines, each with a dictionary under
``benchmarks/dictionaries/``. Each is split 70/30 into training and holdout rows by
:func:`split` (seeded, deterministic); every method is fitted on the training rows and samples
as many rows.

This script measures; it asserts nothing. Results: ``benchmarks/results/peers.json`` (merged
run by run, so a subset can be re-run) and a section of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _docpage import PACKAGES, machine, write_section

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
RESULTS = BENCH / "results" / "peers.json"
DOC = ROOT / "docs" / "benchmarks.md"
DICTIONARIES = BENCH / "dictionaries"
REQUIREMENTS = BENCH / "peers-requirements.txt"
RUNNER = BENCH / "peers_runner.py"
VENV = ROOT / ".peers-venv"
START, END = "<!-- peers-benchmark:start -->", "<!-- peers-benchmark:end -->"

TORCH = "2.13.0"  # the only torch this benchmark accepts (a CPU wheel; others pull CUDA)
HOLDOUT_SHARE = 0.3
DELTA = 1e-6
BINS = 10  # data-quantile bins of the scores; also smartnoise's default bins per number
EPOCHS = 100  # CTGAN / TVAE (SDV's defaults are 300)
SEEDS = (0, 1, 2)
TIMEOUT_S = 1800

LIFELINES = {
    "rossi": "load_rossi",
    "gbsg2": "load_gbsg2",
    "lung": "load_lung",
    "kidney_transplant": "load_kidney_transplant",
    "stanford_heart": "load_stanford_heart_transplants",
}
SIMULATED = {"aml": 2000, "scd": 2000}  # patients (3 sites pooled, seed SIM_SEED)
SIM_SEED = 2024
DATASETS = ("aml", "scd", *LIFELINES)

#: 29 of the 146 AML variables: the clinical core, labs, ELN 2022 risk and eight lesions that
#: drive it (APL, core-binding factor, t(9;11), complex karyotype, NPM1, FLT3-ITD, TP53),
#: induction, response, relapse and two survival pairs (OS, EFS). The full dictionary (55
#: karyotype flags, 56 genes) makes smartnoise's AIM and SDV's CTGAN far too slow for 2 cores.
#: Dictionary.project keeps the 21 rules whose columns are all kept: 4 ELN 2022 rules (APL,
#: CBF, TP53, risk present), 16 response and timeline rules, blasts vs WBC.
AML_PROJECTION = (
    "age", "sex", "aml_type", "ecog", "wbc", "hb", "platelets", "ldh", "bm_blasts", "pb_blasts",
    "eln2022", "t_15_17", "t_8_21", "inv16_t16_16", "t_9_11", "complex", "npm1", "flt3_itd",
    "tp53", "induction_intensity", "induction_response", "cr", "cr_days", "relapse",
    "relapse_days", "os_days", "os_status", "efs_days", "efs_status",
)

#: name -> (family, epsilon); "floor" is the bootstrap of the training rows
METHODS = {
    "floor": ("bootstrap", None),
    "synthema_eps1": ("synthema", 1.0),
    "synthema_epsinf": ("synthema", math.inf),
    "smartnoise_mst": ("peer", 1.0),
    "smartnoise_aim": ("peer", 1.0),
    "sdv_gaussian_copula": ("peer", None),
    "sdv_ctgan": ("peer", None),
    "sdv_tvae": ("peer", None),
}
LABELS = {
    "floor": "bootstrap floor (real rows)",
    "synthema_eps1": "synthema default",
    "synthema_epsinf": "synthema default",
    "smartnoise_mst": "smartnoise MST",
    "smartnoise_aim": "smartnoise AIM",
    "sdv_gaussian_copula": "SDV GaussianCopula",
    "sdv_ctgan": "SDV CTGAN",
    "sdv_tvae": "SDV TVAE",
}


# ---- datasets ----------------------------------------------------------------------------------
def _stanford_per_patient(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per patient from lifelines' start-stop rows (see stanford_heart.yaml)."""
    out = []
    for _, g in rows.sort_values(["id", "start"]).groupby("id", sort=True):
        last = g.iloc[-1]
        after = g[g["transplant"] == 1]
        out.append({
            "futime_days": float(last["stop"]),
            "dead": int(last["event"]),
            "age": float(last["age"]) + 48.0,  # lifelines stores age - 48
            "year": float(last["year"]),
            "surgery": int(last["surgery"]),
            "transplant": int(len(after) > 0),
            "wait_days": float(after["start"].iloc[0]) if len(after) else np.nan,
        })
    return pd.DataFrame(out)


def lifelines_frame(name: str) -> pd.DataFrame:
    """The lifelines dataset ``name`` with the columns and codes of its dictionary."""
    import lifelines.datasets as ld

    df = getattr(ld, LIFELINES[name])()
    if name == "lung":
        df = df.drop(columns=["inst"]).rename(columns=lambda c: c.replace(".", "_"))
        df["sex"] = df["sex"].map({1: "M", 2: "F"})
    elif name == "stanford_heart":
        df = _stanford_per_patient(df)
    return df


def _text(df: pd.DataFrame, dictionary) -> pd.DataFrame:
    """Raw values as clean-format text cells (booleans 1/0, whole numbers without '.0')."""
    from synthema.schema import VariableType

    out = {}
    for var in dictionary.variables:
        s = df[var.name]
        if var.type is VariableType.BOOLEAN or var.type is VariableType.INTEGER or (
                var.type.is_numeric and var.decimals == 0):
            x = pd.to_numeric(s, errors="coerce")
            out[var.name] = x.round().astype("Int64").astype("string").fillna("")
        elif var.type.is_numeric:
            x = pd.to_numeric(s, errors="coerce")
            if var.decimals is not None:
                x = x.round(var.decimals)
            out[var.name] = x.astype("string").fillna("")
        else:
            out[var.name] = s.astype("string").fillna("")
    return pd.DataFrame(out)


def load_dataset(name: str, *, patients: int | None = None):
    """(dictionary, typed frame, dictionary argument for the CLI) of a benchmark dataset.

    Lifelines data are written as text and read back through ``synthema validate``'s
    :func:`validate_frame`; a dataset its dictionary does not accept raises (tests check that
    each dictionary validates its dataset with no problem at all).
    """
    from synthema.errors import ValidationFailed
    from synthema.harmonize.validate import validate_frame
    from synthema.schema import load_dictionary

    if name in SIMULATED:
        from synthema.cohorts.simulate import simulate

        d = load_dictionary(name)
        sites = simulate(name, sites=3, patients=patients or SIMULATED[name], seed=SIM_SEED)
        df = pd.concat([s.data for s in sites], ignore_index=True)
        if name == "aml":
            d = d.project(AML_PROJECTION)
        return d, df[list(d.columns)].reset_index(drop=True), None
    path = DICTIONARIES / f"{name}.yaml"
    d = load_dictionary(path)
    report = validate_frame(_text(lifelines_frame(name), d), d, file=f"lifelines {name}")
    if not report.ok:
        raise ValidationFailed(f"{report.totals_line()}; first: {report.problems[0]}",
                               fix=f"correct {path.name}", problems=list(report.problems))
    return d, report.data.reset_index(drop=True), str(path)


def split(df: pd.DataFrame, seed: int, *, holdout: float = HOLDOUT_SHARE):
    """(train, holdout): a seeded random ``holdout`` share of the rows, the rest for training."""
    rng = np.random.default_rng([seed, 70_30])
    order = rng.permutation(len(df))
    n_holdout = int(round(holdout * len(df)))
    hold, train = np.sort(order[:n_holdout]), np.sort(order[n_holdout:])
    return df.iloc[train].reset_index(drop=True), df.iloc[hold].reset_index(drop=True)


# ---- scoring ------------------------------------------------------------------------------------
def quantile_codes(real: pd.DataFrame, others: list[pd.DataFrame], dictionary, *,
                   bins: int = BINS) -> tuple[list[np.ndarray], np.ndarray]:
    """Codes (rows x variables) of ``real`` and ``others`` on bins at the real data's quantiles.

    Numbers and dates get up to ``bins`` bins cut at the real rows' quantiles (repeated cut
    points merged), categories and booleans one code each, and missing one more code. The bins
    come from the real training rows: this is an evaluation, never released, and unlike the
    dictionary's public bins it puts the resolution where the patients are.
    """
    from synthema.evaluate.encoding import numeric_values
    from synthema.schema import VariableType

    frames = [real, *others]
    codes = [np.zeros((len(f), len(dictionary.variables)), dtype=np.int64) for f in frames]
    shape = []
    for j, var in enumerate(dictionary.variables):
        if var.type.is_numeric or var.type is VariableType.DATE:
            x = numeric_values(real[var.name], var)
            seen = x[~np.isnan(x)]
            cuts = (np.unique(np.quantile(seen, np.linspace(0, 1, bins + 1)[1:-1]))
                    if len(seen) else np.zeros(0))
            for c, f in zip(codes, frames, strict=True):
                y = numeric_values(f[var.name], var)
                c[:, j] = np.where(np.isnan(y), len(cuts) + 1,
                                   np.searchsorted(cuts, np.nan_to_num(y), side="right"))
            shape.append(len(cuts) + 2)
        else:
            cats = list(var.categories) if var.type.has_categories else [False, True]
            for c, f in zip(codes, frames, strict=True):
                col = f[var.name]
                if var.type is VariableType.BOOLEAN:
                    v = col.astype("boolean")
                    k = np.where(v.isna(), 2, v.fillna(False).astype(int))
                else:
                    k = pd.Categorical(col.astype("string"), categories=cats).codes
                    k = np.where(k < 0, len(cats), k)
                c[:, j] = k
            shape.append(len(cats) + 1)
    return codes, np.asarray(shape, dtype=np.int64)


def fidelity(real: pd.DataFrame, synthetic: pd.DataFrame, dictionary, *,
             bins: int = BINS) -> dict:
    """Mean 1-way and 2-way TVD and mean |Cramér's V real − synthetic| on quantile bins.

    The distances are synthema.evaluate's own (``tvd``, ``pairwise_tvd_matrix``,
    ``cramers_v_matrix``); only the bins differ from ``synthema evaluate``'s public ones.
    """
    from synthema.evaluate.association import cramers_v_matrix
    from synthema.evaluate.fidelity import pairwise_tvd_matrix, tvd

    (cr, cs), shape = quantile_codes(real, [synthetic], dictionary, bins=bins)
    d = len(shape)
    one = [tvd(np.bincount(cr[:, j], minlength=shape[j]),
               np.bincount(cs[:, j], minlength=shape[j])) for j in range(d)]
    iu = np.triu_indices(d, 1)
    two = pairwise_tvd_matrix(cr, cs, shape)[iu]
    shape = np.asarray(shape)
    v_real = cramers_v_matrix(cr, shape, np.arange(d))
    v_syn = cramers_v_matrix(cs, shape, np.arange(d))
    v_gap = np.abs(v_real - v_syn)[iu]
    return {"tvd1": float(np.mean(one)), "tvd2": float(np.mean(two)) if d > 1 else 0.0,
            "cramers_v_gap": float(np.mean(v_gap)) if d > 1 else 0.0}


EVALUATE_METRICS = ("km_distance", "cindex_gap", "dcr_share", "real_duplicates",
                    "rule_violations")


def score(train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame, dictionary, *,
          bins: int = BINS, random_state: int = 0) -> dict:
    """Every benchmark number of one synthetic frame (typed, the dictionary's columns).

    Fidelity on quantile bins (:func:`fidelity`); the rest from ``synthema.evaluate``'s
    metrics: Kaplan-Meier max gap per survival pair, Cox C-index trained on synthetic (TSTR)
    and on real (TRTR) rows, both tested on the holdout, DCR share against the holdout, exact
    copies of training rows, and the share of rows breaking a dictionary rule.
    """
    from synthema.evaluate import evaluate

    out = fidelity(train, synthetic, dictionary, bins=bins)
    report = evaluate(train, synthetic, dictionary=dictionary, holdout=holdout,
                      metrics=list(EVALUATE_METRICS), random_state=random_state)
    results = {r.name: r for r in report.results}
    errors = {r.name: r.error for r in report.results if r.error}
    if dictionary.survival and "km_distance" not in errors:
        out["km_gap"] = {p["time"]: p["km_distance"]
                         for p in report.get_details("km_distance")["pairs"]}
    if dictionary.survival and "cindex_gap" not in errors:
        pairs = report.get_details("cindex_gap")["pairs"]
        out["cindex_tstr"] = {p["time"]: p["tstr_cindex"] for p in pairs}
        out["cindex_trtr"] = {p["time"]: p["trtr_cindex"] for p in pairs}
    out["dcr_share"] = results["dcr_share"].value
    out["exact_copies"] = int(report.get_details("real_duplicates").get("rows", 0))
    out["exact_copy_share"] = results["real_duplicates"].value
    out["rule_violation_share"] = results["rule_violations"].value
    rules = report.get_details("rule_violations").get("rules", [])
    out["rule_violations"] = {r["rule"]: r["violations"] for r in rules if r["violations"]}
    if errors:
        out["errors"] = errors
    return {k: _finite(v) for k, v in out.items()}


def split_facts(dataset: str, seed: int, data: tuple | None = None) -> dict:
    """Facts of one split that every method shares: sizes, and how many holdout rows equal a
    training row (the natural level of "exact copies" for a generator that copies nobody)."""
    d, df, _ = data if data is not None else load_dataset(dataset)
    train, holdout = split(df, seed)
    names = list(d.names)
    seen = set(map(tuple, train[names].astype("string").fillna("<NA>").to_numpy().tolist()))
    rows = holdout[names].astype("string").fillna("<NA>").to_numpy().tolist()
    same = sum(tuple(r) in seen for r in rows)
    return {"train": len(train), "holdout": len(holdout), "holdout_equal_to_train": same,
            "holdout_equal_share": round(same / max(len(holdout), 1), 4)}


def _finite(value):
    if isinstance(value, float):
        return round(value, 4) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value


# ---- running the methods ---------------------------------------------------------------------
def _clean_text_file(df: pd.DataFrame, dictionary, path: Path) -> None:
    from synthema.schema import format_frame

    format_frame(df, dictionary).to_csv(path, index=False)


def _read_synthetic(path: Path, dictionary) -> tuple[pd.DataFrame, dict]:
    """Typed frame of a synthetic CSV as ``synthema validate`` reads it, and its problem counts."""
    from synthema.harmonize.validate import validate_file

    report = validate_file(path, dictionary)
    counts = report.counts_by_kind()
    bad_cells = sum(n for k, n in counts.items() if k in ("type", "range", "category"))
    return report.data, {"validate_problems": counts, "invalid_cells": bad_cells}


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_KEEP = ("fitted ", "privacy spent", "NOT PRIVATE", "method ", "clinical rules", "rows written")


def _cli_lines(text: str) -> list[str]:
    lines = [_ANSI.sub("", ln).strip() for ln in text.splitlines()]
    return [ln for ln in lines if ln.startswith(_KEEP)][:8]


def run_synthema(train: pd.DataFrame, dictionary, dict_arg: str, *, epsilon: float, seed: int,
                 rows: int, work: Path, timeout: float) -> dict:
    """``synthema synth fit`` (default method) then ``synth sample``, timed as processes."""
    train_csv, model, out = work / "train.csv", work / "model.synth", work / "synthetic.csv"
    _clean_text_file(train, dictionary, train_csv)
    cli = [sys.executable, "-m", "synthema", "synth"]
    eps = "inf" if math.isinf(epsilon) else f"{epsilon:g}"
    start = time.perf_counter()
    fit = subprocess.run([*cli, "fit", "--dictionary", dict_arg, "--epsilon", eps,
                          "--delta", f"{DELTA:g}", "--seed", str(seed), str(train_csv),
                          "--out", str(model)], capture_output=True, text=True,
                         timeout=timeout, cwd=ROOT, env=_env())
    fit_s = time.perf_counter() - start
    if fit.returncode != 0:
        return {"status": "error", "note": _last_line(fit)}
    start = time.perf_counter()
    sample = subprocess.run([*cli, "sample", str(model), "--rows", str(rows), "--out", str(out),
                             "--seed", str(seed)], capture_output=True, text=True,
                            timeout=timeout, cwd=ROOT, env=_env())
    sample_s = time.perf_counter() - start
    if sample.returncode != 0:
        return {"status": "error", "note": _last_line(sample)}
    return {"status": "ok", "path": out, "fit_s": round(fit_s, 2), "sample_s": round(sample_s, 2),
            "cli": _cli_lines(fit.stdout + fit.stderr) + _cli_lines(sample.stdout)}


def run_peer(method: str, train: pd.DataFrame, dictionary, *, epsilon: float | None, seed: int,
             rows: int, epochs: int, work: Path, timeout: float) -> dict:
    """One peer in the peers' venv via ``peers_runner.py``; seconds of the whole process."""
    train_csv, out, spec_path = work / "train.csv", work / "synthetic.csv", work / "spec.json"
    _clean_text_file(train, dictionary, train_csv)
    spec = {"method": method, "train": str(train_csv), "out": str(out), "rows": rows,
            "seed": seed, "epsilon": epsilon, "delta": DELTA, "epochs": epochs, "bins": BINS,
            "columns": column_spec(dictionary)}
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    start = time.perf_counter()
    proc = subprocess.run([str(venv_python()), str(RUNNER), str(spec_path)], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT)
    wall = time.perf_counter() - start
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines or not out.exists():
        return {"status": "error", "note": _last_line(proc)}
    info = json.loads(lines[-1])
    return {"status": "ok", "path": out, "fit_s": info["fit_s"], "sample_s": info["sample_s"],
            "process_s": round(wall, 2), "packages": info["packages"]}


def column_spec(dictionary) -> list[dict]:
    """The runner's view of a dictionary: names, types, public bounds, categories, decimals."""
    out = []
    for v in dictionary.variables:
        lo, hi = v.min, v.max
        if isinstance(lo, dt.date):  # dates go to the peers as days since 1970
            lo = (pd.Timestamp(lo) - pd.Timestamp("1970-01-01")).days
            hi = (pd.Timestamp(hi) - pd.Timestamp("1970-01-01")).days
        out.append({"name": v.name, "kind": v.type.value, "min": lo, "max": hi,
                    "categories": list(v.categories) if v.categories else None,
                    "decimals": v.decimals, "required": bool(v.required)})
    return out


def _env() -> dict:
    env = dict(os.environ)
    src = str(ROOT / "src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _last_line(proc: subprocess.CompletedProcess) -> str:
    text = (proc.stderr or "") + (proc.stdout or "")
    lines = [ln for ln in _ANSI.sub("", text).splitlines() if ln.strip()]
    return (" | ".join(lines[-2:]) if lines else f"exit {proc.returncode}")[:400]


def venv_python() -> Path:
    """The peers' interpreter."""
    return VENV / "bin" / "python"


def setup(python: str = "python3.11") -> None:
    """Build ``.peers-venv`` from the pinned requirements and check the torch it got."""
    if not venv_python().exists():
        subprocess.run([python, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(venv_python()), "-m", "pip", "install", "--quiet", "-r",
                    str(REQUIREMENTS)], check=True)
    got = subprocess.run([str(venv_python()), "-c", "import torch; print(torch.__version__)"],
                         capture_output=True, text=True, check=True).stdout.strip()
    if not got.startswith(TORCH):
        raise SystemExit(f"error: the peers' venv has torch {got}, not {TORCH}\n"
                         f"fix: pip install torch=={TORCH} into {VENV}")
    print(f"peers' venv ready: {VENV} (torch {got})")  # noqa: T201


# ---- the grid ----------------------------------------------------------------------------------
def run_one(dataset: str, seed: int, method: str, data: tuple, *, epochs: int,
            timeout: float) -> dict:
    """Fit, sample and score one (dataset, split seed, method)."""
    d, df, dict_arg = data
    train, holdout = split(df, seed)
    family, epsilon = METHODS[method]
    record: dict = {"dataset": dataset, "seed": seed, "method": method,
                    "epsilon": _eps_json(epsilon), "rows": {"train": len(train),
                                                            "holdout": len(holdout)},
                    "load_before": _load()}
    if method in ("sdv_ctgan", "sdv_tvae"):
        record["epochs"] = epochs
    with tempfile.TemporaryDirectory(prefix="synthema-peers-") as tmp:
        work = Path(tmp)
        if dict_arg is None:  # a projected or built-in dictionary: the CLI reads a file
            dict_arg = str(work / f"{dataset}.yaml")
            Path(dict_arg).write_text(d.to_yaml(), encoding="utf-8")
        try:
            if family == "bootstrap":
                synthetic = train.sample(n=len(train), replace=True, random_state=seed)
                synthetic = synthetic.reset_index(drop=True)
                run = {"status": "ok"}
            elif family == "synthema":
                run = run_synthema(train, d, dict_arg, epsilon=epsilon, seed=seed,
                                   rows=len(train), work=work, timeout=timeout)
            else:
                run = run_peer(method, train, d, epsilon=epsilon, seed=seed, rows=len(train),
                               epochs=epochs, work=work, timeout=timeout)
        except subprocess.TimeoutExpired:
            run = {"status": "timeout", "note": f"stopped after {timeout:g} s"}
        if run["status"] == "ok" and "path" in run:
            synthetic, checks = _read_synthetic(run.pop("path"), d)
            record.update(checks)
        record.update(run)
        if run["status"] == "ok":
            if "fit_s" in run:
                record["seconds"] = round(run["fit_s"] + run["sample_s"], 2)
            record["metrics"] = score(train, holdout, synthetic, d, random_state=seed)
    record["load_after"] = _load()
    return record


def _eps_json(epsilon):
    if epsilon is None:
        return None
    return "inf" if math.isinf(epsilon) else epsilon


def _load() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def load_results(path: Path = RESULTS) -> dict:
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    return {"benchmark": "peers", "runs": []}


def merge(result: dict, record: dict) -> None:
    """Replace the run of the same (dataset, seed, method), or add it."""
    key = (record["dataset"], record["seed"], record["method"])
    result["runs"] = [r for r in result["runs"]
                      if (r["dataset"], r["seed"], r["method"]) != key] + [record]


def run_grid(args) -> dict:
    result = load_results(args.out)
    result.update(benchmark="peers", machine=machine((*PACKAGES, "lifelines")),
                  settings={"holdout_share": HOLDOUT_SHARE, "delta": DELTA, "bins": BINS,
                            "sim_seed": SIM_SEED, "aml_projection": list(AML_PROJECTION),
                            "simulated_patients": SIMULATED})
    result.setdefault("invocations", []).append({
        "date": dt.date.today().isoformat(), "command": "python benchmarks/peers.py "
        + " ".join(sys.argv[1:]), "datasets": args.datasets, "seeds": args.seeds,
        "methods": args.methods, "epochs": args.epochs})
    for dataset in args.datasets:
        data = load_dataset(dataset)
        for seed in args.seeds:
            result.setdefault("splits", {})[f"{dataset}/{seed}"] = split_facts(dataset, seed, data)
            for method in args.methods:
                start = time.perf_counter()
                record = run_one(dataset, seed, method, data, epochs=args.epochs,
                                 timeout=args.timeout)
                record["wall_s"] = round(time.perf_counter() - start, 1)
                merge(result, record)
                args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
                m = record.get("metrics", {})
                print(f"{dataset} seed={seed} {method}: {record['status']} "  # noqa: T201
                      f"tvd2={m.get('tvd2')} km={m.get('km_gap')} s={record.get('seconds')} "
                      f"{record.get('note', '')}", flush=True)
    return result


# ---- reporting ---------------------------------------------------------------------------------
def _mean(values: list) -> float | None:
    vals = [v for v in values if v is not None]
    return float(np.mean(vals)) if vals else None


def _fmt(value, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def summarise(result: dict, dataset: str) -> list[dict]:
    """One row per method: metrics averaged over the split seeds that ran."""
    rows = []
    for method in METHODS:
        runs = [r for r in result["runs"] if r["dataset"] == dataset and r["method"] == method]
        if not runs:
            continue
        ok = [r for r in runs if r["status"] == "ok"]
        row = {"method": method, "seeds": sorted(r["seed"] for r in ok), "runs": len(runs),
               "failed": [f"seed {r['seed']}: {r['status']} ({r.get('note', '')})"
                          for r in runs if r["status"] != "ok"]}
        if ok:
            m = [r["metrics"] for r in ok]
            for key in ("tvd1", "tvd2", "cramers_v_gap", "dcr_share", "exact_copy_share",
                        "rule_violation_share"):
                row[key] = _mean([x.get(key) for x in m])
            for key in ("km_gap", "cindex_tstr", "cindex_trtr"):
                pairs = sorted({p for x in m for p in (x.get(key) or {})})
                row[key] = {p: _mean([(x.get(key) or {}).get(p) for x in m]) for p in pairs}
            row["exact_copies"] = _mean([x.get("exact_copies") for x in m])
            row["invalid_cells"] = _mean([r.get("invalid_cells") for r in ok])
            row["seconds"] = _mean([r.get("seconds") for r in ok])
        row["epochs"] = runs[0].get("epochs")
        row["epsilon"] = runs[0].get("epsilon")
        rows.append(row)
    return rows


def _worst(row: dict, key: str) -> float | None:
    vals = [v for v in (row.get(key) or {}).values() if v is not None]
    return max(vals) if vals else None


def targets(rows: list[dict]) -> list[dict]:
    """Issue 13's targets for one dataset: measured value, what it is compared with, met?

    At ε = 1 synthema's default must beat the better of smartnoise MST and AIM on 2-way TVD,
    Cramér's V gap and the (worst pair's) KM gap, with its C-index within 0.05 of the model
    trained on real rows; at ε = ∞ beat the best SDV model on 2-way TVD and V gap with a KM
    gap at most 1.5 × the floor's; no rule violation and a DCR share at most 0.6 at ε = 1.
    """
    by = {r["method"]: r for r in rows if "tvd1" in r}
    out: list[dict] = []

    def add(target: str, value, reference, met: bool | None) -> None:
        out.append({"target": target, "value": value, "reference": reference, "met": met})

    def best(methods: tuple[str, ...], key: str, worst: bool = False):
        vals = [(_worst(by[m], key) if worst else by[m].get(key), m) for m in methods if m in by]
        vals = [(v, m) for v, m in vals if v is not None]
        return min(vals) if vals else (None, None)

    def beat(method: str, key: str, peers: tuple[str, ...], what: str, worst=False) -> None:
        if method not in by:
            return
        value = _worst(by[method], key) if worst else by[method].get(key)
        ref, who = best(peers, key, worst)
        if value is None:
            return
        if ref is None:
            add(what, value, "no result of " + " or ".join(LABELS[p] for p in peers), None)
            return
        add(what, value, f"{ref:.4f} ({LABELS[who]})", value < ref)

    sn, sdv = ("smartnoise_mst", "smartnoise_aim"), ("sdv_gaussian_copula", "sdv_ctgan",
                                                     "sdv_tvae")
    beat("synthema_eps1", "tvd2", sn, "ε = 1: 2-way TVD below the better smartnoise")
    beat("synthema_eps1", "cramers_v_gap", sn, "ε = 1: V gap below the better smartnoise")
    beat("synthema_eps1", "km_gap", sn, "ε = 1: KM gap (worst pair) below the better "
         "smartnoise", worst=True)
    if "synthema_eps1" in by:
        row = by["synthema_eps1"]
        gaps = [row["cindex_trtr"][p] - row["cindex_tstr"][p] for p in row.get("cindex_tstr", {})
                if row["cindex_tstr"][p] is not None and row["cindex_trtr"].get(p) is not None]
        if gaps:
            add("ε = 1: C-index within 0.05 of the model trained on real rows", max(gaps),
                "0.05", max(gaps) <= 0.05)
        add("ε = 1: no rule violation", row["rule_violation_share"], "0",
            row["rule_violation_share"] == 0)
        add("ε = 1: DCR share ≤ 0.6", row["dcr_share"], "0.6", row["dcr_share"] <= 0.6)
    beat("synthema_epsinf", "tvd2", sdv, "ε = ∞: 2-way TVD below the best SDV")
    beat("synthema_epsinf", "cramers_v_gap", sdv, "ε = ∞: V gap below the best SDV")
    if "synthema_epsinf" in by and "floor" in by:
        value, floor = _worst(by["synthema_epsinf"], "km_gap"), _worst(by["floor"], "km_gap")
        if value is not None and floor is not None:
            add("ε = ∞: KM gap (worst pair) ≤ 1.5 × the floor's", value,
                f"{1.5 * floor:.4f}", value <= 1.5 * floor)
    return out


def markdown(result: dict) -> str:
    """The docs section: how it was run, then one table per dataset."""
    m = result.get("machine", {})
    pk = ", ".join(f"{k} {v}" for k, v in m.get("packages", {}).items() if v)
    runs = result["runs"]
    loads = [r[k] for r in runs for k in ("load_before", "load_after") if r.get(k) is not None]
    peer_pk = next((r["packages"] for r in runs if r.get("packages", {}).get("sdv")), None) or \
        next((r["packages"] for r in runs if r.get("packages")), {})
    peers = ", ".join(f"{k} {v}" for k, v in peer_pk.items() if v)
    lines = [START, ""]
    for inv in result.get("invocations", []):
        note = f" ({inv['note']})" if inv.get("note") else ""
        lines.append(f"- {inv['date']}: `{inv['command']}`{note}")
    lines += [
        "",
        f"Machine: {m.get('cores')} cores ({m.get('cpu')}), {m.get('ram_gb')} GB RAM, Python "
        f"{m.get('python')}; synthema's venv: {pk}; the peers' venv: {peers}. Mean 1-minute "
        f"load average around the runs: {_fmt(_mean(loads), 2)} (2 cores shared with other "
        "work: seconds are upper bounds).",
        "",
        "Each cell is the mean over the split seeds listed (70/30 train/holdout; every method "
        "samples as many rows as the training split). TVD: total variation distance on bins at "
        f"the training data's deciles ({BINS} bins per number, missing a bin of its own), mean "
        "over columns (1-way) and pairs (2-way); V gap: mean |Cramér's V real − synthetic| over "
        "pairs on the same bins; KM: Kaplan–Meier max gap per survival pair (by its time "
        "column); C-index: Cox model trained on the synthetic rows, tested on the real holdout "
        "(the caption gives the same model trained on the real training rows); DCR: share of "
        "synthetic rows closer to a training than to a holdout row (0.5 = no memorisation); "
        "copies: synthetic rows equal to a training row; rules: share of rows breaking a "
        "dictionary rule; invalid: cells `synthema validate` rejects (type, bound, category; "
        "scored as missing); s: seconds of fit + sample (synthema: the two CLI processes; "
        "peers: in-process, imports excluded). The floor row is a bootstrap of the training "
        "rows: a perfect generator's fidelity, and what full memorisation looks like for DCR "
        "and copies.",
    ]
    for dataset in DATASETS:
        rows = summarise(result, dataset)
        if not rows:
            continue
        ds_runs = [r for r in runs if r["dataset"] == dataset]
        n = ds_runs[0]["rows"]
        trtr = {}  # synthema's rows are re-run most often: their real-data model is current
        for row in sorted(rows, key=lambda r: not r["method"].startswith("synthema")):
            for p, v in (row.get("cindex_trtr") or {}).items():
                trtr.setdefault(p, v)
        pairs = sorted({p for row in rows for p in (row.get("km_gap") or {})})
        facts = [v for k, v in result.get("splits", {}).items()
                 if k.split("/")[0] == dataset]
        equal = (f"Holdout rows equal to a training row (the level of copies without "
                 f"copying): {_mean([f['holdout_equal_share'] for f in facts]):.1%}. "
                 if facts else "")
        caption = (f"### {dataset}\n\n{n['train'] + n['holdout']:,} patients "
                   f"({n['train']:,} train / {n['holdout']:,} holdout). " + equal
                   + ("Cox C-index trained on real rows: "
                      + ", ".join(f"{p} {_fmt(v)}" for p, v in trtr.items()) + "."
                      if trtr else ""))
        lines += ["", caption, ""]
        head = (["method", "ε", "seeds", "1-way TVD", "2-way TVD", "V gap"]
                + [f"KM {p}" for p in pairs] + [f"C {p}" for p in pairs]
                + ["DCR", "copies", "rules", "invalid", "s"])
        lines += ["| " + " | ".join(head) + " |",
                  "|" + "|".join(["---"] * 3 + ["---:"] * (len(head) - 3)) + "|"]
        for row in rows:
            label = LABELS[row["method"]]
            if row.get("epochs"):
                label += f" ({row['epochs']} epochs)"
            eps = row.get("epsilon")
            eps_text = ("∞ (not private)" if eps == "inf" else f"{eps:g}" if eps is not None
                        else "-")
            if row["method"] in ("floor", "sdv_gaussian_copula", "sdv_ctgan", "sdv_tvae"):
                eps_text = "not private"
            if "tvd1" not in row:
                lines.append(f"| {label} | {eps_text} | - | did not finish (below) | "
                             + " | ".join([""] * (len(head) - 4)) + "|")
                continue
            cells = [label, eps_text, ",".join(map(str, row["seeds"])),
                     _fmt(row["tvd1"]), _fmt(row["tvd2"]), _fmt(row["cramers_v_gap"])]
            cells += [_fmt(row["km_gap"].get(p)) for p in pairs]
            cells += [_fmt(row["cindex_tstr"].get(p)) for p in pairs]
            cells += [_fmt(row["dcr_share"], 2), _fmt(row["exact_copies"], 0),
                      _fmt(row["rule_violation_share"], 3), _fmt(row["invalid_cells"], 0),
                      "-" if row["seconds"] is None else f"{row['seconds']:.1f}"]
            lines.append("| " + " | ".join(cells) + " |")
        failed = [f"{LABELS[r['method']]}: " + "; ".join(r["failed"]) for r in rows
                  if r["failed"]]
        if failed:
            lines += ["", "Runs that did not finish: " + " · ".join(failed)]
        checks = targets(rows)
        if checks:
            done = [c for c in checks if c["met"] is not None]
            met = sum(bool(c["met"]) for c in done)
            unchecked = len(checks) - len(done)
            lines += ["", f"Issue 13 targets for synthema's default: {met} of {len(done)} "
                      "met" + (f", {unchecked} not checked (no peer result)" if unchecked
                               else "") + ". " + "; ".join(
                          f"{c['target']}: {_fmt(c['value'], 4)} vs {c['reference']} "
                          + {True: "✓", False: "✗", None: "(not checked)"}[c["met"]]
                          for c in checks) + "."]
    lines += ["", END]
    return "\n".join(lines)


def write_doc(result: dict, path: Path = DOC) -> None:
    write_section(markdown(result), start=START, end=END,
                  heading="Peers: synthema against smartnoise and SDV", path=path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("setup", help="build .peers-venv from benchmarks/peers-requirements.txt")
    s.add_argument("--python", default="python3.11")
    r = sub.add_parser("run", help="fit, sample and score; merge into the results")
    r.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    r.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    r.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS))
    r.add_argument("--epochs", type=int, default=EPOCHS)
    r.add_argument("--timeout", type=float, default=TIMEOUT_S)
    r.add_argument("--out", type=Path, default=RESULTS)
    r.add_argument("--no-doc", action="store_true", help="leave docs/benchmarks.md alone")
    p = sub.add_parser("report", help="rewrite the docs section from the results")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.command == "setup":
        setup(args.python)
        return
    if args.command == "run":
        if any(METHODS[m][0] == "peer" for m in args.methods) and not venv_python().exists():
            raise SystemExit("error: no peers' venv\nfix: python benchmarks/peers.py setup")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        result = run_grid(args)
        if not args.no_doc:
            write_doc(result)
        return
    result = load_results(args.out)
    for key in sorted({f"{r['dataset']}/{r['seed']}" for r in result["runs"]}):
        if key not in result.setdefault("splits", {}):
            dataset, seed = key.split("/")
            result["splits"][key] = split_facts(dataset, int(seed))
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    write_doc(result)


if __name__ == "__main__":
    main()
