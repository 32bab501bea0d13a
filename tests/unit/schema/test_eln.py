"""ELN 2017/2022 risk and WHO/ICC 2022 class on hand-written profiles from the published tables.

Döhner et al., Blood 2022, Table 6 and Blood 2017, Table 5; Khoury et al., Leukemia 2022
(WHO 2022); Arber et al., Blood 2022 (ICC). Footnotes as summarised in
../shared/notes/clinical_facts.md section A1; the decisions where the tables are silent
are documented in docs/simulator_aml.md ("Classification rules").
"""

from __future__ import annotations

import pandas as pd
import pytest

from synthema.schema import VariableType, load_dictionary, typed_dtype
from synthema.schema.eln import LESION_CHROMOSOMES, eln2017, eln2022, icc2022, who2022

D = load_dictionary("aml")
FLAGS = [
    v.name
    for v in D.variables
    if v.group in ("karyotype", "mutations") and v.type is VariableType.BOOLEAN
]

# (case, flags set, FLT3-ITD allelic ratio, ELN 2022, ELN 2017)
CASES = [
    ("t(8;21) with KIT", {"t_8_21", "kit"}, None, "favorable", "favorable"),
    ("inv(16) with FLT3-ITD", {"inv16_t16_16", "flt3_itd"}, 0.9, "favorable", "favorable"),
    ("NPM1 alone", {"npm1"}, None, "favorable", "favorable"),
    ("NPM1 + ITD low", {"npm1", "flt3_itd"}, 0.3, "intermediate", "favorable"),
    ("NPM1 + ITD high", {"npm1", "flt3_itd"}, 0.8, "intermediate", "intermediate"),
    ("NPM1 + complex karyotype", {"npm1", "complex"}, None, "adverse", "adverse"),
    ("NPM1 + ASXL1 (MR gene with favorable)", {"npm1", "asxl1"}, None, "favorable", "favorable"),
    # item 7: Table 6 puts "mutated NPM1 with FLT3-ITD" in intermediate without the
    # "(without adverse-risk genetic lesions)" proviso it gives wild-type NPM1
    (
        "NPM1 + ITD + SRSF2 (intermediate, Table 6 wording)",
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
    # item 7: a complex karyotype excludes class-defining lesions such as t(9;11)
    # (ELN 2017 Table 5 footnote; ELN 2022 footnote); Stölzel et al., Blood Cancer J 2016:
    # t(9;11) is intermediate whatever the number of additional aberrations
    ("t(9;11) + 3 abnormalities", {"t_9_11", "kmt2a_r", "complex"}, None, "intermediate",
     "intermediate"),
    # item 7 decision: -7 is an adverse lesion of its own; the precedence footnote covers
    # concurrent adverse *gene mutations* only
    ("t(9;11) + -7", {"t_9_11", "kmt2a_r", "mono7"}, None, "adverse", "adverse"),
    ("other KMT2A rearrangement", {"kmt2a_r"}, None, "adverse", "adverse"),
    ("TP53", {"tp53"}, None, "adverse", "adverse"),
    ("-7", {"mono7"}, None, "adverse", "adverse"),
    ("-5/del(5q)", {"minus5_5q"}, None, "adverse", "adverse"),
    ("-17/abn(17p)", {"mono17_17p"}, None, "adverse", "adverse"),
    ("t(6;9)", {"t_6_9"}, None, "adverse", "adverse"),
    ("t(9;22)", {"t_9_22"}, None, "adverse", "adverse"),
    ("inv(3)", {"inv3_t3_3"}, None, "adverse", "adverse"),
    # item 1: t(3q26.2;v)/MECOM-rearranged is adverse in ELN 2022, not listed in 2017
    ("t(3;21)(q26.2;q22.1) MECOM::RUNX1", {"mecom_r_other", "abn3q_other"}, None, "adverse",
     "intermediate"),
    ("monosomal karyotype", {"monosomal"}, None, "adverse", "adverse"),
    ("t(8;16): new in 2022", {"t_8_16"}, None, "adverse", "intermediate"),
    ("BCOR: MR gene new in 2022", {"bcor"}, None, "adverse", "intermediate"),
    ("RUNX1", {"runx1"}, None, "adverse", "adverse"),
    ("+8 alone", {"plus8_8q"}, None, "intermediate", "intermediate"),
    ("normal karyotype, no mutation", {"normal_karyotype"}, None, "intermediate", "intermediate"),
    ("APL is not classified", {"t_15_17", "flt3_itd"}, 0.9, None, None),
]


def _frame(cases) -> pd.DataFrame:
    rows = []
    for _, on, ar, _, _ in cases:
        row = {f: (f in on) for f in FLAGS}
        row["flt3_itd_ar"] = ar
        rows.append(row)
    df = pd.DataFrame(rows)
    return df.astype({f: "boolean" for f in FLAGS} | {"flt3_itd_ar": "Float64"})


def _value(x):
    return None if pd.isna(x) else x


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_eln_tables(case):
    # Setup
    df = _frame([case])
    # Run
    r22, r17 = eln2022(df).iloc[0], eln2017(df).iloc[0]
    # Assert
    assert _value(r22) == case[3]
    assert _value(r17) == case[4]


def test_dictionary_rules_agree_with_derivation():
    # Every hand-written case, with its derived risk filled in, satisfies the dictionary's
    # ELN rules; flipping the risk violates at least one of them.
    rules = [r for r in D.rules if r.name.startswith(("eln2022", "eln2017"))]
    df = _frame(CASES)
    df["eln2022"] = eln2022(df)
    df["eln2017"] = eln2017(df)
    df["sex"] = pd.array(["M"] * len(df), dtype="string")
    ords = D.ordinals
    for rule in rules:
        assert not (rule.evaluate(df, ordinals=ords) == False).any(), rule.name  # noqa: E712
    flipped = df.copy()
    swap = {"favorable": "adverse", "adverse": "favorable", "intermediate": "adverse"}
    flipped["eln2022"] = flipped["eln2022"].map(swap, na_action="ignore").astype("string")
    broken = pd.concat([r.evaluate(flipped, ordinals=ords) == False for r in rules], axis=1)  # noqa: E712
    assert broken.fillna(False).any(axis=1).sum() >= len(df) - 3


# ---- whole patient profiles: every dictionary column, consistent karyotype flags ---------
def _profile(on=(), *, untested=(), karyotype=None, **values) -> pd.DataFrame:
    """One patient: flags in ``on`` set (with their chromosomes), others tested negative.

    ``untested`` columns are missing; ``karyotype`` = (abnormalities, autosomal monosomies).
    """
    row: dict[str, object] = {v: None for v in D.names}
    row.update({f: f in on for f in FLAGS})
    for lesion in on:
        for c in LESION_CHROMOSOMES.get(lesion, ()):
            row[f"chr_{c}"] = True
    row["normal_karyotype"] = not any(row[f"chr_{c}"] for c in (*map(str, range(1, 23)), "x", "y"))
    if karyotype is not None:
        row["karyotype_abnormalities"], row["autosomal_monosomies"] = karyotype
    row.update(values)
    for name in untested:
        row[name] = None
    df = pd.DataFrame([row])
    return df.astype({v.name: typed_dtype(v) for v in D.variables})


def _violated(df: pd.DataFrame) -> set[str]:
    results = D.evaluate_rules(df)
    return {name for name in results.columns if (results[name] == False).any()}  # noqa: E712


def _classes(df):
    return (_value(eln2022(df).iloc[0]), _value(eln2017(df).iloc[0]),
            who2022(df).iloc[0], icc2022(df).iloc[0])


def test_item1_mecom_rearrangement_other_than_inv3_is_adverse_and_mecom_r():
    # Setup: 46,XY,t(3;21)(q26.2;q22.1) MECOM::RUNX1, no mutation. ELN 2022 Table 6 lists
    # t(3q26.2;v)/MECOM(EVI1)-rearranged as adverse; WHO 2022 "AML with MECOM
    # rearrangement"; ICC "AML with other MECOM rearrangements".
    df = _profile({"mecom_r_other", "abn3q_other", "chr_21"}, karyotype=(1, 0))
    # Run / Assert
    assert _classes(df) == ("adverse", "intermediate", "mecom_r", "mecom_r")
    df[["eln2022", "eln2017", "who2022", "icc2022"]] = ["adverse", "intermediate", "mecom_r",
                                                        "mecom_r"]
    assert _violated(df) == set()
    df["eln2022"] = "intermediate"  # what the old derivation gave
    assert "eln2022_adverse_cytogenetics" in _violated(df)


@pytest.mark.parametrize(
    ("lesions", "karyotype", "icc"),
    [
        ({"plus8_8q"}, (1, 0), "mr_cyto"),  # 47,XY,+8: ICC lists +8
        ({"mono20_20q"}, (1, 0), "mr_cyto"),  # 46,XX,del(20q): ICC lists del(20q)
        ({"mono20_20q", "mono20"}, (1, 1), "nos"),  # 45,XX,-20: a loss, not del(20q)
    ],
)
def test_item2_icc_counts_trisomy_8_and_del20q_as_myelodysplasia_related(lesions, karyotype, icc):
    # Setup: no MR gene, no TP53. WHO 2022 AML-MR cytogenetics exclude +8 and del(20q);
    # ICC 2022 (Arber et al., Table: AML with MR cytogenetic abnormalities) include them.
    df = _profile(lesions, karyotype=karyotype, aml_type="de_novo")
    # Run / Assert
    assert _classes(df) == ("intermediate", "intermediate", "by_differentiation", icc)
    df[["eln2022", "eln2017", "who2022", "icc2022"]] = _classes(df)
    assert _violated(df) == set()


@pytest.mark.parametrize(
    ("aml_type", "prior", "who"),
    [
        ("secondary", "mds", "mr"),  # WHO 2022: AML after MDS is AML-MR by history
        ("secondary", "mds_mpn", "mr"),  # ... and after MDS/MPN
        ("secondary", "mpn", "mpn_blast_phase"),  # after an MPN: blast phase of the MPN
        ("secondary", None, "by_differentiation"),  # type unknown: from the tests done
        ("therapy_related", "mds", "mr"),  # t-MDS -> AML: AML-MR post cytotoxic therapy
        ("de_novo", None, "by_differentiation"),
    ],
)
def test_item3_who_ontogeny_needs_the_prior_neoplasm_type(aml_type, prior, who):
    # Setup: normal karyotype, no mutation (ICC uses history only as a qualifier: NOS)
    df = _profile(karyotype=(0, 0), aml_type=aml_type, prior_neoplasm=prior)
    # Run / Assert
    assert _classes(df) == ("intermediate", "intermediate", who, "nos")
    df[["eln2022", "eln2017", "who2022", "icc2022"]] = _classes(df)
    assert _violated(df) == set()


def test_item3_aml_after_mpn_is_not_aml_mr():
    # Setup: the old derivation called every "secondary" AML-MR
    df = _profile(karyotype=(0, 0), aml_type="secondary", prior_neoplasm="mpn",
                  eln2022="intermediate", eln2017="intermediate", who2022="mr", icc2022="nos")
    # Run / Assert
    assert {"who2022_mpn_blast_phase"} <= _violated(df)


def test_item4_deletions_are_not_a_monosomal_karyotype():
    # Setup: 46,XY,del(12p),del(20q) -- two deletions, no monosomy (Breems et al., JCO
    # 2008; ELN 2017 Table 5 footnote)
    df = _profile({"mono12_12p", "mono20_20q"}, karyotype=(2, 0), aml_type="de_novo")
    # Run / Assert: del(12p) is myelodysplasia-related in WHO and ICC, del(20q) in ICC
    assert _classes(df) == ("intermediate", "intermediate", "mr", "mr_cyto")
    df[["eln2022", "eln2017", "who2022", "icc2022"]] = _classes(df)
    assert _violated(df) == set()
    df["monosomal"] = True  # what the old flags allowed
    assert "karyotype_monosomal" in _violated(df)


def test_item4_two_monosomies_without_a_flag_of_their_own_are_monosomal():
    # Setup: 44,XY,-13,-21: two autosomal monosomies -> monosomal karyotype -> adverse
    df = _profile({"monosomal", "chr_13", "chr_21"}, karyotype=(2, 2), aml_type="de_novo")
    # Run / Assert
    assert _classes(df)[:2] == ("adverse", "adverse")
    df[["eln2022", "eln2017", "who2022", "icc2022"]] = _classes(df)
    assert _violated(df) == set()  # the old rule wanted one of -5/-7/-12/-17/-18/-20/-4
    df["monosomal"] = False
    df[["eln2022", "eln2017"]] = _classes(df)[:2]
    assert "karyotype_monosomal_two" in _violated(df)


def test_item4_monosomal_karyotype_is_inferred_from_the_counts_when_not_coded():
    # Setup: a site that codes the counts but not the monosomal flag
    two = _profile({"chr_13", "chr_21"}, karyotype=(2, 2), untested=("monosomal",))
    none = _profile({"plus8_8q", "del9q"}, karyotype=(2, 0), untested=("monosomal",))
    # Run / Assert
    assert _value(eln2022(two).iloc[0]) == "adverse"
    assert _value(eln2022(none).iloc[0]) == "intermediate"


def test_item7_kmt2a_break_apart_with_unknown_partner_is_not_assessable():
    # Setup: FISH shows a KMT2A rearrangement, the karyotype failed: the partner could be
    # MLLT3 (t(9;11), intermediate) or another (adverse)
    karyotype = [v.name for v in D.variables if v.group == "karyotype"]
    failed = [k for k in karyotype if k not in ("kmt2a_r", "t_15_17", "t_8_21", "inv16_t16_16",
                                                  "t_9_22")]
    unknown = _profile({"kmt2a_r"}, untested=failed)
    chr9_normal = _profile({"kmt2a_r"}, untested=("t_9_11",))  # karyotype: chromosome 9 normal
    other = _profile({"kmt2a_r", "chr_6"})  # t(6;11): partner known
    # Run / Assert
    assert _classes(unknown)[:2] == ("not_assessable", "not_assessable")
    assert _classes(chr9_normal)[:2] == ("adverse", "adverse")
    assert _classes(other)[:2] == ("adverse", "adverse")


def test_item7_a_panel_without_mr_genes_makes_the_2022_risk_not_assessable():
    # Setup: normal karyotype, NPM1/FLT3/CEBPA/TP53/RUNX1/ASXL1 wild type, the 7 other MR
    # genes not sequenced (the community panel): intermediate or adverse
    untested = ("bcor", "ezh2", "sf3b1", "srsf2", "stag2", "u2af1", "zrsr2")
    df = _profile(karyotype=(0, 0), untested=untested, aml_type="de_novo")
    # Run / Assert
    assert _value(eln2022(df).iloc[0]) == "not_assessable"
    assert _value(eln2022(df, untested="absent").iloc[0]) == "intermediate"
    assert _value(eln2017(df).iloc[0]) == "intermediate"  # 2017 needs RUNX1 and ASXL1 only
    df[["eln2022", "eln2017", "who2022", "icc2022"]] = _classes(df)
    assert _violated(df) == set()
    df["eln2022"] = "intermediate"  # reported "from the tests done"
    assert _violated(df) == {"eln2022_intermediate_tested"}


def test_item7_untested_flt3_leaves_npm1_not_assessable():
    # Setup: NPM1 mutated, FLT3 not tested: favorable without ITD, intermediate with it
    df = pd.DataFrame(
        {"npm1": pd.array([True], dtype="boolean"), "flt3_itd": pd.array([None], dtype="boolean")}
    )
    # Run / Assert
    assert eln2022(df).iloc[0] == "not_assessable"
    assert eln2022(df, untested="absent").iloc[0] == "favorable"
    with pytest.raises(ValueError, match="untested"):
        eln2022(df, untested="missing")


def test_item7_not_assessable_needs_an_untested_item():
    # Setup: everything tested, risk reported as not assessable
    df = _profile(karyotype=(0, 0), aml_type="de_novo")
    df[["eln2022", "eln2017", "who2022", "icc2022"]] = _classes(df)
    df["eln2022"] = "not_assessable"
    # Run / Assert
    assert _violated(df) == {"eln2022_not_assessable"}


def test_item7_complex_karyotype_counts_abnormalities_not_chromosomes():
    # Setup: 45,XY,-5,-7,+mar: three abnormalities, two identified chromosomes; complex and
    # monosomal (two autosomal monosomies)
    df = _profile({"minus5_5q", "mono5", "mono7", "complex", "monosomal"}, karyotype=(3, 2),
                  aml_type="de_novo")
    df[["eln2022", "eln2017", "who2022", "icc2022"]] = _classes(df)
    # Run / Assert
    assert _classes(df) == ("adverse", "adverse", "mr", "mr_cyto")
    assert _violated(df) == set()  # the old rule wanted three abnormal chromosomes
    df["karyotype_abnormalities"] = 2
    assert "karyotype_complex" in _violated(df)


def test_item7_tp53_below_10_percent_vaf_is_not_the_tp53_flag():
    # Setup: TP53 mutated at VAF 6%, normal karyotype, nothing else. ELN 2022 counts TP53
    # at VAF >= 10% (Table 6 footnote); ELN 2017 had no threshold.
    df = _profile(karyotype=(0, 0), aml_type="de_novo", tp53_vaf=6.0)
    # Run / Assert
    assert _classes(df) == ("intermediate", "adverse", "by_differentiation", "nos")
    df[["eln2022", "eln2017", "who2022", "icc2022"]] = _classes(df)
    assert _violated(df) == set()
    df["tp53"] = True  # a site flagging every TP53 mutation
    assert "tp53_vaf_10" in _violated(df)


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
        ({"inv3_t3_3"}, "de_novo", "mecom_r", "mecom_r"),
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
