"""A site's own enforcement: config, ledger charged before release, refusals, noise share."""

from __future__ import annotations

import math

import numpy as np
import pytest
from fedhelpers import make_site

from synthema.errors import FederationError
from synthema.federation.protocol import REFUSAL, Query
from synthema.federation.site import SiteConfig
from synthema.privacy.analysis import cdp_rho
from synthema.privacy.ledger import BudgetLedger
from synthema.stats.marginals import partial_counts


def query(site, cliques, share, *, qid="q-1", n=3, m=2, fingerprint=None):
    return Query(qid, cliques, share_sigma=share, n_sites=n, min_contributors=m,
                 fingerprint=fingerprint or site.fingerprint)  # fmt: skip


def test_node_config_is_checked():
    base = {"site-name": "a", "data": "x.csv", "ledger": "l.sqlite", "epsilon-max": 2.0,
            "consortium-sites": 3}  # fmt: skip
    assert SiteConfig.from_node_config(base).rho_max > 0
    with pytest.raises(FederationError, match="did you mean 'epsilon-max'"):
        SiteConfig.from_node_config({**base, "epsilon_max": 1.0})
    with pytest.raises(FederationError, match="lacks site-name"):
        SiteConfig.from_node_config({k: v for k, v in base.items() if k != "site-name"})
    with pytest.raises(FederationError, match="lacks 'ledger'"):
        SiteConfig.from_node_config({k: v for k, v in base.items() if k != "ledger"})
    with pytest.raises(FederationError, match="exactly one of"):
        SiteConfig.from_node_config({**base, "rho-max": 0.1})
    with pytest.raises(FederationError, match="not true or false"):
        SiteConfig.from_node_config({**base, "allow-exact-counts": "maybe"})
    assert SiteConfig.from_node_config({**base, "allow-exact-counts": "true"}).allow_exact


def test_answer_is_counts_plus_noise_and_charged_before_release(tmp_path, site_files,
                                                                small_dictionary):  # fmt: skip
    site = make_site(tmp_path, site_files[0], small_dictionary, "a", allow_exact=True)
    cliques = (("sex",), ("eln2022", "npm1"))
    exact, rho = site.answer(query(site, cliques, 0.0, qid="exact"))
    expected = np.concatenate([partial_counts(site.codes(), c, site.domain) for c in cliques])
    assert np.array_equal(exact, expected) and math.isinf(rho)
    q = query(site, cliques, 3.0, qid="noisy")
    noisy, rho = site.answer(q)
    assert rho == q.rho(site.domain)
    assert not np.array_equal(noisy, exact)
    with BudgetLedger(site.config.ledger) as ledger:
        [charge] = ledger.charges()  # the exact answer was not charged (infinite rho)
        assert (charge.query_id, charge.rho) == ("noisy", rho)
        assert charge.local_rho == pytest.approx(q.local_rho()) and charge.local_rho >= rho
    with pytest.raises(FederationError, match="answered before"):
        site.answer(q)  # a replayed id would be a second release under one charge


def test_noise_share_has_the_planned_variance(tmp_path, site_files, small_dictionary):
    """Per-site variance sigma^2/(n - t): 60,000 cells, sample variance within 3 %."""
    site = make_site(tmp_path, site_files[0], small_dictionary, "a", epsilon_max=1e6)
    cliques = (("age", "wbc", "eln2022"),) * 1  # 1,000+ cells
    share = 4.2
    exact = np.concatenate([partial_counts(site.codes(), c, site.domain) for c in cliques])
    noise = []
    for i in range(60_000 // exact.size + 1):
        vector, _ = site.answer(query(site, cliques, share, qid=f"v{i}"))
        noise.append(vector - exact)
    noise = np.concatenate(noise)
    # mean 0 within 5 standard errors (4.2 / sqrt(60,000) = 0.017; P(fail) < 1e-6: the old
    # bound of 0.05 was 2.9 standard errors and failed about once in 270 runs)
    assert abs(noise.mean()) < 5 * share / np.sqrt(noise.size)
    assert noise.var() == pytest.approx(share**2, rel=0.03)
    assert noise.dtype == np.int64


def test_budget_refusal_names_the_site_and_charges_nothing(tmp_path, site_files,
                                                           small_dictionary):  # fmt: skip
    site = make_site(tmp_path, site_files[1], small_dictionary, "hospital-b", epsilon_max=0.05)
    q = query(site, (("sex",),), 0.6, qid="big")
    assert q.rho(site.domain) > site.config.rho_max
    with pytest.raises(FederationError) as info:
        site.answer(q)
    assert REFUSAL in str(info.value) and "'hospital-b'" in str(info.value)
    assert "exceed the budget" in str(info.value)
    with BudgetLedger(site.config.ledger) as ledger:
        assert ledger.charges() == []
    hello = site.hello(fingerprint=site.fingerprint, planned_rho=1.0, n_sites=3, dropouts=1)
    assert not hello["accepts"] and "hospital-b" in hello["reason"]
    assert "rho=" in hello["reason"] and "left of its budget" in hello["reason"]
    assert site.hello(fingerprint=site.fingerprint, planned_rho=site.config.rho_max / 2,
                      n_sites=3, dropouts=1)["accepts"]  # fmt: skip


def test_exact_counts_wrong_domain_and_bad_data_are_refused(tmp_path, site_files,
                                                            small_dictionary):  # fmt: skip
    site = make_site(tmp_path, site_files[0], small_dictionary, "a")
    with pytest.raises(FederationError, match="exact counts"):
        site.answer(query(site, (("sex",),), 0.0))
    hello = site.hello(fingerprint=site.fingerprint, planned_rho=math.inf, n_sites=3)
    assert not hello["accepts"] and "exact counts" in hello["reason"]
    with pytest.raises(FederationError, match="domain differs"):
        site.answer(query(site, (("sex",),), 2.0, fingerprint="other"))
    hello = site.hello(fingerprint="other", planned_rho=0.01, n_sites=3)
    assert not hello["accepts"] and "domain differs" in hello["reason"]
    bad = tmp_path / "bad.csv"
    bad.write_text(site_files[0].read_text().replace(",F,", ",female,", 1))
    broken = make_site(tmp_path, bad, small_dictionary, "c")
    with pytest.raises(FederationError, match="fails validation") as info:
        broken.answer(query(broken, (("sex",),), 2.0))
    # the refusal reaches the server: no path, row count, row number, cell value or even the
    # kind of problem (data-dependent, and nothing has been charged for it) in it
    text = str(info.value) + info.value.fix
    assert "bad.csv" not in text and "female" not in text and "rows" not in text
    assert "category" not in text
    assert not any(ch.isdigit() for ch in str(info.value).split("site 'c'")[1])


def test_ledger_budget_changed_by_the_officer_applies(tmp_path, site_files, small_dictionary):
    site = make_site(tmp_path, site_files[0], small_dictionary, "a", epsilon_max=4.0)
    site.answer(query(site, (("sex",),), 5.0, qid="one"))
    with BudgetLedger(site.config.ledger) as ledger:
        ledger.set_budget(ledger.spent_exact, reason="officer: no more releases")
    with pytest.raises(FederationError, match="exceed the budget"):
        site.answer(query(site, (("sex",),), 5.0, qid="two"))


def test_consortium_size_is_checked_before_anything_is_charged(tmp_path, site_files,
                                                               small_dictionary):  # fmt: skip
    # Setup: the site signed up for a 3-site federation; a server claiming 10 sites with
    # t = 0 would ask for a share of sigma/sqrt(10), too small if only 3 sites exist
    site = make_site(tmp_path, site_files[0], small_dictionary, "a", **{"consortium-sites": 3})
    assert site.config.consortium_sites == 3
    for bad in ("two", "²", "3.0", "-3", "2"):
        with pytest.raises(FederationError, match="whole number >= 3"):
            make_site(tmp_path, site_files[0], small_dictionary, "b", **{"consortium-sites": bad})

    # Run / Assert: the hello and a query with another n are refused, nothing is charged
    hello = site.hello(fingerprint=site.fingerprint, planned_rho=0.01, n_sites=10)
    assert not hello["accepts"] and "consortium-sites=3" in hello["reason"]
    assert "'a'" in hello["reason"]
    with pytest.raises(FederationError, match="counts 10 sites.*consortium-sites=3"):
        site.answer(query(site, (("sex",),), 2.0, n=10, m=10))
    with BudgetLedger(site.config.ledger) as ledger:  # created by the hello, never charged
        assert ledger.charges() == []
    # the agreed size is accepted
    assert site.hello(fingerprint=site.fingerprint, planned_rho=0.01, n_sites=3)["accepts"]
    site.answer(query(site, (("sex",),), 2.0, n=3, m=2))
    with BudgetLedger(site.config.ledger) as ledger:
        assert len(ledger.charges()) == 1


def test_min_dropouts_refuses_a_plan_with_smaller_shares(tmp_path, site_files, small_dictionary):
    # Setup: a site that wants its noise to hold even if one site drops (t >= 1)
    site = make_site(tmp_path, site_files[0], small_dictionary, "a", **{"min-dropouts": 1})
    assert site.config.min_dropouts == 1
    with pytest.raises(FederationError, match="whole number >= 0"):
        make_site(tmp_path, site_files[0], small_dictionary, "b", **{"min-dropouts": "-1"})

    # Run / Assert: t = 0 refused at the join round and per query, before any charge
    hello = site.hello(fingerprint=site.fingerprint, planned_rho=0.01, n_sites=3, dropouts=0)
    assert not hello["accepts"] and "min-dropouts=1" in hello["reason"]
    with pytest.raises(FederationError, match="tolerates 0 dropout.*min-dropouts=1") as info:
        site.answer(query(site, (("sex",),), 2.0, n=3, m=3))
    assert "--dropouts 1" in info.value.fix
    with BudgetLedger(site.config.ledger) as ledger:
        assert ledger.charges() == []
    # t = 1 is what the site asked for
    assert site.hello(fingerprint=site.fingerprint, planned_rho=0.01, n_sites=3,
                      dropouts=1)["accepts"]  # fmt: skip
    site.answer(query(site, (("sex",),), 2.0, n=3, m=2))
    with BudgetLedger(site.config.ledger) as ledger:
        assert len(ledger.charges()) == 1


def test_a_site_without_consortium_sites_refuses_to_join():
    # Setup: a hand-written node config that forgot the federation's size
    config = {"site-name": "a", "data": "x.csv", "ledger": "l.sqlite", "epsilon-max": 2.0}

    # Run / Assert: the site cannot even be configured, so it answers no message at all
    with pytest.raises(FederationError, match="lacks consortium-sites") as info:
        SiteConfig.from_node_config(config)
    assert "consortium-sites=N" in info.value.fix


def test_local_cap_is_read_from_the_node_config():
    base = {"site-name": "a", "data": "x.csv", "ledger": "l.sqlite", "epsilon-max": 2.0,
            "consortium-sites": 3}  # fmt: skip
    assert SiteConfig.from_node_config(base).local_rho_max is None
    assert SiteConfig.from_node_config({**base, "local-rho-max": 0.5}).local_rho_max == 0.5
    as_eps = SiteConfig.from_node_config({**base, "local-epsilon-max": 3.0, "delta": 1e-6})
    assert as_eps.local_rho_max == pytest.approx(cdp_rho(3.0, 1e-6))
    with pytest.raises(FederationError, match="exactly one of local-epsilon-max"):
        SiteConfig.from_node_config({**base, "local-rho-max": 0.5, "local-epsilon-max": 3.0})
    with pytest.raises(FederationError, match="local-rho-max='x' must be finite"):
        SiteConfig.from_node_config({**base, "local-rho-max": "x"})


def test_both_guarantees_are_charged_and_the_local_cap_is_enforced(tmp_path, site_files,
                                                                  small_dictionary):  # fmt: skip
    # Setup: a 3-site plan with t = 1 (each share alone costs twice the aggregated release)
    site = make_site(tmp_path, site_files[0], small_dictionary, "a", epsilon_max=4.0,
                     **{"local-rho-max": 0.05})  # fmt: skip
    first = query(site, (("sex",),), 6.0, qid="first")
    rho, local = first.rho(site.domain), first.local_rho()
    assert local == pytest.approx(2 * rho, rel=1e-6)

    # Run: the join round, then queries until the local cap would be passed
    planned = 0.02
    hello = site.hello(fingerprint=site.fingerprint, planned_rho=planned, n_sites=3, dropouts=1)
    too_much = site.hello(fingerprint=site.fingerprint, planned_rho=0.03, n_sites=3, dropouts=1)
    site.answer(first)
    answered = 1
    with pytest.raises(FederationError, match="local cap") as info:
        while True:
            site.answer(query(site, (("sex",),), 6.0, qid=f"q{answered}"))
            answered += 1

    # Assert
    assert hello["accepts"] and not too_much["accepts"]
    assert "local-only rho at 0.05" in too_much["reason"]
    assert REFUSAL in str(info.value)
    with BudgetLedger(site.config.ledger) as ledger:
        charges = ledger.charges()
        assert len(charges) == answered == int(0.05 // local)
        assert all(c.local_rho == pytest.approx(local) for c in charges)
        assert all(c.rho == pytest.approx(rho) for c in charges)
        assert ledger.local_spent <= 0.05 < ledger.local_spent + local
