"""Method names to synthesizer classes, and the factory the CLI and benchmarks use.

``auto`` is a name, not a class: :func:`create_synthesizer` resolves it to one of MST, AIM or
independent from public facts (:mod:`synthema.synth.auto`) and records the choice on the
synthesizer (``method_choice``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from synthema.errors import ParameterError
from synthema.schema import Dictionary
from synthema.synth.aim import AIMSynthesizer
from synthema.synth.auto import AUTO, choose_method
from synthema.synth.base import BaseSynthesizer
from synthema.synth.copula import GaussianCopulaSynthesizer
from synthema.synth.dpvae import DPVAESynthesizer
from synthema.synth.independent import IndependentSynthesizer
from synthema.synth.mst import MSTSynthesizer

METHODS: dict[str, type[BaseSynthesizer]] = {
    "mst": MSTSynthesizer,
    "aim": AIMSynthesizer,
    "independent": IndependentSynthesizer,
    "dpvae": DPVAESynthesizer,
    "copula": GaussianCopulaSynthesizer,
}


def available_methods() -> tuple[str, ...]:
    """The method names :func:`create_synthesizer` accepts: ``auto``, then every class's."""
    return (AUTO, *METHODS)


def synthesizer_class(method: str) -> type[BaseSynthesizer]:
    """The class of a method name.

    Raises:
        ParameterError: unknown method (the message lists the known ones).
    """
    if method not in METHODS:
        names = ", ".join(available_methods())
        raise ParameterError(f"unknown method {method!r}; use one of: {names}",
                             fix=f"use one of: {names}")
    return METHODS[method]


def create_synthesizer(
    method: str = AUTO,
    *,
    dictionary: Dictionary | str | Path,
    epsilon: float = 1.0,
    delta: float = 1e-6,
    random_state: int | None = None,
    **params: Any,
) -> BaseSynthesizer:
    """A synthesizer for ``method`` (``auto``, ``mst``, ``aim``, ``independent``, ``dpvae``,
    ``copula``).

    ``auto`` (the default) chooses MST, AIM or independent from the dictionary's size, ε and
    the parameters given (:func:`~synthema.synth.auto.choose_method`); the synthesizer returned
    is of the chosen class, with the choice and its reason in ``method_choice`` (saved with
    the model). ``params`` are the method's own parameters (e.g. ``iters`` for MST,
    ``rounds`` for AIM); they are checked when ``fit`` starts, like every parameter.

    Raises:
        ParameterError: unknown method, or a parameter the method does not take; for ``auto``
            also a bad ε or δ (the choice depends on ε) and a dictionary that does not load.

    >>> s = create_synthesizer("independent", dictionary="scd", epsilon=2.0)
    >>> s.method, s.get_params()["epsilon"]
    ('independent', 2.0)
    >>> create_synthesizer(dictionary="aml", epsilon=1.0).method_choice.method
    'mst'
    """
    if method == AUTO:
        return _create_auto(dictionary=dictionary, epsilon=epsilon, delta=delta,
                            random_state=random_state, **params)
    cls = synthesizer_class(method)
    known = set(cls._get_param_names())
    unknown = sorted(set(params) - known)
    if unknown:
        raise ParameterError(
            f"method {method!r} does not take {', '.join(unknown)}; "
            f"its parameters: {', '.join(sorted(known))}",
            fix="leave out the parameters the method does not take",
        )
    return cls(
        dictionary=dictionary, epsilon=epsilon, delta=delta, random_state=random_state, **params
    )


def _create_auto(*, dictionary, epsilon, delta, random_state, **params: Any) -> BaseSynthesizer:
    """The synthesizer ``auto`` chooses, with the choice recorded in ``method_choice``."""
    from synthema.schema import load_dictionary
    from synthema.synth.base import check_budget

    check_budget(epsilon, delta)
    choice = choose_method(load_dictionary(dictionary), epsilon=epsilon, params=params)
    synth = create_synthesizer(choice.method, dictionary=dictionary, epsilon=epsilon,
                               delta=delta, random_state=random_state, **params)
    synth.method_choice = choice
    return synth


def check_parameters(method: str, **params: Any) -> BaseSynthesizer:
    """An unfitted synthesizer whose every parameter has been checked, before any data is read.

    Takes :func:`create_synthesizer`'s arguments. A federated fit calls this before it
    contacts a site, so a misspelt method or a δ of 2 is refused at once instead of after the
    sites have been waited for.

    Raises:
        ParameterError: naming the parameter, its value and the fix.

    >>> check_parameters("mst", dictionary="aml", epsilon=1.0, delta=2.0)
    Traceback (most recent call last):
    ...
    synthema.errors.ParameterError: delta is 2: it must lie strictly between 0 and 1
    """
    synth = create_synthesizer(method, **params)
    synth.validate_params()
    return synth
