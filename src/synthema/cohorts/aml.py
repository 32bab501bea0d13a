"""Simulated adult AML patients for one hospital, in the ``aml`` dictionary's typed format.

Generative story (each step conditions on the earlier ones, so columns are not
independent):

1. site profile -> age (SEER-17 age bands, shifted per site), sex, AML ontogeny and the
   prior myeloid neoplasm of secondary AML;
2. ontogeny and age -> one *genomic class* (Papaemmanuil NEJM 2016 classes), then
   co-mutations and karyotype lesions with class-specific rates, which reproduces the
   published co-occurrences (NPM1 with FLT3-ITD and DNMT3A, TP53 with complex karyotype
   in about three quarters, IDH with NPM1, CEBPA-bZIP with GATA2, CBF with KIT);
3. a karyotype built abnormality by abnormality (monosomies, structural changes, gains,
   markers), from which the complex and monosomal karyotype follow their definitions;
4. genetics -> ELN 2017/2022 risk (:mod:`synthema.schema.eln`), WHO/ICC 2022 class;
5. class, age -> labs and ECOG; age, ECOG, site -> treatment intensity;
6. treatment, risk, age -> response, relapse, allogeneic HSCT, death, censored at the
   site's data cut-off.

Sites differ in case mix, gene panel (untested genes are missing: structured
missingness), karyotype failure rate, HSCT use and follow-up. Every figure and its source
is in docs/simulator_aml.md (``clinical_facts.md`` tags: [V] verified, [D] derived from
AMLSG patient-level data, [unverified]).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthema.schema import load_dictionary
from synthema.schema.eln import (
    CHROMOSOMES,
    LESION_CHROMOSOMES,
    TP53_VAF_CUTOFF,
    TRUE_MONOSOMY_OF,
    eln2017,
    eln2022,
    icc2022,
    who2022,
)
from synthema.schema.values import round_to_dictionary, typed_dtype


@dataclass(frozen=True)
class AmlSiteProfile:
    """How one hospital differs: case mix, gene panel, treatment habits, follow-up."""

    kind: str
    age_band_weights: tuple[float, ...]  # over AGE_BANDS
    panel: tuple[str, ...] | None  # genes tested; None = full 56-gene panel
    karyotype_failure: float
    intensive_shift: float  # added to the logit of intensive induction
    hsct_factor: float
    accrual: tuple[str, str]
    cutoff: str


# SEER-17, adults >= 20 y, 2001-18 (Linet eClinicalMedicine 2024) [V]: 20-39 12.4%,
# 40-59 25.9%, 60-74 31.8%, 75-84 21.0%, >= 85 8.9% -> median about 66.
AGE_BANDS = ((18, 40), (40, 60), (60, 75), (75, 85), (85, 96))
SEER_AGE_WEIGHTS = (12.4, 25.9, 31.8, 21.0, 8.9)

ELN_PANEL = (
    "npm1",
    "flt3_itd",
    "flt3_tkd",
    "cebpa_bzip",
    "cebpa_biallelic",
    "tp53",
    "runx1",
    "asxl1",
    "idh1",
    "idh2",
    "kit",
)  # ELN 2017-era minimum panel: 2 of the 9 ELN 2022 myelodysplasia-related genes
MYELOID_PANEL = ELN_PANEL + (
    "dnmt3a",
    "tet2",
    "nras",
    "kras",
    "ptpn11",
    "wt1",
    "srsf2",
    "sf3b1",
    "u2af1",
    "zrsr2",
    "ezh2",
    "bcor",
    "stag2",
    "kmt2a_ptd",
    "gata2",
    "cbl",
    "jak2",
    "etv6",
    "phf6",
    "rad21",
    "nf1",
)

PROFILES = (
    AmlSiteProfile(
        kind="academic",
        age_band_weights=(12, 27, 35, 19, 7),
        panel=None,
        karyotype_failure=0.03,
        intensive_shift=0.6,
        hsct_factor=1.25,
        accrual=("2008-01-01", "2022-12-31"),
        cutoff="2024-06-30",
    ),
    AmlSiteProfile(
        kind="regional",
        age_band_weights=(10, 22, 34, 23, 11),
        panel=MYELOID_PANEL,
        karyotype_failure=0.05,
        intensive_shift=0.0,
        hsct_factor=1.0,
        accrual=("2012-01-01", "2023-12-31"),
        cutoff="2025-03-31",
    ),
    AmlSiteProfile(
        kind="community",
        age_band_weights=(8, 20, 33, 27, 12),
        panel=ELN_PANEL,
        karyotype_failure=0.08,
        intensive_shift=-0.5,
        hsct_factor=0.6,
        accrual=("2017-01-01", "2024-06-30"),
        cutoff="2025-06-30",
    ),
)


def profile_for(site: int) -> AmlSiteProfile:
    """Site 1 is academic, 2 regional, 3 community, then the cycle repeats."""
    return PROFILES[(site - 1) % len(PROFILES)]


# ---- ontogeny ------------------------------------------------------------------------------
# Secondary 19.8%, therapy-related 6.6% (Danish registry, Granfeldt Østgård JCO 2015) [V].
# Prior neoplasm of secondary AML: PETHEMA registry (Blood Adv 2022;6:1278) [V] reports
# MDS-AML 44%, MDS/MPN-AML 10%, MPN-AML 11% of secondary AML (the rest therapy-related or
# after other cancers): 68 / 15 / 17% of AML after a myeloid neoplasm.
PRIOR_NEOPLASMS = ("mds", "mds_mpn", "mpn")
PRIOR_NEOPLASM_SHARE = (44.0, 10.0, 11.0)

# ---- genomic classes ---------------------------------------------------------------------
# Class shares (%) for patients < 60 and >= 60 y. AMLSG classes [D] (trial cohort, median
# 50 y): NPM1 27.1, chromatin-spliceosome 17.9, TP53-aneuploidy 12.9, inv(16) 5.3,
# CEBPA-biallelic 4.3, t(8;21) 3.9, t(15;17) 3.9, t(MLL) 2.9, inv(3) 1.3, IDH2-R172 1.2,
# t(6;9) 1.0, other/no class ~18; other 3q26/MECOM rearrangements 9 of 1,413 karyotypes
# (0.6%) [D]. Older patients: CBF 2% vs 11%, CEBPA-bi 1% vs 6%, TP53, RUNX1, ASXL1, SRSF2
# 2-3x higher (clinical_facts A3 "Age") [D].
CLASSES = (
    "npm1",
    "cs",
    "tp53",
    "inv16",
    "cebpa",
    "t8_21",
    "apl",
    "mllr",
    "mecom",
    "idh2r172",
    "t6_9",
    "t9_22",
    "other",
)
CLASS_SHARE_YOUNG = (31.0, 11.0, 7.0, 8.0, 6.0, 6.5, 6.0, 3.5, 1.7, 1.0, 1.3, 0.5, 20.0)
CLASS_SHARE_OLD = (29.0, 23.0, 15.0, 1.6, 1.5, 1.2, 3.0, 2.5, 2.2, 1.5, 0.6, 0.8, 18.7)
# Ontogeny tilts (secondary AML: TP53 OR 2.3 and MR genes in 48% of older patients [V];
# therapy-related AML: 11q23/MLL-r 9.4% [V]).
SECONDARY_TILT = {
    "cs": 2.2,
    "tp53": 2.0,
    "npm1": 0.35,
    "inv16": 0.3,
    "t8_21": 0.3,
    "cebpa": 0.3,
    "apl": 0.3,
}
THERAPY_TILT = {"tp53": 2.3, "mllr": 3.2, "npm1": 0.6, "cs": 1.2}

# Co-mutation probabilities per class. AMLSG co-occurrence table A3 [D]: NPM1-mut: ITD
# 39%, DNMT3A 52%, IDH1 13%, IDH2-R140 14%, PTPN11 15%, TET2 16%, TP53 3 of 436 (0.7%);
# CEBPA-bi: GATA2 21%. inv(16): KIT 37%, NRAS 45%, KRAS 13%, FLT3-TKD 14%, FLT3-ITD 5%
# (Paschka et al., Blood 2013, n = 176) [V]; KIT 29.5% (Paschka et al., JCO 2006, n = 61)
# [V]. t(8;21): KIT 22% (Paschka 2006, n = 49) [V], 23 of 63 = 37% in the AMLSG panel
# [D] (exon 17/11 only: no exon 8 call, which is why that panel finds only 15% in
# inv(16), where exon 8 mutations are common).
GENE_RATES: dict[str, dict[str, float]] = {
    "npm1": {
        "npm1": 1,
        "flt3_itd": 0.39,
        "dnmt3a": 0.52,
        "idh1": 0.13,
        "idh2": 0.14,
        "ptpn11": 0.15,
        "tet2": 0.16,
        "nras": 0.20,
        "flt3_tkd": 0.12,
        "kras": 0.04,
        "wt1": 0.03,
        "rad21": 0.06,
        "srsf2": 0.03,
        "bcor": 0.01,
        "tp53": 0.007,
    },
    "cs": {
        "runx1": 0.33,
        "srsf2": 0.33,
        "asxl1": 0.30,
        "stag2": 0.20,
        "bcor": 0.12,
        "ezh2": 0.12,
        "sf3b1": 0.10,
        "u2af1": 0.10,
        "zrsr2": 0.05,
        "kmt2a_ptd": 0.18,
        "dnmt3a": 0.28,
        "tet2": 0.30,
        "idh2": 0.22,
        "idh1": 0.10,
        "flt3_itd": 0.18,
        "nras": 0.16,
        "kras": 0.06,
        "ptpn11": 0.05,
        "cbl": 0.07,
        "phf6": 0.05,
        "nf1": 0.03,
        "jak2": 0.03,
    },
    # TP53-aneuploidy: in AMLSG 98 of the 241 class members carry TP53 [D]; the rest are
    # complex/aneuploid karyotypes without it. 0.70 keeps the population TP53 share at
    # 6-11% with this simulator's class shares.
    "tp53": {"tp53": 0.70, "dnmt3a": 0.10, "tet2": 0.10, "nf1": 0.05, "asxl1": 0.03},
    "inv16": {"nras": 0.45, "kit": 0.33, "flt3_tkd": 0.14, "kras": 0.13, "flt3_itd": 0.05},
    "t8_21": {
        "kit": 0.25,
        "nras": 0.25,
        "flt3_tkd": 0.05,
        "asxl1": 0.10,
        "rad21": 0.10,
        "kras": 0.10,
        "ezh2": 0.05,
    },
    "cebpa": {
        "cebpa_bzip": 1,
        "cebpa_biallelic": 0.72,
        "gata2": 0.21,
        "wt1": 0.10,
        "nras": 0.20,
        "flt3_itd": 0.12,
        "tet2": 0.20,
    },
    "apl": {"flt3_itd": 0.35, "flt3_tkd": 0.15, "wt1": 0.10},
    "mllr": {"nras": 0.25, "kras": 0.25, "flt3_itd": 0.05, "ptpn11": 0.05},
    "mecom": {"nras": 0.25, "kras": 0.12, "sf3b1": 0.20, "gata2": 0.12, "ptpn11": 0.10},
    "idh2r172": {"idh2": 1, "dnmt3a": 0.50},
    "t6_9": {"flt3_itd": 0.70},
    "t9_22": {"runx1": 0.20, "asxl1": 0.20},
    "other": {
        "dnmt3a": 0.18,
        "tet2": 0.14,
        "idh1": 0.09,
        "idh2": 0.08,
        "flt3_itd": 0.20,
        "nras": 0.14,
        "kras": 0.05,
        "wt1": 0.06,
        "ptpn11": 0.04,
        "flt3_tkd": 0.06,
    },
}
# Background rates for rarer genes, any class (AMLSG [D], TCGA [D] where lower).
BACKGROUND = {
    "atrx": 0.005,
    "braf": 0.006,
    "cbl": 0.02,
    "cblb": 0.006,
    "cdkn2a": 0.005,
    "crebbp": 0.006,
    "cux1": 0.01,
    "ep300": 0.006,
    "etv6": 0.014,
    "fbxw7": 0.005,
    "gnas": 0.008,
    "ikzf1": 0.008,
    "jak2": 0.007,
    "kdm5a": 0.004,
    "kdm6a": 0.006,
    "kmt2c": 0.02,
    "kmt2d": 0.01,
    "kmt2e": 0.01,
    "mpl": 0.004,
    "myc": 0.005,
    "nf1": 0.02,
    "phf6": 0.02,
    "prpf40b": 0.004,
    "pten": 0.004,
    "rad21": 0.025,
    "rb1": 0.004,
    "sf1": 0.004,
    "sf3a1": 0.004,
    "sh2b3": 0.005,
    "u2af2": 0.004,
    "wt1": 0.02,
    "gata2": 0.01,
    "stag2": 0.015,
    "bcor": 0.01,
    "ezh2": 0.01,
    "ptpn11": 0.03,
    "kit": 0.01,
    "tet2": 0.05,
    "dnmt3a": 0.06,
}
# TET2, SRSF2, IDH2, STAG2, ASXL1, RUNX1 ~2-3x higher >= 60 y (A3 "Age") [D].
AGE_RISING = ("tet2", "srsf2", "idh2", "stag2", "asxl1", "runx1")
# TP53 VAF, highest TP53 mutation per patient, AMLSG [D] (n = 101): median 54%, IQR
# 29-79%, 7 of 101 below 10% -> Beta(1.04, 0.91) (median 55%, IQR 29-79%, 8% below 10%).
TP53_VAF_BETA = (1.04, 0.91)


def _sample_classes(age, ontogeny, rng):
    older = 1.0 / (1.0 + np.exp(-(age - 60.0) / 7.0))
    young, old = np.array(CLASS_SHARE_YOUNG), np.array(CLASS_SHARE_OLD)
    p = (1 - older)[:, None] * young[None, :] + older[:, None] * old[None, :]
    for tilt, kind in ((SECONDARY_TILT, "secondary"), (THERAPY_TILT, "therapy_related")):
        rows = ontogeny == kind
        for cls, factor in tilt.items():
            p[rows, CLASSES.index(cls)] *= factor
    p /= p.sum(axis=1, keepdims=True)
    u = rng.random(len(age))[:, None]
    idx = (u > np.cumsum(p, axis=1)).sum(axis=1)
    return np.array(CLASSES)[np.minimum(idx, len(CLASSES) - 1)]


def _genes(cls, age, n, rng) -> dict[str, np.ndarray]:
    """Mutations as true biology: ``tp53`` here is any TP53 mutation (the VAF comes later)."""
    out = {g: np.zeros(n, dtype=bool) for g in GENE_COLUMNS}
    age_factor = np.where(age >= 60, 1.6, 0.8)
    for g in GENE_COLUMNS:
        base = np.full(n, BACKGROUND.get(g, 0.0))
        for c, rates in GENE_RATES.items():
            if g in rates:
                base[cls == c] = max(rates[g], BACKGROUND.get(g, 0.0))
        if g in AGE_RISING:
            base = base * age_factor
        out[g] = rng.random(n) < np.clip(base, 0, 1)
    cs = cls == "cs"  # the chromatin-spliceosome class needs at least one of its genes
    cs_genes = ("runx1", "srsf2", "asxl1", "stag2", "bcor", "ezh2", "sf3b1", "u2af1", "zrsr2")
    none = cs & ~np.any([out[g] for g in cs_genes], axis=0)
    pick = rng.integers(0, 3, n)  # RUNX1, SRSF2 or ASXL1
    for k, g in enumerate(("runx1", "srsf2", "asxl1")):
        out[g] |= none & (pick == k)
    # NPM1 is near-exclusive with RUNX1 (OR 0.12 [D]); its TP53 rate is set in GENE_RATES.
    # IDH1/IDH2 and TET2/IDH tend to exclude each other (ORs 0.2-0.5 [D]).
    out["npm1"] = cls == "npm1"
    out["runx1"] &= ~out["npm1"] | (rng.random(n) < 0.1)
    both = out["idh1"] & out["idh2"]
    out[("idh1", "idh2")[rng.integers(0, 2)]] &= ~(both & (rng.random(n) < 0.8))
    out["tet2"] &= ~((out["idh1"] | out["idh2"]) & (rng.random(n) < 0.6))
    # in-frame bZIP CEBPA outside the CEBPA class is rare; biallelic implies bZIP mostly
    out["cebpa_bzip"] |= cls == "cebpa"
    out["cebpa_biallelic"] &= out["cebpa_bzip"]
    return out


# ---- karyotype -----------------------------------------------------------------------------
# Built abnormality by abnormality; complex and monosomal karyotype then follow their
# definitions (ELN 2022: >= 3 unrelated abnormalities without a class-defining lesion,
# not gains only; Breems JCO 2008: >= 2 autosomal monosomies, or 1 with a structural
# abnormality, outside CBF AML). AMLSG [D] / literature: CK 11.2%, +8 10.1%, -5/5q 7.0%,
# -7 5.7%, del(7q) 2.9%, -17/17p 5.2%, t(9;11) 1.2% + other KMT2A-r 2.6%; monosomal
# karyotype 13% overall, 20% > 60 y (Medeiros Blood 2010) [V]; normal karyotype 40-48%.
# Outside complex karyotypes, AMLSG chromosome 5, 12, 17, 18, 20 and 4 changes are
# deletions/structural (<= 1 whole-chromosome loss each in 1,279 karyotypes) [D].
GAINS = ("plus8_8q", "plus11_11q", "plus13", "plus21", "plus22")
TRUE_MONOSOMIES = ("mono5", "mono7", "mono12", "mono17", "mono18", "mono20", "mono4")
# one abnormality each; t(9;11) is counted in kmt2a_r, other MECOM-r in abn3q_other, a
# whole-chromosome loss in its "-N or deletion" flag
COUNTED = tuple(
    name
    for name in LESION_CHROMOSOMES
    if name not in ("t_9_11", "mecom_r_other") and name not in TRUE_MONOSOMY_OF
) + ("var_recurr_balanced", "var_recurr_unbalanced")
CLASS_DEFINING = (
    "t_15_17",
    "t_8_21",
    "inv16_t16_16",
    "kmt2a_r",
    "t_6_9",
    "inv3_t3_3",
    "mecom_r_other",
    "t_9_22",
)  # recurring lesions a complex karyotype excludes (ELN 2017 Table 5 footnote)

# Complex karyotypes, AMLSG [D]: 134 of 1,413 karyotypes (ISCN strings of
# AMLSG_Karyotypes.txt read by this project; median 6 abnormalities, IQR 4-9).
# Chromosome 5 / 7 / 17 involved with TP53 mutation 78 / 47 / 58%, without 35 / 40 / 23%;
# the change is a whole-chromosome loss in 41% (5), 71% (7 vs del(7q)), 60% (17).
CK_CHROM_WITH_TP53 = {"5": 0.78, "7": 0.47, "17": 0.58}
CK_CHROM_WITHOUT_TP53 = {"5": 0.35, "7": 0.40, "17": 0.23}
CK_LOSS_SHARE = {"5": 0.41, "7": 0.71, "17": 0.60}
# other autosomal monosomies per complex karyotype: 0 1 2 3 4 5+ in 55 35 19 12 9 4 [D]
CK_OTHER_MONOSOMIES_P = (55, 35, 19, 12, 9, 4)
# which autosomes those are lost (counts of -N in the 134) [D]
CK_MONOSOMY_WEIGHTS = {
    "18": 18, "16": 16, "21": 13, "13": 12, "20": 12, "22": 12, "12": 11, "3": 10, "8": 10,
    "11": 10, "15": 10, "14": 9, "19": 9, "6": 6, "10": 6, "2": 4, "1": 3, "4": 1,
}  # fmt: skip
# structural changes of flagged chromosomes per complex karyotype [D]: del(12p)/add(12p)
# 15, abn(4q) 12, del(9q) 7, other 3q 10, del(18q) 6, del(20q) 6 of 134
CK_STRUCTURAL = {
    "mono12_12p": 0.11,
    "mono4_4q": 0.09,
    "abn3q_other": 0.075,
    "del9q": 0.05,
    "mono18_18q": 0.045,
    "mono20_20q": 0.045,
}
CK_GAINS = {"plus8_8q": 0.16, "plus21": 0.05, "plus13": 0.05, "plus22": 0.045, "plus11_11q": 0.045}
# marker chromosomes per complex karyotype 0 1 2 3 4 5+: 57 33 21 15 5 3 [D]; other
# structural changes of unflagged chromosomes 0 1 2 3 4 5+: 40 41 25 14 8 6 [D], on
# chromosomes weighted by their structural changes in the 134 [D]
CK_MARKERS_P = (57, 33, 21, 15, 5, 3)
CK_OTHER_STRUCTURAL_P = (40, 41, 25, 14, 8, 6)
CK_STRUCTURAL_WEIGHTS = {
    "11": 21, "2": 14, "6": 14, "1": 13, "10": 9, "21": 9, "22": 9, "16": 8,
    "8": 7, "13": 7, "14": 7, "19": 7, "15": 6, "x": 3,
}  # fmt: skip
# complex karyotype in TP53-mutated patients 59 of 77 karyotyped (77%) [D]; 71% in the
# project's earlier AMLSG derivation (clinical_facts A3) [D].
CK_IF_TP53 = 0.75
CK_IF_ANEUPLOID_NO_TP53 = 0.85
# 3q26/MECOM-rearranged: 20 inv(3)/t(3;3) vs 9 other 3q26 rearrangements; 22 of 30 with -7
# [D]; KMT2A-r: t(9;11) 1.2% vs other 11q23 2.6% of karyotypes [D].
MECOM_OTHER_SHARE = 0.31
MECOM_MONO7 = 0.73
T9_11_SHARE = 0.32


@dataclass
class _Karyotype:
    """Lesion flags plus the abnormalities no flag names (counts and their chromosomes)."""

    flags: dict[str, np.ndarray]
    extra_chroms: dict[str, np.ndarray]  # chromosome -> has an unflagged abnormality
    other_monosomies: np.ndarray  # whole-chromosome losses of unflagged autosomes
    markers: np.ndarray
    other_structural: np.ndarray


def _class_lesions(cls, sex, rng) -> dict[str, np.ndarray]:
    """Class-defining lesions and the background lesions of each class."""
    n = len(cls)
    r = lambda p: rng.random(n) < p  # noqa: E731 - a local Bernoulli draw
    k = {name: np.zeros(n, dtype=bool) for name in LESION_CHROMOSOMES}
    k["t_8_21"] = cls == "t8_21"
    k["inv16_t16_16"] = cls == "inv16"
    k["t_15_17"] = cls == "apl"
    k["kmt2a_r"] = cls == "mllr"
    k["t_9_11"] = k["kmt2a_r"] & r(T9_11_SHARE)
    mecom = cls == "mecom"
    k["mecom_r_other"] = mecom & r(MECOM_OTHER_SHARE)
    k["inv3_t3_3"] = mecom & ~k["mecom_r_other"]
    k["t_6_9"] = cls == "t6_9"
    k["t_9_22"] = cls == "t9_22"
    k["t_8_16"] = (cls == "other") & r(0.003)
    k["mono_y"] = (sex == "M") & ((k["t_8_21"] & r(0.5)) | r(0.03))  # -Y common in t(8;21)
    k["del9q"] = (k["t_8_21"] & r(0.12)) | r(0.01)
    k["plus22"] = (k["inv16_t16_16"] & r(0.18)) | r(0.005)  # +22 18% of inv(16) [V]
    k["mono7"] = (mecom & r(MECOM_MONO7)) | ((cls == "cs") & r(0.05)) | r(0.01)
    # +8 16% of inv(16) [V]
    p_plus8 = np.select([cls == "npm1", cls == "cs", cls == "inv16"], [0.06, 0.2, 0.16], 0.09)
    k["plus8_8q"] = r(p_plus8)
    k["abn3q_other"] = k["mecom_r_other"] | r(0.01)
    k["plus11_11q"] = ((cls == "cs") & r(0.05)) | r(0.005)
    k["plus13"] = ((cls == "cs") & r(0.04)) | r(0.005)
    k["plus21"] = r(0.02)
    k["del7q"] = ((cls == "cs") & r(0.06)) | r(0.01)
    k["other7"] = r(0.005)
    k["mono20_20q"] = ((cls == "cs") & r(0.04)) | r(0.01)  # del(20q) outside CK
    k["minus5_5q"] = ((cls == "cs") & r(0.03)) | r(0.005)  # del(5q) outside CK
    k["mono17_17p"] = r(0.004)
    k["mono12_12p"] = r(0.004)
    k["mono18_18q"] = r(0.003)
    k["mono4_4q"] = r(0.003)
    k["var_recurr_balanced"] = (cls == "other") & r(0.04)
    k["var_recurr_unbalanced"] = (cls == "other") & r(0.04)
    return k


def _weighted_choice(weights: dict[str, float], count: np.ndarray, rng) -> dict[str, np.ndarray]:
    """``count[i]`` distinct keys per row, drawn with the given weights (Gumbel top-k)."""
    keys = list(weights)
    logw = np.log(np.array([weights[c] for c in keys], dtype=float))
    scores = logw[None, :] + rng.gumbel(size=(len(count), len(keys)))
    rank = np.argsort(np.argsort(-scores, axis=1), axis=1)
    return {c: rank[:, j] < count for j, c in enumerate(keys)}


def _draw(p: tuple[float, ...], n: int, rng) -> np.ndarray:
    w = np.asarray(p, dtype=float)
    return rng.choice(len(w), size=n, p=w / w.sum())


def _complex_lesions(k, target, tp53, rng) -> _Karyotype:
    """Abnormalities of the complex karyotypes in ``target``, with AMLSG's composition [D]."""
    n = len(target)
    r = lambda p: target & (rng.random(n) < p)  # noqa: E731
    for c, lesion in (("5", "minus5_5q"), ("7", None), ("17", "mono17_17p")):
        hit = r(np.where(tp53, CK_CHROM_WITH_TP53[c], CK_CHROM_WITHOUT_TP53[c]))
        loss = hit & (rng.random(n) < CK_LOSS_SHARE[c])
        if lesion is None:  # chromosome 7: -7 or del(7q)
            k["mono7"] |= loss
            k["del7q"] |= hit & ~loss
        else:
            k[lesion] |= hit
            k[f"mono{c}"] |= loss
    for lesion, p in (CK_STRUCTURAL | CK_GAINS).items():
        k[lesion] |= r(p)
    k["abn3q_other"] |= k["mecom_r_other"]
    n_lost = np.where(target, _draw(CK_OTHER_MONOSOMIES_P, n, rng), 0)
    lost = _weighted_choice(CK_MONOSOMY_WEIGHTS, n_lost, rng)
    for mono, flag in TRUE_MONOSOMY_OF.items():
        c = mono.removeprefix("mono")
        if c in lost:  # a flagged chromosome: -12 is also "-12 or 12p abnormality"
            k[mono] |= lost.pop(c)
            k[flag] |= k[mono]
    other_struct = np.where(target, _draw(CK_OTHER_STRUCTURAL_P, n, rng), 0)
    markers = np.where(target, _draw(CK_MARKERS_P, n, rng), 0)
    kar = _Karyotype(k, {}, np.sum(list(lost.values()), axis=0), markers, other_struct)
    # a complex karyotype has >= 3 abnormalities, not gains only: add structural changes
    abn, monos, gains, _ = _counts(kar)
    short = target & ((abn < 3) | (abn == gains) | (abn == markers))  # markers: no chromosome
    kar.other_structural = other_struct + np.where(short, np.maximum(3 - abn, 1), 0)
    hit = _weighted_choice(CK_STRUCTURAL_WEIGHTS, np.minimum(kar.other_structural, 5), rng)
    none = np.zeros(n, dtype=bool)
    kar.extra_chroms = {c: hit.get(c, none) | lost.get(c, none) for c in CHROMOSOMES}
    return kar


def _counts(kar: _Karyotype) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Abnormalities, autosomal monosomies, gains and structural abnormalities per row."""
    k = kar.flags
    unflagged = kar.other_monosomies + kar.markers + kar.other_structural
    abn = np.sum([k[f] for f in COUNTED], axis=0) + unflagged
    monos = np.sum([k[f] for f in TRUE_MONOSOMIES], axis=0) + kar.other_monosomies
    gains = np.sum([k[f] for f in GAINS], axis=0)
    return abn, monos, gains, abn - monos - gains - k["mono_y"]


def _karyotype(cls, sex, tp53, rng) -> dict[str, np.ndarray]:
    n = len(cls)
    k = _class_lesions(cls, sex, rng)
    # TP53-aneuploidy: complex karyotype in 75% with TP53, 85% of the others; a few in
    # the chromatin-spliceosome and unclassified groups
    p_ck = np.select(
        [(cls == "tp53") & tp53, cls == "tp53", cls == "cs", cls == "other"],
        [CK_IF_TP53, CK_IF_ANEUPLOID_NO_TP53, 0.04, 0.03],
        0.0,
    )
    target = rng.random(n) < p_ck
    # TP53-aneuploidy without a complex karyotype: AMLSG's 18 such TP53-mutated patients
    # had a normal karyotype in 7 [D]; the others, and the class members without TP53, get
    # one of del(5q), -7, del(7q), abn(17p), +8 (equally likely: a modelling choice)
    simple = (cls == "tp53") & ~target & (rng.random(n) < np.where(tp53, 11 / 18, 1.0))
    pick = rng.integers(0, 5, n)
    for j, lesion in enumerate(("minus5_5q", "mono7", "del7q", "mono17_17p", "plus8_8q")):
        k[lesion] |= simple & (pick == j)
    kar = _complex_lesions(k, target, tp53, rng)
    abn, monos, gains, structural = _counts(kar)
    cbf = k["t_8_21"] | k["inv16_t16_16"]
    class_defining = np.any([k[f] for f in CLASS_DEFINING], axis=0)
    out = dict(k)
    out["complex"] = (abn >= 3) & ~class_defining & (structural + monos > 0)
    out["monosomal"] = ((monos >= 2) | ((monos == 1) & (structural >= 1))) & ~cbf
    out["karyotype_abnormalities"] = abn
    out["autosomal_monosomies"] = monos
    out["normal_karyotype"] = abn == 0
    out.update(_chromosome_flags(kar, rng))
    return out


def _chromosome_flags(kar: _Karyotype, rng) -> dict[str, np.ndarray]:
    k = kar.flags
    n = len(k["t_8_21"])
    flags = {f"chr_{c}": kar.extra_chroms.get(c, np.zeros(n, bool)).copy() for c in CHROMOSOMES}
    for lesion, chroms in LESION_CHROMOSOMES.items():
        for c in chroms:
            flags[f"chr_{c}"] |= k[lesion]
    partner = rng.choice(["6", "10", "19"], n)  # KMT2A partners other than chromosome 9
    other = k["kmt2a_r"] & ~k["t_9_11"]
    spare = rng.choice(["1", "2", "10", "14", "19", "x"], n)  # unnamed recurrent lesions
    var = k["var_recurr_balanced"] | k["var_recurr_unbalanced"]
    for c in CHROMOSOMES:
        flags[f"chr_{c}"] |= (other & (partner == c)) | (var & (spare == c))
    return flags


# ---- clinical course -----------------------------------------------------------------------
# Labs at diagnosis, AMLSG [D]: WBC median 14.2 x10^9/L, ln(WBC) ~ N(2.59, 1.56); subgroup
# medians NPM1+ITD+ 41.7, NPM1+ITD- 19.2, CBF 21.9, TP53 4.8, APL 3.3, s-/t-AML 7.8.
# Hb median 9.1 g/dL (IQR 7.8-10.4); platelets 53 (29-102); LDH 435 (265-749);
# BM blasts 75% (49-90); PB blasts 37% (10-72); splenomegaly 34%.
WBC_MEDIAN = {
    "npm1": 19.2,
    "cs": 9.0,
    "tp53": 4.8,
    "inv16": 21.9,
    "t8_21": 21.9,
    "cebpa": 20.0,
    "apl": 3.3,
    "mllr": 25.0,
    "mecom": 8.0,
    "idh2r172": 10.0,
    "t6_9": 12.0,
    "t9_22": 15.0,
    "other": 12.0,
}
# ELN 2022 (approx.) CR after intensive induction fav/int/adv 89/68/52% [D]; CR falls
# with age (79/77/66/54/40% by 18-39/40-49/50-59/60-69/>=70 [D]); early death 3-21% by
# age [D]. Venetoclax-azacitidine CR+CRi 66% (VIALE-A) [V], lower with TP53.
CR_LOGIT_INTENSIVE = {"favorable": 2.3, "intermediate": 0.95, "adverse": 0.15}
RELAPSE_PROB = {"favorable": 0.32, "intermediate": 0.52, "adverse": 0.68}
RELAPSE_MEDIAN_DAYS = {"favorable": 330, "intermediate": 250, "adverse": 180}
HSCT_CR1_PROB = {"favorable": 0.08, "intermediate": 0.35, "adverse": 0.50}
SUPPORTIVE_MEDIAN_OS_DAYS = 75  # BSC alone ~2-3 months [unverified]


def _days(x) -> np.ndarray:
    return np.maximum(np.ceil(np.asarray(x, dtype=float)), 1).astype(np.int64)


def _logistic(x):
    return 1.0 / (1.0 + np.exp(-x))


@dataclass(frozen=True)
class _Course:
    """One patient's true course from diagnosis (days), before censoring."""

    intensity: np.ndarray
    response: np.ndarray
    cr: np.ndarray
    t_resp: np.ndarray
    hsct1: np.ndarray
    t_h1: np.ndarray
    relapses: np.ndarray
    t_rel: np.ndarray
    hsct2: np.ndarray
    t_h2: np.ndarray
    hsct_ad: np.ndarray
    t_had: np.ndarray
    t_death: np.ndarray
    refractory: np.ndarray
    early_death: np.ndarray
    supportive: np.ndarray


def _treatment(age, ecog, apl, profile, rng) -> np.ndarray:
    """Intensive / non-intensive / supportive care.

    SEER-17 share given chemotherapy 92/89/77/47/24% by age band [V].
    """
    n = len(age)
    logit = np.where(age < 60, 2.0 + 0.03 * (60 - age), 2.0 - 0.17 * (age - 60))
    logit += profile.intensive_shift - 0.8 * np.maximum(ecog - 1, 0)
    intensive = (rng.random(n) < _logistic(logit)) | apl
    p_supportive = np.clip(0.12 + 0.3 * (ecog >= 3) + 0.2 * (age >= 85), 0, 1)
    supportive = ~intensive & (rng.random(n) < p_supportive)
    other = np.where(supportive, "supportive_care", "non_intensive")
    return np.where(intensive, "intensive", other)


def _response(age, ecog, risk, apl, tp53, wbc, intensity, rng):
    """Early death, CR/CRi or refractory disease, and the day the response is known."""
    n = len(age)
    intensive, supportive = intensity == "intensive", intensity == "supportive_care"
    bad_ps = ecog >= 2
    base = np.array([CR_LOGIT_INTENSIVE[x] for x in risk])
    p_cr_int = _logistic(base - 0.04 * (age - 50) - 0.3 * bad_ps + 2.0 * apl)
    p_cr_non = _logistic(0.55 - 1.0 * tp53 - 0.3 * bad_ps)
    p_ed = np.where(
        intensive,
        _logistic(-4.0 + 0.05 * (age - 50) + 0.6 * bad_ps + 0.5 * (wbc > 100) + 0.8 * apl),
        _logistic(-2.6 + 0.03 * (age - 75) + 0.5 * bad_ps),
    )
    early_death = ~supportive & (rng.random(n) < p_ed)
    cr = ~supportive & ~early_death & (rng.random(n) < np.where(intensive, p_cr_int, p_cr_non))
    cri = cr & (rng.random(n) < np.where(intensive, 0.15, 0.45))
    refractory = ~supportive & ~early_death & ~cr
    response = np.select(
        [early_death, cri, cr, refractory], ["early_death", "cri", "cr", "refractory"], ""
    )
    t_resp = np.where(intensive, 25 + rng.gamma(4, 3, n), 50 + rng.gamma(3, 20, n))
    t_resp = _days(np.minimum(t_resp, np.where(intensive, 90, 180)))
    return early_death, cr, refractory, response, t_resp


def _outcomes(age, ecog, risk, cls, tp53, wbc, profile, rng) -> _Course:
    """Treatment, response, transplant, relapse and death of each patient."""
    apl = cls == "apl"
    intensity = _treatment(age, ecog, apl, profile, rng)
    early_death, cr, refractory, response, t_resp = _response(
        age, ecog, risk, apl, tp53, wbc, intensity, rng
    )
    intensive = intensity == "intensive"
    remission = _remission(age, risk, apl, cr, intensive, intensity, t_resp, profile, rng)
    hsct_ad, t_had, s_ref = _refractory_course(age, refractory, intensive, t_resp, profile, rng)
    n = len(age)
    t_death = np.select(
        [early_death, intensity == "supportive_care", refractory, cr],
        [
            _days(rng.uniform(2, 55, n)),
            _days(rng.gamma(1.3, SUPPORTIVE_MEDIAN_OS_DAYS / 1.0, n)),
            t_resp + s_ref,
            remission["t_death_cr"],
        ],
        remission["t_nrm"],
    )
    return _Course(
        intensity=intensity,
        response=response,
        cr=cr,
        t_resp=t_resp,
        hsct1=remission["hsct1"],
        t_h1=remission["t_h1"],
        relapses=remission["relapses"],
        t_rel=remission["t_rel"],
        hsct2=remission["hsct2"],
        t_h2=remission["t_h2"],
        hsct_ad=hsct_ad,
        t_had=t_had,
        t_death=t_death,
        refractory=refractory,
        early_death=early_death,
        supportive=intensity == "supportive_care",
    )


def _remission(age, risk, apl, cr, intensive, intensity, t_resp, profile, rng) -> dict:
    """After CR: transplant in CR1, relapse, salvage transplant, non-relapse death."""
    n = len(age)
    r = lambda p: rng.random(n) < p  # noqa: E731
    # allogeneic HSCT in CR1 (AMLSG 22% in CR1 [D]; ages 50-70: 13-21% [V])
    eligible = intensive & cr & (age <= 72) & ~apl
    p_h1 = np.array([HSCT_CR1_PROB[x] for x in risk]) * np.where(age < 60, 1.0, 0.6)
    hsct1 = eligible & r(np.clip(p_h1 * profile.hsct_factor, 0, 1))
    t_h1 = t_resp + _days(60 + rng.gamma(4, 20, n))
    p_rel = np.array([RELAPSE_PROB[x] for x in risk]) + 0.10 * (age >= 60)
    p_rel = p_rel + 0.10 * (intensity == "non_intensive")
    p_rel = np.where(apl, 0.08, p_rel) * np.where(hsct1, 0.5, 1.0)
    relapses = cr & r(np.clip(p_rel, 0, 0.95))
    med = np.array([RELAPSE_MEDIAN_DAYS[x] for x in risk])
    t_rel = np.where(hsct1, t_h1, t_resp) + _days(rng.exponential(med / np.log(2)))
    # deaths: non-relapse (background rising with age; transplant-related ~15% in year 1)
    yearly = 0.01 * np.exp(0.06 * (age - 40))
    t_nrm = t_resp + _days(rng.exponential(365.25 / yearly))
    trm = hsct1 & r(0.15)
    t_nrm = np.where(trm, np.minimum(t_nrm, t_h1 + _days(rng.uniform(20, 365, n))), t_nrm)
    # after relapse: median ~200 days < 60 y, ~120 days older; salvage HSCT in CR2
    s_rel = _days(rng.exponential(np.where(age < 60, 200, 120) / np.log(2)))
    hsct2 = relapses & ~hsct1 & (age < 65) & intensive & r(0.4 * profile.hsct_factor)
    t_h2 = t_rel + _days(70 + rng.gamma(3, 15, n))
    cured2 = hsct2 & r(0.35)
    s_rel = np.where(
        hsct2, np.where(cured2, 10**5, (t_h2 - t_rel) + _days(rng.exponential(300, n))), s_rel
    )
    t_death_cr = np.where(
        relapses & (t_rel < t_nrm), np.minimum(t_rel + s_rel, t_nrm + 10**5 * cured2), t_nrm
    )
    return {
        "hsct1": hsct1, "t_h1": t_h1, "relapses": relapses, "t_rel": t_rel, "hsct2": hsct2,
        "t_h2": t_h2, "t_nrm": t_nrm, "t_death_cr": t_death_cr,
    }  # fmt: skip


def _refractory_course(age, refractory, intensive, t_resp, profile, rng):
    """Refractory disease: median ~150 days (older) / 250 days; salvage HSCT if active."""
    n = len(age)
    hsct_ad = refractory & intensive & (age < 65) & (rng.random(n) < 0.25 * profile.hsct_factor)
    t_had = t_resp + _days(60 + rng.gamma(3, 15, n))
    s_ref = _days(rng.exponential(np.where(age < 60, 250, 150) / np.log(2)))
    s_ref = np.where(hsct_ad, (t_had - t_resp) + _days(rng.exponential(600, n)), s_ref)
    return hsct_ad, t_had, s_ref


# ---- one site ------------------------------------------------------------------------------
def _demographics(n: int, profile: AmlSiteProfile, rng):
    """Age, sex, ontogeny and the prior myeloid neoplasm of secondary AML."""
    # SEER-17 bands re-weighted per site; 55% male (SEER-17 54.4% [V])
    w = np.asarray(profile.age_band_weights, dtype=float)
    band = rng.choice(len(AGE_BANDS), size=n, p=w / w.sum())
    lo = np.array([b[0] for b in AGE_BANDS])[band]
    hi = np.array([b[1] for b in AGE_BANDS])[band]
    age = rng.integers(lo, hi)
    male_p = np.where(age >= 70, 0.60, 0.53)  # male excess grows with age [V]
    sex = np.where(rng.random(n) < male_p, "M", "F")
    # secondary AML rises with age
    p_sec = 0.06 + 0.22 / (1 + np.exp(-(age - 65) / 6))
    u = rng.random(n)
    ontogeny = np.where(
        u < p_sec, "secondary", np.where(u < p_sec + 0.066, "therapy_related", "de_novo")
    )
    share = np.asarray(PRIOR_NEOPLASM_SHARE)
    prior = np.array(PRIOR_NEOPLASMS)[rng.choice(3, size=n, p=share / share.sum())]
    prior = np.where(ontogeny == "secondary", prior, "")
    return age, sex, ontogeny, prior


def _labs(cls, genes, ontogeny, age, rng) -> dict[str, np.ndarray]:
    """Blood counts, LDH, blasts, spleen, extramedullary disease and ECOG at diagnosis."""
    n = len(cls)
    r = lambda p: rng.random(n) < p  # noqa: E731
    wbc_med = np.array([WBC_MEDIAN[c] for c in cls])
    wbc_med = np.where((cls == "npm1") & genes["flt3_itd"], 41.7, wbc_med)
    wbc_med = np.where(ontogeny != "de_novo", np.minimum(wbc_med, 7.8), wbc_med)
    wbc = np.clip(np.exp(np.log(wbc_med) + rng.normal(0, 1.3, n)), 0.2, 480)
    hb = np.clip(rng.normal(9.1, 1.7, n), 3.5, 16.5)
    plt_med = np.where(cls == "apl", 30, np.where(cls == "cs", 60, 53))
    platelets = np.clip(np.exp(np.log(plt_med) + rng.normal(0, 0.85, n)), 2, 1500)
    ldh = np.clip(
        np.exp(np.log(435) + 0.25 * (np.log(wbc) - 2.6) + rng.normal(0, 0.6, n)), 90, 15000
    )
    low_blast = np.isin(cls, ["cs", "tp53"])
    bm = np.where(low_blast, 20 + 80 * rng.beta(1.5, 2.0, n), 20 + 80 * rng.beta(3.0, 1.3, n))
    pb = bm * rng.beta(2.5, 1.6, n) * (0.25 + 0.75 / (1 + np.exp(-(np.log(wbc) - 2.3))))
    pb = np.where(wbc < 0.5, np.minimum(pb, 40), pb)
    spleen = r(np.clip(0.28 + 0.15 * (wbc > 50) - 0.1 * (cls == "tp53"), 0, 1))
    extramed = r(np.where(np.isin(cls, ["npm1", "mllr", "t8_21"]), 0.14, 0.07))
    # ECOG: AMLSG 0/1/2/3-4 = 26/62/11/1% [D] (fit, median 50 y); older/palliative
    # cohorts ECOG >= 2 in 52% [V]
    ecog = np.where(
        age >= 65,
        rng.choice(5, n, p=[0.14, 0.44, 0.27, 0.12, 0.03]),
        rng.choice(5, n, p=[0.27, 0.58, 0.11, 0.03, 0.01]),
    )
    ecog = np.minimum(ecog + ((cls == "tp53") & r(0.3)), 4)
    return {
        "wbc": wbc, "hb": hb, "platelets": platelets, "ldh": ldh, "bm_blasts": bm,
        "pb_blasts": pb, "splenomegaly": spleen, "extramedullary": extramed, "ecog": ecog,
    }  # fmt: skip


def _follow_up(course: _Course, age, profile: AmlSiteProfile, rng) -> dict[str, object]:
    """Calendar, censoring at the data cut-off or loss to follow-up, and what is recorded."""
    n = len(age)
    start, end = (pd.Timestamp(d) for d in profile.accrual)
    dx = start + pd.to_timedelta(rng.integers(0, (end - start).days + 1, n), unit="D")
    followup = (pd.Timestamp(profile.cutoff) - dx).days.to_numpy()
    lost = rng.random(n) < 0.05
    followup = np.where(
        lost, np.maximum(rng.integers(200, np.maximum(followup, 201) + 1), 200), followup
    )
    followup = np.minimum(followup, 7300)
    os_status = course.t_death <= followup
    os_days = np.where(os_status, course.t_death, followup)
    cr, cr_days = course.cr, course.t_resp
    relapse = cr & course.relapses & (course.t_rel <= os_days)
    relapse_days = course.t_rel

    def observed(flag, t):
        return flag & (t <= os_days)

    h1 = observed(course.hsct1, course.t_h1) & ~(relapse & (relapse_days <= course.t_h1))
    h2 = observed(course.hsct2 & relapse, course.t_h2)
    had = observed(course.hsct_ad, course.t_had)
    hsct = h1 | h2 | had
    hsct_days = np.select([h1, h2, had], [course.t_h1, course.t_h2, course.t_had], 0)
    hsct_status = np.select([h1, h2, had], ["cr1", "cr2_or_later", "active_disease"], "")
    donor = rng.choice(["sibling", "unrelated", "haploidentical"], n, p=[0.3, 0.5, 0.2])
    auto = cr & ~hsct & (course.intensity == "intensive") & (age < 65) & (rng.random(n) < 0.02)
    failure = course.refractory | course.early_death
    efs_days = np.select(
        [failure & course.refractory, course.early_death, cr & relapse],
        [cr_days, os_days, relapse_days],
        os_days,
    )
    efs_status = np.where(failure, True, np.where(cr, relapse | os_status, os_status))
    return {
        "diagnosis_date": dx.to_numpy(),
        "induction_intensity": course.intensity,
        "induction_response": _na(course.response, course.supportive),
        "cr": cr,
        "cr_days": _na(cr_days, ~cr),
        "relapse": _na(relapse, ~cr),
        "relapse_days": _na(relapse_days, ~relapse),
        "hsct": hsct,
        "hsct_days": _na(hsct_days, ~hsct),
        "hsct_status": _na(hsct_status, ~hsct),
        "hsct_donor": _na(donor, ~hsct),
        "auto_hsct": auto,
        "os_days": os_days,
        "os_status": os_status,
        "efs_days": efs_days,
        "efs_status": efs_status,
        "rfs_days": _na(efs_days - cr_days, ~cr),
        "rfs_status": _na(efs_status, ~cr),
    }


def simulate_site(n: int, *, site: int, n_sites: int, rng: np.random.Generator) -> pd.DataFrame:
    """Simulate ``n`` AML patients of hospital number ``site`` (1-based) as a typed frame."""
    del n_sites  # profiles depend on the site number only
    dictionary = load_dictionary("aml")
    profile = profile_for(site)
    age, sex, ontogeny, prior = _demographics(n, profile, rng)
    cls = _sample_classes(age.astype(float), ontogeny, rng)
    genes = _genes(cls, age, n, rng)
    kar = _karyotype(cls, sex, genes["tp53"], rng)
    # TP53 flag = a mutation at VAF >= 10% (ELN 2022, ICC); lower VAFs are recorded only
    tp53_vaf = np.where(genes["tp53"], np.round(100 * rng.beta(*TP53_VAF_BETA, n), 1), np.nan)
    tp53_vaf = np.clip(tp53_vaf, 1.0, 99.9)
    genes["tp53"] = genes["tp53"] & (tp53_vaf >= TP53_VAF_CUTOFF)
    itd_ar = np.where(genes["flt3_itd"], np.round(rng.lognormal(np.log(0.45), 0.8, n), 2), np.nan)
    itd_ar = np.clip(itd_ar, 0.01, 20)
    labs = _labs(cls, genes, ontogeny, age, rng)
    # risk from the *true* genetics drives the course; the recorded risk uses the site's tests
    truth = pd.DataFrame({**kar, **genes, "flt3_itd_ar": itd_ar, "tp53_vaf": tp53_vaf})
    true_risk = eln2022(truth).fillna("favorable").to_numpy(dtype=object)  # APL courses good
    course = _outcomes(
        age.astype(float), labs["ecog"], true_risk, cls, genes["tp53"], labs["wbc"], profile, rng
    )
    cols: dict[str, object] = {
        "patient_id": [f"AML-{site:02d}-{i + 1:05d}" for i in range(n)],
        "age": age,
        "sex": sex,
        "aml_type": ontogeny,
        "prior_neoplasm": _na(prior, prior == ""),
        **labs,
        **_follow_up(course, age, profile, rng),
        "flt3_itd_ar": _na(itd_ar, ~genes["flt3_itd"]),
        "tp53_vaf": _na(tp53_vaf, np.isnan(tp53_vaf)),
        **kar,
        **genes,
    }
    df = _mask_site(_typed(cols, dictionary, n), profile, rng)
    df["eln2022"] = eln2022(df)
    df["eln2017"] = eln2017(df)
    df["who2022"] = who2022(df)
    df["icc2022"] = icc2022(df)
    return round_to_dictionary(df, dictionary)[list(dictionary.columns)]


def _na(values, missing) -> pd.Series:
    s = pd.Series(values)
    return s.where(~np.asarray(missing, dtype=bool))


def _typed(cols: dict, dictionary, n: int) -> pd.DataFrame:
    out = {"patient_id": pd.Series(cols["patient_id"], dtype="string")}
    for var in dictionary.variables:
        if var.name in ("eln2022", "eln2017", "who2022", "icc2022"):
            out[var.name] = pd.Series([pd.NA] * n, dtype="string")
            continue
        values = cols[var.name]
        s = values if isinstance(values, pd.Series) else pd.Series(values)
        s = s.reset_index(drop=True)
        dtype = typed_dtype(var)
        if dtype == "Int64":
            s = pd.to_numeric(s).round().astype("Int64")
        elif dtype == "datetime64[ns]":
            s = pd.to_datetime(s).astype("datetime64[ns]")
        elif dtype == "string":
            s = s.astype("string")
        else:
            s = s.astype(dtype)
        out[var.name] = s
    return pd.DataFrame(out)


# Karyotype failure: a fusion screen (RT-PCR/FISH) still reports these; a KMT2A break-apart
# probe finds the rearrangement but not its partner, so t(9;11) is then unknown.
FUSION_SCREEN = ("t_15_17", "t_8_21", "inv16_t16_16", "t_9_22", "kmt2a_r")


def _mask_site(df: pd.DataFrame, profile: AmlSiteProfile, rng) -> pd.DataFrame:
    """Structured and random missingness: gene panel, karyotype failure, unrecorded items."""
    n = len(df)
    df = df.copy()
    if profile.panel is not None:
        for g in GENE_COLUMNS:
            if g not in profile.panel:
                df[g] = pd.Series([pd.NA] * n, dtype="boolean")
    df.loc[df["tp53"].isna(), "tp53_vaf"] = pd.NA
    failed = rng.random(n) < profile.karyotype_failure
    for k in KARYOTYPE_COLUMNS:
        if k not in FUSION_SCREEN:
            df.loc[failed, k] = pd.NA
    df.loc[failed & ~df["kmt2a_r"].astype(bool), "t_9_11"] = False
    unrecorded = (
        ("ldh", 0.08),
        ("pb_blasts", 0.05),
        ("splenomegaly", 0.10),
        ("extramedullary", 0.10),
        ("ecog", 0.07),
    )
    for col, p in unrecorded:
        df.loc[rng.random(n) < p, col] = pd.NA
    history = rng.random(n) < 0.02  # ontogeny unrecorded, prior neoplasm with it
    df.loc[history, ["aml_type", "prior_neoplasm"]] = pd.NA
    return df


_AML = load_dictionary("aml")
GENE_COLUMNS = tuple(
    v.name
    for v in _AML.variables
    if v.group == "mutations" and v.name not in ("flt3_itd_ar", "tp53_vaf")
)
KARYOTYPE_COLUMNS = tuple(v.name for v in _AML.variables if v.group == "karyotype")
