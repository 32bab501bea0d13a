"""OSRandom: the unseeded generator every DP noise draw uses.

Its draws cannot be pinned, so the tests check what must hold for every draw (range, shape,
type, refusals) and uniformity with a chi-square test whose false-alarm rate is 1e-6.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from synthema.privacy.entropy import OSRandom, _masks


@pytest.mark.parametrize(
    "span",
    [0, 1, 2, 3, 5, 7, 8, 255, 256, 2**16 + 1, 2**31, 2**32 + 5, 2**62, 2**63 - 1],
)
def test_mask_is_the_smallest_all_ones_cover(span: int) -> None:
    expected = (1 << span.bit_length()) - 1
    got = int(_masks(np.array([span], dtype=np.uint64))[0])
    assert got == expected


def test_draws_stay_in_the_half_open_range_and_shift_by_low() -> None:
    draws = OSRandom().integers(10, 13, size=3000)
    assert draws.shape == (3000,)
    assert draws.dtype == np.int64
    assert set(draws.tolist()) == {10, 11, 12}


def test_negative_bounds() -> None:
    draws = OSRandom().integers(-7, -4, size=3000)
    assert set(draws.tolist()) == {-7, -6, -5}


def test_one_bound_means_zero_to_it() -> None:
    draws = OSRandom().integers(4, size=2000)
    assert set(draws.tolist()) == {0, 1, 2, 3}


def test_size_sets_the_shape_and_bounds_broadcast() -> None:
    rng = OSRandom()
    assert rng.integers(0, 6, size=(4, 5)).shape == (4, 5)
    assert rng.integers(0, 6, size=np.int64(7)).shape == (7,)
    high = np.array([1, 2, 3, 1000])
    draws = rng.integers(0, high)
    assert draws.shape == (4,)
    assert draws[0] == 0 and 0 <= draws[1] <= 1 and 0 <= draws[2] <= 2
    assert 0 <= draws[3] < 1000


def test_widest_allowed_range() -> None:
    low = -(2**62)
    high = 2**62 - 1  # high - low = 2^63 - 1, the widest int64 span
    draws = OSRandom().integers(low, high, size=2000)
    assert draws.min() >= low and draws.max() < high
    # both halves of a 2^63-wide range are reached (probability of a miss: 2^-1999)
    assert (draws < 0).any() and (draws >= 0).any()


def test_a_range_wider_than_int64_is_refused() -> None:
    with pytest.raises(ValueError, match="below 2\\*\\*63"):
        OSRandom().integers(-(2**62), 2**62, size=3)


@pytest.mark.parametrize("low, high", [(5, 5), (5, 4), (0, 0)])
def test_an_empty_range_is_refused(low: int, high: int) -> None:
    with pytest.raises(ValueError, match="greater than low"):
        OSRandom().integers(low, high, size=3)


def test_another_dtype_is_refused() -> None:
    with pytest.raises(ValueError, match="int64 only"):
        OSRandom().integers(0, 5, size=3, dtype=np.int32)


@pytest.mark.parametrize("k", [3, 6, 7, 10])
def test_draws_are_uniform(k: int) -> None:
    """Rejection keeps every value equally likely (a modulo would favour the small ones)."""
    draws = OSRandom().integers(0, k, size=60_000)
    counts = np.bincount(draws, minlength=k)
    assert counts.size == k
    assert stats.chisquare(counts).pvalue > 1e-6


def test_two_generators_do_not_repeat_each_other() -> None:
    a = OSRandom().integers(0, 2**62, size=8)
    b = OSRandom().integers(0, 2**62, size=8)
    assert not np.array_equal(a, b)  # equal by chance with probability 2^-496
