"""Choosing which marginals to model, from noisy answers and public knowledge only.

MST and AIM pick cliques by how badly a simpler model explains them. In the reference
mechanisms (Private-PGM ``mechanisms/mst.py``, ``aim.py``) the score uses the *exact* marginal
and the exponential mechanism privatises the choice. Here selection must also work when the
data sit in several hospitals (``FederatedSource``), where no one holds an exact marginal; so
synthema measures the candidate marginals **through the source**, with noise and a share of
the budget, and scores them on the server. Choosing from already-private answers is
post-processing: it costs no further privacy, so no exponential mechanism is needed and the
choice is the deterministic best (ties broken by candidate order).

Public knowledge the dictionary declares is used without any budget: survival pairs are
always modelled jointly, the columns of short clinical rules are modelled together, and each
declared target (``targets:``) is modelled with the covariates most associated with it.

The score of a candidate is an unbiased estimate of the squared L2 distance between its true
marginal and the model's estimate, computed on a coarsened grid (each attribute's codes
grouped into at most :data:`MAX_GROUPS` values plus *missing*) when the answer is noisy:
coarse cells pool the signal, which raises the signal-to-noise ratio of the test.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np

from synthema.schema import Dictionary
from synthema.stats import Attribute, Domain, Measurement

Clique = tuple[str, ...]

MAX_GROUPS = 4
RULE_CLIQUE_COLUMNS = 3


# -- candidates -------------------------------------------------------------------------------
def survival_columns(dictionary: Dictionary, domain: Domain) -> list[tuple[str, str]]:
    """The dictionary's (time, event) pairs whose columns are both in the domain."""
    return [
        (p.time, p.event) for p in dictionary.survival if p.time in domain and p.event in domain
    ]


def declared_covariates(dictionary: Dictionary, domain: Domain, time: str) -> list[str]:
    """The covariates the dictionary declares for the survival pair of ``time`` (public
    knowledge: no budget), those in the domain, in the dictionary's order."""
    pair = next((p for p in dictionary.survival if p.time == time), None)
    return [c for c in (pair.covariates if pair else ()) if c in domain]


def target_columns(dictionary: Dictionary, domain: Domain) -> list[str]:
    """The dictionary's declared targets that are in the domain, in order."""
    return [t for t in dictionary.targets if t in domain]


def outcome_exclusions(name: str, dictionary: Dictionary, domain: Domain) -> set[str]:
    """Attributes never chosen as covariates of ``name`` (a survival time or a target).

    Every survival column and target, and the attributes of ``name``'s own dictionary group
    (for AML the *outcome* group): a model of survival or of a target needs the baseline
    covariates, while competing outcomes are tied to it by rules and the tree.
    """
    pairs = survival_columns(dictionary, domain)
    out = {c for p in pairs for c in p} | set(target_columns(dictionary, domain))
    group = dictionary[name].group
    if group:
        out |= {v.name for v in dictionary.variables if v.group == group}
    return out


def rule_cliques(dictionary: Dictionary, domain: Domain, *, max_cells: int) -> list[Clique]:
    """Column sets of short rules and of short clauses of longer ones, in order.

    A rule over at most :data:`RULE_CLIQUE_COLUMNS` columns (and at most ``max_cells`` cells)
    gives its columns; a longer rule gives those of each clause that short
    (:func:`synthema.synth.constraints.clauses`: ``not hsct => hsct_days is missing and
    hsct_status is missing`` gives ``(hsct, hsct_days)`` and ``(hsct, hsct_status)``). In a
    measured clique, a rule's forbidden cells become structural zeros of the model
    (:mod:`synthema.synth.rule_cells`).
    """
    from synthema.synth.constraints import clauses
    from synthema.synth.rule_cells import tree_columns

    out: list[Clique] = []
    for rule in dictionary.rules:
        for tree in (rule.tree, *clauses(rule.tree)):
            used = set(tree_columns(tree))
            cols = tuple(c for c in domain.names if c in used)
            if 2 <= len(cols) <= RULE_CLIQUE_COLUMNS and domain.size(cols) <= max_cells:
                if not any(set(cols) <= set(c) for c in out):
                    out.append(cols)
            if tree is rule.tree and len(cols) <= RULE_CLIQUE_COLUMNS:
                break  # a short rule's clauses add nothing its own clique does not hold
    return out


#: Columns with at least this share of missing values (in the noisy one-way marginals) get
#: candidate pairs with the columns of the nearest missing shares (see :func:`candidate_pairs`).
MISSING_MIN_SHARE = 0.02
#: How many nearest-share columns each such column is paired with.
MISSING_NEIGHBOURS = 3


def missing_shares(probabilities: Mapping[str, np.ndarray], domain: Domain) -> dict[str, float]:
    """Each attribute's probability of its *missing* code (from noisy one-way estimates)."""
    return {n: float(probabilities[n][domain[n].missing_code]) for n in domain.names}


def missing_neighbours(missing: Mapping[str, float], k: int) -> list[tuple[str, str]]:
    """Each column with a missing share >= ``MISSING_MIN_SHARE`` with its ``k`` nearest by share.

    Ties are broken by name, so the pairs depend only on the shares.

    >>> missing_neighbours({"a": 0.47, "b": 0.47, "c": 0.21, "d": 0.0, "e": 0.2}, 1)
    [('e', 'c'), ('c', 'e'), ('a', 'b'), ('b', 'a')]
    """
    holey = sorted((share, name) for name, share in missing.items() if share >= MISSING_MIN_SHARE)
    out = []
    for share, name in holey:
        others = sorted((abs(s - share), n) for s, n in holey if n != name)
        out += [(name, n) for _, n in others[:k]]
    return out


def candidate_pairs(
    domain: Domain,
    dictionary: Dictionary,
    *,
    max_candidates: int,
    rng: np.random.Generator,
    missing: Mapping[str, float] | None = None,
    neighbours: int = MISSING_NEIGHBOURS,
) -> list[Clique]:
    """Pairs of attributes to score, chosen without looking at the data.

    All pairs when there are at most ``max_candidates``. Otherwise, first the pairs that
    involve a survival time, then those that involve a declared target, then pairs of columns
    that share a rule, then pairs of columns that may be missing together (below), then random
    pairs (``rng``), up to ``max_candidates``: measuring every pair of a 157-attribute
    dictionary would spread the selection budget over 12,246 marginals.

    ``missing`` maps attributes to their share of missing values in the noisy one-way
    marginals (already released: no budget). Columns missing *together*, such as the genes
    of one site's panel, have the same share; each column with at least
    ``MISSING_MIN_SHARE`` missing is paired with the ``neighbours`` columns whose shares are
    nearest to its own, so that the tree can chain them and keep them missing together
    (random pairs among 157 attributes almost never link two genes of a panel).
    """
    names = domain.names
    every = list(itertools.combinations(names, 2))
    if len(every) <= max_candidates:
        return every
    position = {n: i for i, n in enumerate(names)}

    def pair(a: str, b: str) -> Clique:
        return (a, b) if position[a] < position[b] else (b, a)

    chosen: dict[Clique, None] = {}
    for time, event in survival_columns(dictionary, domain):
        chosen[pair(time, event)] = None
        for other in names:
            if other not in (time, event):
                chosen[pair(time, other)] = None
    for target in target_columns(dictionary, domain):
        for other in names:
            if other != target:
                chosen[pair(target, other)] = None
    for rule in dictionary.rules:
        cols = [c for c in rule.columns if c in position]
        if len(cols) <= 6:
            for a, b in itertools.combinations(cols, 2):
                chosen[pair(a, b)] = None
    for a, b in missing_neighbours(missing or {}, neighbours):
        if a in position and b in position:
            chosen[pair(a, b)] = None
    picked = list(chosen)[:max_candidates]
    rest = [p for p in every if p not in chosen]
    extra = max_candidates - len(picked)
    if extra > 0 and rest:
        idx = np.sort(rng.choice(len(rest), size=min(extra, len(rest)), replace=False))
        picked += [rest[i] for i in idx]
    return picked


# -- scores -----------------------------------------------------------------------------------
def coarse_groups(attribute: Attribute, *, max_groups: int = MAX_GROUPS) -> np.ndarray:
    """Group index of each code: value codes in at most ``max_groups`` runs, missing alone.

    >>> from synthema.schema import VariableType
    >>> a = Attribute("x", VariableType.CATEGORICAL, "string", categories=tuple("abcdef"))
    >>> coarse_groups(a).tolist()
    [0, 0, 1, 1, 2, 3, 4]
    """
    k = attribute.n_values
    runs = np.array_split(np.arange(k), min(k, max_groups))
    out = np.empty(k + 1, dtype=np.int64)
    for g, run in enumerate(runs):
        out[run] = g
    out[k] = len(runs)
    return out


def fit_error(
    answer: Measurement, estimate: np.ndarray, domain: Domain, *, coarse: bool = True
) -> float:
    """Unbiased estimate of ||true marginal - estimate||² (on the coarse grid when noisy).

    ``estimate`` holds expected counts over ``answer.clique`` (any shape of that size). With
    noise of scale σ each coarse cell pooling m fine cells has noise variance σ²·m, which is
    subtracted; with exact answers (σ = 0) the fine grid is used.
    """
    if answer.groups is not None:
        raise ValueError(f"fit_error needs a marginal on the model's cells, not on groups "
                         f"({answer.clique})")
    shape = tuple(domain[a].size for a in answer.clique)
    diff = answer.noisy_counts.astype(np.float64).reshape(shape) - np.reshape(estimate, shape)
    sigma = answer.stddev
    if sigma == 0 or not coarse:
        return float(np.sum(diff**2) - sigma**2 * diff.size)
    pooled, cells = diff, np.ones(shape)
    for axis, name in enumerate(answer.clique):
        groups = coarse_groups(domain[name])
        n_groups = int(groups.max()) + 1
        onehot = np.zeros((shape[axis], n_groups))
        onehot[np.arange(shape[axis]), groups] = 1.0
        pooled = np.moveaxis(np.tensordot(pooled, onehot, axes=([axis], [0])), -1, axis)
        cells = np.moveaxis(np.tensordot(cells, onehot, axes=([axis], [0])), -1, axis)
    return float(np.sum(pooled**2 - sigma**2 * cells))


def independent_estimate(
    clique: Clique, probabilities: Mapping[str, np.ndarray], total: float
) -> np.ndarray:
    """Expected counts over ``clique`` if its attributes were independent."""
    out = np.array(total, dtype=np.float64)
    for name in clique:
        out = np.multiply.outer(out, probabilities[name])
    return out


# -- structure --------------------------------------------------------------------------------
class Structure:
    """Cliques accepted so far and a union-find of the connected parts they form.

    A clique that meets every part it touches inside one accepted clique keeps the model
    decomposable without fill-in (the junction tree just grows a node); pairs between
    different parts (MST's tree edges) always qualify. Any other clique closes a cycle: it is
    accepted only when ``largest_node`` (the cells of the largest junction-tree node of a set
    of cliques) stays within ``max_cells`` for the parts it touches.

    >>> s = Structure(["a", "b", "c", "d"])
    >>> s.add(("a", "b")), s.add(("a", "b", "c")), s.add(("b", "d")), s.add(("c", "d"))
    (True, True, True, False)
    >>> s.add(("c", "d"), largest_node=lambda cliques: 8, max_cells=10)
    True
    """

    def __init__(self, names: Iterable[str]) -> None:
        self.parent = {n: n for n in names}
        self.cliques: list[Clique] = []
        #: the survival (time, event, X) triples accepted (measured on groups of bins when
        #: private: :func:`synthema.synth.anchor.measure_structure`)
        self.triples: list[Clique] = []
        #: cliques the dictionary declares (survival pairs, short rules' columns): measured on
        #: the model's bins even where a triple measured on groups holds them
        self.declared: list[Clique] = []

    def find(self, name: str) -> str:
        root = name
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[name] != root:
            self.parent[name], name = root, self.parent[name]
        return root

    def connected(self, a: str, b: str) -> bool:
        return self.find(a) == self.find(b)

    def can_add(self, clique: Sequence[str]) -> bool:
        """True if ``clique`` keeps the structure decomposable without fill-in."""
        parts: dict[str, set[str]] = {}
        for name in clique:
            parts.setdefault(self.find(name), set()).add(name)
        for members in parts.values():
            if len(members) > 1 and not any(members <= set(c) for c in self.cliques):
                return False
        return True

    def add_triple(
        self, clique: Clique, cells: int, *, largest_node: Callable[[list[Clique]], int],
        max_cells: int,
    ) -> bool:
        """:meth:`add` a survival triple of ``cells`` cells (refused above ``max_cells``) and
        record it in :attr:`triples`."""
        if cells <= max_cells and self.add(clique, largest_node=largest_node,
                                           max_cells=max_cells):
            self.triples.append(tuple(clique))
            return True
        return False

    def add(
        self,
        clique: Sequence[str],
        *,
        largest_node: Callable[[list[Clique]], int] | None = None,
        max_cells: int = 0,
    ) -> bool:
        """Accept ``clique`` if it adds no fill-in, or if the junction tree stays small."""
        clique = tuple(clique)
        if any(set(clique) <= set(c) for c in self.cliques):
            return False
        if not self.can_add(clique):
            if largest_node is None:
                return False
            roots = {self.find(n) for n in clique}
            local = [c for c in self.cliques if self.find(c[0]) in roots] + [clique]
            if largest_node(local) > max_cells:
                return False
        self.cliques = [c for c in self.cliques if not set(c) <= set(clique)] + [clique]
        roots = {self.find(n) for n in clique}
        first = roots.pop()
        for r in roots:
            self.parent[r] = first
        return True


def spanning_edges(scores: Mapping[Clique, float], structure: Structure) -> list[Clique]:
    """Kruskal's maximum spanning forest over positive scores, joining the structure's parts.

    Pairs with a score <= 0 (no evidence of association beyond noise) are never added.
    """
    added = []
    order = sorted(scores, key=lambda c: -scores[c])  # stable: ties keep candidate order
    for clique in order:
        if scores[clique] <= 0:
            break
        a, b = clique
        if not structure.connected(a, b) and structure.add(clique):
            added.append(clique)
    return added


def survival_covariates(
    pair: Sequence[str],
    scores: Mapping[Clique, float],
    *,
    k: int,
    exclude: Iterable[str] = (),
) -> list[str]:
    """The ``k`` attributes most associated with a survival pair (or a target), by noisy score.

    The score of X is the sum of the scores of (a, X) for every attribute a of ``pair`` (time
    and event; or one target alone) among the measured candidates; only positive totals count.

    >>> survival_covariates(("cr",), {("age", "cr"): 5.0, ("cr", "sex"): -1.0}, k=3)
    ['age']
    """
    anchor = set(pair)
    skip = set(exclude) | anchor
    total: dict[str, float] = {}
    for clique, s in scores.items():
        if len(clique) != 2 or not (anchor & set(clique)) or set(clique) <= anchor:
            continue
        other = clique[1] if clique[0] in anchor else clique[0]
        if other not in skip:
            total[other] = total.get(other, 0.0) + s
    ranked = sorted((x for x in total if total[x] > 0), key=lambda x: -total[x])
    return ranked[:k]
