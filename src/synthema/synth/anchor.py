"""The survival anchor: each survival pair's association with its covariates, on coarse groups.

A Cox model trained on synthetic rows ranks patients by the covariates' association with
(time, event). A (time, event, X) marginal on the model's bins has hundreds of cells (16 time
bins × event × 16 bins of X) for a few hundred to a few thousand patients, so at ε = 1 its
noise (a standard deviation of 20-50 per cell for the budget one clique gets) buries the
association: the triple says little more than independence, and the C-index of a model
trained on the synthetic rows falls to about 0.5 whatever the real one is (docs/benchmarks.md,
"Peers").

The anchor counts the same patients into a few groups instead: time and each numeric
covariate into :data:`GROUPS` groups of consecutive bins of about equal noisy mass (chosen
from the noisy one-way marginals: post-processing), the event and categories as they are,
*missing* always a group of its own. Each cell then holds tens of patients for the same
noise, which is the comparison Cox regression needs (more events among the old than among the
young, early rather than late). The source counts records into those groups before adding
noise (a regrouping of the fine grid, :class:`~synthema.stats.regroup.Regrouping`, so it works
centrally and federated alike) and each marginal has sensitivity 1, as any other. mbi fits the
model to the group sums through a :class:`~synthema.synth._mbi.GroupedQuery`: inside a group,
the model's distribution follows the other measurements (the one-way marginals, and the
survival pair itself, which is measured on the model's bins).

Used by MST for its (time, event, X) triples, and by independent marginals when ``auto``
settles on them for too few patients (``survival_anchor``). ε = ∞ and the dictionary's public
bins measure triples on the model's bins as before.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np

from synthema.schema import Dictionary
from synthema.stats import Attribute, Clique, Domain, Measurement
from synthema.stats.regroup import Regrouping, equal_mass_starts, refine, refines
from synthema.synth import selection
from synthema.synth.bins import RegroupedSource

#: groups per numeric attribute of an anchored triple (time and numeric covariates)
GROUPS = 3


def applies(fit_source: object, private: bool) -> bool:
    """Whether a fit measures its triples on groups: private, on adaptive (regrouped) bins."""
    return private and isinstance(fit_source, RegroupedSource)


def code_groups(attr: Attribute, probabilities: np.ndarray, *,
                groups: int = GROUPS) -> tuple[int, ...]:
    """The group of each of ``attr``'s codes: up to ``groups`` runs of consecutive values of
    about equal mass under ``probabilities`` (noisy one-way estimates), *missing* last and
    alone. Attributes a source cannot regroup (categories, dates) keep one group per code.

    >>> from synthema.schema import VariableType
    >>> a = Attribute("t", VariableType.INTEGER, "Int64", edges=(0, 1, 2, 3, 4, 5, 6),
    ...               low=0, high=5, decimals=0)
    >>> code_groups(a, np.array([.3, .3, .1, .1, .1, .1, 0]))
    (0, 0, 1, 2, 2, 2, 3)
    """
    values = attr.n_values
    if not refines(attr) or values <= groups:
        return tuple(range(attr.size))
    p = np.clip(np.asarray(probabilities, dtype=float)[:values], 0, None)
    if not p.sum() > 0:
        p = np.ones(values)
    starts = equal_mass_starts(p, groups)
    out = np.searchsorted(np.asarray(starts), np.arange(values), side="right") - 1
    return (*(int(g) for g in out), len(starts))


def regrouping_for(source: RegroupedSource, groups: Mapping[str, Sequence[int]]) -> Regrouping:
    """The fine-grid regrouping that counts ``groups`` of the model's codes.

    Attributes in ``groups`` start a coarse bin where their group changes (on the fine grid:
    where the model's bin of that code starts); every other attribute keeps the model's bins.
    """
    model = dict(source.regrouping.starts)
    fine = refine(source.source.domain)
    out = dict(model)
    for name, g in groups.items():
        if not refines(fine[name]):
            continue
        values = fine[name].n_values if name not in model else len(model[name])
        firsts = [i for i in range(values) if i == 0 or g[i] != g[i - 1]]
        out[name] = tuple(model[name][i] for i in firsts) if name in model else tuple(firsts)
    return Regrouping(out)


def measure(budget, source: RegroupedSource, cliques: Sequence[Clique],
            groups: Mapping[str, tuple[int, ...]], *, sigma: float,
            label: str) -> list[Measurement]:
    """Noisy marginals of ``cliques`` on ``groups`` of the model's codes, charged to ``budget``.

    Each answer carries its ``groups`` (:class:`~synthema.stats.Measurement`), so the model is
    fitted to it through a grouped query.
    """
    if not cliques:
        return []
    coarse = RegroupedSource(source.source, regrouping_for(source, groups))
    answers = budget.measure(coarse, cliques, sigma=sigma, label=label)
    domain = source.domain
    return [dataclasses.replace(m, groups=tuple(
        groups.get(a, tuple(range(domain[a].size))) for a in m.clique)) for m in answers]


def triple_groups(domain: Domain, probabilities: Mapping[str, np.ndarray],
                  cliques: Sequence[Clique]) -> dict[str, tuple[int, ...]]:
    """:func:`code_groups` of every attribute of ``cliques``."""
    names = {a for c in cliques for a in c}
    return {n: code_groups(domain[n], probabilities[n]) for n in domain.names if n in names}


def measure_structure(budget, source, domain: Domain, structure: selection.Structure,
                      probabilities: Mapping[str, np.ndarray], *, rho: float, label: str,
                      fine: str) -> list[Measurement]:
    """Measure a structure's cliques with ``rho``, one noise scale for all.

    Its survival triples go on groups of bins where the fit allows it (:func:`applies`; groups
    from ``probabilities``, the noisy one-way estimates), every other clique on the model's
    bins, and so does each clique the dictionary declares (``structure.declared``: survival
    pairs, short rules' columns) that a grouped triple holds, so the Kaplan-Meier curve and
    the rules keep the model's resolution. ``label`` and ``fine`` name the batches.
    """
    grouped = [c for c in structure.triples if c in structure.cliques] if applies(
        source, budget.private) else []
    cells = [c for c in structure.cliques if c not in grouped]
    for part in structure.declared:
        if any(set(part) <= set(c) for c in grouped) and not any(
                set(part) <= set(c) for c in cells):
            cells.append(part)
    if not cells and not grouped:
        return []
    sigma = budget.sigma(rho, len(cells) + len(grouped))
    measured = budget.measure(source, cells, sigma=sigma, label=f"{label}: {len(cells)} {fine}")
    return measured + measure(
        budget, source, grouped, triple_groups(domain, probabilities, grouped), sigma=sigma,
        label=f"{label}: {len(grouped)} survival triples on groups of bins")


#: most covariates an anchor of independent marginals holds per survival pair: each triple
#: shares the budget, and the cohorts where the anchor helps have 3 to 7 (docs/benchmarks.md)
MAX_COVARIATES = 8


def covariates(dictionary: Dictionary, domain: Domain, time: str, *,
               limit: int = MAX_COVARIATES) -> list[str]:
    """The attributes a survival time's anchor holds, at most ``limit``: the covariates the
    dictionary declares for the pair, then the others in the dictionary's order, outside the
    time's group, the survival columns and the targets
    (:func:`synthema.synth.selection.outcome_exclusions`). Independent marginals have no noisy
    pair answers to choose by; a wide dictionary with few patients keeps the first ``limit``.
    """
    exclude = selection.outcome_exclusions(time, dictionary, domain)
    declared = selection.declared_covariates(dictionary, domain, time)
    others = [n for n in domain.names if n not in exclude and n not in declared]
    return (declared + others)[:limit]
