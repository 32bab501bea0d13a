"""Privacy attacks flag a generator that copies training rows, and not a fresh sample."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import value
from scipy.stats import norm

from synthema.evaluate.anonymeter import residual_risk, success_rate
from synthema.evaluate.distance import nearest

ATTACKS = ("dcr_share", "nndr_risk", "membership_inference_auroc", "singling_out_risk",
           "linkability_risk", "inference_risk")


def test_copies_of_training_rows_are_flagged(copies_report):
    # Assert: the copying generator fails every distance attack and the duplicate check
    assert value(copies_report, "dcr_share") > 0.95
    assert value(copies_report, "nndr_risk") > 0.9
    assert value(copies_report, "membership_inference_auroc") > 0.75
    assert value(copies_report, "real_duplicates") > 0.5
    assert value(copies_report, "linkability_risk") > 0.3
    assert value(copies_report, "inference_risk") > 0.3
    for name in ("dcr_share", "nndr_risk", "membership_inference_auroc", "real_duplicates"):
        assert next(r for r in copies_report.results if r.name == name).status == "fail"


def test_a_fresh_sample_of_the_population_passes(fresh_report):
    # Assert: as close to training rows as to holdout rows; attacks at control level
    assert value(fresh_report, "dcr_share") == pytest.approx(0.5, abs=0.05)
    assert value(fresh_report, "membership_inference_auroc") == pytest.approx(0.5, abs=0.05)
    assert value(fresh_report, "nndr_risk") < 0.1
    assert value(fresh_report, "singling_out_risk") < 0.05
    assert value(fresh_report, "linkability_risk") < 0.05
    assert value(fresh_report, "real_duplicates") == 0.0


def test_dcr_details_carry_the_holdout_baseline(copies_report):
    # Run
    details = copies_report.get_details("dcr_share")
    # Assert
    assert details["share_exact_copies"] > 0.95 and details["holdout_share_exact"] == 0.0
    hist = details["histogram"]
    assert len(hist["edges"]) == len(hist["synthetic"]) + 1
    assert sum(hist["synthetic"]) == pytest.approx(1.0, abs=1e-4)


def test_anonymeter_results_report_rates_risk_and_interval(copies_report):
    # Run
    details = copies_report.get_details("singling_out_risk")
    # Assert
    lo, hi = details["risk_ci"]
    assert 0 <= lo <= details["risk"] <= hi <= 1
    assert details["attack_rate"] > details["control_rate"] > details["baseline_rate"] - 0.05
    assert details["n_attacks"] > 50


def test_wilson_rate_is_the_published_formula():
    # Setup
    n, k, z = 500, 100, norm.ppf(0.975)
    centre = (k + z * z / 2) / (n + z * z)
    half = z / (n + z * z) * math.sqrt(k * (n - k) / n + z * z / 4)
    # Run
    rate = success_rate(n, k)
    # Assert
    assert rate.value == pytest.approx(centre) and rate.error == pytest.approx(half)


def test_residual_risk_is_baseline_corrected_and_bounded():
    # Setup
    attack, control = success_rate(1000, 600), success_rate(1000, 200)
    # Run
    risk = residual_risk(attack, control)
    # Assert: (attack - control) / (1 - control), interval inside [0, 1]
    expected = (attack.value - control.value) / (1 - control.value)
    assert risk.value == pytest.approx(expected)
    assert 0 <= risk.ci[0] < risk.value < risk.ci[1] <= 1
    assert residual_risk(control, attack).value == 0.0  # control wins: no risk, never negative


def test_nearest_returns_exact_zero_for_copies_and_sorted_neighbours():
    # Setup
    rng = np.random.default_rng(0)
    refs = rng.random((300, 40)).astype(np.float32)
    queries = np.vstack([refs[:5], rng.random((5, 40))])
    # Run
    dist, idx = nearest(queries, refs, k=3)
    # Assert
    assert np.all(dist[:5, 0] == 0) and idx[:5, 0].tolist() == [0, 1, 2, 3, 4]
    brute = np.sqrt(((queries[:, None, :].astype(float) - refs[None].astype(float)) ** 2).sum(-1))
    assert np.allclose(dist, np.sort(brute, axis=1)[:, :3])
    assert np.all(np.diff(dist, axis=1) >= 0)


# -- issue 24 item 5: the inference risk's status is no coin flip ----------------------------


def test_a_missing_guess_of_a_missing_secret_is_no_hit():
    # Setup
    from synthema.evaluate.anonymeter import _guess_ok

    guess = np.array(["cr", None, "refractory", None], dtype=object)
    truth = np.array(["cr", None, "cr", "cr"], dtype=object)
    # Run / Assert: only a present, equal guess counts (both-missing made the control succeed
    # 80-90 % of the time, multiplying the risk's noise 5-8 times)
    assert _guess_ok(guess, truth, False).tolist() == [True, False, False, False]
    assert _guess_ok(np.array([1.0, np.nan]), np.array([1.04, np.nan]), True).tolist() == [
        True, False]


def test_a_risk_whose_interval_reaches_zero_does_not_fail():
    # Setup: a point risk of 0.2 whose 95 % interval reaches 0.02 (few attacks)
    from synthema.evaluate.anonymeter import InferenceRisk, _limits, _result
    from synthema.evaluate.metric import Outcome

    res = _result(120, 60, 45, 10, tests=2)
    # Run
    status, _, limits = InferenceRisk.judge(Outcome(res["risk"], res, _limits(
        InferenceRisk, res, 2)))
    # Assert: the point estimate alone would fail it
    assert res["risk"] > InferenceRisk.thresholds[1]
    assert res["risk_ci"][0] < 0.05 and limits.judged < InferenceRisk.thresholds[0]
    assert InferenceRisk.status(res["risk"]) == "fail" and status == "pass"


def test_a_clear_inference_leak_still_fails():
    # Setup: 1,500 of 2,000 attacks succeed, 400 of 2,000 controls
    from synthema.evaluate.anonymeter import InferenceRisk, _limits, _result
    from synthema.evaluate.metric import Outcome

    res = _result(2000, 1500, 400, 300, tests=5)
    # Run
    status, _, limits = InferenceRisk.judge(Outcome(res["risk"], res, _limits(
        InferenceRisk, res, 5)))
    # Assert: (0.75 - 0.2) / 0.8 = 0.69, its lower bound far above 0.15
    assert limits.judged > 0.6 and status == "fail"
