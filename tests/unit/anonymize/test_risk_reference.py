"""Re-identification risk against a record-by-record brute force with exact fractions."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from synthema.anonymize.risk import class_keys, risk_measures


def _brute(sample, population, threshold):
    """Per record 1/f (sample class size) and 1/F (population class size, at least f)."""
    pros = [Fraction(1, sum(1 for o in sample if o == k)) for k in sample]
    if population is None:
        jour = pros
    else:
        jour = [Fraction(1, max(sum(1 for o in population if o == k),
                                sum(1 for o in sample if o == k))) for k in sample]

    def summary(values):
        return {"highest": round(float(max(values)), 6),
                "average": round(float(sum(values) / len(values)), 6),
                "above_threshold": round(sum(v > Fraction(threshold) for v in values)
                                         / len(values), 6)}

    return summary(pros), summary(jour), round(float(sum(jour) / len(jour)), 6)


@pytest.mark.parametrize("seed", range(4))
def test_risks_match_a_brute_force(seed):
    # Setup: a sample drawn from a population, plus records the population lacks
    rng = np.random.default_rng(seed)
    population = [tuple(x) for x in rng.integers(0, 4, size=(300, 2)).tolist()]
    sample = [population[i] for i in rng.choice(300, 60, replace=False)] + [(9, 9), (9, 9), (8, 8)]
    for pop in (None, population):
        # Run
        r = risk_measures(sample, population=pop, threshold=0.1)
        # Assert
        pros, jour, marketer = _brute(sample, pop, 0.1)
        assert r["prosecutor"] == pros and r["journalist"] == jour
        assert r["marketer"] == {"average": marketer}
        assert r["records"] == 63 and r["classes"] == len(set(sample))
        assert r["population_estimated"] is (pop is None)
        assert r["records_missing_from_population"] == (0 if pop is None else 3)
        assert r["threshold"] == 0.1


def test_a_record_exactly_at_the_threshold_is_not_above_it():
    # classes of 4 (risk exactly 0.25) and of 5 (0.2)
    keys = ["a"] * 4 + ["b"] * 5
    assert risk_measures(keys, threshold=0.25)["prosecutor"]["above_threshold"] == 0.0
    assert risk_measures(keys, threshold=0.2)["prosecutor"]["above_threshold"] == round(4 / 9, 6)
    assert risk_measures(keys, threshold=0.19)["prosecutor"]["above_threshold"] == 1.0


def test_a_risk_within_the_rounding_margin_of_the_threshold_is_not_above_it():
    # Setup: classes of 3 (risk 1/3) and of 6 (1/6). The margin for rounding is 1e-12:
    # a threshold x with x + 1e-12 == 1/3 exactly (as floats) leaves 1/3 at the threshold,
    # the next float below it puts 1/3 above.
    keys = ["a"] * 3 + ["b"] * 6
    x = 1 / 3 - 1e-12
    for _ in range(100):  # a few steps of one float toward the side that is short
        if x + 1e-12 == 1 / 3:
            break
        x = math.nextafter(x, math.inf if x + 1e-12 < 1 / 3 else -math.inf)
    assert x + 1e-12 == 1 / 3  # x and 1/3 share a binade, so some x lands exactly
    # Run
    at = risk_measures(keys, threshold=x)["prosecutor"]
    past = risk_measures(keys, threshold=math.nextafter(x, 0.0))["prosecutor"]
    # Assert
    assert at["above_threshold"] == 0.0
    assert past["above_threshold"] == round(3 / 9, 6)


def test_population_smaller_than_the_release_class_is_floored_at_the_class():
    # The population table lists only one record of a class that the release has three of
    r = risk_measures(["x", "x", "x"], population=["x", "y", "y"], threshold=0.5)
    assert r["journalist"]["highest"] == round(1 / 3, 6)
    assert r["population"] == "population table of 3 records"
    assert r["records_missing_from_population"] == 0


def test_an_empty_release_has_no_risk():
    r = risk_measures([], threshold=0.1)
    zero = {"highest": 0.0, "average": 0.0, "above_threshold": 0.0}
    assert r["prosecutor"] == zero and r["journalist"] == zero
    assert r["marketer"] == {"average": 0.0} and r["records"] == 0 and r["classes"] == 0
    assert risk_measures([], population=["a"], threshold=0.1)["journalist"] == zero


def test_class_keys_treat_missing_as_one_value_and_no_columns_as_one_class():
    # Setup
    frame = pd.DataFrame({"age": pd.array([70, None, 70, None], dtype="Int64"),
                          "sex": ["F", "F", None, "F"]})
    # Run
    keys = class_keys(frame)
    # Assert: <NA> and None become the same None; rows 1 and 3 share a class
    assert keys == [(70, "F"), (None, "F"), (70, None), (None, "F")]
    assert class_keys(frame[[]]) == [(), (), (), ()]
    assert risk_measures(keys, threshold=0.6)["classes"] == 3
