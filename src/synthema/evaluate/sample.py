"""A frame as the fidelity metrics read it: public bin codes and ordered values, row-indexable.

Computing both once per frame lets the null draws (:mod:`synthema.evaluate.null`) take rows of
the pooled real data by position instead of re-encoding hundreds of small frames.

>>> from synthema.schema import Dictionary
>>> from synthema.stats import Domain
>>> d = Dictionary.from_mapping({"name": "x", "version": 1, "variables": [
...     {"name": "grade", "type": "ordinal", "categories": ["low", "high"]},
...     {"name": "sex", "type": "categorical", "categories": ["F", "M"]}]})
>>> df = pd.DataFrame({"grade": pd.array(["high", None], dtype="string"),
...                    "sex": pd.array(["M", "F"], dtype="string")})
>>> s = sample_of(df, d, Domain.from_dictionary(d))
>>> s.numbers.tolist(), len(s.take(np.array([1])))
([[1.0, nan], [nan, nan]], 1)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthema.evaluate.encoding import numeric_values
from synthema.schema import Dictionary, VariableType


@dataclass(frozen=True)
class Sample:
    """``codes``: rows x variables over the public bins (missing has its code); ``numbers``:
    floats of ordered variables (numbers, dates in days, booleans 0/1, ordinal ranks), NaN for
    missing values and for categorical variables."""

    codes: np.ndarray
    numbers: np.ndarray

    def __len__(self) -> int:
        return len(self.codes)

    def take(self, rows: np.ndarray) -> Sample:
        """The rows at positions ``rows``."""
        return Sample(self.codes[rows], self.numbers[rows])


def ordered_values(series: pd.Series, var) -> np.ndarray:
    """Floats of an ordered variable (ordinal: category rank); NaN for a categorical."""
    if var.type is VariableType.CATEGORICAL:
        return np.full(len(series), np.nan)
    if var.type is VariableType.ORDINAL:
        codes = pd.Categorical(series.astype("string"), categories=var.categories).codes
        return np.where(codes >= 0, codes, np.nan).astype(float)
    return numeric_values(series, var)


def sample_of(df: pd.DataFrame, dictionary: Dictionary, domain) -> Sample:
    """The :class:`Sample` of a typed frame (``domain``: a :class:`synthema.stats.Domain`)."""
    codes = domain.encode(df[list(dictionary.names)]).codes
    numbers = np.column_stack([ordered_values(df[v.name], v) for v in dictionary.variables]) \
        if len(dictionary) else np.zeros((len(df), 0))
    return Sample(np.asarray(codes), numbers.astype(float))
