"""Full-domain generalisation: find the least-loss lattice node that meets the models.

A lattice node picks one level per quasi-identifier (full-domain: every record of a column
is generalised to the same level). At a node, the records fall into equivalence classes;
classes failing a model are suppressed, and the node is *feasible* when at most
``max_suppression`` of the records are. Among feasible nodes the search returns the one
with the least information loss:

- ``nue`` (default): non-uniform entropy, the bits lost per record and quasi-identifier,
  ``log2(n(generalised value) / n(original value))``; a suppressed record loses everything
  (``log2(n / n(original value))``).
- ``height``: the sum of levels, ties broken by NUE.

The generalisation-only entropy of a node is a lower bound of its NUE (suppression can only
add loss), so nodes are visited in order of that bound and the search stops as soon as the
bound reaches the best loss found: the result is the exact optimum over the whole lattice
(as ARX's OLA/Flash guarantee) while most nodes are never grouped. A node whose bound only
equals the best loss cannot beat it and is not grouped. Of several nodes with the same loss,
the first visited is returned (lower bound, then lower height, then the smaller tuple of
levels; by height first for ``height``), so the same input always gives the same node.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthema.anonymize.hierarchy import Hierarchy
from synthema.anonymize.policy import Models
from synthema.anonymize.privacy_models import SensitiveCodes, failing_classes
from synthema.errors import AnonymizationError


@dataclass(frozen=True)
class SearchResult:
    """The chosen node and what it costs.

    ``suppressed`` marks the records removed; ``classes`` gives every record's class
    index at the node (suppressed ones included).
    """

    node: tuple[int, ...]
    suppressed: np.ndarray
    classes: np.ndarray
    nue_bits: float
    nue: float
    height: int
    max_height: int
    nodes_total: int
    nodes_evaluated: int


def group(hierarchies: list[Hierarchy], node: tuple[int, ...], n: int) -> np.ndarray:
    """Class index (0..C-1) of every record when each hierarchy sits at ``node``'s level."""
    key = np.zeros(n, dtype=np.int64)
    for h, level in zip(hierarchies, node, strict=True):
        codes = h.codes[level]
        key = key * (int(codes.max()) + 1 if n else 1) + codes
        key, _ = pd.factorize(key)  # keep the mixed radix small
        key = key.astype(np.int64)
    return key


def _max_bits(hierarchies: list[Hierarchy], n: int) -> np.ndarray:
    """Per record, the bits lost when it is suppressed (every quasi-identifier unknown)."""
    total = np.zeros(n)
    for h in hierarchies:
        base = np.bincount(h.codes[0])[h.codes[0]]
        total += np.log2(n / base)
    return total


def search(
    hierarchies: list[Hierarchy],
    sensitive: list[SensitiveCodes],
    models: Models,
    *,
    n: int,
    metric: str = "nue",
    max_nodes: int = 100_000,
) -> SearchResult:
    """Search the lattice of ``hierarchies`` for the least-loss feasible node.

    Raises:
        AnonymizationError: the lattice is too large, or no node reaches the models while
            suppressing at most ``models.max_suppression`` of the records.
    """
    ranges = [range(h.lo, h.hi + 1) for h in hierarchies]
    total = math.prod(len(r) for r in ranges)
    if total > max_nodes:
        raise AnonymizationError(
            f"the generalisation lattice has {total} nodes, above search.max_nodes {max_nodes}",
            fix="raise search.max_nodes, or narrow levels with min_level/max_level")
    level_bits = [np.array([c.sum() for c in h.cost]) for h in hierarchies]
    supp_bits = _max_bits(hierarchies, n)
    max_bits = float(supp_bits.sum())
    budget = math.floor(models.max_suppression * n + 1e-9)
    nodes = list(itertools.product(*ranges))
    bound = {node: float(sum(b[lv] for b, lv in zip(level_bits, node, strict=True)))
             for node in nodes}
    if metric == "height":
        nodes.sort(key=lambda nd: (sum(nd), bound[nd], nd))
    else:
        nodes.sort(key=lambda nd: (bound[nd], sum(nd), nd))
    best: tuple | None = None
    evaluated = 0
    for node in nodes:
        if best is not None:
            if metric == "height" and sum(node) > best[0][0]:
                break
            if metric == "nue" and bound[node] >= best[0][0] - 1e-9:
                break
        evaluated += 1
        classes = group(hierarchies, node, n)
        fail, _ = failing_classes(classes, sensitive, models)
        suppressed = fail[classes] if len(classes) else np.zeros(0, dtype=bool)
        if int(suppressed.sum()) > budget:
            continue
        kept_bits = sum(h.cost[lv][~suppressed].sum()
                        for h, lv in zip(hierarchies, node, strict=True))
        bits = float(kept_bits + supp_bits[suppressed].sum())
        score = (sum(node), bits) if metric == "height" else (bits,)
        if best is None or score < best[0]:
            best = (score, node, suppressed, classes, bits)
    if best is None:
        raise AnonymizationError(
            f"no generalisation reaches the privacy models (k={models.k}, l={models.l}, "
            f"t={models.t}) while suppressing at most {models.max_suppression:.1%} of "
            f"{n} records",
            fix="raise models.max_suppression, lower k/l or raise t, or add hierarchy levels")
    _, node, suppressed, classes, bits = best
    return SearchResult(
        node=tuple(int(v) for v in node), suppressed=suppressed, classes=classes,
        nue_bits=bits, nue=bits / max_bits if max_bits > 0 else 0.0,
        height=int(sum(node)), max_height=int(sum(h.hi for h in hierarchies)),
        nodes_total=total, nodes_evaluated=evaluated)
