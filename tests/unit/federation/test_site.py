"""A site's own enforcement: config, ledger charged before release, refusals, noise share."""

from __future__ import annotations

import math

import numpy as np
import pytest
from fedhelpers import make_site

from synthema.errors import FederationError
from synthema.federation.protocol import REFUSAL, Query
from synthema.federation.site import SiteConfig
from synthema.privacy.ledger import BudgetLedger
from synthema.stats.marginals import partial_counts


def query(site, cliques, share, *, qid="q-1", n=3, m=2, fingerprint=None):
    return Query(qid, cliques, share_sigma=share, n_sites=n, min_contributors=m,
                 fingerprint=fingerprint or site.fingerprint)  # fmt: skip


def test_node_config_is_checked():
    base = {"site-name": "a", "data": "x.csv", "ledger": "l.sqlite", "epsilon-max": 2.0}
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
        assert "local-only rho" in charge.label
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
    assert abs(noise.mean()) < 0.05
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
    hello = site.hello(fingerprint=site.fingerprint, planned_rho=1.0)
    assert not hello["accepts"] and "hospital-b" in hello["reason"]
    assert site.hello(fingerprint=site.fingerprint, planned_rho=site.config.rho_max / 2)["accepts"]


def test_exact_counts_wrong_domain_and_bad_data_are_refused(tmp_path, site_files,
                                                            small_dictionary):  # fmt: skip
    site = make_site(tmp_path, site_files[0], small_dictionary, "a")
    with pytest.raises(FederationError, match="exact counts"):
        site.answer(query(site, (("sex",),), 0.0))
    assert not site.hello(fingerprint=site.fingerprint, planned_rho=math.inf)["accepts"]
    with pytest.raises(FederationError, match="domain differs"):
        site.answer(query(site, (("sex",),), 2.0, fingerprint="other"))
    assert not site.hello(fingerprint="other", planned_rho=0.01)["accepts"]
    bad = tmp_path / "bad.csv"
    bad.write_text(site_files[0].read_text().replace(",F,", ",female,", 1))
    broken = make_site(tmp_path, bad, small_dictionary, "c")
    with pytest.raises(FederationError, match="fails validation.*category problems") as info:
        broken.answer(query(broken, (("sex",),), 2.0))
    # the refusal reaches the server: no path, row count, row number or cell value in it
    text = str(info.value) + info.value.fix
    assert "bad.csv" not in text and "female" not in text and "rows" not in text
    assert not any(ch.isdigit() for ch in str(info.value).split("site 'c'")[1])


def test_ledger_budget_changed_by_the_officer_applies(tmp_path, site_files, small_dictionary):
    site = make_site(tmp_path, site_files[0], small_dictionary, "a", epsilon_max=4.0)
    site.answer(query(site, (("sex",),), 5.0, qid="one"))
    with BudgetLedger(site.config.ledger) as ledger:
        ledger.set_budget(ledger.spent, reason="officer: no more releases")
    with pytest.raises(FederationError, match="exceed the budget"):
        site.answer(query(site, (("sex",),), 5.0, qid="two"))


def test_consortium_size_is_checked_before_anything_is_charged(tmp_path, site_files,
                                                               small_dictionary):  # fmt: skip
    # Setup: the site signed up for a 3-site federation; a server claiming 10 sites with
    # t = 0 would ask for a share of sigma/sqrt(10), too small if only 3 sites exist
    site = make_site(tmp_path, site_files[0], small_dictionary, "a", **{"consortium-sites": 3})
    assert site.config.consortium_sites == 3
    with pytest.raises(FederationError, match="whole number >= 3"):
        make_site(tmp_path, site_files[0], small_dictionary, "b", **{"consortium-sites": "two"})

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
