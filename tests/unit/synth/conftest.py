"""Shared fixtures: a projected AML dictionary, 2,000 simulated patients, fitted synthesizers.

Fitting compiles an mbi program per model structure (seconds), so fitted synthesizers are
cached for the session: tests that only read a fitted model share it.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import pandas as pd
import pytest

import synthema.privacy.mechanisms as mechanisms
from synthema.cohorts.simulate import simulate
from synthema.schema import Dictionary, load_dictionary
from synthema.stats import CentralSource
from synthema.synth import BaseSynthesizer, create_synthesizer

# survival pair, ELN 2022, age, NPM1/FLT3-ITD, remission and relapse (rules), and columns
# that are mostly missing (flt3_itd_ar, relapse_days, cux1, pten)
COLUMNS = [
    "age",
    "sex",
    "eln2022",
    "ecog",
    "wbc",
    "hb",
    "platelets",
    "ldh",
    "pb_blasts",
    "induction_intensity",
    "induction_response",
    "cr",
    "cr_days",
    "relapse",
    "relapse_days",
    "os_days",
    "os_status",
    "efs_days",
    "efs_status",
    "npm1",
    "flt3_itd",
    "flt3_itd_ar",
    "tp53",
    "dnmt3a",
    "asxl1",
    "cux1",
    "pten",
]
PATIENTS = 2000
METHODS = ("mst", "aim", "independent", "copula")
DELTA = 1e-6


@pytest.fixture(scope="session")
def aml_full() -> Dictionary:
    return load_dictionary("aml")


@pytest.fixture(scope="session")
def small_dictionary(aml_full) -> Dictionary:
    return aml_full.project(COLUMNS)


@pytest.fixture(scope="session")
def aml_data(small_dictionary) -> pd.DataFrame:
    sites = simulate("aml", sites=3, patients=PATIENTS, seed=7)
    df = pd.concat([s.data for s in sites], ignore_index=True)
    return df[list(small_dictionary.columns)]


@pytest.fixture(scope="session")
def fixed_noise():
    """``with fixed_noise(seed): ...`` draws DP noise from a seeded generator, for tests only.

    Every release draws its noise from the operating system's cryptographic generator, so two
    fits never see the same noise. Tests of model *quality* at a finite ε (a Kaplan-Meier gap,
    a TVD) would then pass or fail by chance; inside this block they see one fixed draw, as a
    seeded test should. Tests of the noise itself never use it.
    """

    @contextmanager
    def use(seed: int):
        generator = np.random.default_rng([seed, 0xD1CE])
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(mechanisms, "OSRandom", lambda: generator)
            yield

    return use


_CACHE: dict[tuple, BaseSynthesizer] = {}


@pytest.fixture(scope="session")
def fitted(small_dictionary, aml_data, fixed_noise):
    """``fitted(method, epsilon, **params)``: a synthesizer fitted once per session.

    Its DP noise is one fixed draw (``fixed_noise``), so quality assertions are reproducible.
    """

    def get(method: str, epsilon: float, **params) -> BaseSynthesizer:
        key = (method, epsilon, tuple(sorted(params.items())))
        if key not in _CACHE:
            synth = create_synthesizer(
                method,
                dictionary=small_dictionary,
                epsilon=epsilon,
                delta=DELTA,
                random_state=0,
                **params,
            )
            with fixed_noise(0):
                _CACHE[key] = synth.fit(aml_data)
        return _CACHE[key]

    return get


def _tvd(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    return 0.5 * float(np.abs(a / a.sum() - b / b.sum()).sum())


@pytest.fixture(scope="session")
def tvd():
    """Total variation distance between two count (or probability) vectors."""
    return _tvd


class OtherSource:
    """Any StatisticsSource that is not a CentralSource (e.g. a federation): it answers
    through a central source but is not one, so methods that need raw rows refuse it."""

    def __init__(self, inner):
        self.inner = inner

    @property
    def domain(self):
        return self.inner.domain

    def measure(self, cliques, *, sigma):
        return self.inner.measure(cliques, sigma=sigma)


class RecordingSource(CentralSource):
    """A central source that keeps every noisy answer it released, in order."""

    def __init__(self, data, dictionary) -> None:
        super().__init__(data, dictionary)
        self.released: list = []

    def measure(self, cliques, *, sigma):
        out = super().measure(cliques, sigma=sigma)
        self.released.extend(out)
        return out


@pytest.fixture(scope="session")
def recording_source():
    """:class:`RecordingSource`, for tests that check what a fit released."""
    return RecordingSource


@pytest.fixture(scope="session")
def other_source():
    """:class:`OtherSource`, for tests of methods that refuse a non-central source."""
    return OtherSource


@pytest.fixture(scope="session")
def delta() -> float:
    return DELTA
