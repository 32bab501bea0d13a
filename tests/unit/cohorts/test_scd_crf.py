"""SCD case-report-form fields (issue 26): each simulated rate inside its cited range.

Sources and derivations are in src/synthema/cohorts/scd_crf.py and docs/simulator_scd.md
("Case report form fields"). Ranges are the published figure with room for sampling noise at
the sizes used here (or the study's own confidence interval where it is wider).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthema.cohorts import scd, scd_crf

N = 30_000


@pytest.fixture(scope="module")
def sites() -> list[pd.DataFrame]:
    return [scd.simulate_site(N, site=k, n_sites=4, rng=np.random.default_rng(2600 + k))
            for k in (1, 2, 3, 4)]


@pytest.fixture(scope="module")
def pool(sites) -> pd.DataFrame:
    return pd.concat(sites, ignore_index=True)


def _f(s: pd.Series) -> pd.Series:
    return s.astype("Float64").astype(float)


def _severe(df: pd.DataFrame) -> pd.Series:
    return df["genotype"].isin(["HbSS", "HbSbeta0"])


def test_genotype_indices_match_the_simulator():
    # Assert
    order = scd.GENOTYPES
    assert [order[i] for i in (scd_crf.SS, scd_crf.SB0, scd_crf.SC, scd_crf.SBP)] == [
        "HbSS", "HbSbeta0", "HbSC", "HbSbeta+"]


def test_height_and_weight_follow_who_references_and_scd_adults(pool):
    # Setup
    adults = pool[pool["age"] >= 18]
    bmi = (_f(adults["weight_kg"]) / (_f(adults["height_cm"]) / 100) ** 2).dropna()
    boys10 = pool[(pool["age"] == 10) & (pool["sex"] == "M") & _severe(pool)]
    # Assert: WHO median 137.8 cm at 10 y (140.4 at 10.5), HbSS z -0.3; adult men 176 cm;
    # adult BMI < 20 / 20-25 / > 25: 19 / 52 / 29% (US adults with SCD)
    assert 134 <= _f(boys10["height_cm"]).median() <= 141
    assert 172 <= _f(adults.loc[adults["sex"] == "M", "height_cm"]).median() <= 178
    assert 0.13 <= (bmi < 20).mean() <= 0.25
    assert 0.44 <= ((bmi >= 20) & (bmi <= 25)).mean() <= 0.60
    assert 0.22 <= (bmi > 25).mean() <= 0.36


def test_hba_and_hbc_by_genotype_and_transfusion(pool):
    # Setup
    own = pool[~pool["chronic_transfusion"] & (pool["new_therapy"] != "gene_therapy")]
    sbp = _f(own.loc[own["genotype"] == "HbSbeta+", "hba_pct"]).dropna()
    sc = _f(own.loc[(own["genotype"] == "HbSC") & (own["age"] >= 3), "hbc_pct"]).dropna()
    ss = _f(own.loc[own["genotype"] == "HbSS", "hba_pct"]).dropna()
    donor = _f(pool.loc[pool["chronic_transfusion"], "hba_pct"]).dropna()
    # Assert: HbA 10-30% in Sbeta+, HbC 45-50% in SC (NHLBI 2014), no HbA in untransfused SS
    assert 10 <= sbp.median() <= 30
    assert 42 <= sc.median() <= 50
    assert ss.max() <= 0.5
    assert donor.median() > 40  # HbS kept below 30-50% by donor blood


def test_transfusion_history_matches_jamaica_and_kings(pool):
    # Setup
    young = pool[_severe(pool) & pool["age"].between(18, 22)]
    transfused = pool[pool["transfusion_history"] != "never"]
    adults_tx = transfused[transfused["age"] >= 18]
    # Assert: 70.6% of HbSS transfused by 20 y (Thame 2001); alloantibodies in 17% of
    # transfused patients (London, Trompeter 2020); DHTR 7.7% of transfused adults (Vidler 2015)
    assert 0.60 <= (young["transfusion_history"] != "never").mean() <= 0.80
    assert 0.12 <= transfused["alloimmunisation"].mean() <= 0.24
    assert 0.05 <= adults_tx["delayed_haemolytic_reaction"].mean() <= 0.12
    assert pool.loc[pool["transfusion_history"] == "never", "alloimmunisation"].isna().all()
    assert (pool.loc[pool["chronic_transfusion"], "transfusion_history"] == "chronic").all()


def test_exchange_for_adults_simple_for_children(pool):
    # Setup
    ct = pool[pool["chronic_transfusion"]]
    by = ct.groupby(ct["age"] >= 18)["transfusion_method"].apply(lambda s: (s == "exchange").mean())
    # Assert: children mostly simple, adults mostly erythrocytapheresis (Trompeter 2020)
    assert by[False] < 0.35 < 0.65 < by[True]
    assert pool.loc[~pool["chronic_transfusion"], "transfusion_method"].isna().all()


def test_iron_mri_on_chronic_transfusion(pool):
    # Setup
    lic = _f(pool["liver_iron_mri"]).dropna()
    t2 = _f(pool["cardiac_t2star"]).dropna()
    # Assert: LIC >= 7 mg/g in 65.2% (Insights Imaging 2022); T2* 32.1 +- 6.5 ms, 1 of 22
    # below 20 ms (JCMR 2010); measured only on chronic transfusion
    assert len(lic) > 500
    assert 0.55 <= (lic >= 7).mean() <= 0.75
    assert 30 <= t2.mean() <= 34.5 and (t2 < 20).mean() <= 0.08
    assert pool.loc[pool["liver_iron_mri"].notna(), "chronic_transfusion"].all()
    ferritin = _f(pool.loc[pool["liver_iron_mri"].notna(), "ferritin"])
    assert np.corrcoef(np.log(ferritin), np.log(lic))[0, 1] > 0.6  # r = 0.82 (Badawy 2016)


def test_infections_match_their_cohorts(pool):
    # Setup
    ss = pool[_severe(pool) & pool["age"].between(5, 21)]
    five = pool[pool["age"] == 5]
    children = pool[pool["age"].between(1, 17)]
    # Assert: recognised aplastic crisis in 27% of 102 SCA children (95% CI ~19-36%);
    # meningitis/septicaemia in 26 of 1,620 French children by 5 y (1.6%); PCV in 87% at 1 y
    assert 0.19 <= ss["parvovirus_aplastic_crisis"].mean() <= 0.36
    assert 0.006 <= five["severe_bacterial_infection"].mean() <= 0.03
    assert 0.83 <= children["pneumococcal_vaccination"].mean() <= 0.91


def test_mra_stenosis_by_14_matches_creteil(pool):
    # Setup
    fourteen = pool[_severe(pool) & (pool["age"] == 14)]["mra_stenosis"].dropna()
    # Assert: 22.6% (95% CI 15.0-33.2%) by 14 y (Bernaudin 2011)
    assert len(fourteen) > 200
    assert 0.15 <= fourteen.mean() <= 0.33


def test_spo2_and_blood_pressure_by_genotype(pool):
    # Setup
    kids = pool[pool["age"] < 18]
    adults = pool[pool["age"] >= 18]
    spo2 = kids.groupby(_severe(kids))["spo2_pct"].mean()
    sev = pool[_severe(pool)]
    alpha = sev.groupby("alpha_genotype")["spo2_pct"].mean()
    sbp = adults.groupby(_severe(adults))["systolic_bp"].mean()
    # Assert: children SS/Sbeta0 96.3% vs SC/Sbeta+ 98.7% (BJH 2005); alpha-thal raises SpO2
    # (Homi); adults SBP SS 122 vs SC 131 mmHg (ASH 2010); children's BP not simulated
    assert 95.0 <= spo2[True] <= 97.5 and 98.0 <= spo2[False] <= 99.5
    assert alpha["aa/aa"] < alpha["-a/aa"] < alpha["-a/-a"]
    assert 119 <= sbp[True] <= 125 and 128 <= sbp[False] <= 134
    assert pool.loc[pool["age"] < 18, "systolic_bp"].isna().all()
    both = pool[["systolic_bp", "diastolic_bp"]].dropna()
    assert (both["diastolic_bp"] < both["systolic_bp"]).all()


def test_background_matches_radeep_lionnet_and_gardner(sites, pool):
    # Setup
    ref = sites[0]
    sc_adults = pool[(pool["genotype"] == "HbSC") & (pool["age"] >= 18)]
    alpha = pool["alpha_genotype"].value_counts(normalize=True)
    # Assert: 41.3% newborn-screened (RADeep, reference centre); HbSC diagnosed in adulthood
    # in 29% (Lionnet 2012); alpha-globin aa/aa 62%, -a/aa 32% (Gardner 2016)
    assert 0.36 <= (ref["diagnosis_route"] == "newborn_screening").mean() <= 0.47
    assert 0.22 <= (sc_adults["diagnosis_age"] >= 18).mean() <= 0.36
    assert abs(alpha["aa/aa"] - 0.62) < 0.02 and abs(alpha["-a/aa"] - 0.32) < 0.02
    assert (pool["alpha_thal_trait"] == (pool["alpha_genotype"] != "aa/aa")).all()


def test_venous_thromboembolism_from_adolescence(pool):
    # Setup
    ss = pool[_severe(pool)]
    # Assert: 0.65 /100 patient-years from 15 y (CSSCD) -> ~15% by 40; 17.1% by 40 in severe
    # disease (Brunson 2017); none before 15
    assert 0.10 <= ss.loc[ss["age"].between(35, 45), "venous_thromboembolism"].mean() <= 0.24
    assert not pool.loc[pool["age"] < 15, "venous_thromboembolism"].any()
