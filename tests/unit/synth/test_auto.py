"""``method="auto"``: the documented plan on contrasting dictionaries, the settlement on the
noisy number of patients, parameters, and the record kept with the model."""

from __future__ import annotations

import json
import math
import zipfile

import numpy as np
import pandas as pd
import pytest

from synthema.errors import ParameterError
from synthema.privacy import cdp_rho
from synthema.schema import Dictionary
from synthema.stats import CentralSource, Domain, Measurement
from synthema.synth import (
    AutoSynthesizer,
    IndependentSynthesizer,
    MSTSynthesizer,
    create_synthesizer,
    load_synthesizer,
)
from synthema.synth.auto import (
    AIM_MIN_EPSILON,
    LOW_SIGNAL,
    SMALL,
    MethodChoice,
    choose_method,
    pooled,
    settle,
)
from synthema.synth.files import provenance


def _numbers(d: int) -> Dictionary:
    """A dictionary of ``d`` integer attributes (one row per patient)."""
    return Dictionary.from_mapping({"name": f"n{d}", "version": 1, "variables": [
        {"name": f"x{i}", "type": "integer", "min": 0, "max": 3} for i in range(d)]})


def _rows(d: int, n: int, seed: int) -> pd.DataFrame:
    """``n`` patients whose first two attributes are equal (one association to find)."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 4, size=(n, d))
    x[:, 1] = x[:, 0]
    return pd.DataFrame({f"x{i}": pd.array(x[:, i], dtype="Int64") for i in range(d)})


class SpySource:
    """A StatisticsSource that records each batch's cliques and noise scale."""

    def __init__(self, inner: CentralSource) -> None:
        self.inner, self.calls = inner, []

    @property
    def domain(self):
        return self.inner.domain

    def measure(self, cliques, *, sigma):
        self.calls.append((list(cliques), sigma))
        return self.inner.measure(cliques, sigma=sigma)


@pytest.mark.parametrize(
    ("dictionary", "epsilon", "expected"),
    [
        ("full AML", 1.0, "mst"),
        ("full AML", math.inf, "mst"),
        ("small", AIM_MIN_EPSILON, "aim"),
        ("small", math.inf, "aim"),
        ("small", 1.0, "mst"),
    ],
)
def test_the_plan_follows_the_documented_rule_on_contrasting_dictionaries(
    dictionary, epsilon, expected, aml_full
):
    # Setup: the AML dictionary against one at the small limit
    d = aml_full if dictionary == "full AML" else _numbers(SMALL)

    # Run
    plan = choose_method(d, epsilon=epsilon)

    # Assert: the method, and a reason naming the facts it used and the evidence
    assert plan.method == expected
    assert plan.attributes == len(d) and f"{len(d)} attributes" in plan.reason
    assert plan.cells == sum(Domain.from_dictionary(d).shape)
    assert "docs/benchmarks.md" in plan.reason and plan.patients is None


def test_one_attribute_past_the_small_limit_changes_the_plan():
    # Run
    at, past = (choose_method(_numbers(d), epsilon=AIM_MIN_EPSILON) for d in (SMALL, SMALL + 1))

    # Assert
    assert (at.method, past.method) == ("aim", "mst")


def test_a_single_attribute_gets_independent_marginals():
    # Run
    plan = choose_method(_numbers(1), epsilon=1.0)

    # Assert
    assert plan.method == "independent" and "no association" in plan.reason


def test_parameters_given_rule_out_methods_that_do_not_take_them(aml_full):
    # Run: rounds is AIM's; iters is MST's and AIM's
    rounds = choose_method(aml_full, epsilon=1.0, params=["rounds"])
    iters = choose_method(_numbers(1), epsilon=1.0, params=["iters"])

    # Assert
    assert rounds.method == "aim" and "rounds" in rounds.reason
    assert iters.method == "mst"  # independent would be planned, but it takes no iters
    with pytest.raises(ParameterError, match="none of them takes hidden"):
        create_synthesizer(dictionary=aml_full, epsilon=1.0, hidden=8)


@pytest.mark.parametrize(("patients", "expected"), [(LOW_SIGNAL - 1, "independent"),
                                                    (LOW_SIGNAL, "mst")])
def test_settlement_switches_to_independent_below_the_signal_limit(patients, expected):
    # Setup: at ε = 1 the noisy number of patients is the signal
    plan = MethodChoice("mst", "planned", attributes=9, cells=70, epsilon=1.0)

    # Run
    settled = settle(plan, patients=patients, allowed=["mst", "aim", "independent"])
    kept = settle(plan, patients=1.0, allowed=["mst", "aim"])

    # Assert
    assert settled.method == expected and settled.patients == patients
    assert f"about {patients:.0f} patients" in settled.reason
    assert kept.method == "mst"  # independent ruled out by a parameter


def test_pooled_answers_are_as_precise_as_one_costing_both():
    # Setup: two answers of unequal noise
    a = Measurement(("x",), np.array([100, 40, 7]), stddev=3.0, rho_spent=1 / 18)
    b = Measurement(("x",), np.array([96, 50, 1]), stddev=6.0, rho_spent=1 / 72)

    # Run
    m = pooled(a, b)

    # Assert: weights 1/9 and 1/36 (4:1); variance 1/(1/9 + 1/36) = 7.2, plus rounding
    expected = (4 * np.array([100, 40, 7]) + np.array([96, 50, 1])) / 5
    assert m.noisy_counts.tolist() == np.rint(expected).astype(int).tolist()
    assert m.stddev ** 2 == pytest.approx(7.2 + 1 / 12)
    assert m.rho_spent == pytest.approx(1 / 18 + 1 / 72)


def test_auto_is_the_default_and_plans_before_it_reads_data(aml_full):
    # Run
    default = create_synthesizer(dictionary=aml_full, epsilon=1.0, random_state=0)
    named = create_synthesizer("mst", dictionary=aml_full, epsilon=1.0)

    # Assert
    assert isinstance(default, AutoSynthesizer) and default.method == "auto"
    assert default.plan() == choose_method(aml_full, epsilon=1.0)
    assert default.method_choice is None  # settled by fit
    assert isinstance(named, MSTSynthesizer) and named.method_choice is None


@pytest.mark.parametrize(("epsilon", "delta"), [(0, 1e-6), (1.0, 2.0), ("1", 1e-6)])
def test_auto_refuses_a_bad_budget_at_once(epsilon, delta, aml_full):
    # Run / Assert
    with pytest.raises(ParameterError):
        create_synthesizer("auto", dictionary=aml_full, epsilon=epsilon, delta=delta)


def test_a_bad_option_of_the_planned_method_is_refused_before_fitting():
    # Setup
    synth = create_synthesizer(dictionary=_numbers(4), epsilon=1.0, iters=0)

    # Run / Assert
    with pytest.raises(ParameterError, match="iters=0"):
        synth.fit(_rows(4, 20, seed=0))


def test_few_patients_settle_on_independent_with_the_whole_budget_spent():
    # Setup: 4 attributes, 300 patients at ε = 1: n · ε = 300, far below the limit. The noisy
    # count (OS noise) has sd ≈ 18 (σ ≈ 15.7 per cell at ρ/3 over 4 marginals of 5 cells,
    # inverse-variance mean of their totals): outside 200..400 with probability ~1e-8
    d = _numbers(4)
    spy = SpySource(CentralSource(_rows(4, 300, seed=1), d))
    synth = create_synthesizer(dictionary=d, epsilon=1.0, random_state=0)

    # Run
    synth.fit(spy)

    # Assert: one-way marginals twice (MST's third, then the rest), pooled; nothing else
    assert synth.method == "independent" and isinstance(synth.chosen_, IndependentSynthesizer)
    assert synth.method_choice.method == "independent"
    assert 200 < synth.method_choice.patients < 400
    assert [len(c[0][0]) for c in spy.calls] == [1, 1] and len(spy.calls) == 2
    assert spy.calls[0][1] > spy.calls[1][1]  # the rest of rho is the larger share
    assert synth.privacy_spent_["rho"] == pytest.approx(cdp_rho(1.0, 1e-6), rel=1e-6)
    assert synth.cliques_ == [] and len(synth.sample(10, random_state=1)) == 10


def test_enough_patients_keep_the_plan(fixed_noise):
    # Setup: 4 attributes, 3,000 patients at ε = 1 (n · ε = 3,000; sd of the count ≈ 18);
    # one fixed noise draw, so that the association found is reproducible
    d = _numbers(4)
    synth = create_synthesizer(dictionary=d, epsilon=1.0, random_state=0)

    # Run
    with fixed_noise(3):
        synth.fit(_rows(4, 3000, seed=2))

    # Assert: MST fitted from the one-way answers auto measured, and it found x0-x1
    assert synth.method == "mst" and isinstance(synth.chosen_, MSTSynthesizer)
    assert synth.method_choice.patients == pytest.approx(3000, abs=150)
    assert "at least 1000" in synth.method_choice.reason
    assert ("x0", "x1") in synth.cliques_
    assert synth.privacy_spent_["rho"] == pytest.approx(cdp_rho(1.0, 1e-6), rel=1e-6)


def test_the_choice_is_saved_with_the_model_and_read_back(tmp_path):
    # Setup: few patients, so auto settles on independent marginals in milliseconds
    synth = create_synthesizer(dictionary=_numbers(3), epsilon=1.0, random_state=0)
    synth.fit(_rows(3, 200, seed=3))

    # Run
    path = synth.save(tmp_path / "auto.synth")
    loaded = load_synthesizer(path)
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read("synthesizer.json"))

    # Assert
    assert isinstance(loaded, IndependentSynthesizer)
    assert loaded.method_choice == synth.method_choice
    assert manifest["method"] == "independent"
    assert manifest["method_choice"]["requested"] == "auto"
    assert manifest["method_choice"]["reason"] == synth.method_choice.reason
    assert provenance(loaded)["method_choice"]["method"] == "independent"
    pd.testing.assert_frame_equal(loaded.sample(20, random_state=4),
                                  synth.sample(20, random_state=4))


def test_choice_json_round_trips_infinite_epsilon():
    # Setup
    choice = MethodChoice("aim", "why", attributes=3, cells=9, epsilon=math.inf, patients=12.5)

    # Run
    raw = json.loads(json.dumps(choice.to_json(), allow_nan=False))

    # Assert
    assert MethodChoice.from_json(raw) == choice
