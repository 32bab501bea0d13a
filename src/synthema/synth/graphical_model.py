"""A fitted graphical model as numpy arrays: exact inference and sampling on a junction tree.

mbi estimates the log-potentials (:mod:`synthema.synth._mbi`); everything after that is here,
in plain numpy, so that a saved model samples without JAX and the same seed gives the same
rows before and after ``save``/``load``:

- belief propagation on the junction tree turns potentials into the marginal of every maximal
  clique (log-space sum-product, one collect and one distribute pass per tree);
- ancestral sampling walks each tree from its root: the root clique is drawn jointly, then
  each child clique's new attributes given its separator;
- :meth:`GraphicalModel.conditional_logp` is the exact conditional of one attribute given all
  the others (the Gibbs step that rule repair uses).

>>> m = GraphicalModel.independent({"a": np.array([0.25, 0.75]), "b": np.array([1.0, 0.0])})
>>> codes = m.sample(4, rng=np.random.default_rng(0))
>>> codes.shape, codes[:, 1].tolist()
((4, 2), [0, 0, 0, 0])
>>> np.round(m.marginal(("a",)), 2).tolist()
[0.25, 0.75]
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

Clique = tuple[str, ...]


def _logsumexp(values: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    if not axes:
        return values
    top = np.max(values, axis=axes, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(values - top), axis=axes, keepdims=True)) + top
    return np.squeeze(out, axis=axes)


def _align(table: np.ndarray, names: Clique, target: Clique) -> np.ndarray:
    """``table`` (axes ``names``) reshaped to broadcast against axes ``target``."""
    order = [names.index(n) for n in target if n in names]
    moved = np.transpose(table, order)
    shape = [moved.shape[order.index(names.index(n))] if n in names else 1 for n in target]
    return moved.reshape(shape)


def _sum_out(table: np.ndarray, names: Clique, keep: Clique, *, log: bool) -> np.ndarray:
    """Marginalise ``table`` onto ``keep`` (in the order given)."""
    axes = tuple(i for i, n in enumerate(names) if n not in keep)
    out = _logsumexp(table, axes) if log else table.sum(axis=axes)
    rest = tuple(n for n in names if n in keep)
    return np.transpose(out, [rest.index(n) for n in keep]) if rest else out


@dataclass(frozen=True, eq=False)
class GraphicalModel:
    """``P(x) ∝ exp(Σ_c potentials[c][x_c])`` over attributes with ``sizes`` codes each.

    Args:
        sizes: number of codes per attribute, in domain order.
        potentials: log-potential array per clique (axes in the clique's order).
        nodes: maximal cliques of a junction tree covering every attribute.
        edges: junction-tree edges as pairs of node indices (a forest is allowed).
    """

    sizes: Mapping[str, int]
    potentials: Mapping[Clique, np.ndarray]
    nodes: tuple[Clique, ...]
    edges: tuple[tuple[int, int], ...]
    _beliefs: list[np.ndarray] = field(init=False, repr=False)
    _plan: list[tuple[Clique, Clique, np.ndarray]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        names = tuple(self.sizes)
        covered = {a for n in self.nodes for a in n}
        if covered != set(names):
            raise ValueError(f"junction tree misses attributes {sorted(set(names) - covered)}")
        for clique, table in self.potentials.items():
            home = next((n for n in self.nodes if set(clique) <= set(n)), None)
            if home is None:
                raise ValueError(f"clique {clique} is in no junction-tree node")
            if table.shape != tuple(self.sizes[a] for a in clique):
                raise ValueError(f"potential of {clique} has shape {table.shape}")
        object.__setattr__(self, "_beliefs", self._propagate())
        object.__setattr__(self, "_plan", self._sampling_plan())

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def independent(cls, probabilities: Mapping[str, np.ndarray]) -> GraphicalModel:
        """A product of one-way distributions (each a non-negative vector)."""
        pots = {}
        for name, p in probabilities.items():
            p = np.asarray(p, dtype=np.float64)
            with np.errstate(divide="ignore"):
                pots[(name,)] = np.log(p / p.sum()) if p.sum() > 0 else np.zeros(p.size)
        sizes = {n: int(np.asarray(p).size) for n, p in probabilities.items()}
        nodes = tuple((n,) for n in probabilities)
        return cls(sizes, pots, nodes, ())

    @classmethod
    def from_marginals(
        cls,
        sizes: Mapping[str, int],
        nodes: tuple[Clique, ...],
        edges: tuple[tuple[int, int], ...],
        targets: Mapping[Clique, np.ndarray],
        *,
        sweeps: int = 10,
    ) -> GraphicalModel:
        """A quick model from target marginals: local IPF in each junction-tree node.

        Each node's table is fitted by iterative proportional fitting to the targets
        (probability tables) that lie inside it; the tree then chains the nodes as
        P(root) · Π P(child | separator). Exact when the targets are consistent marginals of
        a decomposable model; otherwise a fast approximation (AIM uses it between rounds,
        where it only guides selection).
        """
        tables = []
        for node in nodes:
            shape = tuple(sizes[a] for a in node)
            table = np.full(shape, 1.0 / int(np.prod(shape, dtype=np.int64)))
            inside = [(c, t) for c, t in targets.items() if set(c) <= set(node)]
            for _ in range(sweeps if len(inside) > 1 else 1):
                for clique, target in inside:
                    current = _sum_out(table, node, clique, log=False)
                    ratio = np.divide(target, current, out=np.zeros_like(target), where=current > 0)
                    table = table * _align(ratio, clique, node)
            table = table / table.sum() if table.sum() > 0 else np.full(shape, 1 / table.size)
            tables.append(0.999 * table + 0.001 / table.size)  # no exact zeros
        neighbours: dict[int, list[int]] = {i: [] for i in range(len(nodes))}
        for a, b in edges:
            neighbours[a].append(b)
            neighbours[b].append(a)
        potentials: dict[Clique, np.ndarray] = {}
        helper = cls.__new__(cls)
        object.__setattr__(helper, "nodes", nodes)
        for order, parent in helper._traversals(neighbours):
            for node in order:
                pot = np.log(tables[node])
                if parent[node] is not None:
                    sep = tuple(x for x in nodes[node] if x in set(nodes[parent[node]]))
                    marg = _sum_out(tables[node], nodes[node], sep, log=False)
                    pot = pot - _align(np.log(marg), sep, nodes[node])
                potentials[nodes[node]] = pot
        return cls(dict(sizes), potentials, nodes, edges)

    @property
    def names(self) -> tuple[str, ...]:
        """Attribute names in domain order (the columns of sampled codes)."""
        return tuple(self.sizes)

    # -- inference ----------------------------------------------------------------------------
    def _propagate(self) -> list[np.ndarray]:
        """Normalised marginal (probabilities) of every junction-tree node."""
        pots = [np.zeros(tuple(self.sizes[a] for a in n)) for n in self.nodes]
        for clique, table in self.potentials.items():
            i = next(i for i, n in enumerate(self.nodes) if set(clique) <= set(n))
            pots[i] = pots[i] + _align(table, clique, self.nodes[i])
        neighbours: dict[int, list[int]] = {i: [] for i in range(len(self.nodes))}
        for a, b in self.edges:
            neighbours[a].append(b)
            neighbours[b].append(a)
        messages: dict[tuple[int, int], np.ndarray] = {}

        def message(src: int, dst: int) -> np.ndarray:
            total = pots[src].copy()
            for w in neighbours[src]:
                if w != dst:
                    total = total + _align(messages[(w, src)], self._sep(w, src), self.nodes[src])
            return _sum_out(total, self.nodes[src], self._sep(src, dst), log=True)

        beliefs: list[np.ndarray] = [np.empty(0)] * len(self.nodes)
        for order, parent in self._traversals(neighbours):
            for node in reversed(order):  # collect: leaves to root
                if parent[node] is not None:
                    messages[(node, parent[node])] = message(node, parent[node])
            for node in order:  # distribute: root to leaves
                if parent[node] is not None:
                    messages[(parent[node], node)] = message(parent[node], node)
            for node in order:
                total = pots[node].copy()
                for w in neighbours[node]:
                    total = total + _align(
                        messages[(w, node)], self._sep(w, node), self.nodes[node]
                    )
                axes = tuple(range(total.ndim))
                prob = np.exp(total - _logsumexp(total, axes))
                beliefs[node] = prob / prob.sum()
        return beliefs

    def _sep(self, a: int, b: int) -> Clique:
        other = set(self.nodes[b])
        return tuple(x for x in self.nodes[a] if x in other)

    def _traversals(
        self, neighbours: Mapping[int, list[int]]
    ) -> list[tuple[list[int], dict[int, int | None]]]:
        """Breadth-first order and parents of each tree of the forest, roots lowest first."""
        seen: set[int] = set()
        out = []
        for root in range(len(self.nodes)):
            if root in seen:
                continue
            order, parent = [], {root: None}
            queue = deque([root])
            seen.add(root)
            while queue:
                node = queue.popleft()
                order.append(node)
                for w in sorted(neighbours[node]):
                    if w not in seen:
                        seen.add(w)
                        parent[w] = node
                        queue.append(w)
            out.append((order, parent))
        return out

    def marginal(self, clique: Sequence[str]) -> np.ndarray:
        """Probability table over ``clique`` (axes in the order given).

        Exact when the clique lies inside one junction-tree node; otherwise estimated
        by the caller from samples (see :meth:`sample`).

        Raises:
            ValueError: the clique is not inside one node.
        """
        clique = tuple(clique)
        for node, belief in zip(self.nodes, self._beliefs, strict=True):
            if set(clique) <= set(node):
                return _sum_out(belief, node, clique, log=False)
        raise ValueError(f"clique {clique} is not inside one junction-tree node")

    # -- sampling -----------------------------------------------------------------------------
    def _sampling_plan(self) -> list[tuple[Clique, Clique, np.ndarray]]:
        """(given, new, cumulative table) per node in ancestral order."""
        neighbours: dict[int, list[int]] = {i: [] for i in range(len(self.nodes))}
        for a, b in self.edges:
            neighbours[a].append(b)
            neighbours[b].append(a)
        plan = []
        done: set[str] = set()
        for order, _parent in self._traversals(neighbours):
            for node in order:
                names = self.nodes[node]
                given = tuple(a for a in names if a in done)
                new = tuple(a for a in names if a not in done)
                if not new:
                    continue
                table = _sum_out(self._beliefs[node], names, given + new, log=False)
                table = table.reshape(
                    int(np.prod([self.sizes[a] for a in given], dtype=np.int64)), -1
                )
                rows = table.sum(axis=1, keepdims=True)
                uniform = np.full_like(table, 1.0 / table.shape[1])
                cond = np.divide(table, rows, out=uniform, where=rows > 0)
                cdf = np.cumsum(cond, axis=1)
                cdf[:, -1] = 1.0
                plan.append((given, new, cdf))
                done.update(new)
        return plan

    def sample(self, n: int, *, rng: np.random.Generator) -> np.ndarray:
        """``n`` rows of codes (columns in :attr:`names` order), drawn i.i.d. from the model."""
        index = {a: j for j, a in enumerate(self.names)}
        codes = np.zeros((n, len(self.names)), dtype=np.int64)
        for given, new, cdf in self._plan:
            if given:
                g = np.ravel_multi_index(
                    tuple(codes[:, index[a]] for a in given), [self.sizes[a] for a in given]
                )
            else:
                g = np.zeros(n, dtype=np.int64)
            width = cdf.shape[1]
            flat = (cdf + np.arange(cdf.shape[0])[:, None]).ravel()
            pos = np.searchsorted(flat, g + rng.random(n), side="right") - g * width
            pos = np.clip(pos, 0, width - 1)
            cols = np.unravel_index(pos, [self.sizes[a] for a in new])
            for a, col in zip(new, cols, strict=True):
                codes[:, index[a]] = col
        return codes

    def conditional_logp(self, name: str, codes: np.ndarray) -> np.ndarray:
        """log P(name = v | all other attributes) for each row of ``codes`` and each code v.

        Uses the junction-tree factorisation P(x) = Π nodes / Π separators, so only the
        tables that mention ``name`` matter. Returns an (n, size) array (rows sum to 1 in
        probability; a row whose context has probability 0 gets the attribute's marginal).
        """
        index = {a: j for j, a in enumerate(self.names)}
        k = self.sizes[name]
        n = codes.shape[0]
        out = np.zeros((n, k))
        terms: list[tuple[Clique, np.ndarray, float]] = []
        for node, belief in zip(self.nodes, self._beliefs, strict=True):
            if name in node:
                terms.append((node, belief, 1.0))
        for a, b in self.edges:
            sep = self._sep(a, b)
            if name in sep:
                terms.append((sep, self.marginal(sep), -1.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            for clique, table, sign in terms:
                others = tuple(x for x in clique if x != name)
                moved = _sum_out(table, clique, others + (name,), log=False)
                moved = moved.reshape(-1, k)
                if others:
                    flat = np.ravel_multi_index(
                        tuple(codes[:, index[x]] for x in others), [self.sizes[x] for x in others]
                    )
                else:
                    flat = np.zeros(n, dtype=np.int64)
                out = out + sign * np.log(moved[flat])
        out = np.where(np.isnan(out), -np.inf, out)
        top = out.max(axis=1, keepdims=True)
        bad = ~np.isfinite(top[:, 0])
        if bad.any():
            with np.errstate(divide="ignore"):
                out[bad] = np.log(self.marginal((name,)))[None, :]
            top = out.max(axis=1, keepdims=True)
        out = out - top
        return out - np.log(np.exp(out).sum(axis=1, keepdims=True))

    # -- plain arrays -------------------------------------------------------------------------
    def to_arrays(self) -> tuple[dict, dict[str, np.ndarray]]:
        """(JSON-able structure, named arrays): everything needed to rebuild the model."""
        cliques = list(self.potentials)
        meta = {
            "sizes": dict(self.sizes),
            "cliques": [list(c) for c in cliques],
            "nodes": [list(n) for n in self.nodes],
            "edges": [list(e) for e in self.edges],
        }
        arrays = {f"potential_{i}": np.asarray(self.potentials[c]) for i, c in enumerate(cliques)}
        return meta, arrays

    @classmethod
    def from_arrays(cls, meta: Mapping, arrays: Mapping[str, np.ndarray]) -> GraphicalModel:
        """Rebuild a model saved with :meth:`to_arrays`.

        Raises:
            ValueError: the structure or an array is missing or inconsistent.
        """
        try:
            cliques = [tuple(c) for c in meta["cliques"]]
            pots = {c: np.asarray(arrays[f"potential_{i}"]) for i, c in enumerate(cliques)}
            return cls(
                {str(k): int(v) for k, v in meta["sizes"].items()},
                pots,
                tuple(tuple(n) for n in meta["nodes"]),
                tuple((int(a), int(b)) for a, b in meta["edges"]),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a saved graphical model: {exc}") from None
