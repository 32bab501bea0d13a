"""The only door to Private-PGM (``mbi`` 2.0) and JAX: estimation and junction trees.

Everything else in :mod:`synthema.synth` is numpy. This module turns synthema objects into mbi
ones and back into plain arrays:

- :func:`mbi_domain` builds an ``mbi.Domain`` from :meth:`synthema.stats.Domain.for_mbi`;
- :func:`linear_measurements` turns :class:`~synthema.stats.Measurement` objects into
  ``mbi.LinearMeasurement`` (noisy counts, clique, stddev; a marginal measured on groups of
  the model's codes gets a :class:`GroupedQuery`);
- :func:`estimate` runs mbi's mirror descent (``mbi.estimation.MirrorDescent``, the estimator
  mbi recommends, with its Armijo line search) for a bounded number of iterations and returns
  the fitted log-potentials per clique as numpy arrays;
- :func:`junction_tree_of` gives the junction tree (maximal cliques and edges) of a set of
  cliques, which :class:`synthema.synth.graphical_model.GraphicalModel` uses for exact
  inference and sampling.

Why the estimation loop is driven by hand: ``MirrorDescent.estimate`` computes its initial
state and its final marginals eagerly, op by op, and on CPU every distinct array shape then
compiles its own tiny XLA program: about 15 s for a 146-attribute tree on two cores, more
than the iterations themselves. Starting from zero potentials with mbi's own initial step size
and calling its jitted ``_multi_step`` (one compiled program) gives the same iterates
(mbi pinned to ``2.0.*``; ``tests/unit/synth/test_mbi_adapter.py`` checks this against
``estimate``).

JAX is configured here once, before mbi is imported: 64-bit floats (mbi warns that 32-bit
floats stall the estimation) and no persistent compilation cache (mbi builds many small
programs, for which the cache is counterproductive).
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import jax

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_enable_compilation_cache", False)

import jax.numpy as jnp  # noqa: E402 - JAX must be configured before mbi is imported
import mbi  # noqa: E402
import numpy as np  # noqa: E402
from mbi import estimation, junction_tree, marginal_loss  # noqa: E402

from synthema.stats import Domain, Measurement  # noqa: E402
from synthema.synth import progress  # noqa: E402

_LOG = logging.getLogger(__name__)

Clique = tuple[str, ...]


def mbi_domain(domain: Domain) -> mbi.Domain:
    """The ``mbi.Domain`` of a synthema domain (same names, same number of codes)."""
    names, shape = domain.for_mbi()
    return mbi.Domain(names, shape)


@dataclass(frozen=True)
class GroupedQuery:
    """mbi query of a marginal measured on groups of the model's codes: the sums per group.

    ``groups[k][code]`` is the group of code ``code`` of the clique's ``k``-th attribute; the
    query sums the model's marginal over each group's cells (axis by axis) and flattens the
    result in C order, as the source counted them. Hashable by value, so fits with the same
    groupings share one compiled program (mbi holds queries as static data).

    >>> import jax.numpy as jnp
    >>> class F:  # a stand-in for mbi.Factor: only ``values`` is read
    ...     values = jnp.arange(6.0).reshape(2, 3)
    >>> GroupedQuery(((0, 0), (0, 1, 1)))(F()).tolist()   # [[0, 1, 2], [3, 4, 5]]
    [3.0, 12.0]
    >>> GroupedQuery(((0, 0), (0, 1, 1))).op_norm_sq()
    4.0
    """

    groups: tuple[tuple[int, ...], ...]

    def __call__(self, factor) -> jax.Array:
        values = factor.values
        for axis, groups in enumerate(self.groups):
            onehot = np.zeros((max(groups) + 1, len(groups)))
            onehot[list(groups), np.arange(len(groups))] = 1.0
            values = jnp.moveaxis(jnp.tensordot(onehot, values, axes=([1], [axis])), 0, axis)
        return values.reshape(-1)

    def op_norm_sq(self) -> float:
        """Squared operator norm: the most model cells one group cell sums."""
        return float(math.prod(max(Counter(axis).values()) for axis in self.groups))


def linear_measurements(measurements: Sequence[Measurement]) -> list[mbi.LinearMeasurement]:
    """``mbi.LinearMeasurement`` objects (float counts, clique, stddev) from measurements.

    Exact counts (stddev 0, tests and non-private runs) are given a unit standard deviation:
    mbi divides by the stddev, and when every measurement is exact only their relative weights
    matter. Mixed with noisy ones, exact counts get a thousandth of the smallest noise scale,
    i.e. they are trusted a million times more.
    """
    noisy = [m.stddev for m in measurements if m.stddev > 0]
    exact_stddev = min(noisy) * 1e-3 if noisy else 1.0
    out = []
    for m in measurements:
        extra = {} if m.groups is None else {"query": GroupedQuery(m.groups)}
        out.append(mbi.LinearMeasurement(
            np.asarray(m.noisy_counts, dtype=np.float64),
            tuple(m.clique),
            float(m.stddev) if m.stddev > 0 else exact_stddev,
            **extra,
        ))
    return out


@dataclass(frozen=True)
class Fitted:
    """An estimated model as plain arrays: log-potentials per clique and the estimated total.

    The distribution is ``P(x) ∝ exp(Σ_c potentials[c][x_c])``; each array's axes follow its
    clique's attribute order. ``loss`` is mbi's final L2 loss (a diagnostic).
    """

    cliques: tuple[Clique, ...]
    potentials: Mapping[Clique, np.ndarray]
    total: float
    loss: float


def constraints_of(
    domain: Domain, forbidden: Mapping[Clique, np.ndarray]
) -> tuple[mbi.Constraint, ...]:
    """``mbi.Constraint`` objects (forbidden cells as ``invalid``) from boolean cell masks."""
    dom = mbi_domain(domain)
    return tuple(
        mbi.Constraint(dom.project(list(clique)), invalid=np.argwhere(np.asarray(mask, bool)))
        for clique, mask in forbidden.items() if np.any(mask)
    )


def estimate(
    domain: Domain,
    measurements: Sequence[Measurement],
    *,
    iters: int,
    tol: float = 0.0,
    forbidden: Mapping[Clique, np.ndarray] | None = None,
) -> Fitted:
    """Fit a graphical model to noisy marginals with mbi's mirror descent.

    Args:
        domain: the public domain the measurements refer to (all its attributes are modelled;
            one never measured gets a uniform distribution).
        measurements: noisy marginals (any mix of cliques; repeated cliques are fine).
        iters: most mirror-descent iterations (rounded up to mbi's block of 50).
        tol: stop early once the loss improved by at most ``tol`` (relative) over each of two
            consecutive blocks of 50 iterations (mbi's own rule; 0 runs all ``iters``).
        forbidden: structural zeros, a boolean mask over the cells of each clique (True:
            forbidden), passed to mbi as ``mbi.Constraint``: the model is fitted with zero
            probability there. The returned potentials do not contain them; add them
            (:func:`synthema.synth.pgm.fit_model` does).

    Raises:
        ValueError: no measurements, or ``iters`` < 1.
    """
    if not measurements:
        raise ValueError("estimate needs at least one measurement")
    if iters < 1:
        raise ValueError(f"iters must be >= 1, got {iters}")
    dom = mbi_domain(domain)
    linear = linear_measurements(measurements)
    total = float(estimation.minimum_variance_unbiased_total(linear))
    loss_fn = marginal_loss.from_linear_measurements(linear, dom)
    cliques = tuple(tuple(c) for c in loss_fn.cliques)
    potentials = mbi.CliqueVector.zeros(dom, list(cliques))
    # mbi's MirrorDescent._init, without its eager marginal computation: mu and loss are
    # overwritten by the first step, which only reads the potentials and the step size.
    alpha = 2.0 / (float(loss_fn.lipschitz) * total)
    state = estimation.MirrorDescentState(
        mu=mbi.CliqueVector.zeros(dom, list(cliques)),
        potentials=potentials,
        alpha=jnp.asarray(alpha, dtype=jnp.float64),
        loss=jnp.asarray(0.0, dtype=jnp.float64),
    )
    state = jax.tree.map(jnp.copy, state)  # _multi_step donates its input buffers
    estimator = estimation.MirrorDescent()
    constraints = constraints_of(domain, forbidden or {})
    if _LOG.isEnabledFor(logging.DEBUG):
        cells = model_cells(domain, cliques)
        _LOG.debug("mbi: %d cliques, junction tree of %d cells", len(cliques), cells)
    previous, stalls, done = math.inf, 0, 0
    blocks = math.ceil(iters / estimation.CALLBACK_EVERY)
    text = f"estimating the model: mirror descent over {len(cliques)} cliques"
    progress.stage(f"estimating the model: first {estimation.CALLBACK_EVERY} iterations "
                   "(compiling them takes most of this)", kind="compile")
    for _ in range(blocks):
        state = estimator._multi_step(state, loss_fn, total, constraints)
        done += estimation.CALLBACK_EVERY
        progress.advance(text, done, blocks * estimation.CALLBACK_EVERY, kind="estimate")
        if done == estimation.CALLBACK_EVERY:
            _LOG.debug("mbi: first block done (includes compilation)")
        if tol > 0:
            loss = float(state.loss)
            stalls = stalls + 1 if previous - loss <= tol * max(abs(loss), 1.0) else 0
            previous = loss
            if stalls >= 2:
                break
    loss = float(state.loss)
    _LOG.info("mbi mirror descent: %d cliques, %d constraints, %d iterations, loss %.4g",
              len(cliques), len(constraints), done, loss)
    out = {c: np.asarray(state.potentials[c].values, dtype=np.float64) for c in cliques}
    return Fitted(cliques=cliques, potentials=out, total=total, loss=loss)


def junction_tree_of(
    domain: Domain, cliques: Sequence[Clique]
) -> tuple[tuple[Clique, ...], tuple[tuple[int, int], ...]]:
    """Maximal cliques (in domain order) and tree edges of a junction tree over ``cliques``.

    Attributes of the domain that no clique mentions become single-attribute cliques, so the
    result covers the whole domain. The junction tree may be a forest (independent parts).
    """
    dom = mbi_domain(domain)
    covered = {a for c in cliques for a in c}
    full = [tuple(c) for c in cliques] + [(a,) for a in domain.names if a not in covered]
    tree, _ = junction_tree.make_junction_tree(dom, full)
    nodes = tuple(tuple(n) for n in tree.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    edges = tuple(sorted(tuple(sorted((index[a], index[b]))) for a, b in tree.edges))
    return nodes, edges


def largest_node(domain: Domain, cliques: Sequence[Clique]) -> int:
    """Cells of the largest junction-tree node over ``cliques`` (their attributes only)."""
    names = [a for a in domain.names if any(a in c for c in cliques)]
    nodes, _ = junction_tree_of(domain.project(names), cliques)
    return max(domain.size(n) for n in nodes)


def model_cells(domain: Domain, cliques: Sequence[Clique]) -> int:
    """Number of cells in the junction tree of ``cliques`` (the memory a model needs)."""
    nodes, _ = junction_tree_of(domain, cliques)
    return sum(domain.size(n) for n in nodes)
