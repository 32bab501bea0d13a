"""The SCD simulator: reproducible, valid against its dictionary, clinically plausible.

Literature ranges come from ../shared/notes/clinical_facts.md section B (sources in
docs/simulator_scd.md). Each plausibility check would fail if the dependency it names were
removed from the simulator.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from synthema.cohorts import scd
from synthema.schema import load_dictionary, typed_dtype
from synthema.schema.values import out_of_range

D = load_dictionary("scd")
SIZES = (1800, 1500, 1400, 1300)  # one site of each profile: reference, paediatric, adult, general


def _site(n: int, site: int, seed: int, n_sites: int = 4) -> pd.DataFrame:
    return scd.simulate_site(n, site=site, n_sites=n_sites, rng=np.random.default_rng(seed))


@pytest.fixture(scope="module")
def sites() -> list[pd.DataFrame]:
    seeds = np.random.SeedSequence(2026).spawn(len(SIZES))
    return [
        scd.simulate_site(n, site=k + 1, n_sites=len(SIZES), rng=np.random.default_rng(s))
        for k, (n, s) in enumerate(zip(SIZES, seeds, strict=True))
    ]


@pytest.fixture(scope="module")
def pooled(sites) -> pd.DataFrame:
    return pd.concat(sites, ignore_index=True)


def _num(s: pd.Series) -> pd.Series:
    return s.astype("Float64").astype(float)


# ---- reproducibility and format ------------------------------------------------------------
def test_same_seed_same_patients_other_seed_others():
    # Run
    a = _site(400, 1, seed=7)
    b = _site(400, 1, seed=7)
    c = _site(400, 1, seed=8)
    # Assert
    pd.testing.assert_frame_equal(a, b)
    assert not a.drop(columns="patient_id").equals(c.drop(columns="patient_id"))


def test_global_numpy_random_state_is_not_used():
    # Setup
    np.random.seed(1)
    a = _site(200, 2, seed=3)
    # Run
    np.random.seed(99)
    b = _site(200, 2, seed=3)
    # Assert
    pd.testing.assert_frame_equal(a, b)


def test_columns_and_dtypes_match_the_dictionary(pooled):
    # Assert
    assert tuple(pooled.columns) == D.columns
    assert pooled.columns[0] == "patient_id"
    assert str(pooled["patient_id"].dtype) == "string"
    for var in D.variables:
        assert str(pooled[var.name].dtype) == typed_dtype(var), var.name


def test_patient_ids_name_site_and_serial(sites):
    # Assert
    for k, df in enumerate(sites, start=1):
        ids = df["patient_id"]
        assert ids.is_unique
        assert ids.iloc[0] == f"SCD-{k:02d}-00001"
        assert ids.str.fullmatch(rf"SCD-{k:02d}-\d{{5}}").all()


def test_every_value_inside_bounds_and_categories(pooled):
    # Assert
    for var in D.variables:
        col = pooled[var.name]
        assert not out_of_range(col, var).any(), var.name
        if var.categories:
            present = col.dropna()
            assert present.isin(var.categories).all(), var.name
        if var.decimals is not None and not var.is_whole_number:
            x = _num(col).dropna()
            assert np.allclose(x, x.round(var.decimals)), var.name


def test_required_variables_are_never_missing(pooled):
    # Assert
    for var in D.variables:
        if var.required:
            assert pooled[var.name].notna().all(), var.name


def test_no_rule_is_violated_on_3000_patients_per_profile():
    # Setup
    frames = [_site(3000, site, seed=100 + site) for site in (1, 2, 3, 4)]
    # Run
    results = [D.evaluate_rules(df) for df in frames]
    # Assert
    for site, res in enumerate(results, start=1):
        violated = (res == False).sum()  # noqa: E712 - nullable booleans: NA is not False
        assert violated.sum() == 0, (site, violated[violated > 0].to_dict())


def test_bad_arguments_raise():
    # Run / Assert
    with pytest.raises(ValueError, match="site"):
        scd.simulate_site(10, site=0, n_sites=2, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="site"):
        scd.simulate_site(10, site=3, n_sites=2, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="n is"):
        scd.simulate_site(-1, site=1, n_sites=1, rng=np.random.default_rng(0))


def test_zero_patients_gives_an_empty_typed_frame():
    # Run
    df = _site(0, 1, seed=0)
    # Assert
    assert len(df) == 0
    assert tuple(df.columns) == D.columns


# ---- clinical plausibility (pooled sites) --------------------------------------------------
def test_genotype_and_sex_mix_within_cohort_ranges(pooled):
    # Setup
    share = pooled["genotype"].value_counts(normalize=True)
    # Assert: SS(+Sbeta0) 62-73%, SC 15-32%, Sbeta+ 5-11% across RADeep, King's, CADRE, US
    assert 0.60 <= share["HbSS"] + share["HbSbeta0"] <= 0.76
    assert 0.14 <= share["HbSC"] <= 0.32
    assert 0.04 <= share["HbSbeta+"] <= 0.12
    assert share.get("other", 0.0) <= 0.03
    assert 0.47 <= (pooled["sex"] == "F").mean() <= 0.58


def test_hb_mcv_and_haemolysis_depend_on_genotype(pooled):
    # Setup
    off = pooled[~pooled["hydroxyurea"] & ~pooled["chronic_transfusion"]]
    by = off.groupby("genotype")
    hb, mcv, ldh = by["hb"].mean(), by["mcv"].mean(), by["ldh"].median()
    # Assert: HbSS mean ~8.1, HbSC 11.1-11.5 g/dL; microcytosis in Sbeta-thal; LDH SC ~237
    assert 7.5 <= hb["HbSS"] <= 9.2
    assert hb["HbSC"] - hb["HbSS"] >= 2.0
    assert mcv["HbSbeta+"] < mcv["HbSC"] < mcv["HbSS"]
    assert ldh["HbSS"] > 1.5 * ldh["HbSC"]
    assert by["hbf_pct"].median()["HbSC"] < 3.0


def test_hydroxyurea_raises_hbf_hb_mcv_and_lowers_wbc_in_hbss(pooled):
    # Setup: past infancy (infants keep their fetal HbF, on or off hydroxyurea)
    ss = pooled[(pooled["genotype"] == "HbSS") & ~pooled["chronic_transfusion"]]
    ss = ss[ss["age"] >= 3]
    on, off = ss[ss["hydroxyurea"]], ss[~ss["hydroxyurea"]]
    # Assert
    assert on["hbf_pct"].mean() > off["hbf_pct"].mean() + 4
    assert on["hb"].mean() > off["hb"].mean() + 0.2
    assert on["mcv"].mean() > off["mcv"].mean() + 6
    assert on["wbc"].mean() < off["wbc"].mean() - 1.5
    assert on["hu_dose_mg_kg"].between(10, 35).all()


def test_voc_counts_overdispersed_and_lower_on_hydroxyurea(pooled):
    # Setup
    adults = pooled[pooled["age"] >= 18]
    ss = adults[adults["genotype"] == "HbSS"]
    sc_off = adults[(adults["genotype"] == "HbSC") & ~adults["hydroxyurea"]]
    ss_off = ss[~ss["hydroxyurea"]]
    voc = _num(ss_off["voc_per_year"])
    # Assert: negative binomial, not Poisson; HbSS > HbSC; HU lowers crises despite
    # being given to the more severe patients (MSH -44%). (The share with >= 2 crises is
    # checked against RADeep in test_scd_rates.py.)
    assert voc.var() > 1.25 * voc.mean()  # Poisson: 1
    assert voc.mean() > _num(sc_off["voc_per_year"]).mean()
    assert _num(ss[ss["hydroxyurea"]]["voc_per_year"]).mean() < 0.9 * voc.mean()


def test_acs_and_retinopathy_depend_on_genotype(pooled):
    # Setup
    adults = pooled[pooled["age"] >= 18]
    by = adults.groupby("genotype")
    acs = by["acute_chest_syndrome"].mean()
    retina = by["retinopathy"].mean()
    # Assert: ACS ever ~76% of SS adults; SC ACS rate less than half; PSR SC > SS
    assert 0.6 <= acs["HbSS"] <= 0.92
    assert acs["HbSC"] < acs["HbSS"] - 0.1
    assert retina["HbSC"] > 2 * retina["HbSS"]


def test_chronic_transfusion_follows_stroke_or_tcd_and_raises_ferritin(pooled):
    # Setup
    ct = pooled[pooled["chronic_transfusion"]]
    rest = pooled[~pooled["chronic_transfusion"]]
    # Assert
    assert ct["transfusion_indication"].isin(["stroke", "abnormal_tcd"]).mean() >= 0.6
    children_with_stroke = pooled[pooled["stroke"] & (pooled["age"] < 18)]
    assert children_with_stroke["chronic_transfusion"].mean() > 0.7
    assert ct["ferritin"].median() > 4 * rest["ferritin"].median()
    assert _num(ct["hbs_pct"]).dropna().median() < 50


def test_priapism_males_only_and_age_dependent_screening(pooled):
    # Setup
    male = pooled["sex"] == "M"
    child = pooled["age"] < 18
    # Assert
    assert pooled.loc[~male, "priapism"].isna().all()
    assert pooled.loc[male, "priapism"].notna().all()
    assert pooled.loc[male & (pooled["age"] >= 18), "priapism"].mean() > 0.15
    assert pooled.loc[child, "trv"].isna().all()
    assert pooled.loc[~child, "tcd_velocity"].isna().all()
    assert pooled.loc[pooled["genotype"].isin(["HbSC", "HbSbeta+"]), "tcd_velocity"].isna().all()


def test_raised_trv_share_in_adults_and_pulmonary_hypertension(pooled):
    # Setup
    trv = _num(pooled["trv"]).dropna()
    adults = pooled[pooled["age"] >= 18]
    # Assert: TRV >= 2.5 in ~32% (25-39%), >= 3.0 in ~11%; catheter PH 6-11%
    assert 0.22 <= (trv >= 2.5).mean() <= 0.40
    assert 0.05 <= (trv >= 3.0).mean() <= 0.16
    assert 0.03 <= adults["pulmonary_hypertension"].mean() <= 0.13


def test_hsct_rare_and_mostly_children(pooled):
    # Setup
    hsct = pooled[pooled["hsct"]]
    # Assert
    assert 0 < len(hsct) <= 0.03 * len(pooled)
    assert (hsct["age"] < 18).mean() >= 0.7
    assert hsct["stroke"].mean() > 3 * pooled["stroke"].mean() / 2


def test_mortality_rises_with_age_and_raised_trv(pooled):
    # Setup
    years = _num(pooled["followup_days"]) / 365.25
    died = pooled["death"].astype(bool)

    def rate(mask) -> float:
        return died[mask].sum() / years[mask].sum()

    trv = _num(pooled["trv"])
    # Assert
    assert rate(pooled["age"] >= 40) > 3 * rate(pooled["age"] < 18)
    assert rate(trv >= 2.5) > 1.5 * rate(trv < 2.5)
    assert pooled["death"].mean() < 0.1


def test_follow_up_censored_at_site_cutoff(sites):
    # Assert
    for k, df in enumerate(sites, start=1):
        cutoff = pd.Timestamp(scd.profile_for(k).cutoff)
        room = (cutoff - df["enrolment_date"]).dt.days
        assert (df["followup_days"].astype(int) <= room).all()


# ---- site differences ------------------------------------------------------------------------
def test_site_profiles_differ_in_case_mix(sites):
    # Setup
    ref, paed, adult, general = sites
    # Assert
    assert (paed["age"] < 18).all()
    assert (adult["age"] >= 18).all()
    assert 0.5 <= (ref["age"] < 18).mean() <= 0.75  # RADeep: 62% < 18 y
    end = paed["age"] + paed["followup_days"].astype(int) / 365.25
    assert (end < 19).all()  # transfer to adult care at 18
    hu_ss = [df[df["genotype"] == "HbSS"]["hydroxyurea"].mean() for df in sites]
    assert hu_ss[1] > hu_ss[3] + 0.1  # paediatric centre prescribes more HU than general


def test_structured_missingness_differs_between_sites(sites):
    # Setup
    ref, paed, adult, general = sites

    def present(df: pd.DataFrame, col: str) -> float:
        return df[col].notna().mean()

    # Assert: the adult centre screens TRV, the general hospital does no echo or albuminuria
    assert present(adult[adult["age"] >= 18], "trv") > 0.7
    assert present(general, "trv") == 0.0
    assert present(general, "acr_mg_g") == 0.0
    assert present(adult, "acr_mg_g") > 0.7
    assert present(general, "hbs_pct") == 0.0 and present(paed, "hbs_pct") > 0.8
    assert present(adult, "silent_infarct") == 0.0 and present(paed, "silent_infarct") > 0.3
    assert present(general, "retinopathy") == 0.0 and present(adult, "retinopathy") == 1.0
    assert present(general, "ferritin") < present(ref, "ferritin") - 0.2
    pattern = [tuple(df.isna().mean().round(1)) for df in sites]
    assert len(set(pattern)) == len(sites)


def test_typed_values_render_as_text():
    # Setup
    df = _site(50, 3, seed=5)
    # Run
    text = df["enrolment_date"].dt.strftime("%Y-%m-%d")
    # Assert
    assert text.map(lambda s: bool(re.fullmatch(r"20\d\d-\d\d-\d\d", s))).all()
