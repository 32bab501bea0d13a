"""Measuring a release: the rounding that keeps figures from rebuilding suppressed records,
and the parts of the report computed from the search's result."""

from __future__ import annotations

import math

import numpy as np
import pytest

from synthema.anonymize.assessment import coarsen, figure_decimals


@pytest.mark.parametrize("n, k, decimals", [
    (400, 5, 1), (666, 5, 2), (5000, 5, 3),  # n / k = 1000 exactly: 3, not 2.999... -> 2
    (50_000, 5, 4), (10**9, 1, 6),            # at most 6
    (3, 5, 1), (1, 1, 1),                     # fewer records than k: at least 1
    (50, 0, 1), (500, 0, 2),                  # k = 0 counts as 1
    (0, 5, 6), (-1, 5, 6),                    # nothing to protect: all 6 decimals
])
def test_figure_decimals_keep_k_records_per_unit_of_the_last_digit(n, k, decimals):
    d = figure_decimals(n, k)
    assert d == decimals
    # brute force: the most decimals d in [1, 6] with 10^-d * n >= max(k, 1)
    if n > 0:
        fit = [e for e in range(1, 7) if 10 ** (-e) * n >= max(k, 1) - 1e-9]
        assert d == (max(fit) if fit else 1)


def test_coarsen_rounds_every_float_but_bounds_and_counts():
    # Setup: a utility figure as evaluate returns it, nested
    value = {"value": 0.123456, "flag": True, "n": 7, "none": None, "text": "0.123456",
             "nan": math.nan, "inf": math.inf,
             "thresholds": {"pass": 0.123456}, "min_value": 0.123456, "max_value": 1.987654,
             "seconds": 2.345678, "records": {"input": 400.0},
             "details": {"pairs": [{"km": 0.98765}, (0.55555, 0.44444)]}}
    # Run
    out = coarsen(value, 2)
    # Assert
    assert out["value"] == 0.12 and out["flag"] is True and out["n"] == 7
    assert out["none"] is None and out["text"] == "0.123456"
    assert math.isnan(out["nan"]) and out["inf"] == math.inf
    assert out["thresholds"] == {"pass": 0.123456} and out["min_value"] == 0.123456
    assert out["max_value"] == 1.987654 and out["seconds"] == 2.345678
    assert out["records"] == {"input": 400.0}
    assert out["details"] == {"pairs": [{"km": 0.99}, [0.56, 0.44]]}
    assert coarsen(np.float64(0.123456), 3) == 0.123 and coarsen((0.5, 1), 0) == [0.0, 1]
