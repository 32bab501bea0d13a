"""MST: fidelity without noise, survival by risk group, missingness, noise, noisy selection."""

from __future__ import annotations

import math

import numpy as np
import pytest
from lifelines import KaplanMeierFitter

from synthema.stats import CentralSource, partial_counts
from synthema.synth import create_synthesizer

GRID = np.linspace(0, 3000, 301)


class SpySource:
    """A StatisticsSource that records every question (and is not a CentralSource)."""

    def __init__(self, inner: CentralSource) -> None:
        self.inner = inner
        self.calls: list[tuple[int, float, float]] = []

    @property
    def domain(self):
        return self.inner.domain

    def measure(self, cliques, *, sigma, regrouping=None):
        out = self.inner.measure(cliques, sigma=sigma, regrouping=regrouping)
        self.calls.append((len(out), sigma, sum(m.rho_spent for m in out)))
        return out


def _km_gap(real, synth, group: str) -> float:
    def curve(df):
        keep = (df["eln2022"] == group) & df["os_days"].notna() & df["os_status"].notna()
        km = KaplanMeierFitter().fit(
            df.loc[keep, "os_days"].astype(float), df.loc[keep, "os_status"].astype(bool)
        )
        return km.survival_function_at_times(GRID).to_numpy()

    return float(np.abs(curve(real) - curve(synth)).max())


def test_without_noise_the_model_reproduces_the_measured_marginals(fitted, aml_data, tvd):
    # Setup
    synth = fitted("mst", math.inf)
    domain = synth.domain_
    codes = domain.encode(aml_data).codes

    # Run
    one = [tvd(partial_counts(codes, (a,), domain), synth.model_.marginal((a,))) for a in domain]
    many = [tvd(partial_counts(codes, c, domain), synth.model_.marginal(c)) for c in synth.cliques_]

    # Assert
    assert len(synth.cliques_) >= len(domain) // 2
    assert np.mean(one) < 0.01 and max(one) < 0.03
    assert np.mean(many) < 0.01 and max(many) < 0.05


def test_survival_pairs_are_modelled_with_covariates(fitted):
    # Run
    cliques = fitted("mst", math.inf).cliques_

    # Assert: (time, event) pairs live together, joined with covariates
    for time, event in [("os_days", "os_status"), ("efs_days", "efs_status")]:
        joint = [c for c in cliques if time in c and event in c]
        assert joint and any(len(c) == 3 for c in joint)
    assert ("os_days", "os_status", "eln2022") in cliques


@pytest.mark.parametrize("group", ["favorable", "intermediate", "adverse"])
def test_km_curves_by_eln_risk_match_without_noise(group, fitted, aml_data):
    # Run
    synth = fitted("mst", math.inf).sample(len(aml_data), random_state=3)

    # Assert
    assert _km_gap(aml_data, synth, group) <= 0.1


_DRAWS: dict[int, object] = {}


def _fit_draw(seed, fitted, small_dictionary, aml_data, fixed_noise):
    """MST at ε = 4 on fixed noise draw ``seed`` (draw 0 is the session's shared fit)."""
    if seed == 0:
        return fitted("mst", 4.0)
    if seed not in _DRAWS:
        synth = create_synthesizer("mst", dictionary=small_dictionary, epsilon=4.0, delta=1e-6,
                                   random_state=0)
        with fixed_noise(seed):
            _DRAWS[seed] = synth.fit(aml_data)
    return _DRAWS[seed]


@pytest.mark.parametrize("group", ["favorable", "intermediate", "adverse"])
def test_km_curves_by_eln_risk_stay_close_at_epsilon_4(
    group, fitted, small_dictionary, aml_data, fixed_noise
):
    # Setup: three fixed noise draws; one draw's gap moves by about ±0.05 with the draw
    # (favorable group, public bins: 0.13, 0.15, 0.13; adaptive: 0.22, 0.11, 0.13)
    fits = [_fit_draw(seed, fitted, small_dictionary, aml_data, fixed_noise) for seed in range(3)]

    # Run
    gaps = [_km_gap(aml_data, f.sample(len(aml_data), random_state=3), group) for f in fits]

    # Assert: the mean over the draws
    assert np.mean(gaps) <= 0.2, gaps


def test_missingness_per_column_is_reproduced(fitted, aml_data, small_dictionary):
    # Setup
    names = list(small_dictionary.names)

    # Run
    synth = fitted("mst", math.inf).sample(4000, random_state=8)

    # Assert
    real_rate = aml_data[names].isna().mean()
    gap = (real_rate - synth[names].isna().mean()).abs()
    assert real_rate.max() > 0.5  # the projection keeps mostly-missing columns
    assert gap.max() <= 0.05, gap.sort_values().tail(3).to_dict()


def test_more_noise_at_small_epsilon(fitted, aml_data, tvd):
    # Setup
    def error(eps: float) -> float:
        synth = fitted("mst", eps)
        domain = synth.domain_
        codes = domain.encode(aml_data).codes
        pairs = [c for c in synth.cliques_ if len(c) == 2]
        cliques = [(a,) for a in domain] + pairs
        return float(
            np.mean(
                [tvd(partial_counts(codes, c, domain), synth.model_.marginal(c)) for c in cliques]
            )
        )

    # Run
    low, high = error(4.0), error(0.5)

    # Assert
    assert high > low


def test_selection_uses_noisy_answers_only(small_dictionary, aml_data, fitted, fixed_noise):
    # Setup
    spy = SpySource(CentralSource(aml_data, small_dictionary))
    synth = create_synthesizer("mst", dictionary=small_dictionary, epsilon=4.0, random_state=0)

    # Run
    with fixed_noise(0):
        synth.fit(spy)

    # Assert: five batches (one-way on the fine grid, then on the chosen bins, candidates,
    # selected, and the survival triples on groups of bins at the selected cliques' sigma),
    # all noisy, all accounted
    assert len(spy.calls) == 5
    assert all(sigma > 0 for _, sigma, _ in spy.calls)
    assert spy.calls[4][1] == spy.calls[3][1]
    assert spy.calls[2][0] == len(small_dictionary) * (len(small_dictionary) - 1) // 2
    assert sum(rho for *_, rho in spy.calls) == pytest.approx(synth.privacy_spent_["rho"])
    reference = fitted("mst", 4.0)  # the same seed through a CentralSource: the same model
    assert synth.cliques_ == reference.cliques_


def test_declared_survival_covariates_come_first_then_the_noisy_choice(small_dictionary):
    # Setup: noisy scores that favour npm1, tp53 and sex; the dictionary declares age
    import dataclasses

    from synthema.stats import Domain
    from synthema.synth.mst import public_structure

    domain = Domain.from_dictionary(small_dictionary)
    pair = small_dictionary.survival[0]
    def declaring(*names):
        return dataclasses.replace(small_dictionary, survival=(
            dataclasses.replace(pair, covariates=names), *small_dictionary.survival[1:]))

    declared, plain = declaring("age"), declaring()
    scores = {(pair.time, "npm1"): 9.0, (pair.time, "tp53"): 8.0, (pair.time, "sex"): 7.0,
              (pair.time, "age"): -5.0}

    def triples(d, n):
        s = public_structure(domain, d, scores, covariates="auto", n_covariates=n,
                             max_clique_cells=50_000)
        return [c[2] for c in s.triples if c[:2] == (pair.time, pair.event)]

    # Run / Assert: age although its noisy score is negative, then the n best scored others
    assert triples(declared, 3) == ["age", "npm1", "tp53", "sex"]
    assert triples(declared, 1) == ["age", "npm1"]
    assert triples(declared, 0) == ["age"]
    assert triples(plain, 3) == ["npm1", "tp53", "sex"]


def test_public_structure_joins_each_target_with_its_most_associated_covariates(
    small_dictionary,
):
    # Setup: noisy scores as selection would give them; relapse shares cr's (outcome) group,
    # os_status is a survival column, tp53 is fourth
    import dataclasses

    from synthema.stats import Domain
    from synthema.synth.mst import public_structure

    domain = Domain.from_dictionary(small_dictionary)
    scores = {("age", "cr"): 10.0, ("eln2022", "cr"): 8.0, ("cr", "npm1"): 6.0,
              ("cr", "tp53"): 4.0, ("cr", "relapse"): 30.0, ("cr", "os_status"): 40.0}

    def build(d):
        return public_structure(domain, d, scores, covariates=None, n_covariates=3,
                                max_clique_cells=50_000).cliques

    # Run
    cliques = build(small_dictionary)
    plain = build(dataclasses.replace(small_dictionary, targets=()))

    # Assert
    for pair in [("age", "cr"), ("eln2022", "cr"), ("cr", "npm1")]:
        assert pair in cliques and pair not in plain
    assert ("cr", "tp53") not in cliques and ("cr", "os_status") not in cliques

