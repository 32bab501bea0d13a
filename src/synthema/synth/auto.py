"""``method="auto"``: MST, AIM or independent marginals, chosen without looking at exact data.

Two steps, both on what is public or already released:

1. **the plan** (:func:`choose_method`), before any data is read: from the dictionary (number
   of attributes, cells of the public domain), ε and the method parameters given, MST or AIM
   (or independent marginals for a one-attribute dictionary);
2. **the settlement** (:func:`settle`), after the plan's own first measurement, every
   attribute's noisy one-way marginal: their inverse-variance total is a noisy number of
   patients n̂, already released, so reading it costs nothing (post-processing). When
   n̂ · ε < :data:`LOW_SIGNAL` the fit switches to independent marginals and spends the rest of
   ρ on the one-way marginals again (pooled with the first answers by inverse variance, as
   precise as independent's own single measurement with all of ρ): with so few patients for
   the budget, noisy pairs add more error than the associations they carry. Otherwise the
   planned method continues from those answers, exactly as if it had been named.

The true number of patients is never used. The non-private Gaussian copula is never chosen,
nor the DP-VAE (at 1,500 AML patients and ε = 1 it does not beat MST: docs/benchmarks.md,
"Neural synthesizer"). The rule, its thresholds and the measurements behind them are in
docs/synthesizers.md ("Choosing a method") and docs/benchmarks.md ("Which method");
``benchmarks/methods.py`` re-measures them. The choice and its one-sentence reason
(:class:`MethodChoice`) are kept with the fitted model, saved in the model file and printed by
the command line. A federated fit runs the same code (the noisy total is the sum the sites
released); its plan is known, and printed, before any site is contacted.

>>> from synthema.schema import load_dictionary
>>> choose_method(load_dictionary("aml"), epsilon=1.0).method
'mst'
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from synthema.errors import ParameterError
from synthema.schema import Dictionary, load_dictionary
from synthema.stats import Domain
from synthema.synth import selection
from synthema.synth.aim import AIMSynthesizer
from synthema.synth.base import BaseSynthesizer, FitContext
from synthema.synth.bins import one_way_step, pooled
from synthema.synth.independent import ANCHOR_ONE_WAY_SHARE, IndependentSynthesizer
from synthema.synth.mst import MSTSynthesizer
from synthema.synth.pgm import PGMSynthesizer, check_rules_possible, estimated_total

AUTO = "auto"
#: what the reason adds when independent marginals keep the survival anchor
ANCHOR_REASON = (", except each survival pair and its association with every covariate on "
                 "coarse groups (the survival anchor, half of the rest of rho)")
#: the methods ``auto`` chooses from (all differentially private, all federated)
CANDIDATES: dict[str, type[PGMSynthesizer]] = {
    "mst": MSTSynthesizer, "aim": AIMSynthesizer, "independent": IndependentSynthesizer}
_WHERE = "docs/benchmarks.md, 'Which method'"

#: a dictionary with at most this many attributes is "small": the benchmark measured 6 to 10
#: (small) and 29 to 146 (large) attributes; the limit lies between
SMALL = 16
#: from this ε on (ε = ∞ included), the plan is AIM on small dictionaries: it ranked best at
#: ε = 4 and ∞, not at ε = 1; the limit lies between
AIM_MIN_EPSILON = 2.0
#: below this noisy number of patients × ε the fit settles on independent marginals: in the
#: benchmark independent ranked best at n · ε up to 640 and MST or AIM from 1,204 on
LOW_SIGNAL = 1000.0


@dataclass(frozen=True)
class MethodChoice:
    """What ``method="auto"`` chose, why, and the facts it looked at.

    Args:
        method: the method chosen (``mst``, ``aim`` or ``independent``).
        reason: one sentence a user can read, naming the facts and the evidence.
        attributes: variables of the dictionary (each one attribute of the model).
        cells: codes of all attributes together (the public domain, *missing* included).
        epsilon: the ε of the fit (``inf``: no noise).
        patients: the noisy number of patients the settlement read (None in a plan, and when
            nothing was settled: a named parameter, one attribute, or ε = ∞).

    >>> c = MethodChoice("mst", "because", attributes=3, cells=12, epsilon=1.0)
    >>> MethodChoice.from_json(c.to_json()) == c
    True
    """

    method: str
    reason: str
    attributes: int
    cells: int
    epsilon: float
    patients: float | None = None

    def to_json(self) -> dict[str, Any]:
        """Strict-JSON form (ε ``inf`` as the string ``"inf"``), saved in the model file."""
        out = asdict(self)
        out["requested"] = AUTO
        out["epsilon"] = "inf" if math.isinf(self.epsilon) else self.epsilon
        return out

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> MethodChoice:
        """Inverse of :meth:`to_json`."""
        eps, patients = raw["epsilon"], raw.get("patients")
        return cls(method=str(raw["method"]), reason=str(raw["reason"]),
                   attributes=int(raw["attributes"]), cells=int(raw["cells"]),
                   epsilon=math.inf if eps == "inf" else float(eps),
                   patients=None if patients is None else float(patients))

    @property
    def line(self) -> str:
        """``--method auto chose mst: <reason>``: what the command line prints."""
        return f"--method auto chose {self.method}: {self.reason}"

    @property
    def plan_line(self) -> str:
        """What the command line prints of a plan, before any data is read."""
        later = "" if self.method == "independent" or math.isinf(self.epsilon) else (
            f"; independent marginals instead if the noisy number of patients × ε is below "
            f"{LOW_SIGNAL:g} (settled after the one-way marginals)")
        return f"--method auto plans {self.method}: {self.reason}{later}"


def allowed_methods(params: Iterable[str]) -> list[str]:
    """The candidates that take every method parameter in ``params``.

    Raises:
        ParameterError: none does.
    """
    given = set(params) - {"dictionary", "epsilon", "delta", "random_state"}
    allowed = [m for m, cls in CANDIDATES.items() if given <= set(cls._get_param_names())]
    if not allowed:
        raise ParameterError(
            f"method 'auto' chooses among {', '.join(CANDIDATES)}, and none of them takes "
            f"{', '.join(sorted(given))}",
            fix="name the method whose parameters you give, e.g. --method aim",
        )
    return allowed


def choose_method(
    dictionary: Dictionary, *, epsilon: float, params: Iterable[str] = ()
) -> MethodChoice:
    """The plan of ``auto``, from public facts only (see the module docstring).

    Rules, in order:

    1. a method parameter given rules out the methods that do not take it (``rounds``: AIM
       only; ``iters``: MST or AIM);
    2. fewer than two attributes: independent marginals (there is no association to model);
    3. a small dictionary (at most :data:`SMALL` attributes) at ε ≥ :data:`AIM_MIN_EPSILON`
       (ε = ∞ included): AIM;
    4. otherwise MST.

    :func:`settle` may still turn an MST or AIM plan into independent marginals once the
    noisy number of patients is known.

    Raises:
        ParameterError: the parameters given fit none of MST, AIM and independent.
    """
    params = list(params)
    allowed = allowed_methods(params)
    given = sorted(set(params) - {"dictionary", "epsilon", "delta", "random_state"})
    names = dictionary.names
    facts = {"attributes": len(names), "cells": int(sum(Domain.from_dictionary(dictionary).shape)),
             "epsilon": float(epsilon)}

    def choice(method: str, reason: str) -> MethodChoice:
        return MethodChoice(method, reason, **facts)

    if len(allowed) == 1:
        return choice(allowed[0], f"only {allowed[0]} takes the parameter(s) given "
                      f"({', '.join(given)})")
    d, eps = len(names), float(epsilon)
    if d < 2 and "independent" in allowed:
        return choice("independent", f"the dictionary has {d} attribute: there is no "
                      "association between attributes to model")
    method, reason = _plan(d, eps)
    if method not in allowed:
        method = "mst" if "mst" in allowed else allowed[0]
        reason = f"{reason.split(':')[0]}, but the parameters given rule that method out"
    return choice(method, reason)


def _plan(d: int, eps: float) -> tuple[str, str]:
    """Rules 3 and 4 of :func:`choose_method`: (method, reason)."""
    if d > SMALL:
        return "mst", (f"{d} attributes (more than {SMALL}): MST ranked best or tied on "
                       f"dictionaries of this size with enough patients ({_WHERE})")
    if eps >= AIM_MIN_EPSILON:
        return "aim", (f"{d} attributes (at most {SMALL}) and ε = {eps:g} (at least "
                       f"{AIM_MIN_EPSILON:g}): AIM's adaptive rounds ranked best or tied on "
                       f"small dictionaries when the noise is low ({_WHERE})")
    return "mst", (f"{d} attributes and ε = {eps:g} (below {AIM_MIN_EPSILON:g}): MST ranked "
                   f"best or tied more often than AIM at this size and ε ({_WHERE})")


def settle(plan: MethodChoice, *, patients: float, allowed: Iterable[str]) -> MethodChoice:
    """The method fitted after all: the plan, or independent marginals when the noisy number
    of patients × ε is below :data:`LOW_SIGNAL` (and independent takes the parameters given).

    >>> plan = MethodChoice("mst", "plan", attributes=9, cells=70, epsilon=1.0)
    >>> settle(plan, patients=420.4, allowed=["mst", "independent"]).method
    'independent'
    >>> settle(plan, patients=2400.0, allowed=["mst", "independent"]).method
    'mst'
    """
    signal = patients * plan.epsilon
    if signal < LOW_SIGNAL and "independent" in allowed:
        return dataclasses.replace(plan, method="independent", patients=patients, reason=(
            f"about {patients:.0f} patients (a noisy count) × ε = {plan.epsilon:g} is "
            f"{signal:.0f}, below {LOW_SIGNAL:g}: too few patients for this budget to "
            "measure associations, so independent marginals, which ranked best there "
            f"({_WHERE}); they keep no association between columns"))
    return dataclasses.replace(plan, patients=patients, reason=(
        f"{plan.reason}; about {patients:.0f} patients (a noisy count) × ε = "
        f"{plan.epsilon:g} is at least {LOW_SIGNAL:g}"))


class AutoSynthesizer(BaseSynthesizer):
    """MST, AIM or independent marginals, chosen by the plan and the settlement above.

    Args:
        dictionary, epsilon, delta, random_state: as for every synthesizer.
        options: the chosen method's own parameters (e.g. ``{"iters": 1000}``); each rules out
            the candidates that do not take it.

    Before ``fit``, :meth:`plan` says what is planned and ``method`` is ``"auto"``. After it,
    ``method``, ``label``, ``method_choice`` (a :class:`MethodChoice`) and every fitted
    attribute (``model_``, ``cliques_``) are those of the synthesizer fitted (``chosen_``);
    ``save`` writes that synthesizer, with ``method_choice``, so a loaded model is an
    ordinary MST, AIM or independent model that remembers how it was chosen.
    """

    private = True
    _parameter_constraints = {
        "options": lambda v: v is None or (isinstance(v, Mapping)
                                           and all(isinstance(k, str) for k in v)),
    }

    def __init__(
        self,
        *,
        dictionary,
        epsilon: float = 1.0,
        delta: float = 1e-6,
        random_state: int | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(
            dictionary=dictionary, epsilon=epsilon, delta=delta, random_state=random_state
        )
        self.options = options

    @property
    def method(self) -> str:  # type: ignore[override]
        """``"auto"`` until fitted, then the method fitted."""
        chosen = self.__dict__.get("chosen_")
        return AUTO if chosen is None else chosen.method

    @property
    def label(self) -> str:  # type: ignore[override]
        """The fitted method's label, or what auto may fit."""
        chosen = self.__dict__.get("chosen_")
        return "differentially private (MST, AIM or independent)" if chosen is None else (
            chosen.label)

    def __getattr__(self, name: str) -> Any:
        # fitted attributes (model_, cliques_, ...) are the chosen synthesizer's
        chosen = self.__dict__.get("chosen_")
        if chosen is not None and name.endswith("_") and not name.startswith("__"):
            return getattr(chosen, name)
        raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}")

    def plan(self) -> MethodChoice:
        """What the fit plans, from public facts (:func:`choose_method`); no data is read."""
        return choose_method(load_dictionary(self.dictionary), epsilon=self.epsilon,
                             params=self.options or {})

    def _candidate(self, method: str) -> PGMSynthesizer:
        return CANDIDATES[method](dictionary=self.dictionary, epsilon=self.epsilon,
                                  delta=self.delta, random_state=self.random_state,
                                  **dict(self.options or {}))

    def validate_params(self) -> None:
        """Check ε, δ, the seed, and the options against the planned method.

        Raises:
            ParameterError: naming the parameter, its value and the fix.
        """
        super().validate_params()
        self._candidate(self.plan().method).validate_params()

    def _fit(self, fit: FitContext) -> Domain | None:
        check_rules_possible(fit.dictionary, fit.domain)  # before any noisy answer is spent
        budget = fit.budget
        plan = choose_method(fit.dictionary, epsilon=self.epsilon, params=self.options or {})
        allowed = allowed_methods(self.options or {})
        chosen = self._candidate(plan.method)
        if plan.method == "independent" or "independent" not in allowed or not budget.private:
            fitted = chosen._fit(fit)
            self.chosen_, self.method_choice = chosen, plan
            return fitted
        fit, ones = one_way_step(fit, rho=budget.rho * chosen.one_way_share,
                                 label=f"auto ({plan.method} planned): one-way marginals",
                                 bins=chosen.bins)
        choice = settle(plan, patients=estimated_total(ones), allowed=allowed)
        if choice.method == "independent":
            chosen = self._candidate("independent")
            if selection.survival_columns(fit.dictionary, fit.domain):
                chosen.set_params(survival_anchor=True)
                choice = dataclasses.replace(choice, reason=choice.reason + ANCHOR_REASON)
            again = budget.measure_one_way(
                fit.source, fit.domain.names,
                rho=budget.remaining * (ANCHOR_ONE_WAY_SHARE if chosen.survival_anchor else 1.0),
                label="auto (independent): one-way marginals with the rest of rho")
            ones = [pooled(a, b) for a, b in zip(ones, again, strict=True)]
        chosen._fit_from(fit, ones)
        self.chosen_, self.method_choice = chosen, choice
        return fit.domain

    def _draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self.chosen_._draw(n, rng)

    def _conditional_logp(self, name: str, codes: np.ndarray) -> np.ndarray:
        return self.chosen_._conditional_logp(name, codes)

    def save(self, path: str | Path) -> Path:
        """Write the synthesizer fitted, with ``method_choice`` (see the class docstring).

        Raises:
            NotFittedError: ``fit`` was not called.
        """
        self._check_fitted()
        chosen = self.chosen_
        for name in ("dictionary_", "domain_", "privacy_spent_"):
            setattr(chosen, name, getattr(self, name))
        chosen.method_choice = self.method_choice
        return chosen.save(path)
