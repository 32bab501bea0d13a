"""Risk figures equal hand-computed values on a small table."""

from __future__ import annotations

import pytest

from synthema.anonymize import risk_measures


def test_hand_computed_sample_risks():
    # classes: A x3, B x2, C x1 (6 records)
    keys = ["A", "A", "A", "B", "B", "C"]
    r = risk_measures(keys, threshold=0.4)
    # prosecutor per record: 1/3,1/3,1/3,1/2,1/2,1 -> mean 3/6 = 0.5; above 0.4: 3 of 6
    assert r["prosecutor"] == {"highest": 1.0, "average": 0.5, "above_threshold": 0.5}
    assert r["journalist"] == r["prosecutor"] and r["population_estimated"] is True
    # marketer with the sample as population: classes / records = 3 / 6
    assert r["marketer"]["average"] == 0.5
    assert r["classes"] == 3


def test_hand_computed_population_risks():
    sample = [("70-74", "F"), ("70-74", "F"), ("40-44", "M")]
    population = [("70-74", "F")] * 4 + [("40-44", "M")] * 2 + [("20-24", "M")] * 5
    r = risk_measures(sample, population=population, threshold=0.3)
    # journalist per record: 1/4, 1/4, 1/2
    assert r["journalist"]["highest"] == 0.5
    assert r["journalist"]["average"] == pytest.approx(round((0.25 + 0.25 + 0.5) / 3, 6))
    assert r["journalist"]["above_threshold"] == pytest.approx(round(1 / 3, 6))
    # prosecutor per record: 1/2, 1/2, 1
    assert r["prosecutor"]["average"] == pytest.approx(round(2 / 3, 6))
    # marketer: (1/n) * sum 1/F_j = (1/4 + 1/4 + 1/2) / 3
    assert r["marketer"]["average"] == pytest.approx(round(1 / 3, 6))
    assert r["population_estimated"] is False


def test_default_threshold_is_0_09():
    keys = [str(i // 10) for i in range(100)] + ["x"] * 12
    r = risk_measures(keys)
    # classes of 10 (risk 0.1 > 0.09) hold 100 of 112 records; the class of 12 is 0.083
    assert r["threshold"] == 0.09
    assert r["prosecutor"]["above_threshold"] == pytest.approx(round(100 / 112, 6))
