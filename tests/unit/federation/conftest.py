"""Small federations for fast tests: a projected AML dictionary and 4 simulated site files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from synthema.cohorts.simulate import simulate
from synthema.schema import Dictionary, load_dictionary
from synthema.schema.values import format_frame

SMALL = ("age", "sex", "wbc", "eln2022", "npm1", "flt3_itd", "os_days", "os_status")


@pytest.fixture(scope="session")
def small_dictionary() -> Dictionary:
    return load_dictionary("aml").project(SMALL)


@pytest.fixture(scope="session")
def site_frames(small_dictionary) -> list[pd.DataFrame]:
    cols = [small_dictionary.patient_id, *small_dictionary.names]
    return [c.data[cols].reset_index(drop=True) for c in simulate("aml", sites=4, patients=480,
                                                                    seed=5)]


@pytest.fixture()
def site_files(tmp_path, site_frames, small_dictionary) -> list[Path]:
    paths = []
    for i, frame in enumerate(site_frames, 1):
        path = tmp_path / f"site_{i:02d}.csv"
        format_frame(frame, small_dictionary).to_csv(path, index=False)
        paths.append(path)
    return paths


@pytest.fixture(scope="session")
def small_domain(small_dictionary):
    from synthema.stats.domain import Domain

    return Domain.from_dictionary(small_dictionary)
