"""FederatedSource's release rules and accounting, over an in-process secure sum.

The real transport (Flower SecAgg+ between real processes) is exercised by
tests/integration/test_federation.py; here the same server-side code runs in milliseconds.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from fedhelpers import LocalSum, make_site

from synthema.errors import FederationError, InsufficientNoiseError, ParameterError
from synthema.federation.source import FederatedSource
from synthema.privacy.ledger import BudgetLedger
from synthema.stats import CentralSource
from synthema.synth import create_synthesizer


@pytest.fixture()
def sites(tmp_path, site_files, small_dictionary):
    return [make_site(tmp_path, p, small_dictionary, f"site_{i}", allow_exact=True)
            for i, p in enumerate(site_files[:3], 1)]  # fmt: skip


def test_noise_off_counts_equal_central_counts(sites, site_frames, small_domain):
    source = FederatedSource(small_domain, LocalSum(sites), n_sites=3)
    central = CentralSource(pd.concat(site_frames[:3], ignore_index=True), small_domain)
    cliques = [("sex",), ("age", "eln2022"), ("os_days", "os_status", "npm1"), ()]
    fed = source.measure(cliques, sigma=0)
    cen = central.measure(cliques, sigma=0)
    for a, b in zip(fed, cen, strict=True):
        assert a.clique == b.clique and np.array_equal(a.noisy_counts, b.noisy_counts)
        assert not a.is_private


@pytest.mark.parametrize("method", ["mst", "independent"])
def test_noise_off_federated_model_samples_like_central(
    method, sites, site_frames, small_dictionary, small_domain
):
    pooled = pd.concat(site_frames[:3], ignore_index=True)
    kw = {"dictionary": small_dictionary, "epsilon": math.inf, "random_state": 3}
    if method == "mst":
        kw["iters"] = 300
    fed = create_synthesizer(method, **kw).fit(
        FederatedSource(small_domain, LocalSum(sites), n_sites=3)
    )
    cen = create_synthesizer(method, **kw).fit(pooled)
    pd.testing.assert_frame_equal(fed.sample(400, random_state=9), cen.sample(400, random_state=9))
    # both chose their bins from the sites' counts on the fine grid (synthema.synth.bins)
    assert fed.domain_ == cen.domain_ and fed.domain_["os_days"].sub_edges


def test_noise_off_counts_on_a_regrouping_equal_central_counts(sites, site_frames, small_domain):
    # Setup
    from synthema.stats.regroup import Regrouping

    source = FederatedSource(small_domain, LocalSum(sites), n_sites=3)
    central = CentralSource(pd.concat(site_frames[:3], ignore_index=True), small_domain)
    regrouping = Regrouping({"os_days": (0, 1, 2, 7, 30), "age": (0, 40)})
    cliques = [("os_days", "os_status"), ("age", "sex")]
    # Run
    fed = source.measure(cliques, sigma=0, regrouping=regrouping)
    cen = central.measure(cliques, sigma=0, regrouping=regrouping)
    # Assert
    for a, b in zip(fed, cen, strict=True):
        assert np.array_equal(a.noisy_counts, b.noisy_counts)
    assert fed[0].noisy_counts.size == 6 * 3 and source.rounds[-1].cells == 6 * 3 + 3 * 3


def test_noise_off_survival_anchor_counts_equal_central_counts(sites, site_frames, small_domain):
    # Setup: the same model bins on both sides, and the anchor's groups of them
    from synthema.stats.regroup import Regrouping
    from synthema.synth import anchor
    from synthema.synth.base import PrivacyBudget
    from synthema.synth.bins import RegroupedSource

    model = Regrouping({"os_days": (0, 1, 2, 7, 30), "age": (0, 10, 20, 40)})
    fed = RegroupedSource(FederatedSource(small_domain, LocalSum(sites), n_sites=3), model)
    cen = RegroupedSource(CentralSource(pd.concat(site_frames[:3], ignore_index=True),
                                        small_domain), model)
    domain = cen.domain
    groups = {"os_days": (0, 0, 1, 1, 2, 3), "age": (0, 1, 1, 1, 2)}
    cliques = [("os_days", "os_status", "age")]
    assert domain["os_days"].size == 6 and domain["age"].size == 5
    # Run
    a = anchor.measure(PrivacyBudget(math.inf, 1e-6), fed, cliques, groups, sigma=0.0,
                       label="anchor")
    b = anchor.measure(PrivacyBudget(math.inf, 1e-6), cen, cliques, groups, sigma=0.0,
                       label="anchor")
    # Assert: identical group counts, 4 x 3 x 3 of them, summing to every patient
    assert np.array_equal(a[0].noisy_counts, b[0].noisy_counts)
    assert a[0].groups == b[0].groups and a[0].noisy_counts.size == 4 * 3 * 3
    assert a[0].noisy_counts.sum() == sum(len(f) for f in site_frames[:3])


def test_a_site_refuses_a_regrouping_beyond_its_fine_grid(sites, small_domain):
    # Setup
    from synthema.federation.protocol import Query, domain_fingerprint

    query = Query("q-bad", (("os_days",),), share_sigma=2.0, n_sites=3, min_contributors=2,
                  fingerprint=domain_fingerprint(small_domain),
                  regrouping='{"os_days":[0,100000]}')
    # Run / Assert
    with pytest.raises(FederationError, match="bad regrouping"):
        sites[0].answer(query)


def test_each_ledger_is_charged_exactly_what_the_fit_spent(sites, small_dictionary, small_domain):
    transport = LocalSum(sites)
    source = FederatedSource(small_domain, transport, n_sites=3)
    synth = create_synthesizer("mst", dictionary=small_dictionary, epsilon=1.0, random_state=1,
                               iters=200).fit(source)  # fmt: skip
    spent = synth.privacy_spent_
    assert spent["private"]
    for site in sites:
        with BudgetLedger(site.config.ledger) as ledger:
            charges = ledger.charges()
            assert [c.rho for c in charges] == [r.rho_per_site for r in source.rounds]
            assert ledger.spent == pytest.approx(spent["rho"], rel=1e-12)
    # never more than the central budget rho(eps=1, delta) the synthesizer planned
    from synthema.privacy.analysis import cdp_rho

    assert spent["rho"] <= cdp_rho(1.0, synth.delta)


def test_one_dropout_is_tolerated_two_are_refused(tmp_path, site_files, small_dictionary,
                                                  small_domain):  # fmt: skip
    four = [make_site(tmp_path, p, small_dictionary, f"s{i}", consortium=4)
            for i, p in enumerate(site_files, 1)]  # fmt: skip
    source = FederatedSource(small_domain, LocalSum(four, drop=("s4",)), n_sites=4, dropouts=1)
    [m] = source.measure([("sex",)], sigma=6.0)
    r = source.rounds[0]
    assert r.contributors == ("s1", "s2", "s3")
    # the noise actually summed (3 shares) still carries the accounted sigma^2
    assert 3 * r.share_sigma**2 >= 6.0**2
    assert m.stddev == pytest.approx(r.share_sigma * math.sqrt(3))
    assert not four[3].config.ledger.exists()  # the dropped site never answered: not charged
    source = FederatedSource(small_domain, LocalSum(four, drop=("s3", "s4")), n_sites=4)
    with pytest.raises(InsufficientNoiseError, match="only 2 of 4 sites.*discarded"):
        source.measure([("sex",)], sigma=6.0)
    with BudgetLedger(four[0].config.ledger) as ledger:
        # a charge made before release is never refunded, even though the sum was discarded
        assert len(ledger.charges()) == 2


def test_a_refusing_site_stops_the_fit_with_its_name(tmp_path, site_files, small_dictionary,
                                                     small_domain):  # fmt: skip
    sites = [make_site(tmp_path, p, small_dictionary, f"h{i}", epsilon_max=4.0 if i != 2 else 0.1)
             for i, p in enumerate(site_files[:3], 1)]  # fmt: skip
    source = FederatedSource(small_domain, LocalSum(sites), n_sites=3)
    synth = create_synthesizer("mst", dictionary=small_dictionary, epsilon=1.0, random_state=1)
    with pytest.raises(FederationError, match=r"round 1 stopped: site 'h2'.*exceed the budget"):
        synth.fit(source)


def test_bad_arguments(sites, small_domain):
    source = FederatedSource(small_domain, LocalSum(sites), n_sites=3)
    with pytest.raises(ValueError, match="sigma"):
        source.measure([("sex",)], sigma=-1)
    with pytest.raises(KeyError):
        source.measure([("nope",)], sigma=1)
    assert source.measure([], sigma=1) == []
    with pytest.raises(ParameterError, match="3 to"):
        FederatedSource(small_domain, LocalSum(sites), n_sites=2)


def test_auto_settles_on_the_sites_noisy_count_and_every_ledger_pays_what_it_spent(
    sites, small_dictionary, small_domain
):
    # Setup: 3 of 4 sites of 480 patients at ε = 1: the noisy count × ε is far below 1,000
    from synthema.privacy.analysis import cdp_rho

    source = FederatedSource(small_domain, LocalSum(sites), n_sites=3)
    synth = create_synthesizer(dictionary=small_dictionary, epsilon=1.0, random_state=1)

    # Run
    synth.fit(source)

    # Assert: three rounds of one-way marginals (the plan's share on the fine grid, then on
    # the chosen bins, then half the rest), then the survival anchor (the dictionary has
    # survival pairs: each pair on the model's bins, then its triples on groups, one sigma),
    # all charged
    spent = synth.privacy_spent_["rho"]
    assert synth.method == "independent" and synth.method_choice.patients < 1000
    assert synth.chosen_.survival_anchor
    assert len(source.rounds) == 5
    assert source.rounds[3].sigma == source.rounds[4].sigma
    assert source.rounds[1].query_id != source.rounds[0].query_id
    assert spent == pytest.approx(cdp_rho(1.0, synth.delta), rel=1e-6)
    for site in sites:
        with BudgetLedger(site.config.ledger) as ledger:
            assert ledger.spent == pytest.approx(spent, rel=1e-12)
