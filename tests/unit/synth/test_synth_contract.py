"""One contract over every synthesizer (like scikit-learn's ``parametrize_with_checks``)."""

from __future__ import annotations

import math
import zipfile

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from synthema.privacy import cdp_rho
from synthema.schema import typed_dtype
from synthema.synth import (
    METHODS,
    NotFittedError,
    available_methods,
    create_synthesizer,
    load_synthesizer,
)

EPSILON = 4.0
# the neural dpvae has its own test_dpvae.py; auto fits MST here (27 attributes, 2,000 patients)
ALL = ("mst", "aim", "independent", "copula", "auto")
NAMES = ("mst", "aim", "independent", "dpvae", "copula")


def test_methods_are_auto_and_the_five_documented_ones():
    # Run
    names = available_methods()

    # Assert: auto is a name create_synthesizer resolves, not a class
    assert names == ("auto", *NAMES) and "auto" not in METHODS
    assert {m: cls.method for m, cls in METHODS.items()} == {m: m for m in NAMES}
    assert [METHODS[m].private for m in NAMES] == [True, True, True, True, False]
    assert "non-private" in METHODS["copula"].label


def test_unknown_method_lists_the_methods(small_dictionary):
    # Run / Assert
    with pytest.raises(ValueError, match="mst, aim, independent, dpvae, copula"):
        create_synthesizer("gan", dictionary=small_dictionary)


def test_unknown_parameter_is_refused(small_dictionary):
    # Run / Assert
    with pytest.raises(ValueError, match="does not take rounds"):
        create_synthesizer("mst", dictionary=small_dictionary, rounds=3)


@pytest.mark.parametrize("method", ALL)
def test_params_round_trip_and_clone(method, small_dictionary):
    # Setup
    synth = create_synthesizer(
        method, dictionary=small_dictionary, epsilon=2.5, delta=1e-7, random_state=3
    )

    # Run
    params = synth.get_params()
    again = type(synth)(**params)
    cloned = clone(synth)

    # Assert
    assert params["epsilon"] == 2.5 and params["delta"] == 1e-7 and params["random_state"] == 3
    assert params["dictionary"] is small_dictionary
    assert again.get_params() == params
    assert cloned.get_params() == params and cloned is not synth
    assert synth.set_params(epsilon=1.0) is synth and synth.epsilon == 1.0
    with pytest.raises(ValueError, match="invalid parameter"):
        synth.set_params(colour="red")


@pytest.mark.parametrize("method", ALL)
def test_sample_before_fit_raises_not_fitted(method, small_dictionary, tmp_path):
    # Setup
    synth = create_synthesizer(method, dictionary=small_dictionary)

    # Run / Assert
    with pytest.raises(NotFittedError, match="fit"):
        synth.sample(10)
    with pytest.raises(NotFittedError):
        synth.save(tmp_path / "m.synth")
    assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)


@pytest.mark.parametrize("method", ALL)
def test_same_seed_same_rows_other_seed_other_rows(method, fitted):
    # Setup
    synth = fitted(method, EPSILON)

    # Run
    a = synth.sample(300, random_state=11)
    b = synth.sample(300, random_state=11)
    c = synth.sample(300, random_state=12)

    # Assert
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


@pytest.mark.parametrize("method", ALL)
def test_samples_are_typed_frames_with_the_dictionary_columns(method, fitted, small_dictionary):
    # Run
    out = fitted(method, EPSILON).sample(250, random_state=1)

    # Assert
    assert list(out.columns) == list(small_dictionary.columns)
    assert len(out) == 250
    assert out["patient_id"].tolist()[:2] == ["SYN-000001", "SYN-000002"]
    assert out["patient_id"].is_unique and str(out["patient_id"].dtype) == "string"
    for var in small_dictionary.variables:
        assert str(out[var.name].dtype) == typed_dtype(var), var.name


@pytest.mark.parametrize("method", ALL)
def test_samples_never_break_a_rule(method, fitted, small_dictionary):
    # Setup
    synth = fitted(method, EPSILON)

    # Run
    out = synth.sample(400, random_state=5)
    results = small_dictionary.evaluate_rules(out)

    # Assert
    assert not results.eq(False).fillna(False).to_numpy().any()
    report = synth.sampling_report_
    assert report["rows"] == 400 and report["violations_in_output"] == 0
    assert set(report["rules"]) == {r.name for r in small_dictionary.rules}
    for counts in report["rules"].values():
        assert set(counts) == {"violated", "redrawn", "resampled", "repaired", "rejected"}


@pytest.mark.parametrize("method", ALL)
def test_privacy_spent_never_exceeds_the_budget(method, fitted, delta):
    # Run
    spent = fitted(method, EPSILON).privacy_spent_

    # Assert
    assert set(spent) == {"rho", "epsilon", "delta", "private"}
    if method == "copula":
        assert spent["private"] is False and math.isinf(spent["rho"])
    else:
        assert spent["private"] is True
        assert 0 < spent["rho"] <= cdp_rho(EPSILON, delta) + 1e-9
        assert spent["epsilon"] <= EPSILON + 1e-9 and spent["delta"] == delta


@pytest.mark.parametrize("method", ALL)
def test_save_and_load_give_the_same_samples(method, fitted, tmp_path):
    # Setup
    synth = fitted(method, EPSILON)
    path = tmp_path / f"{method}.synth"

    # Run
    synth.save(path)
    loaded = load_synthesizer(path)

    # Assert: auto saves the synthesizer it fitted
    assert type(loaded) is type(getattr(synth, "chosen_", synth))
    assert loaded.method == synth.method != "auto"
    assert loaded.privacy_spent_ == synth.privacy_spent_
    assert loaded.get_params()["epsilon"] == EPSILON
    for seed in (0, 1):
        pd.testing.assert_frame_equal(
            loaded.sample(200, random_state=seed), synth.sample(200, random_state=seed)
        )
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["arrays.npz", "dictionary.yaml", "synthesizer.json"]
        with zf.open("arrays.npz") as fh:
            arrays = np.load(fh, allow_pickle=False)  # plain arrays: no pickle needed
            assert len(arrays.files) > 0


def test_epsilon_inf_is_labelled_not_private(fitted, delta):
    # Run
    spent = fitted("independent", math.inf).privacy_spent_

    # Assert
    assert spent == {"rho": math.inf, "epsilon": math.inf, "delta": delta, "private": False}


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), "1"])
def test_bad_epsilon_is_refused_when_fit_starts(bad, small_dictionary, aml_data):
    # Setup
    synth = create_synthesizer("independent", dictionary=small_dictionary, epsilon=bad)

    # Run / Assert
    with pytest.raises(ValueError, match="epsilon"):
        synth.fit(aml_data)


def test_bad_method_parameter_is_refused_when_fit_starts(small_dictionary, aml_data):
    # Setup
    synth = create_synthesizer("mst", dictionary=small_dictionary, iters=0)

    # Run / Assert
    with pytest.raises(ValueError, match="iters=0"):
        synth.fit(aml_data)


def test_dictionary_by_name_and_default_seeded_sampling(aml_data):
    # Setup
    sub = aml_data[["patient_id", "age", "sex", "os_days", "os_status"]]
    from synthema.schema import load_dictionary

    d = load_dictionary("aml").project(["age", "sex", "os_days", "os_status"])
    synth = create_synthesizer("independent", dictionary=d, epsilon=1.0, random_state=4)

    # Run
    synth.fit(sub)
    a, b = synth.sample(50), synth.sample(50)

    # Assert: a synthesizer with a random_state samples reproducibly by default
    pd.testing.assert_frame_equal(a, b)
    assert synth.sample(0).shape == (0, 5)
