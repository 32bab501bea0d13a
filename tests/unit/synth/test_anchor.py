"""The survival anchor: (time, event, X) marginals counted on coarse groups of the model's bins.

Checked against brute force (the groups' counts from the rows themselves), mbi (the grouped
query is the sum it claims to be), the closed form of the privacy cost, and behaviour: a
covariate that shortens survival still does in the synthetic rows of an anchored fit, and does
not in plain independent marginals.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from synthema.privacy import cdp_rho
from synthema.schema import Dictionary
from synthema.stats import CentralSource, Measurement
from synthema.stats.regroup import Regrouping
from synthema.synth import IndependentSynthesizer, anchor, create_synthesizer
from synthema.synth.base import FitContext, PrivacyBudget
from synthema.synth.bins import RegroupedSource, one_way_step


def _cohort_dictionary() -> Dictionary:
    return Dictionary.from_mapping({
        "name": "anchor", "version": 1,
        "variables": [
            {"name": "age", "type": "integer", "min": 18, "max": 90, "group": "baseline"},
            {"name": "sex", "type": "categorical", "categories": ["F", "M"],
             "group": "baseline"},
            {"name": "stage", "type": "ordinal", "categories": ["I", "II", "III"],
             "group": "baseline"},
            {"name": "time", "type": "duration", "unit": "days", "min": 0, "max": 3000,
             "group": "outcome", "required": True},
            {"name": "dead", "type": "boolean", "group": "outcome", "required": True},
        ],
        "survival": [{"time": "time", "event": "dead"}],
    })


def _cohort(n: int, seed: int) -> pd.DataFrame:
    """Exponential survival whose hazard doubles every 20 years of age; censored at 3,000 d."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 91, n)
    hazard = np.exp(np.log(2) * (age - 55) / 20) / 900
    t = rng.exponential(1 / hazard)
    c = rng.uniform(300, 3000, n)
    return pd.DataFrame({
        "age": pd.array(age, dtype="Int64"),
        "sex": pd.Series(rng.choice(["F", "M"], n), dtype="string"),
        "stage": pd.Series(rng.choice(["I", "II", "III"], n), dtype="string"),
        "time": pd.array(np.minimum(t, c).round(), dtype="Int64"),
        "dead": pd.array(t <= c, dtype="boolean"),
    })


def _fit_context(data, dictionary, epsilon):
    source = CentralSource(data, dictionary)
    budget = PrivacyBudget(epsilon, 1e-6)
    return FitContext(source, source.domain, dictionary, budget, np.random.default_rng(0))


# -- the pieces -------------------------------------------------------------------------------
def test_grouped_measurement_must_match_its_groups():
    ok = Measurement(("a", "b"), np.arange(6), 1.0, 0.5, groups=((0, 0, 1), (0, 1, 1, 2)))
    assert ok.groups == ((0, 0, 1), (0, 1, 1, 2))
    with pytest.raises(ValueError, match="counts for groups"):
        Measurement(("a", "b"), np.arange(5), 1.0, 0.5, groups=((0, 0, 1), (0, 1, 1, 2)))
    with pytest.raises(ValueError, match="none skipped"):
        Measurement(("a",), np.arange(2), 1.0, 0.5, groups=((0, 2, 2),))
    with pytest.raises(ValueError, match="none skipped"):
        Measurement(("a", "b"), np.arange(2), 1.0, 0.5, groups=((0, 1),))


def test_code_groups_split_values_by_mass_and_keep_missing_alone():
    d = _cohort_dictionary()
    domain = CentralSource(_cohort(50, 0), d).domain
    age, sex = domain["age"], domain["sex"]
    p = np.zeros(age.size)
    p[:4] = 0.25  # all the mass in the first four bins
    groups = anchor.code_groups(age, p)
    assert groups[-1] == max(groups) and groups.count(groups[-1]) == 1  # missing alone
    assert max(groups) == anchor.GROUPS  # GROUPS value groups, then missing
    assert list(groups[:-1]) == sorted(groups[:-1])  # consecutive bins
    assert groups[4] == groups[-2]  # the empty tail is one group with the last values
    assert anchor.code_groups(sex, np.full(sex.size, 1 / sex.size)) == tuple(range(sex.size))


def test_grouped_counts_are_the_rows_counted_into_the_groups():
    # Setup: exact counts (sigma 0) on the adaptive bins chosen at eps = inf
    d = _cohort_dictionary()
    data = _cohort(2000, 1)
    fit, ones = one_way_step(_fit_context(data, d, math.inf), rho=math.inf, label="one-way")
    source, domain = fit.source, fit.domain
    assert isinstance(source, RegroupedSource)
    probabilities = {m.clique[0]: m.noisy_counts / m.noisy_counts.sum() for m in ones}
    cliques = [("time", "dead", "age"), ("time", "dead", "stage")]
    groups = anchor.triple_groups(domain, probabilities, cliques)

    # Run
    got = anchor.measure(fit.budget, source, cliques, groups, sigma=0.0, label="anchor")

    # Assert: each answer equals the rows' model codes mapped to groups and counted
    codes = domain.encode(data).codes
    for m in got:
        cols = [domain.names.index(a) for a in m.clique]
        mapped = [np.asarray(groups.get(a, range(domain[a].size)))[codes[:, j]]
                  for a, j in zip(m.clique, cols, strict=True)]
        shape = [max(g) + 1 for g in m.groups]
        expected = np.bincount(np.ravel_multi_index(mapped, shape), minlength=math.prod(shape))
        np.testing.assert_array_equal(m.noisy_counts, expected)
        assert m.groups[0] == groups["time"] and m.groups[1] == tuple(range(3))
    assert got[0].noisy_counts.size == (anchor.GROUPS + 1) * 3 * (anchor.GROUPS + 1)
    assert got[1].groups[2] == tuple(range(domain["stage"].size))  # categories as they are


def test_regrouping_starts_groups_where_the_models_bins_start():
    d = _cohort_dictionary()
    fit, _ = one_way_step(_fit_context(_cohort(500, 2), d, math.inf), rho=math.inf,
                          label="one-way")
    model = fit.source.regrouping.starts["age"]
    groups = {"age": (0,) * 5 + (1,) * (len(model) - 5) + (2,)}
    coarse = anchor.regrouping_for(fit.source, groups)
    assert coarse.starts["age"] == (model[0], model[5])
    assert coarse.starts["time"] == fit.source.regrouping.starts["time"]  # others unchanged
    assert isinstance(coarse, Regrouping)


# -- the fit ----------------------------------------------------------------------------------
def test_anchored_fit_spends_exactly_rho_in_the_closed_form(fixed_noise):
    # Setup: half of rho to one-way marginals, half to the pair and 3 triples (4 marginals)
    d = _cohort_dictionary()
    synth = IndependentSynthesizer(dictionary=d, epsilon=1.0, survival_anchor=True)

    # Run
    with fixed_noise(5):
        synth.fit(_cohort(1500, 3))

    # Assert: the ledger's total is rho(eps, delta), and each part its closed form
    rho = cdp_rho(1.0, 1e-6)
    assert synth.privacy_spent_["rho"] == pytest.approx(rho, rel=1e-6)
    assert sorted(synth.cliques_) == sorted([("time", "dead", "age"), ("time", "dead", "sex"),
                                             ("time", "dead", "stage")])
    assert synth.label.endswith("survival anchored)")


def test_anchored_fit_keeps_the_covariate_that_shortens_survival(fixed_noise):
    # Setup: 3,000 patients at eps = 1, hazard doubling every 20 years of age
    d = _cohort_dictionary()
    data = _cohort(3000, 4)
    old = data["age"] >= 65

    def death_rate_gap(frame):
        old = frame["age"].astype(float) >= 65
        return frame["dead"][old].mean() - frame["dead"][~old].mean()

    real_gap = death_rate_gap(data)
    gaps = {}
    for anchored in (True, False):
        synth = IndependentSynthesizer(dictionary=d, epsilon=1.0, survival_anchor=anchored,
                                       random_state=0)
        with fixed_noise(6):
            synth.fit(data)
        gaps[anchored] = death_rate_gap(synth.sample(6000, random_state=1))

    # Assert: the anchored rows keep most of the gap; independent ones lose it
    assert real_gap > 0.25 and old.sum() > 500
    assert gaps[True] > 0.5 * real_gap
    assert abs(gaps[False]) < 0.05


def test_auto_settles_on_anchored_independent_for_few_patients_with_survival():
    d = _cohort_dictionary()
    synth = create_synthesizer(dictionary=d, epsilon=1.0, random_state=0)
    synth.fit(_cohort(300, 5))
    assert synth.method == "independent" and synth.chosen_.survival_anchor
    assert "survival anchor" in synth.method_choice.reason
    assert synth.privacy_spent_["rho"] == pytest.approx(cdp_rho(1.0, 1e-6), rel=1e-6)
    assert len(synth.sample(50, random_state=1)) == 50


def test_mst_measures_its_survival_triples_on_groups_when_private(fixed_noise):
    d = _cohort_dictionary()
    synth = create_synthesizer("mst", dictionary=d, epsilon=4.0, random_state=0,
                               survival_covariates=["age"])
    calls = []
    real = anchor.measure

    def spy(budget, source, cliques, groups, **kw):
        calls.append((list(cliques), dict(groups)))
        return real(budget, source, cliques, groups, **kw)

    with pytest.MonkeyPatch.context() as patch, fixed_noise(7):
        patch.setattr(anchor, "measure", spy)
        synth.fit(_cohort(1000, 6))
    assert calls and calls[0][0] == [("time", "dead", "age")]
    assert max(calls[0][1]["age"]) == anchor.GROUPS
    assert synth.privacy_spent_["rho"] == pytest.approx(cdp_rho(4.0, 1e-6), rel=1e-6)


def test_mbi_fits_the_group_sums_it_is_given():
    # Setup: exact one-way marginals and an exact grouped (time, dead, age) answer
    from synthema.synth.pgm import fit_model

    d = _cohort_dictionary()
    data = _cohort(2000, 8)
    fit, ones = one_way_step(_fit_context(data, d, math.inf), rho=math.inf, label="one-way")
    probabilities = {m.clique[0]: m.noisy_counts / m.noisy_counts.sum() for m in ones}
    clique = ("time", "dead", "age")
    groups = anchor.triple_groups(fit.domain, probabilities, [clique])
    [m] = anchor.measure(fit.budget, fit.source, [clique], groups, sigma=0.0, label="anchor")

    # Run
    model = fit_model(fit.domain, [*ones, m], iters=2000)

    # Assert: the model's marginal summed into the groups is the answer (within 1 %)
    table = model.marginal(clique) * m.total
    for axis, g in enumerate(m.groups):
        onehot = np.zeros((max(g) + 1, len(g)))
        onehot[list(g), np.arange(len(g))] = 1
        table = np.moveaxis(np.tensordot(onehot, table, axes=([1], [axis])), 0, axis)
    np.testing.assert_allclose(table.ravel(), m.noisy_counts, atol=0.01 * m.total)
    # and it holds the association: deaths among the oldest third against the youngest
    deaths = table[:, 1, :].sum(axis=0)  # by age group (dead = True is the second code)
    alive = table[:, 0, :].sum(axis=0)
    assert deaths[2] / (deaths[2] + alive[2]) > deaths[0] / (deaths[0] + alive[0]) + 0.2


def test_a_wide_dictionary_anchors_its_declared_covariates_then_a_few_others():
    # Setup: the AML dictionary (146 variables; declares age and ELN 2022 for OS)
    from synthema.schema import load_dictionary
    from synthema.stats import Domain

    d = load_dictionary("aml")
    domain = Domain.from_dictionary(d)

    # Run
    chosen = anchor.covariates(d, domain, "os_days")

    # Assert: declared first, at most MAX_COVARIATES, none from the outcome group
    assert chosen[:2] == ["age", "eln2022"]
    assert len(chosen) == anchor.MAX_COVARIATES
    assert not {c for c in chosen if d[c].group == d["os_days"].group}


def test_public_bins_measure_each_triple_once_and_the_pair_inside_it(fixed_noise,
                                                                       other_source):
    # Setup: on the dictionary's bins the triples are measured on the model's cells, and
    # they hold the survival pair: it must not be measured (and paid for) again
    d = _cohort_dictionary()
    calls = []

    class Spy(other_source):
        def measure(self, cliques, *, sigma):
            calls.append(list(cliques))
            return super().measure(cliques, sigma=sigma)

    synth = IndependentSynthesizer(dictionary=d, epsilon=1.0, survival_anchor=True,
                                   bins="public")

    # Run
    with fixed_noise(9):
        synth.fit(Spy(CentralSource(_cohort(800, 9), d)))

    # Assert: one-way marginals, then the three triples, nothing else
    assert len(calls) == 2 and all(len(c) == 1 for c in calls[0])
    assert sorted(calls[1]) == sorted([("time", "dead", "age"), ("time", "dead", "sex"),
                                       ("time", "dead", "stage")])
    assert synth.privacy_spent_["rho"] == pytest.approx(cdp_rho(1.0, 1e-6), rel=1e-6)


def test_grouped_answers_are_refused_where_cells_are_needed():
    from synthema.stats import Domain
    from synthema.synth.pgm import quick_model
    from synthema.synth.selection import fit_error

    d = _cohort_dictionary()
    domain = Domain.from_dictionary(d)
    groups = (tuple(range(domain["sex"].size)), (0,) * (domain["stage"].size - 1) + (1,))
    m = Measurement(("sex", "stage"), np.ones(domain["sex"].size * 2, dtype=int), 1.0, 0.5,
                    groups=groups)
    with pytest.raises(ValueError, match="not on groups"):
        fit_error(m, np.zeros(domain.size(("sex", "stage"))), domain)
    with pytest.raises(ValueError, match="not on groups"):
        quick_model(domain, [m], [("sex", "stage")])
