"""The explicit metric registry: name -> metric class, in report order, grouped.

Adding a metric is one line here (and a row in ``docs/evaluate.md``); nothing is discovered
through ``__subclasses__``.

>>> list(REGISTRY)[:3]
['column_distance', 'wasserstein', 'pairwise_tvd']
>>> sorted({m.group for m in REGISTRY.values()})
['clinical', 'fidelity', 'privacy', 'utility']
"""

from __future__ import annotations

from synthema.errors import ParameterError
from synthema.evaluate import anonymeter, clinical, distance, fidelity, utility
from synthema.evaluate.metric import GROUPS, Metric

REGISTRY: dict[str, type[Metric]] = {
    m.name: m
    for m in (
        fidelity.ColumnDistance,
        fidelity.Wasserstein,
        fidelity.PairwiseTVD,
        fidelity.CorrelationDifference,
        fidelity.KWayTVD,
        fidelity.DiscriminatorAUROC,
        fidelity.PropensityMSE,
        utility.ClassificationGap,
        utility.CIndexGap,
        utility.KMDistance,
        utility.KMRiskGroupDistance,
        utility.LogRankP,
        distance.DCRShare,
        distance.NNDRRisk,
        distance.MembershipInference,
        anonymeter.SinglingOutRisk,
        anonymeter.LinkabilityRisk,
        anonymeter.InferenceRisk,
        clinical.RuleViolations,
        clinical.ImpossibleValues,
        clinical.RealDuplicates,
    )
}


def metrics_of(group: str) -> dict[str, type[Metric]]:
    """The registered metrics of one group, in report order."""
    if group not in GROUPS:
        raise ParameterError(f"unknown metric group {group!r}; use one of {', '.join(GROUPS)}",
                             fix=f"use one of {', '.join(GROUPS)}")
    return {n: m for n, m in REGISTRY.items() if m.group == group}
