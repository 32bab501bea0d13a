"""Synthesizers: marginal-based DP models (MST, AIM), baselines, and rules at sampling.

Every synthesizer sees data only through a :class:`~synthema.stats.StatisticsSource`
(a DataFrame given to ``fit`` is wrapped in a :class:`~synthema.stats.CentralSource`), so the
same code runs centrally and federated. Only :mod:`synthema.synth._mbi` imports ``mbi`` and
JAX; nothing here imports ``flwr`` or :mod:`synthema.federation`. See ``docs/synthesizers.md``.

>>> create_synthesizer("copula", dictionary="aml").private
False
"""

from synthema.errors import NotFittedError
from synthema.synth.aim import AIMSynthesizer
from synthema.synth.auto import AutoSynthesizer
from synthema.synth.base import BaseSynthesizer, PrivacyBudget
from synthema.synth.copula import GaussianCopulaSynthesizer
from synthema.synth.independent import IndependentSynthesizer
from synthema.synth.mst import MSTSynthesizer
from synthema.synth.persist import load_synthesizer
from synthema.synth.registry import (
    METHODS,
    available_methods,
    check_parameters,
    create_synthesizer,
    synthesizer_class,
)

__all__ = [
    "METHODS",
    "AIMSynthesizer",
    "AutoSynthesizer",
    "BaseSynthesizer",
    "GaussianCopulaSynthesizer",
    "IndependentSynthesizer",
    "MSTSynthesizer",
    "NotFittedError",
    "PrivacyBudget",
    "available_methods",
    "check_parameters",
    "create_synthesizer",
    "load_synthesizer",
    "synthesizer_class",
]
