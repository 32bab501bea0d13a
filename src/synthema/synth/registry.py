"""Method names to synthesizer classes, and the factory the CLI and benchmarks use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from synthema.schema import Dictionary
from synthema.synth.aim import AIMSynthesizer
from synthema.synth.base import BaseSynthesizer
from synthema.synth.copula import GaussianCopulaSynthesizer
from synthema.synth.independent import IndependentSynthesizer
from synthema.synth.mst import MSTSynthesizer

METHODS: dict[str, type[BaseSynthesizer]] = {
    "mst": MSTSynthesizer,
    "aim": AIMSynthesizer,
    "independent": IndependentSynthesizer,
    "copula": GaussianCopulaSynthesizer,
}


def available_methods() -> tuple[str, ...]:
    """The method names :func:`create_synthesizer` accepts."""
    return tuple(METHODS)


def synthesizer_class(method: str) -> type[BaseSynthesizer]:
    """The class of a method name.

    Raises:
        ValueError: unknown method (the message lists the known ones).
    """
    if method not in METHODS:
        raise ValueError(f"unknown synthesis method {method!r}; use one of: {', '.join(METHODS)}")
    return METHODS[method]


def create_synthesizer(
    method: str,
    *,
    dictionary: Dictionary | str | Path,
    epsilon: float = 1.0,
    delta: float = 1e-6,
    random_state: int | None = None,
    **params: Any,
) -> BaseSynthesizer:
    """A synthesizer for ``method`` (``mst``, ``aim``, ``independent``, ``copula``).

    ``params`` are the method's own parameters (e.g. ``iters`` for MST, ``rounds`` for AIM);
    they are checked when ``fit`` starts, like every parameter.

    Raises:
        ValueError: unknown method, or a parameter the method does not take.

    >>> s = create_synthesizer("independent", dictionary="scd", epsilon=2.0)
    >>> s.method, s.get_params()["epsilon"]
    ('independent', 2.0)
    """
    cls = synthesizer_class(method)
    known = set(cls._get_param_names())
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValueError(
            f"method {method!r} does not take {', '.join(unknown)}; "
            f"its parameters: {', '.join(sorted(known))}"
        )
    return cls(
        dictionary=dictionary, epsilon=epsilon, delta=delta, random_state=random_state, **params
    )
