"""Shared parts of the marginal-based synthesizers (MST, AIM, independent marginals).

Their learned state is a :class:`~synthema.synth.graphical_model.GraphicalModel`; sampling, repair
and persistence work on it the same way. This module also holds the small numerical steps
they share: clipping noisy one-way marginals into distributions, the noisy estimate of the
number of patients, and fitting a model to measurements with mbi.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import ClassVar

import numpy as np

from synthema.schema import Dictionary
from synthema.stats import Domain, Measurement
from synthema.synth.base import BaseSynthesizer, FitContext
from synthema.synth.bins import one_way_step
from synthema.synth.graphical_model import GraphicalModel
from synthema.synth.rule_cells import rule_zeros

_LOG = logging.getLogger(__name__)

#: mbi mirror-descent iterations and early-stopping tolerance of every PGM fit by default
ITERS, TOL = 3000, 2e-3
#: largest junction-tree node (cells) a model's cliques may build, by default
MAX_CLIQUE_CELLS = 50_000


def is_positive_int(value: object) -> bool:
    """Parameter check: an int >= 1 (not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def is_count(value: object) -> bool:
    """Parameter check: an int >= 0 (not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def is_tolerance(value: object) -> bool:
    """Parameter check: a real number >= 0."""
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def is_covariates(value: object) -> bool:
    """Parameter check: ``"auto"``, None, or a sequence of attribute names."""
    if value == "auto" or value is None:
        return True
    return (
        isinstance(value, Sequence)
        and not isinstance(value, str)
        and all(isinstance(v, str) for v in value)
    )


def one_way_probabilities(
    measurements: Sequence[Measurement], domain: Domain
) -> dict[str, np.ndarray]:
    """Each attribute's distribution from its noisy one-way marginal (negatives clipped to 0).

    An attribute whose noisy counts are all <= 0 gets a uniform distribution.
    """
    out = {}
    for m in measurements:
        if len(m.clique) != 1:
            continue
        counts = np.clip(m.noisy_counts.astype(np.float64), 0, None)
        total = counts.sum()
        out[m.clique[0]] = counts / total if total > 0 else np.full(counts.size, 1 / counts.size)
    for name in domain.names:
        out.setdefault(name, np.full(domain[name].size, 1 / domain[name].size))
    return out


def estimated_total(measurements: Sequence[Measurement]) -> float:
    """Inverse-variance weighted mean of the marginals' sums: a noisy number of patients.

    >>> from synthema.stats import Measurement
    >>> estimated_total([Measurement(("a",), np.array([3, 7]), 1.0, 0.5)])
    10.0
    """
    if not measurements:
        raise ValueError("no measurements to estimate the number of patients from")
    exact = [m.total for m in measurements if m.stddev == 0]
    if exact:
        return float(exact[0])
    sums = np.array([m.total for m in measurements], dtype=np.float64)
    var = np.array([m.stddev**2 * m.noisy_counts.size for m in measurements])
    return max(1.0, float(np.average(sums, weights=1 / var)))


def required_zeros(domain: Domain, dictionary: Dictionary) -> dict[tuple[str, ...], np.ndarray]:
    """Structural zeros from the dictionary: a ``required`` variable is never missing.

    Returned as one-way log-potentials (0 everywhere, -inf on the *missing* code), added to a
    fitted model so that it never draws a missing value where the dictionary forbids one.
    """
    out = {}
    for var in dictionary.variables:
        if var.required and var.name in domain:
            attr = domain[var.name]
            table = np.zeros(attr.size)
            table[attr.missing_code] = -np.inf
            out[(var.name,)] = table
    return out


#: How many standard deviations the noisy count of an attribute's *missing* code must exceed
#: for the model to keep missing values in it (see :func:`absent_missing`). At 2, a column
#: with no missing value yields none in about 97.7 % of private fits (the one-sided normal
#: tail), and one whose missing count stands above twice the noise keeps its missingness.
MISSING_Z = 2.0


def missing_estimates(
    domain: Domain, measurements: Sequence[Measurement], *,
    together: Sequence[Sequence[str]] = (),
) -> dict[str, tuple[float, float]]:
    """Each attribute's noisy count of the *missing* code and that count's standard deviation.

    Every measurement whose clique holds the attribute is summed over the other attributes
    (its missing cell then carries ``stddev * sqrt(cells summed)`` of noise) and the sums are
    combined by inverse-variance weights. An exact measurement (``stddev == 0``) decides alone.
    The attributes of each group in ``together`` are missing together (a survival pair's time
    and event: a follow-up is recorded with both), so their sums estimate one count and are
    combined into one estimate for all of them. Post-processing only: no budget.

    >>> from synthema.stats import Measurement
    >>> d = Domain.from_dictionary(Dictionary.from_mapping({"name": "t", "version": "1",
    ...     "variables": [{"name": "a", "type": "categorical", "categories": ["x", "y"]}]}))
    >>> twice = [Measurement(("a",), np.array([50, 49, 3]), 2.0, 0.1),
    ...          Measurement(("a",), np.array([50, 49, 1]), 2.0, 0.1)]
    >>> count, sd = missing_estimates(d, twice)["a"]
    >>> count, round(sd, 4)  # two equal measurements: their mean, with 2 / sqrt(2) of noise
    (2.0, 1.4142)
    >>> d2 = Domain.from_dictionary(Dictionary.from_mapping({"name": "t", "version": "1",
    ...     "variables": [{"name": n, "type": "boolean"} for n in ("a", "b")]}))
    >>> ab = [Measurement(("a",), np.array([50, 40, 9]), 4.0, 0.1),
    ...       Measurement(("b",), np.array([50, 50, -1]), 4.0, 0.1)]
    >>> est = missing_estimates(d2, ab, together=[("a", "b")])
    >>> est["a"] == est["b"], est["a"][0], round(est["a"][1], 4)
    (True, 4.0, 2.8284)
    """
    sums: dict[str, list[tuple[float, float]]] = {}
    for m in measurements:
        groups = m.groups or tuple(tuple(range(domain[a].size)) for a in m.clique)
        shape = tuple(max(g) + 1 for g in groups)
        table = np.reshape(m.noisy_counts.astype(np.float64), shape)
        for axis, name in enumerate(m.clique):
            code = domain[name].missing_code
            if groups[axis].count(groups[axis][code]) > 1:
                continue  # missing shares its group with values: no count of its own
            cells = table.size // shape[axis]
            missing = np.take(table, groups[axis][code], axis=axis).sum()
            sums.setdefault(name, []).append((float(missing), m.stddev * np.sqrt(cells)))
    for group in together:
        names = [n for n in group if n in sums]
        pooled = [pair for n in names for pair in sums[n]]
        for n in names:
            sums[n] = pooled
    out = {}
    for name, pairs in sums.items():
        exact = [v for v, sd in pairs if sd == 0]
        if exact:
            out[name] = (exact[0], 0.0)
            continue
        weights = np.array([1 / sd**2 for _, sd in pairs])
        values = np.array([v for v, _ in pairs])
        out[name] = (float(weights @ values / weights.sum()), float(1 / np.sqrt(weights.sum())))
    return out


def absent_missing(
    domain: Domain, measurements: Sequence[Measurement], *, z: float = MISSING_Z,
    dictionary: Dictionary | None = None,
) -> dict[tuple[str, ...], np.ndarray]:
    """Structural zeros from the noisy answers: no missing values where the data show none.

    An attribute whose combined noisy missing count (:func:`missing_estimates`) is at most
    ``z`` standard deviations gets ``-inf`` on its missing code, so the model does not invent
    missing values out of noise; with exact counts that is exactly the attributes with no
    missing value. Same one-way log-potential form as :func:`required_zeros`. With a
    ``dictionary``, each survival pair's time and event are decided together
    (``missing_estimates(together=...)``).
    """
    out = {}
    pairs = [(p.time, p.event) for p in dictionary.survival] if dictionary is not None else []
    for name, (count, sd) in missing_estimates(domain, measurements, together=pairs).items():
        if count <= z * sd:
            table = np.zeros(domain[name].size)
            table[domain[name].missing_code] = -np.inf
            out[(name,)] = table
    return out


def structural_zeros(
    domain: Domain, dictionary: Dictionary, measurements: Sequence[Measurement]
) -> dict[tuple[str, ...], np.ndarray]:
    """:func:`required_zeros` (the dictionary) and :func:`absent_missing` (the noisy answers,
    each survival pair's time and event decided together)."""
    return {**absent_missing(domain, measurements, dictionary=dictionary),
            **required_zeros(domain, dictionary)}


def add_potentials(
    sizes: dict[str, int],
    potentials: Mapping[tuple[str, ...], np.ndarray],
    extra: Mapping[tuple[str, ...], np.ndarray],
) -> dict[tuple[str, ...], np.ndarray]:
    """``potentials`` with ``extra`` log-potentials added, each into a clique that holds it.

    A one-way table whose attribute no clique holds becomes a clique of its own; any other
    table must lie inside one of ``potentials``' cliques.
    """
    out = {c: np.array(t, dtype=np.float64) for c, t in potentials.items()}
    for clique, table in extra.items():
        home = next((c for c in out if set(clique) <= set(c)), None)
        if home is None:
            if len(clique) > 1:
                raise ValueError(f"no clique of the model holds {clique}")
            out[clique] = np.array(table, dtype=np.float64)
            continue
        order = [clique.index(a) for a in home if a in clique]
        shape = [sizes[a] if a in clique else 1 for a in home]
        out[home] = out[home] + np.reshape(np.transpose(table, order), shape)
    return out


#: Largest junction tree (in cells) :func:`check_rules_possible` builds over the rule cliques.
MAX_CHECK_CELLS = 2_000_000


def check_rules_possible(dictionary: Dictionary, domain: Domain) -> None:
    """Refuse, from the public domain alone, rules that no row can satisfy.

    Runs before a fit measures anything, so a contradictory dictionary costs no privacy
    budget (a federated fit would otherwise spend the sites' budgets first). The rules'
    forbidden cells on the public bins (:func:`synthema.synth.rule_cells.rule_zeros` over
    :func:`synthema.synth.selection.rule_cliques`) and the ``required`` variables' zeros
    form a model with uniform potentials; if it has no mass left, no row is possible (the
    forbidden cells are sound, so no other bins could help). A clique whose cells are all
    forbidden is refused by :func:`rule_zeros` itself; a junction tree over the rule cliques
    above :data:`MAX_CHECK_CELLS` cells is not built (that check is then left out).

    Raises:
        DictionaryError: naming the rules with forbidden cells, when they (with the required
            variables) leave no possible row.
    """
    from synthema.errors import DictionaryError
    from synthema.synth import selection

    cliques = selection.rule_cliques(dictionary, domain, max_cells=MAX_CHECK_CELLS)
    masks = rule_zeros(dictionary, domain, cliques)
    if not masks:
        return
    from synthema.synth import _mbi

    names = [a for a in domain.names if any(a in c for c in masks)]
    part = domain.project(names)
    if _mbi.model_cells(part, list(masks)) > MAX_CHECK_CELLS:
        return
    nodes, edges = _mbi.junction_tree_of(part, list(masks))
    sizes = dict(zip(part.names, part.shape, strict=True))
    tables = {c: np.where(m, -np.inf, 0.0) for c, m in masks.items()}
    required = {c: t for c, t in required_zeros(domain, dictionary).items() if c[0] in sizes}
    with np.errstate(invalid="ignore"):
        model = GraphicalModel(sizes, add_potentials(sizes, tables, required), nodes, edges)
        masses = [model.marginal(node) for node in nodes]  # one per part of a forest
    if not all(np.all(np.isfinite(m)) and m.sum() > 0 for m in masses):
        raise DictionaryError(
            f"dictionary '{dictionary.name}': its rules and required variables together allow "
            f"no row at all (checked over {', '.join(names)})",
            fix="correct the contradicting rules, 'required' flags or min/max bounds")


def fit_model(
    domain: Domain,
    measurements: Sequence[Measurement],
    *,
    iters: int,
    tol: float = 0.0,
    zeros: Mapping[tuple[str, ...], np.ndarray] | None = None,
    forbidden: Mapping[tuple[str, ...], np.ndarray] | None = None,
) -> GraphicalModel:
    """Estimate a graphical model from measurements with mbi and return it as numpy arrays.

    ``zeros`` (see :func:`structural_zeros`) are added after estimation. ``forbidden`` (rule
    cells, :func:`synthema.synth.rule_cells.rule_zeros`; each inside a measured clique) are
    constraints of the estimation itself and then added as ``-inf`` log-potentials.
    """
    from synthema.synth import _mbi  # JAX starts only when a model is estimated

    forbidden = dict(forbidden or {})
    fitted = _mbi.estimate(domain, measurements, iters=iters, tol=tol, forbidden=forbidden)
    nodes, edges = _mbi.junction_tree_of(domain, fitted.cliques)
    sizes = dict(zip(domain.names, domain.shape, strict=True))
    rule_tables = {c: np.where(m, -np.inf, 0.0) for c, m in forbidden.items()}
    # one after the other: a clique with both a rule table and a structural zero keeps both
    potentials = add_potentials(sizes, fitted.potentials, rule_tables)
    potentials = add_potentials(sizes, potentials, zeros or {})
    return GraphicalModel(sizes, potentials, nodes, edges)


def quick_model(
    domain: Domain, measurements: Sequence[Measurement], cliques: Sequence[tuple[str, ...]]
) -> GraphicalModel:
    """A fast model of the measurements (local IPF on the junction tree, no mbi run).

    Each clique's target is the inverse-variance average of its noisy answers, clipped at
    zero and normalised. Used between AIM rounds, where the model only guides selection.
    """
    from synthema.synth import _mbi

    sums: dict[tuple[str, ...], np.ndarray] = {}
    weights: dict[tuple[str, ...], float] = {}
    for m in measurements:
        if m.groups is not None:
            raise ValueError(f"quick_model needs marginals on the model's cells, not on groups "
                             f"({m.clique})")
        counts = np.clip(m.noisy_counts.astype(np.float64), 0, None)
        if counts.sum() <= 0:
            continue
        shape = tuple(domain[a].size for a in m.clique)
        w = 1.0 / max(m.stddev, 1e-6) ** 2
        sums[m.clique] = sums.get(m.clique, 0) + w * (counts / counts.sum()).reshape(shape)
        weights[m.clique] = weights.get(m.clique, 0.0) + w
    targets = {c: sums[c] / weights[c] for c in sums}
    nodes, edges = _mbi.junction_tree_of(domain, list(cliques) + [(a,) for a in domain.names])
    sizes = dict(zip(domain.names, domain.shape, strict=True))
    return GraphicalModel.from_marginals(sizes, nodes, edges, targets)


class PGMSynthesizer(BaseSynthesizer):
    """A synthesizer whose learned state is a graphical model (``model_``).

    Fitted attributes: ``model_`` (:class:`~synthema.synth.graphical_model.GraphicalModel`),
    ``cliques_`` (the marginals measured beyond the one-way ones), ``domain_``,
    ``dictionary_``, ``privacy_spent_``.

    Every fit starts by measuring each attribute's one-way marginal with ``one_way_share`` of
    ρ, on the fine grid when ``bins="adaptive"``, whose noisy counts choose the model's bins
    (:mod:`synthema.synth.bins`), then continues in ``_fit_from(fit, ones)``;
    ``method="auto"`` measures that first step itself and reads the noisy number of patients
    from it before it settles the method (:mod:`synthema.synth.auto`).
    """

    one_way_share: ClassVar[float] = 1.0
    bins: str = "adaptive"  # each subclass takes it as a parameter

    def _fit(self, fit: FitContext) -> Domain:
        check_rules_possible(fit.dictionary, fit.domain)  # before any noisy answer is spent
        fit, ones = one_way_step(fit, rho=fit.budget.rho * self.one_way_share,
                                 label=f"{self.method}: one-way marginals", bins=self.bins)
        self._fit_from(fit, ones)
        return fit.domain

    def _fit_from(self, fit: FitContext, ones: list[Measurement]) -> None:
        """The rest of the fit, given the noisy one-way marginals (``one_way_share`` of ρ)."""
        raise NotImplementedError  # abstract: each synthesizer implements it

    def _rule_zeros(self, domain: Domain, dictionary: Dictionary,
                    measured: Sequence[Measurement]) -> dict[tuple[str, ...], np.ndarray]:
        """The rule cells of the measured cliques the model must give zero probability
        (none when ``rules_in_model`` is False); logged, since sampling repairs the rest."""
        if not getattr(self, "rules_in_model", False):
            return {}
        cliques = list(dict.fromkeys(m.clique for m in measured))
        masks = rule_zeros(dictionary, domain, cliques)
        _LOG.info("rules inside the model: %d forbidden cells in %d of %d measured cliques",
                  sum(int(m.sum()) for m in masks.values()), len(masks), len(cliques))
        return masks

    def _draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self.model_.sample(n, rng=rng)

    def _conditional_logp(self, name: str, codes: np.ndarray) -> np.ndarray:
        return self.model_.conditional_logp(name, codes)

    def _state(self) -> tuple[dict, dict[str, np.ndarray]]:
        meta, arrays = self.model_.to_arrays()
        return {"model": meta, "cliques": [list(c) for c in self.cliques_]}, arrays

    def _set_state(self, meta: dict, arrays: dict[str, np.ndarray]) -> None:
        self.model_ = GraphicalModel.from_arrays(meta["model"], arrays)
        self.cliques_ = [tuple(c) for c in meta["cliques"]]
