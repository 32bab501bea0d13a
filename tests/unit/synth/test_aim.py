"""AIM: bounded rounds, noisy answers only, budget spent, survival triples in the workload."""

from __future__ import annotations

import pytest

from synthema.privacy import cdp_rho
from synthema.stats import CentralSource
from synthema.synth import AIMSynthesizer
from synthema.synth.aim import survival_triples


class SpySource:
    def __init__(self, inner):
        self.inner = inner
        self.calls = []

    @property
    def domain(self):
        return self.inner.domain

    def measure(self, cliques, *, sigma, regrouping=None):
        out = self.inner.measure(cliques, sigma=sigma, regrouping=regrouping)
        self.calls.append((list(cliques), sigma, sum(m.rho_spent for m in out)))
        return out


def test_aim_spends_its_budget_in_bounded_noisy_rounds(
    small_dictionary, aml_data, fitted, delta, fixed_noise
):
    # Setup
    spy = SpySource(CentralSource(aml_data, small_dictionary))
    synth = AIMSynthesizer(dictionary=small_dictionary, epsilon=4.0, delta=delta, random_state=0)

    # Run: the same noise draw as fitted("aim", 4.0)
    with fixed_noise(0):
        synth.fit(spy)

    # Assert: one-way (fine grid, then the chosen bins), workload, then at most `rounds`
    # rounds; every answer noisy
    assert 4 <= len(spy.calls) <= 3 + synth.rounds
    assert all(sigma > 0 for _, sigma, _ in spy.calls)
    spent = sum(rho for *_, rho in spy.calls)
    assert spent == pytest.approx(synth.privacy_spent_["rho"])
    assert spent == pytest.approx(cdp_rho(4.0, delta), rel=1e-6)  # the last round spends the rest
    assert spent <= cdp_rho(4.0, delta) + 1e-9
    workload = spy.calls[2][0]
    assert ("os_days", "os_status", "eln2022") in workload
    assert synth.cliques_ == fitted("aim", 4.0).cliques_  # same seed and noise, same model


def test_aim_measures_survival_pairs_and_rule_columns(fitted):
    # Run
    cliques = fitted("aim", 4.0).cliques_

    # Assert
    assert ("os_days", "os_status") in cliques or any(
        {"os_days", "os_status"} <= set(c) for c in cliques
    )
    assert any({"cr", "relapse"} <= set(c) for c in cliques)
    assert any(len(c) == 3 and c[:2] == ("os_days", "os_status") for c in cliques)


def test_survival_triples_skip_the_outcome_group(small_dictionary):
    # Setup
    from synthema.stats import Domain

    domain = Domain.from_dictionary(small_dictionary)

    # Run
    triples = survival_triples(domain, small_dictionary, max_cells=100_000, limit=1000)

    # Assert
    others = {c[2] for c in triples}
    assert "eln2022" in others and "age" in others
    assert not others & {"cr", "relapse", "os_days", "efs_status"}


def test_aim_parameters_are_checked(small_dictionary, aml_data):
    # Setup
    synth = AIMSynthesizer(dictionary=small_dictionary, rounds=0)

    # Run / Assert
    with pytest.raises(ValueError, match="rounds=0"):
        synth.fit(aml_data)


def test_round_one_takes_the_worst_fit_pairs_of_each_target(small_dictionary):
    # Setup: errors of workload pairs under the independent model
    from synthema.stats import Domain
    from synthema.synth import selection

    domain = Domain.from_dictionary(small_dictionary)
    errors = {("age", "cr"): 10.0, ("eln2022", "cr"): 8.0, ("cr", "npm1"): 6.0,
              ("cr", "tp53"): 4.0, ("cr", "relapse"): 30.0, ("cr", "os_status"): 40.0,
              ("age", "sex"): 99.0}
    synth = AIMSynthesizer(dictionary=small_dictionary, n_covariates=2)

    # Run
    added = synth._target_cliques(errors, selection.Structure(domain.names), small_dictionary,
                                  domain, lambda cliques: 0)

    # Assert: the two worst outside the outcome group and the survival columns
    assert added == [("age", "cr"), ("eln2022", "cr")]
