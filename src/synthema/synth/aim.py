"""AIM: adaptive, workload-aware selection of marginals, in a few bounded rounds.

McKenna, Mullins, Sheldon, Miklau, "AIM: An Adaptive and Iterative Mechanism for
Differentially Private Synthetic Data", VLDB 2022 (reference code: Private-PGM
``mechanisms/aim.py``). AIM starts from the one-way marginals and repeatedly measures the
workload marginal the current model fits worst, refitting after each measurement.

synthema keeps the idea and changes three things, all documented in ``docs/synthesizers.md``:

- **noisy answers only**: the workload (candidate pairs, plus (time, event, X) triples for each
  survival pair) is measured once, through the source, with a fifth of ρ. Each round scores
  every unmeasured candidate by the bias-corrected squared distance between its noisy answer
  and the current model (:func:`~synthema.synth.selection.fit_error`). Choosing from private
  answers is post-processing, so the worst-fit candidates are taken directly (no exponential
  mechanism, no further cost);
- **few rounds, quick refits, one mbi fit**: an mbi fit compiles a new XLA program for every
  model structure (about 20 s for the 146-attribute AML dictionary on two cores), so AIM runs
  ``rounds`` rounds (default 3), measures a batch of cliques in each, refits between rounds
  with a fast local estimate (iterative proportional fitting in each junction-tree node,
  :func:`~synthema.synth.pgm.quick_model`; it only guides selection) and fits the final model
  with mbi once, on every measurement;
- **bounded model**: a clique is added only while the largest junction-tree node stays within
  ``max_clique_cells`` cells.

Budget: one-way marginals ρ/5, workload answers ρ/5, and the remaining 3ρ/5 split over the
rounds; a round that finds nothing worth measuring passes its share on, and the last round
spends whatever is left (so a fit spends exactly ρ(ε, δ)). Round one also measures the
dictionary's public structure (survival pairs and the columns of short rules), for each
survival pair the (time, event, X) triples that fit worst, and for each declared target
(``targets:``) the (target, X) pairs that fit worst, as MST does; when the workload cannot
hold every pair, those with a target come right after those with a survival time.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np

from synthema.schema import Dictionary
from synthema.stats import Domain, Measurement
from synthema.synth import selection
from synthema.synth.base import FitContext
from synthema.synth.bins import is_bins
from synthema.synth.graphical_model import GraphicalModel
from synthema.synth.pgm import (
    ITERS,
    TOL,
    PGMSynthesizer,
    estimated_total,
    fit_model,
    is_count,
    is_covariates,
    is_positive_int,
    is_tolerance,
    one_way_probabilities,
    quick_model,
    structural_zeros,
)

_LOG = logging.getLogger(__name__)

MONTE_CARLO_ROWS = 20_000
MAX_CYCLE_CHECKS = 8


def survival_triples(
    domain: Domain, dictionary: Dictionary, *, max_cells: int, limit: int
) -> list[tuple[str, ...]]:
    """(time, event, X) workload cliques for each survival pair, X outside the time's group."""
    out: list[tuple[str, ...]] = []
    pairs = selection.survival_columns(dictionary, domain)
    survival_names = {c for p in pairs for c in p}
    for time, event in pairs:
        group = dictionary[time].group
        for x in domain.names:
            if x in survival_names or (group and dictionary[x].group == group):
                continue
            clique = (time, event, x)
            if domain.size(clique) <= max_cells and len(out) < limit:
                out.append(clique)
    return out


class AIMSynthesizer(PGMSynthesizer):
    """Differentially private AIM-style synthesizer (adaptive rounds, noisy selection).

    Args:
        dictionary: a :class:`~synthema.schema.Dictionary`, or a built-in name or YAML path.
        epsilon: ε of (ε, δ)-DP (``inf``: exact counts, not private).
        delta: δ of (ε, δ)-DP.
        random_state: seed for candidate choice and default sampling (never the noise).
        bins: ``"adaptive"`` (the model's bins chosen from the noisy one-way marginals on the
            fine grid, :mod:`synthema.synth.bins`) or ``"public"`` (the dictionary's bins).
        rounds: selection rounds; between rounds the model is refitted quickly (local IPF on
            the junction tree), after the last one by mbi on every measurement.
        cliques_per_round: cliques selected per round; ``"auto"`` spreads about one clique
            per attribute not yet linked by the public structure over the rounds.
        iters: most mirror-descent iterations of the final fit.
        tol: early-stopping tolerance of the estimation (see :class:`MSTSynthesizer`).
        max_candidates: most workload marginals measured for selection.
        max_clique_cells: largest junction-tree node (cells) the model may grow.
        survival_covariates: attributes joined with each survival pair as (time, event, X)
            cliques in round one; ``"auto"`` takes the ``n_covariates`` worst-fit triples of
            the workload; ``None`` or ``()`` leaves them to the adaptive rounds.
        n_covariates: how many triples ``"auto"`` takes per survival pair, and how many
            (target, X) pairs round one takes per declared target (0: none).
        rules_in_model: the dictionary's rules as structural zeros of the model (see
            :class:`MSTSynthesizer`).
    """

    method = "aim"
    private = True
    label = "differentially private (AIM)"
    one_way_share = 1 / 5
    _parameter_constraints = {
        "bins": is_bins,
        "rounds": is_positive_int,
        "cliques_per_round": lambda v: v == "auto" or is_positive_int(v),
        "iters": is_positive_int,
        "tol": is_tolerance,
        "max_candidates": is_positive_int,
        "max_clique_cells": is_positive_int,
        "survival_covariates": is_covariates,
        "n_covariates": is_count,
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
        rounds: int = 3,
        cliques_per_round: int | str = "auto",
        iters: int = ITERS,
        tol: float = TOL,
        max_candidates: int = 1000,
        max_clique_cells: int = 20_000,
        survival_covariates: str | Sequence[str] | None = "auto",
        n_covariates: int = 3,
        rules_in_model: bool = True,
    ) -> None:
        super().__init__(
            dictionary=dictionary, epsilon=epsilon, delta=delta, random_state=random_state
        )
        self.bins = bins
        self.rounds = rounds
        self.cliques_per_round = cliques_per_round
        self.iters = iters
        self.tol = tol
        self.max_candidates = max_candidates
        self.max_clique_cells = max_clique_cells
        self.rules_in_model = rules_in_model
        self.survival_covariates = survival_covariates
        self.n_covariates = n_covariates

    def _fit_from(self, fit: FitContext, ones: list[Measurement]) -> None:
        source, domain, dictionary, budget, rng = fit
        from synthema.synth import _mbi  # JAX starts only when a model is estimated

        names = domain.names
        rho = budget.rho
        probabilities = one_way_probabilities(ones, domain)
        total = estimated_total(ones)
        triples = survival_triples(
            domain, dictionary, max_cells=self.max_clique_cells, limit=self.max_candidates // 2
        )
        pairs = selection.candidate_pairs(
            domain, dictionary, max_candidates=self.max_candidates - len(triples), rng=rng,
            missing=selection.missing_shares(probabilities, domain),
        )
        workload = triples + pairs
        answers = budget.measure(
            source,
            workload,
            sigma=budget.sigma(rho / 5, len(workload)) if workload else 0.0,
            label=f"aim: {len(workload)} workload marginals",
        )

        def largest(cliques: list[tuple[str, ...]]) -> int:
            return _mbi.largest_node(domain, cliques)

        structure = selection.Structure(names)
        seeds = [(t, e) for t, e in selection.survival_columns(dictionary, domain)]
        seeds += selection.rule_cliques(dictionary, domain, max_cells=self.max_clique_cells)
        for clique in seeds:
            structure.add(clique, largest_node=largest, max_cells=self.max_clique_cells)
        if self.cliques_per_round == "auto":
            # the edges a spanning tree still needs to join the seeded parts, plus an eighth
            # of the attributes for cliques that close cycles or join triples
            parts = len({structure.find(a) for a in names})
            wanted = parts - 1 + math.ceil(len(names) / 8)
            per_round = max(1, math.ceil(wanted / self.rounds))
        else:
            per_round = self.cliques_per_round
        measured: list[Measurement] = []
        model: GraphicalModel | None = None
        pending = list(structure.cliques)
        for r in range(self.rounds):
            last = r == self.rounds - 1
            errors = self._errors(answers, model, probabilities, total, domain, rng)
            if r == 0:
                pending += self._survival_cliques(errors, structure, dictionary, domain, largest)
                pending += self._target_cliques(errors, structure, dictionary, domain, largest)
            chosen = self._choose(errors, structure, per_round, largest)
            cliques = pending + chosen
            pending = []
            if last and not cliques and measured:
                # nothing new fits the model: the budget left re-measures the last round's
                # cliques (mbi pools repeated answers), so it is spent, not left unused
                cliques = list(dict.fromkeys(m.clique for m in measured[-per_round:]))
            if cliques:
                share = budget.remaining if last else budget.remaining / (self.rounds - r)
                measured += budget.measure(
                    source,
                    cliques,
                    sigma=budget.sigma(share, len(cliques)),
                    label=f"aim: round {r + 1}, {len(cliques)} marginals",
                )
            _LOG.info("AIM round %d: measured %d cliques", r + 1, len(cliques))
            if not last:
                model = quick_model(domain, ones + measured, [m.clique for m in measured])
        self.model_ = fit_model(
            domain,
            ones + measured,
            iters=self.iters,
            tol=self.tol,
            zeros=structural_zeros(domain, dictionary, ones + measured),
            forbidden=self._rule_zeros(domain, dictionary, measured),
        )
        self.cliques_ = [m.clique for m in measured]

    @staticmethod
    def _errors(
        answers: list[Measurement],
        model: GraphicalModel | None,
        probabilities: dict[str, np.ndarray],
        total: float,
        domain: Domain,
        rng: np.random.Generator,
    ) -> dict[tuple[str, ...], float]:
        """Fit error of every workload answer under the current model (independent at first)."""
        codes = None
        out = {}
        for m in answers:
            if model is None:
                estimate = selection.independent_estimate(m.clique, probabilities, total)
            else:
                try:
                    estimate = total * model.marginal(m.clique)
                except ValueError:  # not inside one node: estimate from model samples
                    if codes is None:
                        codes = model.sample(MONTE_CARLO_ROWS, rng=rng)
                    axes = domain.axes(m.clique)
                    shape = [domain.shape[a] for a in axes]
                    flat = np.ravel_multi_index(tuple(codes[:, a] for a in axes), shape)
                    counts = np.bincount(flat, minlength=int(np.prod(shape)))
                    estimate = total * counts / MONTE_CARLO_ROWS
            out[m.clique] = selection.fit_error(m, estimate, domain)
        return out

    def _survival_cliques(self, errors, structure, dictionary, domain, largest):
        """Round one's (time, event, X) triples: named, or the declared ones and the
        ``n_covariates`` worst-fit others."""
        added = []
        for time, event in selection.survival_columns(dictionary, domain):
            if self.survival_covariates == "auto":  # declared covariates first
                declared = [(time, event, x)
                            for x in selection.declared_covariates(dictionary, domain, time)]
                triples = [c for c in errors if len(c) == 3 and c[:2] == (time, event)
                           and c not in declared]
                ranked = sorted((c for c in triples if errors[c] > 0), key=lambda c: -errors[c])
                chosen = declared + ranked[: self.n_covariates]
            else:
                chosen = [(time, event, x) for x in self.survival_covariates or () if x in domain]
            for clique in chosen:
                if structure.add(clique, largest_node=largest, max_cells=self.max_clique_cells):
                    added.append(clique)
        return added

    def _target_cliques(self, errors, structure, dictionary, domain, largest):
        """Round one's (target, X) pairs: the worst-fit ``n_covariates`` per declared target,
        X outside the target's group, the survival columns and the other targets."""
        added = []
        for target in selection.target_columns(dictionary, domain):
            skip = selection.outcome_exclusions(target, dictionary, domain)
            pairs = [c for c in errors if len(c) == 2 and target in c
                     and not set(c) & (skip - {target}) and errors[c] > 0]
            taken = 0
            for clique in sorted(pairs, key=lambda c: -errors[c]):
                if taken >= self.n_covariates:
                    break
                if structure.add(clique, largest_node=largest, max_cells=self.max_clique_cells):
                    added.append(clique)
                    taken += 1
        return added

    def _choose(
        self,
        errors: dict[tuple[str, ...], float],
        structure: selection.Structure,
        per_round: int,
        largest,
    ) -> list[tuple[str, ...]]:
        """The worst-fit candidates (positive error) the bounded structure can take.

        Cliques that close a cycle need a junction-tree check; at most
        :data:`MAX_CYCLE_CHECKS` are made per round, which bounds the time a round takes.
        """
        chosen: list[tuple[str, ...]] = []
        checks = 0

        def checked(cliques: list[tuple[str, ...]]) -> int:
            nonlocal checks
            checks += 1
            return largest(cliques)

        for clique in sorted(errors, key=lambda c: -errors[c]):
            if len(chosen) >= per_round or errors[clique] <= 0:
                break
            check = checked if checks < MAX_CYCLE_CHECKS else None
            if structure.add(clique, largest_node=check, max_cells=self.max_clique_cells):
                chosen.append(clique)
        return chosen
