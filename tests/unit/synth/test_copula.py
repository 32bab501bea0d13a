"""The Gaussian copula: non-private, labelled, needs the raw data."""

from __future__ import annotations

import numpy as np
import pytest

from synthema.errors import SynthemaError
from synthema.stats import CentralSource
from synthema.synth import GaussianCopulaSynthesizer, create_synthesizer


def test_copula_is_labelled_non_private(fitted):
    # Run
    synth = fitted("copula", 4.0)

    # Assert
    assert GaussianCopulaSynthesizer.private is False
    assert synth.label == "non-private baseline (Gaussian copula)"
    assert synth.privacy_spent_["private"] is False


def test_copula_refuses_a_non_central_source(small_dictionary, aml_data, other_source):
    # Setup
    source = other_source(CentralSource(aml_data, small_dictionary))
    synth = create_synthesizer("copula", dictionary=small_dictionary)

    # Run / Assert
    with pytest.raises(SynthemaError, match="needs the raw data"):
        synth.fit(source)


def test_central_source_and_dataframe_give_the_same_copula(small_dictionary, aml_data):
    # Setup
    cols = ["patient_id", "age", "wbc", "cr", "os_days", "os_status", "eln2022"]
    d = small_dictionary.project(cols[1:])
    data = aml_data[cols]

    # Run
    from_frame = create_synthesizer("copula", dictionary=d).fit(data)
    from_source = create_synthesizer("copula", dictionary=d).fit(CentralSource(data, d))

    # Assert
    np.testing.assert_allclose(from_frame.correlation_, from_source.correlation_, atol=1e-9)
    for name in d.names:
        np.testing.assert_allclose(
            from_frame.probabilities_[name], from_source.probabilities_[name], atol=1e-12
        )
    assert abs(from_frame.correlation_[d.names.index("os_days"), d.names.index("os_status")]) > 0.1
