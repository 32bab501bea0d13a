"""The statistics seam: what a synthesizer may ask of data it never sees.

A synthesizer talks to a :class:`StatisticsSource` only. The source knows the public
:class:`~synthema.stats.domain.Domain` and answers one kind of question, noisy marginal counts
over cliques, returning :class:`Measurement` objects shaped like ``mbi.LinearMeasurement``.
``CentralSource`` answers from one table; ``FederatedSource`` (in ``synthema.federation``) sends
the same question to every site and sums noisy partial answers under secure aggregation.

Noise is drawn by the party that adds it, from the operating system's cryptographic generator
(:class:`~synthema.privacy.entropy.OSRandom`), so ``measure`` takes no random generator: no
seed a user passes to a synthesizer, and nothing saved with a model, can regenerate the noise.

Nothing data-dependent crosses the seam without noise: there is deliberately no row count,
no ``n_records`` hint and no exact count in the protocol. A synthesizer that needs the number of
patients estimates it from a noisy marginal (for example the empty clique ``()``, or the sum of
any measured marginal).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from synthema.stats.domain import Domain

Clique = tuple[str, ...]


@dataclass(frozen=True, eq=False)
class Measurement:
    """A noisy marginal: counts over a clique, the noise's scale and the privacy it cost.

    Mirrors ``mbi.LinearMeasurement(noisy_measurement, clique, stddev)`` plus the zCDP cost, so
    synthesizers can add up ``rho_spent`` and the mbi adapter can pass the rest straight on.

    Args:
        clique: attribute names, in the order the counts are flattened (C order).
        noisy_counts: int64 vector of ``domain.size(clique)`` cells (read-only copy).
        stddev: standard deviation of the noise added to each cell (0: exact counts).
        rho_spent: zCDP cost of this measurement (``inf`` when exact counts were released).
        groups: ``None`` (the counts are over every cell of the clique), or, for a marginal
            measured on a coarsening of the model's codes, one tuple per attribute of the
            clique giving the group of each of its codes (``groups[k][code]``; groups numbered
            from 0): the counts are then over the groups' cells (C order), each the sum of
            the clique's cells it holds (see :mod:`synthema.synth.anchor`).

    >>> m = Measurement(("sex",), np.array([40, 61, 2]), stddev=2.0, rho_spent=0.125)
    >>> m.total, m.is_private
    (103, True)
    >>> Measurement(("sex",), np.array([40, 60, 2]), stddev=0.0, rho_spent=math.inf).is_private
    False
    """

    clique: Clique
    noisy_counts: np.ndarray
    stddev: float
    rho_spent: float
    groups: tuple[tuple[int, ...], ...] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.clique, str) or not all(isinstance(c, str) for c in self.clique):
            raise ValueError(f"clique must be a tuple of attribute names, got {self.clique!r}")
        counts = np.array(self.noisy_counts, copy=True)
        if counts.ndim != 1 or not np.issubdtype(counts.dtype, np.integer):
            raise ValueError(
                f"noisy_counts must be a 1-D integer vector, got {counts.dtype} {counts.shape}"
            )
        if not self.stddev >= 0 or math.isinf(self.stddev):
            raise ValueError(f"stddev must be finite and >= 0, got {self.stddev!r}")
        if not self.rho_spent >= 0:
            raise ValueError(f"rho_spent must be >= 0, got {self.rho_spent!r}")
        counts = counts.astype(np.int64, copy=False)
        if self.groups is not None:
            groups = tuple(tuple(int(g) for g in axis) for axis in self.groups)
            if len(groups) != len(self.clique) or not all(
                    axis and min(axis) == 0 and set(axis) == set(range(max(axis) + 1))
                    for axis in groups):
                raise ValueError("groups must give, for each attribute of the clique, the "
                                 "group (0, 1, ... with none skipped) of each of its codes")
            if counts.size != math.prod(max(axis) + 1 for axis in groups):
                raise ValueError(f"{counts.size} counts for groups of "
                                 f"{[max(a) + 1 for a in groups]} values")
            object.__setattr__(self, "groups", groups)
        counts.flags.writeable = False
        object.__setattr__(self, "clique", tuple(self.clique))
        object.__setattr__(self, "noisy_counts", counts)

    @property
    def total(self) -> int:
        """Sum of the noisy counts: a noisy estimate of the number of patients."""
        return int(self.noisy_counts.sum())

    @property
    def is_private(self) -> bool:
        """False for exact counts (sigma = 0), which are for tests and non-private baselines."""
        return math.isfinite(self.rho_spent) and self.stddev > 0


@runtime_checkable
class StatisticsSource(Protocol):
    """Anything that answers noisy marginal queries over a public domain."""

    @property
    def domain(self) -> Domain:
        """The public, data-independent domain the cliques refer to."""
        ...

    def measure(self, cliques: Sequence[Clique], *, sigma: float) -> list[Measurement]:
        """Noisy marginals over ``cliques``, each with discrete Gaussian noise of scale sigma.

        Each marginal has L2 sensitivity 1 and costs rho = 1 / (2 sigma**2) in zCDP; the batch
        costs the sum. The noise comes from OS entropy, never from a seed. ``sigma = 0``
        returns exact counts with ``rho_spent = inf`` (tests and non-private baselines only).
        """
        ...
