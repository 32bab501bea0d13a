"""CentralSource: exact counts with sigma = 0, discrete Gaussian noise and zCDP cost otherwise."""

from __future__ import annotations

import math

import numpy as np
import pytest

from synthema.errors import SynthemaError
from synthema.privacy.mechanisms import discrete_gaussian
from synthema.stats import CentralSource, Domain, Measurement, StatisticsSource

CLIQUES = [("sex",), ("ecog", "npm1"), ("age", "os_days")]


@pytest.fixture(scope="module")
def source(aml_pooled, aml_dictionary) -> CentralSource:
    return CentralSource(aml_pooled, aml_dictionary)


def test_implements_the_protocol_and_exposes_no_rows(source, aml_domain):
    # Run
    public = [n for n in dir(source) if not n.startswith("_")]
    # Assert
    assert isinstance(source, StatisticsSource)
    assert public == ["domain", "measure"]
    assert source.domain == aml_domain
    assert "attributes" in repr(source) and str(len(aml_domain)) in repr(source)


def test_domain_or_dictionary_give_the_same_source(aml_pooled, aml_dictionary, aml_domain):
    # Setup
    from_domain = CentralSource(aml_pooled, aml_domain)
    from_dictionary = CentralSource(aml_pooled, aml_dictionary, max_bins=16)
    # Run
    a = from_domain.measure(CLIQUES, sigma=0)
    b = from_dictionary.measure(CLIQUES, sigma=0)
    # Assert
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.noisy_counts, y.noisy_counts)


def test_sigma_zero_returns_exact_counts_labelled_not_private(source, aml_pooled, aml_domain):
    # Run
    measurements = source.measure(CLIQUES, sigma=0)
    # Assert
    for clique, m in zip(CLIQUES, measurements, strict=True):
        np.testing.assert_array_equal(m.noisy_counts, source._exact_counts(clique))
        assert m.clique == clique and m.stddev == 0.0 and m.rho_spent == math.inf
        assert not m.is_private and m.total == len(aml_pooled)
        assert m.noisy_counts.shape == (aml_domain.size(clique),)


def test_noise_is_integer_with_variance_sigma_squared_and_costs_rho(source):
    # Setup
    sigma = 3.0
    cliques = [("age", "os_days")] * 8  # 8 x 289 cells
    exact = source._exact_counts(("age", "os_days"))
    # Run
    measurements = source.measure(cliques, sigma=sigma)
    # Assert
    noise = np.concatenate([m.noisy_counts - exact for m in measurements])
    assert all(m.noisy_counts.dtype == np.int64 for m in measurements)
    assert noise.size == 8 * 289 and np.any(noise != 0)
    # standard error of the mean 3 / sqrt(2312) = 0.062: 5.5 of them (false failure ~4e-8)
    assert abs(noise.mean()) < 0.34
    assert noise.var() == pytest.approx(sigma**2, rel=0.15)  # standard error ~ 3%: 5 of them
    for m in measurements:
        assert m.stddev == sigma and m.is_private
        assert m.rho_spent == pytest.approx(1 / (2 * sigma**2))


def test_a_batch_gets_each_clique_its_own_noise_in_order(source):
    # Setup: cliques of different sizes, one repeated; the batch is noised in one draw
    cliques = [("age", "os_days"), ("sex",), ("age", "os_days"), ()]
    exact = [source._exact_counts(c) for c in cliques]
    # Run
    measurements = source.measure(cliques, sigma=0.6)
    # Assert: each answer is its own clique's counts (|noise| < 8 at sigma 0.6, P > 1 - 1e-30)
    for m, c, e in zip(measurements, cliques, exact, strict=True):
        assert m.clique == c and m.noisy_counts.shape == e.shape
        assert np.abs(m.noisy_counts - e).max() < 8
    # ... and the repeated clique got fresh noise, not a copy (289 cells: P(equal) < 1e-60)
    first, third = (measurements[i].noisy_counts - exact[i] for i in (0, 2))
    assert not np.array_equal(first, third)
    assert abs(np.corrcoef(first, third)[0, 1]) < 0.3  # independent: standard error 0.06


def test_an_empty_batch_measures_nothing(source):
    # Run
    noisy, exact = source.measure([], sigma=1.0), source.measure([], sigma=0)
    # Assert: no marginal, nothing spent, and no error from splitting an empty draw
    assert noisy == [] and exact == []


def test_noise_comes_from_os_entropy_and_no_seed_replays_it(source, monkeypatch):
    # Setup: the numpy global seed and a seeded generator are the attacker's best guesses
    exact = [source._exact_counts(c) for c in CLIQUES]
    np.random.seed(9)
    # Run: the same question twice
    a = source.measure(CLIQUES, sigma=2.0)
    np.random.seed(9)
    b = source.measure(CLIQUES, sigma=2.0)
    # Assert: the two noises differ (P(equal) < 1e-100 over these cells) ...
    pairs = zip(a, b, strict=True)
    assert any(not np.array_equal(x.noisy_counts, y.noisy_counts) for x, y in pairs)
    # ... and none equals noise regenerated from an obvious seed
    for seed in (0, 9):
        rng = np.random.default_rng(seed)
        guess = [discrete_gaussian(e.shape, sigma=2.0, rng=rng) for e in exact]
        assert not all(
            np.array_equal(m.noisy_counts - e, g) for m, e, g in zip(a, exact, guess, strict=True)
        )
    # ... and the noise is drawn through OSRandom: with os.urandom broken, measuring fails
    import synthema.privacy.entropy as entropy

    monkeypatch.setattr(entropy.os, "urandom", lambda n: (_ for _ in ()).throw(OSError("no")))
    with pytest.raises(OSError):
        source.measure(CLIQUES, sigma=2.0)


def test_measurements_are_read_only(source):
    # Setup
    [m] = source.measure([("sex",)], sigma=1.0)
    # Run / Assert
    with pytest.raises(ValueError, match="read-only"):
        m.noisy_counts[0] = 0
    with pytest.raises(AttributeError):
        m.stddev = 0.0  # type: ignore[misc]


@pytest.mark.parametrize("sigma", [-1.0, math.inf, math.nan, "1", None])
def test_bad_sigma_is_rejected(source, sigma):
    # Run / Assert
    with pytest.raises(ValueError, match="sigma"):
        source.measure([("sex",)], sigma=sigma)


def test_a_seed_cannot_be_passed_and_bad_cliques_are_rejected(source):
    # Run / Assert: the seam takes no generator at all
    with pytest.raises(TypeError, match="rng"):
        source.measure([("sex",)], sigma=1.0, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="is a string"):
        source.measure(["sex"], sigma=1.0)
    with pytest.raises(KeyError, match="sexx"):
        source.measure([("sexx",)], sigma=1.0)


def test_duplicate_patient_ids_are_refused_at_construction(aml_pooled, aml_domain):
    # Setup
    doubled = aml_pooled.iloc[[0, 1, 2, 1]]
    # Run / Assert
    with pytest.raises(SynthemaError, match="more than one row") as info:
        CentralSource(doubled, aml_domain)
    assert "one row per patient" in info.value.fix


def test_wrong_domain_type_is_refused(aml_pooled):
    # Run / Assert
    with pytest.raises(TypeError, match="Domain or a Dictionary"):
        CentralSource(aml_pooled, "aml")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"clique": "sex", "noisy_counts": np.zeros(3, dtype=int)},
        {"clique": ("sex",), "noisy_counts": np.zeros(3)},
        {"clique": ("sex",), "noisy_counts": np.zeros((3, 1), dtype=int)},
        {"clique": ("sex",), "noisy_counts": np.zeros(3, dtype=int), "stddev": -1.0},
        {"clique": ("sex",), "noisy_counts": np.zeros(3, dtype=int), "rho_spent": math.nan},
    ],
)
def test_measurement_validates_itself(kwargs):
    # Setup
    kwargs = {"stddev": 1.0, "rho_spent": 0.5} | kwargs
    # Run / Assert
    with pytest.raises(ValueError):
        Measurement(**kwargs)


def test_domain_is_public_and_matches_the_dictionary(source, aml_dictionary):
    # Run / Assert
    assert source.domain == Domain.from_dictionary(aml_dictionary)
