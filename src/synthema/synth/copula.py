"""Gaussian copula: a NON-PRIVATE baseline fitted on the data themselves.

The copula keeps each column's distribution over the public domain's codes (categories, bins
and *missing*) and the rank correlations between columns: every code is mapped to the normal
score of the middle of its cumulative-probability interval, the correlation matrix of those
scores is estimated, and sampling draws correlated normals and maps them back through each
column's cumulative distribution. Values are then drawn within bins as for every synthesizer.

It is **not differentially private**: it reads exact counts. It exists to show what a
classical, non-private generator achieves. It accepts a DataFrame (encoded directly) or a
:class:`~synthema.stats.CentralSource` (whose exact one- and two-way marginals it asks for,
``sigma=0``); any other statistics source, such as a federation whose sites must never release
exact counts, is refused. ``privacy_spent_`` reports ρ = ε = inf and ``private: False``.
"""

from __future__ import annotations

import itertools
import logging
import math

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from synthema.errors import SynthemaError
from synthema.schema import Dictionary
from synthema.stats import CentralSource, Domain, StatisticsSource
from synthema.synth.base import BaseSynthesizer, FitContext
from synthema.synth.pgm import required_zeros

_LOG = logging.getLogger(__name__)


def normal_scores(probabilities: np.ndarray) -> np.ndarray:
    """Normal score of each code: Φ⁻¹ of the middle of its cumulative interval.

    >>> np.round(normal_scores(np.array([0.5, 0.5])), 4).tolist()
    [-0.6745, 0.6745]
    """
    upper = np.cumsum(probabilities)
    middle = np.clip(upper - probabilities / 2, 1e-9, 1 - 1e-9)
    return ndtri(middle)


def nearest_correlation(matrix: np.ndarray) -> np.ndarray:
    """A valid correlation matrix near ``matrix`` (eigenvalues clipped, unit diagonal)."""
    sym = (matrix + matrix.T) / 2
    values, vectors = np.linalg.eigh(sym)
    fixed = vectors @ np.diag(np.clip(values, 1e-6, None)) @ vectors.T
    scale = np.sqrt(np.diag(fixed))
    out = fixed / np.outer(scale, scale)
    np.fill_diagonal(out, 1.0)
    return out


class GaussianCopulaSynthesizer(BaseSynthesizer):
    """Non-private Gaussian copula over the public domain's codes (a baseline).

    Args:
        dictionary: a :class:`~synthema.schema.Dictionary`, or a built-in name or YAML path.
        epsilon: ignored (the copula is not private); accepted so that every method takes
            the same arguments.
        delta: reported in ``privacy_spent_`` only.
        random_state: seed for sampling.
    """

    method = "copula"
    private = False
    label = "non-private baseline (Gaussian copula)"

    def _as_source(self, source, dictionary: Dictionary):
        if isinstance(source, pd.DataFrame | CentralSource):
            return _Raw(source, dictionary)
        if isinstance(source, StatisticsSource):
            raise SynthemaError(
                f"the Gaussian copula needs the raw data, but got a {type(source).__name__}; "
                "it is a non-private baseline and cannot run on noisy or federated statistics",
                fix="pass the DataFrame (or a CentralSource) to fit, or use a private method "
                "such as 'mst' or 'aim'",
            )
        return super()._as_source(source, dictionary)

    def _fit(self, fit: FitContext) -> None:
        source, domain, dictionary = fit.source, fit.domain, fit.dictionary
        if math.isfinite(float(self.epsilon)):
            _LOG.info(
                "the Gaussian copula is a non-private baseline: epsilon=%s is ignored",
                self.epsilon,
            )
        if not isinstance(source, _Raw):
            raise TypeError(f"internal: expected raw data, got {type(source).__name__}")
        probabilities, correlation = source.copula(domain)
        for (name,), zeros in required_zeros(domain, dictionary).items():
            p = np.where(np.isinf(zeros), 0.0, probabilities[name])
            if p.sum() > 0:
                probabilities[name] = p / p.sum()
        self.probabilities_ = probabilities
        self.correlation_ = correlation

    def _draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        names = self.domain_.names
        chol = np.linalg.cholesky(self.correlation_)
        z = rng.standard_normal((n, len(names))) @ chol.T
        u = ndtr(z)
        codes = np.empty((n, len(names)), dtype=np.int64)
        for j, name in enumerate(names):
            cdf = np.cumsum(self.probabilities_[name])
            cdf[-1] = 1.0
            codes[:, j] = np.minimum(np.searchsorted(cdf, u[:, j], side="right"), cdf.size - 1)
        return codes

    def _conditional_logp(self, name: str, codes: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            logp = np.log(self.probabilities_[name])
        return np.broadcast_to(logp, (codes.shape[0], logp.size)).copy()

    def _state(self) -> tuple[dict, dict[str, np.ndarray]]:
        arrays = {"correlation": self.correlation_}
        for j, name in enumerate(self.domain_.names):
            arrays[f"p_{j}"] = self.probabilities_[name]
        return {"names": list(self.domain_.names)}, arrays

    def _set_state(self, meta: dict, arrays: dict[str, np.ndarray]) -> None:
        self.correlation_ = np.asarray(arrays["correlation"])
        self.probabilities_ = {
            name: np.asarray(arrays[f"p_{j}"]) for j, name in enumerate(meta["names"])
        }


class _Raw:
    """The data a copula may read: a DataFrame, or a CentralSource's exact marginals."""

    def __init__(self, data: pd.DataFrame | CentralSource, dictionary: Dictionary) -> None:
        self.data = data
        self.domain = data.domain if isinstance(data, CentralSource) else _domain(dictionary)

    def copula(self, domain: Domain) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """(per-attribute code probabilities, correlation of normal scores)."""
        names = domain.names
        if isinstance(self.data, pd.DataFrame):
            codes = domain.encode(self.data).codes
            n = max(len(codes), 1)
            probs = {
                a: np.bincount(codes[:, j], minlength=domain[a].size) / n
                for j, a in enumerate(names)
            }
            scores = (
                np.column_stack([normal_scores(probs[a])[codes[:, j]] for j, a in enumerate(names)])
                if len(codes)
                else np.zeros((0, len(names)))
            )
            with np.errstate(invalid="ignore", divide="ignore"):
                corr = np.corrcoef(scores, rowvar=False) if len(codes) > 1 else np.eye(len(names))
            corr = np.atleast_2d(np.nan_to_num(corr, nan=0.0))
            return probs, nearest_correlation(corr)
        ones = self.data.measure([(a,) for a in names], sigma=0)  # exact counts: NOT PRIVATE
        total = max(ones[0].total, 1)
        probs = {m.clique[0]: m.noisy_counts / total for m in ones}
        z = {a: normal_scores(probs[a]) for a in names}
        mean = {a: float(probs[a] @ z[a]) for a in names}
        sd = {a: math.sqrt(max(float(probs[a] @ z[a] ** 2) - mean[a] ** 2, 0.0)) for a in names}
        corr = np.eye(len(names))
        pairs = list(itertools.combinations(range(len(names)), 2))
        answers = self.data.measure([(names[i], names[j]) for i, j in pairs], sigma=0)
        for (i, j), m in zip(pairs, answers, strict=True):
            a, b = names[i], names[j]
            if sd[a] == 0 or sd[b] == 0:
                continue
            table = m.noisy_counts.reshape(domain[a].size, domain[b].size) / total
            cov = float(z[a] @ table @ z[b]) - mean[a] * mean[b]
            corr[i, j] = corr[j, i] = cov / (sd[a] * sd[b])
        return probs, nearest_correlation(corr)


def _domain(dictionary: Dictionary) -> Domain:
    return Domain.from_dictionary(dictionary)
