"""Central answers: noisy marginals of one table held by a trusted curator.

:class:`CentralSource` is the single-site (or pooled, trusted-curator) implementation of
:class:`~synthema.stats._api.StatisticsSource`. It encodes the table once, keeps only the codes,
and answers each query with exact counts (:func:`~synthema.stats.marginals.partial_counts`) plus
discrete Gaussian noise of scale sigma
(:func:`synthema.privacy.mechanisms.add_discrete_gaussian`), so integer counts stay integers and
no floating-point side channel exists. The noise is read from the operating system's
cryptographic generator at each call: no seed reaches it, so two sources over the same table
give different answers and nothing saved can replay them. Its public API never returns rows,
the number of rows or an exact count, with one exception: :func:`dp_training_codes`
hands the encoded records to a trainer that clips each record's influence and adds its own
charged noise (DP-SGD, :mod:`synthema.synth.dpvae`). The zCDP cost of each marginal is
``gaussian_rho(1, sigma) = 1 / (2 sigma**2)`` (L2 sensitivity 1, see
:mod:`synthema.stats.marginals`).

>>> import numpy as np, pandas as pd
>>> from synthema.schema import Dictionary
>>> d = Dictionary.from_mapping({"name": "x", "version": 1, "variables": [
...     {"name": "sex", "type": "categorical", "categories": ["F", "M"]}]})
>>> src = CentralSource(pd.DataFrame({"sex": ["F", "M", "M", None]}), d)
>>> [m] = src.measure([("sex",)], sigma=0)
>>> m.noisy_counts.tolist(), m.is_private
([1, 2, 1], False)
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from synthema.privacy.analysis import gaussian_rho
from synthema.privacy.mechanisms import add_discrete_gaussian
from synthema.schema import Dictionary
from synthema.stats._api import Clique, Measurement
from synthema.stats.binning import DEFAULT_MAX_BINS
from synthema.stats.domain import Domain
from synthema.stats.marginals import check_clique, marginal_counts, partial_counts
from synthema.stats.regroup import RegroupedCodes, Regrouping

_LOG = logging.getLogger(__name__)


def check_sigma(sigma: float) -> float:
    """``sigma`` as a float, checked: finite and >= 0 (0 means exact counts).

    Raises:
        ValueError: sigma is negative, NaN, infinite or not a number.
    """
    if isinstance(sigma, bool) or not isinstance(sigma, int | float | np.floating | np.integer):
        raise ValueError(f"sigma must be a number, got {sigma!r}")
    sigma = float(sigma)
    if not math.isfinite(sigma) or sigma < 0:
        raise ValueError(
            f"sigma must be finite and >= 0, got {sigma!r} (0 = exact counts, no privacy; "
            "an infinite sigma would measure nothing: leave the clique out instead)"
        )
    return sigma


class CentralSource:
    """Noisy marginals of one typed DataFrame, answered by the curator that holds it.

    Args:
        data: a typed frame with the dictionary's columns (patient id optional; when present
            it must be unique). It is encoded once; the frame itself is not kept.
        domain: the public domain, or a dictionary to discretise with ``max_bins``.
        max_bins: bins per numeric variable when ``domain`` is a dictionary.

    Raises:
        SynthemaError: the frame cannot be encoded (absent column, unknown category,
            repeated patient id). Values outside the bounds are clipped and logged.
    """

    def __init__(
        self,
        data: pd.DataFrame,
        domain: Domain | Dictionary,
        *,
        max_bins: int = DEFAULT_MAX_BINS,
    ) -> None:
        if isinstance(domain, Dictionary):
            domain = Domain.from_dictionary(domain, max_bins=max_bins)
        elif not isinstance(domain, Domain):
            raise TypeError(f"domain must be a Domain or a Dictionary, got {type(domain)}")
        encoding = domain.encode(data)
        self._domain = domain
        self._codes = encoding.codes
        self._codes.flags.writeable = False
        self._clipped = dict(encoding.clipped)
        # the fine public grid, for data-adaptive bins (synthema.stats.regroup)
        self._views = RegroupedCodes(data, domain, self._codes)

    def __repr__(self) -> str:
        return f"CentralSource(<{len(self._domain)} attributes>)"

    @property
    def domain(self) -> Domain:
        """The public domain the cliques refer to."""
        return self._domain

    def measure(
        self,
        cliques: Sequence[Clique],
        *,
        sigma: float,
        regrouping: Regrouping | None = None,
    ) -> list[Measurement]:
        """Noisy marginals over ``cliques`` with discrete Gaussian noise of scale ``sigma``.

        Each marginal costs ``rho = 1 / (2 sigma**2)`` (reported per measurement); the batch
        costs the sum. The noise comes from OS entropy (never a seed). ``sigma = 0`` releases
        exact counts labelled ``rho_spent = inf``: for tests and non-private baselines only.
        With a ``regrouping`` the cliques refer to ``domain_of(domain, regrouping)`` (the
        fine grid, regrouped): records are counted into those bins before the noise is added.

        Raises:
            ValueError: bad sigma, a clique that is a string or repeats a name, or a bad
                regrouping.
            KeyError: an unknown attribute.
        """
        sigma = check_sigma(sigma)
        if isinstance(cliques, str):
            raise ValueError("cliques must be a sequence of tuples of attribute names")
        domain, codes = self._views.view(regrouping)
        checked = [check_clique(c, domain) for c in cliques]
        if sigma == 0:
            _LOG.warning("sigma = 0: releasing exact counts of %d marginal(s)", len(checked))
        exact = marginal_counts(codes, checked, domain)
        if sigma == 0:
            return [Measurement(c, n, stddev=0.0, rho_spent=math.inf)
                    for c, n in zip(checked, exact, strict=True)]
        # one draw for the whole batch: every cell gets its own independent noise all the
        # same (the sampler is vectorised; a call per clique cost more than the counting)
        if not exact:
            return []
        ends = np.cumsum([n.size for n in exact])
        flat = np.concatenate(exact)
        noisy = np.split(add_discrete_gaussian(flat, sigma=sigma), ends[:-1])  # OS entropy
        rho = gaussian_rho(1, sigma)
        return [Measurement(c, n, stddev=sigma, rho_spent=rho)
                for c, n in zip(checked, noisy, strict=True)]

    def _exact_counts(self, clique: Sequence[str]) -> np.ndarray:
        """Exact counts over a clique: private, for ``measure`` and tests only."""
        return partial_counts(self._codes, clique, self._domain)


def dp_training_codes(source: CentralSource) -> np.ndarray:
    """The encoded records of ``source`` (rows × attributes, read-only), for DP-SGD only.

    A model trained with per-record gradient clipping and noise (the neural synthesizers)
    needs the records themselves; it adds its own noise and charges its own budget
    (:mod:`synthema.privacy.dpsgd`). This is deliberately a function, not a method: the
    source's public API stays ``domain`` and ``measure`` and exposes no rows.
    """
    if not isinstance(source, CentralSource):
        raise TypeError(f"expected a CentralSource, got {type(source).__name__}")
    return source._codes
