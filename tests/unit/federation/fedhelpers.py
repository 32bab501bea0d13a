"""Helpers for the federation unit tests: build a Site, and an in-process secure sum."""

from __future__ import annotations

import numpy as np

from synthema.federation.protocol import Query
from synthema.federation.site import Site, SiteConfig
from synthema.federation.source import SiteFailure, SumResult


def make_site(tmp_path, path, dictionary, name, *, epsilon_max=4.0, allow_exact=False,
              consortium=3, **kw):  # fmt: skip
    config = {
        "site-name": name,
        "data": str(path),
        "ledger": str(tmp_path / "ledgers" / f"{name}.sqlite"),
        "epsilon-max": epsilon_max,
        "allow-exact-counts": allow_exact,
        "consortium-sites": consortium,
        **kw,
    }
    return Site(SiteConfig.from_node_config(config), dictionary)


class LocalSum:
    """In-process secure sum for unit tests of the server-side logic: adds the sites' answers.

    The real transport is Flower SecAgg+ (tests/integration/test_federation.py); this one lets
    the release rules, accounting and refusals be tested in milliseconds. ``drop`` names sites
    that do not answer (as if killed before replying).
    """

    def __init__(self, sites: list[Site], drop: tuple[str, ...] = ()) -> None:
        self.sites, self.drop = sites, set(drop)
        self.released: dict[str, list[np.ndarray]] = {s.name: [] for s in sites}

    def secure_sum(self, query: Query, dimension: int) -> SumResult:
        total = np.zeros(dimension, dtype=np.int64)
        contributors, failures, charges = [], [], {}
        for site in self.sites:
            if site.name in self.drop:
                failures.append(SiteFailure(site.name, "no reply (dropped out or timed out)"))
                continue
            try:
                vector, rho = site.answer(query)
            except Exception as exc:  # noqa: BLE001 - Flower turns it into an error reply
                failures.append(SiteFailure(site.name, str(exc)))
                continue
            self.released[site.name].append(vector)
            total += vector
            contributors.append(site.name)
            charges[site.name] = rho
        return SumResult(total if contributors else None, contributors, failures, charges)
