"""What a site checks in each SecAgg+ round before it hands anything over.

Flower's ``secaggplus_mod`` (flwr 1.41) takes the threshold, the number of shares and, at the
end, the lists of surviving ("active") and dropped ("dead") sites from the server unchecked.
An honest-but-curious server follows the protocol, but three cheap deviations would break it:

- **a threshold below the plan**: the accounting assumes at least n − t noise shares in every
  released sum; a lower SecAgg+ threshold lets the server unmask a sum of fewer;
- **a site listed both active and dead** at the unmask stage: each site then returns both the
  self-mask share and the secret-key share of that site, and with enough of them the server
  removes every mask from that one site's vector;
- **a small active set**: unmasking the sum of fewer sites than the plan's n − t.

So every site runs :func:`check_setup` on the SecAgg+ parameters, :func:`check_plan` when the
query arrives (before counting, charging or sending anything derived from its data), and
:func:`check_unmask` before it returns its key shares. A failed check raises a refusal
(:data:`~synthema.federation.protocol.REFUSAL` + the site's name) that stops the fit. The
checks also require more than half of the shares to unmask (2 × threshold > shares).

What they do **not** give is security against a malicious server. An independent review
reproduced, with real Flower messages, three attacks that pass every check: withholding some
share ciphertexts from a site so that it masks against fewer peers (n = 5, t = 2); showing
different sites different active/dead lists, which unmasks a sum of fewer than n − t shares
(n ≥ 5, t ≥ 2); and substituting the sites' public keys at the key exchange (Flower's SecAgg+
keys are not authenticated), which unmasks one site's vector under every plan. Closing them
needs authenticated SecAgg+ keys and the consistency round of Bonawitz et al. (CCS 2017),
which Flower 1.41 does not have. Against such a server a site keeps its local-only guarantee
(recorded on every ledger charge, and cappable). This module imports no Flower; the mod that
calls it is :func:`synthema.federation.client_app.guarded_secaggplus_mod`.

>>> setup = SecAggSetup(sample_num=3, share_num=3, threshold=2, clipping_range=float(2**24),
...                     target_range=2**25, mod_range=2**32, max_weight=1.0)
>>> check_setup(setup, site="a", consortium_sites=3)
>>> check_unmask([1, 2], [3], neighbours={1, 2, 3}, own=1, min_contributors=2, site="a")
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from synthema.errors import FederationError
from synthema.federation.protocol import (
    CLIPPING_RANGE,
    MODULUS,
    QUANTIZATION_RANGE,
    REFUSAL,
    Query,
)

_FIX = (
    "the server did not follow the plan the site agreed to; nothing more was released. "
    "Run the published synthema ServerApp, and tell the consortium if this repeats"
)


@dataclass(frozen=True)
class SecAggSetup:
    """The SecAgg+ parameters a site receives in the setup stage (Flower's keys, our names)."""

    sample_num: int
    share_num: int
    threshold: int
    clipping_range: float
    target_range: int
    mod_range: int
    max_weight: float


def _refuse(site: str, message: str) -> FederationError:
    return FederationError(f"{REFUSAL}: site {site!r}: {message}", fix=_FIX)


def check_setup(setup: SecAggSetup, *, site: str, consortium_sites: int | None) -> None:
    """Refuse SecAgg+ parameters that cannot belong to a synthema plan.

    Raises:
        FederationError: a refusal naming what is wrong.
    """
    expected = {
        "clipping range": (setup.clipping_range, float(CLIPPING_RANGE)),
        "quantization range": (setup.target_range, QUANTIZATION_RANGE),
        "modulus": (setup.mod_range, MODULUS),
        "max weight": (setup.max_weight, 1.0),
    }
    for name, (got, want) in expected.items():
        if got != want:
            raise _refuse(site, f"SecAgg+ {name} is {got!r}, the protocol's is {want!r}")
    if setup.share_num != setup.sample_num:
        raise _refuse(
            site,
            f"SecAgg+ shares among {setup.share_num} of {setup.sample_num} sites; every site "
            "must hold a share of every other",
        )
    if consortium_sites is not None and setup.sample_num > consortium_sites:
        raise _refuse(
            site,
            f"SecAgg+ round over {setup.sample_num} sites; the site's agreement has "
            f"consortium-sites={consortium_sites}",
        )
    if not 2 <= setup.threshold <= setup.share_num or 2 * setup.threshold <= setup.share_num:
        raise _refuse(
            site,
            f"SecAgg+ threshold {setup.threshold} of {setup.share_num} shares: it must be at "
            "least 2 and more than half of the shares",
        )


def check_plan(setup: SecAggSetup, query: Query, *, site: str) -> None:
    """Refuse a round whose SecAgg+ threshold differs from the query's planned n − t.

    Called when the query arrives, before the site counts, charges or sends anything.

    Raises:
        FederationError: a refusal naming the mismatch.
    """
    if setup.threshold != query.min_contributors:
        raise _refuse(
            site,
            f"query {query.query_id}: the SecAgg+ threshold is {setup.threshold} but the plan "
            f"counts on {query.min_contributors} noise shares (n - t = {query.n_sites} - "
            f"{query.n_sites - query.min_contributors}); a sum of fewer shares carries less "
            "noise than the site is charged for",
        )
    if setup.share_num > query.n_sites:
        raise _refuse(
            site,
            f"query {query.query_id}: SecAgg+ round over {setup.share_num} sites, the plan has "
            f"{query.n_sites}",
        )


def check_unmask(
    active: Sequence[int],
    dead: Sequence[int],
    *,
    neighbours: Collection[int],
    own: int,
    min_contributors: int,
    site: str,
) -> None:
    """Refuse an unmask request that would expose one site's vector or a too small sum.

    Args:
        active, dead: the node ids the server says contributed / dropped.
        neighbours: the nodes the site exchanged keys with in this round (itself included).
        own: the site's node id.
        min_contributors: the plan's n − t for this round's query.

    Raises:
        FederationError: a refusal naming the problem (no key share is returned).
    """
    both = sorted(set(active) & set(dead))
    if both:
        raise _refuse(
            site,
            f"the unmask request lists {len(both)} site(s) as both contributing and dropped: "
            "answering would let the server remove every mask from one site's answer",
        )
    if len(set(active)) != len(active) or len(set(dead)) != len(dead):
        raise _refuse(site, "the unmask request repeats a site")
    unknown = (set(active) | set(dead)) - set(neighbours)
    if unknown:
        raise _refuse(
            site, f"the unmask request names {len(unknown)} site(s) that never shared keys"
        )
    if own not in active:
        raise _refuse(
            site, "the unmask request lists this site as dropped although it sent its answer"
        )
    if len(active) < min_contributors:
        raise _refuse(
            site,
            f"the unmask request sums {len(active)} sites; the plan counts on at least "
            f"{min_contributors} noise shares",
        )
