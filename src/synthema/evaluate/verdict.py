"""The verdict that opens the report: what the synthetic data are fit for, by stated rules.

A haematologist asks "can I use these rows, and for what?"; a privacy officer asks "may they
leave the site?". Scores do not answer either, so the report starts with a verdict derived
from the metric statuses by three rules (each status already judged against what a second
sample of the same patients shows, so a perfect generator passes):

1. **Not fit** when a basic check fails (:data:`BASIC`: marginals, impossible values, rule
   violations: the rows do not even look like the dictionary's patients) or a privacy check
   fails (:data:`PRIVACY`: the rows sit closer to, copy or give away training patients).
2. **Fit for method development** when the basic and privacy checks hold but an analytic
   check fails or could not be computed (:data:`ANALYTIC`: joint distributions, models
   trained on them, survival, hazard ratios, association signs, risk-group order, outcome
   rates): code and pipelines can be built on the rows, conclusions cannot be drawn from them.
3. **Fit for exploratory analysis** when every basic, privacy and analytic check passes or
   only warns: findings may be explored on the rows and must be confirmed on the real data.

The discriminator, pMSE and log-rank test (:data:`INFORMATIVE`) detect any difference at
all, however small for analysis, so they are reported but decide nothing. Whether the rows
may be released is said apart: privacy checks not computed (no holdout), or a generator that
is NOT PRIVATE (ε = ∞ or a non-private baseline), rule a release out whatever the level.

Every failing or warning metric comes with one sentence on what it means and one on what to
try (:data:`ADVICE`).

>>> v = verdict_of({"metrics": {"column_distance": {"status": "pass"},
...                             "dcr_share": {"status": "fail", "value": 0.9}}})
>>> v.level, v.failing[0]["name"]
('not_fit', 'dcr_share')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

LEVELS = ("exploratory", "method_development", "not_fit")
HEADLINES = {
    "exploratory": "Fit for exploratory analysis",
    "method_development": "Fit for method development only",
    "not_fit": "Not fit for use",
}

BASIC = ("column_distance", "impossible_values", "rule_violations")
PRIVACY = ("dcr_share", "nndr_risk", "membership_inference_auroc", "singling_out_risk",
           "linkability_risk", "inference_risk", "real_duplicates")
ANALYTIC = ("wasserstein", "pairwise_tvd", "correlation_difference", "kway_tvd",
            "classification_auroc_gap", "cindex_gap", "km_distance", "km_risk_group_distance",
            "hazard_ratios", "association_sign_flips", "risk_group_order", "outcome_rates",
            "outside_real_range")
INFORMATIVE = ("discriminator_auroc", "propensity_mse", "logrank_p")

#: per metric: (what a failure means, what to try), one sentence each
ADVICE: dict[str, tuple[str, str]] = {
    "column_distance": (
        "Single variables are distributed differently from the real data, beyond sampling "
        "noise.",
        "Look at the marginals below; spend more budget (larger ε) or check the dictionary's "
        "bins for the worst columns."),
    "wasserstein": (
        "Numeric values are shifted or spread differently from the real ones.",
        "Check the numeric marginals below; finer bins or a larger ε help marginal methods."),
    "pairwise_tvd": (
        "Pairs of variables co-occur differently than in the real data.",
        "Let the generator measure more pairs (AIM instead of MST, or a larger ε); the worst "
        "pairs are listed below."),
    "correlation_difference": (
        "Associations between variables are weaker, stronger or reversed compared with the "
        "real data.",
        "Check the heatmap and the most changed pairs; measure those pairs explicitly or "
        "raise ε."),
    "kway_tvd": (
        "Combinations of three variables are distributed differently from the real data.",
        "Higher-order structure needs budget: raise ε or reduce the number of variables."),
    "discriminator_auroc": (
        "A classifier tells synthetic from real rows; it detects any difference, even small "
        "ones.",
        "Informative only: read it with the fidelity checks; DP data are usually detectable."),
    "propensity_mse": (
        "A classifier's propensities separate synthetic from real rows.",
        "Informative only: read it with the discriminator's AUROC."),
    "classification_auroc_gap": (
        "A model trained on synthetic rows predicts the outcome on real patients worse than one "
        "trained on real rows.",
        "Do not fit prediction models on these rows; the generator needs the outcome's "
        "associations (a larger ε, or cliques with the target)."),
    "cindex_gap": (
        "A Cox model fitted on synthetic rows ranks real patients' survival worse than one "
        "fitted on real rows.",
        "Do not draw prognostic conclusions from these rows; measure (time, event, covariate) "
        "marginals or raise ε."),
    "km_distance": (
        "Survival curves of synthetic and real patients differ beyond sampling noise.",
        "Compare the curves below; survival times need fine bins and budget."),
    "km_risk_group_distance": (
        "Within risk groups the synthetic survival differs from the real survival.",
        "The link between covariates and survival is lost; measure cliques with the survival "
        "time and event."),
    "logrank_p": (
        "The log-rank test finds the synthetic survival different from the real one.",
        "Informative only: with thousands of rows tiny differences are significant; read the "
        "KM distance."),
    "dcr_share": (
        "Synthetic rows sit closer to training patients than to unseen patients: the generator "
        "memorised patients.",
        "Do not release; fit with differential privacy (finite ε) or a smaller ε."),
    "nndr_risk": (
        "Too many synthetic rows have one training patient much closer than any other.",
        "Do not release; fit with differential privacy or a smaller ε."),
    "membership_inference_auroc": (
        "An attacker can tell training patients from others by their distance to synthetic "
        "rows.",
        "Do not release; fit with differential privacy or a smaller ε."),
    "singling_out_risk": (
        "Predicates built from synthetic rows single out training patients more often than "
        "unseen ones.",
        "Do not release; fit with differential privacy or a smaller ε."),
    "linkability_risk": (
        "Synthetic rows link two halves of training patients' records more often than for "
        "unseen patients.",
        "Do not release; fit with differential privacy or a smaller ε."),
    "inference_risk": (
        "Synthetic rows reveal a training patient's secret (an outcome) better than an unseen "
        "patient's.",
        "Do not release; fit with differential privacy or a smaller ε."),
    "rule_violations": (
        "Synthetic rows break clinical rules of the dictionary (or leave out what the rules "
        "need).",
        "Sample again with rule enforcement, or check the rules listed below."),
    "impossible_values": (
        "Synthetic rows hold values no patient can have (outside bounds, unknown categories, "
        "required values missing).",
        "Check the generator's output format and the dictionary version."),
    "real_duplicates": (
        "Synthetic rows copy training patients more often than a second real sample would.",
        "Do not release; fit with differential privacy or a smaller ε."),
    "outside_real_range": (
        "Synthetic rows hold values beyond anything seen in the real data (within the "
        "dictionary's bounds): implausible patients, not a leak.",
        "Check the columns listed; tighter dictionary bounds or finer bins help."),
    "outcome_rates": (
        "Outcome rates (events, responses, missing outcomes) differ from the real data.",
        "Measure the outcomes' one-way marginals with more budget; check missing outcomes."),
    "hazard_ratios": (
        "Cox hazard ratios fitted on synthetic rows disagree with the real ones (or change "
        "direction).",
        "Do not report hazard ratios from these rows; measure cliques with the survival pair "
        "and the strongest covariates."),
    "association_sign_flips": (
        "A strong association of the real data is reversed in the synthetic data.",
        "Do not interpret associations from these rows; measure the flipped pairs explicitly "
        "or raise ε."),
    "risk_group_order": (
        "Patients the real model puts at low risk do not outlive high-risk patients in the "
        "synthetic data.",
        "Do not use these rows for prognostic work; the covariate–survival link is lost."),
}


@dataclass(frozen=True)
class Verdict:
    """What the data are fit for (``level``, one of :data:`LEVELS`), why, and what to do."""

    level: str
    headline: str
    reasons: tuple[str, ...]
    release: str
    releasable: bool
    failing: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    warning: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    not_computed: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (for ``report.json``)."""
        return {"level": self.level, "headline": self.headline, "reasons": list(self.reasons),
                "release": self.release, "releasable": self.releasable,
                "failing": list(self.failing), "warning": list(self.warning),
                "not_computed": list(self.not_computed), "rules": list(self.rules)}


RULES = (
    "Not fit: a basic check (column distributions, impossible values, rule violations) or a "
    "privacy check fails.",
    "Method development only: an analytic check (joint distributions, models trained on the "
    "rows, survival, hazard ratios, association signs, risk-group order, outcome rates) fails "
    "or could not be computed.",
    "Exploratory analysis: every basic, privacy and analytic check passes or warns.",
    "The discriminator, pMSE and log-rank test decide nothing (they detect any difference).",
)


def _item(name: str, m: dict[str, Any]) -> dict[str, Any]:
    meaning, advice = ADVICE.get(name, ("", ""))
    return {"name": name, "status": m.get("status"), "value": m.get("value"),
            "unit": m.get("unit", ""), "meaning": meaning, "advice": advice}


def _with(metrics: dict[str, Any], names: tuple[str, ...], status: str) -> list[str]:
    return [n for n in names if metrics.get(n, {}).get("status") == status]


def _release(generator: dict[str, Any] | None, privacy_fail: list[str],
             privacy_missing: list[str]) -> tuple[str, bool]:
    if generator is not None and not generator.get("private", False):
        return ("NOT PRIVATE: the generator adds no differential-privacy noise (ε = ∞ or a "
                "non-private method); keep these rows where the real data are.", False)
    if privacy_fail:
        return (f"Do not release: {', '.join(privacy_fail)} fail(s).", False)
    if privacy_missing:
        return (f"Privacy not fully assessed ({', '.join(privacy_missing)} not computed: "
                "give --holdout); do not release on this report.", False)
    if generator is None:
        return ("No privacy attack beats its control, but how the rows were made is not "
                "known (give --model): a release needs the model's privacy guarantee too.",
                False)
    return ("No privacy attack beats its control, and the generator is differentially "
            "private: a release can be considered under the site's policy.", True)


def verdict_of(report: dict[str, Any]) -> Verdict:
    """The verdict of a ``report.to_dict()`` result (see the module docstring)."""
    metrics = report.get("metrics", {})
    generator = report.get("meta", {}).get("generator")
    fail = {n for n, m in metrics.items() if m.get("status") == "fail"}
    missing = tuple(n for n, m in metrics.items() if m.get("status") == "error")
    basic_fail, privacy_fail = _with(metrics, BASIC, "fail"), _with(metrics, PRIVACY, "fail")
    analytic_fail = _with(metrics, ANALYTIC, "fail")
    analytic_missing = [n for n in (*BASIC, *ANALYTIC) if n in missing]
    reasons: list[str] = []
    if basic_fail or privacy_fail:
        level = "not_fit"
        if basic_fail:
            reasons.append(f"basic checks fail: {', '.join(basic_fail)}")
        if privacy_fail:
            reasons.append(f"privacy checks fail: {', '.join(privacy_fail)}")
    elif analytic_fail or analytic_missing:
        level = "method_development"
        if analytic_fail:
            reasons.append(f"analytic checks fail: {', '.join(analytic_fail)}")
        if analytic_missing:
            reasons.append(f"not computed: {', '.join(analytic_missing)}")
    else:
        level = "exploratory"
        reasons.append("every basic, privacy and analytic check passes or only warns; confirm "
                       "findings on the real data")
    release, releasable = _release(generator, privacy_fail,
                                   [n for n in PRIVACY if n in missing])
    ordered = [n for n in (*BASIC, *PRIVACY, *ANALYTIC, *INFORMATIVE) if n in metrics]
    return Verdict(level, HEADLINES[level], tuple(reasons), release, releasable,
                   tuple(_item(n, metrics[n]) for n in ordered if n in fail),
                   tuple(_item(n, metrics[n]) for n in ordered
                         if metrics[n].get("status") == "warn"),
                   missing, RULES)
