"""Noise for private counts: an exact, vectorised discrete Gaussian sampler.

Why discrete: counts are integers, and floating-point Gaussian noise leaks through its low-order
bits (Mironov 2012). Integer noise from N_Z(0, σ²) has the same ρ = Δ²/(2σ²) as the
continuous Gaussian ([CKS20] Thm. 4) and can be summed exactly by secure aggregation.

How it is exact: this is Algorithm 3 of Canonne, Kamath, Steinke, "The Discrete Gaussian for
Differential Privacy" (NeurIPS 2020, arXiv:2004.00010): draw Y from a discrete Laplace of
integer scale t = ⌊σ⌋ + 1 (their Algorithm 2) and accept it with probability
exp(−(|Y| − σ²/t)²/(2σ²)), sampled as Bernoulli(exp(−γ)) by von Neumann's trick (their
Algorithm 1). σ² is a :class:`fractions.Fraction` p/q, so every γ is a ratio of integers
N/D with D = 2pqt², and every Bernoulli(N/D) is one uniform integer draw in [0, D)
compared with N. No floating-point number is ever computed on the way to a sample; the only
source of randomness is ``rng.integers``. Without an ``rng`` the noise comes from the operating
system's cryptographic generator (:class:`~synthema.privacy.entropy.OSRandom`): that is what
every release uses. A seeded ``numpy.random.Generator`` is accepted for tests of the sampler's
distribution only; noise drawn from a known seed can be drawn again and subtracted.

How it is fast: the loops of Algorithms 1–3 run over whole arrays. Every pending sample
takes the same step at once, accepted ones leave, rejected ones go round again; each round
is a handful of numpy calls, so 200 000 samples take well under a second. Bernoulli(γ/K) is
drawn as Bernoulli(γ) AND Bernoulli(1/K), two exact draws, so denominators never grow.

σ² that is not a small fraction (e.g. from ``sigma=0.3``, whose binary float square has a
2^108 denominator) is rounded **up** to the finest dyadic grid that keeps D below 2^62. The
noise is then never smaller than asked for, and the privacy claim Δ²/(2σ²) still holds.

>>> noise = discrete_gaussian(5, sigma=3.0)            # OS entropy: never reproducible
>>> noise.dtype, noise.shape
(dtype('int64'), (5,))
>>> add_discrete_gaussian(np.array([0, 10]), sigma=0.0).tolist()
[0, 10]
"""

from __future__ import annotations

import math
from fractions import Fraction
from numbers import Integral, Real

import numpy as np

from synthema.privacy.entropy import OSRandom

_D_LIMIT = 1 << 62  # every uniform draw is in [0, D) with D below this (fits int64)
_SQUARE_SAFE = 3_037_000_499  # largest int64 whose square fits in int64


def _noise_rng(rng: object) -> object:
    """``rng``, checked; ``None`` means the operating system's generator (every release)."""
    if rng is None:
        return OSRandom()
    if not callable(getattr(rng, "integers", None)):
        raise TypeError(
            f"rng must be None (OS entropy) or a numpy.random.Generator, got {type(rng).__name__}"
        )
    return rng


def _check_sigma(sigma: object) -> float:
    if isinstance(sigma, bool) or not isinstance(sigma, Real):
        raise ValueError(f"sigma must be a real number, got {sigma!r}")
    value = float(sigma)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"sigma must be finite and >= 0, got {sigma!r}")
    return value


def _denominator(sigma2: Fraction) -> int:
    p, q = sigma2.numerator, sigma2.denominator
    t = math.isqrt(p // q) + 1
    return 2 * p * q * t * t


def rational_sigma2(sigma: float | Fraction) -> Fraction:
    """The exact σ² the sampler uses for ``sigma``: σ² itself, or σ² rounded up.

    >>> rational_sigma2(0.5), rational_sigma2(3)
    (Fraction(1, 4), Fraction(9, 1))
    >>> rational_sigma2(0.3) >= Fraction(0.3) ** 2
    True
    """
    _check_sigma(sigma)
    exact = Fraction(sigma) ** 2
    if exact == 0 or _denominator(exact) < _D_LIMIT:
        return exact
    for bits in range(62, -1, -1):
        scale = 1 << bits
        rounded = Fraction(-((-exact.numerator * scale) // exact.denominator), scale)
        if _denominator(rounded) < _D_LIMIT:
            return rounded
    raise ValueError(
        f"sigma={sigma!r} is too large for the exact int64 sampler (at most about 3.8e4); "
        "split the query or use a smaller sensitivity"
    )


def _bernoulli_ratio(num: np.ndarray, den: int | np.ndarray, rng: np.random.Generator):
    """Bernoulli(num/den) for integer arrays 0 <= num <= den, exactly."""
    return rng.integers(0, den, size=num.shape, dtype=np.int64) < num


def _bernoulli_exp_unit(num: np.ndarray, den: int, rng: np.random.Generator) -> np.ndarray:
    """Bernoulli(exp(−num/den)) for 0 <= num <= den ([CKS20] Algorithm 1, von Neumann)."""
    k = np.ones(num.shape[0], dtype=np.int64)
    active = np.arange(num.shape[0])
    while active.size:
        # A ~ Bernoulli(γ/K) as Bernoulli(γ) AND Bernoulli(1/K): exact, no growing denominators
        hit = _bernoulli_ratio(num[active], den, rng)
        hit &= rng.integers(0, k[active], dtype=np.int64) == 0
        active = active[hit]
        k[active] += 1
    return k % 2 == 1


def _bernoulli_exp(num: np.ndarray, den: int, rng: np.random.Generator) -> np.ndarray:
    """Bernoulli(exp(−num/den)) for any num >= 0: exp(−⌊γ⌋) as ⌊γ⌋ draws of Bernoulli(e^−1)."""
    whole = num // den
    out = _bernoulli_exp_unit((num - whole * den).astype(np.int64), den, rng)
    idx = np.flatnonzero(out & (whole > 0).astype(bool))
    done = 0
    while idx.size:
        ok = _bernoulli_exp_unit(np.ones(idx.size, dtype=np.int64), 1, rng)
        out[idx[~ok]] = False
        done += 1
        idx = idx[ok & (whole[idx] > done).astype(bool)]
    return out


def _geometric_exp1(size: int, rng: np.random.Generator) -> np.ndarray:
    """Number of Bernoulli(e^−1) successes before the first failure."""
    v = np.zeros(size, dtype=np.int64)
    alive = np.arange(size)
    while alive.size:
        alive = alive[_bernoulli_exp_unit(np.ones(alive.size, dtype=np.int64), 1, rng)]
        v[alive] += 1
    return v


def _discrete_laplace(size: int, t: int, rng: np.random.Generator) -> np.ndarray:
    """P(y) ∝ exp(−|y|/t) on the integers ([CKS20] Algorithm 2), vectorised."""
    out = np.empty(size, dtype=np.int64)
    pending = np.arange(size)
    while pending.size:
        m = pending.size
        u = rng.integers(0, t, size=m, dtype=np.int64)
        keep = _bernoulli_exp_unit(u, t, rng)
        x = u.copy()
        x[keep] += t * _geometric_exp1(int(keep.sum()), rng)
        negative = rng.integers(0, 2, size=m, dtype=np.int64) == 1
        keep &= ~(negative & (x == 0))
        out[pending[keep]] = np.where(negative, -x, x)[keep]
        pending = pending[~keep]
    return out


def _squared_offsets(y: np.ndarray, qt: int, p: int) -> np.ndarray:
    """(|y|·q·t − p)², in int64 when it fits, else as exact Python integers."""
    biggest = int(np.abs(y).max(initial=0)) * qt + p
    if biggest <= _SQUARE_SAFE:
        a = np.abs(y) * qt - p
        return a * a
    return np.array([(abs(int(v)) * qt - p) ** 2 for v in y], dtype=object)


def _sample(size: int, sigma2: Fraction, rng: np.random.Generator) -> np.ndarray:
    """``size`` independent draws from N_Z(0, σ²) ([CKS20] Algorithm 3), vectorised."""
    out = np.zeros(size, dtype=np.int64)
    if sigma2 == 0 or size == 0:
        return out
    p, q = sigma2.numerator, sigma2.denominator
    t = math.isqrt(p // q) + 1
    den = 2 * p * q * t * t  # γ = (|Y| − σ²/t)²/(2σ²) = (|Y|qt − p)² / (2pqt²)
    pending = np.arange(size)
    while pending.size:
        y = _discrete_laplace(pending.size, t, rng)
        accept = _bernoulli_exp(_squared_offsets(y, q * t, p), den, rng)
        out[pending[accept]] = y[accept]
        pending = pending[~accept]
    return out


def discrete_gaussian(
    shape_or_counts: int | tuple[int, ...] | np.ndarray,
    *,
    sigma: float | Fraction,
    rng: np.random.Generator | OSRandom | None = None,
) -> np.ndarray:
    """Independent N_Z(0, σ²) integer noise, exactly distributed (see the module docstring).

    Args:
        shape_or_counts: the shape of the noise, or an array whose shape it takes.
        sigma: scale σ ≥ 0 (σ = 0 gives zeros); σ² is used exactly or rounded up
            (:func:`rational_sigma2`).
        rng: the only source of randomness; only ``rng.integers`` is called. ``None`` (the
            default, and what every release uses): the operating system's cryptographic
            generator, which cannot be seeded, saved or replayed. A seeded generator is for
            tests of the distribution only.

    Returns:
        int64 array of the requested shape.

    >>> discrete_gaussian((2, 3), sigma=1.0, rng=np.random.default_rng(0)).shape
    (2, 3)
    """
    rng = _noise_rng(rng)
    sigma2 = rational_sigma2(sigma)
    if isinstance(shape_or_counts, np.ndarray):
        shape = shape_or_counts.shape
    elif isinstance(shape_or_counts, Integral):
        shape = (int(shape_or_counts),)
    else:
        shape = tuple(int(n) for n in shape_or_counts)
    if any(n < 0 for n in shape):
        raise ValueError(f"shape must not be negative, got {shape_or_counts!r}")
    return _sample(math.prod(shape), sigma2, rng).reshape(shape)


def add_discrete_gaussian(
    counts: np.ndarray,
    *,
    sigma: float | Fraction,
    rng: np.random.Generator | OSRandom | None = None,
) -> np.ndarray:
    """Return ``counts + N_Z(0, σ²)`` as a new int64 array; ``counts`` is never modified.

    Args:
        counts: integer array (any shape). Floats are refused: round or bin them first,
            the sensitivity is stated for integer counts.
        sigma: noise scale σ ≥ 0.
        rng: see :func:`discrete_gaussian`.

    Raises:
        TypeError: ``counts`` is not an integer array.

    >>> c = np.array([3, 0, 7])
    >>> out = add_discrete_gaussian(c, sigma=2.0, rng=np.random.default_rng(1))
    >>> out.dtype, c.tolist()
    (dtype('int64'), [3, 0, 7])
    """
    array = np.asarray(counts)
    if array.dtype.kind not in "iu":
        raise TypeError(f"counts must be an integer array, got dtype {array.dtype}")
    if array.dtype.kind == "u" and array.size and int(array.max()) > np.iinfo(np.int64).max:
        raise ValueError("counts exceed the int64 range")
    noise = discrete_gaussian(array.shape, sigma=sigma, rng=rng)
    return array.astype(np.int64) + noise


def gaussian(values: np.ndarray, *, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Return ``values + N(0, σ²)`` as a new float64 array (continuous; tests and baselines).

    Floating-point Gaussian noise is not safe for releases (Mironov 2012); synthema releases
    counts with :func:`add_discrete_gaussian`.

    >>> gaussian(np.zeros(3), sigma=0.0, rng=np.random.default_rng(0)).tolist()
    [0.0, 0.0, 0.0]
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    scale = _check_sigma(sigma)
    array = np.asarray(values, dtype=np.float64)
    return array + rng.normal(0.0, scale, size=array.shape)
