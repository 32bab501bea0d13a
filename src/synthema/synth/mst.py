"""MST: noisy one-way marginals plus a maximum spanning tree of noisy two-way marginals.

McKenna, Miklau, Sheldon, "Winning the NIST Contest: A scalable and general approach to
differentially private synthetic data", JPC 2021 (reference code: Private-PGM
``mechanisms/mst.py``). The budget ρ = cdp_rho(ε, δ) is split in three equal parts:

1. **one-way**: every attribute's marginal (its *missing* code included), ρ/3;
2. **selection**: candidate pairs are measured *through the source* with ρ/3 and scored on the
   server by how far each noisy pair is from the product of the noisy one-way estimates
   (:func:`~synthema.synth.selection.fit_error`); Kruskal's algorithm then builds the maximum
   spanning tree on those scores. The reference scores exact pairs and privatises each tree
   edge with the exponential mechanism; synthema never lets selection see exact data (the same
   code must run on a federation, where nobody has them), and choosing from noisy answers is
   free post-processing, so the tree is the deterministic best one on the noisy scores;
3. **measurement**: the selected cliques, ρ/3. The selection answers are not fitted as well:
   the tree's edges were chosen *because* their noisy answers looked dependent, so those
   answers overstate dependence (tried: no gain in 2-way TVD on 10k AML rows at ε = 1, 0.066
   against 0.062 over three fits each, for 5 s and 0.15 GB more).

Before the tree, the structure is seeded with what the dictionary declares (public, no budget):
each survival pair (time, event) and the columns of every short rule (at most 3 columns); then
each survival pair is joined with covariates into (time, event, X) triples —
``survival_covariates`` names them, or ``"auto"`` takes those the dictionary declares for the
pair (``covariates:``, public knowledge) and adds the ``n_covariates`` others most associated
with the pair by the noisy selection scores — and each declared target T
(``targets:``) with the ``n_covariates`` attributes most associated with it, as (T, X) pairs.
The tree connects these parts; a clique that would close a cycle is kept only while the
junction tree's largest node stays within ``max_clique_cells``.
The model is fitted with mbi (:mod:`synthema.synth._mbi`); ``required`` variables are never
missing in it (a structural zero).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from synthema.schema import Dictionary
from synthema.stats import Domain, Measurement
from synthema.synth import anchor, selection
from synthema.synth.base import FitContext
from synthema.synth.bins import is_bins
from synthema.synth.pgm import (
    ITERS,
    MAX_CLIQUE_CELLS,
    TOL,
    PGMSynthesizer,
    estimated_total,
    fit_model,
    is_count,
    is_covariates,
    is_positive_int,
    is_tolerance,
    one_way_probabilities,
    structural_zeros,
)

_LOG = logging.getLogger(__name__)


def public_structure(
    domain: Domain,
    dictionary: Dictionary,
    scores: dict,
    *,
    covariates: str | Sequence[str] | None,
    n_covariates: int,
    max_clique_cells: int,
) -> selection.Structure:
    """Cliques fixed before the data-driven tree: survival pairs, short rules, survival
    triples, target pairs.

    ``"auto"`` covariates are the attributes most associated with the pair by noisy score,
    outside the survival time's own dictionary group (for AML the *outcome* group: competing
    outcomes such as remission or relapse are tied to survival by rules and the tree, while
    KM curves by risk group need the baseline covariates), the survival columns and the
    targets. Each target gets its ``n_covariates`` most associated attributes the same way
    (outside its own group; one already joined to it, e.g. by a rule, takes no place),
    whatever ``covariates`` says: a classifier of the target trained on synthetic rows needs
    them.
    """
    from synthema.synth import _mbi  # JAX starts only when a model is estimated

    def largest(cliques: list[tuple[str, ...]]) -> int:
        return _mbi.largest_node(domain, cliques)

    structure = selection.Structure(domain.names)
    pairs = selection.survival_columns(dictionary, domain)
    for time, event in pairs:
        structure.add((time, event))
    structure.declared += pairs
    for clique in selection.rule_cliques(dictionary, domain, max_cells=max_clique_cells):
        structure.add(clique, largest_node=largest, max_cells=max_clique_cells)
        structure.declared.append(clique)
    for time, event in pairs:
        if covariates == "auto":
            declared = selection.declared_covariates(dictionary, domain, time)
            exclude = selection.outcome_exclusions(time, dictionary, domain) | set(declared)
            chosen = declared + selection.survival_covariates(
                (time, event), scores, k=n_covariates, exclude=exclude
            )
        else:
            chosen = [c for c in (covariates or ()) if c in domain]
        for x in chosen:
            clique = (time, event, x)
            structure.add_triple(clique, domain.size(clique), largest_node=largest,
                                 max_cells=max_clique_cells)
    for target in selection.target_columns(dictionary, domain):
        exclude = selection.outcome_exclusions(target, dictionary, domain)
        ranked = selection.survival_covariates((target,), scores, k=len(domain),
                                               exclude=exclude)
        added = 0
        for x in ranked:  # a covariate a rule already joins to the target takes no slot
            if added >= n_covariates:
                break
            clique = tuple(sorted((target, x), key=domain.names.index))
            added += structure.add(clique, largest_node=largest, max_cells=max_clique_cells)
    return structure


class MSTSynthesizer(PGMSynthesizer):
    """Differentially private MST synthesizer over the dictionary's public domain.

    Args:
        dictionary: a :class:`~synthema.schema.Dictionary`, or a built-in name or YAML path.
        epsilon: ε of (ε, δ)-DP (``inf``: exact counts, not private).
        delta: δ of (ε, δ)-DP.
        random_state: seed for candidate choice and default sampling (never the noise).
        bins: ``"adaptive"`` (the model's bins chosen from the noisy one-way marginals on the
            fine grid, :mod:`synthema.synth.bins`) or ``"public"`` (the dictionary's bins).
        iters: most mbi mirror-descent iterations.
        tol: stop the estimation early once the loss improves by less than this (relative)
            per block of 50 iterations (noisy fits plateau long before ``iters``).
        max_candidates: most candidate pairs measured for selection.
        survival_covariates: attributes joined with every survival (time, event) pair as
            (time, event, X) cliques; ``"auto"`` picks ``n_covariates`` per pair from the noisy
            selection scores; ``None`` or ``()`` adds none.
        n_covariates: how many covariates ``"auto"`` picks per survival pair, and how many
            are joined with each declared target as (target, X) pairs (0: none).
        max_clique_cells: largest clique (in cells) the public structure may add.
        rules_in_model: the dictionary's rules as structural zeros of the model (cells that
            break a rule clause inside a measured clique get zero probability,
            :mod:`synthema.synth.rule_cells`); False leaves them all to sampling-time repair.
    """

    method = "mst"
    private = True
    label = "differentially private (MST)"
    one_way_share = 1 / 3
    _parameter_constraints = {
        "bins": is_bins,
        "iters": is_positive_int,
        "tol": is_tolerance,
        "max_candidates": is_positive_int,
        "survival_covariates": is_covariates,
        "n_covariates": is_count,
        "max_clique_cells": is_positive_int,
        "rules_in_model": lambda v: isinstance(v, bool),
    }

    def __init__(
        self,
        *,
        dictionary,
        epsilon: float = 1.0,
        delta: float = 1e-6,
        random_state: int | None = None,
        bins: str = "adaptive",
        iters: int = ITERS,
        tol: float = TOL,
        max_candidates: int = 1000,
        survival_covariates: str | Sequence[str] | None = "auto",
        n_covariates: int = 3,
        max_clique_cells: int = MAX_CLIQUE_CELLS,
        rules_in_model: bool = True,
    ) -> None:
        super().__init__(
            dictionary=dictionary, epsilon=epsilon, delta=delta, random_state=random_state
        )
        self.bins = bins
        self.iters = iters
        self.tol = tol
        self.max_candidates = max_candidates
        self.survival_covariates = survival_covariates
        self.n_covariates = n_covariates
        self.max_clique_cells = max_clique_cells
        self.rules_in_model = rules_in_model

    def _fit_from(self, fit: FitContext, ones: list[Measurement]) -> None:
        source, domain, dictionary, budget, rng = fit
        share = budget.rho / 3
        names = domain.names
        probabilities = one_way_probabilities(ones, domain)
        total = estimated_total(ones)
        structure, _ = self.select(fit, probabilities, total)
        cliques = list(structure.cliques)
        _LOG.info("MST selected %d cliques", len(cliques))
        measured = anchor.measure_structure(budget, source, domain, structure, probabilities,
                                            rho=share, label="mst", fine="selected marginals")
        self.model_ = fit_model(
            domain,
            ones + measured,
            iters=self.iters,
            tol=self.tol,
            zeros=structural_zeros(domain, dictionary, ones + measured),
            forbidden=self._rule_zeros(domain, dictionary, measured),
        )
        self.cliques_ = cliques
        _LOG.info("MST modelled %d cliques over %d attributes", len(cliques), len(names))

    def select(
        self, fit: FitContext, probabilities: dict[str, np.ndarray], total: float
    ) -> tuple[selection.Structure, dict]:
        """Measure candidate pairs with a third of ρ and build the structure from the answers."""
        source, domain, dictionary, budget, rng = fit
        candidates = selection.candidate_pairs(
            domain, dictionary, max_candidates=self.max_candidates, rng=rng,
            missing=selection.missing_shares(probabilities, domain),
        )
        answers = budget.measure(
            source,
            candidates,
            sigma=budget.sigma(budget.rho / 3, len(candidates)) if candidates else 0.0,
            label=f"mst: selection over {len(candidates)} candidate pairs",
        )
        _LOG.info("MST measured %d candidate pairs", len(answers))
        scores = {
            m.clique: selection.fit_error(
                m, selection.independent_estimate(m.clique, probabilities, total), domain
            )
            for m in answers
        }
        structure = public_structure(
            domain,
            dictionary,
            scores,
            covariates=self.survival_covariates,
            n_covariates=self.n_covariates,
            max_clique_cells=self.max_clique_cells,
        )
        selection.spanning_edges(scores, structure)
        return structure, scores
