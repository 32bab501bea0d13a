"""AML genetic risk (ELN 2017/2022) and classification (WHO/ICC 2022) from the flags.

Works on any frame with the ``aml`` dictionary's flag columns. A flag that is missing
(test not done) counts as not present, which is how a site assigns risk from the tests
it ran. APL (t(15;17)) is not risk-classified and gets NA.

ELN 2022 (Döhner et al., Blood 2022, Table 6) is applied in this order; the first match
wins. The order encodes the table's footnotes: NPM1 with adverse cytogenetics is
adverse; t(9;11) takes precedence over rare concurrent adverse gene mutations;
myelodysplasia-related (MR) gene mutations are adverse only without favorable genetics;
FLT3-ITD is intermediate whatever its allelic ratio; NPM1 + FLT3-ITD + MR gene stays
intermediate (the table is silent; most implementations do this).

1. t(15;17) -> NA
2. t(8;21) or inv(16)/t(16;16) -> favorable
3. adverse cytogenetics -> adverse
4. t(9;11) -> intermediate
5. TP53 -> adverse
6. NPM1 with FLT3-ITD -> intermediate
7. NPM1 -> favorable
8. in-frame bZIP CEBPA -> favorable
9. MR gene (ASXL1, BCOR, EZH2, RUNX1, SF3B1, SRSF2, STAG2, U2AF1, ZRSR2) -> adverse
10. otherwise -> intermediate (FLT3-ITD without adverse lesions included)

>>> import pandas as pd
>>> df = pd.DataFrame({"npm1": [True, True, False], "flt3_itd": [False, True, True],
...                    "runx1": [True, False, True]})
>>> eln2022(df).tolist()
['favorable', 'intermediate', 'adverse']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CBF = ("t_8_21", "inv16_t16_16")
ADVERSE_CYTOGENETICS_2022 = (
    "t_6_9",
    "t_9_22",
    "t_8_16",
    "inv3_t3_3",
    "minus5_5q",
    "mono7",
    "mono17_17p",
    "complex",
    "monosomal",
)  # plus KMT2A-r other than t(9;11)
ADVERSE_CYTOGENETICS_2017 = (
    "t_6_9",
    "t_9_22",
    "inv3_t3_3",
    "minus5_5q",
    "mono7",
    "mono17_17p",
    "complex",
    "monosomal",
)  # t(8;16) was not in ELN 2017
MR_GENES = ("asxl1", "bcor", "ezh2", "runx1", "sf3b1", "srsf2", "stag2", "u2af1", "zrsr2")
ELN_2017_ADVERSE_GENES = ("runx1", "asxl1")
RISKS = ("favorable", "intermediate", "adverse")


def _flag(df: pd.DataFrame, name: str) -> np.ndarray:
    if name not in df.columns:
        return np.zeros(len(df), dtype=bool)
    return df[name].astype("boolean").fillna(False).to_numpy(dtype=bool)


def _any(df: pd.DataFrame, names: tuple[str, ...]) -> np.ndarray:
    out = np.zeros(len(df), dtype=bool)
    for n in names:
        out |= _flag(df, n)
    return out


def _assign(df: pd.DataFrame, steps: list[tuple[np.ndarray, str | None]]) -> pd.Series:
    result = np.full(len(df), "intermediate", dtype=object)
    decided = np.zeros(len(df), dtype=bool)
    for cond, risk in steps:
        take = cond & ~decided
        result[take] = risk if risk is not None else pd.NA
        decided |= take
    return pd.Series(result, index=df.index, dtype="string")


def _kmt2a_other(df: pd.DataFrame) -> np.ndarray:
    return _flag(df, "kmt2a_r") & ~_flag(df, "t_9_11")


def eln2022(df: pd.DataFrame) -> pd.Series:
    """ELN 2022 genetic risk per row (``string`` dtype; NA for APL)."""
    npm1, itd = _flag(df, "npm1"), _flag(df, "flt3_itd")
    adverse_cyto = _any(df, ADVERSE_CYTOGENETICS_2022) | _kmt2a_other(df)
    return _assign(
        df,
        [
            (_flag(df, "t_15_17"), None),
            (_any(df, CBF), "favorable"),
            (adverse_cyto, "adverse"),
            (_flag(df, "t_9_11"), "intermediate"),
            (_flag(df, "tp53"), "adverse"),
            (npm1 & itd, "intermediate"),
            (npm1, "favorable"),
            (_flag(df, "cebpa_bzip"), "favorable"),
            (_any(df, MR_GENES), "adverse"),
        ],
    )


def eln2017(df: pd.DataFrame) -> pd.Series:
    """ELN 2017 genetic risk per row (Döhner et al., Blood 2017, Table 5; NA for APL).

    FLT3-ITD is 'high' when ``flt3_itd_ar`` >= 0.5; an ITD without a reported ratio is
    taken as high. Order: APL, CBF, adverse cytogenetics, t(9;11), TP53, NPM1 (ITD-high ->
    intermediate, else favorable), biallelic CEBPA, ITD-high with wild-type NPM1 ->
    adverse, RUNX1 or ASXL1 -> adverse, otherwise intermediate.
    """
    npm1, itd = _flag(df, "npm1"), _flag(df, "flt3_itd")
    if "flt3_itd_ar" in df.columns:
        ar = pd.to_numeric(df["flt3_itd_ar"], errors="coerce").astype(float).to_numpy()
        itd_high = itd & ~(ar < 0.5)  # NaN ratio -> high
    else:
        itd_high = itd
    adverse_cyto = _any(df, ADVERSE_CYTOGENETICS_2017) | _kmt2a_other(df)
    return _assign(
        df,
        [
            (_flag(df, "t_15_17"), None),
            (_any(df, CBF), "favorable"),
            (adverse_cyto, "adverse"),
            (_flag(df, "t_9_11"), "intermediate"),
            (_flag(df, "tp53"), "adverse"),
            (npm1 & itd_high, "intermediate"),
            (npm1, "favorable"),
            (_flag(df, "cebpa_biallelic"), "favorable"),
            (itd_high, "adverse"),
            (_any(df, ELN_2017_ADVERSE_GENES), "adverse"),
        ],
    )


def _secondary(df: pd.DataFrame) -> np.ndarray:
    if "aml_type" not in df.columns:
        return np.zeros(len(df), dtype=bool)
    return (df["aml_type"].astype("string") == "secondary").fillna(False).to_numpy(dtype=bool)


WHO_MR_GENES = ("asxl1", "bcor", "ezh2", "sf3b1", "srsf2", "stag2", "u2af1", "zrsr2")
MR_CYTOGENETICS = ("complex", "minus5_5q", "mono7", "del7q", "mono12_12p", "mono17_17p")


def who2022(df: pd.DataFrame) -> pd.Series:
    """WHO 2022 class from the observed flags (first match in the listed order)."""
    conds = [
        (_flag(df, "t_15_17"), "apl_pml_rara"),
        (_flag(df, "t_8_21"), "runx1_runx1t1"),
        (_flag(df, "inv16_t16_16"), "cbfb_myh11"),
        (_flag(df, "t_6_9"), "dek_nup214"),
        (_flag(df, "t_9_22"), "bcr_abl1"),
        (_flag(df, "kmt2a_r"), "kmt2a_r"),
        (_flag(df, "inv3_t3_3"), "mecom_r"),
        (_flag(df, "npm1"), "npm1"),
        (_any(df, ("cebpa_bzip", "cebpa_biallelic")), "cebpa"),
        (
            _any(df, WHO_MR_GENES + MR_CYTOGENETICS)
            | _secondary(df),
            "mr",
        ),
    ]
    return pd.Series(
        np.select([c for c, _ in conds], [v for _, v in conds], "by_differentiation"),
        index=df.index,
        dtype="string",
    )


def icc2022(df: pd.DataFrame) -> pd.Series:
    """ICC 2022 class from the observed flags (first match in the listed order)."""
    conds = [
        (_flag(df, "t_15_17"), "apl"),
        (_flag(df, "t_8_21"), "runx1_runx1t1"),
        (_flag(df, "inv16_t16_16"), "cbfb_myh11"),
        (_flag(df, "t_6_9"), "dek_nup214"),
        (_flag(df, "kmt2a_r"), "kmt2a_r"),
        (_flag(df, "inv3_t3_3"), "mecom_r"),
        (_flag(df, "t_9_22"), "bcr_abl1"),
        (_flag(df, "npm1"), "npm1"),
        (_flag(df, "cebpa_bzip"), "cebpa_bzip"),
        (_flag(df, "tp53"), "tp53"),
        (_any(df, MR_GENES), "mr_gene"),
        (_any(df, MR_CYTOGENETICS), "mr_cyto"),
    ]
    return pd.Series(
        np.select([c for c, _ in conds], [v for _, v in conds], "nos"),
        index=df.index,
        dtype="string",
    )
