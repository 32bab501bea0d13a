"""Fixtures shared by every test room."""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import pytest

import synthema.privacy.mechanisms as mechanisms


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
