"""What crosses the wire between the server and the sites, and the arithmetic both sides check.

This module imports no Flower: it is the federation's contract, shared by the ServerApp, the
ClientApp and their tests.

**A query** (:class:`Query`) asks every site for the marginals of a list of cliques over the
public domain. Each site answers with one integer vector: its exact counts of every clique,
concatenated, plus a vector of discrete Gaussian noise with standard deviation
``share_sigma`` per cell. The vectors are summed under SecAgg+, so the server sees only

    Σ_sites counts + Σ_sites noise.

**Noise split.** The central mechanism adds N_Z(0, σ²) per cell. With n sites of which up to t
may drop out, each site adds a share of variance σ²/(n − t), so any n − t surviving shares
carry at least σ² together (:func:`share_sigma`). A sum of discrete Gaussians is not a
discrete Gaussian: it is accounted with the distributed discrete Gaussian bound of Kairouz,
Liu and Steinke (ICML 2021), :func:`synthema.privacy.analysis.distributed_dgauss_rho`, with
n − t shares, sensitivity √K for K marginals and dimension d = total cells. The share is
raised a little, where needed, until that bound is at most the central cost K/(2σ²), so the
synthesizer's budget plan holds unchanged in both modes.

**Exact secure sums.** SecAgg+ clips every entry to ±``CLIPPING_RANGE`` and quantises with
quantization_range = 2·``CLIPPING_RANGE``: integers within range pass unchanged. The masked sum
lives modulo ``MODULUS`` = 2³², so at most :data:`MAX_SITES` sites fit without wrap-around.
A site whose vector leaves the range refuses (Flower would clip it silently).

>>> q = Query("q-1", (("sex",), ("sex", "age")), share_sigma=12.5, n_sites=3,
...           min_contributors=2, fingerprint="abc", label="test")
>>> Query.from_config(q.to_config()) == q
True
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from synthema.errors import FederationError, ParameterError
from synthema.privacy.analysis import distributed_dgauss_rho, gaussian_rho

if TYPE_CHECKING:
    from synthema.stats.domain import Domain
    from synthema.stats.regroup import Regrouping

CLIPPING_RANGE = 2**24
"""Largest |entry| a site may send; Flower clips silently beyond it, so sites refuse instead."""
QUANTIZATION_RANGE = 2 * CLIPPING_RANGE
"""With quantization_range = 2·clipping_range, Flower's quantiser leaves integers unchanged."""
MODULUS = 2**32
"""SecAgg+ masks live modulo 2³² (Flower's default modulus range)."""
MAX_SITES = MODULUS // QUANTIZATION_RANGE - 1
"""Most sites whose shifted vectors (each in [0, 2C]) sum below the modulus."""
MIN_SHARE_SIGMA = 0.5
"""[KLS21]'s bound needs every share's σ ≥ 1/2."""
REFUSAL = "SYNTHEMA-SITE-REFUSED"
"""Marker in a site's error text: the site said no (budget, bad query), it did not crash."""


def refusal_text(reason: str) -> str | None:
    """What a site said when it refused (the text after :data:`REFUSAL`), or None if the
    reason is not a refusal (a crash, a timeout).

    >>> refusal_text(f"{REFUSAL}: site 'a': over budget")
    "site 'a': over budget"
    >>> refusal_text("connection lost") is None
    True
    """
    head, marker, text = reason.partition(REFUSAL + ": ")
    return text if marker else None


def domain_fingerprint(domain: Domain) -> str:
    """SHA-256 of the public domain (attributes, categories, bin edges): sites and server must
    agree on it, or the same vector position would mean different cells."""
    text = json.dumps(domain.to_json(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def check_sites(n_sites: int, dropouts: int) -> tuple[int, int]:
    """Check a federation plan: n sites (3..MAX_SITES), t dropouts tolerated, t < n/2.

    Raises :class:`~synthema.errors.ParameterError` (a plan the user can correct).

    SecAgg+ unmasks a sum with the planned n − t key shares; more than half of the shares
    are required (2(n − t) > n) so that a server showing different sites different lists of
    dropped sites can never collect both secrets of one site (:mod:`synthema.federation.guard`).

    >>> check_sites(3, 1)
    (3, 1)
    >>> max_dropouts(5)
    2
    """
    for name, value in (("n_sites", n_sites), ("dropouts", dropouts)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParameterError(f"{name} must be a whole number, got {value!r}",
                                 fix=f"give {name} as a whole number")
    if not 3 <= n_sites <= MAX_SITES:
        raise ParameterError(
            f"a federation needs 3 to {MAX_SITES} sites, got {n_sites}",
            fix="SecAgg+ needs at least 3 sites (with 2, each could subtract its own vector "
            "from the sum); fit centrally at one trusted site instead",
        )
    if not 0 <= dropouts <= max_dropouts(n_sites):
        raise ParameterError(
            f"dropouts={dropouts} with {n_sites} sites: it must lie between 0 and "
            f"{max_dropouts(n_sites)}",
            fix="more than half of the sites must contribute to every sum (SecAgg+ unmasks "
            "only with a majority of the key shares)",
        )
    return n_sites, dropouts


def max_dropouts(n_sites: int) -> int:
    """The most dropouts t a plan of ``n_sites`` may tolerate: t < n/2."""
    return (n_sites - 1) // 2


def share_sigma(sigma: float, *, n_cliques: int, dimension: int, contributors: int) -> float:
    """The noise scale each site adds so that any ``contributors`` shares cost at most the
    central ``n_cliques / (2 sigma**2)`` under the distributed discrete Gaussian bound.

    Starts from σ/√m (m = contributors: their variances add up to σ²), at least 1/2, and raises
    it by bisection only as far as the bound's τ·d term requires (for large σ it is 0).

    >>> s = share_sigma(10.0, n_cliques=4, dimension=50, contributors=2)
    >>> round(s, 6) == round(10 / math.sqrt(2), 6)
    True
    >>> share_sigma(1.0, n_cliques=1, dimension=1000, contributors=2) > 1 / math.sqrt(2)
    True
    """
    if not sigma > 0 or not math.isfinite(sigma):
        raise ValueError(f"sigma must be finite and > 0, got {sigma!r}")
    target = n_cliques * gaussian_rho(1.0, sigma)

    def cost(s: float) -> float:
        return distributed_dgauss_rho(
            math.sqrt(n_cliques), s, contributors, dimension=dimension
        )

    low = max(sigma / math.sqrt(contributors), MIN_SHARE_SIGMA)
    while contributors * low * low < sigma * sigma:
        low = math.nextafter(low, math.inf)
    if cost(low) <= target:
        return low
    high = low * 2
    while cost(high) > target:
        high *= 2
    for _ in range(80):
        mid = (low + high) / 2
        if cost(mid) <= target:
            high = mid
        else:
            low = mid
    return high


@dataclass(frozen=True)
class Query:
    """One batch of marginal queries, as every site receives it.

    Args:
        query_id: unique id; a site answers an id once (its ledger charges it once).
        cliques: attribute names per marginal, counts concatenated in this order.
        share_sigma: noise scale each site adds (0: exact counts, only for sites that allow it).
        n_sites: sites asked.
        min_contributors: n − t, the fewest noise shares the accounting assumes.
        fingerprint: :func:`domain_fingerprint` of the server's domain.
        label: what is asked, for the site's ledger.
        regrouping: JSON of a :class:`~synthema.stats.regroup.Regrouping` when the cliques
            refer to the domain's regrouped fine grid (data-adaptive bins chosen from earlier
            noisy answers); empty for the public domain.
    """

    query_id: str
    cliques: tuple[tuple[str, ...], ...]
    share_sigma: float
    n_sites: int
    min_contributors: int
    fingerprint: str
    label: str = ""
    regrouping: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "cliques", tuple(tuple(c) for c in self.cliques))
        if not self.query_id:
            raise FederationError("a query needs a non-empty query_id")
        if not self.cliques:
            raise FederationError(f"query {self.query_id}: no cliques")
        if not (self.share_sigma == 0 or self.share_sigma >= MIN_SHARE_SIGMA):
            raise FederationError(
                f"query {self.query_id}: share_sigma={self.share_sigma!r} is below "
                f"{MIN_SHARE_SIGMA} (the distributed discrete Gaussian bound needs it)"
            )
        if not 1 <= self.min_contributors <= self.n_sites:
            raise FederationError(
                f"query {self.query_id}: min_contributors={self.min_contributors} must lie "
                f"between 1 and n_sites={self.n_sites}"
            )

    @property
    def exact(self) -> bool:
        """True when no noise is asked for (tests and non-private baselines only)."""
        return self.share_sigma == 0

    def regrouped(self) -> Regrouping | None:
        """The query's regrouping, or None (public domain).

        Raises:
            ValueError: malformed regrouping JSON.
        """
        from synthema.stats.regroup import Regrouping

        return Regrouping.from_json(self.regrouping) if self.regrouping else None

    def dimension(self, domain: Domain) -> int:
        """Length of the answer vector: the cells of every clique."""
        return sum(domain.size(c) for c in self.cliques)

    def rho(self, domain: Domain) -> float:
        """ρ one release of the summed answer costs each site, if aggregation holds.

        The [KLS21] bound with n − t shares, or the local-only ρ if that is smaller: the sum
        is the site's own answer plus independent noise of the others, so it can never cost
        more than the site's answer alone (for tiny shares the bound's τ·d term exceeds it).
        """
        if self.exact:
            return math.inf
        bound = distributed_dgauss_rho(
            math.sqrt(len(self.cliques)),
            self.share_sigma,
            self.min_contributors,
            dimension=self.dimension(domain),
        )
        return min(bound, self.local_rho())

    def local_rho(self) -> float:
        """ρ of one site's answer if aggregation were compromised (its own noise only)."""
        if self.exact:
            return math.inf
        return gaussian_rho(math.sqrt(len(self.cliques)), self.share_sigma)

    def to_config(self) -> dict[str, str | int | float]:
        """Flat values a Flower ConfigRecord can carry."""
        return {
            "synthema.query-id": self.query_id,
            "synthema.cliques": json.dumps([list(c) for c in self.cliques]),
            "synthema.share-sigma": float(self.share_sigma),
            "synthema.n-sites": int(self.n_sites),
            "synthema.min-contributors": int(self.min_contributors),
            "synthema.fingerprint": self.fingerprint,
            "synthema.label": self.label,
            "synthema.regrouping": self.regrouping,
        }

    @classmethod
    def from_config(cls, config: Mapping) -> Query:
        """Inverse of :meth:`to_config`.

        Raises:
            FederationError: a key is missing or malformed.
        """
        try:
            return cls(
                query_id=str(config["synthema.query-id"]),
                cliques=tuple(tuple(c) for c in json.loads(str(config["synthema.cliques"]))),
                share_sigma=float(config["synthema.share-sigma"]),
                n_sites=int(config["synthema.n-sites"]),
                min_contributors=int(config["synthema.min-contributors"]),
                fingerprint=str(config["synthema.fingerprint"]),
                label=str(config.get("synthema.label", "")),
                regrouping=str(config.get("synthema.regrouping", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise FederationError(
                f"malformed query from the server ({type(exc).__name__}: {exc})",
                fix="run the same synthema version on the server and every site",
            ) from exc


def split_answer(
    vector: np.ndarray, cliques: Sequence[tuple[str, ...]], domain: Domain
) -> list[np.ndarray]:
    """Cut a concatenated answer back into one count vector per clique."""
    sizes = [domain.size(c) for c in cliques]
    if vector.shape != (sum(sizes),):
        raise FederationError(
            f"the summed answer has {vector.size} cells, the query {sum(sizes)}",
            fix="every site must use the server's dictionary (domain fingerprints differ)",
        )
    bounds = np.cumsum([0, *sizes])
    return [vector[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def check_range(vector: np.ndarray, site: str) -> None:
    """Refuse a vector SecAgg+ would clip (silently, in Flower) instead of summing exactly.

    The refusal names no entry: it travels to the server in clear, outside SecAgg+.
    """
    if vector.size and int(np.abs(vector).max()) > CLIPPING_RANGE:
        raise FederationError(
            f"{REFUSAL}: site {site!r}: an answer entry lies beyond the secure-aggregation "
            f"range ±{CLIPPING_RANGE}",
            fix="split the site's table (counts above 16.7 million per cell cannot be summed "
            "exactly with 32-bit masks)",
        )
