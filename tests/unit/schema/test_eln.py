"""ELN 2022 and 2017 risk on hand-written cases from the published tables.

Döhner et al., Blood 2022, Table 6 and Blood 2017, Table 5; footnotes as summarised in
../shared/notes/clinical_facts.md section A1.
"""

from __future__ import annotations

import pandas as pd
import pytest

from synthema.schema import load_dictionary
from synthema.schema.eln import eln2017, eln2022, icc2022, who2022

# (case, flags set, FLT3-ITD allelic ratio, ELN 2022, ELN 2017)
CASES = [
    ("t(8;21) with KIT", {"t_8_21", "kit"}, None, "favorable", "favorable"),
    ("inv(16) with FLT3-ITD", {"inv16_t16_16", "flt3_itd"}, 0.9, "favorable", "favorable"),
    ("NPM1 alone", {"npm1"}, None, "favorable", "favorable"),
    ("NPM1 + ITD low", {"npm1", "flt3_itd"}, 0.3, "intermediate", "favorable"),
    ("NPM1 + ITD high", {"npm1", "flt3_itd"}, 0.8, "intermediate", "intermediate"),
    ("NPM1 + complex karyotype", {"npm1", "complex"}, None, "adverse", "adverse"),
    ("NPM1 + ASXL1 (MR gene with favorable)", {"npm1", "asxl1"}, None, "favorable", "favorable"),
    (
        "NPM1 + ITD + SRSF2 (table silent)",
        {"npm1", "flt3_itd", "srsf2"},
        0.2,
        "intermediate",
        "favorable",
    ),
    ("CEBPA bZIP monoallelic", {"cebpa_bzip"}, None, "favorable", "intermediate"),
    ("CEBPA biallelic, not bZIP", {"cebpa_biallelic"}, None, "intermediate", "favorable"),
    ("CEBPA bZIP + ASXL1", {"cebpa_bzip", "asxl1"}, None, "favorable", "adverse"),
    ("FLT3-ITD high, NPM1 wt", {"flt3_itd"}, 0.8, "intermediate", "adverse"),
    ("FLT3-ITD low, NPM1 wt", {"flt3_itd"}, 0.2, "intermediate", "intermediate"),
    ("FLT3-ITD + RUNX1, NPM1 wt", {"flt3_itd", "runx1"}, 0.2, "adverse", "adverse"),
    ("t(9;11)", {"t_9_11", "kmt2a_r"}, None, "intermediate", "intermediate"),
    ("t(9;11) + ASXL1", {"t_9_11", "kmt2a_r", "asxl1"}, None, "intermediate", "intermediate"),
    ("t(9;11) + TP53", {"t_9_11", "kmt2a_r", "tp53"}, None, "intermediate", "intermediate"),
    ("other KMT2A rearrangement", {"kmt2a_r"}, None, "adverse", "adverse"),
    ("TP53", {"tp53"}, None, "adverse", "adverse"),
    ("-7", {"mono7"}, None, "adverse", "adverse"),
    ("-5/del(5q)", {"minus5_5q"}, None, "adverse", "adverse"),
    ("-17/abn(17p)", {"mono17_17p"}, None, "adverse", "adverse"),
    ("t(6;9)", {"t_6_9"}, None, "adverse", "adverse"),
    ("t(9;22)", {"t_9_22"}, None, "adverse", "adverse"),
    ("inv(3)", {"inv3_t3_3"}, None, "adverse", "adverse"),
    ("monosomal karyotype", {"monosomal"}, None, "adverse", "adverse"),
    ("t(8;16): new in 2022", {"t_8_16"}, None, "adverse", "intermediate"),
    ("BCOR: MR gene new in 2022", {"bcor"}, None, "adverse", "intermediate"),
    ("RUNX1", {"runx1"}, None, "adverse", "adverse"),
    ("+8 alone", {"plus8_8q"}, None, "intermediate", "intermediate"),
    ("normal karyotype, no mutation", {"normal_karyotype"}, None, "intermediate", "intermediate"),
    ("APL is not classified", {"t_15_17", "flt3_itd"}, 0.9, None, None),
]


def _frame(cases) -> pd.DataFrame:
    d = load_dictionary("aml")
    flags = [
        v.name
        for v in d.variables
        if v.group in ("karyotype", "mutations") and v.name != "flt3_itd_ar"
    ]
    rows = []
    for _, on, ar, _, _ in cases:
        row = {f: (f in on) for f in flags}
        row["flt3_itd_ar"] = ar
        rows.append(row)
    df = pd.DataFrame(rows)
    return df.astype({f: "boolean" for f in flags} | {"flt3_itd_ar": "Float64"})


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_eln_tables(case):
    # Setup
    df = _frame([case])
    # Run
    r22, r17 = eln2022(df).iloc[0], eln2017(df).iloc[0]
    # Assert
    assert (None if pd.isna(r22) else r22) == case[3]
    assert (None if pd.isna(r17) else r17) == case[4]


def test_untested_gene_counts_as_not_found():
    # Setup: NPM1 mutated, FLT3 not tested
    df = pd.DataFrame(
        {"npm1": pd.array([True], dtype="boolean"), "flt3_itd": pd.array([None], dtype="boolean")}
    )
    # Run / Assert
    assert eln2022(df).iloc[0] == "favorable"


def test_dictionary_rules_agree_with_derivation():
    # Every hand-written case, with its derived risk filled in, satisfies the dictionary's
    # ELN rules; flipping the risk violates at least one of them.
    d = load_dictionary("aml")
    rules = [r for r in d.rules if r.name.startswith(("eln2022", "eln2017"))]
    df = _frame(CASES)
    df["eln2022"] = eln2022(df)
    df["eln2017"] = eln2017(df)
    df["sex"] = pd.array(["M"] * len(df), dtype="string")
    ords = d.ordinals
    for rule in rules:
        assert not (rule.evaluate(df, ordinals=ords) == False).any(), rule.name  # noqa: E712
    flipped = df.copy()
    swap = {"favorable": "adverse", "adverse": "favorable", "intermediate": "adverse"}
    flipped["eln2022"] = flipped["eln2022"].map(swap, na_action="ignore").astype("string")
    broken = pd.concat([r.evaluate(flipped, ordinals=ords) == False for r in rules], axis=1)  # noqa: E712
    assert broken.fillna(False).any(axis=1).sum() >= len(df) - 3


@pytest.mark.parametrize(
    ("flags", "aml_type", "who", "icc"),
    [
        ({"t_15_17"}, "de_novo", "apl_pml_rara", "apl"),
        ({"t_8_21", "kit"}, "de_novo", "runx1_runx1t1", "runx1_runx1t1"),
        ({"t_9_11", "kmt2a_r"}, "de_novo", "kmt2a_r", "kmt2a_r"),
        ({"npm1", "asxl1"}, "de_novo", "npm1", "npm1"),
        ({"cebpa_bzip"}, "de_novo", "cebpa", "cebpa_bzip"),
        ({"cebpa_biallelic"}, "de_novo", "cebpa", "nos"),  # ICC needs in-frame bZIP
        ({"tp53", "complex"}, "de_novo", "mr", "tp53"),  # ICC: TP53 before MR
        ({"runx1"}, "de_novo", "by_differentiation", "mr_gene"),  # RUNX1: MR gene in ICC only
        ({"srsf2"}, "de_novo", "mr", "mr_gene"),
        ({"mono7"}, "de_novo", "mr", "mr_cyto"),
        (set(), "secondary", "mr", "nos"),  # WHO: history of MDS defines AML-MR
        (set(), "de_novo", "by_differentiation", "nos"),
    ],
)
def test_who_and_icc_2022(flags, aml_type, who, icc):
    # Setup
    df = _frame([("", flags, None, None, None)])
    df["aml_type"] = pd.array([aml_type], dtype="string")
    # Run / Assert
    assert who2022(df).iloc[0] == who
    assert icc2022(df).iloc[0] == icc
