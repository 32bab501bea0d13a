"""Federated answers: the same statistics seam as ``CentralSource``, answered by many sites.

:class:`FederatedSource` implements :class:`~synthema.stats.StatisticsSource`. Each
``measure`` call becomes one :class:`~synthema.federation.protocol.Query`, sent to every site
through a :class:`SecureSum` (in production, one Flower SecAgg+ round: see
:mod:`synthema.federation.server_app`). What comes back is only the integer sum of the sites'
noisy answers; it is cut into one :class:`~synthema.stats.Measurement` per clique.

Release rules (checked here, on the server, before a synthesizer sees anything):

- a site that *refused* (budget, domain, bad query) stops the fit with its own message;
- fewer contributors than ``n_sites - dropouts`` means less noise than accounted: the sum is
  discarded and :class:`~synthema.errors.InsufficientNoiseError` raised;
- each measurement reports ``rho_spent`` = the per-site charge / K, which is never more than
  the central cost 1/(2σ²) the synthesizer planned (see :func:`protocol.share_sigma`).
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Protocol

import numpy as np

from synthema.errors import FederationError, InsufficientNoiseError
from synthema.federation.protocol import (
    Query,
    check_sites,
    domain_fingerprint,
    refusal_text,
    share_sigma,
    split_answer,
)
from synthema.stats._api import Clique, Measurement
from synthema.stats.central import check_sigma
from synthema.stats.domain import Domain
from synthema.stats.marginals import check_clique
from synthema.stats.regroup import Regrouping, domain_of

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class SiteFailure:
    """A site that did not contribute to a round: who (when known) and Flower's reason."""

    site: str
    reason: str

    @property
    def refused(self) -> bool:
        """True when the site said no on purpose (budget, domain), not when it crashed."""
        return refusal_text(self.reason) is not None


@dataclass(frozen=True)
class RoundRecord:
    """One secure-sum round as the server saw it: what was asked, who answered, what it cost.

    ``rho_per_site`` is the aggregated ρ each contributing site charged (``inf`` for exact
    counts), ``local_rho_per_site`` the ρ of one site's answer seen alone; ``charges`` the
    ρ each site reported (-1 for exact counts). :meth:`to_dict` is the JSON form of the
    fit summary's ``rounds``.
    """

    round: int
    query_id: str
    marginals: int
    cells: int
    sigma: float
    share_sigma: float
    contributors: tuple[str, ...]
    failures: tuple[SiteFailure, ...]
    rho_per_site: float
    local_rho_per_site: float
    charges: Mapping[str, float]
    seconds: float
    bytes_received: int

    def to_dict(self) -> dict:
        """JSON-ready values (failures as ``{"site", "reason"}``)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["contributors"] = list(self.contributors)
        out["failures"] = [{"site": f.site, "reason": f.reason} for f in self.failures]
        out["charges"] = dict(self.charges)
        return out

    @classmethod
    def from_dict(cls, raw: Mapping) -> RoundRecord:
        """Inverse of :meth:`to_dict`."""
        values = {f.name: raw[f.name] for f in fields(cls)}
        values["contributors"] = tuple(raw["contributors"])
        values["failures"] = tuple(SiteFailure(f["site"], f["reason"]) for f in raw["failures"])
        values["charges"] = dict(raw["charges"])
        return cls(**values)


@dataclass
class SumResult:
    """What the server learns from one secure-sum round."""

    vector: np.ndarray | None
    contributors: list[str]
    failures: list[SiteFailure] = field(default_factory=list)
    charges: dict[str, float] = field(default_factory=dict)
    bytes_received: int = 0


class SecureSum(Protocol):
    """Sums one integer vector per site without revealing any single one to the caller."""

    def secure_sum(self, query: Query, dimension: int) -> SumResult: ...


class FederatedSource:
    """Noisy marginals summed across sites: a StatisticsSource for federated fits.

    Args:
        domain: the public domain (every site must have the same fingerprint).
        transport: the secure sum (Flower SecAgg+ in production).
        n_sites: sites in the federation.
        dropouts: sites that may drop out of a round while the release still carries at least
            the central noise (default 1). Each site adds variance σ²/(n − t).
    """

    def __init__(
        self, domain: Domain, transport: SecureSum, *, n_sites: int, dropouts: int = 1
    ) -> None:
        self._domain = domain
        self.transport = transport
        self.n_sites, self.dropouts = check_sites(n_sites, dropouts)
        self.fingerprint = domain_fingerprint(domain)
        self._run = uuid.uuid4().hex[:12]
        self.rounds: list[RoundRecord] = []

    def __repr__(self) -> str:
        return f"FederatedSource(<{len(self._domain)} attributes>, n_sites={self.n_sites})"

    @property
    def domain(self) -> Domain:
        return self._domain

    @property
    def min_contributors(self) -> int:
        return self.n_sites - self.dropouts

    def measure(
        self,
        cliques: Sequence[Clique],
        *,
        sigma: float,
        regrouping: Regrouping | None = None,
    ) -> list[Measurement]:
        """Noisy marginals over ``cliques``: one secure-sum round over all sites.

        Each site draws its noise share from its own operating system's cryptographic
        generator; nothing on the server can seed or replay it. With a ``regrouping`` (public:
        chosen from earlier noisy answers) the cliques refer to the regrouped fine grid, as
        for :meth:`synthema.stats.CentralSource.measure`; every site counts its records into
        those bins before adding its noise share.

        Raises:
            FederationError: a site refused (message names the site), or no sum came back.
            InsufficientNoiseError: fewer than n − t sites contributed noise.
        """
        sigma = check_sigma(sigma)
        if isinstance(cliques, str):
            raise ValueError("cliques must be a sequence of tuples of attribute names")
        domain = domain_of(self._domain, regrouping)
        checked = tuple(check_clique(c, domain) for c in cliques)
        if not checked:
            return []
        query = self._query(checked, sigma, domain, regrouping)
        dimension = query.dimension(domain)
        start = time.perf_counter()
        result = self.transport.secure_sum(query, dimension)
        record = self._record(query, sigma, dimension, result, time.perf_counter() - start,
                              domain)
        self.rounds.append(record)
        self._check_release(record, result)
        vector = np.asarray(result.vector, dtype=np.int64)
        parts = split_answer(vector, checked, domain)
        stddev = query.share_sigma * math.sqrt(len(result.contributors))  # 0 for exact counts
        return [
            Measurement(c, p, stddev=stddev, rho_spent=record.rho_per_site / len(checked))
            for c, p in zip(checked, parts, strict=True)
        ]

    def _query(self, cliques: tuple[Clique, ...], sigma: float, domain: Domain,
               regrouping: Regrouping | None) -> Query:
        """The round's query: each site's noise share sized for the n − t fewest shares."""
        dimension = sum(domain.size(c) for c in cliques)
        m = self.min_contributors
        share = (
            0.0
            if sigma == 0
            else share_sigma(sigma, n_cliques=len(cliques), dimension=dimension, contributors=m)
        )
        index = len(self.rounds) + 1
        return Query(
            query_id=f"{self._run}-{index:04d}",
            cliques=cliques,
            share_sigma=share,
            n_sites=self.n_sites,
            min_contributors=m,
            fingerprint=self.fingerprint,
            label=f"round {index}: " + ", ".join("×".join(c) for c in cliques[:3])
            + (f" and {len(cliques) - 3} more" if len(cliques) > 3 else ""),
            regrouping=regrouping.to_json() if regrouping is not None else "",
        )

    def _record(self, query: Query, sigma: float, dimension: int, result: SumResult,
                seconds: float, domain: Domain) -> RoundRecord:
        return RoundRecord(
            round=len(self.rounds) + 1,
            query_id=query.query_id,
            marginals=len(query.cliques),
            cells=dimension,
            sigma=sigma,
            share_sigma=query.share_sigma,
            contributors=tuple(sorted(result.contributors)),
            failures=tuple(result.failures),
            rho_per_site=query.rho(domain),  # per site; inf for exact counts
            local_rho_per_site=query.local_rho(),
            charges=dict(result.charges),
            seconds=round(seconds, 3),
            bytes_received=result.bytes_received,
        )

    def _check_release(self, record: RoundRecord, result: SumResult) -> None:
        """Stop on a refusal, discard a sum with fewer noise shares than accounted."""
        index, m = record.round, self.min_contributors
        refused = [f for f in result.failures if f.refused]
        if refused:
            raise FederationError(
                f"round {index} stopped: {refusal_text(refused[0].reason)}"
                + (f" (and {len(refused) - 1} more site(s) refused)" if len(refused) > 1 else ""),
                fix="nothing was released to the synthesizer; the site's operator decides "
                "(raise its budget with `synthema budget set`, or leave it out of the run)",
            )
        n = len(result.contributors)
        if result.vector is None or n < m:
            raise InsufficientNoiseError(
                f"round {index}: only {n} of {self.n_sites} sites contributed "
                f"({', '.join(sorted(result.contributors)) or 'none'}); the accounting assumes "
                f"at least {m}, so the sum carries less noise than planned and is discarded"
                + (f"; failures: {result.failures[0].reason[:200]}" if result.failures else ""),
                fix="restart the missing SuperNodes and run again (the sites' ledgers keep "
                "what they charged: an answer that may have left a site is never refunded)",
            )
        if n < self.n_sites:
            _LOG.warning(
                "round %d: %d of %d sites contributed (%s dropped); the noise still meets the "
                "accounted sigma", index, n, self.n_sites, self.n_sites - n,
            )
