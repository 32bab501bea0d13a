"""The AML simulator: reproducible, valid against its dictionary, clinically plausible.

Literature ranges come from ../shared/notes/clinical_facts.md (sources in
docs/simulator_aml.md). Population cohorts are older than trial cohorts, so the ranges
are those of unselected adult AML.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter

from synthema.cohorts import aml
from synthema.schema import load_dictionary, typed_dtype
from synthema.schema.values import out_of_range

D = load_dictionary("aml")


def _cohort(seed: int, sizes=(2250, 1650, 1100)) -> list[pd.DataFrame]:
    seeds = np.random.SeedSequence(seed).spawn(len(sizes))
    return [
        aml.simulate_site(n, site=k + 1, n_sites=len(sizes), rng=np.random.default_rng(s))
        for k, (n, s) in enumerate(zip(sizes, seeds, strict=True))
    ]


@pytest.fixture(scope="module")
def sites() -> list[pd.DataFrame]:
    return _cohort(2026)


@pytest.fixture(scope="module")
def pooled(sites) -> pd.DataFrame:
    return pd.concat(sites, ignore_index=True)


def _odds_ratio(df: pd.DataFrame, a: str, b: str) -> float:
    s = df[[a, b]].dropna().astype(bool)
    x, y = s[a], s[b]
    t11, t10, t01, t00 = (x & y).sum(), (x & ~y).sum(), (~x & y).sum(), (~x & ~y).sum()
    return (t11 + 0.5) * (t00 + 0.5) / ((t10 + 0.5) * (t01 + 0.5))


def test_same_seed_same_patients_other_seed_others():
    # Run
    a = aml.simulate_site(300, site=2, n_sites=3, rng=np.random.default_rng(7))
    b = aml.simulate_site(300, site=2, n_sites=3, rng=np.random.default_rng(7))
    c = aml.simulate_site(300, site=2, n_sites=3, rng=np.random.default_rng(8))
    # Assert
    pd.testing.assert_frame_equal(a, b)
    assert not a.drop(columns="patient_id").equals(c.drop(columns="patient_id"))


def test_columns_types_bounds_and_categories(pooled):
    # Assert
    assert tuple(pooled.columns) == D.columns
    for var in D.variables:
        col = pooled[var.name]
        assert str(col.dtype) == typed_dtype(var), var.name
        assert not out_of_range(col, var).any(), var.name
        if var.categories:
            assert col.dropna().isin(var.categories).all(), var.name
        if var.required:
            assert col.notna().all(), var.name
    assert pooled["patient_id"].is_unique


def test_no_rule_is_violated(pooled):
    # Run
    results = D.evaluate_rules(pooled)
    # Assert
    violated = (results == False).sum()  # noqa: E712
    assert violated.sum() == 0, violated[violated > 0].to_dict()
    # and the rules are not vacuous: most apply to many patients
    applicable = results.notna().mean()
    assert (applicable > 0.5).mean() > 0.8


def test_age_and_sex(pooled):
    # SEER median ~68-69 (US), Sweden 69-71 [V]; 54-55% male [V]
    assert 65 <= pooled["age"].median() <= 70
    assert 0.52 <= (pooled["sex"] == "M").mean() <= 0.60


@pytest.mark.parametrize(
    ("gene", "low", "high"),
    [
        # AMLSG / TCGA [D] (trial cohorts, younger) widened for an older population
        ("npm1", 0.20, 0.32),
        ("flt3_itd", 0.15, 0.27),
        ("dnmt3a", 0.18, 0.32),
        ("tp53", 0.06, 0.16),
        ("idh2", 0.08, 0.18),
        ("idh1", 0.03, 0.10),
        ("runx1", 0.07, 0.15),
        ("tet2", 0.08, 0.24),
        ("nras", 0.08, 0.20),
        ("complex", 0.09, 0.18),
        ("normal_karyotype", 0.38, 0.52),
        ("t_8_21", 0.015, 0.06),
        ("inv16_t16_16", 0.02, 0.07),
    ],
)
def test_prevalences_within_literature(pooled, gene, low, high):
    rate = pooled[gene].dropna().astype(bool).mean()
    assert low <= rate <= high, rate


@pytest.mark.parametrize(
    ("a", "b", "low", "high"),
    [
        ("npm1", "flt3_itd", 2.0, 8.0),  # OR 3.5 [D]
        ("npm1", "dnmt3a", 3.5, 15.0),  # OR 8.3 [D]
        ("npm1", "idh1", 1.8, 8.0),  # OR 3.5 [D]
        ("tp53", "complex", 10.0, np.inf),  # OR 37 [D]
        ("cebpa_biallelic", "gata2", 5.0, np.inf),  # OR 19 [D]
        ("runx1", "srsf2", 3.0, 20.0),  # OR 8.5 [D]
        ("npm1", "runx1", 0.0, 0.4),  # OR 0.12 [D]
        ("npm1", "tp53", 0.0, 0.4),  # OR 0.09 [D]
    ],
)
def test_co_occurrence(pooled, a, b, low, high):
    assert low <= _odds_ratio(pooled, a, b) <= high


def test_risk_and_outcomes_follow_the_literature(pooled):
    # Setup
    km = KaplanMeierFitter()
    two_year = {}
    for risk in ("favorable", "intermediate", "adverse"):
        s = pooled[pooled["eln2022"] == risk]
        km.fit(s["os_days"].astype(float), s["os_status"].astype(bool))
        two_year[risk] = float(km.survival_function_at_times(730).iloc[0])
    intensive = pooled[pooled["induction_intensity"] == "intensive"]
    cr = intensive.groupby("eln2022")["cr"].mean()
    # Assert: 2-y OS fav > int > adv (AMLSG 74/50/32% [D]; population lower)
    assert two_year["favorable"] > two_year["intermediate"] + 0.1
    assert two_year["intermediate"] > two_year["adverse"] + 0.05
    assert 0.45 <= two_year["favorable"] <= 0.85
    assert 0.10 <= two_year["adverse"] <= 0.35
    # CR after intensive induction fav/int/adv 89/68/52% [D]
    assert cr["favorable"] > cr["intermediate"] > cr["adverse"]
    assert 0.75 <= cr["favorable"] <= 0.95


def test_older_patients_do_worse_and_get_less_intensive_care(pooled):
    km = KaplanMeierFitter()
    young = pooled[pooled["age"] < 60]
    old = pooled[pooled["age"] >= 75]
    out = []
    for s in (young, old):
        km.fit(s["os_days"].astype(float), s["os_status"].astype(bool))
        out.append(float(km.survival_function_at_times(1826).iloc[0]))
    assert out[0] > out[1] + 0.2
    assert (young["induction_intensity"] == "intensive").mean() > 0.75
    assert (old["induction_intensity"] == "intensive").mean() < 0.45


def test_transplant_improves_relapse_and_censoring_exists(pooled):
    assert 0.05 < pooled["hsct"].mean() < 0.35
    assert (~pooled["os_status"]).mean() > 0.15  # censored patients exist


def test_sites_differ_in_panel_and_case_mix(sites):
    academic, regional, community = sites
    # structured missingness: the community panel does not test DNMT3A or BCOR
    assert academic["dnmt3a"].notna().all()
    assert community["dnmt3a"].isna().all() and community["bcor"].isna().all()
    assert regional["bcor"].notna().all() and regional["kdm5a"].isna().all()
    # case mix: the academic centre's patients are younger
    assert academic["age"].median() < community["age"].median()
    # follow-up differs
    assert academic["os_days"].max() > community["os_days"].max()
