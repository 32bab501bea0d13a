"""Fit one peer synthesizer and sample from it; runs inside the peers' virtualenv, not synthema's.

``benchmarks/peers.py`` writes a training CSV (the dictionary's clean format: booleans 1/0,
dates ISO, missing empty) and a JSON spec, then starts this script with the peers' Python
(``.peers-venv/bin/python benchmarks/peers_runner.py spec.json``). It imports no synthema code:
smartnoise-synth 1.0.8 needs mbi < 2 and SDV brings its own torch, neither fits synthema's
environment. The spec::

    {"method": "smartnoise_mst" | "smartnoise_aim" | "sdv_gaussian_copula" | "sdv_ctgan"
               | "sdv_tvae",
     "train": "train.csv", "out": "synthetic.csv", "rows": 480, "seed": 0,
     "epsilon": 1.0, "delta": 1e-6, "epochs": 100, "bins": 10,
     "columns": [{"name": "age", "kind": "integer", "min": 18, "max": 90,
                  "categories": null, "decimals": null, "required": true}, ...]}

``kind`` is the dictionary type (categorical, ordinal, boolean, integer, continuous, duration,
date). Each method gets the frame in the form its documentation asks for: smartnoise a
discrete cube (categories as labels; numbers in ``bins`` equal-width bins between the
dictionary's *public* bounds, so no budget is spent on bounds and the whole ε goes to the
model; whole numbers spanning fewer than 150 public values as labels, as smartnoise's own type
inference does; no missing code for a variable the dictionary marks ``required``), SDV a typed
frame with its own metadata. The output is written back in the clean format, each value
rounded to its variable's precision (whole numbers, ``decimals``) — a formatting step only;
values outside the bounds or categories are left for synthema's validation to count. The last
line printed is a JSON object with the seconds of fit and sample (imports excluded) and the
versions used.
"""

from __future__ import annotations

import json
import random
import sys
import time
import warnings
from importlib.metadata import version

import numpy as np
import pandas as pd

NUMERIC = ("integer", "continuous", "duration", "date")
EPOCH = pd.Timestamp("1970-01-01")


def read_train(spec: dict) -> pd.DataFrame:
    """The training file as the peers see it: labels as text, numbers (dates in days) as float."""
    raw = pd.read_csv(spec["train"], dtype=str, keep_default_na=False)
    out = {}
    for col in spec["columns"]:
        text = raw[col["name"]].where(raw[col["name"]] != "", None)
        if col["kind"] == "date":
            ts = pd.to_datetime(text, errors="coerce")
            out[col["name"]] = (ts - EPOCH).dt.days.astype(float)
        elif col["kind"] in NUMERIC:
            out[col["name"]] = pd.to_numeric(text, errors="coerce").astype(float)
        else:
            out[col["name"]] = text.astype(object)
    return pd.DataFrame(out)


def as_label(col: dict) -> bool:
    """Smartnoise treats this column as labels: categories, booleans and whole numbers whose
    public range spans fewer than 150 values (smartnoise's own rule when it infers types)."""
    if col["kind"] not in NUMERIC:
        return True
    whole = col["kind"] == "integer" or (col["kind"] == "duration" and col["decimals"] == 0)
    return (whole and col["min"] is not None and col["max"] is not None
            and col["max"] - col["min"] < 150)


def fit_smartnoise(method: str, df: pd.DataFrame, spec: dict):
    """smartnoise-synth MST or AIM at the spec's (ε, δ), public bounds for the bins."""
    from snsynth import Synthesizer
    from snsynth.transform import BinTransformer, LabelTransformer

    bins = int(spec["bins"])
    constraints = {}
    frame = df.copy()
    for col in spec["columns"]:
        name = col["name"]
        nullable = not col["required"]  # a required variable is public knowledge: never missing
        if as_label(col):
            constraints[name] = LabelTransformer(nullable=nullable)
            # smartnoise's transformers read None as missing (NaN only in float columns)
            frame[name] = frame[name].astype(object).where(frame[name].notna(), None)
        else:
            lo, hi = float(col["min"]), float(col["max"])
            constraints[name] = BinTransformer(bins=bins, lower=lo, upper=hi, nullable=nullable)
    synth = Synthesizer.create(method, epsilon=float(spec["epsilon"]), delta=float(spec["delta"]))
    synth.fit(frame, transformer=constraints, preprocessor_eps=0.0)
    return synth, lambda n: pd.DataFrame(synth.sample(n), columns=list(frame.columns))


def fit_sdv(method: str, df: pd.DataFrame, spec: dict):
    """SDV 2 single-table synthesizers with explicit metadata (defaults otherwise)."""
    from sdv.metadata import Metadata
    from sdv.single_table import (
        CTGANSynthesizer,
        GaussianCopulaSynthesizer,
        TVAESynthesizer,
    )

    columns = {}
    for col in spec["columns"]:
        columns[col["name"]] = ({"sdtype": "numerical"} if col["kind"] in NUMERIC
                                else {"sdtype": "categorical"})
    metadata = Metadata.load_from_dict({"tables": {"data": {"columns": columns}}})
    if method == "gaussian_copula":
        synth = GaussianCopulaSynthesizer(metadata)
    elif method == "ctgan":
        synth = CTGANSynthesizer(metadata, epochs=int(spec["epochs"]), enable_gpu=False)
    elif method == "tvae":
        synth = TVAESynthesizer(metadata, epochs=int(spec["epochs"]), enable_gpu=False)
    else:
        raise ValueError(f"unknown SDV method {method!r}")
    synth.fit({"data": df})

    def sample(n: int) -> pd.DataFrame:
        out = synth.sample(n)
        return out["data"] if isinstance(out, dict) else out

    return synth, sample


def to_clean(df: pd.DataFrame, spec: dict) -> pd.DataFrame:
    """Text cells in the dictionary's clean format, each value at its variable's precision."""
    out = {}
    for col in spec["columns"]:
        s = df[col["name"]]
        kind = col["kind"]
        if kind in NUMERIC:
            x = pd.to_numeric(s, errors="coerce").astype(float)
            if kind == "date":
                days = x.round()
                text = (EPOCH + pd.to_timedelta(days, unit="D")).dt.strftime("%Y-%m-%d")
            elif kind == "integer" or col.get("decimals") == 0:
                text = x.round().map(lambda v: "" if np.isnan(v) else str(int(v)))
            else:
                d = col.get("decimals")
                text = (x.round(d) if d is not None else x).map(
                    lambda v: "" if np.isnan(v) else repr(float(v)))
            out[col["name"]] = text.where(x.notna(), "")
        else:
            text = s.astype(object).map(lambda v: "" if v is None or (
                isinstance(v, float) and np.isnan(v)) else str(v))
            if kind == "boolean":  # labels went in as "1"/"0"; a float label comes back "1.0"
                text = text.replace({"1.0": "1", "0.0": "0", "True": "1", "False": "0"})
            out[col["name"]] = text
    return pd.DataFrame(out)


def main(path: str) -> None:
    """Fit, sample, write; print the timing line."""
    warnings.simplefilter("ignore")
    with open(path, encoding="utf-8") as fh:
        spec = json.load(fh)
    seed = int(spec["seed"])
    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:  # smartnoise alone needs no torch
        pass
    df = read_train(spec)
    family, method = spec["method"].split("_", 1)
    start = time.perf_counter()
    if family == "smartnoise":
        _, sample = fit_smartnoise(method, df, spec)
    elif family == "sdv":
        _, sample = fit_sdv(method, df, spec)
    else:
        raise ValueError(f"unknown method {spec['method']!r}")
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    synthetic = sample(int(spec["rows"]))
    sample_s = time.perf_counter() - start
    to_clean(synthetic, spec).to_csv(spec["out"], index=False)
    packages = {}
    for pkg in ("smartnoise-synth", "mbi", "jax", "sdv", "ctgan", "torch", "numpy", "pandas"):
        try:
            packages[pkg] = version(pkg)
        except Exception:  # noqa: BLE001 - a package missing from this venv is just not listed
            packages[pkg] = None
    print(json.dumps({"fit_s": round(fit_s, 2), "sample_s": round(sample_s, 2),  # noqa: T201
                      "packages": packages}))


if __name__ == "__main__":
    main(sys.argv[1])
