"""Fidelity metrics: exact on identical data, blind to nothing a column shuffle breaks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import value
from scipy import stats

from synthema.evaluate.association import spearman_pairwise
from synthema.evaluate.fidelity import (
    ks_with_missing,
    pairwise_tvd_matrix,
    tvd,
    wasserstein_distance,
)
from synthema.schema import Dictionary

FIDELITY = ("column_distance", "wasserstein", "pairwise_tvd", "correlation_difference",
            "kway_tvd")


@pytest.mark.parametrize("name", FIDELITY)
def test_real_against_itself_is_perfect(self_report, name):
    # Assert
    assert value(self_report, name) == 0.0
    assert next(r for r in self_report.results if r.name == name).score == 1.0


def test_discriminator_cannot_tell_real_from_itself(self_report):
    # Assert: identical rows share a fold, so the classifier has nothing to learn
    assert value(self_report, "discriminator_auroc") == pytest.approx(0.5, abs=0.02)
    assert value(self_report, "propensity_mse") < 0.005


@pytest.mark.parametrize("name", ["pairwise_tvd", "correlation_difference", "kway_tvd"])
def test_column_shuffles_are_worse_than_a_fresh_sample_on_joint_fidelity(
        fresh_report, shuffled_report, name):
    # Assert: a fresh sample of the population keeps associations, a shuffle destroys them
    assert value(shuffled_report, name) > 1.25 * value(fresh_report, name)


def test_column_shuffles_keep_marginals_exactly_but_are_detected(shuffled_report, fresh_report):
    # Assert: 1-way metrics cannot see a shuffle; the discriminator can
    assert value(shuffled_report, "column_distance") == 0.0
    assert value(shuffled_report, "discriminator_auroc") > 0.9
    assert value(fresh_report, "discriminator_auroc") < 0.6
    assert value(shuffled_report, "propensity_mse") > 10 * value(fresh_report, "propensity_mse")


def test_marginals_in_details_are_shares_over_the_public_bins(fresh_report, dictionary):
    # Run
    marginals = fresh_report.get_details("column_distance")["marginals"]
    # Assert
    assert list(marginals) == list(dictionary.names)
    for m in marginals.values():
        assert m["labels"][-1] == "missing"
        assert sum(m["real"]) == pytest.approx(1.0, abs=1e-4)
        assert sum(m["synthetic"]) == pytest.approx(1.0, abs=1e-4)


def test_ks_and_wasserstein_agree_with_scipy_without_missing_values():
    # Setup
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=300), rng.normal(0.3, 1.2, size=200)
    # Assert
    assert ks_with_missing(x, y) == pytest.approx(stats.ks_2samp(x, y).statistic)
    assert wasserstein_distance(x, y) == pytest.approx(stats.wasserstein_distance(x, y))


def test_ks_counts_missing_values_as_a_mass_of_their_own():
    # Assert: same observed values, different missingness, distance = missing share difference
    assert ks_with_missing(np.array([1.0, 2.0, np.nan, np.nan]), np.array([1.0, 2.0])) == 0.5
    assert tvd(np.array([3, 1]), np.array([3, 1])) == 0.0


def test_pairwise_tvd_matrix_matches_crosstabs():
    # Setup
    rng = np.random.default_rng(1)
    shape = np.array([3, 4, 2])
    a = np.column_stack([rng.integers(k, size=200) for k in shape])
    b = np.column_stack([rng.integers(k, size=150) for k in shape])
    # Run
    m = pairwise_tvd_matrix(a, b, shape)
    # Assert
    for i, j in [(0, 1), (0, 2), (1, 2)]:
        ta = pd.crosstab(a[:, i], a[:, j]).reindex(index=range(shape[i]), columns=range(shape[j]),
                                                     fill_value=0).to_numpy() / 200
        tb = pd.crosstab(b[:, i], b[:, j]).reindex(index=range(shape[i]), columns=range(shape[j]),
                                                     fill_value=0).to_numpy() / 150
        assert m[i, j] == m[j, i] == pytest.approx(0.5 * np.abs(ta - tb).sum())
    assert np.all(np.diag(m) == 0)


def test_spearman_uses_pairwise_complete_rows():
    # Setup
    x = np.array([1.0, 2.0, 3.0, 4.0, np.nan])
    y = np.array([2.0, 4.0, 6.0, 8.0, 1.0])
    # Run
    corr = spearman_pairwise(np.column_stack([x, y]))
    # Assert: the row where x is missing does not count
    assert corr[0, 1] == pytest.approx(1.0)


def _durations_with_gaps(seed: int = 3, n: int = 400) -> pd.DataFrame:
    """Two durations present on different rows (like relapse_days and hsct_days) and a third
    with no gap: ranks over the whole column differ from ranks over the complete pairs."""
    rng = np.random.default_rng(seed)
    a = rng.gamma(2.0, 200.0, size=n)
    b = a * rng.uniform(0.5, 1.5, size=n) + rng.normal(0, 150, size=n).clip(-100, None)
    c = rng.uniform(0, 1000, size=n) + 0.5 * a
    a[rng.random(n) < 0.55] = np.nan
    b[(rng.random(n) < 0.4) | (b > np.nanquantile(b, 0.8))] = np.nan
    return pd.DataFrame({k: pd.array(np.round(v), dtype="Int64") for k, v in
                         (("a", a), ("b", b), ("c", c))})


def test_association_differences_carry_scipys_pairwise_complete_spearman():
    # Setup: the association of each pair, reported as its real value, must be scipy's
    d = Dictionary.from_mapping({"name": "gaps", "version": 1, "variables": [
        {"name": k, "type": "duration", "min": 0, "max": 5000} for k in "abc"]})
    real = _durations_with_gaps()
    synthetic = real.iloc[::-1].reset_index(drop=True).copy()
    synthetic["b"] = pd.array([pd.NA] * len(real), dtype="Int64")
    from synthema.evaluate import FidelityReport

    # Run
    report = FidelityReport(d, metrics=["correlation_difference"]).generate(real, synthetic)
    pairs = report.get_details("correlation_difference")["worst_pairs"]
    # Assert: ranking over whole columns gave a-b 0.684 against scipy's 0.700
    for p in pairs:
        x, y = (real[c].astype(float).to_numpy() for c in p["columns"])
        expected = stats.spearmanr(x, y, nan_policy="omit").statistic
        assert p["real"] == pytest.approx(expected, abs=1e-5), p["columns"]


def test_spearman_matrix_equals_scipy_for_every_pair():
    # Setup
    x = _durations_with_gaps(seed=5).astype(float).to_numpy()
    # Run
    m = spearman_pairwise(x)
    # Assert
    for i in range(3):
        for j in range(i + 1, 3):
            ref = stats.spearmanr(x[:, i], x[:, j], nan_policy="omit").statistic
            assert m[i, j] == m[j, i] == pytest.approx(ref, abs=1e-12)
