"""``method="auto"``: the documented rule on contrasting dictionaries, parameters, the record."""

from __future__ import annotations

import json
import math
import zipfile

import numpy as np
import pandas as pd
import pytest

from synthema.errors import ParameterError
from synthema.schema import Dictionary
from synthema.stats import Domain
from synthema.synth import (
    AIMSynthesizer,
    IndependentSynthesizer,
    MSTSynthesizer,
    create_synthesizer,
    load_synthesizer,
)
from synthema.synth.auto import AIM_MIN_EPSILON, SMALL, MethodChoice, choose_method
from synthema.synth.files import provenance


def _numbers(d: int) -> Dictionary:
    """A dictionary of ``d`` integer attributes (one row per patient)."""
    return Dictionary.from_mapping({"name": f"n{d}", "version": 1, "variables": [
        {"name": f"x{i}", "type": "integer", "min": 0, "max": 3} for i in range(d)]})


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
def test_auto_follows_the_documented_rule_on_contrasting_dictionaries(
    dictionary, epsilon, expected, aml_full
):
    # Setup: the 146-attribute AML dictionary against one at the small limit
    d = aml_full if dictionary == "full AML" else _numbers(SMALL)

    # Run
    choice = choose_method(d, epsilon=epsilon)

    # Assert: the method, and a reason naming the facts it used
    assert choice.method == expected
    assert choice.attributes == len(d) and f"{len(d)} attributes" in choice.reason
    assert "docs/benchmarks.md" in choice.reason
    assert choice.cells == sum(Domain.from_dictionary(d).shape)


def test_one_attribute_past_the_small_limit_changes_the_choice():
    # Run
    at, past = (choose_method(_numbers(d), epsilon=AIM_MIN_EPSILON) for d in (SMALL, SMALL + 1))

    # Assert
    assert (at.method, past.method) == ("aim", "mst")


def test_a_single_attribute_gets_independent_marginals():
    # Run
    choice = choose_method(_numbers(1), epsilon=1.0)

    # Assert
    assert choice.method == "independent" and "no association" in choice.reason


def test_parameters_given_rule_out_methods_that_do_not_take_them(aml_full):
    # Run: rounds is AIM's; iters is MST's and AIM's
    rounds = choose_method(aml_full, epsilon=1.0, params=["rounds"])
    iters = choose_method(_numbers(1), epsilon=1.0, params=["iters"])

    # Assert
    assert rounds.method == "aim" and "rounds" in rounds.reason
    assert iters.method == "mst"  # independent would be chosen, but it takes no iters
    with pytest.raises(ParameterError, match="none of them takes hidden"):
        choose_method(aml_full, epsilon=1.0, params=["hidden"])


def test_auto_is_the_default_of_create_synthesizer_and_records_the_choice(aml_full):
    # Run
    default = create_synthesizer(dictionary=aml_full, epsilon=1.0, random_state=0)
    small = create_synthesizer("auto", dictionary=_numbers(3), epsilon=math.inf, rounds=2)
    named = create_synthesizer("mst", dictionary=aml_full, epsilon=1.0)

    # Assert: the chosen class, with its parameters, and the choice kept beside them
    assert isinstance(default, MSTSynthesizer)
    assert default.method_choice == choose_method(aml_full, epsilon=1.0)
    assert isinstance(small, AIMSynthesizer) and small.rounds == 2
    assert named.method_choice is None


@pytest.mark.parametrize(("epsilon", "delta"), [(0, 1e-6), (1.0, 2.0), ("1", 1e-6)])
def test_auto_refuses_a_bad_budget_before_choosing(epsilon, delta, aml_full):
    # Run / Assert
    with pytest.raises(ParameterError):
        create_synthesizer("auto", dictionary=aml_full, epsilon=epsilon, delta=delta)


def test_the_choice_is_saved_with_the_model_and_read_back(tmp_path):
    # Setup: one attribute, so auto fits independent marginals in milliseconds
    d = _numbers(1)
    data = pd.DataFrame({"x0": pd.array(np.arange(50) % 4, dtype="Int64")})
    synth = create_synthesizer(dictionary=d, epsilon=1.0, random_state=0).fit(data)

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


def test_choice_json_round_trips_infinite_epsilon():
    # Setup
    choice = MethodChoice("aim", "why", attributes=3, cells=9, epsilon=math.inf)

    # Run
    raw = json.loads(json.dumps(choice.to_json(), allow_nan=False))

    # Assert
    assert MethodChoice.from_json(raw) == choice
