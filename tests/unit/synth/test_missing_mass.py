"""Noise must not invent missing values: a column the data hold complete comes out complete.

Before: at ε = 1 the missing code got noise mass like any other cell, so MST gave 15 of 16
complete columns some missing values (independent marginals 6 of 16) in a 3,000-row sample.
The noisy missing count of each attribute, from every measurement that holds it, now decides:
at most ``MISSING_Z`` standard deviations above zero is "no missing mass", a structural zero.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from synthema.schema import Dictionary
from synthema.stats import Domain, Measurement
from synthema.synth import create_synthesizer
from synthema.synth.pgm import MISSING_Z, absent_missing, missing_estimates

COMPLETE = [f"c{i}" for i in range(16)]
HOLEY = [f"h{i}" for i in range(8)]  # 30 % missing


def _dictionary(names) -> Dictionary:
    return Dictionary.from_mapping({"name": "t", "version": "1", "variables": [
        {"name": c, "type": "categorical", "categories": list("abcd")} for c in names]})


@pytest.fixture(scope="module")
def cohort():
    rng = np.random.default_rng(7)
    n = 2000
    cols = {c: rng.choice(list("abcd"), n) for c in COMPLETE}
    for c in HOLEY:
        v = rng.choice(list("abcd"), n).astype(object)
        v[rng.random(n) < 0.3] = None
        cols[c] = v
    data = pd.DataFrame(cols)
    return _dictionary(data.columns), data


def test_missing_count_combines_every_measurement_by_inverse_variance():
    # Setup: a (3 codes) and b (2 values + missing = 3 codes); a one-way answer with noise 2
    # and an (a, b) answer with noise 1, whose missing-a row sums 3 cells (noise sqrt 3)
    domain = Domain.from_dictionary(Dictionary.from_mapping({"name": "t", "version": "1",
        "variables": [{"name": "a", "type": "categorical", "categories": ["x", "y"]},
                      {"name": "b", "type": "categorical", "categories": ["u", "v"]}]}))
    one = Measurement(("a",), np.array([40, 50, 6]), 2.0, 0.1)
    pair = Measurement(("a", "b"), np.array([10, 20, 1, 30, 15, 2, 1, 0, 2]), 1.0, 0.1)
    # Run
    est = missing_estimates(domain, [one, pair])
    # Assert: by hand, weights 1/4 and 1/3 on 6 and 1+0+2 = 3
    w1, w2 = 1 / 4, 1 / 3
    assert est["a"] == pytest.approx(((w1 * 6 + w2 * 3) / (w1 + w2), 1 / math.sqrt(w1 + w2)))
    # b's missing column of the pair: 1 + 2 + 2 = 5 over 3 cells
    assert est["b"] == pytest.approx((5.0, math.sqrt(3)))


def test_absent_missing_draws_the_line_at_z_standard_deviations_and_zero_when_exact():
    # Setup
    domain = Domain.from_dictionary(_dictionary(["a"]))
    at = Measurement(("a",), np.array([50, 50, 50, 50, 4]), 2.0, 0.1)  # 4 = 2 sd: no mass
    above = Measurement(("a",), np.array([50, 50, 50, 50, 5]), 2.0, 0.1)
    # Run / Assert
    zeros = absent_missing(domain, [at], z=2.0)
    assert np.isneginf(zeros[("a",)][4]) and np.all(zeros[("a",)][:4] == 0)
    assert absent_missing(domain, [above], z=2.0) == {}
    exact_none = Measurement(("a",), np.array([50, 50, 50, 50, 0]), 0.0, math.inf)
    exact_one = Measurement(("a",), np.array([50, 50, 50, 50, 1]), 0.0, math.inf)
    assert ("a",) in absent_missing(domain, [exact_none, above])  # exact decides alone
    assert absent_missing(domain, [exact_one]) == {}


@pytest.mark.parametrize("method", ["mst", "independent"])
def test_complete_columns_stay_complete_at_epsilon_one(method, cohort, recording_source):
    # Setup
    dictionary, data = cohort
    source = recording_source(data, dictionary)
    params = {"iters": 300} if method == "mst" else {}
    synth = create_synthesizer(method, dictionary=dictionary, epsilon=1.0, **params)
    # Run
    synth.fit(source)
    out = synth.sample(3000, random_state=1)
    # Assert: every attribute the released answers call complete has no missing value (a
    # structural zero, not chance); a complete column is called complete unless its noise
    # exceeds MISSING_Z sd (2.3 % each: 5 of 16 has probability 4e-5); 30 % stays about 30 %
    # the model is fitted on the one-way answers and the selected cliques (MST also released
    # candidate pairs for selection, which are not fitted on): released first and last
    ones = [m for m in source.released[:len(synth.domain_.names)] if len(m.clique) == 1]
    fitted = ones + source.released[len(source.released) - len(synth.cliques_):]
    assert len(ones) == len(synth.domain_.names)
    assert [m.clique for m in fitted[len(ones):]] == list(synth.cliques_)
    flagged = {name for (name,) in absent_missing(synth.domain_, fitted)}
    assert all(out[c].notna().all() for c in flagged)
    assert sum(out[c].isna().any() for c in COMPLETE) <= 4
    assert not flagged & set(HOLEY)
    for c in HOLEY:
        assert abs(out[c].isna().mean() - 0.3) < 0.1, c
    assert MISSING_Z == 2.0  # the documented default this test's bound is computed for


def test_exact_counts_keep_missing_exactly_where_the_data_have_it(cohort, recording_source):
    # Setup: noise off (not private): the rule must be "no missing value in the data"
    dictionary, data = cohort
    data = data.copy()
    data.loc[5, "c0"] = None  # one missing value is still missing mass
    source = recording_source(data, dictionary)
    synth = create_synthesizer("independent", dictionary=dictionary, epsilon=math.inf)
    # Run
    synth.fit(source)
    # Assert
    flagged = {name for (name,) in absent_missing(synth.domain_, source.released)}
    assert flagged == set(COMPLETE) - {"c0"}


def test_columns_missing_together_stay_together_when_pairs_are_capped():
    # Setup: 30 columns, of which a "panel" of 8 is missing together in 40 % of rows (one
    # site did not test them) and the others never; 435 pairs but only 60 candidates, so
    # random candidates would rarely pair two panel columns
    rng = np.random.default_rng(3)
    n = 3000
    untested = rng.random(n) < 0.4
    cols = {}
    for i in range(30):
        v = rng.choice(list("abcd"), n).astype(object)
        if i < 8:
            v[untested] = None
        cols[f"x{i:02d}"] = v
    data = pd.DataFrame(cols)
    dictionary = _dictionary(data.columns)
    synth = create_synthesizer("mst", dictionary=dictionary, epsilon=math.inf,
                               max_candidates=60, random_state=0)
    # Run
    synth.fit(data)
    out = synth.sample(n, random_state=1)
    # Assert: every pair of panel columns is missing together as in the data (exact counts:
    # the tree chains the panel; with random candidates pairs reached 0.4 apart)
    panel = [f"x{i:02d}" for i in range(8)]
    together = out[panel].isna()
    assert (together.nunique(axis=1) == 1).mean() > 0.97
    assert abs(together.all(axis=1).mean() - 0.4) < 0.04


def test_dpvae_samples_no_missing_where_its_one_way_answers_show_none(cohort, recording_source):
    # Setup: dpvae measures the one-way marginals first (its decoder's output bias)
    dictionary, data = cohort
    source = recording_source(data, dictionary)
    synth = create_synthesizer("dpvae", dictionary=dictionary, epsilon=1.0, steps=20,
                               hidden=16, latent=4)
    # Run
    synth.fit(source)
    out = synth.sample(2000, random_state=1)
    # Assert: the columns those answers call complete are never missing (a -inf logit on
    # *missing*); a 30 % column is never called complete at this noise (2 sd << 600 rows)
    ones = [m for m in source.released if len(m.clique) == 1][:len(synth.domain_.names)]
    flagged = {name for (name,) in absent_missing(synth.domain_, ones)}
    assert len(flagged) >= 12 and not flagged & set(HOLEY)
    assert all(out[c].notna().all() for c in flagged)
    assert all(out[c].isna().any() for c in HOLEY)


def test_a_survival_pairs_time_and_event_are_missing_together_or_not_at_all():
    # Setup: one-way answers at sigma 20 (a single cell: sd 20); the time's missing count is
    # noise that crossed 2 sd (50), its event's is 0: pooled, 25 against 2 x 14.1 -> complete.
    # A second pair missing together in the data (300 and 310) stays missing.
    from synthema.schema import Dictionary
    from synthema.stats import Domain, Measurement
    from synthema.synth.pgm import structural_zeros

    d = Dictionary.from_mapping({"name": "p", "version": 1, "variables": [
        {"name": "t", "type": "duration", "min": 0, "max": 9},
        {"name": "e", "type": "boolean"},
        {"name": "t2", "type": "duration", "min": 0, "max": 9},
        {"name": "e2", "type": "boolean"}],
        "survival": [{"time": "t", "event": "e"}, {"time": "t2", "event": "e2"}]})
    domain = Domain.from_dictionary(d, max_bins=2)

    def one(name, missing):
        counts = np.full(domain[name].size, 400)
        counts[domain[name].missing_code] = missing
        return Measurement((name,), counts, stddev=20.0, rho_spent=0.001)

    answers = [one("t", 50), one("e", 0), one("t2", 300), one("e2", 310)]
    # Run
    alone = absent_missing(domain, answers)
    together = structural_zeros(domain, d, answers)
    # Assert: alone, the time keeps invented missing values; together, neither does
    assert ("t",) not in alone and ("e",) in alone
    assert ("t",) in together and ("e",) in together
    assert ("t2",) not in together and ("e2",) not in together
