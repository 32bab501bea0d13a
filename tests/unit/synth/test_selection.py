"""Selection helpers: candidates without data, unbiased noisy scores, decomposable structure."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from synthema.stats import Domain, Measurement
from synthema.synth import selection


@pytest.fixture(scope="module")
def domain(small_dictionary) -> Domain:
    return Domain.from_dictionary(small_dictionary)


def test_all_pairs_when_few(domain, small_dictionary):
    # Run
    pairs = selection.candidate_pairs(
        domain, small_dictionary, max_candidates=10_000, rng=np.random.default_rng(0)
    )

    # Assert
    assert pairs == list(itertools.combinations(domain.names, 2))


def test_capped_candidates_put_survival_and_rule_pairs_first(domain, small_dictionary):
    # Run
    a = selection.candidate_pairs(
        domain, small_dictionary, max_candidates=80, rng=np.random.default_rng(1)
    )
    b = selection.candidate_pairs(
        domain, small_dictionary, max_candidates=80, rng=np.random.default_rng(1)
    )

    # Assert
    assert a == b and len(a) == 80 and len(set(a)) == 80
    assert ("os_days", "os_status") in a
    assert ("age", "os_days") in a  # every attribute is paired with a survival time
    assert ("cr", "relapse") in a  # columns of a rule


def test_fit_error_is_unbiased_under_noise(domain):
    # Setup: a marginal equal to the estimate, measured with noise many times
    rng = np.random.default_rng(0)
    clique = ("eln2022", "npm1")
    size = domain.size(clique)
    truth = rng.integers(20, 60, size=size)
    sigma = 15.0

    # Run
    scores = [
        selection.fit_error(
            Measurement(
                clique, truth + np.round(rng.normal(0, sigma, size)).astype(int), sigma, 1.0
            ),
            truth.astype(float),
            domain,
        )
        for _ in range(400)
    ]

    # Assert: zero on average (the noise's expected contribution, sigma² per fine cell, is
    # subtracted; without it the mean would be about sigma² * size)
    assert abs(np.mean(scores)) < 0.1 * sigma**2 * size


def test_fit_error_ranks_a_real_association_first(domain):
    # Setup
    clique = ("cr", "relapse")
    independent = np.full(domain.size(clique), 100.0)
    associated = independent.copy()
    associated[[0, 4]] += 80
    associated[[1, 3]] -= 80

    # Run
    exact = selection.fit_error(
        Measurement(clique, associated.astype(int), 0.0, 0.0), independent, domain
    )
    none = selection.fit_error(
        Measurement(clique, independent.astype(int), 0.0, 0.0), independent, domain
    )

    # Assert
    assert exact == pytest.approx(4 * 80**2) and none == 0


def test_coarse_groups_keep_missing_alone(domain):
    # Run
    groups = selection.coarse_groups(domain["os_days"])

    # Assert
    assert groups[-1] == groups.max() and (groups[:-1] < groups[-1]).all()
    assert groups.max() == selection.MAX_GROUPS
    assert (np.diff(groups[:-1]) >= 0).all()


def test_structure_stays_decomposable():
    # Setup
    s = selection.Structure(["a", "b", "c", "d", "e"])

    # Run
    first = [s.add(c) for c in [("a", "b"), ("b", "c"), ("a", "c")]]
    big = s.add(("a", "c"), largest_node=lambda cliques: 27, max_cells=10)
    small = s.add(("a", "c"), largest_node=lambda cliques: 8, max_cells=10)

    # Assert
    assert first == [True, True, False] and big is False and small is True
    assert s.connected("a", "c") and not s.connected("a", "d")
    assert s.add(("a", "b")) is False  # already inside an accepted clique


def test_spanning_edges_skip_non_positive_scores():
    # Setup
    s = selection.Structure(["a", "b", "c", "d"])
    scores = {("a", "b"): 5.0, ("b", "c"): 3.0, ("a", "c"): 4.0, ("c", "d"): -1.0}

    # Run
    edges = selection.spanning_edges(scores, s)

    # Assert
    assert edges == [("a", "b"), ("a", "c")]
    assert not s.connected("c", "d")


def test_survival_covariates_exclude_given_names():
    # Setup
    scores = {("t", "x"): 5.0, ("e", "x"): 1.0, ("t", "y"): 9.0, ("t", "z"): 2.0, ("e", "w"): -3.0}

    # Run
    top = selection.survival_covariates(("t", "e"), scores, k=2, exclude=["y"])

    # Assert
    assert top == ["x", "z"]


def test_capped_candidates_pair_each_target_with_every_attribute_first(domain, small_dictionary):
    # Setup: just room for the survival pairs and the target's pairs (cr is the AML target)
    import dataclasses

    rng = np.random.default_rng(2)
    times = [p.time for p in small_dictionary.survival]
    survival = {tuple(sorted((t, x), key=domain.names.index)) for t in times
                for x in domain.names if x != t}
    target = {tuple(sorted(("cr", x), key=domain.names.index)) for x in domain.names
              if x != "cr"}
    room = len(survival | target)
    no_target = dataclasses.replace(small_dictionary, targets=())

    # Run
    with_target = selection.candidate_pairs(domain, small_dictionary, max_candidates=room,
                                            rng=rng)
    without = selection.candidate_pairs(domain, no_target, max_candidates=room, rng=rng)

    # Assert: every (cr, X) pair is scored only because cr is declared a target
    assert small_dictionary.targets == ("cr",)
    assert set(with_target) == survival | target
    assert not target - survival <= set(without)


def test_target_covariates_are_the_most_associated_outside_excluded_names():
    # Setup: scores of pairs with the target "y"
    scores = {("a", "y"): 4.0, ("y", "b"): 9.0, ("c", "y"): 2.0, ("d", "y"): -1.0,
              ("a", "b"): 50.0}

    # Run
    top = selection.survival_covariates(("y",), scores, k=3, exclude=["b"])

    # Assert: b excluded, d has no evidence, (a, b) is not about y
    assert top == ["a", "c"]


def test_outcome_exclusions_cover_survival_targets_and_the_own_group(domain, small_dictionary):
    # Run
    out = selection.outcome_exclusions("cr", small_dictionary, domain)

    # Assert
    assert {"cr", "os_days", "os_status", "relapse", "cr_days"} <= out
    assert not out & {"age", "eln2022", "induction_intensity", "npm1"}
