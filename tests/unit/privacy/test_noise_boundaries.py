"""The noise mechanisms at their edges: one cell, integer limits, the int64/Python-int switch.

Values are checked against closed forms: the discrete Gaussian's pmf and variance are lattice
sums p(k) ∝ exp(−k²/2σ²), Σk²p(k); squares are compared with exact Python integers.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats

from synthema.privacy import mechanisms
from synthema.privacy.mechanisms import add_discrete_gaussian, discrete_gaussian, gaussian

INT64_MAX = 2**63 - 1
SQUARE_SAFE = math.isqrt(INT64_MAX)  # 3_037_000_499: the largest int64 whose square is int64


def lattice(sigma2: float) -> tuple[np.ndarray, np.ndarray]:
    """Support and pmf of N_Z(0, σ²) (closed form, normalised over |k| <= 40σ + 40)."""
    lim = math.ceil(40 * math.sqrt(sigma2) + 40)
    k = np.arange(-lim, lim + 1)
    w = np.exp(-(k.astype(np.float64) ** 2) / (2 * sigma2))
    return k, w / w.sum()


def test_a_one_cell_release_gets_noise_of_the_right_law():
    # Setup: 4000 separate one-cell releases of the count 42 with sigma = 1.5
    rng = np.random.default_rng(11)
    draws = np.array([add_discrete_gaussian(np.array([42]), sigma=1.5, rng=rng)[0] - 42
                      for _ in range(4000)])
    # Assert: the noise is not zero, and it follows the discrete Gaussian's pmf (chi-square
    # over the central values, tails pooled) and its exact lattice variance
    k, p = lattice(2.25)
    assert np.count_nonzero(draws) > 2000
    inner = np.arange(-4, 5)
    expected = np.array([p[k == v][0] for v in inner] + [p[np.abs(k) > 4].sum()]) * draws.size
    observed = np.array([(draws == v).sum() for v in inner] + [(np.abs(draws) > 4).sum()])
    assert stats.chisquare(observed, expected).pvalue > 1e-6
    var = float((k.astype(float) ** 2 * p).sum())
    m4 = float((k.astype(float) ** 4 * p).sum())
    assert abs((draws.astype(float) ** 2).mean() - var) < 4.9 * math.sqrt((m4 - var**2) / 4000)


@pytest.mark.parametrize("shape", [1, (1,), (1, 1), ()])
def test_a_single_noise_value_is_drawn_for_every_one_element_shape(shape):
    # Run: the same seed gives the same single draw whatever the shape
    values = [discrete_gaussian(shape, sigma=3.0, rng=np.random.default_rng(s)) for s in range(40)]
    # Assert
    assert all(v.size == 1 and v.dtype == np.int64 for v in values)
    assert len({int(v.reshape(-1)[0]) for v in values}) > 5


def test_the_variance_of_small_sigma_is_the_lattice_sum_below_sigma2():
    # Setup: sigma = 0.6 (σ² = 9/25 exactly), where Var N_Z < σ² visibly
    x = discrete_gaussian(200_000, sigma=0.6, rng=np.random.default_rng(3)).astype(float)
    k, p = lattice(0.36)
    var, m4 = float((k**2 * p).sum()), float((k.astype(float) ** 4 * p).sum())
    # Assert
    assert var < 0.36 - 0.008  # 0.3516: about 6 standard errors of this sample below σ²
    assert abs((x**2).mean() - var) < 4.9 * math.sqrt((m4 - var**2) / x.size)
    for value in (0, 1, 2):
        observed = float((np.abs(x) == value).mean())
        exact = float(p[np.abs(k) == value].sum())
        assert abs(observed - exact) < 4.9 * math.sqrt(exact * (1 - exact) / x.size)


def test_uint64_counts_up_to_the_int64_limit_are_accepted_and_beyond_refused():
    rng = np.random.default_rng(0)
    # Run / Assert: the largest int64 passes (noise 0 here), one more is refused
    top = np.array([0, INT64_MAX], dtype=np.uint64)
    assert add_discrete_gaussian(top, sigma=0.0, rng=rng).tolist() == [0, INT64_MAX]
    with pytest.raises(ValueError, match="int64 range"):
        add_discrete_gaussian(np.array([0, INT64_MAX + 1], dtype=np.uint64), sigma=0.0, rng=rng)
    with pytest.raises(ValueError, match="int64 range"):
        add_discrete_gaussian(np.array([2**64 - 1], dtype=np.uint64), sigma=1.0, rng=rng)
    # an empty uint64 array has no maximum and nothing to refuse
    empty = add_discrete_gaussian(np.array([], dtype=np.uint64), sigma=1.0, rng=rng)
    assert empty.shape == (0,) and empty.dtype == np.int64
    # small unsigned counts get noise like signed ones
    small = np.full(2000, 7, dtype=np.uint8)
    noisy = add_discrete_gaussian(small, sigma=2.0, rng=np.random.default_rng(1))
    assert noisy.dtype == np.int64 and (noisy < 7).any() and (noisy > 7).any()


def test_squares_match_python_integers_on_both_sides_of_the_int64_threshold():
    # Setup: (|y|·qt − p)² is computed in int64 while |y|·qt + p <= 3_037_000_499 and with
    # Python integers above; compare both with exact integers right at the switch
    assert SQUARE_SAFE**2 <= INT64_MAX < (SQUARE_SAFE + 1) ** 2
    cases = [
        (np.array([0, 0]), 1, SQUARE_SAFE),  # |offset| = p = the limit: int64 still exact
        (np.array([0, 0]), 1, SQUARE_SAFE + 1),  # one above: its square overflows int64
        (np.array([0, 3, -3]), 7, SQUARE_SAFE - 21),  # |y|qt + p exactly at the limit
        (np.array([0, 3, -3]), 7, SQUARE_SAFE - 20),  # one above
        (np.array([SQUARE_SAFE, -1, 0]), 1, 0),  # |y| itself at the limit
        (np.array([SQUARE_SAFE + 1, 0]), 1, 0),  # and above
        (np.array([SQUARE_SAFE // 2 + 1]), 2, 0),  # |y|·qt one above the limit, |y| far below
        (np.array([SQUARE_SAFE // 2]), 2, 1),  # |y|·qt + p at the limit
        (np.array([5, -5, 0]), 3, 4),  # small values
        (np.array([], dtype=np.int64), 3, 4),  # nothing to square
    ]
    for y, qt, p in cases:
        # Run
        out = mechanisms._squared_offsets(y.astype(np.int64), qt, p)
        # Assert: exact, whichever path was taken
        exact = [(abs(int(v)) * qt - p) ** 2 for v in y]
        assert [int(v) for v in out] == exact, (y.tolist(), qt, p)
        assert len(out) == len(y)


def test_huge_sigma_draws_are_exact_big_integer_noise():
    # Setup: sigma near the sampler's upper limit, where the squares leave int64
    sigma = 30_000.0
    x = discrete_gaussian(4000, sigma=sigma, rng=np.random.default_rng(2)).astype(float)
    # Assert: the right spread (closed form: Var = σ² to float precision at this σ)
    assert abs(x.var() / sigma**2 - 1) < 4.9 * math.sqrt(2 / x.size)
    assert abs(x.mean()) < 6 * sigma / math.sqrt(x.size)


@pytest.mark.parametrize("rng", [None, object(), np.random.RandomState(0), 42, "seed"])
def test_continuous_gaussian_refuses_anything_but_a_generator(rng):
    with pytest.raises(TypeError, match="rng must be"):
        gaussian(np.zeros(3), sigma=1.0, rng=rng)


@pytest.mark.parametrize("sigma", [-0.5, float("nan"), float("inf"), "1", True])
def test_continuous_gaussian_refuses_a_bad_sigma(sigma):
    with pytest.raises(ValueError, match="sigma"):
        gaussian(np.zeros(3), sigma=sigma, rng=np.random.default_rng(0))


def test_continuous_gaussian_variance_and_zero_sigma():
    rng = np.random.default_rng(5)
    out = gaussian(np.full(50_000, 3.0), sigma=1.5, rng=rng)
    assert abs(out.mean() - 3.0) < 6 * 1.5 / math.sqrt(out.size)
    assert abs(out.var() / 2.25 - 1) < 4.9 * math.sqrt(2 / out.size)
    assert gaussian(np.array([1, 2]), sigma=0, rng=rng).tolist() == [1.0, 2.0]


def test_discrete_gaussian_refuses_a_non_generator_rng():
    for rng in (object(), 42, "seed", np.random.default_rng(0).random):
        with pytest.raises(TypeError, match="rng must be"):
            discrete_gaussian(3, sigma=1.0, rng=rng)


def _d(s2: Fraction) -> int:
    """The sampler's uniform-draw range D = 2pq(⌊√(p/q)⌋ + 1)² for σ² = p/q."""
    p, q = s2.numerator, s2.denominator
    return 2 * p * q * (math.isqrt(p // q) + 1) ** 2


def _round_up(exact: Fraction, bits: int) -> Fraction:
    scale = 1 << bits
    return Fraction(-((-exact.numerator * scale) // exact.denominator), scale)


def test_rational_sigma2_is_exact_below_the_denominator_limit_and_rounds_up_above():
    # Setup: σ² = p/q is used exactly while D < 2^62
    assert mechanisms.rational_sigma2(Fraction(7, 3)) == Fraction(49, 9)
    assert mechanisms.rational_sigma2(0) == 0
    assert mechanisms.rational_sigma2(1) == 1
    assert mechanisms.rational_sigma2(Fraction(3, 2)) == Fraction(9, 4)
    # floats whose square has a huge binary denominator: rounded up to the finest dyadic grid
    # 1/2^b whose D fits (brute force over every b), never down
    for sigma in (1e-10, 0.3, 0.7, 1.3, 2.9, 37.1, 1234.567):
        exact = Fraction(sigma) ** 2
        s2 = mechanisms.rational_sigma2(sigma)
        finest = max(b for b in range(0, 80) if _d(_round_up(exact, b)) < 2**62)
        assert s2 == _round_up(exact, finest), sigma
        assert exact <= s2 < exact + Fraction(1, 2**finest)


def test_rational_sigma2_near_the_limit_rounds_up_to_an_integer_or_refuses():
    # Setup: at σ ≈ 37,000 only the integer grid keeps D below 2^62
    exact = Fraction(37_000.3) ** 2
    # Run / Assert
    assert mechanisms.rational_sigma2(37_000.3) == math.ceil(exact)
    assert _d(Fraction(math.ceil(exact))) < 2**62 <= _d(_round_up(exact, 1))
    with pytest.raises(ValueError, match="too large for the exact int64 sampler"):
        mechanisms.rational_sigma2(39_000.3)
    with pytest.raises(ValueError, match="too large"):
        mechanisms.rational_sigma2(2**40)


def test_adding_noise_adds_exactly_the_noise_drawn():
    # Setup: the same seed, once for the noise alone, once for counts + noise
    counts = np.array([[0, 5, 17], [3, 0, 1]])
    # Run
    noisy = add_discrete_gaussian(counts, sigma=2.5, rng=np.random.default_rng(21))
    noise = discrete_gaussian(counts.shape, sigma=2.5, rng=np.random.default_rng(21))
    # Assert: counts + noise, not counts − noise (same law, different release)
    assert np.array_equal(noisy, counts + noise) and noise.any()


def test_continuous_noise_is_added_as_drawn():
    # Setup: the same seed for the noise alone and for values + noise
    values = np.array([1.0, -2.0, 10.0])
    # Run
    out = gaussian(values, sigma=1.5, rng=np.random.default_rng(17))
    drawn = np.random.default_rng(17).normal(0.0, 1.5, size=3)
    # Assert: values + noise (values − noise has the same law but is another release)
    assert np.array_equal(out, values + drawn)
