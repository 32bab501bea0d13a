"""Independent marginals: the simplest differentially private baseline.

Every attribute's one-way marginal (its *missing* code included) is measured with the whole
budget, ρ/d each, negative noisy counts are clipped to zero, and columns are drawn
independently. It reproduces each column's distribution and missingness and nothing of the
associations between columns; any synthesizer worth using must beat it on pairwise fidelity.
Rules are still enforced at sampling (:mod:`synthema.synth.constraints`), which here has the
most to repair.

With ``survival_anchor=True`` (what ``auto`` fits when it settles on independent marginals for
a dictionary with survival pairs) half of ρ goes to the one-way marginals and half to each
survival pair: the pair itself on the model's bins (so the Kaplan-Meier curve comes from the
joint of time and event, not from two independent columns) and its association with every
covariate on coarse groups of bins (:mod:`synthema.synth.anchor`: the declared covariates,
then the others in the dictionary's order, at most eight); the model is then fitted with mbi
like MST's. Everything else stays independent.
"""

from __future__ import annotations

import numpy as np

from synthema.stats import Measurement
from synthema.synth import anchor, selection
from synthema.synth.base import FitContext
from synthema.synth.bins import is_bins
from synthema.synth.graphical_model import GraphicalModel
from synthema.synth.pgm import (
    ITERS,
    MAX_CLIQUE_CELLS,
    TOL,
    PGMSynthesizer,
    fit_model,
    one_way_probabilities,
    structural_zeros,
)
from synthema.synth.rule_cells import rule_zeros

#: share of ρ the one-way marginals get when the survival anchor takes the rest
ANCHOR_ONE_WAY_SHARE = 0.5


class IndependentSynthesizer(PGMSynthesizer):
    """Differentially private product of noisy one-way marginals.

    Args:
        dictionary: a :class:`~synthema.schema.Dictionary`, or a built-in name or YAML path.
        epsilon: ε of (ε, δ)-DP (``inf``: exact counts, not private).
        delta: δ of (ε, δ)-DP.
        random_state: seed for default sampling (never the noise, which comes from the OS).
        bins: ``"adaptive"`` (bins chosen from the noisy one-way marginals on the fine grid,
            :mod:`synthema.synth.bins`) or ``"public"`` (the dictionary's bins).
        survival_anchor: also model each survival pair and its association with every
            covariate (see the module); no effect without survival pairs.
    """

    method = "independent"
    private = True
    _parameter_constraints = {"bins": is_bins,
                              "survival_anchor": lambda v: isinstance(v, bool)}

    def __init__(
        self,
        *,
        dictionary,
        epsilon: float = 1.0,
        delta: float = 1e-6,
        random_state: int | None = None,
        bins: str = "adaptive",
        survival_anchor: bool = False,
    ) -> None:
        super().__init__(
            dictionary=dictionary, epsilon=epsilon, delta=delta, random_state=random_state
        )
        self.bins = bins
        self.survival_anchor = survival_anchor

    @property
    def one_way_share(self) -> float:  # type: ignore[override]
        """All of ρ, or :data:`ANCHOR_ONE_WAY_SHARE` of it with the survival anchor."""
        return ANCHOR_ONE_WAY_SHARE if self.survival_anchor else 1.0

    @property
    def label(self) -> str:  # type: ignore[override]
        return ("differentially private (independent marginals, survival anchored)"
                if self.survival_anchor else "differentially private (independent marginals)")

    def _fit_from(self, fit: FitContext, ones: list[Measurement]) -> None:
        domain, dictionary = fit.domain, fit.dictionary
        if self.survival_anchor and selection.survival_columns(dictionary, domain):
            self._fit_anchored(fit, ones)
            return
        probabilities = one_way_probabilities(ones, domain)
        for (name,), zeros in structural_zeros(domain, dictionary, ones).items():
            p = np.where(np.isinf(zeros), 0.0, probabilities[name])
            if p.sum() == 0:  # only "missing" was seen: fall back to uniform over values
                p = np.isfinite(zeros).astype(np.float64)
            probabilities[name] = p / p.sum()
        self.model_ = GraphicalModel.independent(probabilities)
        self.cliques_ = []

    def _fit_anchored(self, fit: FitContext, ones: list[Measurement]) -> None:
        """One-way marginals, each survival pair, and its (time, event, X) triples on groups,
        measured with what is left of ρ (equal noise for every marginal), fitted with mbi."""
        source, domain, dictionary, budget, _ = fit
        from synthema.synth import _mbi  # JAX starts only when a model is estimated

        def largest(cliques):
            return _mbi.largest_node(domain, cliques)

        structure = selection.Structure(domain.names)
        pairs = selection.survival_columns(dictionary, domain)
        for time, event in pairs:
            structure.add((time, event))
        structure.declared += pairs
        for time, event in pairs:
            for x in anchor.covariates(dictionary, domain, time):
                clique = (time, event, x)
                structure.add_triple(clique, domain.size(clique), largest_node=largest,
                                     max_cells=MAX_CLIQUE_CELLS)
        measured = anchor.measure_structure(
            budget, source, domain, structure, one_way_probabilities(ones, domain),
            rho=budget.remaining, label="independent", fine="survival marginals")
        cliques = list(dict.fromkeys(m.clique for m in measured))
        self.model_ = fit_model(
            domain, ones + measured, iters=ITERS, tol=TOL,
            zeros=structural_zeros(domain, dictionary, ones + measured),
            forbidden=rule_zeros(dictionary, domain, cliques))
        self.cliques_ = list(structure.cliques)
