"""Which variables an outcome model may use: baseline covariates only, each exclusion explained.

A model of survival or response fed a variable that is defined by the outcome, or that is only
known after follow-up starts, predicts the outcome from its definition (``relapse_days`` is
missing exactly when there is no relapse; it alone gives RFS a C-index of 0.88) or suffers
immortal-time bias (a transplant can only happen to a patient alive long enough). The
dictionary says which variables are outcomes, and its rules say what is tied to them:

1. **Declared outcomes**: every survival time and event, every target (``--target`` or the
   dictionary's ``targets:``) and every variable in a group named ``outcome``/``outcomes``.
2. **Tied by a rule**: a rule that mentions a declared outcome ties all of its columns to it
   (``cr == (induction_response in [...])``).
3. **Tied further**, from a column found in 1 or 2 to the next, only by what marks a
   post-baseline variable: a presence rule (``hsct => hsct_days is not missing``) or a time
   ordering between durations (``hsct_days <= followup_days``).

Other rules do not propagate beyond the first step: "gene therapy excludes a transplant" ties
the therapy to the transplant, but the therapy is chosen at baseline, and following every rule
transitively took age, genotype and HbF out of the sickle-cell survival model (all 24 of its
covariates were reached through that one rule). Dates are left out too: calendar time is not a
patient covariate. Variables a dictionary does not tie to an outcome are kept; a post-baseline
variable without such a rule (a transplant flag with no date) must be put in the ``outcome``
group to be left out.

>>> from synthema.schema import Dictionary
>>> d = Dictionary.from_mapping({"name": "x", "version": 1, "variables": [
...     {"name": "age", "type": "integer", "min": 0, "max": 99},
...     {"name": "hsct", "type": "boolean"},
...     {"name": "hsct_days", "type": "duration", "min": 0, "max": 9999},
...     {"name": "os_days", "type": "duration", "min": 0, "max": 9999},
...     {"name": "died", "type": "boolean"}],
...     "survival": [{"time": "os_days", "event": "died"}],
...     "rules": [{"name": "t", "expr": "hsct_days <= os_days"},
...               {"name": "p", "expr": "hsct => hsct_days is not missing"},
...               {"name": "a", "expr": "age < 18 => not hsct"}]})
>>> names, why = baseline_covariates(d)
>>> names, sorted(why)
(['age'], ['died', 'hsct', 'hsct_days', 'os_days'])
>>> why["hsct"]
"presence tied to 'hsct_days' by rule p"
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from synthema.schema import Dictionary, VariableType

#: groups whose variables are outcomes by declaration
OUTCOME_GROUPS = frozenset({"outcome", "outcomes"})
_PRESENCE = re.compile(r"\bis\s+(not\s+)?missing\b")
_ORDER = re.compile(r"[<>]")


def declared_outcomes(dictionary: Dictionary, targets: Iterable[str] = ()) -> dict[str, str]:
    """Outcome variables and why each is one (survival pair, target, outcome group)."""
    out: dict[str, str] = {}
    for pair in dictionary.survival:
        what = pair.label or pair.event
        out.setdefault(pair.time, f"survival time of {what}")
        out.setdefault(pair.event, f"survival event of {what}")
    for name in targets:
        if name in dictionary:
            out.setdefault(name, "target")
    for var in dictionary.variables:
        if var.group.strip().lower() in OUTCOME_GROUPS:
            out.setdefault(var.name, f"in group '{var.group}'")
    return out


def _is_order(expr: str) -> bool:
    return bool(_ORDER.search(expr.replace("=>", " ")))


def _tie(rule, inside: Sequence[str], new: Sequence[str], seeds: Mapping[str, str],
         dictionary: Dictionary) -> tuple[list[str], str] | None:
    """The columns ``rule`` ties to the outcome set, and how (None: it ties none)."""
    anchor = next((c for c in inside if c in seeds), None)
    if anchor is not None:
        return list(new), f"shares rule {rule.name} with '{anchor}'"
    if _PRESENCE.search(rule.expr):
        return list(new), f"presence tied to '{inside[0]}' by rule {rule.name}"
    durations = [c for c in inside if dictionary[c].type is VariableType.DURATION]
    later = [c for c in new if dictionary[c].type is VariableType.DURATION]
    if durations and later and _is_order(rule.expr):
        return later, f"time-ordered against '{durations[0]}' by rule {rule.name}"
    return None


def outcome_closure(dictionary: Dictionary, seeds: Mapping[str, str]) -> dict[str, str]:
    """``seeds`` and every variable tied to them (see the module docstring), with reasons."""
    out = dict(seeds)
    changed = True
    while changed:
        changed = False
        for rule in dictionary.rules:
            inside = [c for c in rule.columns if c in out]
            new = [c for c in rule.columns if c not in out and c in dictionary]
            if not inside or not new:
                continue
            tied = _tie(rule, inside, new, seeds, dictionary)
            if tied is None:
                continue
            for name in tied[0]:
                out[name] = tied[1]
                changed = True
    return out


def baseline_covariates(dictionary: Dictionary, targets: Iterable[str] = ()
                        ) -> tuple[list[str], dict[str, str]]:
    """(covariates in dictionary order, {left-out variable: why}) for every outcome model."""
    why = outcome_closure(dictionary, declared_outcomes(dictionary, targets))
    for var in dictionary.variables:
        if var.type is VariableType.DATE:
            why.setdefault(var.name, "a date: calendar time is not a patient covariate")
    names = [v.name for v in dictionary.variables if v.name not in why]
    return names, {v.name: why[v.name] for v in dictionary.variables if v.name in why}
