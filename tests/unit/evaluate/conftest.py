"""Small AML cohorts on a 22-column slice of the dictionary: training, holdout, a fresh sample.

The slice keeps two survival pairs, the rules among its columns, every variable type, and
outcomes that depend on the covariates, so fidelity, utility and privacy metrics all have
something to measure in a few hundred rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthema.cohorts.simulate import simulate
from synthema.schema import Dictionary, load_dictionary

COLUMNS = (
    "age", "sex", "diagnosis_date", "aml_type", "eln2022", "ecog", "wbc", "hb", "platelets",
    "bm_blasts", "npm1", "flt3_itd", "tp53", "induction_intensity", "induction_response", "cr",
    "cr_days", "os_days", "os_status", "efs_days", "efs_status", "relapse",
)
N = 600


@pytest.fixture(scope="session")
def dictionary() -> Dictionary:
    return load_dictionary("aml").project(COLUMNS)


def _cohort(seed: int, dictionary: Dictionary) -> pd.DataFrame:
    data = simulate("aml", sites=1, patients=N, seed=seed)[0].data
    return data[list(dictionary.columns)].reset_index(drop=True)


@pytest.fixture(scope="session")
def real(dictionary) -> pd.DataFrame:
    return _cohort(101, dictionary)


@pytest.fixture(scope="session")
def holdout(dictionary) -> pd.DataFrame:
    return _cohort(202, dictionary)


@pytest.fixture(scope="session")
def fresh(dictionary) -> pd.DataFrame:
    """A sample of the same population: what a perfect generator would produce."""
    return _cohort(303, dictionary)


@pytest.fixture(scope="session")
def shuffled(real, dictionary) -> pd.DataFrame:
    """Every column permuted independently: marginals exact, every association destroyed."""
    rng = np.random.default_rng(7)
    out = real.copy()
    for name in dictionary.names:
        out[name] = real[name].to_numpy()[rng.permutation(len(real))]
    return out


@pytest.fixture(scope="session")
def bootstrap(real) -> pd.DataFrame:
    """A 'generator' that copies training rows (drawn with replacement)."""
    return real.sample(len(real), replace=True, random_state=1).reset_index(drop=True)


def _report(real, synthetic, dictionary, holdout):
    from synthema.evaluate import evaluate

    return evaluate(real, synthetic, dictionary=dictionary, holdout=holdout)


@pytest.fixture(scope="session")
def self_report(real, dictionary, holdout):
    return _report(real, real, dictionary, holdout)


@pytest.fixture(scope="session")
def fresh_report(real, fresh, dictionary, holdout):
    return _report(real, fresh, dictionary, holdout)


@pytest.fixture(scope="session")
def shuffled_report(real, shuffled, dictionary, holdout):
    return _report(real, shuffled, dictionary, holdout)


@pytest.fixture(scope="session")
def copies_report(real, bootstrap, dictionary, holdout):
    return _report(real, bootstrap, dictionary, holdout)


def value(report, name: str) -> float:
    return next(r.value for r in report.results if r.name == name)
