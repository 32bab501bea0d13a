"""The synthesizer contract: scikit-learn style parameters, fit on a statistics source, sample.

Every synthesizer (:mod:`~synthema.synth.mst`, :mod:`~synthema.synth.aim`,
:mod:`~synthema.synth.independent`, :mod:`~synthema.synth.copula`) derives from
:class:`BaseSynthesizer`:

- ``__init__`` only stores keyword-only parameters (``get_params``/``set_params`` read the
  signature, as in scikit-learn); they are checked when ``fit`` starts;
- ``fit(source)`` sees data only through a :class:`~synthema.stats.StatisticsSource`; a
  DataFrame is wrapped in a :class:`~synthema.stats.CentralSource`. Learned state ends in ``_``;
- ``sample(n, random_state=...)`` returns a typed frame with exactly ``dictionary.columns``,
  patient ids ``SYN-000001``..., and never a row that breaks a dictionary rule
  (:mod:`synthema.synth.constraints`); ``sampling_report_`` says what that took;
- ``save(path)`` writes one file without pickle (:mod:`synthema.synth.persist`).

Privacy: :class:`PrivacyBudget` turns (ε, δ) into a zCDP budget ρ and checks every batch of
measurements against it *before* asking the source, so a fit never spends past ρ(ε, δ).
``epsilon=inf`` means exact counts (no noise): ``privacy_spent_["private"]`` is then False.

Randomness: ``random_state`` governs the *public* choices of a fit (which candidate pairs are
scored, AIM's Monte-Carlo estimates) and the sampling of rows, never the noise: the source
draws noise from the operating system's cryptographic generator. So the same seed gives the same
model only at ``epsilon=inf``; two private fits with the same seed release different noisy
marginals, and the seed saved with a model cannot regenerate the noise.
"""

from __future__ import annotations

import inspect
import logging
import math
import numbers
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import numpy as np
import pandas as pd

from synthema.errors import BudgetExceededError, NotFittedError, ParameterError, SynthemaError
from synthema.privacy import ZCDPAccountant, cdp_epsilon, cdp_rho, gaussian_rho, sigma_for_rho
from synthema.schema import Dictionary, load_dictionary
from synthema.stats import CentralSource, Clique, Domain, Measurement, StatisticsSource
from synthema.synth import progress

_LOG = logging.getLogger(__name__)

ID_PREFIX = "SYN-"


class PrivacyBudget:
    """The zCDP budget of one fit: ρ = cdp_rho(ε, δ), checked before every measurement.

    Args:
        epsilon: ε > 0; ``inf`` means no noise (exact counts, not private).
        delta: δ in (0, 1).

    >>> b = PrivacyBudget(1.0, 1e-6)
    >>> round(b.rho, 6), b.private
    (0.024356, True)
    >>> PrivacyBudget(float("inf"), 1e-6).report()["private"]
    False
    """

    # Shares are planned a hair below their exact value, so that float rounding in
    # ρ -> σ -> ρ can never take the sum of the parts past the whole.
    SAFETY = 1.0 - 1e-9

    def __init__(self, epsilon: float, delta: float) -> None:
        self.epsilon = float(epsilon)
        self.delta = float(delta)
        self.rho = cdp_rho(self.epsilon, self.delta)
        self.private = math.isfinite(self.rho)
        self.accountant = ZCDPAccountant(rho_max=self.rho if self.private else math.inf)
        self.exact_batches: list[str] = []

    @property
    def spent(self) -> float:
        """ρ spent so far (``inf`` for a non-private fit that measured anything)."""
        if not self.private:
            return math.inf if self.exact_batches else 0.0
        return self.accountant.spent

    @property
    def remaining(self) -> float:
        """ρ left (``inf`` when not private)."""
        return self.accountant.remaining if self.private else math.inf

    def sigma(self, rho: float, count: int) -> float:
        """Noise scale so that ``count`` marginals together cost at most ``rho`` (0: exact)."""
        if not self.private:
            return 0.0
        if count < 1:
            raise ValueError(f"count must be >= 1, got {count}")
        return sigma_for_rho(rho * self.SAFETY / count)

    def measure_one_way(
        self,
        source: StatisticsSource,
        names: Sequence[str],
        *,
        rho: float,
        label: str,
    ) -> list[Measurement]:
        """Measure the 1-way marginal of every attribute in ``names``, together costing ``rho``."""
        return self.measure(
            source, [(a,) for a in names], sigma=self.sigma(rho, len(names)), label=label
        )

    def measure(
        self,
        source: StatisticsSource,
        cliques: Sequence[Clique],
        *,
        sigma: float,
        label: str,
    ) -> list[Measurement]:
        """Ask ``source`` for noisy marginals, charging ρ; refuse before asking if over budget.

        The source draws the noise from OS entropy: nothing here can seed or replay it.

        Raises:
            BudgetExceededError: the planned cost would pass ρ(ε, δ) (nothing is asked), or the
                source charged more than planned (its answers are then discarded).
        """
        cliques = [tuple(c) for c in cliques]
        if not cliques:
            return []
        progress.stage(f"measuring {label} ({len(cliques)} marginals)", kind="measure")
        if not self.private:
            out = source.measure(cliques, sigma=0.0)
            self.exact_batches.append(label)
            return out
        planned = len(cliques) * gaussian_rho(1.0, sigma)
        if self.accountant.would_exceed(planned):
            raise BudgetExceededError(
                f"{label}: {len(cliques)} marginal(s) at sigma={sigma:.4g} cost rho={planned:.6g}, "
                f"more than the {self.remaining:.6g} left of rho={self.rho:.6g} "
                f"(epsilon={self.epsilon:g}, delta={self.delta:g})",
                fix="raise epsilon, or ask for fewer marginals (fewer rounds or candidates)",
            )
        out = source.measure(cliques, sigma=sigma)
        if any(not m.is_private for m in out):
            raise SynthemaError(
                f"{label}: the statistics source returned exact counts for a private fit",
                fix="use a source that adds noise (sigma > 0), or fit with epsilon=inf",
            )
        self.accountant.spend(rho=sum(m.rho_spent for m in out), label=label)
        return out

    def charge(self, rho: float, *, label: str) -> None:
        """Charge ρ for one release the caller computes itself (a DP-SGD step), before it.

        Raises:
            BudgetExceededError: it would pass ρ(ε, δ); nothing is recorded.
        """
        if not self.private:
            self.exact_batches.append(label)
            return
        self.check_plan(rho, label=label)
        self.accountant.spend(rho=rho, label=label)

    def check_plan(self, rho: float, *, label: str) -> None:
        """Refuse a plan costing ``rho`` in all before any of it runs.

        Raises:
            BudgetExceededError: ``rho`` is more than what is left of ρ(ε, δ).
        """
        if self.private and self.accountant.would_exceed(rho):
            raise BudgetExceededError(
                f"{label}: rho={rho:.6g} is more than the {self.remaining:.6g} left of "
                f"rho={self.rho:.6g} (epsilon={self.epsilon:g}, delta={self.delta:g})",
                fix="raise epsilon, or train for fewer steps",
            )

    def report(self) -> dict[str, Any]:
        """``{"rho", "epsilon", "delta", "private"}``: what the fit spent, as ρ and (ε, δ)."""
        if not self.private:
            return {"rho": math.inf, "epsilon": math.inf, "delta": self.delta, "private": False}
        spent = self.accountant.spent
        return {
            "rho": spent,
            "epsilon": cdp_epsilon(spent, self.delta),
            "delta": self.delta,
            "private": True,
        }


class FitContext(NamedTuple):
    """What a synthesizer's ``_fit`` works with: the statistics source, its public domain, the
    dictionary, the privacy budget to spend, and the generator of the fit's public choices."""

    source: StatisticsSource
    domain: Domain
    dictionary: Dictionary
    budget: PrivacyBudget
    rng: np.random.Generator


def check_random_state(seed: Any) -> np.random.Generator:
    """A numpy Generator from None (fresh OS entropy), an int, a SeedSequence or a Generator.

    Raises:
        ParameterError: anything else (e.g. a float or a negative int).
    """
    if seed is None or isinstance(seed, np.random.SeedSequence):
        return np.random.default_rng(seed)
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and seed >= 0:
        return np.random.default_rng(int(seed))
    raise ParameterError(
        f"random_state must be None, a non-negative int or a Generator, got {seed!r}",
        fix="give a seed >= 0 (or none for fresh entropy)",
    )


def _shown(value: Any) -> str:
    """A number as people typed it (0, -2, nan, 2.5), anything else as its repr."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return f"{float(value):g}"
    return repr(value)


def check_budget(epsilon: Any, delta: Any) -> None:
    """Refuse an (ε, δ) no fit can use, naming the value and the fix.

    >>> check_budget(0, 1e-6)
    Traceback (most recent call last):
    ...
    synthema.errors.ParameterError: epsilon is 0: it must be greater than 0 (inf for no noise)

    Raises:
        ParameterError: ε not a number > 0 (``inf`` is allowed: no noise), or δ not in (0, 1).
    """
    if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real) or not epsilon > 0:
        raise ParameterError(
            f"epsilon is {_shown(epsilon)}: it must be greater than 0 (inf for no noise)",
            fix="use a positive budget such as 1 (smaller is more private; inf adds no noise "
            "and is NOT PRIVATE)",
        )
    if isinstance(delta, bool) or not isinstance(delta, numbers.Real) or not 0 < delta < 1:
        raise ParameterError(
            f"delta is {_shown(delta)}: it must lie strictly between 0 and 1",
            fix="use a small delta, below 1/patients, e.g. 1e-6",
        )


class BaseSynthesizer:
    """Shared machinery; subclasses implement ``_fit``, ``_draw`` and the state hooks.

    Class attributes: ``method`` (the name :func:`~synthema.synth.create_synthesizer` takes),
    ``private`` (whether fits are differentially private when ε is finite) and ``label``.
    ``method_choice`` is None unless ``create_synthesizer("auto", ...)`` made the synthesizer:
    then it is the :class:`~synthema.synth.auto.MethodChoice` (method, one-sentence reason,
    the public facts it used), saved with the model and shown by the command line.
    """

    method: ClassVar[str] = ""
    private: ClassVar[bool] = True
    label: ClassVar[str] = "differentially private"
    _parameter_constraints: ClassVar[dict[str, Any]] = {}
    method_choice: Any = None

    def __init__(
        self,
        *,
        dictionary: Dictionary | str | Path,
        epsilon: float = 1.0,
        delta: float = 1e-6,
        random_state: int | None = None,
    ) -> None:
        self.dictionary = dictionary
        self.epsilon = epsilon
        self.delta = delta
        self.random_state = random_state

    # -- parameters (scikit-learn's contract) -------------------------------------------------
    @classmethod
    def _get_param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        names = []
        for p in sig.parameters.values():
            if p.name == "self":
                continue
            if p.kind is not p.KEYWORD_ONLY:
                raise RuntimeError(f"{cls.__name__}.__init__ must take keyword-only parameters")
            names.append(p.name)
        return sorted(names)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Parameters as given to ``__init__`` (``deep`` is accepted for scikit-learn)."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params: Any) -> BaseSynthesizer:
        """Set parameters; unknown names raise ``ValueError``."""
        valid = set(self._get_param_names())
        for key, value in params.items():
            if key not in valid:
                raise ParameterError(
                    f"invalid parameter {key!r} for {type(self).__name__}",
                    fix=f"its parameters: {', '.join(sorted(valid))}",
                )
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        args = []
        for name, value in self.get_params().items():
            if isinstance(value, Dictionary):
                value = f"<Dictionary {value.name}>"
            args.append(f"{name}={value!r}" if not isinstance(value, str) else f"{name}='{value}'")
        return f"{type(self).__name__}({', '.join(args)})"

    def validate_params(self) -> None:
        """Check every parameter (``fit`` does it first; callers may check before any work).

        Raises:
            ParameterError: naming the parameter, its value and the fix.
        """
        check_budget(self.epsilon, self.delta)
        check_random_state(self.random_state)
        for name, check in self._parameter_constraints.items():
            value = getattr(self, name)
            if not check(value):
                raise ParameterError(
                    f"invalid {name}={value!r} for {type(self).__name__}",
                    fix=f"see the {self.method} parameters in docs/synthesizers.md",
                )

    # -- fit ----------------------------------------------------------------------------------
    def fit(self, source: StatisticsSource | pd.DataFrame) -> BaseSynthesizer:
        """Learn the model from noisy marginals of ``source`` (a DataFrame is wrapped).

        Raises:
            ParameterError: a bad parameter.
            SynthemaError: the source does not cover the dictionary, or the data cannot be
                encoded (see :class:`~synthema.stats.CentralSource`).
            BudgetExceededError: a measurement would pass ρ(ε, δ) (raised before it is made).
        """
        self.validate_params()
        dictionary = load_dictionary(self.dictionary)
        source = self._as_source(source, dictionary)
        domain = self._check_domain(source.domain, dictionary)
        rng = check_random_state(self.random_state)  # public choices only; never noise
        budget = PrivacyBudget(self.epsilon, self.delta)
        fitted = self._fit(FitContext(source, domain, dictionary, budget, rng))
        self.dictionary_ = dictionary
        self.domain_ = domain if fitted is None else fitted  # bins chosen in the fit
        if self.private:
            self.privacy_spent_ = budget.report()
        else:  # a non-private baseline reads exact data whatever epsilon says
            self.privacy_spent_ = PrivacyBudget(math.inf, self.delta).report()
        _LOG.info("%s fitted: %s", type(self).__name__, self.privacy_spent_)
        return self

    def _as_source(self, source: Any, dictionary: Dictionary) -> StatisticsSource:
        if isinstance(source, pd.DataFrame):
            return CentralSource(source, dictionary)
        if not isinstance(source, StatisticsSource):
            raise TypeError(
                f"fit needs a StatisticsSource or a pandas DataFrame, got {type(source).__name__}"
            )
        return source

    @staticmethod
    def _check_domain(domain: Domain, dictionary: Dictionary) -> Domain:
        absent = [n for n in dictionary.names if n not in domain]
        if absent:
            raise SynthemaError(
                f"the statistics source lacks {len(absent)} variable(s) of dictionary "
                f"'{dictionary.name}': {', '.join(absent[:5])}",
                fix="fit with the dictionary the source was built from (or a projection of it)",
            )
        return domain.project(dictionary.names)

    def _fit(self, fit: FitContext) -> Domain | None:
        """Fit from ``fit``; return the domain the model is on if it chose its own bins."""
        raise NotImplementedError  # abstract: each synthesizer implements it

    # -- sample -------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "privacy_spent_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet: call fit(source) before sampling"
            )

    def sample(self, n: int, *, random_state: Any = None) -> pd.DataFrame:
        """``n`` synthetic patients as a typed frame with exactly ``dictionary.columns``.

        Every row satisfies every dictionary rule; how many rows had to be redrawn, resampled,
        repaired or rejected is in ``sampling_report_``. ``random_state=None`` uses the
        synthesizer's own ``random_state`` (so an int there makes sampling reproducible) or
        fresh entropy when that is None too.

        Raises:
            NotFittedError: ``fit`` was not called.
            ParameterError: ``n`` is not a non-negative int.
        """
        from synthema.synth.constraints import enforce_rules  # sampling-only dependency

        self._check_fitted()
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
            raise ParameterError(f"n must be a non-negative int, got {n!r}",
                                 fix="ask for at least 1 row, e.g. 1000")
        if random_state is None and self.random_state is not None:
            rng = np.random.default_rng([int(self.random_state), 0x5EED])
        else:
            rng = check_random_state(random_state)
        frame, report = enforce_rules(
            self._draw,
            self._conditional_logp,
            domain=self.domain_,
            dictionary=self.dictionary_,
            n=int(n),
            rng=rng,
        )
        self.sampling_report_ = report
        dictionary = self.dictionary_
        if dictionary.patient_id:
            ids = pd.array([f"{ID_PREFIX}{i:06d}" for i in range(1, len(frame) + 1)], "string")
            frame.insert(0, dictionary.patient_id, ids)
        return frame[list(dictionary.columns)]

    def _draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` rows of codes (columns in ``domain_`` order) from the fitted model."""
        raise NotImplementedError  # abstract: each synthesizer implements it

    def _conditional_logp(self, name: str, codes: np.ndarray) -> np.ndarray:
        """log P(name = v | the other codes of each row), shape (rows, size); for repair."""
        raise NotImplementedError  # abstract: each synthesizer implements it

    # -- persistence --------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the fitted synthesizer to one file (a zip of JSON and .npy; no pickle).

        Raises:
            NotFittedError: ``fit`` was not called.
        """
        from synthema.synth.persist import save_synthesizer

        self._check_fitted()
        return save_synthesizer(self, Path(path))

    def _state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """(JSON-able metadata, named arrays) of the learned model."""
        raise NotImplementedError  # abstract: each synthesizer implements it

    def _set_state(self, meta: dict, arrays: dict[str, np.ndarray]) -> None:
        raise NotImplementedError  # abstract: each synthesizer implements it
