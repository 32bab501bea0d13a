"""Shared fixtures: the built-in dictionaries, their domains and small simulated cohorts."""

from __future__ import annotations

import pandas as pd
import pytest

from synthema.cohorts.simulate import simulate
from synthema.schema import Dictionary, load_dictionary
from synthema.stats import Domain


@pytest.fixture(scope="session")
def aml_dictionary() -> Dictionary:
    return load_dictionary("aml")


@pytest.fixture(scope="session")
def scd_dictionary() -> Dictionary:
    return load_dictionary("scd")


@pytest.fixture(scope="session")
def aml_domain(aml_dictionary) -> Domain:
    return Domain.from_dictionary(aml_dictionary)


@pytest.fixture(scope="session")
def scd_domain(scd_dictionary) -> Domain:
    return Domain.from_dictionary(scd_dictionary)


@pytest.fixture(scope="session")
def aml_sites() -> list[pd.DataFrame]:
    return [c.data for c in simulate("aml", sites=3, patients=600, seed=11)]


@pytest.fixture(scope="session")
def scd_sites() -> list[pd.DataFrame]:
    return [c.data for c in simulate("scd", sites=3, patients=600, seed=12)]


@pytest.fixture(scope="session")
def aml_pooled(aml_sites) -> pd.DataFrame:
    return pd.concat(aml_sites, ignore_index=True)


@pytest.fixture(scope="session")
def scd_pooled(scd_sites) -> pd.DataFrame:
    return pd.concat(scd_sites, ignore_index=True)
