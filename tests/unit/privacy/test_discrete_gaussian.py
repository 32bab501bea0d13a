"""The discrete Gaussian sampler is exact: goodness of fit with power checks, moments, API."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats

from synthema.privacy import mechanisms
from synthema.privacy.mechanisms import (
    add_discrete_gaussian,
    discrete_gaussian,
    gaussian,
    rational_sigma2,
)

N = 200_000
ALPHA = 1e-6  # per-assertion false-alarm rate (OpenDP / Tumult convention)
SIGMAS = [0.5, 1.0, 3.0, 20.0]


def exact_pmf(sigma2: float) -> tuple[np.ndarray, np.ndarray]:
    """p(k) ∝ exp(−k²/2σ²) normalised over |k| <= 40σ + 40 (the rest is below 1e-300)."""
    lim = math.ceil(40 * math.sqrt(sigma2) + 40)
    k = np.arange(-lim, lim + 1)
    w = np.exp(-(k.astype(np.float64) ** 2) / (2 * sigma2))
    return k, w / w.sum()


def chi2_pvalue(x: np.ndarray, sigma2: float, bins: int = 100) -> float:
    """Chi-square goodness of fit of integer samples to N_Z(0, sigma2), equal-mass bins."""
    k, p = exact_pmf(sigma2)
    cdf = np.cumsum(p)
    cuts = np.unique(np.searchsorted(cdf, np.linspace(0, 1, bins + 1)[1:-1]))
    group = np.searchsorted(cuts, np.arange(k.size), side="left")
    expected = np.bincount(group, weights=p) * x.size
    assert np.abs(x).max() <= k[-1]
    observed = np.bincount(group[x - k[0]], minlength=expected.size)
    stat = float(((observed - expected) ** 2 / expected).sum())
    return float(stats.chi2.sf(stat, expected.size - 1))


def lattice_moments(sigma2: float) -> tuple[float, float]:
    k, p = exact_pmf(sigma2)
    return float((k**2 * p).sum()), float((k.astype(np.float64) ** 4 * p).sum())


def draw(sigma: float, seed: int, n: int = N) -> np.ndarray:
    return discrete_gaussian(n, sigma=sigma, rng=np.random.default_rng(seed))


# -- exactness ------------------------------------------------------------------------------


@pytest.mark.parametrize("sigma", SIGMAS)
def test_pmf_matches_exact_discrete_gaussian(sigma):
    # Setup / Run
    x = draw(sigma, seed=20240601)
    # Assert
    assert chi2_pvalue(x, sigma**2) > ALPHA


@pytest.mark.parametrize("sigma", SIGMAS)
def test_power_rejects_a_sampler_five_percent_too_wide(sigma):
    # Setup: a wrong sampler (sigma * 1.05), tested against the pmf at sigma
    x = draw(sigma * 1.05, seed=7)
    # Run / Assert: the test above would catch it
    assert chi2_pvalue(x, sigma**2) < ALPHA


@pytest.mark.parametrize("sigma", [0.5, 1.0])
def test_power_rejects_rounded_continuous_gaussian(sigma):
    # Setup: the classic wrong "discrete Gaussian", rint(N(0, sigma^2))
    x = np.rint(np.random.default_rng(3).normal(0, sigma, N)).astype(np.int64)
    # Run / Assert
    assert chi2_pvalue(x, sigma**2) < ALPHA


@pytest.mark.parametrize("sigma", [0.3, 100.7])
def test_rounded_up_sigma2_paths_fit_their_exact_pmf(sigma):
    # Setup: sigma^2 not a small fraction (0.3) or rounded to a grid (100.7)
    sigma2 = rational_sigma2(sigma)
    x = draw(sigma, seed=11, n=50_000)
    # Assert
    assert sigma2 >= Fraction(sigma) ** 2
    assert float(sigma2) == pytest.approx(sigma**2, rel=1e-9)
    assert chi2_pvalue(x, float(sigma2)) > ALPHA


def test_very_large_sigma_uses_exact_big_integers(monkeypatch):
    # Setup: sigma = 20000 makes (|Y|qt - p)^2 overflow int64, forcing the Python-int path
    paths = []
    squared = mechanisms._squared_offsets

    def spy(y, qt, p):
        out = squared(y, qt, p)
        paths.append(out.dtype)
        return out

    monkeypatch.setattr(mechanisms, "_squared_offsets", spy)
    # Run
    x = draw(20_000.0, seed=5, n=20_000)
    # Assert
    assert object in paths
    assert chi2_pvalue(x, 20_000.0**2, bins=40) > ALPHA


@pytest.mark.parametrize("sigma", [0.5, 1.0, 3.0])
def test_second_moment_is_the_lattice_variance_not_sigma2(sigma):
    # Setup
    var, m4 = lattice_moments(sigma**2)
    x = draw(sigma, seed=99).astype(np.float64)
    # Run
    z = abs((x**2).mean() - var) / math.sqrt((m4 - var**2) / x.size)
    # Assert: within z(1e-6) = 4.9 standard errors; and strictly below sigma^2 for small sigma
    assert z < 4.9
    assert var <= sigma**2
    if sigma == 0.5:
        assert var == pytest.approx(0.215013, abs=1e-6)


@pytest.mark.parametrize("sigma", [0.5, 3.0])
def test_symmetric_around_zero(sigma):
    x = draw(sigma, seed=123)
    nonzero = x[x != 0]
    assert stats.binomtest(int((nonzero > 0).sum()), nonzero.size, 0.5).pvalue > ALPHA
    var, _ = lattice_moments(sigma**2)
    assert abs(x.mean()) < 6 * math.sqrt(var / x.size)


def test_sampler_uses_integers_only():
    # Setup: an rng that can only draw integers (no random(), normal(), ...)
    class IntegersOnly:
        def __init__(self, seed: int) -> None:
            self.integers = np.random.default_rng(seed).integers

    # Run
    noise = discrete_gaussian(1000, sigma=2.5, rng=IntegersOnly(4))
    # Assert: same stream as the plain generator: nothing else was asked of it
    assert np.array_equal(noise, discrete_gaussian(1000, sigma=2.5, rng=np.random.default_rng(4)))


# -- API ------------------------------------------------------------------------------------


def test_add_returns_new_int64_array_and_never_mutates_input():
    # Setup
    counts = np.array([[5, 0, 12], [1, 2, 3]], dtype=np.int32)
    counts.flags.writeable = False
    before = counts.copy()
    # Run
    out = add_discrete_gaussian(counts, sigma=2.0, rng=np.random.default_rng(0))
    # Assert
    assert out.dtype == np.int64 and out.shape == counts.shape
    assert np.array_equal(counts, before)
    assert not np.shares_memory(out, counts)


def test_same_seed_same_noise_different_seed_different_noise():
    zeros = np.zeros(500, dtype=np.int64)
    a = add_discrete_gaussian(zeros, sigma=3.0, rng=np.random.default_rng(1))
    b = add_discrete_gaussian(zeros, sigma=3.0, rng=np.random.default_rng(1))
    c = add_discrete_gaussian(zeros, sigma=3.0, rng=np.random.default_rng(2))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_shapes_and_zero_sigma():
    rng = np.random.default_rng(0)
    assert discrete_gaussian((2, 3), sigma=1.0, rng=rng).shape == (2, 3)
    assert discrete_gaussian(np.zeros((4, 1)), sigma=1.0, rng=rng).shape == (4, 1)
    assert discrete_gaussian(0, sigma=1.0, rng=rng).shape == (0,)
    assert not discrete_gaussian(100, sigma=0.0, rng=rng).any()
    counts = np.arange(5)
    assert np.array_equal(add_discrete_gaussian(counts, sigma=0, rng=rng), counts)


def test_a_large_vector_is_noised_in_one_call():
    # Setup: the size of a big marginal; speed is measured in benchmarks, not asserted
    counts = np.random.default_rng(8).integers(0, 50, size=200_000)
    # Run
    out = add_discrete_gaussian(counts, sigma=4.0, rng=np.random.default_rng(9))
    # Assert
    assert out.shape == counts.shape and out.dtype == np.int64
    assert (out - counts).std() == pytest.approx(4.0, rel=0.02)


@pytest.mark.parametrize("sigma", [-1.0, float("nan"), float("inf"), True, "2"])
def test_invalid_sigma_is_refused(sigma):
    with pytest.raises(ValueError, match="sigma"):
        discrete_gaussian(3, sigma=sigma, rng=np.random.default_rng(0))


def test_float_counts_and_bad_rng_are_refused():
    with pytest.raises(TypeError, match="integer"):
        add_discrete_gaussian(np.array([1.5, 2.0]), sigma=1.0, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="Generator"):
        discrete_gaussian(3, sigma=1.0, rng=np.random.RandomState(0).random_sample)
    with pytest.raises(ValueError, match="shape"):
        discrete_gaussian((2, -1), sigma=1.0, rng=np.random.default_rng(0))


def test_sigma_beyond_int64_range_is_refused():
    with pytest.raises(ValueError, match="too large"):
        rational_sigma2(1e6)


def test_rational_sigma2_is_exact_for_small_fractions_and_rounds_up_otherwise():
    assert rational_sigma2(0.5) == Fraction(1, 4)
    assert rational_sigma2(Fraction(1, 3)) == Fraction(1, 9)
    assert rational_sigma2(20) == 400
    rounded = rational_sigma2(0.3)
    assert rounded > Fraction(0.3) ** 2 and rounded - Fraction(0.3) ** 2 < Fraction(1, 2**28)


def test_continuous_gaussian_baseline():
    values = np.array([1.0, 2.0, 3.0])
    out = gaussian(values, sigma=0.5, rng=np.random.default_rng(0))
    assert out.dtype == np.float64 and not np.shares_memory(out, values)
    assert values.tolist() == [1.0, 2.0, 3.0]
    big = gaussian(np.zeros(100_000), sigma=2.0, rng=np.random.default_rng(1))
    assert big.std() == pytest.approx(2.0, rel=0.02)
