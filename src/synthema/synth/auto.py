"""``method="auto"``: choose MST, AIM or independent marginals from public facts only.

The choice is made before any data is read, from what the dictionary and the user already
make public: the number of attributes, the cells of the public domain, ε, and the method
parameters the user gave. The number of patients is private under differential privacy, so it
is not used (no quantity released during a fit is either: the choice must be the same, and
known, before a federated fit contacts any site). The non-private Gaussian copula is never
chosen, nor the DP-VAE (at 1,500 AML patients and ε = 1 it does not beat MST:
docs/benchmarks.md, "Neural synthesizer").

The rule (:func:`choose_method`) and the measurements behind it are in docs/synthesizers.md
("Choosing a method") and docs/benchmarks.md ("Which method"); ``benchmarks/methods.py``
re-measures them. The choice and its one-sentence reason are kept with the fitted model
(:class:`MethodChoice`, saved in the model file) and printed by the command line.

>>> from synthema.schema import load_dictionary
>>> choose_method(load_dictionary("aml"), epsilon=1.0).method
'mst'
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from synthema.errors import ParameterError
from synthema.schema import Dictionary

AUTO = "auto"
#: the methods ``auto`` chooses from (all differentially private, all federated)
CANDIDATES = ("mst", "aim", "independent")


@dataclass(frozen=True)
class MethodChoice:
    """What ``method="auto"`` chose, why, and the public facts it looked at.

    Args:
        method: the method chosen (``mst``, ``aim`` or ``independent``).
        reason: one sentence a user can read, naming the facts and the evidence.
        attributes: variables of the dictionary (each one attribute of the model).
        cells: codes of all attributes together (the public domain, *missing* included).
        epsilon: the ε of the fit (``inf``: no noise).

    >>> c = MethodChoice("mst", "because", attributes=3, cells=12, epsilon=1.0)
    >>> MethodChoice.from_json(c.to_json()) == c
    True
    """

    method: str
    reason: str
    attributes: int
    cells: int
    epsilon: float

    def to_json(self) -> dict[str, Any]:
        """Strict-JSON form (ε ``inf`` as the string ``"inf"``), saved in the model file."""
        out = asdict(self)
        out["requested"] = AUTO
        out["epsilon"] = "inf" if math.isinf(self.epsilon) else self.epsilon
        return out

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> MethodChoice:
        """Inverse of :meth:`to_json`."""
        eps = raw["epsilon"]
        return cls(method=str(raw["method"]), reason=str(raw["reason"]),
                   attributes=int(raw["attributes"]), cells=int(raw["cells"]),
                   epsilon=math.inf if eps == "inf" else float(eps))

    @property
    def line(self) -> str:
        """``auto chose mst: <reason>``: what the command line prints."""
        return f"--method auto chose {self.method}: {self.reason}"


def _method_params(method: str) -> set[str]:
    from synthema.synth.registry import synthesizer_class

    return set(synthesizer_class(method)._get_param_names())


def choose_method(
    dictionary: Dictionary, *, epsilon: float, params: Iterable[str] = ()
) -> MethodChoice:
    """The method ``auto`` fits, from public facts only (see the module docstring).

    Rules, in order:

    1. a method parameter the user gave rules out the methods that do not take it (``rounds``:
       AIM only; ``iters``: MST or AIM);
    2. fewer than two attributes: independent marginals (there is no association to model);
    3. a small dictionary (at most :data:`SMALL` attributes) at ε ≥ :data:`AIM_MIN_EPSILON`
       (ε = ∞ included): AIM, whose adaptive rounds fit small domains best when the noise is
       low;
    4. otherwise MST: the best on larger dictionaries at every ε measured, and the most
       robust on small ones at low ε (where independent marginals sometimes win, but only
       with few patients, which is private).

    Raises:
        ParameterError: the parameters given fit none of MST, AIM and independent.
    """
    from synthema.stats import Domain

    names = dictionary.names
    domain = Domain.from_dictionary(dictionary)
    facts = {"attributes": len(names), "cells": int(sum(domain.shape)),
             "epsilon": float(epsilon)}
    given = set(params) - {"dictionary", "epsilon", "delta", "random_state"}
    allowed = [m for m in CANDIDATES if given <= _method_params(m)]
    if not allowed:
        raise ParameterError(
            f"method 'auto' chooses among {', '.join(CANDIDATES)}, and none of them takes "
            f"{', '.join(sorted(given))}",
            fix="name the method whose parameters you give, e.g. --method aim",
        )

    def choice(method: str, reason: str) -> MethodChoice:
        return MethodChoice(method, reason, **facts)

    if len(allowed) == 1:
        only = allowed[0]
        return choice(only, f"only {only} takes the parameter(s) given "
                      f"({', '.join(sorted(given))})")
    d, eps = len(names), float(epsilon)
    if d < 2 and "independent" in allowed:
        return choice("independent", f"the dictionary has {d} attribute: there is no "
                      "association between attributes to model")
    method, reason = _rule(d, eps)
    if method not in allowed:
        method = "mst" if "mst" in allowed else allowed[0]
        reason = f"{reason.split(':')[0]}, but the parameters given rule that method out"
    return choice(method, reason)


#: a dictionary with at most this many attributes is "small": the benchmark measured 6 to 10
#: (small) and 29 to 146 (large) attributes; the limit lies between
SMALL = 16
#: from this ε on (ε = ∞ included), AIM is chosen on small dictionaries: it fit best at
#: ε = 4 and ∞, not at ε = 1; the limit lies between
AIM_MIN_EPSILON = 2.0
_WHERE = "docs/benchmarks.md, 'Which method'"


def _rule(d: int, eps: float) -> tuple[str, str]:
    """Rules 3 and 4 of :func:`choose_method`: (method, reason)."""
    if d > SMALL:
        return "mst", (f"{d} attributes (more than {SMALL}): MST fit dictionaries of this size "
                       f"best at every ε measured ({_WHERE})")
    if eps >= AIM_MIN_EPSILON:
        return "aim", (f"{d} attributes (at most {SMALL}) and ε = {eps:g} (at least "
                       f"{AIM_MIN_EPSILON:g}): AIM's adaptive rounds fit small dictionaries "
                       f"best when the noise is low ({_WHERE})")
    return "mst", (f"{d} attributes and ε = {eps:g} (below {AIM_MIN_EPSILON:g}): MST was the "
                   "most robust method measured at this size and ε; with only a few hundred "
                   "patients independent marginals may fit better, which auto cannot know "
                   f"({_WHERE})")
