"""Method names to synthesizer classes, and the factory the CLI and benchmarks use.

``auto`` (the default) is :class:`~synthema.synth.auto.AutoSynthesizer`, which fits MST, AIM
or independent marginals as :mod:`synthema.synth.auto` decides and records the choice
(``method_choice``); it is not in :data:`METHODS`, because a saved model is always one of those.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from synthema.errors import ParameterError
from synthema.schema import Dictionary
from synthema.synth.aim import AIMSynthesizer
from synthema.synth.auto import AUTO, AutoSynthesizer, allowed_methods
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

    ``auto`` (the default) fits MST, AIM or independent marginals, chosen from the
    dictionary's size, ε, the parameters given and the noisy number of patients the first
    measurement releases (:class:`~synthema.synth.auto.AutoSynthesizer`); after ``fit`` the
    choice and its reason are in ``method_choice`` (saved with the model). ``params`` are the
    method's own parameters (e.g. ``iters`` for MST, ``rounds`` for AIM); they are checked
    when ``fit`` starts, like every parameter.

    Raises:
        ParameterError: unknown method, or a parameter the method does not take (for
            ``auto``: that none of MST, AIM and independent takes), or for ``auto`` a bad ε
            or δ (the plan depends on ε).

    >>> s = create_synthesizer("independent", dictionary="scd", epsilon=2.0)
    >>> s.method, s.get_params()["epsilon"]
    ('independent', 2.0)
    >>> a = create_synthesizer(dictionary="aml", epsilon=1.0)
    >>> a.method, a.plan().method
    ('auto', 'mst')
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
    """An :class:`~synthema.synth.auto.AutoSynthesizer` (its options checked by name now)."""
    from synthema.synth.base import check_budget

    check_budget(epsilon, delta)
    allowed_methods(params)
    return AutoSynthesizer(dictionary=dictionary, epsilon=epsilon, delta=delta,
                           random_state=random_state, options=params or None)


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
