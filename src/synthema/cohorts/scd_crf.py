"""Case-report-form fields of the SCD simulator: growth, transfusion, infections, vital signs.

The steps here add the variables an SCD case report form holds beyond the core cohort of
:mod:`synthema.cohorts.scd` (which calls them; they read and add arrays in its patient dict
``p``). Every figure has its source next to it and in docs/simulator_scd.md ("Case report form
fields"); tags as there: [V] verified against the source text, [derived] computed from cited
figures, [fitted] chosen so the simulator reproduces a cited figure, [assumption] chosen here
without a source.
"""

from __future__ import annotations

import numpy as np

# genotype indices, in the order of synthema.cohorts.scd.GENOTYPES (a test checks it)
SS, SB0, SC, SBP, OTHER = range(5)

# ---- growth: WHO Child Growth Standards 2006 (0-5 y) and WHO Growth Reference 2007 (5-19 y),
# medians read from the WHO tables as shipped by pygrowup (ewheeler/pygrowup) [V] -------------
GROWTH_MONTHS = (0, 12, 24, 36, 48, 60, 72, 84, 96, 108, 120, 132, 144, 156, 168, 180, 192, 204,
                 216)
HEIGHT_BOYS = (49.9, 75.7, 87.1, 96.1, 103.3, 110.0, 116.0, 121.7, 127.3, 132.6, 137.8, 143.1,
               149.1, 156.0, 163.2, 169.0, 172.9, 175.2, 176.1)
HEIGHT_GIRLS = (49.1, 74.0, 85.7, 95.1, 102.7, 109.4, 115.1, 120.8, 126.6, 132.5, 138.6, 145.0,
                151.2, 156.4, 159.8, 161.7, 162.5, 162.9, 162.9)
HEIGHT_CV = 0.04  # WHO S (coefficient of variation) 0.035-0.047 [V]
# weight: WHO weight-for-age medians 0-5 y [V]; BMI-for-age medians from 5 y [V]
WEIGHT_MONTHS = (0, 12, 24, 36, 48, 60)
WEIGHT_BOYS = (3.3, 9.6, 12.2, 14.3, 16.3, 18.3)
WEIGHT_GIRLS = (3.2, 8.9, 11.5, 13.9, 16.1, 18.2)
BMI_MONTHS = (61, 72, 96, 120, 144, 168, 192, 216, 228)
BMI_BOYS = (15.26, 15.31, 15.74, 16.44, 17.53, 19.01, 20.50, 21.71, 22.19)
BMI_GIRLS = (15.24, 15.27, 15.68, 16.61, 18.00, 19.56, 20.70, 21.26, 21.43)
WEIGHT_CV_CHILD = 0.12  # WHO S of weight and BMI 0.08-0.15 [V]
# SCD: growth impaired at all ages, increasing with age (J Pediatr 1984, n = 133) [V
# qualitative] but near-normal in recent cohorts (Pediatr Hematol Oncol 2009) [V qualitative]
# -> HbSS/Sbeta0 height z -0.3 [assumption]. Adults: BMI < 20 in 19%, 20-25 in 52%, > 25 in 29%
# (US adults with SCD, n = 156, ASH abstract) [V] -> lognormal median 22.6, sigma 0.156
# [fitted]; overweight more likely with higher Hb (OR 1.36 per g/dL, children, Pediatrics 2013)
# [V] -> +0.03 log-BMI per g/dL above the genotype mean [assumption].
HEIGHT_Z_SEVERE = -0.3
ADULT_BMI = (22.6, 0.156)
BMI_PER_HB = 0.03

# ---- transfusion ------------------------------------------------------------------------------
# Ever transfused: 70.6% of HbSS by 20 y in the (conservative) Jamaican cohort (Thame,
# Transfusion 2001) [V] -> 0.061 /yr [derived]; adults at King's: 220 of 637 transfused in 5.4
# years (Vidler, BJH 2015) [V] -> 0.08 /yr [derived]; SC/Sbeta+ x0.4 [assumption].
TRANSFUSION_RATE = (0.061, 0.08)  # per year, child, adult
TRANSFUSION_MILD = 0.4
# Chronic programme: children mostly simple transfusion, adults mostly erythrocytapheresis
# (London survey, Trompeter, Transfus Med 2020) [V qualitative] -> exchange 20% / 80%
# [assumption].
EXCHANGE_SHARE = (0.2, 0.8)
# Alloimmunisation: 17% of transfused SCD patients in London (Trompeter 2020) [V]; 8.5% of
# all Italian SCD patients, more in adults (Graziadei, Front Med 2022) [V]. x1.5 on a chronic
# programme [assumption].
ALLOIMMUNISED = 0.17
ALLOIMMUNISED_CHRONIC = 1.5
# DHTR: 17 of 220 transfused adults in 5.4 years at King's (7.7%; Vidler 2015) [V], mostly after
# acute (occasional) transfusion; 4.2% per occasional episode (Narbey, Am J Hematol 2017) [V].
DHTR = 0.077
DHTR_IF_ALLOIMMUNISED = 2.0  # [assumption]
# Liver iron (MRI, mg Fe/g dry weight) in chronically transfused SCD: moderate-to-severe
# overload (>= 7) in 65.2% (Insights Imaging 2022, n = 66) [V] -> median 9.5 at the transfused
# median ferritin [fitted]; tracks ferritin (r = 0.82, Badawy, BJH 2016) [V].
LIC_MEDIAN = 9.5
LIC_SIGMA = 0.35
LIC_FERRITIN_REF = 1800.0
# Cardiac T2* (ms): 32.1 +- 6.5 in 22 transfused HbSS children, 1 below 20 (JCMR 2010) [V]; no
# cardiac siderosis in 66 transfused (Insights Imaging 2022) [V].
T2STAR = (32.1, 6.5)

# ---- infections ---------------------------------------------------------------------------------
# Parvovirus B19: seroprevalence 8% at 1-2 y to 69% at 13+ (CSCC, 1,039 children) [V] -> 0.09
# /yr from 1 y [fitted]; recognised transient aplastic crisis in 27% of 102 SCA children vs 53%
# seropositive (J Pediatr Hematol Oncol 2003) [V] -> crisis in half of infected SS/Sbeta0
# [derived]; SC/Sbeta+ 0.2 [assumption].
PARVO_RATE = 0.09
PARVO_CRISIS = (0.5, 0.2)
# Meningitis or septicaemia: 26 of 1,620 French newborn-screened children by 5 y (Brousse, J
# Clin Med 2019) [V] -> 0.0032 /yr under 5 [derived]; after 5 y x0.5 [assumption]; splenectomy
# x2 [assumption].
SEVERE_INFECTION_RATE = 0.0032
# Conjugate pneumococcal vaccination appropriate at 1 year in 87% (Brousse 2019) [V]; adults
# 60% [assumption].
PNEUMOCOCCAL_VACCINATED = (0.87, 0.60)

# ---- neurology ----------------------------------------------------------------------------------
# Intracranial stenosis on MRA: 22.6% of SS/Sbeta0 by 14 y (Creteil, Bernaudin 2011) [V]; 27.5%
# of children with abnormal TCD (Bernaudin 2016) [V] -> 60% in the ever-abnormal-TCD group, 7%
# in the others, reached by 14 y [fitted].
STENOSIS = (0.07, 0.60)

# ---- vital signs ---------------------------------------------------------------------------------
# SpO2 %: children SS/Sbeta0 96.3 vs SC/Sbeta+ 98.7 (Br J Haematol 2005, n = 585), lower with
# lower Hb, older age and male sex [V]; Jamaican SS 9-18 y 92.5 (SD ~4), alpha-thal higher
# (91.7 / 93.4 / 96.1 for 0 / 1 / 2 deletions) (Homi) [V]. SD 2.5 (severe) / 1.0 [assumption];
# age -0.08 /yr, male -0.5, Hb +0.5 per g/dL [assumption].
SPO2_MEAN = (96.3, 96.3, 98.7, 98.7, 97.5)
SPO2_SD = (2.5, 2.5, 1.0, 1.0, 1.5)
SPO2_ALPHA = 1.7  # per deletion [derived, Homi]
# Blood pressure, adults: SS/Sbeta0 122 (SD 15) / 69 (10); SC/Sbeta+ 131 (12) / 75 (13) mmHg
# (UIC adults, median 37 y, ASH 2010 abstract) [V]. Children: lower than norms (Pegelow, Am J
# Med 1997) [V qualitative]; no paediatric SCD values found -> not simulated (missing).
SYSTOLIC = ((122.0, 15.0), (131.0, 12.0))  # (mean, SD): SS/Sbeta0/other, SC/Sbeta+
DIASTOLIC = ((69.0, 10.0), (75.0, 13.0))

# ---- background ----------------------------------------------------------------------------------
# Diagnosed by newborn screening: 41.3% in RADeep (median age 14) [V]; national programmes from
# the 1980s-2000s (French West Indies from 1983, England 2002-2005) [V] -> born from 2000:
# 68%, 1990-99: 30%, earlier 3% [fitted to RADeep at the reference centre]. HbSC diagnosed in
# adulthood in 29% of 179 French adults (Lionnet 2012) [V] -> later diagnosis age: SS/Sbeta0
# exponential mean 1.5 y, SC/Sbeta+ mean 6 y [assumption]; SC/Sbeta+ adults diagnosed >= 18 y
# in 29% [fitted].
NEWBORN_SCREENED = ((2000, 0.68), (1990, 0.30), (0, 0.03))
LATE_DIAGNOSIS_MEAN = 1.5
SC_ADULT_DIAGNOSIS = 0.29
# alpha-globin: aa/aa 62%, -a/aa 32% in London adults (Gardner, Blood 2016) [V]; the rest -a/-a
# [derived].
ALPHA_GENOTYPES = ("aa/aa", "-a/aa", "-a/-a")
ALPHA_SHARE = (0.62, 0.32, 0.06)

# ---- venous thromboembolism ----------------------------------------------------------------------
# SS/Sbeta0 from 15 y: 43 first VTE in 6,608 patient-years (CSSCD, Naik, ASH 2013) [V] ->
# 0.0065 /yr; women HR 1.22, >= 3 admissions/yr HR 2.86 (Brunson, BJH 2017) [V]; SC/Sbeta+ x0.5
# [assumption].
VTE_RATE = 0.0065
VTE_FEMALE_HR = 1.22
VTE_SEVERE_HR = 2.86
VTE_MILD = 0.5


def _years(age: np.ndarray, start: float, stop: float = 200.0) -> np.ndarray:
    return np.clip(np.minimum(age, stop) - start, 0.0, None)


def growth(p: dict, rng: np.random.Generator) -> None:
    """Height (cm) from the WHO medians, with the SCD deficit; used by bedside Schwartz."""
    months = 12.0 * p["age_x"]
    median = np.where(p["male"], np.interp(months, GROWTH_MONTHS, HEIGHT_BOYS),
                      np.interp(months, GROWTH_MONTHS, HEIGHT_GIRLS))
    z = rng.standard_normal(p["n"]) + HEIGHT_Z_SEVERE * p["severe"]
    p["height_z"] = z
    p["height"] = np.round(median * (1.0 + HEIGHT_CV * z), 1)


def body_weight(p: dict, rng: np.random.Generator, hb_mean: np.ndarray) -> None:
    """Weight (kg): WHO weight-for-age under 5, BMI-for-age to 19, adult SCD BMI after."""
    months = 12.0 * p["age_x"]
    e = rng.standard_normal(p["n"])
    hb_shift = BMI_PER_HB * (p["hb"] - hb_mean)
    under5 = np.where(p["male"], np.interp(months, WEIGHT_MONTHS, WEIGHT_BOYS),
                      np.interp(months, WEIGHT_MONTHS, WEIGHT_GIRLS))
    bmi_child = np.where(p["male"], np.interp(months, BMI_MONTHS, BMI_BOYS),
                         np.interp(months, BMI_MONTHS, BMI_GIRLS))
    h2 = (p["height"] / 100.0) ** 2
    child = np.where(months < 60, under5, bmi_child * h2) * np.exp(WEIGHT_CV_CHILD * e + hb_shift)
    adult_bmi = ADULT_BMI[0] * np.exp(ADULT_BMI[1] * e + hb_shift)
    weight = np.where(p["age"] >= 18, adult_bmi * h2, child)
    p["weight"] = np.round(np.clip(weight, 1.5, 180.0), 1)


def transfusion_record(p: dict, rng: np.random.Generator) -> None:
    """History (never / episodic / chronic), method, alloimmunisation, DHTR, LIC and T2*."""
    n, adult = p["n"], p["age"] >= 18
    rate = (TRANSFUSION_RATE[0] * _years(p["age_x"], 0.5, 18.0)
            + TRANSFUSION_RATE[1] * _years(p["age_x"], 18.0))
    rate *= np.where(p["mild"], TRANSFUSION_MILD, 1.0) * np.sqrt(p["u"])
    episodic = rng.random(n) < -np.expm1(-rate)
    # children switched from transfusion to hydroxyurea after TCD normalised (Bernaudin 2016)
    past_programme = p["tcd_detected"] & ~p["ct"] & p["hu"]
    chronic = p["ct"] | past_programme
    p["tx_history"] = np.select([chronic, episodic | p["stroke"]], ["chronic", "episodic"],
                                "never")
    exchange = rng.random(n) < np.where(adult, EXCHANGE_SHARE[1], EXCHANGE_SHARE[0])
    p["tx_method"] = np.where(exchange, "exchange", "simple")
    ever = p["tx_history"] != "never"
    allo_p = ALLOIMMUNISED * np.where(chronic, ALLOIMMUNISED_CHRONIC, 1.0)
    p["allo"] = ever & (rng.random(n) < allo_p)
    dhtr_p = DHTR * np.where(p["allo"], DHTR_IF_ALLOIMMUNISED, 1.0)
    p["dhtr"] = ever & (rng.random(n) < dhtr_p)
    noise = np.exp(LIC_SIGMA * rng.standard_normal(n))
    lic = LIC_MEDIAN * (p["ferritin"] / LIC_FERRITIN_REF) * noise
    p["lic"] = np.round(np.clip(lic, 0.3, 50.0), 1)
    p["t2star"] = np.round(np.clip(rng.normal(*T2STAR, n), 4.0, 60.0), 1)


def infections(p: dict, rng: np.random.Generator) -> None:
    """Parvovirus aplastic crisis, meningitis/septicaemia, pneumococcal vaccination."""
    n, age_x = p["n"], p["age_x"]
    infected = rng.random(n) < -np.expm1(-PARVO_RATE * _years(age_x, 1.0))
    crisis = np.where(p["severe"], PARVO_CRISIS[0], PARVO_CRISIS[1])
    p["parvo_crisis"] = infected & (rng.random(n) < crisis)
    years = _years(age_x, 0.0, 5.0) + 0.5 * _years(age_x, 5.0)
    rate = SEVERE_INFECTION_RATE * np.where(p["splenectomy"], 2.0, 1.0)
    p["severe_infection"] = rng.random(n) < -np.expm1(-rate * years)
    vaccinated = np.where(p["age"] < 18, *PNEUMOCOCCAL_VACCINATED)
    p["pneumo_vaccine"] = (p["age_x"] >= 1.0) & (rng.random(n) < vaccinated)


def neurology(p: dict, rng: np.random.Generator) -> None:
    """Intracranial stenosis on MRA, from the ever-abnormal-TCD group, reached by 14 y."""
    share = np.where(p["vasculopathy"], STENOSIS[1], STENOSIS[0])
    reached = np.clip(_years(p["age_x"], 2.0, 14.0) / 12.0, 0.0, 1.0)
    p["stenosis"] = p["severe"] & (rng.random(p["n"]) < share * reached)


def vitals(p: dict, rng: np.random.Generator) -> None:
    """Steady-state SpO2 (all ages) and blood pressure (adults)."""
    n, g = p["n"], p["g"]
    spo2 = np.take(SPO2_MEAN, g) + np.take(SPO2_SD, g) * rng.standard_normal(n)
    sev = p["severe"]
    spo2 += sev * (SPO2_ALPHA * p["alpha_n"] - 0.08 * np.clip(p["age_x"] - 10, 0, None)
                   - 0.5 * p["male"] + 0.5 * (p["hb"] - 8.1))
    p["spo2"] = np.round(np.clip(spo2, 75.0, 100.0))
    mean_sd = np.array([SYSTOLIC, DIASTOLIC])[:, p["mild"].astype(int)]  # (2, n, 2)
    sbp, dbp = mean_sd[..., 0] + mean_sd[..., 1] * rng.standard_normal((2, n))
    p["sbp"] = np.round(np.clip(sbp, 80.0, 220.0))
    p["dbp"] = np.round(np.clip(np.minimum(dbp, p["sbp"] - 15.0), 35.0, 130.0))


def background(p: dict, rng: np.random.Generator) -> None:
    """Diagnosis route and age."""
    n, age_x = p["n"], p["age_x"]
    birth = p["year"] - age_x
    screened_p = np.select([birth >= y for y, _ in NEWBORN_SCREENED],
                           [s for _, s in NEWBORN_SCREENED], 0.0)
    newborn = rng.random(n) < screened_p
    late = np.minimum(rng.exponential(LATE_DIAGNOSIS_MEAN, n), age_x)
    sc_adult = p["mild"] & (p["age"] >= 18) & (rng.random(n) < SC_ADULT_DIAGNOSIS)
    late = np.where(sc_adult, 18.0 + rng.random(n) * (age_x - 18.0), late)
    late = np.where(p["mild"] & ~sc_adult, np.minimum(rng.exponential(6.0, n), age_x), late)
    p["dx_newborn"] = newborn
    p["dx_age"] = np.where(newborn, 0, np.floor(np.minimum(late, p["age"]))).astype(int)


def thrombosis(p: dict, rng: np.random.Generator) -> None:
    """Venous thromboembolism (ever) from 15 y."""
    rate = VTE_RATE * np.where(p["male"], 1.0, VTE_FEMALE_HR)
    rate *= np.where(p["admissions"] >= 3, VTE_SEVERE_HR, 1.0) * np.where(p["mild"], VTE_MILD, 1)
    p["vte"] = rng.random(p["n"]) < -np.expm1(-rate * _years(p["age_x"], 15.0))
