"""Accounting: every measurement is charged, and nothing is asked past ρ(ε, δ)."""

from __future__ import annotations

import math

import pytest

from synthema.errors import BudgetExceededError
from synthema.privacy import cdp_rho, gaussian_rho
from synthema.stats import CentralSource, Measurement
from synthema.synth import PrivacyBudget, create_synthesizer


class CountingSource:
    """Wraps a source; counts questions; can overcharge to mimic a misreporting source."""

    def __init__(self, inner, *, overcharge: float = 1.0):
        self.inner = inner
        self.asked = 0
        self.overcharge = overcharge

    @property
    def domain(self):
        return self.inner.domain

    def measure(self, cliques, *, sigma):
        self.asked += 1
        out = self.inner.measure(cliques, sigma=sigma)
        return [
            Measurement(m.clique, m.noisy_counts, m.stddev, m.rho_spent * self.overcharge)
            for m in out
        ]


@pytest.fixture()
def source(small_dictionary, aml_data):
    return CountingSource(CentralSource(aml_data, small_dictionary))


def test_shares_become_noise_scales_that_fit_the_budget(delta):
    # Setup
    budget = PrivacyBudget(1.0, delta)

    # Run
    sigma = budget.sigma(budget.rho / 3, 27)

    # Assert
    assert 27 * gaussian_rho(1.0, sigma) <= budget.rho / 3
    assert budget.rho == cdp_rho(1.0, delta)


def test_refused_before_asking_when_over_budget(source, delta):
    # Setup
    budget = PrivacyBudget(1.0, delta)
    small = budget.sigma(budget.rho, 2)  # two marginals would use everything

    # Run
    budget.measure(
        source, [("age",), ("sex",)], sigma=small, label="a"
    )
    with pytest.raises(BudgetExceededError, match="more than the"):
        budget.measure(source, [("ecog",)], sigma=small, label="b")

    # Assert: the refused batch never reached the source and cost nothing
    assert source.asked == 1
    assert budget.spent <= budget.rho
    assert [label for _, label in budget.accountant.history] == ["a"]


def test_fit_stops_when_a_source_charges_more_than_planned(small_dictionary, aml_data):
    # Setup
    source = CountingSource(CentralSource(aml_data, small_dictionary), overcharge=4.0)
    synth = create_synthesizer("independent", dictionary=small_dictionary, epsilon=1.0)

    # Run / Assert
    with pytest.raises(BudgetExceededError, match="would exceed"):
        synth.fit(source)
    assert not hasattr(synth, "privacy_spent_")


def test_mst_budget_split_in_three(small_dictionary, aml_data, delta):
    # Setup
    source = CountingSource(CentralSource(aml_data, small_dictionary))
    synth = create_synthesizer(
        "mst", dictionary=small_dictionary, epsilon=4.0, delta=delta, random_state=0
    )
    seen = []
    inner = source.measure

    def record(cliques, *, sigma):
        out = inner(cliques, sigma=sigma)
        seen.append(sum(m.rho_spent for m in out))
        return out

    source.measure = record

    # Run
    synth.fit(source)

    # Assert: one-way, selection and measurement each get a third of rho
    rho = cdp_rho(4.0, delta)
    assert seen == pytest.approx([rho / 3] * 3, rel=1e-6)
    assert sum(seen) <= rho


def test_non_private_runs_are_labelled(source):
    # Setup
    budget = PrivacyBudget(math.inf, 1e-6)

    # Run
    out = budget.measure(source, [("age",)], sigma=0.0, label="x")

    # Assert
    assert not out[0].is_private
    assert budget.report() == {
        "rho": math.inf,
        "epsilon": math.inf,
        "delta": 1e-6,
        "private": False,
    }
