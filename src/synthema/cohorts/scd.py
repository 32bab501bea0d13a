"""Simulated sickle cell disease patients for one hospital, in the ``scd`` typed format.

Generative story (each step conditions on the earlier ones, so columns are not independent):

1. site profile -> genotype mix, age (paediatric, adult or mixed centre), sex, enrolment date;
2. per patient, two latent traits: a crisis *severity* (the gamma frailty that makes crisis
   counts negative binomial) and a *haemolysis* score (the haemolytic sub-phenotype: low Hb,
   high reticulocytes, LDH and bilirubin, higher TRV, priapism, leg ulcers);
3. genotype, age, alpha-thalassaemia, haemolysis -> steady-state labs off treatment, a latent
   TCD velocity (children) and TRV (adults), albuminuria and eGFR;
4. age, genotype, TCD, haemolysis -> history of complications (cumulative hazards over the
   years lived; childhood stroke by the "ever abnormal TCD" group and the TCD-screening era);
5. stroke / abnormal TCD found by screening -> chronic transfusion; severity, genotype, age,
   era -> hydroxyurea and newer therapies (EU authorisation windows); treatments -> labs at
   enrolment (HU raises HbF, Hb and MCV, lowers WBC, reticulocytes and crises; transfusion
   dilutes HbS, lowers TCD and raises ferritin);
6. Gompertz mortality (higher with age, male sex, TRV >= 2.5, low HbF, WBC > 15, nephropathy
   and, in adults, ACS history and crises; lower in HbSC and on hydroxyurea), rare HSCT
   (children with stroke), censoring at the site's data cut-off, loss to follow-up and
   (paediatric centres) transfer to adult care at 18; causes of death from European series;
7. the case-report-form fields of :mod:`synthema.cohorts.scd_crf` (growth, transfusion
   history, infections, vital signs, diagnosis, VTE).

Sites differ in case mix, hydroxyurea use, follow-up and which tests they do (untested
values are missing: structured missingness). Every figure and its source is in
docs/simulator_scd.md (``clinical_facts.md`` section B and issue 26; tags [V] verified,
[unverified], [assumption] = chosen here for plausibility, [derived] = computed from cited
figures, [fitted] = chosen to reproduce a cited figure).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from synthema.cohorts import scd_crf
from synthema.schema import Dictionary, load_dictionary
from synthema.schema.dictionary import VariableType
from synthema.schema.values import typed_dtype

GENOTYPES = ("HbSS", "HbSbeta0", "HbSC", "HbSbeta+", "other")
SS, SB0, SC, SBP, OTHER = range(5)
DAYS_PER_YEAR = 365.25


@dataclass(frozen=True)
class ScdSiteProfile:
    """How one hospital differs: case mix, treatment habits, follow-up and tests done."""

    kind: str
    genotype_mix: tuple[float, ...]  # % over GENOTYPES
    child_share: float  # share of patients < 18 y at enrolment
    female_share: float
    hu_logit: float  # intercept of the hydroxyurea logit (HbSS adult, average severity)
    hsct_factor: float
    accrual: tuple[str, str]
    cutoff: str
    loss_per_year: float  # loss to follow-up rate
    transfer_at_18: bool  # paediatric centre: follow-up ends at the 18th birthday
    tests: frozenset[str]  # optional tests: tcd, trv, acr, mri, hb_fractions, retina
    tcd_coverage: float  # share of eligible children actually screened
    ferritin_coverage: float  # share of non-transfused patients with a ferritin
    lab_missing: float  # random missingness of routine labs


# ---- genotype mixes (% over GENOTYPES), clinical_facts B5 -------------------------------------
# RADeep EU registry [V]: SCA 71.6, SC 15.0, Sbeta-thal 10.9 (beta0 + beta+), other 2.5; the
# Sbeta-thal share is split 131:165 beta0:beta+ as in the Greek Laiko cohort of Sbeta-thal
# adults (Voskaridou, Blood 2010) [V] -> 4.8 / 6.1 [derived]. (US screening's 2:8 does not fit
# Mediterranean Europe, where beta0-39 is the commonest Italian beta-thal allele.)
RADEEP_MIX = (71.6, 4.8, 15.0, 6.1, 2.5)
# US newborn screening [V]: SS 65, SC 25, Sbeta+ 8, Sbeta0 2.
US_NEWBORN_MIX = (65.0, 2.0, 25.0, 8.0, 0.0)
# King's College London adults [V]: SS 62, SC 32, Sbeta+ 5, Sbeta0 1.
KINGS_ADULT_MIX = (62.0, 1.0, 32.0, 5.0, 0.0)
# CADRE West/Central Africa [V]: SS/Sbeta0 72.7, SC 20.6, Sbeta+ 6.7; SS:Sbeta0 split
# [assumption].
CADRE_MIX = (70.0, 2.7, 20.6, 6.7, 0.0)

ALL_TESTS = frozenset({"tcd", "trv", "acr", "mri", "hb_fractions", "retina"})
PROFILES = (
    # RADeep-like mixed reference centre: 62% < 18 y, 52.5% female [V].
    ScdSiteProfile(
        kind="reference", genotype_mix=RADEEP_MIX, child_share=0.62, female_share=0.525,
        hu_logit=0.0, hsct_factor=1.5, accrual=("2006-01-01", "2025-06-30"),
        cutoff="2025-12-31", loss_per_year=0.02, transfer_at_18=False, tests=ALL_TESTS,
        tcd_coverage=0.95, ferritin_coverage=0.95, lab_missing=0.03,
    ),
    ScdSiteProfile(
        kind="paediatric", genotype_mix=US_NEWBORN_MIX, child_share=1.0, female_share=0.5,
        hu_logit=0.8, hsct_factor=2.0, accrual=("2008-01-01", "2025-06-30"),
        cutoff="2025-12-31", loss_per_year=0.03, transfer_at_18=True,
        tests=frozenset({"tcd", "acr", "mri", "hb_fractions", "retina"}),
        tcd_coverage=0.95, ferritin_coverage=0.9, lab_missing=0.04,
    ),
    # adult centre: US adult cohorts 54-61% female [V].
    ScdSiteProfile(
        kind="adult", genotype_mix=KINGS_ADULT_MIX, child_share=0.0, female_share=0.56,
        hu_logit=-0.35, hsct_factor=0.3, accrual=("2004-01-01", "2024-12-31"),
        cutoff="2025-06-30", loss_per_year=0.04, transfer_at_18=False,
        tests=frozenset({"trv", "acr", "hb_fractions", "retina"}),
        tcd_coverage=0.0, ferritin_coverage=0.95, lab_missing=0.05,
    ),
    # general hospital: no echo, albuminuria, MRI, HPLC fractions or eye screening.
    ScdSiteProfile(
        kind="general", genotype_mix=CADRE_MIX, child_share=0.35, female_share=0.53,
        hu_logit=-1.0, hsct_factor=0.5, accrual=("2014-01-01", "2025-12-31"),
        cutoff="2026-06-30", loss_per_year=0.06, transfer_at_18=False,
        tests=frozenset({"tcd"}), tcd_coverage=0.7, ferritin_coverage=0.5, lab_missing=0.10,
    ),
)


def profile_for(site: int) -> ScdSiteProfile:
    """Site 1 is a mixed reference centre, 2 paediatric, 3 adult, 4 general; then repeat.

    >>> [profile_for(s).kind for s in (1, 2, 3, 4, 5)]
    ['reference', 'paediatric', 'adult', 'general', 'reference']
    """
    return PROFILES[(site - 1) % len(PROFILES)]


# ---- demographics -----------------------------------------------------------------------------
# Adults: 18 + Gamma(2, 8) y -> median 31, IQR 26-40, close to King's SS/Sbeta0 median 32
# (IQR 25-43) [V, fitted]; SC and Sbeta+ are older (medians 39, 40 [V]) -> +7 y.
ADULT_AGE_GAMMA = (2.0, 8.0)
MILD_AGE_SHIFT = 7.0
INFANT_SHARE = 0.12  # children enrolled in their first year (newborn screening) [assumption]
# alpha-thal trait (-a/aa or -a/-a) in 38% of London adults: 62% aa/aa (Gardner 2016) [V];
# drawn as the alpha-globin genotype in scd_crf.

# ---- steady-state labs off treatment, per genotype (B6, adults) -------------------------------
# Tuples indexed by genotype are in GENOTYPES order: HbSS, HbSbeta0, HbSC, HbSbeta+, other.
# Hb mean/SD: SS 8.1 (1.2) [V]; Sbeta0 7-9 [V]; Sbeta+ 9-12 [V]; SC mean 11.1-11.5 [V];
# other [assumption].
HB_MEAN = (8.1, 8.0, 11.3, 10.5, 9.5)
HB_SD = (1.2, 1.0, 1.2, 1.0, 1.3)
HB_MALE_ADULT = 0.4  # higher PCV in males after ~17 y (West 1992) [V qualitative, size assumed]
HB_DECLINE_AFTER_40 = 0.02  # g/dL per year, PCV falls after 40 in SS (West 1992) [V qual.]
HB_ALPHA_THAL = 0.4  # [unverified]
# HbF % median (lognormal): SS < 10 (2-15) [V]; Sbeta0 < 20 [V]; Sbeta+ 2-10 [V];
# SC median 1.5, mean 2.5, range 1-7 [V] (Powars 2002).
HBF_MEDIAN = (6.0, 8.0, 1.5, 4.0, 5.0)
HBF_SIGMA = (0.5, 0.5, 0.8, 0.45, 0.5)
# Postnatal decline: HbF = steady level + (HbF at birth - steady level) exp(-months / tau).
# Marcus & Ware 1999 (J Pediatr Hematol Oncol) [V]: HbSS 14.6 +- 7.3 % at 24 months, HbSC
# 12.2 +- 9.3 % at 12 months (faster decline) -> tau 11 months (SS, Sbeta0, other) and 6 months
# (SC, Sbeta+) [derived] with HbF at birth 80 % [assumption].
HBF_AT_BIRTH = 80.0
HBF_DECLINE_MONTHS = (11.0, 11.0, 6.0, 6.0, 11.0)
HBSC_HBF_CAP = 14.0  # from age 3: keeps the rule HbSC, age >= 3 => HbF <= 15
# MCV fL: SS 80-100, Sbeta0 65-85, Sbeta+ 65-75, SC 75-90 mean 84 [V] (hemonc, Powars 2002).
MCV_MEAN = (90.0, 74.0, 83.0, 70.0, 85.0)
MCV_SD = (6.0, 5.0, 4.0, 4.0, 6.0)
MCV_ALPHA_THAL = -6.0  # [unverified]
MCV_CHILD_PER_YEAR = -0.6  # lower MCV in young children, per year under 12 [assumption]
# Reticulocytes %: SS ~10-15 [unverified]; Sbeta+ 5-10 [V]; SC ARC median 135e9/L [V]
# (about 3.5% at SC red-cell counts [derived]).
RETIC_PCT = (12.0, 10.0, 3.5, 7.0, 7.0)
# WBC 1e9/L: SS raised ~10-12, SC/Sbeta+ ~normal [V qualitative, values unverified].
WBC_MEDIAN = (10.5, 10.0, 7.5, 8.0, 9.0)
NEUTROPHIL_SHARE = (0.55, 0.08)  # mean, SD [assumption]
# Platelets 1e9/L: SS ~350-450 raised, SC/Sbeta+ normal [V qualitative, values unverified].
PLT_MEAN = (400.0, 380.0, 280.0, 300.0, 330.0)
# LDH U/L: SS ~400-600 [unverified]; SC median 237 [V] (ASH 2025).
LDH_MEDIAN = (480.0, 400.0, 237.0, 300.0, 350.0)
# Bilirubin mg/dL: SS ~2-4, lower in SC/Sbeta+ [unverified].
BILI_MEDIAN = (2.8, 2.5, 1.2, 1.5, 1.8)
# Ferritin ng/mL: non-transfused [assumption]; chronic transfusion median 1,800 so that about
# a third is < 1,500 and a sixth >= 3,000 (Adamkiewicz 2009 thresholds [V]).
FERRITIN_MEDIAN_UNTRANSFUSED = (250.0, 250.0, 120.0, 150.0, 200.0)
FERRITIN_MEDIAN_TRANSFUSED = 1800.0
# HbA2 % on HPLC: HbSS 3.68 +- 0.65 (Fonseca, Hematol Transfus Cell Ther 2015, children 2-6 y)
# [V], higher with alpha-thal trait (Head, J Clin Pathol 2004) [V qualitative, +0.4 assumption];
# Sbeta-thal raised as in beta-thal trait, with a few overlapping HbSS (Huisman) [V qualitative],
# mean 5.0 / 4.8 SD 0.8 [assumption]; SC 3.0 [assumption]. So HbA2 does not separate SS from
# Sbeta0 on its own.
HBA2_MEAN = (3.7, 5.0, 3.0, 4.8, 2.8)
HBA2_SD = (0.65, 0.8, 0.5, 0.8, 0.5)
HBA2_ALPHA_THAL = 0.4
HBA_SBETA_PLUS = (10.0, 30.0)  # HbA 10-30 % in Sbeta+ [V]
HBC_SC = (45.0, 50.0)  # HbC ~45-50 % in SC [V]
OTHER_VARIANT = (35.0, 48.0)  # the non-S variant in compound forms [assumption]
HBS_TRANSFUSED = (20.0, 45.0)  # HbS target on transfusion < 30-50 % [unverified]
# eGFR: hyperfiltration (>= 130 F / 140 M) in 38% of adults, median age 24, falling to normal
# from ~26 y (Blood Adv 2022) [V]; level, SD and yearly decline [assumption, fitted].
EGFR_YOUNG = (130.0, 130.0, 115.0, 115.0, 120.0)
EGFR_SD = 18.0
EGFR_DECLINE = 0.8  # mL/min/1.73m2 per year after 26 [assumption]
# Albuminuria: ACR >= 30 mg/g in 32% of SCA at mean age 21 (Niss 2020) [V], up to 58-68% of
# adults [V]: log ACR ~ N(2.74 + 0.053 (age - 21), 1.4) [derived]; rare in SC [V]: -1.5
# [assumption].
ACR_LOG_MU21 = 2.74
ACR_LOG_SLOPE = 0.053
ACR_LOG_SD = 1.4
ACR_MILD_SHIFT = -1.5
# TCD (children 2-16, HbSS/HbSbeta0): lognormal median 150 cm/s, sigma 0.22 gives ~9%
# >= 200 and ~19% conditional before treatment [assumption]; 9.4% of re-screened children
# convert to abnormal (STOP) [V].
TCD_MEDIAN = 150.0
TCD_SIGMA = 0.22
TCD_HB_SLOPE = -0.05  # log cm/s per g/dL above the genotype mean (anaemia raises flow) [assumption]
# TRV (adults): lognormal fitted to >= 2.5 m/s in 32% (Gladwin 2004) [V] and >= 3.0 in 11.2%
# (Walk-PHaSST) [V] -> log median 0.80, sigma 0.245 [derived].
TRV_LOG_MU = 0.80
TRV_LOG_SIGMA = 0.245
TRV_AGE_SLOPE = 0.004  # per year from 35 [assumption]
TRV_MILD_SHIFT = -0.05  # [assumption]
# Catheter-proven PH in 6-11% of adults (ASH Education 2014) [V]: P(PH | TRV >= 3) = 0.5,
# P(PH | 2.5 <= TRV < 3) = 0.12 [assumption] -> ~8%.
PH_GIVEN_TRV = (0.12, 0.5)

# ---- treatment effects -----------------------------------------------------------------------
# MSH 2-y HbF by response quartile 18.1 / 8.8 / 4.2 / 3.9 % (Steinberg 1997) [V]; children at
# MTD (~25 mg/kg/d) ~20% [unverified].
HU_HBF_QUARTILES = (18.1, 8.8, 4.2, 3.9)
HU_HBF_CHILD_MEDIAN = 20.0
HU_HBF_MILD_FACTOR = 1.8  # HbSC / Sbeta+ on HU [assumption]
HU_HB_RISE = 0.6  # 8.9 vs 8.3 g/dL (Blood 2006 abstract) [V]
HU_MCV_RISE = 12.0  # MCV rises on HU [V qualitative, size assumption]
HU_WBC_FACTOR = 0.75  # [assumption]
HU_RETIC_FACTOR = 0.7  # [assumption]
HU_PLT_DROP = 40.0  # [assumption]
HU_HAEMOLYSIS_FACTOR = 0.85  # LDH, bilirubin [assumption]
HU_CRISIS_FACTOR = 0.56  # median crises 2.5 vs 4.5 /yr, -44% (MSH, Charache 1995) [V]
HU_ACS_FACTOR = 0.5  # ACS in 25 vs 51 patients (MSH) [V]
HU_DOSE_ADULT = (20.0, 5.0)  # mg/kg/d mean, SD [assumption]
HU_DOSE_CHILD = (25.0, 4.0)  # MTD ~25 mg/kg/d [unverified]
# HU use: 40% of SS adults at US centres (2006) [V]; HbSC vs HbSS 0.9% vs 2.3% (Blood Adv
# 2023) [V] -> probability x0.39 in HbSC and HbSbeta+ [derived].
HU_MILD_RATIO = 0.39
HU_SEVERITY_COEF = 0.35  # logit per log crisis-severity (MSH enrolled >= 3 crises/yr) [assumption]
HU_FROM_YEAR = 1995.0  # MSH (Charache 1995) [V]: nobody has taken HU for longer
HU_ERA_COEF = 0.05  # per calendar year from 2015 [assumption]
TRANSFUSED_HB = (9.8, 0.8)  # [assumption]
TRANSFUSED_HBF_FACTOR = 0.5  # dilution by donor blood [assumption]
TRANSFUSED_RETIC_FACTOR = 0.6  # [assumption]
# On transfusion, 83.5% of children with TAMMV >= 200 normalise below 170 cm/s (Bernaudin,
# Blood 2016, Creteil) [V] -> x0.68 with lognormal noise 0.08 [derived, fitted].
TRANSFUSED_TCD_FACTOR = 0.68
TRANSFUSED_TCD_NOISE = 0.08
HU_TCD_FACTOR = 0.95  # [assumption]
# Gene therapy (exa-cel, Frangoul 2024): 97% VOC-free, Hb >= 11 maintained [V]; HbF ~40%
# [unverified]; ages 12-35 [unverified]. The four simulated sites are European hospitals: EU
# conditional marketing authorisation of exa-cel in February 2024 [V] (MHRA 16 Nov 2023, FDA Dec
# 2023 [V]); treatment from March 2024 [assumption]. Trial patients were treated from 2014
# (HGB-205, Ribeil NEJM 2017) [V] but are not simulated.
GENE_THERAPY_HB = (12.5, 1.0)
GENE_THERAPY_HBF = (40.0, 6.0)
GENE_THERAPY_VOC_RATE = 0.03
GENE_THERAPY_FROM = "2024-03-01"
# Newer drugs as authorised in the EU/EEA (from, to, minimum age, probability [assumption]):
# crizanlizumab: conditional approval 2020-10-28, revoked by the European Commission 2023-08-03
#   after STAND showed no fewer crises (2.5 vs 2.3 per year with placebo) [V] -> no crisis effect;
# voxelotor: EC approval February 2022 (announced 2022-02-16), suspended 2024-09-26 and withdrawn
#   worldwide [V]; Hb +1.1 g/dL (HOPE) [unverified];
# L-glutamine: never authorised in the EU (CHMP negative opinion 2019-05-29, application
#   withdrawn 2019-09-18; named-patient access only) [V] -> not simulated.
NEW_DRUG_WINDOWS = {
    "crizanlizumab": ("2020-10-28", "2023-08-03", 16, 0.04),
    "voxelotor": ("2022-02-16", "2024-09-26", 12, 0.04),
}
VOXELOTOR_HB_RISE = 1.1

# ---- complications: rates per patient-year (B7) ----------------------------------------------
# VOC/yr: SS 1.23, SC 0.746 (US adults, Blood Adv 2023, mostly off HU) [V]; Sbeta0 = SS x 1.25
# and Sbeta+ = SC (Platt 1991 ratios) [unverified]; other [assumption]. Negative binomial (shape
# 1). European centres record far fewer crises: RADeep, >= 2 painful crises in the past 12
# months in 7% of patients (adults 9.9%, children 5.1%) [V] -> the US rates x0.30 [fitted on
# the RADeep-like reference site].
VOC_RATE = (1.23, 1.54, 0.746, 0.746, 1.0)
VOC_RECORDED_EU = 0.5
VOC_NB_SHAPE = 1.0
VOC_AGE_FACTOR = ((5, 0.5), (13, 0.8))  # < 5 y x0.5, 5-12 y x0.8 [assumption]
VOC_HBF_SLOPE = 0.05  # log-rate per HbF % above the genotype median [assumption]
TRANSFUSED_CRISIS_FACTOR = 0.7  # [assumption]
ADMISSION_PER_VOC = 0.6  # [assumption]
OTHER_ADMISSIONS = 0.15  # per year [assumption]
# ACS per 100 pt-yr (Castro 1994) [V]: SS 12.8, Sbeta0 9.4, SC 5.2, Sbeta+ 3.9; SS 2-4 y
# 25.3, SS adults 8.8 [V]; < 2 y, 5-9 y and 10-17 y rates are [assumption]. Gives ACS ever in
# ~75% of SS adults at 35 (76% in Blood 2006 abstract [V]).
ACS_SS_BY_AGE = ((0, 2, 0.15), (2, 5, 0.253), (5, 10, 0.15), (10, 18, 0.10), (18, 91, 0.088))
# Castro's SC and Sbeta+ incidence (5.2 and 3.9 vs SS 12.8) turned into a lifetime count gives
# ACS "ever" in 55-70% of SC adults, but the record of a European adult clinic shows 20%
# (Lionnet, Haematologica 2012, 179 HbSC adults) [V]: SC and Sbeta+ ratios fitted to 20% at
# the adult centre [fitted]; Sbeta0 as Castro [V]; other [assumption].
ACS_GENOTYPE_RATIO = (1.0, 9.4 / 12.8, 0.065, 0.05, 0.4)
# Heterogeneity: shared crisis severity (sqrt) x own gamma frailty. Castro 1994: 2,100 events
# in 1,085 of 3,751 patients (29% with any) [V] -> strong concentration, negative binomial
# shape ~0.4 over the study [derived]; frailty shape 0.6 here [fitted to both targets].
ACS_FRAILTY_SHAPE = 0.8
# Stroke. Adults (from 18 y): SS incidence 0.61 /100 pt-yr (CSSCD) [V]. Children (2-18 y): the
# velocities measured once are a snapshot, but 29.6% of SS/Sbeta0 children have an abnormal TCD
# at some time by 18 y (Creteil, Bernaudin, Blood 2011) [V]: this "ever abnormal" group holds
# every child abnormal now, half of those conditional now [assumption] and 14.2% of those
# normal now [derived]. Two targets: without screening ~11% of SS have a stroke by 20 y (CSSCD)
# [V]; with yearly TCD screening and transfusion of abnormal velocities 1.9% by 18 y (95% CI
# 0.6-5.9; Creteil) [V]. Transfusion cuts the stroke risk of abnormal TCD by ~90% (STOP) [V].
# Screening era from 1998 (STOP published) [V] at the site's screening coverage. Rates solved
# from the two targets [derived]: 2.32 /100 pt-yr if ever abnormal and untreated, 0.037 else.
# Genotype factors [unverified].
STROKE_ADULT_RATE = 0.0061
STROKE_CHILD_BASE = 0.00037
STROKE_VASCULOPATHY_RATE = 0.0232
TCD_EVER_ABNORMAL = (0.142, 0.5, 1.0)  # P(ever abnormal | normal, conditional, abnormal now)
STROKE_TRANSFUSION_PROTECTION = 0.9
TCD_SCREENING_FROM = 1998.0
CHILDHOOD_SCREENING_ELSEWHERE = 0.8  # adults' childhood centres [assumption]
STROKE_GENOTYPE = (1.0, 1.0, 0.25, 0.2, 0.5)
# Silent infarcts ~ 3%/yr in SS children: 37.1% by 14 y in the Creteil cohort (Bernaudin 2011)
# [V]; 1%/yr in adults [assumption].
SILENT_RATE = (0.03, 0.01)
SILENT_GENOTYPE = (1.0, 1.0, 0.4, 0.4, 0.7)
# Priapism: 41% of adult SS/Sbeta0 men (Blood 2006) [V] -> 1.5%/yr from age 5 [derived]; SC
# 4.4 vs SS 10.3% (Blood Adv 2023) [V] -> x0.43.
PRIAPISM_RATE = 0.015
PRIAPISM_GENOTYPE = (1.0, 1.0, 0.43, 0.43, 0.7)
# Leg ulcers: 26% history in adult SS/Sbeta0 (Blood 2006) [V] -> 1%/yr from 10 y [derived];
# active 8.3% SS vs 0% SC [V] -> SC x0.1 [assumption].
LEG_ULCER_RATE = 0.013
LEG_ULCER_GENOTYPE = (1.0, 1.0, 0.1, 0.3, 0.5)
LEG_ULCER_ALPHA_THAL = 0.6  # [unverified]
# AVN per 100 pt-yr (Milner 1991) [V]: SS 2.4, SS+alpha-thal 4.5, Sbeta0 3.6, Sbeta+ 3.3, SC
# 1.9; x0.5 (diagnosed history) and x0.3 at 5-14 y [assumption] to match 22% by 27 y
# (California) [V], 30% of SS adults (Blood 2006) [V] and 15-22% of SC adults [V].
AVN_RATE = (0.024, 0.036, 0.019, 0.033, 0.024)
AVN_SS_ALPHA_THAL = 0.045
AVN_DIAGNOSED = 0.5
# Proliferative retinopathy incidence (Downes 2005, systematic screening) [V]: SC 2.5, SS 0.5
# per 100/yr; others [assumption]; from age 8; x0.6 for registry-recorded disease, between
# Downes and SCDIC 15-45 y (SC 23.1% vs SCA 10.6%) [V] [assumption].
RETINOPATHY_RATE = (0.005, 0.005, 0.025, 0.01, 0.01)
RETINOPATHY_RECORDED = 0.6
# Gallstones: 66% of adult SS/Sbeta0 (Blood 2006) [V] -> 3.3%/yr from 2 y [derived, at 35 y];
# lower in milder genotypes [assumption].
GALLSTONE_RATE = (0.033, 0.033, 0.015, 0.015, 0.025)
CHOLECYSTECTOMY_GIVEN_STONES = 0.5  # [assumption]
# Splenic sequestration: SS/Sbeta0 in early childhood, SC/Sbeta+ at any age [assumption].
SEQUESTRATION_RATE = (0.04, 0.04, 0.004, 0.004, 0.01)
SPLENECTOMY_GIVEN_SEQUESTRATION = 0.35  # [assumption]
# Nephropathy 8.5% SS vs 1.1% SC (Blood Adv 2023) [V]: macroalbuminuria or eGFR < 60, plus a
# clinical diagnosis in 1% of SS/Sbeta0 adults [assumption].
NEPHROPATHY_EXTRA = 0.01
# Chronic transfusion (7% of SS adults, Blood 2006 [V]): after stroke (STOP / secondary
# prevention [V]), abnormal TCD (STOP [V]), silent infarct (SIT [unverified]); probabilities
# [assumption].
CT_AFTER_STROKE = (0.9, 0.4, 0.2)  # child now; adult after childhood stroke; adult-onset
CT_ABNORMAL_TCD = (0.75, 0.15)  # now a child, now an adult
CT_SILENT = 0.15
CT_OTHER = (0.01, 0.02)
CHELATION = (0.85, 0.4, 0.5, 0.02)  # CT & ferritin >= 1000, CT, ferritin >= 1000, neither
PENICILLIN = (0.9, 0.15, 0.03, 0.5)  # < 5 y, 5-17 y, adults, after splenectomy [assumption]

# ---- HSCT and survival -----------------------------------------------------------------------
# HSCT (Gluckman 2017) [V]: median age 9, 94% HbSS, commonest indication stroke, 7% died
# (transplant-related), 5-y EFS 91.4%. Probabilities over follow-up [assumption].
HSCT_PROB = {"child_stroke": 0.3, "child_abnormal_tcd": 0.06, "child": 0.003, "adult": 0.003}
HSCT_MILD_FACTOR = 0.1
HSCT_TRM = 0.07
HSCT_CURED = 0.914
# Gompertz mortality h(a) = B exp(G a) HR: survival to 18 ~99.5% (London 99% [V]); median
# ~65 y for an average SS patient (London 67 y [V]; US 45-58 y [V]) [derived].
MORTALITY_B = 8.0e-5
MORTALITY_G = 0.08
# HbSC and male sex: median age at death SS 42 M / 48 F, SC 60 M / 68 F (Platt 1994) [V] ->
# HR exp(-G * 19 y) = 0.22 for SC, exp(G * 7 y) = 1.75 for males [derived].
MORTALITY_GENOTYPE_HR = (1.0, 1.0, 0.22, 0.22, 0.5)
MORTALITY_MALE_HR = 1.75
# TRV >= 2.5: crude death rate ratio 10.1 (Gladwin 2004) [V]; adjusted HR 3 [assumption].
MORTALITY_TRV_HR = 3.0
MORTALITY_WBC15_HR = 2.0  # WBC > 15 a risk factor (Platt 1994) [V qualitative, HR assumed]
MORTALITY_HBF_SLOPE = -0.04  # log-HR per HbF %, low HbF a risk factor [V qual., slope assumed]
MORTALITY_NEPHROPATHY_HR = 2.0  # renal failure a risk factor [V qualitative, HR assumed]
# Adults: ACS history a risk factor (Platt 1994; MSH, Steinberg JAMA 2003: >= 1 ACS) [V
# qualitative], HR 1.5 [assumption]; >= 1 crisis needing the ED or admission in the previous
# year: mortality RR 2.68 (Darbari, PLoS One 2013, 264 SCA adults) [V]; on hydroxyurea: 10-year
# survival 86% vs 65% off it (Voskaridou, Blood 2010) [V] -> HR 0.35 [derived, crude, HU
# patients were the more severe].
MORTALITY_ACS_HR = 1.5
MORTALITY_VOC_HR = 2.68
MORTALITY_HU_HR = 0.35
# Causes of death. Adults: 53 deaths at four French and English centres (Perronne, Hematol J
# 2002) [V]: acute vaso-occlusion 51%, documented infection 19%, chronic organ failure 19%,
# other 11%; the vaso-occlusive deaths split 78:22 into crisis/ACS and stroke as in CSSCD
# (Platt 1994) [V, derived]. Children: 13 SCD deaths in the North Paris newborn cohort (Couque,
# BJH 2016) [V]: acute anaemia incl. splenic sequestration 5, infection 3, other 5.
DEATH_CAUSES = ("acute_crisis", "stroke", "infection", "organ_failure", "other")
DEATH_CAUSE_SHARE_ADULT = (27 / 53 * 0.78, 27 / 53 * 0.22, 10 / 53, 10 / 53, 6 / 53)
DEATH_CAUSE_SHARE_CHILD = (5 / 13, 0.0, 3 / 13, 0.0, 5 / 13)


@lru_cache(maxsize=1)
def _dictionary() -> Dictionary:
    return load_dictionary("scd")


def _date_days(iso: str) -> int:
    return int(np.datetime64(iso, "D").astype(np.int64))


def _hazard_years(age: np.ndarray, start: float, stop: float | np.ndarray = 200.0) -> np.ndarray:
    """Years lived inside [start, stop) by someone now ``age`` years old."""
    return np.clip(np.minimum(age, stop) - start, 0.0, None)


def _ever(rate: np.ndarray, years: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return rng.random(len(rate)) < -np.expm1(-rate * years)


def simulate_site(n: int, *, site: int, n_sites: int, rng: np.random.Generator) -> pd.DataFrame:
    """Simulate ``n`` SCD patients of hospital ``site`` (1-based) as a typed frame.

    ``n_sites`` is part of the common simulator signature; SCD site profiles depend only on
    ``site``. Only ``rng`` is used for randomness, so a seed reproduces the frame exactly.
    """
    if n < 0:
        raise ValueError(f"n is {n}; ask for zero or more patients")
    if site < 1 or n_sites < 1 or site > n_sites:
        raise ValueError(f"site {site} of {n_sites}: sites are numbered 1..n_sites")
    return _frame(_simulate(n, profile_for(site), rng), site)


def _simulate(n: int, prof: ScdSiteProfile, rng: np.random.Generator) -> dict:
    """The generative story for one site profile: the patient arrays, before formatting."""
    p = _patients(n, prof, rng)
    p["alpha"] = p["alpha_n"] > 0
    _baseline_labs(p, rng)
    scd_crf.growth(p, rng)
    _history(p, prof, rng)
    _treatment(p, prof, rng)
    _labs_at_enrolment(p, rng)
    _crises(p, rng)
    _outcome(p, prof, rng)
    _crf_fields(p, rng)
    _mask(p, prof, rng)
    return p


def _crf_fields(p: dict, rng: np.random.Generator) -> None:
    """The case-report-form fields of scd_crf (growth, transfusion, infections, vitals...)."""
    scd_crf.body_weight(p, rng, hb_mean=np.take(HB_MEAN, p["g"]))
    scd_crf.transfusion_record(p, rng)
    scd_crf.infections(p, rng)
    scd_crf.neurology(p, rng)
    scd_crf.vitals(p, rng)
    scd_crf.background(p, rng)
    scd_crf.thrombosis(p, rng)
    p["alpha_gen"] = np.array(scd_crf.ALPHA_GENOTYPES, dtype=object)[p["alpha_n"]]
    p["dx_route"] = np.where(p["dx_newborn"], "newborn_screening", "symptoms")


# ---- steps: each adds arrays to the patient dict ``p`` -----------------------------------------
def _patients(n: int, prof: ScdSiteProfile, rng: np.random.Generator) -> dict:
    mix = np.array(prof.genotype_mix) / sum(prof.genotype_mix)
    g = rng.choice(len(GENOTYPES), size=n, p=mix)
    mild = (g == SC) | (g == SBP)
    child = rng.random(n) < prof.child_share
    child_age = np.where(rng.random(n) < INFANT_SHARE, 0, rng.integers(1, 18, n))
    adult_age = 18 + rng.gamma(ADULT_AGE_GAMMA[0], ADULT_AGE_GAMMA[1], n) + MILD_AGE_SHIFT * mild
    age = np.where(child, child_age, np.minimum(np.floor(adult_age), 85)).astype(int)
    start, stop = _date_days(prof.accrual[0]), _date_days(prof.accrual[1])
    enrol = rng.integers(start, stop + 1, n)
    return {
        "n": n,
        "g": g,
        "mild": mild,
        "severe": (g == SS) | (g == SB0),
        "male": rng.random(n) >= prof.female_share,
        "age": age,
        "age_x": age + rng.random(n),  # exact age
        "enrol": enrol,
        "year": 1970 + enrol / DAYS_PER_YEAR,
        "alpha_n": rng.choice(3, size=n, p=scd_crf.ALPHA_SHARE),  # alpha-globin deletions
        "u": rng.gamma(VOC_NB_SHAPE, 1.0 / VOC_NB_SHAPE, n),  # crisis severity (frailty)
        "zh": rng.standard_normal(n),  # haemolysis score
    }


def _baseline_labs(p: dict, rng: np.random.Generator) -> None:
    n, g, age = p["n"], p["g"], p["age"]
    zh = p["zh"] - 0.4 * p["alpha"]  # alpha-thal trait dampens haemolysis [unverified]
    p["zh_eff"] = zh
    eps = rng.standard_normal((8, n))
    hb = np.take(HB_MEAN, g) + np.take(HB_SD, g) * (-0.5 * zh + np.sqrt(0.75) * eps[0])
    hb += HB_ALPHA_THAL * p["alpha"] + HB_MALE_ADULT * (p["male"] & (age >= 18))
    hb -= HB_DECLINE_AFTER_40 * np.clip(age - 40, 0, None) * p["severe"]
    hb += np.select([age == 0, age == 1], [1.0, 0.5], 0.0)  # HbF-rich infants [assumption]
    p["hb0"] = np.clip(hb, 4.5, 14.5)
    steady = np.take(HBF_MEDIAN, g) * np.exp(np.take(HBF_SIGMA, g) * eps[1])
    months = 12.0 * p["age_x"]
    infant = (HBF_AT_BIRTH - steady) * np.exp(-months / np.take(HBF_DECLINE_MONTHS, g))
    hbf = np.minimum(steady + np.clip(infant, 0, None) * np.exp(0.3 * eps[1]), 85.0)
    hbf = np.where(age < 3, hbf, np.minimum(hbf, 45.0))
    p["hbf0"] = np.where((g == SC) & (age >= 3), np.minimum(hbf, HBSC_HBF_CAP), hbf)
    mcv = np.take(MCV_MEAN, g) + np.take(MCV_SD, g) * eps[2] + MCV_ALPHA_THAL * p["alpha"]
    p["mcv0"] = mcv + MCV_CHILD_PER_YEAR * np.clip(12 - age, 0, None)
    p["retic0"] = np.take(RETIC_PCT, g) * np.exp(0.25 * zh + 0.2 * eps[3])
    p["wbc0"] = np.take(WBC_MEDIAN, g) * np.exp(0.25 * eps[4]) * np.where(age < 5, 1.15, 1.0)
    p["plt0"] = np.clip(np.take(PLT_MEAN, g) + 90 * eps[5], 60, None)
    p["ldh0"] = np.take(LDH_MEDIAN, g) * np.exp(0.25 * zh + 0.2 * eps[6])
    p["bili0"] = np.take(BILI_MEDIAN, g) * np.exp(0.3 * zh + 0.3 * eps[7])
    # latent TCD (meaningful for children) and TRV (adults)
    e2 = rng.standard_normal((4, n))
    hb_dev = p["hb0"] - np.take(HB_MEAN, g)
    p["tcd0"] = TCD_MEDIAN * np.exp(TCD_HB_SLOPE * hb_dev + TCD_SIGMA * e2[0])
    p["tcd_class"] = np.digitize(p["tcd0"], [170.0, 200.0])
    p["vasculopathy"] = rng.random(n) < np.take(TCD_EVER_ABNORMAL, p["tcd_class"])
    trv_mu = TRV_LOG_MU + TRV_AGE_SLOPE * (age - 35) + 0.05 * zh + TRV_MILD_SHIFT * p["mild"]
    p["trv0"] = np.round(np.clip(np.exp(trv_mu + 0.235 * e2[1]), 1.2, 5.5), 2)
    acr_mu = ACR_LOG_MU21 + ACR_LOG_SLOPE * (age - 21) + 0.3 * zh
    acr_mu += ACR_MILD_SHIFT * p["mild"] + 0.5 * ACR_MILD_SHIFT * (g == OTHER)
    p["acr0"] = np.round(np.clip(np.exp(acr_mu + ACR_LOG_SD * e2[2]), 1.0, 5000.0))
    egfr = np.take(EGFR_YOUNG, g) - EGFR_DECLINE * np.clip(age - 26, 0, None)
    egfr -= 8.0 * np.clip(np.log(p["acr0"] / 30.0), 0, None)
    p["egfr_latent"] = np.clip(egfr + EGFR_SD * e2[3], 8.0, 220.0)


def _history(p: dict, prof: ScdSiteProfile, rng: np.random.Generator) -> None:
    n, g, age_x = p["n"], p["g"], p["age_x"]
    zh, severe = p["zh_eff"], p["severe"]
    _stroke(p, prof, rng)
    stroke = p["stroke"]
    si_rate = np.where(p["tcd_class"] > 0, 1.5, 1.0) * np.take(SILENT_GENOTYPE, g)
    si_h = SILENT_RATE[0] * _hazard_years(age_x, 1.0, 18.0)
    si_h += SILENT_RATE[1] * _hazard_years(age_x, 18.0)
    p["silent"] = rng.random(n) < -np.expm1(-si_rate * si_h)
    pri = PRIAPISM_RATE * np.take(PRIAPISM_GENOTYPE, g) * np.exp(0.3 * zh)
    p["priapism"] = p["male"] & _ever(pri, _hazard_years(age_x, 5.0), rng)
    leg = LEG_ULCER_RATE * np.take(LEG_ULCER_GENOTYPE, g) * np.exp(0.4 * zh)
    leg *= np.where(p["alpha"], LEG_ULCER_ALPHA_THAL, 1.0)
    p["leg_ulcers"] = _ever(leg, _hazard_years(age_x, 10.0), rng)
    avn = np.where((g == SS) & p["alpha"], AVN_SS_ALPHA_THAL, np.take(AVN_RATE, g))
    avn_yrs = 0.3 * _hazard_years(age_x, 5.0, 15.0) + _hazard_years(age_x, 15.0)
    p["avn"] = _ever(AVN_DIAGNOSED * avn, avn_yrs, rng)
    retina = RETINOPATHY_RECORDED * np.take(RETINOPATHY_RATE, g)
    p["retinopathy"] = _ever(retina, _hazard_years(age_x, 8.0), rng)
    stones = np.take(GALLSTONE_RATE, g) * np.exp(0.4 * zh)
    p["gallstones"] = _ever(stones, _hazard_years(age_x, 2.0), rng)
    p["cholecystectomy"] = p["gallstones"] & (rng.random(n) < CHOLECYSTECTOMY_GIVEN_STONES)
    seq_yrs = np.where(severe, _hazard_years(age_x, 0.25, 6.0), _hazard_years(age_x, 0.25))
    p["sequestration"] = _ever(np.take(SEQUESTRATION_RATE, g), seq_yrs, rng)
    p["splenectomy"] = p["sequestration"] & (rng.random(n) < SPLENECTOMY_GIVEN_SEQUESTRATION)
    p["splenectomy"] |= rng.random(n) < 0.005
    # chronic transfusion and its indication (first matching)
    is_child = p["age"] < 18
    ct_stroke = np.select([is_child, p["stroke_age"] < 18], list(CT_AFTER_STROKE[:2]),
                          CT_AFTER_STROKE[2])
    by_stroke = stroke & (rng.random(n) < ct_stroke)
    tcd_ok = severe & (p["age"] >= 2) & p["tcd_detected"]
    by_tcd = tcd_ok & (rng.random(n) < np.where(is_child, *CT_ABNORMAL_TCD))
    mri = severe & (p["age"] >= 5) & ("mri" in prof.tests)  # screened, see _mask
    by_si = p["silent"] & mri & is_child & (rng.random(n) < CT_SILENT)
    by_other = rng.random(n) < np.where(is_child, *CT_OTHER)
    p["ct"] = by_stroke | by_tcd | by_si | by_other
    p["ct_why"] = np.select(
        [by_stroke, by_tcd, by_si, by_other], ["stroke", "abnormal_tcd", "silent_infarct", "other"],
        "",
    )


def _stroke(p: dict, prof: ScdSiteProfile, rng: np.random.Generator) -> None:
    """Overt stroke history: childhood years (2-18) by TCD class and screening era, then adult."""
    n, g, age_x = p["n"], p["g"], p["age_x"]
    child_yrs = _hazard_years(age_x, 2.0, 18.0)
    adult_yrs = _hazard_years(age_x, 18.0)
    # childhood years lived after TCD screening began (calendar years)
    birth = p["year"] - age_x
    start = np.maximum(birth + 2.0, TCD_SCREENING_FROM)
    screened_yrs = np.clip(np.minimum(birth + 2.0 + child_yrs, p["year"]) - start, 0.0, child_yrs)
    coverage = prof.tcd_coverage if prof.tcd_coverage > 0 else CHILDHOOD_SCREENING_ELSEWHERE
    # abnormal velocities found by screening are transfused (STOP); the others are not
    vasc = p["vasculopathy"]
    p["tcd_detected"] = vasc & (screened_yrs > 0) & (rng.random(n) < coverage)
    protected = p["tcd_detected"] * STROKE_TRANSFUSION_PROTECTION * screened_yrs
    g_rr = np.take(STROKE_GENOTYPE, g)
    rate = np.where(vasc, STROKE_VASCULOPATHY_RATE, STROKE_CHILD_BASE)
    h_child = rate * g_rr * (child_yrs - protected)
    h_adult = STROKE_ADULT_RATE * g_rr * adult_yrs * np.exp(0.2 * p["zh_eff"])
    h = h_child + h_adult
    stroke = rng.random(n) < -np.expm1(-h)
    in_child = rng.random(n) * np.maximum(h, 1e-12) < h_child
    when = np.where(in_child, 2.0 + rng.random(n) * child_yrs, 18.0 + rng.random(n) * adult_yrs)
    p["stroke"] = stroke
    p["stroke_age"] = np.minimum(np.floor(when), p["age"]).astype(int)


def _treatment(p: dict, prof: ScdSiteProfile, rng: np.random.Generator) -> None:
    n, g, age = p["n"], p["g"], p["age"]
    # newer therapies at enrolment
    therapy = np.full(n, "none", dtype=object)
    gt_ok = p["severe"] & (age >= 12) & (age <= 35) & (p["enrol"] >= _date_days(GENE_THERAPY_FROM))
    gt = gt_ok & (p["u"] > 1.5) & (rng.random(n) < 0.05)
    therapy[gt] = "gene_therapy"
    for drug, (start, stop, min_age, prob) in NEW_DRUG_WINDOWS.items():
        ok = (therapy == "none") & (p["severe"] | (g == OTHER)) & (age >= min_age)
        ok &= (p["enrol"] >= _date_days(start)) & (p["enrol"] <= _date_days(stop))
        therapy[ok & (rng.random(n) < prob * np.clip(p["u"], 0.5, 3.0))] = drug
    p["therapy"] = therapy
    p["ct"] &= ~gt
    p["ct_why"] = np.where(gt, "", p["ct_why"])
    # hydroxyurea: severity, genotype, age, era, site habits
    logit = prof.hu_logit + HU_SEVERITY_COEF * np.log(p["u"]) + HU_ERA_COEF * (p["year"] - 2015)
    logit += -1.0 * p["ct"] - 1.0 * (age < 2) + 0.5 * p["stroke"] + 0.4 * (p["tcd_class"] > 0)
    prob = np.where(p["mild"], HU_MILD_RATIO, 1.0) / (1.0 + np.exp(-logit))
    hu = (age >= 1) & ~gt & (rng.random(n) < prob)
    p["hu"] = hu
    adult = age >= 18
    dose = np.where(adult, rng.normal(*HU_DOSE_ADULT, n), rng.normal(*HU_DOSE_CHILD, n))
    p["hu_dose"] = np.round(np.clip(dose, 10.0, 35.0), 1)
    # from 9 months of age at the earliest (BABY HUG started at 9-18 months) [V]
    longest = np.clip(np.minimum(p["age_x"] - 0.75, p["year"] - HU_FROM_YEAR), 0, None)
    yrs = np.floor(10 * rng.random(n) * longest) / 10
    p["hu_years"] = np.clip(yrs, 0.1, None)


def _labs_at_enrolment(p: dict, rng: np.random.Generator) -> None:
    n, g, age, hu, ct = p["n"], p["g"], p["age"], p["hu"], p["ct"]
    gt = p["therapy"] == "gene_therapy"
    e = rng.standard_normal((6, n))
    # HbF: HU response (adult quartiles, child ~20%), dilution on transfusion, gene therapy
    quartile = np.take(HU_HBF_QUARTILES, rng.integers(0, 4, n)) * np.exp(0.2 * e[0])
    child_resp = HU_HBF_CHILD_MEDIAN * np.exp(0.35 * e[0])
    resp = np.where(age >= 18, quartile, child_resp)
    resp = np.where(p["mild"], p["hbf0"] * HU_HBF_MILD_FACTOR, resp)
    hbf = np.where(hu, np.maximum(p["hbf0"], resp), p["hbf0"])
    hbf = np.where(ct, hbf * TRANSFUSED_HBF_FACTOR, hbf)
    hbf = np.where(gt, np.clip(rng.normal(*GENE_THERAPY_HBF, n), 20, 60), hbf)
    cap = np.where(age < 3, 85.0, 60.0)
    hbf = np.where((g == SC) & (age >= 3), np.minimum(hbf, HBSC_HBF_CAP), np.minimum(hbf, cap))
    p["hbf"] = np.round(hbf, 1)
    hb = p["hb0"] + HU_HB_RISE * hu + VOXELOTOR_HB_RISE * (p["therapy"] == "voxelotor")
    hb = np.where(ct, rng.normal(*TRANSFUSED_HB, n), hb)
    hb = np.where(gt, np.maximum(11.0, rng.normal(*GENE_THERAPY_HB, n)), hb)
    p["hb"] = np.round(np.clip(hb, 4.0, 16.5), 1)
    mcv = p["mcv0"] + HU_MCV_RISE * hu
    p["mcv"] = np.round(np.clip(np.where(ct, (mcv + 90.0) / 2, mcv), 55.0, 125.0), 1)
    _fractions(p, e[1], rng)
    # haemolysis and marrow markers
    retic = p["retic0"] * np.where(hu, HU_RETIC_FACTOR, 1.0)
    retic *= np.where(ct, TRANSFUSED_RETIC_FACTOR, 1.0) * np.where(gt, 0.35, 1.0)
    p["retic_pct"] = np.round(np.clip(retic, 0.3, 40.0), 1)
    rbc = 3.0 * p["hb"] * 10.0 / p["mcv"]  # 1e12/L from Hct ~ 3 x Hb and MCV
    p["retic_abs"] = np.round(np.clip(p["retic_pct"] / 100 * rbc * 1000, 0, 1000))
    haem = np.where(hu, HU_HAEMOLYSIS_FACTOR, 1.0) * np.where(ct, 0.7, 1.0)
    haem *= np.where(gt, 0.5, 1.0)
    p["ldh"] = np.round(np.clip(p["ldh0"] * haem, 80.0, 4000.0))
    p["bili"] = np.round(np.clip(p["bili0"] * haem, 0.2, 25.0), 1)
    wbc = p["wbc0"] * np.where(hu, HU_WBC_FACTOR, 1.0)
    p["wbc"] = np.round(np.clip(wbc, 1.5, 60.0), 1)
    share = np.clip(rng.normal(*NEUTROPHIL_SHARE, n) - 0.05 * hu, 0.25, 0.85)
    p["anc"] = np.floor(p["wbc"] * share * 10) / 10
    p["plt"] = np.round(np.clip(p["plt0"] - HU_PLT_DROP * hu, 40.0, 1200.0))
    fer = np.where(
        ct,
        FERRITIN_MEDIAN_TRANSFUSED * np.exp(0.6 * e[2]),
        np.take(FERRITIN_MEDIAN_UNTRANSFUSED, g) * np.exp(0.8 * e[2]) * np.where(age < 5, 0.5, 1),
    )
    p["ferritin"] = np.round(np.clip(fer, 5.0, 15000.0))
    chel = np.select(
        [ct & (p["ferritin"] >= 1000), ct, p["ferritin"] >= 1000], list(CHELATION[:3]),
        CHELATION[3],
    )
    p["chelation"] = rng.random(n) < chel
    pen = np.select([age < 5, age < 18], list(PENICILLIN[:2]), PENICILLIN[2])
    p["penicillin"] = rng.random(n) < np.where(p["splenectomy"], np.maximum(pen, 0.5), pen)
    # TCD measured on treatment; TRV latent is used as is
    on_ct = TRANSFUSED_TCD_FACTOR * np.exp(TRANSFUSED_TCD_NOISE * e[3])
    tcd = p["tcd0"] * np.where(ct, on_ct, 1.0) * np.where(hu, HU_TCD_FACTOR, 1)
    p["tcd"] = np.round(np.clip(tcd, 40.0, 380.0))
    _kidney(p, rng)
    trv = p["trv0"]
    ph_p = np.select([trv >= 3.0, trv >= 2.5], list(PH_GIVEN_TRV[::-1]), 0.0)
    p["ph"] = (age >= 18) & (rng.random(n) < ph_p)


def _fractions(p: dict, e: np.ndarray, rng: np.random.Generator) -> None:
    """HPLC fractions: HbA2, the other variant, HbS the remainder; donor HbA on transfusion."""
    n, g, ct = p["n"], p["g"], p["ct"]
    a2 = np.take(HBA2_MEAN, g) + np.take(HBA2_SD, g) * e + HBA2_ALPHA_THAL * p["alpha"]
    p["hba2"] = np.round(np.clip(a2, 1.0, 8.0), 1)
    other = np.select(
        [g == SBP, g == SC, g == OTHER],
        [rng.uniform(*HBA_SBETA_PLUS, n), rng.uniform(*HBC_SC, n), rng.uniform(*OTHER_VARIANT, n)],
        0.0,
    )
    # the variant shares the adult (non-F) haemoglobin with HbS: scaled down where HbF is high
    adult_hb = 100.0 - p["hbf"] - p["hba2"]
    other *= adult_hb / (100.0 - np.take(HBF_MEDIAN, g) - np.take(HBA2_MEAN, g))
    other = np.minimum(other, adult_hb)
    hbs = adult_hb - other
    # transfusion dilutes the patient's own HbS and variant to the HbS target [unverified]
    target = rng.uniform(*HBS_TRANSFUSED, n)
    dilution = np.where(ct, np.minimum(target / np.maximum(hbs, 1e-9), 1.0), 1.0)
    p["hbs"] = np.clip(np.floor(np.round(hbs * dilution * 10, 6)) / 10, 0.0, 100.0)
    other = np.floor(np.round(other * dilution * 10, 6)) / 10
    p["hbc"] = np.where(g == SC, other, 0.0)
    variant = np.where(g == OTHER, other, 0.0)  # HbD, HbO-Arab, HbE...: neither A nor C
    hba = 100.0 - p["hbs"] - p["hbf"] - p["hba2"] - p["hbc"] - variant
    p["hba"] = np.clip(np.floor(np.round(hba * 10, 6)) / 10, 0.0, 100.0)


def _kidney(p: dict, rng: np.random.Generator) -> None:
    """Creatinine from the latent eGFR (CKD-EPI 2021 inverted; bedside Schwartz in children)."""
    n, male = p["n"], p["male"]
    egfr = p["egfr_latent"]
    kappa = np.where(male, 0.9, 0.7)
    alpha = np.where(male, -0.302, -0.241)
    c = 142.0 * 0.9938 ** p["age"] * np.where(male, 1.0, 1.012)
    ratio = np.where(egfr >= c, (egfr / c) ** (1.0 / alpha), (egfr / c) ** (-1.0 / 1.2))
    height = p["height"]  # the simulated height (scd_crf.growth), as the clinic measures it
    cr_child = 0.413 * height / egfr
    cr = np.where(p["age"] >= 18, ratio * kappa, cr_child)
    cr = np.where(p["age"] < 1, rng.normal(0.25, 0.05, n), cr)
    p["creat"] = np.round(np.clip(cr, 0.1, 14.0), 2)
    r = p["creat"] / kappa
    egfr_adult = c * np.minimum(r, 1.0) ** alpha * np.maximum(r, 1.0) ** -1.2
    egfr_calc = np.where(p["age"] >= 18, egfr_adult, 0.413 * height / p["creat"])
    p["egfr"] = np.round(np.clip(egfr_calc, 5.0, 400.0))
    p["egfr_na"] = p["age"] < 1
    extra = p["severe"] & (p["age"] >= 18) & (rng.random(n) < NEPHROPATHY_EXTRA)
    p["nephropathy"] = (p["acr0"] >= 300) | ((p["egfr"] < 60) & ~p["egfr_na"]) | extra


def _crises(p: dict, rng: np.random.Generator) -> None:
    n, g, age = p["n"], p["g"], p["age"]
    age_f = np.select([age < VOC_AGE_FACTOR[0][0], age < VOC_AGE_FACTOR[1][0]],
                      [VOC_AGE_FACTOR[0][1], VOC_AGE_FACTOR[1][1]], 1.0)
    hbf_f = np.exp(-VOC_HBF_SLOPE * (np.minimum(p["hbf0"], 30) - np.take(HBF_MEDIAN, g)))
    lam = np.take(VOC_RATE, g) * VOC_RECORDED_EU * age_f * hbf_f * p["u"]
    lam *= np.where(p["hu"], HU_CRISIS_FACTOR, 1.0) * np.where(p["ct"], TRANSFUSED_CRISIS_FACTOR, 1)
    lam = np.where(p["therapy"] == "gene_therapy", GENE_THERAPY_VOC_RATE, lam)
    p["voc"] = np.minimum(rng.poisson(lam), 50)
    adm = rng.binomial(p["voc"], ADMISSION_PER_VOC) + rng.poisson(OTHER_ADMISSIONS, n)
    p["admissions"] = np.minimum(adm, 50)
    # lifetime ACS: Castro age-specific SS rates x genotype ratio, halved for years on HU
    lifetime = np.zeros(n)
    for lo, hi, rate in ACS_SS_BY_AGE:
        lifetime += rate * _hazard_years(p["age_x"], lo, hi)
    mean_rate = lifetime / np.maximum(p["age_x"], 0.5)
    on_hu = np.where(p["hu"], np.minimum(p["hu_years"], p["age_x"]), 0.0)
    lifetime -= (1 - HU_ACS_FACTOR) * mean_rate * on_hu
    frailty = np.sqrt(p["u"]) / 0.886 * rng.gamma(ACS_FRAILTY_SHAPE, 1 / ACS_FRAILTY_SHAPE, n)
    lam_acs = lifetime * np.take(ACS_GENOTYPE_RATIO, g) * frailty
    p["acs_count"] = np.minimum(rng.poisson(lam_acs), 60)
    p["acs"] = p["acs_count"] > 0


def _outcome(p: dict, prof: ScdSiteProfile, rng: np.random.Generator) -> None:
    """Follow-up after enrolment: natural death time, censoring, HSCT, death and its cause."""
    t_nat = _natural_death_days(p, rng)
    censor = _censoring_days(p, prof, rng)
    trm, cured = _hsct(p, prof, np.minimum(t_nat, censor), rng)
    t_death = np.where(trm, p["hsct_days"] + p["t_trm"], np.where(cured, np.inf, t_nat))
    p["death"] = t_death <= censor  # cured by HSCT: no later SCD death
    p["followup"] = np.clip(np.floor(np.minimum(t_death, censor)), 0, 10000).astype(int)
    p["death_cause"] = np.where(trm, "transplant_related", _death_cause(p, rng))


def _natural_death_days(p: dict, rng: np.random.Generator) -> np.ndarray:
    """Gompertz time to death from enrolment with the patient's hazard ratios (days)."""
    n, g, adult = p["n"], p["g"], p["age"] >= 18
    log_hr = np.log(np.take(MORTALITY_GENOTYPE_HR, g)) + np.log(MORTALITY_MALE_HR) * p["male"]
    log_hr += np.log(MORTALITY_TRV_HR) * (adult & (p["trv0"] >= 2.5))
    log_hr += np.log(MORTALITY_WBC15_HR) * (p["wbc"] > 15)
    log_hr += MORTALITY_HBF_SLOPE * (np.minimum(p["hbf"], 30) - 8.0)
    log_hr += np.log(MORTALITY_NEPHROPATHY_HR) * p["nephropathy"]
    log_hr += np.log(MORTALITY_ACS_HR) * (adult & p["acs"])
    log_hr += np.log(MORTALITY_VOC_HR) * (adult & (p["voc"] >= 1))
    log_hr += np.log(MORTALITY_HU_HR) * (adult & p["hu"])
    rate0 = MORTALITY_B * np.exp(log_hr + MORTALITY_G * p["age_x"])
    years = np.log1p(rng.exponential(size=n) * MORTALITY_G / rate0) / MORTALITY_G
    return years * DAYS_PER_YEAR


def _censoring_days(p: dict, prof: ScdSiteProfile, rng: np.random.Generator) -> np.ndarray:
    """Data cut-off, loss to follow-up and (paediatric centre) transfer at 18 (days)."""
    admin = _date_days(prof.cutoff) - p["enrol"]
    censor = np.minimum(admin, rng.exponential(DAYS_PER_YEAR / prof.loss_per_year, p["n"]))
    if prof.transfer_at_18:
        censor = np.minimum(censor, (18.0 - p["age_x"]) * DAYS_PER_YEAR)
    return np.maximum(censor, 0.0)


def _hsct(p: dict, prof: ScdSiteProfile, end0: np.ndarray,
          rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """HSCT during follow-up (mostly children with stroke or abnormal TCD); TRM and cure."""
    n = p["n"]
    child = p["age"] < 16
    prob = np.select(
        [child & p["stroke"], child & (p["tcd_class"] == 2), child],
        [HSCT_PROB["child_stroke"], HSCT_PROB["child_abnormal_tcd"], HSCT_PROB["child"]],
        HSCT_PROB["adult"],
    ) * prof.hsct_factor * np.where(p["severe"], 1.0, HSCT_MILD_FACTOR)
    hsct = (p["therapy"] != "gene_therapy") & (end0 >= 30) & (rng.random(n) < prob)
    p["hsct"], p["hsct_days"] = hsct, np.floor(rng.random(n) * end0)
    p["t_trm"] = rng.uniform(30, 365, n)
    trm = hsct & (rng.random(n) < HSCT_TRM) & (p["hsct_days"] + p["t_trm"] < end0)
    cured = hsct & ~trm & (rng.random(n) < HSCT_CURED)
    return trm, cured


def _death_cause(p: dict, rng: np.random.Generator) -> np.ndarray:
    """Cause of death: European adult and paediatric splits; organ failure x2 when at risk."""
    n = p["n"]
    at_death = p["age_x"] + p["followup"] / DAYS_PER_YEAR
    share = np.where((at_death >= 18)[:, None], DEATH_CAUSE_SHARE_ADULT, DEATH_CAUSE_SHARE_CHILD)
    at_risk = ((p["age"] >= 18) & (p["trv0"] >= 2.5)) | p["nephropathy"]
    share[:, 3] *= np.where(at_risk, 2.0, 1.0)
    share /= share.sum(axis=1, keepdims=True)
    pick = (rng.random(n)[:, None] > np.cumsum(share, axis=1)).sum(axis=1)
    return np.array(DEATH_CAUSES)[np.minimum(pick, len(DEATH_CAUSES) - 1)]


def _mask(p: dict, prof: ScdSiteProfile, rng: np.random.Generator) -> None:
    """Structured missingness: who is tested at this site; then random gaps in routine labs."""
    n, age, tests = p["n"], p["age"], prof.tests
    na: dict[str, np.ndarray] = {}
    screened = "tcd" in tests and prof.tcd_coverage > 0
    tcd_ok = p["severe"] & (age >= 2) & (age <= 16) & screened
    na["tcd"] = ~(tcd_ok & (rng.random(n) < prof.tcd_coverage))
    na["trv"] = ~(("trv" in tests) & (age >= 18) & (rng.random(n) < 0.85))
    na["acr"] = ~(("acr" in tests) & (age >= 5) & (rng.random(n) < 0.9))
    na["silent"] = ~(("mri" in tests) & p["severe"] & (age >= 5))
    na["retinopathy"] = ~(("retina" in tests) & (age >= 10))
    na["ferritin"] = ~(p["ct"] | (rng.random(n) < prof.ferritin_coverage))
    for lab in ("hb", "hbf", "mcv", "retic", "wbc", "plt", "ldh", "bili", "creat"):
        na[lab] = rng.random(n) < prof.lab_missing
    # HbS and HbA2 come from the same HPLC run as HbF, where the site reports them
    na["hbs"] = na["hba2"] = na["hbf"] | ("hb_fractions" not in tests)
    na["anc"] = na["wbc"] | (rng.random(n) < prof.lab_missing)
    na["egfr"] = na["creat"] | p["egfr_na"]
    na["priapism"] = ~p["male"]
    _mask_crf(p, prof, na, rng)
    p["na"] = na


def _mask_crf(p: dict, prof: ScdSiteProfile, na: dict, rng: np.random.Generator) -> None:
    """Missingness of the case-report-form fields: what is measured, where and for whom."""
    n, age, tests = p["n"], p["age"], prof.tests
    for field in ("height", "weight", "spo2"):
        na[field] = rng.random(n) < prof.lab_missing
    na["bp"] = (age < 18) | (rng.random(n) < prof.lab_missing)  # children: not simulated
    na["hba"] = na["hbc"] = na["hbs"]
    na["never_tx"] = p["tx_history"] == "never"
    # iron MRI on chronic transfusion where the site has MRI, 80% of them [assumption]
    na["iron_mri"] = ~(p["ct"] & ("mri" in tests) & (rng.random(n) < 0.8))
    na["mra"] = na["silent"]  # MR angiography with the screening MRI


# ---- assembly ---------------------------------------------------------------------------------
_SOURCES = {
    "sex": ("male", None), "age": ("age", None), "enrolment_date": ("enrol", None),
    "genotype": ("g", None), "alpha_thal_trait": ("alpha", None),
    "hb": ("hb", "hb"), "hbf_pct": ("hbf", "hbf"), "hbs_pct": ("hbs", "hbs"),
    "hba2_pct": ("hba2", "hba2"), "mcv": ("mcv", "mcv"), "retic_pct": ("retic_pct", "retic"),
    "retic_abs": ("retic_abs", "retic"), "wbc": ("wbc", "wbc"), "neutrophils": ("anc", "anc"),
    "platelets": ("plt", "plt"), "ldh": ("ldh", "ldh"), "bilirubin": ("bili", "bili"),
    "ferritin": ("ferritin", "ferritin"), "creatinine": ("creat", "creat"),
    "egfr": ("egfr", "egfr"), "acr_mg_g": ("acr0", "acr"), "tcd_velocity": ("tcd", "tcd"),
    "trv": ("trv0", "trv"), "hydroxyurea": ("hu", None), "hu_dose_mg_kg": ("hu_dose", "!hu"),
    "hu_years": ("hu_years", "!hu"), "chronic_transfusion": ("ct", None),
    "transfusion_indication": ("ct_why", "!ct"), "iron_chelation": ("chelation", None),
    "new_therapy": ("therapy", None), "penicillin_prophylaxis": ("penicillin", None),
    "splenectomy": ("splenectomy", None), "cholecystectomy": ("cholecystectomy", None),
    "hsct": ("hsct", None), "hsct_days": ("hsct_days", "!hsct"), "voc_per_year": ("voc", None),
    "hospitalisations_per_year": ("admissions", None),
    "acute_chest_syndrome": ("acs", None), "acs_count": ("acs_count", None),
    "stroke": ("stroke", None), "stroke_age": ("stroke_age", "!stroke"),
    "silent_infarct": ("silent", "silent"), "priapism": ("priapism", "priapism"),
    "leg_ulcers": ("leg_ulcers", None), "avascular_necrosis": ("avn", None),
    "retinopathy": ("retinopathy", "retinopathy"), "gallstones": ("gallstones", None),
    "splenic_sequestration": ("sequestration", None), "pulmonary_hypertension": ("ph", None),
    "nephropathy": ("nephropathy", None), "followup_days": ("followup", None),
    "death": ("death", None), "death_cause": ("death_cause", "!death"),
    "alpha_genotype": ("alpha_gen", None), "diagnosis_route": ("dx_route", None),
    "diagnosis_age": ("dx_age", None), "height_cm": ("height", "height"),
    "weight_kg": ("weight", "weight"), "spo2_pct": ("spo2", "spo2"),
    "systolic_bp": ("sbp", "bp"), "diastolic_bp": ("dbp", "bp"), "hba_pct": ("hba", "hba"),
    "hbc_pct": ("hbc", "hbc"), "liver_iron_mri": ("lic", "iron_mri"),
    "cardiac_t2star": ("t2star", "iron_mri"), "transfusion_history": ("tx_history", None),
    "transfusion_method": ("tx_method", "!ct"), "alloimmunisation": ("allo", "never_tx"),
    "delayed_haemolytic_reaction": ("dhtr", "never_tx"),
    "pneumococcal_vaccination": ("pneumo_vaccine", None), "mra_stenosis": ("stenosis", "mra"),
    "parvovirus_aplastic_crisis": ("parvo_crisis", None),
    "severe_bacterial_infection": ("severe_infection", None),
    "venous_thromboembolism": ("vte", None),
}


def _column(var, values: np.ndarray, missing: np.ndarray) -> pd.Series:
    match var.type:
        case VariableType.BOOLEAN:
            arr = pd.arrays.BooleanArray(values.astype(bool), missing.copy())
        case VariableType.INTEGER:
            arr = pd.arrays.IntegerArray(np.round(values).astype(np.int64), missing.copy())
        case VariableType.DURATION | VariableType.CONTINUOUS:
            if var.is_whole_number:
                arr = pd.arrays.IntegerArray(np.round(values).astype(np.int64), missing.copy())
            else:
                num = np.round(values.astype(float), var.decimals or 0)
                arr = pd.arrays.FloatingArray(num, missing.copy())
        case VariableType.DATE:
            dates = values.astype("datetime64[D]").astype("datetime64[ns]")
            return pd.Series(dates).mask(missing)
        case VariableType.CATEGORICAL | VariableType.ORDINAL:
            obj = np.where(missing, None, values.astype(object))
            arr = pd.array(obj, dtype="string")
        case _:
            raise ValueError(f"unknown variable type {var.type!r}")
    return pd.Series(arr)


def _clip_to_bounds(var, values: np.ndarray) -> np.ndarray:
    if not var.type.is_numeric:
        return values
    lo = -np.inf if var.min is None else var.min
    hi = np.inf if var.max is None else var.max
    return np.clip(values.astype(float), lo, hi)


def _frame(p: dict, site: int) -> pd.DataFrame:
    d = _dictionary()
    n = p["n"]
    derived = {
        "male": np.where(p["male"], "M", "F"),
        "g": np.array(GENOTYPES, dtype=object)[p["g"]],
    }
    out: dict[str, pd.Series] = {
        d.patient_id or "patient_id": pd.Series(
            [f"SCD-{site:02d}-{i:05d}" for i in range(1, n + 1)], dtype="string"
        )
    }
    for var in d.variables:
        key, na_key = _SOURCES[var.name]
        values = derived.get(key, p.get(key))
        if na_key is None:
            missing = np.zeros(n, dtype=bool)
        elif na_key.startswith("!"):
            missing = ~np.asarray(p[na_key[1:]], dtype=bool)
        else:
            missing = p["na"][na_key]
        values = np.asarray(values)
        if var.type.is_numeric:
            values = _clip_to_bounds(var, np.where(missing, 0, values))
        col = _column(var, values, np.asarray(missing, dtype=bool))
        if str(col.dtype) != typed_dtype(var):
            col = col.astype(typed_dtype(var))
        out[var.name] = col
    return pd.DataFrame(out)
