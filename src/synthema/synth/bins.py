"""The first step of a graphical-model fit: one-way marginals, and the model's bins.

With ``bins="adaptive"`` (the default of MST, AIM and independent marginals) every attribute's
one-way marginal is measured on the fine public grid (:func:`synthema.stats.regroup.refine`),
at the same cost as on the public bins (one marginal each, sensitivity 1). The model's bins are
then chosen from those noisy counts (:func:`synthema.stats.regroup.choose`, post-processing),
the one-way answers are summed into them, and the rest of the fit asks its source for marginals
on those bins (:class:`RegroupedSource`); values are drawn inside a bin from the fine grid's
noisy weights. ``bins="public"`` keeps the dictionary's bins, as does a source that cannot
count on a regrouped grid (a third-party :class:`~synthema.stats.StatisticsSource`).
"""

from __future__ import annotations

import inspect
import logging
import math
from collections.abc import Sequence

import numpy as np

from synthema.stats import Clique, Domain, Measurement, StatisticsSource
from synthema.stats.regroup import Regrouping, choose, coarse_one_way, domain_of, refine
from synthema.synth.base import FitContext

_LOG = logging.getLogger(__name__)

BINS = ("adaptive", "public")
#: share of each refined attribute's one-way ρ spent on its fine-grid marginal (the bins'
#: choice); the rest measures it again on the chosen bins, and the two answers are pooled
FINE_SHARE = 0.25


def is_bins(value: object) -> bool:
    """A valid ``bins`` parameter."""
    return value in BINS


class RegroupedSource:
    """A source's answers on its regrouped fine grid: what a fit asks once it chose its bins.

    Args:
        source: a source whose ``measure`` takes ``regrouping`` (:func:`regroups`).
        regrouping: the bins, on ``refine(source.domain)``.
    """

    def __init__(self, source: StatisticsSource, regrouping: Regrouping) -> None:
        self.source = source
        self.regrouping = regrouping
        self._domain = domain_of(source.domain, regrouping)

    def __repr__(self) -> str:
        return f"RegroupedSource({self.source!r})"

    @property
    def domain(self) -> Domain:
        """The regrouped domain (without within-bin weights)."""
        return self._domain

    def measure(self, cliques: Sequence[Clique], *, sigma: float) -> list[Measurement]:
        """Noisy marginals on the regrouped grid (see the source's ``measure``)."""
        return self.source.measure(cliques, sigma=sigma, regrouping=self.regrouping)


def regroups(source: StatisticsSource) -> bool:
    """Whether ``source.measure`` can count on a regrouped fine grid."""
    try:
        return "regrouping" in inspect.signature(source.measure).parameters
    except (TypeError, ValueError):
        return False


def pooled(first: Measurement, second: Measurement) -> Measurement:
    """Two noisy answers to one marginal as one: their inverse-variance mean, rounded.

    As precise as a single answer that cost both (1/σ² = 1/σ₁² + 1/σ₂²), plus the rounding
    (variance 1/12 per cell, counted in ``stddev``); post-processing, so it costs nothing more.

    >>> import numpy as np
    >>> a = Measurement(("x",), np.array([10, 30]), stddev=2.0, rho_spent=0.125)
    >>> b = Measurement(("x",), np.array([14, 26]), stddev=2.0, rho_spent=0.125)
    >>> m = pooled(a, b)
    >>> m.noisy_counts.tolist(), round(m.stddev ** 2, 4), m.rho_spent
    ([12, 28], 2.0833, 0.25)
    """
    if first.clique != second.clique:
        raise ValueError(f"cannot pool {first.clique} with {second.clique}")
    w1, w2 = first.stddev ** -2, second.stddev ** -2
    mean = (w1 * first.noisy_counts + w2 * second.noisy_counts) / (w1 + w2)
    return Measurement(first.clique, np.rint(mean).astype(np.int64),
                       stddev=math.sqrt(1 / (w1 + w2) + 1 / 12),
                       rho_spent=first.rho_spent + second.rho_spent)


def one_way_step(
    fit: FitContext, *, rho: float, label: str, bins: str = "adaptive"
) -> tuple[FitContext, list[Measurement]]:
    """Measure every attribute's one-way marginal with ``rho``; choose the bins if adaptive.

    Adaptive (see the module): each refined attribute's one-way marginal on the fine grid
    costs :data:`FINE_SHARE` of its part of ``rho``; the bins are chosen from those answers;
    then every one-way marginal is measured on the chosen bins with the rest, and a refined
    attribute's two answers are pooled (:func:`pooled`). At ε = ∞ (exact counts) the fine
    answer alone gives the chosen bins' counts.

    Returns:
        ``(fit, ones)``: the context the rest of the fit works in (source and domain on the
        chosen bins; the domain carries the within-bin weights) and the one-way marginals on
        those bins, in the domain's order.
    """
    budget, names = fit.budget, fit.domain.names
    public = fit.source.domain
    fine = refine(public)
    refined = [n for n in names if fine[n].n_values > public[n].n_values]
    if bins != "adaptive" or not refined or not regroups(fit.source):
        return fit, budget.measure_one_way(fit.source, names, rho=rho, label=label)
    share = FINE_SHARE if budget.private else 1.0
    view = RegroupedSource(fit.source, Regrouping({}))
    first = budget.measure_one_way(view, refined, rho=rho * share * len(refined) / len(names),
                                   label=f"{label}: fine grid, to choose the bins")
    regrouping, weights = choose(first, public, fit.dictionary)
    source = RegroupedSource(fit.source, regrouping)
    domain = regrouping.apply(fine, weights).project(names)
    _LOG.info("adaptive bins for %d attribute(s) from their noisy fine one-way marginals",
              len(regrouping.starts))
    summed = {m.clique: coarse_one_way(m, regrouping, fine) for m in first}
    if budget.private:
        rest = budget.measure_one_way(source, names, rho=rho - sum(m.rho_spent for m in first),
                                      label=f"{label}: on the chosen bins")
        ones = [pooled(m, summed[m.clique]) if m.clique in summed else m for m in rest]
    else:
        others = [n for n in names if n not in refined]
        rest = {m.clique: m for m in budget.measure_one_way(source, others, rho=rho,
                                                             label=label)} if others else {}
        ones = [summed.get((n,)) or rest[(n,)] for n in names]
    return fit._replace(source=source, domain=domain), ones
