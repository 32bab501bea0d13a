"""Randomness for privacy noise: the operating system's CSPRNG, never a seed.

Differential privacy holds only while the noise is unknown to the attacker. A noise generator
seeded by the user (``random_state=3``) or saved with a model lets anyone who reads the seed
draw the same noise again and subtract it, recovering the exact counts. So every DP
measurement in synthema, central or at a federated site, draws its noise from
:class:`OSRandom`: uniform integers read from ``os.urandom`` (``getrandom(2)`` on Linux), a
cryptographically secure generator that cannot be seeded, has no state to save and cannot be
replayed. This follows Opacus' ``secure_mode`` (a CSPRNG for noise) and OpenDP (OpenSSL's
generator).

Seeds keep governing the *public* choices of a fit (which candidate pairs to score) and the
sampling of synthetic rows, which are post-processing; only noise is taken out of their reach.

:class:`OSRandom` implements the one method the exact samplers of
:mod:`synthema.privacy.mechanisms` call, ``integers(low, high, size, dtype)``, by rejection
sampling: each draw reads 64 random bits, masks them to the bit length of ``high - low - 1``
and keeps values below the range, so every integer in ``[low, high)`` is exactly equally
likely (no modulo bias).

>>> rng = OSRandom()
>>> draws = rng.integers(0, 6, size=1000)
>>> draws.dtype, int(draws.min()) >= 0, int(draws.max()) <= 5
(dtype('int64'), True, True)
>>> rng.integers(0, np.array([1, 1, 1])).tolist()
[0, 0, 0]
"""

from __future__ import annotations

import os

import numpy as np

_SHIFTS = (1, 2, 4, 8, 16, 32)


def _masks(span: np.ndarray) -> np.ndarray:
    """Smallest all-ones bit mask covering ``span`` (uint64), e.g. 5 -> 7, 0 -> 0."""
    mask = span.copy()
    for shift in _SHIFTS:
        mask |= mask >> np.uint64(shift)
    return mask


class OSRandom:
    """Uniform integers from the operating system's cryptographic generator.

    It has no seed and no state: two instances, or two calls, never repeat each other except
    by chance, and nothing about past draws can be saved with a model or a ledger. Only the
    ``integers`` method of :class:`numpy.random.Generator` is provided (what the exact
    discrete Gaussian sampler uses).
    """

    def __repr__(self) -> str:
        return "OSRandom()"

    def integers(
        self,
        low: int | np.ndarray,
        high: int | np.ndarray | None = None,
        size: int | tuple[int, ...] | None = None,
        dtype: type = np.int64,
    ) -> np.ndarray:
        """Uniform integers in ``[low, high)`` (``[0, low)`` when ``high`` is None).

        Args:
            low, high: bounds, scalars or arrays broadcast against each other and ``size``;
                ``high - low`` must be at least 1 and below 2**63.
            size: output shape (default: the broadcast shape of the bounds).
            dtype: must be ``numpy.int64`` (the only type the samplers use).

        Raises:
            ValueError: an empty or too wide range, or another dtype.
        """
        if np.dtype(dtype) != np.int64:
            raise ValueError(f"OSRandom draws int64 only, got dtype {dtype!r}")
        if high is None:
            low, high = 0, low
        low_a = np.asarray(low, dtype=np.int64)
        high_a = np.asarray(high, dtype=np.int64)
        shape = np.broadcast_shapes(low_a.shape, high_a.shape)
        if size is not None:
            shape = (size,) if isinstance(size, int | np.integer) else tuple(size)
        low_b = np.broadcast_to(low_a, shape)
        high_b = np.broadcast_to(high_a, shape)
        if np.any(high_b <= low_b):
            raise ValueError("OSRandom.integers: high must be greater than low")
        with np.errstate(over="ignore"):
            span = high_b - low_b
        if np.any(span < 1):  # wrapped around: high - low does not fit in int64
            raise ValueError("OSRandom.integers: high - low must be below 2**63")
        span_minus_one = (span - 1).astype(np.uint64).ravel()
        masks = _masks(span_minus_one)
        out = np.zeros(span_minus_one.size, dtype=np.uint64)
        pending = np.arange(span_minus_one.size)
        while pending.size:
            raw = np.frombuffer(os.urandom(8 * pending.size), dtype=np.uint64)
            value = raw & masks[pending]
            ok = value <= span_minus_one[pending]
            out[pending[ok]] = value[ok]
            pending = pending[~ok]
        return (out.astype(np.int64).reshape(shape) + low_b).astype(np.int64)
