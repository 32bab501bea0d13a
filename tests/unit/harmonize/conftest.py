"""A small dictionary (the schema docstring example plus labs with quantities) and clean data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from synthema.schema import Dictionary

EXAMPLE = {
    "name": "example",
    "version": 1,
    "patient_id": "patient_id",
    "variables": [
        {"name": "age", "type": "integer", "min": 18, "max": 100, "unit": "years",
         "required": True},
        {"name": "sex", "type": "categorical", "categories": ["F", "M"], "required": True},
        {"name": "diagnosis_date", "type": "date", "min": "2000-01-01", "max": "2030-12-31"},
        {"name": "risk", "type": "ordinal", "categories": ["low", "intermediate", "high"]},
        {"name": "hb", "label": "Haemoglobin", "type": "continuous", "unit": "g/dL",
         "quantity": "haemoglobin", "min": 2, "max": 20, "decimals": 1},
        {"name": "wbc", "type": "continuous", "unit": "10^9/L", "quantity": "cell_count",
         "min": 0, "max": 500, "decimals": 1},
        {"name": "platelets", "type": "continuous", "unit": "10^9/L", "quantity": "cell_count",
         "min": 0, "max": 2000, "decimals": 0},
        {"name": "creatinine", "type": "continuous", "unit": "mg/dL", "quantity": "creatinine",
         "min": 0, "max": 20, "decimals": 2},
        {"name": "blasts", "type": "continuous", "unit": "%", "quantity": "percent",
         "min": 0, "max": 100, "decimals": 0},
        {"name": "npm1", "type": "boolean", "group": "mutations"},
        {"name": "os_days", "type": "duration", "min": 0, "max": 7300, "unit": "days"},
        {"name": "os_status", "type": "boolean"},
        {"name": "efs_days", "type": "duration", "min": 0, "max": 7300, "unit": "days"},
    ],
    "survival": [{"time": "os_days", "event": "os_status"}],
    "rules": [{"name": "efs_before_os", "expr": "efs_days <= os_days",
               "description": "EFS ends no later than OS"}],
}


@pytest.fixture
def dictionary() -> Dictionary:
    return Dictionary.from_mapping(EXAMPLE, source="example.yaml")


@pytest.fixture
def dictionary_file(tmp_path) -> str:
    path = tmp_path / "example.yaml"
    path.write_text(yaml.safe_dump(EXAMPLE, sort_keys=False), encoding="utf-8")
    return str(path)


def make_clean(n: int, seed: int = 0) -> pd.DataFrame:
    """A typed clean frame for EXAMPLE, with some missing cells, every rule holding."""
    rng = np.random.default_rng(seed)
    os_days = rng.integers(10, 3000, size=n)
    frame = pd.DataFrame({
        "patient_id": pd.array([f"P{i:03d}" for i in range(n)], dtype="string"),
        "age": pd.array(rng.integers(18, 95, size=n), dtype="Int64"),
        "sex": pd.array(rng.choice(["F", "M"], size=n), dtype="string"),
        "diagnosis_date": pd.to_datetime("2010-01-01")
        + pd.to_timedelta(rng.integers(0, 4000, size=n), unit="D"),
        "risk": pd.array(rng.choice(["low", "intermediate", "high"], size=n), dtype="string"),
        "hb": pd.array(np.round(rng.uniform(5, 16, size=n), 1), dtype="Float64"),
        "wbc": pd.array(np.round(rng.lognormal(2, 1, size=n).clip(0.1, 400), 1), dtype="Float64"),
        "platelets": pd.array(np.round(rng.uniform(5, 600, size=n)), dtype="Float64"),
        "creatinine": pd.array(np.round(rng.uniform(0.4, 3, size=n), 2), dtype="Float64"),
        "blasts": pd.array(np.round(rng.uniform(0, 100, size=n)), dtype="Float64"),
        "npm1": pd.array(rng.random(n) < 0.3, dtype="boolean"),
        "os_days": pd.array(os_days, dtype="Int64"),
        "os_status": pd.array(rng.random(n) < 0.5, dtype="boolean"),
        "efs_days": pd.array((os_days * rng.uniform(0.2, 1, size=n)).astype(int), dtype="Int64"),
    })
    frame["diagnosis_date"] = frame["diagnosis_date"].astype("datetime64[ns]")
    for col, rate in (("risk", 0.2), ("hb", 0.1), ("platelets", 0.1), ("npm1", 0.2),
                      ("efs_days", 0.1)):
        frame.loc[rng.random(n) < rate, col] = pd.NA
    return frame


@pytest.fixture
def clean() -> pd.DataFrame:
    return make_clean(40)
