"""Independent marginals: the simplest differentially private baseline.

Every attribute's one-way marginal (its *missing* code included) is measured with the whole
budget, ρ/d each, negative noisy counts are clipped to zero, and columns are drawn
independently. It reproduces each column's distribution and missingness and nothing of the
associations between columns; any synthesizer worth using must beat it on pairwise fidelity.
Rules are still enforced at sampling (:mod:`synthema.synth.constraints`), which here has the
most to repair.
"""

from __future__ import annotations

import numpy as np

from synthema.stats import Measurement
from synthema.synth.base import FitContext
from synthema.synth.bins import is_bins
from synthema.synth.graphical_model import GraphicalModel
from synthema.synth.pgm import PGMSynthesizer, one_way_probabilities, structural_zeros


class IndependentSynthesizer(PGMSynthesizer):
    """Differentially private product of noisy one-way marginals.

    Args:
        dictionary: a :class:`~synthema.schema.Dictionary`, or a built-in name or YAML path.
        epsilon: ε of (ε, δ)-DP (``inf``: exact counts, not private).
        delta: δ of (ε, δ)-DP.
        random_state: seed for default sampling (never the noise, which comes from the OS).
        bins: ``"adaptive"`` (bins chosen from the noisy one-way marginals on the fine grid,
            :mod:`synthema.synth.bins`) or ``"public"`` (the dictionary's bins).
    """

    method = "independent"
    private = True
    label = "differentially private (independent marginals)"
    one_way_share = 1.0
    _parameter_constraints = {"bins": is_bins}

    def __init__(
        self,
        *,
        dictionary,
        epsilon: float = 1.0,
        delta: float = 1e-6,
        random_state: int | None = None,
        bins: str = "adaptive",
    ) -> None:
        super().__init__(
            dictionary=dictionary, epsilon=epsilon, delta=delta, random_state=random_state
        )
        self.bins = bins

    def _fit_from(self, fit: FitContext, ones: list[Measurement]) -> None:
        domain, dictionary = fit.domain, fit.dictionary
        probabilities = one_way_probabilities(ones, domain)
        for (name,), zeros in structural_zeros(domain, dictionary, ones).items():
            p = np.where(np.isinf(zeros), 0.0, probabilities[name])
            if p.sum() == 0:  # only "missing" was seen: fall back to uniform over values
                p = np.isfinite(zeros).astype(np.float64)
            probabilities[name] = p / p.sum()
        self.model_ = GraphicalModel.independent(probabilities)
        self.cliques_ = []
