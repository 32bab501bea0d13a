"""One hospital's side of a federated fit: its data, its budget, its answers.

A :class:`Site` is configured by the hospital, not by the server (Flower's *node config*, given
to ``flower-supernode --node-config``; see docs/federation.md):

============================ =============================================================
``site-name``                the name in the site's ledger and in every message it sends
``data``                     the site's harmonised, validated table (CSV, TSV, xlsx, parquet)
``ledger``                   the SQLite budget ledger on the site's disk (created if missing)
``epsilon-max``, ``delta``   the site's budget as (ε, δ)-DP; or ``rho-max`` in zCDP
``allow-exact-counts``       answer ``share_sigma = 0`` queries (tests only; default false)
``dictionary``               the site's dictionary (default: the one the run names)
``local-epsilon-max``        optional cap on the *local-only* guarantee (the site's answers
                             seen alone, if secure aggregation failed), as ε at ``delta``;
``local-rho-max``            or in zCDP (give at most one of the two)
``transcript``               a folder where the site keeps a copy of every vector it released
``consortium-sites``         how many sites the site's agreement says take part (required): a
                             fit or query claiming another number is refused
``min-dropouts``             the fewest dropouts t a fit must tolerate; a larger t means a
                             larger noise share per site (default 0: the server's t)
============================ =============================================================

What the site enforces itself, whatever the server asks: the query refers to the site's own
public domain (fingerprints match), the noise share is at least 1/2 (or exact counts were
allowed by the site), the ρ of the release — computed by the site from the query, not taken
from the server — is charged to the site's ledger **before** the answer is returned, a query
id is answered once, every entry fits SecAgg+'s range, and the number of sites the query's
accounting counts on is the one the site signed up for (``consortium-sites``): the site's ρ
assumes that n − t of the n sites add noise, so a server claiming more sites than exist would
make each share too small; with ``min-dropouts`` the site also refuses a plan that tolerates
fewer dropouts than it asks for. Every charge records both guarantees, the aggregated ρ and
the local-only ρ of the site's own share, and ``local-*-max`` caps the latter. The SecAgg+
rounds themselves are checked against the plan by
:mod:`synthema.federation.guard`. Any refusal raises a
:class:`~synthema.errors.FederationError` whose text starts with
:data:`~synthema.federation.protocol.REFUSAL` and names the site.
"""

from __future__ import annotations

import difflib
import json
import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synthema.errors import FederationError, SynthemaError
from synthema.federation.protocol import REFUSAL, Query, check_range, domain_fingerprint
from synthema.privacy.analysis import cdp_epsilon, cdp_rho
from synthema.privacy.ledger import BudgetLedger
from synthema.privacy.mechanisms import add_discrete_gaussian
from synthema.schema import Dictionary, load_dictionary
from synthema.stats.domain import Domain
from synthema.stats.marginals import check_clique, marginal_counts
from synthema.stats.regroup import RegroupedCodes, domain_of

_LOG = logging.getLogger(__name__)

_WHOLE = re.compile(r"[0-9]+")  # str.isdigit() also accepts '²', which int() refuses

NODE_CONFIG_KEYS = (
    "site-name",
    "data",
    "ledger",
    "epsilon-max",
    "delta",
    "rho-max",
    "local-epsilon-max",
    "local-rho-max",
    "allow-exact-counts",
    "dictionary",
    "transcript",
    "consortium-sites",
    "min-dropouts",
)


def _flag(value: object, key: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "1", "yes"}:
        return True
    if text in {"false", "0", "no", ""}:
        return False
    raise FederationError(f"node config {key}={value!r} is not true or false")


def _budget(config: Mapping, name: str, prefix: str, delta: float, *, required: bool):
    """ρ from ``{prefix}epsilon-max`` (at ``delta``) or ``{prefix}rho-max``; None if neither."""
    eps_key, rho_key = f"{prefix}epsilon-max", f"{prefix}rho-max"
    has_eps, has_rho = eps_key in config, rho_key in config
    if has_eps and has_rho or required and not (has_eps or has_rho):
        raise FederationError(
            f"site {name!r}: give the {prefix}budget as exactly one of {eps_key} or {rho_key}",
            fix=f"e.g. --node-config \"... {eps_key}=4.0 delta=1e-6\"",
        )
    if not (has_eps or has_rho):
        return None
    key = eps_key if has_eps else rho_key
    try:
        value = float(config[key])
    except (TypeError, ValueError):
        value = math.nan
    if not value > 0 or math.isinf(value):
        raise FederationError(f"site {name!r}: {key}={config[key]!r} must be finite and > 0")
    return cdp_rho(value, delta) if has_eps else value


@dataclass(frozen=True)
class SiteConfig:
    """A site's own settings (see the module docstring for the node-config keys)."""

    name: str
    data: Path
    ledger: Path
    rho_max: float
    delta: float = 1e-6
    allow_exact: bool = False
    dictionary: str | None = None
    transcript: Path | None = None
    consortium_sites: int | None = None
    min_dropouts: int = 0
    local_rho_max: float | None = None

    @classmethod
    def from_node_config(cls, config: Mapping) -> SiteConfig:
        """Read and check a Flower node config.

        Raises:
            FederationError: a required key is missing, a key is misspelt, or a value is bad.
        """
        config = dict(config)
        for key in config:
            if key not in NODE_CONFIG_KEYS:
                close = difflib.get_close_matches(key, NODE_CONFIG_KEYS, n=1)
                if close:
                    raise FederationError(
                        f"node config has '{key}': did you mean '{close[0]}'?",
                        fix="rename it in --node-config; known keys: "
                        + ", ".join(NODE_CONFIG_KEYS),
                    )
        name = str(config.get("site-name", "")).strip()
        if not name:
            raise FederationError(
                "node config lacks site-name",
                fix='start the SuperNode with --node-config "site-name=\'hospital-a\' ..."',
            )
        for key in ("data", "ledger"):
            if not str(config.get(key, "")).strip():
                raise FederationError(
                    f"site {name!r}: node config lacks '{key}'",
                    fix=f"add {key}=\"/path/...\" to the SuperNode's --node-config",
                )
        delta = float(config.get("delta", 1e-6))
        if not 0 < delta < 1:
            raise FederationError(f"site {name!r}: delta={delta!r} must lie in (0, 1)")
        rho_max = _budget(config, name, "", delta, required=True)
        local_rho_max = _budget(config, name, "local-", delta, required=False)
        transcript = str(config.get("transcript", "")).strip()
        dictionary = str(config.get("dictionary", "")).strip()
        min_dropouts = str(config.get("min-dropouts", "0")).strip() or "0"
        if not _WHOLE.fullmatch(min_dropouts):
            raise FederationError(
                f"site {name!r}: min-dropouts={min_dropouts!r} must be a whole number >= 0",
                fix="e.g. min-dropouts=1: every fit must still hold its noise if a site drops",
            )
        consortium = str(config.get("consortium-sites", "")).strip()
        if not consortium:
            raise FederationError(
                f"site {name!r}: node config lacks consortium-sites (the number of hospitals in "
                "the site's agreement); without it a server could claim more sites and shrink "
                "every site's noise share",
                fix="add consortium-sites=N to the SuperNode's --node-config (N = the number of "
                "hospitals in the federation; `synthema federate up` sets it)",
            )
        if not _WHOLE.fullmatch(consortium) or int(consortium) < 3:
            raise FederationError(
                f"site {name!r}: consortium-sites={consortium!r} must be a whole number >= 3",
                fix="set it to the number of hospitals in the federation, e.g. consortium-sites=3",
            )
        return cls(
            name=name,
            data=Path(str(config["data"])),
            ledger=Path(str(config["ledger"])),
            rho_max=rho_max,
            delta=delta,
            allow_exact=_flag(config.get("allow-exact-counts", False), "allow-exact-counts"),
            dictionary=dictionary or None,
            transcript=Path(transcript) if transcript else None,
            consortium_sites=int(consortium),
            min_dropouts=int(min_dropouts),
            local_rho_max=local_rho_max,
        )


class Site:
    """A site that answers federated queries from its own table, within its own budget.

    Args:
        config: the site's :class:`SiteConfig`.
        dictionary: the run's dictionary (name or YAML path), used unless the site names its own.
    """

    def __init__(self, config: SiteConfig, dictionary: str | Path | Dictionary) -> None:
        self.config = config
        self.dictionary = load_dictionary(config.dictionary or dictionary)
        self.domain = Domain.from_dictionary(self.dictionary)
        self.fingerprint = domain_fingerprint(self.domain)
        self._codes: np.ndarray | None = None
        self._views: RegroupedCodes | None = None

    @property
    def name(self) -> str:
        return self.config.name

    def _refuse(self, message: str, fix: str = "") -> FederationError:
        return FederationError(f"{REFUSAL}: site {self.name!r}: {message}", fix=fix)

    def ledger(self) -> BudgetLedger:
        """Open the site's ledger, creating it with the budget from the node config.

        Once the ledger exists its own budget applies: a privacy officer changes it with
        ``synthema budget set`` (recorded with a reason), not by editing the node config.
        """
        self.config.ledger.parent.mkdir(parents=True, exist_ok=True)
        exists = self.config.ledger.exists()
        try:
            ledger = BudgetLedger(
                self.config.ledger,
                rho_max=None if exists else self.config.rho_max,
                site=self.name,
            )
        except SynthemaError as exc:
            raise self._refuse(exc.message, exc.fix) from exc
        if exists and ledger.rho_max != self.config.rho_max:
            _LOG.warning(
                "site %s: the ledger's budget rho_max=%.6g applies (node config says %.6g)",
                self.name, ledger.rho_max, self.config.rho_max,
            )
        return ledger

    def codes(self) -> np.ndarray:
        """The site's table, validated against the dictionary and encoded (read once)."""
        if self._codes is None:
            from synthema.harmonize.validate import validate_file

            path = self.config.data
            # Details (paths, row counts, ids, cell values) stay in the site's own log: the
            # refusal text travels to the server, so it names only the kinds of problem.
            try:
                report = validate_file(path, self.dictionary)
            except SynthemaError as exc:
                _LOG.error("site %s: %s (fix: %s)", self.name, exc.message, exc.fix)
                raise self._refuse(
                    "its data file cannot be read (details in the site's SuperNode log)",
                    fix="the site operator reads the SuperNode log and fixes the file",
                ) from exc
            if not report.ok:
                _LOG.error("site %s: %s; first: %s", self.name, report.totals_line(),
                           report.problems[0])  # fmt: skip
                # not even the kinds of problem: they depend on the data, and no charge has
                # been made for anything the server learns at this point
                raise self._refuse(
                    f"its data fails validation against dictionary {self.dictionary.name!r} "
                    "(details in the site's SuperNode log)",
                    fix="the site operator runs `synthema validate --dictionary "
                    f"{self.dictionary.name} FILE` at the site and fixes what it lists",
                )
            self._codes = self.domain.encode(report.data).codes
            self._views = RegroupedCodes(report.data, self.domain, self._codes)
        return self._codes

    def _plan_problem(self, n_sites: int | None, dropouts: int | None) -> tuple[str, str]:
        """Why the site refuses a fit of ``n_sites`` tolerating ``dropouts`` ('' if it doesn't).

        The site's ρ assumes n − t of the n sites add noise: ``consortium-sites`` pins n,
        ``min-dropouts`` a floor on t (a larger t, a larger share per site). Returns the
        reason and the fix.
        """
        expected, floor = self.config.consortium_sites, self.config.min_dropouts
        if expected is not None and n_sites != expected:
            return (f"the server counts {n_sites} sites in the federation; the site's node "
                    f"config says consortium-sites={expected}",
                    "run the fit with --sites equal to the consortium's number of hospitals")
        if floor and (dropouts is None or dropouts < floor):
            return (f"the fit tolerates {dropouts} dropout(s); the site's node config asks for "
                    f"min-dropouts={floor} (a larger noise share per site)",
                    f"run the fit with --dropouts {floor} or more")  # fmt: skip
        return "", ""

    def hello(
        self, *, fingerprint: str, planned_rho: float, n_sites: int | None = None,
        dropouts: int | None = None,
    ) -> dict[str, str | float | bool]:
        """The site's answer to "will you take part in a fit that may spend ``planned_rho``?".

        Checks the domain and the plan (``consortium-sites``, ``min-dropouts``), reads the
        data (validation errors surface now, before any query) and compares the plan with
        what is left in the ledger: the aggregated ρ, and the local-only ρ against the
        site's local cap (at most (n − t) × the planned ρ: each share carries at least
        σ²/(n − t)). Sends nothing data-dependent.
        """
        accepts, reason = True, ""
        problem, _ = self._plan_problem(n_sites, dropouts)
        if problem:
            accepts, reason = False, f"site {self.name!r}: {problem}"
        elif fingerprint != self.fingerprint:
            accepts = False
            reason = (
                f"site {self.name!r} uses dictionary {self.dictionary.name!r} "
                f"(version {self.dictionary.version}) whose domain differs from the server's"
            )
        self.codes()
        shares = (n_sites or 0) - (dropouts or 0)
        planned_local = planned_rho * max(shares, 1)
        with self.ledger() as ledger:
            spent, rho_max, remaining = ledger.spent, ledger.rho_max, ledger.remaining
            local_spent, local_cap = ledger.local_spent, self.config.local_rho_max
            if accepts and math.isinf(planned_rho) and not self.config.allow_exact:
                accepts = False
                reason = (
                    f"site {self.name!r} does not release exact counts (a fit without noise); "
                    "set allow-exact-counts=true in its node config for tests only"
                )
            elif accepts and math.isfinite(planned_rho) and planned_rho > remaining:
                accepts = False
                reason = (
                    f"site {self.name!r} has rho={remaining:.6g} left of its budget "
                    f"rho_max={rho_max:.6g} (epsilon={cdp_epsilon(rho_max, self.config.delta):.3g}"
                    f" at delta={self.config.delta:g}); this fit may spend rho={planned_rho:.6g}"
                )
            elif (
                accepts
                and local_cap is not None
                and math.isfinite(planned_rho)
                and local_spent + planned_local > local_cap
            ):
                accepts = False
                reason = (
                    f"site {self.name!r} caps its local-only rho at {local_cap:.6g} "
                    f"({local_spent:.6g} spent); this fit may cost it up to {planned_local:.6g} "
                    f"if aggregation failed ({shares} shares assumed)"
                )
        return {
            "site": self.name,
            "accepts": accepts,
            "reason": reason,
            "rho-max": rho_max,
            "rho-spent": spent,
            "local-rho-spent": local_spent,
            "allow-exact": self.config.allow_exact,
        }

    def answer(self, query: Query) -> tuple[np.ndarray, float]:
        """Counts of every clique plus this site's noise share, charged before it is returned.

        Returns:
            ``(vector, rho)``: the int64 answer and the ρ charged to the site's ledger for it
            (``inf`` for an allowed exact answer, which the ledger cannot hold and skips).

        Raises:
            FederationError: the site refuses (text starts with ``REFUSAL``, names the site).
        """
        problem, fix = self._plan_problem(query.n_sites, query.n_sites - query.min_contributors)
        if problem:
            raise self._refuse(f"query {query.query_id}: {problem}", fix=fix)
        if query.fingerprint != self.fingerprint:
            raise self._refuse(
                "the query's domain differs from the site's dictionary "
                f"{self.dictionary.name!r} version {self.dictionary.version}",
                fix="use the same dictionary (and synthema version) on the server and every site",
            )
        try:
            regrouping = query.regrouped()
            domain = domain_of(self.domain, regrouping)  # checked before the data are read
        except ValueError as exc:
            raise self._refuse(f"bad regrouping in query {query.query_id}: {exc}") from exc
        try:
            cliques = [check_clique(c, domain) for c in query.cliques]
        except (KeyError, ValueError) as exc:
            raise self._refuse(f"bad clique in query {query.query_id}: {exc}") from exc
        if query.exact and not self.config.allow_exact:
            raise self._refuse(
                f"query {query.query_id} asks for exact counts (no noise)",
                fix="exact answers are for tests: set allow-exact-counts=true in a test site's "
                "node config, never at a hospital",
            )
        self.codes()
        _, codes = self._views.view(regrouping)
        rho = query.rho(domain)
        if not query.exact:
            label = (
                f"{query.label or 'query'}: {len(cliques)} marginal(s), "
                f"{query.dimension(domain)} cells, share sigma={query.share_sigma:.6g}, "
                f"assumes >= {query.min_contributors} of {query.n_sites} sites add noise"
            )
            with self.ledger() as ledger:
                try:
                    charge = ledger.charge(
                        rho,
                        query_id=query.query_id,
                        label=label,
                        local_rho=query.local_rho(),
                        local_rho_max=self.config.local_rho_max,
                    )
                except SynthemaError as exc:
                    raise self._refuse(exc.message, exc.fix) from exc
            if charge.replayed:
                raise self._refuse(
                    f"query {query.query_id} was answered before; a second answer would be a "
                    "second release under the same charge",
                    fix="the server must send every query with a fresh id",
                )
        counts = np.concatenate(marginal_counts(codes, cliques, domain))
        if query.exact:
            vector = counts
        else:
            # noise from the OS's cryptographic generator: no seed, nothing to save or replay
            vector = add_discrete_gaussian(counts, sigma=query.share_sigma)
        check_range(vector, self.name)
        self._keep(query, vector, rho)
        return vector, rho

    def _keep(self, query: Query, vector: np.ndarray, rho: float) -> None:
        """Keep a copy of what left the site, when the site asked for a transcript."""
        folder = self.config.transcript
        if folder is None:
            return
        # the noisy answers carry only the site's own noise share: owner-only, like the data
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        np.save(folder / f"{query.query_id}.npy", vector)
        with (folder / "released.jsonl").open("a", encoding="utf-8") as fh:
            record = {"query_id": query.query_id, "cells": int(vector.size), "rho": rho}
            fh.write(json.dumps(record) + "\n")
