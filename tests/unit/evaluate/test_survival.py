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
    cox_score_z,
    cox_screen,
    kaplan_meier,
    km_horizon,
    km_max_distance,
    logrank,
    number_at_risk,
    rmst,
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


# -- issue 24: bands, numbers at risk, RMST, tied risk sets, the horizon ---------------------


def test_kaplan_meier_band_is_lifelines_log_log_interval(waltons):
    # Setup: lifelines' default confidence interval is the exponential Greenwood one
    ref = KaplanMeierFitter().fit(waltons["T"], waltons["E"])
    ci = ref.confidence_interval_
    km = kaplan_meier(waltons["T"].to_numpy(), waltons["E"].to_numpy())
    times = ci.index.to_numpy()[1:-1]  # inside the curve (the ends have S = 1 or 0)
    # Run
    lower, upper = km.band(times)
    # Assert
    assert np.max(np.abs(lower - ci.iloc[1:-1, 0].to_numpy())) < 1e-9
    assert np.max(np.abs(upper - ci.iloc[1:-1, 1].to_numpy())) < 1e-9


def test_numbers_at_risk_are_lifelines_event_table(rossi):
    # Setup
    ref = KaplanMeierFitter().fit(rossi["week"], rossi["arrest"]).event_table
    # Run
    got = number_at_risk(rossi["week"].to_numpy(), ref.index.to_numpy())
    # Assert: censored at t is still at risk at t
    assert got.tolist() == ref["at_risk"].tolist()


def test_rmst_matches_lifelines_and_its_variance_a_bootstrap(waltons):
    # Setup
    from lifelines.utils import restricted_mean_survival_time

    t, e = waltons["T"].to_numpy(), waltons["E"].to_numpy()
    ref_fit = KaplanMeierFitter().fit(t, e)
    km = kaplan_meier(t, e)
    rng = np.random.default_rng(0)
    draws = [rng.integers(len(t), size=len(t)) for _ in range(1500)]
    for tau in (20.0, 45.5, 60.0):
        # Run
        mean, var = rmst(km, tau)
        # Assert: the mean is lifelines' integral of the same curve; the variance is the
        # estimator's (Greenwood form), which a bootstrap reproduces (lifelines'
        # return_variance is the spread of min(T, tau) across patients, another quantity)
        assert mean == pytest.approx(restricted_mean_survival_time(ref_fit, t=tau), rel=1e-9)
        boot = np.var([rmst(kaplan_meier(t[i], e[i]), tau)[0] for i in draws])
        assert var == pytest.approx(boot, rel=0.15)


def test_cox_score_of_a_binary_covariate_with_ties_is_the_logrank_statistic(rossi):
    # Setup: rossi's weeks are heavily tied (52 distinct times for 432 men)
    x = rossi[["fin", "race", "wexp", "mar", "paro"]].to_numpy(dtype=float)
    # Run
    z = cox_score_z(x, rossi["week"].to_numpy(), rossi["arrest"].to_numpy())
    # Assert: z² is lifelines' log-rank chi² of the two groups (all tied rows in the risk set)
    for j, name in enumerate(["fin", "race", "wexp", "mar", "paro"]):
        g = rossi[name] == 1
        ref = logrank_test(rossi.week[g], rossi.week[~g], rossi.arrest[g], rossi.arrest[~g])
        assert z[j] ** 2 == pytest.approx(ref.test_statistic, rel=1e-9), name


def test_km_distance_stops_where_too_few_remain_at_risk():
    # Setup: identical curves for 200 patients up to t = 100; past it one patient per arm is
    # left, dying at once in one arm and surviving long in the other (a 0.5 % vs 100 % tail)
    base = np.r_[np.arange(1.0, 200.0) * 0.5, 0.0]
    t_a, t_b = base.copy(), base.copy()
    t_a[-1], t_b[-1] = 101.0, 5000.0
    e_a, e_b = np.ones(200, bool), np.r_[np.ones(199, bool), False]
    a, b = kaplan_meier(t_a, e_a), kaplan_meier(t_b, e_b)
    # Run
    horizon = km_horizon(t_a, t_b)
    # Assert: the whole-curve gap is the lone patient's; up to the horizon there is none
    assert km_max_distance(a, b) == pytest.approx(0.005, abs=1e-9)
    assert np.sum(t_a >= horizon) >= 20 and np.sum(t_b >= horizon) >= 20
    assert km_max_distance(a, b, horizon=horizon) == 0.0


def test_km_distance_metric_reports_the_horizon_and_the_full_curve_gap():
    # Setup: real and synthetic agree until the last 5 % of patients, then differ wildly
    import pandas as pd

    from synthema.evaluate import evaluate
    from synthema.schema import Dictionary

    d = Dictionary.from_mapping({"name": "tail", "version": 1, "variables": [
        {"name": "t", "type": "duration", "min": 0, "max": 100000},
        {"name": "e", "type": "boolean"}, {"name": "x", "type": "integer", "min": 0,
                                           "max": 9}],
        "survival": [{"time": "t", "event": "e"}]})
    rng = np.random.default_rng(4)
    n = 400
    t = np.sort(rng.exponential(300, n)).round() + 1
    real = pd.DataFrame({"t": t, "e": np.ones(n, bool), "x": rng.integers(0, 9, n)})
    syn = real.copy()
    syn.loc[n - 20:, "e"] = False  # the last 20 (5 %) censored instead of dying
    syn.loc[n - 20:, "t"] = 90000.0
    # Run
    report = evaluate(real, syn, dictionary=d, metrics=["km_distance"])
    pair = report.get_details("km_distance")["pairs"][0]
    # Assert: the tail where fewer than 10 % remain is left out, and the page says where
    assert pair["km_distance_full"] == pytest.approx(0.05, abs=1e-9)
    assert pair["km_distance"] == 0.0
    assert pair["horizon"] == pytest.approx(float(np.sort(t)[::-1][39]))
