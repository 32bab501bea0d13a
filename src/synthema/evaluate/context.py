"""What every metric may need besides the two frames: the dictionary, the holdout, settings.

The context also memoises work several metrics share (encodings, nearest neighbours, one
discriminator or survival fit), keyed by the *identity* of the frames it was computed on, so
computing a metric on another synthetic frame with the same context never reuses stale work.

>>> from synthema.schema import Dictionary
>>> d = Dictionary.from_mapping({"name": "x", "version": 1, "variables": [
...     {"name": "cr", "type": "boolean"}, {"name": "age", "type": "integer", "min": 0, "max": 9}]})
>>> EvaluationContext(d).resolve_target()
'cr'
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pandas as pd

from synthema.errors import IncomputableMetricError
from synthema.evaluate.covariates import baseline_covariates, outcome_closure
from synthema.evaluate.encoding import MixedEncoder
from synthema.evaluate.null import NULL_DRAWS, NullSplits, null_splits
from synthema.evaluate.sample import Sample, sample_of
from synthema.schema import Dictionary, VariableType

if TYPE_CHECKING:
    from synthema.harmonize.validate import Problem

T = TypeVar("T")

#: targets preferred for the classification utility test when ``target`` is not given
PREFERRED_TARGETS = ("cr",)
#: variable types a classification target may have
CLASSIFIABLE = (VariableType.BOOLEAN, VariableType.CATEGORICAL, VariableType.ORDINAL)


@dataclass(eq=False)
class EvaluationContext:
    """Settings and shared, memoised work for one evaluation.

    Args:
        dictionary: the common data dictionary all frames follow.
        holdout: real rows *not* used to train the generator (privacy control set, test set
            for train-on-synthetic / test-on-real). Metrics that need it fail without it.
        target: classification target(s) for the utility test (boolean or categorical);
            default: the dictionary's ``targets:``, else a variable named ``cr`` (complete
            remission), else the first survival event, else the first boolean variable.
        random_state: seed of every sample, split and model.
        n_attacks: records attacked by each Anonymeter-style attack (and its control).
        max_rows: rows per side used by the discriminator.
        kway: order of the k-way marginals; ``max_subsets`` of them are drawn at random.
        secrets: columns the attribute-inference attack tries to guess (default: the target and
            the survival events, at most five).
        problems: impossible cells the loader found in the synthetic file (already set to
            missing in the typed frame): :class:`synthema.harmonize.Problem` findings, whose
            ``row`` is the file's spreadsheet row (the frame's position + 2).
        null_draws: null splits per metric that judges itself against a perfect generator
            (:mod:`synthema.evaluate.null`).
    """

    dictionary: Dictionary
    holdout: pd.DataFrame | None = None
    target: str | Sequence[str] | None = None
    random_state: int = 0
    n_attacks: int = 2000
    max_rows: int = 5000
    kway: int = 3
    max_subsets: int = 500
    secrets: Sequence[str] | None = None
    problems: Sequence[Problem] = ()
    null_draws: int = NULL_DRAWS
    _memo: dict[Any, tuple[tuple[Any, ...], Any]] = field(default_factory=dict, repr=False)

    # -- memo -----------------------------------------------------------------------------------
    def memo(self, key: Any, frames: tuple[Any, ...], compute: Callable[[], T]) -> T:
        """``compute()`` once per ``key`` and identical ``frames`` (compared with ``is``)."""
        hit = self._memo.get(key)
        if hit is not None and len(hit[0]) == len(frames):
            if all(a is b for a, b in zip(hit[0], frames, strict=True)):
                return hit[1]
        value = compute()
        self._memo[key] = (frames, value)
        return value

    def rng(self, salt: str) -> np.random.Generator:
        """A generator seeded by ``random_state`` and a fixed salt (stable across runs)."""
        return np.random.default_rng([self.random_state, zlib.crc32(salt.encode())])

    # -- shared work ----------------------------------------------------------------------------
    @functools.cached_property
    def names(self) -> tuple[str, ...]:
        """The variables evaluated (patient id excluded)."""
        return self.dictionary.names

    @functools.cached_property
    def domain(self):
        """The public discretisation (:class:`synthema.stats.Domain`) for binned distances."""
        from synthema.stats import Domain

        return Domain.from_dictionary(self.dictionary)

    def encoder(self, real: pd.DataFrame) -> MixedEncoder:
        """The mixed-type encoder (bounds the dictionary lacks come from ``real``)."""
        return self.memo("encoder", (real,), lambda: MixedEncoder.from_dictionary(
            self.dictionary, fallback=real))

    def encode(self, df: pd.DataFrame, real: pd.DataFrame) -> np.ndarray:
        """Mixed-type matrix of ``df`` (memoised per frame)."""
        enc = self.encoder(real)
        return self.memo(("encode", id(df)), (df, enc), lambda: enc.transform(df))

    def codes(self, df: pd.DataFrame) -> np.ndarray:
        """Domain codes (rows x variables) of ``df``, memoised per frame."""
        return self.memo(("codes", id(df)), (df,),
                         lambda: self.domain.encode(df[list(self.names)]).codes)

    def sample(self, df: pd.DataFrame) -> Sample:
        """Bin codes and ordered values of ``df`` (:mod:`synthema.evaluate.sample`), memoised."""
        return self.memo(("sample", id(df)), (df,),
                         lambda: sample_of(df, self.dictionary, self.domain))

    def nulls(self, real: pd.DataFrame, synthetic: pd.DataFrame) -> NullSplits:
        """Null splits of the pooled real rows for a synthetic file this size (memoised)."""
        holdout = self.holdout if self.holdout is not None and len(self.holdout) else None
        return self.memo(("nulls", len(synthetic)), (real, holdout), lambda: null_splits(
            real, holdout, len(synthetic), draws=self.null_draws, rng=self.rng("null")))

    def require_holdout(self, why: str) -> pd.DataFrame:
        """The holdout, or an error saying which metric needs it."""
        if self.holdout is None or len(self.holdout) == 0:
            raise IncomputableMetricError(
                f"{why} needs real holdout rows not used for training",
                fix="pass --holdout (a real test set the generator never saw)",
            )
        return self.holdout

    def privacy_pair(self, real: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Training and holdout samples of equal size (the larger one is subsampled).

        Equal sizes make "closer to training than to holdout" a fair coin for a generator that
        does not copy, and let singling-out queries match equally often in both.
        """
        holdout = self.require_holdout("this privacy attack")

        def split() -> tuple[pd.DataFrame, pd.DataFrame]:
            n = min(len(real), len(holdout))
            rng = self.rng("privacy-pair")

            def take(df: pd.DataFrame) -> pd.DataFrame:
                if len(df) == n:
                    return df
                return df.iloc[np.sort(rng.choice(len(df), size=n, replace=False))]

            return take(real), take(holdout)

        return self.memo("privacy-pair", (real, holdout), split)

    # -- targets and covariates ---------------------------------------------------------------
    def _check_target(self, name: str) -> str:
        d = self.dictionary
        if name not in d:
            raise IncomputableMetricError(
                f"target '{name}' is not a variable of dictionary '{d.name}'",
                fix="pass --target with a boolean or categorical variable",
            )
        if d[name].type not in CLASSIFIABLE:
            raise IncomputableMetricError(
                f"target '{name}' is {d[name].type.value}",
                fix="pass --target with a boolean or categorical variable",
            )
        return name

    def resolve_targets(self) -> list[str]:
        """The classification targets: ``target``, else the dictionary's declared ``targets``
        that are boolean or categorical, else ``cr``, the first survival event or the first
        boolean variable."""
        if self.target is not None:
            names = [self.target] if isinstance(self.target, str) else list(self.target)
            return [self._check_target(n) for n in names]
        d = self.dictionary
        declared = [n for n in declared_targets(d) if n in d and d[n].type in CLASSIFIABLE]
        if declared:
            return declared
        for name in PREFERRED_TARGETS:
            if name in d and d[name].type is VariableType.BOOLEAN:
                return [name]
        if d.survival:
            return [d.survival[0].event]
        for v in d.variables:
            if v.type is VariableType.BOOLEAN:
                return [v.name]
        raise IncomputableMetricError(
            f"dictionary '{d.name}' has no boolean variable to predict",
            fix="pass --target with a categorical variable",
        )

    def resolve_target(self) -> str:
        """The first classification target (:meth:`resolve_targets`)."""
        return self.resolve_targets()[0]

    @functools.cached_property
    def covariates(self) -> tuple[list[str], dict[str, str]]:
        """Baseline covariates of every outcome model and why the others were left out
        (:func:`synthema.evaluate.covariates.baseline_covariates`)."""
        try:
            targets = self.resolve_targets()
        except IncomputableMetricError:
            targets = []
        return baseline_covariates(self.dictionary, [*declared_targets(self.dictionary),
                                                     *targets])

    def hidden_from_attacker(self, secret: str) -> set[str]:
        """The secret and every column a rule ties to it (the inference attacker lacks them).

        Rules would give the secret away to anyone, so the control could not tell a leak from
        them; the ties are those of :func:`synthema.evaluate.covariates.outcome_closure`.
        """
        return set(outcome_closure(self.dictionary, {secret: "secret"}))

    def resolve_secrets(self) -> list[str]:
        """Columns for the attribute-inference attack."""
        if self.secrets is not None:
            unknown = [s for s in self.secrets if s not in self.dictionary]
            if unknown:
                raise IncomputableMetricError(
                    f"secret column(s) {', '.join(unknown)} not in the dictionary",
                    fix="name dictionary variables as secrets",
                )
            return list(self.secrets)
        out: list[str] = []
        try:
            out += self.resolve_targets()
        except IncomputableMetricError:
            pass
        out += [p.event for p in self.dictionary.survival]
        return list(dict.fromkeys(out))[:5] or [self.dictionary.names[-1]]


def declared_targets(dictionary: Dictionary) -> list[str]:
    """The dictionary's ``targets:`` (outcome columns beyond survival pairs; docs/dictionary.md).

    The loader has checked that each is a variable and not a survival time.
    """
    return list(dictionary.targets)
