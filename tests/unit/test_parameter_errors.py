"""User-fixable parameters raise ParameterError from the library, once (issue 12)."""

from __future__ import annotations

import pytest

from synthema.cohorts.simulate import simulate
from synthema.errors import ParameterError, SynthemaError
from synthema.evaluate import EvaluationReport
from synthema.privacy import cdp_rho
from synthema.schema import load_dictionary
from synthema.synth import check_parameters, create_synthesizer


def test_parameter_error_is_a_synthema_error_and_a_value_error():
    assert issubclass(ParameterError, SynthemaError) and issubclass(ParameterError, ValueError)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: create_synthesizer("gan", dictionary="aml"), "unknown method 'gan'"),
        (lambda: check_parameters("mst", dictionary="aml", epsilon=-1.0), "epsilon is -1"),
        (lambda: cdp_rho(1.0, 1.5), "delta must be in"),
        (lambda: simulate("cll", sites=3, patients=10, seed=0), "unknown disease 'cll'"),
        (lambda: load_dictionary("aml").in_group("mutation"), "has no group 'mutation'"),
        (lambda: EvaluationReport("aml", metrics=["nope"]), "unknown metric"),
    ],
)
def test_library_raises_parameter_error_with_a_fix(call, message):
    with pytest.raises(ParameterError, match=message) as info:
        call()
    assert info.value.fix


def test_a_central_fit_checks_its_parameters_before_reading_any_file(tmp_path):
    from synthema.synth.files import fit_files

    absent = tmp_path / "absent.csv"  # never read: the parameters are refused first
    with pytest.raises(ParameterError, match="epsilon is missing"):
        fit_files([absent], dictionary="aml", out=tmp_path / "m.synth")
    with pytest.raises(ParameterError, match="delta is 2"):
        fit_files([absent], dictionary="aml", out=tmp_path / "m.synth", epsilon=1.0, delta=2.0)
