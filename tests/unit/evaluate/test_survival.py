"""Kaplan-Meier, C-index and log-rank code against lifelines on lifelines' own datasets."""

from __future__ import annotations

import numpy as np
import pytest
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.datasets import load_rossi, load_waltons
from lifelines.statistics import logrank_test
from lifelines.utils import concordance_index as lifelines_cindex

from synthema.evaluate.survival import (
    concordance_index,
    cox_screen,
    kaplan_meier,
    km_max_distance,
    logrank,
)


@pytest.fixture(scope="module")
def waltons():
    return load_waltons()


@pytest.fixture(scope="module")
def rossi():
    return load_rossi()


def test_kaplan_meier_matches_lifelines_everywhere(waltons):
    # Setup
    grid = np.linspace(0, waltons["T"].max() + 5, 2001)
    ref = KaplanMeierFitter().fit(waltons["T"], waltons["E"])
    # Run
    km = kaplan_meier(waltons["T"].to_numpy(), waltons["E"].to_numpy())
    # Assert
    expected = ref.survival_function_at_times(grid).to_numpy()
    assert np.max(np.abs(km.at(grid) - expected)) < 1e-12


def test_km_max_distance_is_the_supremum_between_the_group_curves(waltons):
    # Setup
    a = waltons[waltons.group == "control"]
    b = waltons[waltons.group != "control"]
    ka = KaplanMeierFitter().fit(a["T"], a["E"])
    kb = KaplanMeierFitter().fit(b["T"], b["E"])
    grid = np.linspace(0, 80, 20001)
    brute = np.max(np.abs(ka.survival_function_at_times(grid).to_numpy()
                          - kb.survival_function_at_times(grid).to_numpy()))
    # Run
    d = km_max_distance(kaplan_meier(a["T"].to_numpy(), a["E"].to_numpy()),
                        kaplan_meier(b["T"].to_numpy(), b["E"].to_numpy()))
    # Assert: the union of event times attains the supremum a fine grid approaches
    assert d == pytest.approx(brute, abs=1e-12)
    assert km_max_distance(kaplan_meier(a["T"].to_numpy(), a["E"].to_numpy()),
                           kaplan_meier(a["T"].to_numpy(), a["E"].to_numpy())) == 0.0


@pytest.mark.parametrize("rounding", [None, 0])
def test_cindex_matches_lifelines_with_and_without_tied_risks(rossi, rounding):
    # Setup: weekly times have many ties; rounded risks add ties in the prediction
    cox = CoxPHFitter().fit(rossi, "week", "arrest")
    risk = cox.predict_log_partial_hazard(rossi).to_numpy()
    if rounding is not None:
        risk = np.round(risk, rounding)
    # Run
    ours = concordance_index(rossi["week"].to_numpy(), risk, rossi["arrest"].to_numpy())
    # Assert
    assert ours == pytest.approx(lifelines_cindex(rossi["week"], -risk, rossi["arrest"]),
                                 abs=1e-12)


def test_logrank_is_lifelines(waltons):
    # Setup
    a = waltons[waltons.group == "control"]
    b = waltons[waltons.group != "control"]
    ref = logrank_test(a["T"], b["T"], event_observed_A=a["E"], event_observed_B=b["E"])
    # Run
    chi2, p = logrank(a["T"], a["E"], b["T"], b["E"])
    # Assert
    assert chi2 == pytest.approx(ref.test_statistic) and p == pytest.approx(ref.p_value)


def test_cox_screen_finds_the_covariate_that_drives_the_hazard():
    # Setup
    rng = np.random.default_rng(3)
    x = rng.normal(size=(500, 6))
    time = rng.exponential(np.exp(-1.5 * x[:, 4]))
    event = rng.random(500) < 0.8
    # Run
    chosen = cox_screen(x, time, event, k=1)
    # Assert
    assert chosen.tolist() == [4]


def test_curves_without_events_stay_at_one():
    # Setup: a risk group where every patient is censored
    censored = kaplan_meier(np.array([5.0, 9.0]), np.array([0, 0]))
    dying = kaplan_meier(np.array([5.0, 9.0]), np.array([1, 1]))
    # Assert
    assert censored.at(np.array([0.0, 10.0])).tolist() == [1.0, 1.0]
    assert km_max_distance(censored, dying) == 1.0
    assert km_max_distance(censored, kaplan_meier(np.array([]), np.array([]))) == 0.0
