"""AML genetic risk (ELN 2017/2022) and classification (WHO/ICC 2022) from the flags.

Works on any frame with the ``aml`` dictionary's columns. Sources, decisions and the
patient profiles that pin them are in docs/simulator_aml.md ("Classification rules").

**Untested items.** A missing value means the test was not done (a gene off the site's
panel, a failed karyotype). By default (``untested="unknown"``) ELN risk is computed for
every way the untested items could have come out: when all give the same risk, that is
the risk; when they do not, the risk is ``"not_assessable"`` (e.g. NPM1-wild-type,
no other lesion, but 7 of the 9 myelodysplasia-related genes not sequenced: intermediate
or adverse). A karyotype lesion flag that is missing is still known to be absent when
the karyotype is normal or one of the lesion's chromosomes is known normal; ``complex``
and ``monosomal`` fall back on the abnormality counts. ``untested="absent"`` counts every
missing item as not found, which is what a site does when it reports the risk "from the
tests done". APL (t(15;17)) is not risk-classified and gets NA.

ELN 2022 (Döhner et al., Blood 2022, Table 6) is applied in this order; the first match
wins. The order encodes the table and its footnotes: NPM1 with adverse cytogenetics is
adverse; t(9;11) takes precedence over concurrent adverse gene mutations and is not
counted in a complex karyotype (class-defining lesion); myelodysplasia-related (MR)
gene mutations are adverse only without favorable genetics; FLT3-ITD is intermediate
whatever its allelic ratio; NPM1 + FLT3-ITD + MR gene stays intermediate (the table
puts "mutated NPM1 with FLT3-ITD" in intermediate with no exception).

1. t(15;17) -> NA
2. t(8;21) or inv(16)/t(16;16) -> favorable
3. adverse cytogenetics -> adverse (t(6;9), KMT2A-r other than t(9;11), t(9;22),
   t(8;16), inv(3)/t(3;3), other t(3q26.2;v)/MECOM-r, -5/del(5q), -7, -17/abn(17p),
   complex karyotype without t(9;11), monosomal karyotype)
4. t(9;11) -> intermediate
5. TP53 (VAF >= 10%) -> adverse
6. NPM1 with FLT3-ITD -> intermediate
7. NPM1 -> favorable
8. in-frame bZIP CEBPA -> favorable
9. MR gene (ASXL1, BCOR, EZH2, RUNX1, SF3B1, SRSF2, STAG2, U2AF1, ZRSR2) -> adverse
10. otherwise -> intermediate (FLT3-ITD without adverse lesions included)

>>> import pandas as pd
>>> df = pd.DataFrame({"npm1": [True, True, False], "flt3_itd": [False, True, True],
...                    "runx1": [True, False, True]})
>>> eln2022(df, untested="absent").tolist()
['favorable', 'intermediate', 'adverse']
>>> eln2022(df).tolist()  # karyotype, TP53 and the other genes were not tested
['not_assessable', 'not_assessable', 'not_assessable']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

Untested = Literal["unknown", "absent"]

CBF = ("t_8_21", "inv16_t16_16")
MR_GENES = ("asxl1", "bcor", "ezh2", "runx1", "sf3b1", "srsf2", "stag2", "u2af1", "zrsr2")
ELN_2017_ADVERSE_GENES = ("runx1", "asxl1")
RISKS = ("favorable", "intermediate", "adverse")
NOT_ASSESSABLE = "not_assessable"
TP53_VAF_CUTOFF = 10.0  # percent; ELN 2022 footnote and ICC "AML with mutated TP53"

# Chromosomes each karyotype lesion flag involves: a lesion cannot be present when one
# of them is known normal. Shared with the simulator and the dictionary's rules.
LESION_CHROMOSOMES: dict[str, tuple[str, ...]] = {
    "t_8_21": ("8", "21"),
    "inv16_t16_16": ("16",),
    "t_15_17": ("15", "17"),
    "t_9_11": ("9", "11"),
    "kmt2a_r": ("11",),
    "t_6_9": ("6", "9"),
    "t_9_22": ("9", "22"),
    "t_8_16": ("8", "16"),
    "inv3_t3_3": ("3",),
    "mecom_r_other": ("3",),
    "abn3q_other": ("3",),
    "minus5_5q": ("5",),
    "mono5": ("5",),
    "mono7": ("7",),
    "del7q": ("7",),
    "other7": ("7",),
    "plus8_8q": ("8",),
    "del9q": ("9",),
    "plus11_11q": ("11",),
    "mono12_12p": ("12",),
    "mono12": ("12",),
    "plus13": ("13",),
    "mono17_17p": ("17",),
    "mono17": ("17",),
    "mono18_18q": ("18",),
    "mono18": ("18",),
    "mono20_20q": ("20",),
    "mono20": ("20",),
    "plus21": ("21",),
    "plus22": ("22",),
    "mono_y": ("y",),
    "mono4_4q": ("4",),
    "mono4": ("4",),
}
CHROMOSOMES = tuple(str(i) for i in range(1, 23)) + ("x", "y")
# Whole-chromosome monosomy flag -> the flag that also counts deletions of that chromosome.
TRUE_MONOSOMY_OF = {
    "mono5": "minus5_5q",
    "mono12": "mono12_12p",
    "mono17": "mono17_17p",
    "mono18": "mono18_18q",
    "mono20": "mono20_20q",
    "mono4": "mono4_4q",
}


@dataclass(frozen=True)
class _Tri:
    """A true/false/unknown condition per row: ``yes`` known true, ``maybe`` not known false."""

    yes: np.ndarray
    maybe: np.ndarray

    def __and__(self, other: _Tri) -> _Tri:
        return _Tri(self.yes & other.yes, self.maybe & other.maybe)

    def __or__(self, other: _Tri) -> _Tri:
        return _Tri(self.yes | other.yes, self.maybe | other.maybe)

    def __invert__(self) -> _Tri:
        return _Tri(~self.maybe, ~self.yes)


def _any(tris: list[_Tri]) -> _Tri:
    out = tris[0]
    for t in tris[1:]:
        out = out | t
    return out


class _Genetics:
    """Reads the flags of one frame as true/false/unknown, karyotype logic included."""

    def __init__(self, df: pd.DataFrame, untested: Untested) -> None:
        if untested not in ("unknown", "absent"):
            raise ValueError(f"untested must be 'unknown' or 'absent', not {untested!r}")
        self.df = df
        self.n = len(df)
        self.unknown = untested == "unknown"
        self._cache: dict[str, _Tri] = {}

    def _raw(self, name: str) -> _Tri:
        if name not in self.df.columns:
            known = np.zeros(self.n, dtype=bool)
            return _Tri(known, np.full(self.n, self.unknown))
        s = self.df[name].astype("boolean")
        yes = s.fillna(False).to_numpy(dtype=bool)
        maybe = s.fillna(self.unknown).to_numpy(dtype=bool)
        return _Tri(yes, maybe)

    def _count(self, name: str) -> np.ndarray:
        if name not in self.df.columns:
            return np.full(self.n, np.nan)
        return pd.to_numeric(self.df[name], errors="coerce").astype(float).to_numpy()

    def normal_karyotype(self) -> np.ndarray:
        """Rows whose karyotype is known normal (flag, count or all chromosome flags)."""
        normal = self._raw("normal_karyotype").yes | (self._count("karyotype_abnormalities") == 0)
        chrom = [self._raw(f"chr_{c}") for c in CHROMOSOMES]
        return normal | np.all([~t.maybe for t in chrom], axis=0)

    def __call__(self, name: str) -> _Tri:
        if name not in self._cache:
            self._cache[name] = self._read(name)
        return self._cache[name]

    def _read(self, name: str) -> _Tri:
        """A recorded value is kept; a missing karyotype item is inferred where it can be."""
        t = self._raw(name)
        if not self.unknown or not (name in ("complex", "monosomal") or name in LESION_CHROMOSOMES):
            return t
        missing = t.maybe & ~t.yes
        ruled_out = self.normal_karyotype()
        for c in LESION_CHROMOSOMES.get(name, ()):
            ruled_out |= ~self._raw(f"chr_{c}").maybe
        if name in TRUE_MONOSOMY_OF:  # no -5 without "-5 or del(5q)"
            ruled_out |= ~self._raw(TRUE_MONOSOMY_OF[name]).maybe
        abn = self._count("karyotype_abnormalities")
        mono = self._count("autosomal_monosomies")
        shown = np.zeros(self.n, dtype=bool)
        if name == "complex":
            ruled_out |= abn < 3
        if name == "monosomal":  # >= 2 autosomal monosomies, or 1 + a structural change
            ruled_out |= (mono == 0) | (abn <= 1)
            shown = (mono >= 2) & ~self.any(CBF).maybe
        return _Tri(t.yes | (missing & shown & ~ruled_out), t.yes | (missing & ~ruled_out))

    def any(self, names: tuple[str, ...]) -> _Tri:
        return _any([self(n) for n in names])

    def tp53_any_vaf(self) -> _Tri:
        """A TP53 mutation at any VAF (ELN 2017 sets no threshold)."""
        vaf = self._count("tp53_vaf")
        below = (vaf > 0) & (vaf < TP53_VAF_CUTOFF)
        t = self("tp53")
        return _Tri(t.yes | below, t.maybe | below)


def _resolve(g: _Genetics, steps: list[tuple[_Tri, str | None]], index: pd.Index) -> pd.Series:
    """First matching step wins; a row whose possible outcomes differ is not assessable."""
    outcomes = [None, *RISKS]
    possible = np.zeros(g.n, dtype=np.int64)  # bit k: outcome k is possible
    alive = np.ones(g.n, dtype=bool)  # no earlier step is known to match
    for cond, risk in [*steps, (_Tri(np.ones(g.n, bool), np.ones(g.n, bool)), "intermediate")]:
        possible |= np.where(alive & cond.maybe, 1 << outcomes.index(risk), 0)
        alive &= ~cond.yes
    result = np.full(g.n, NOT_ASSESSABLE, dtype=object)
    for k, risk in enumerate(outcomes):
        result[possible == (1 << k)] = pd.NA if risk is None else risk
    return pd.Series(result, index=index, dtype="string")


def _adverse_cytogenetics(g: _Genetics, *, eln2022: bool) -> _Tri:
    t911 = g("t_9_11")
    lesions = ["t_6_9", "t_9_22", "inv3_t3_3", "minus5_5q", "mono7", "mono17_17p", "monosomal"]
    if eln2022:
        lesions += ["t_8_16", "mecom_r_other"]
    # a complex karyotype excludes class-defining lesions such as t(9;11)
    return g.any(tuple(lesions)) | (g("kmt2a_r") & ~t911) | (g("complex") & ~t911)


def eln2022(df: pd.DataFrame, *, untested: Untested = "unknown") -> pd.Series:
    """ELN 2022 genetic risk per row (``string`` dtype; NA for APL).

    Args:
        df: flags of the ``aml`` dictionary (missing = not tested).
        untested: ``"unknown"`` (risk only where the untested items cannot change it,
            else ``"not_assessable"``) or ``"absent"`` (untested counts as not found).
    """
    g = _Genetics(df, untested)
    npm1 = g("npm1")
    return _resolve(
        g,
        [
            (g("t_15_17"), None),
            (g.any(CBF), "favorable"),
            (_adverse_cytogenetics(g, eln2022=True), "adverse"),
            (g("t_9_11"), "intermediate"),
            (g("tp53"), "adverse"),
            (npm1 & g("flt3_itd"), "intermediate"),
            (npm1, "favorable"),
            (g("cebpa_bzip"), "favorable"),
            (g.any(MR_GENES), "adverse"),
        ],
        df.index,
    )


def eln2017(df: pd.DataFrame, *, untested: Untested = "unknown") -> pd.Series:
    """ELN 2017 genetic risk per row (Döhner et al., Blood 2017, Table 5; NA for APL).

    FLT3-ITD is 'high' when ``flt3_itd_ar`` >= 0.5; an ITD without a reported ratio is
    taken as high. TP53 counts at any VAF (2017 set no threshold). Order: APL, CBF,
    adverse cytogenetics, t(9;11), TP53, NPM1 (ITD-high -> intermediate, else
    favorable), biallelic CEBPA, ITD-high with wild-type NPM1 -> adverse, RUNX1 or
    ASXL1 -> adverse, otherwise intermediate. ``untested`` as in :func:`eln2022`.
    """
    g = _Genetics(df, untested)
    npm1, itd = g("npm1"), g("flt3_itd")
    ar = g._count("flt3_itd_ar")
    low = ar < 0.5  # NaN ratio -> high
    itd_high = _Tri(itd.yes & ~low, itd.maybe & ~low)
    return _resolve(
        g,
        [
            (g("t_15_17"), None),
            (g.any(CBF), "favorable"),
            (_adverse_cytogenetics(g, eln2022=False), "adverse"),
            (g("t_9_11"), "intermediate"),
            (g.tp53_any_vaf(), "adverse"),
            (npm1 & itd_high, "intermediate"),
            (npm1, "favorable"),
            (g("cebpa_biallelic"), "favorable"),
            (itd_high, "adverse"),
            (g.any(ELN_2017_ADVERSE_GENES), "adverse"),
        ],
        df.index,
    )


# ---- WHO / ICC 2022 ---------------------------------------------------------------------
# Classes follow the tests done: a flag that is missing counts as not found.


def _flag(df: pd.DataFrame, name: str) -> np.ndarray:
    if name not in df.columns:
        return np.zeros(len(df), dtype=bool)
    return df[name].astype("boolean").fillna(False).to_numpy(dtype=bool)


def _flags(df: pd.DataFrame, names: tuple[str, ...]) -> np.ndarray:
    out = np.zeros(len(df), dtype=bool)
    for n in names:
        out |= _flag(df, n)
    return out


def _prior(df: pd.DataFrame, kinds: tuple[str, ...]) -> np.ndarray:
    if "prior_neoplasm" not in df.columns:
        return np.zeros(len(df), dtype=bool)
    return df["prior_neoplasm"].astype("string").isin(kinds).fillna(False).to_numpy(dtype=bool)


WHO_MR_GENES = ("asxl1", "bcor", "ezh2", "sf3b1", "srsf2", "stag2", "u2af1", "zrsr2")
# WHO 2022 AML-MR cytogenetics (Khoury et al. 2022) that the flags can show; del(11q),
# -13/del(13q) and idic(X)(q13) have no flag of their own.
WHO_MR_CYTOGENETICS = ("complex", "minus5_5q", "mono7", "del7q", "mono12_12p", "mono17_17p")
# ICC 2022 (Arber et al. 2022) adds +8 and del(20q) and has no del(11q) or -13.
ICC_MR_CYTOGENETICS = WHO_MR_CYTOGENETICS + ("plus8_8q",)


def _del20q(df: pd.DataFrame) -> np.ndarray:
    """del(20q): the "-20 or del(20q)" flag without a whole-chromosome -20."""
    return _flag(df, "mono20_20q") & ~_flag(df, "mono20")


def _mecom(df: pd.DataFrame) -> np.ndarray:
    return _flags(df, ("inv3_t3_3", "mecom_r_other"))


def who2022(df: pd.DataFrame) -> pd.Series:
    """WHO 2022 class from the observed flags (first match in the listed order).

    AML after an MPN stays in the MPN chapter as blast phase (``mpn_blast_phase``)
    unless an AML-defining genetic abnormality names it; after MDS or MDS/MPN it is
    AML-MR by history (``prior_neoplasm``).
    """
    conds = [
        (_flag(df, "t_15_17"), "apl_pml_rara"),
        (_flag(df, "t_8_21"), "runx1_runx1t1"),
        (_flag(df, "inv16_t16_16"), "cbfb_myh11"),
        (_flag(df, "t_6_9"), "dek_nup214"),
        (_flag(df, "t_9_22"), "bcr_abl1"),
        (_flag(df, "kmt2a_r"), "kmt2a_r"),
        (_mecom(df), "mecom_r"),
        (_flag(df, "npm1"), "npm1"),
        (_flags(df, ("cebpa_bzip", "cebpa_biallelic")), "cebpa"),
        (_prior(df, ("mpn",)), "mpn_blast_phase"),
        (
            _flags(df, WHO_MR_GENES + WHO_MR_CYTOGENETICS) | _prior(df, ("mds", "mds_mpn")),
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
        (_mecom(df), "mecom_r"),
        (_flag(df, "t_9_22"), "bcr_abl1"),
        (_flag(df, "npm1"), "npm1"),
        (_flag(df, "cebpa_bzip"), "cebpa_bzip"),
        (_flag(df, "tp53"), "tp53"),
        (_flags(df, MR_GENES), "mr_gene"),
        (_flags(df, ICC_MR_CYTOGENETICS) | _del20q(df), "mr_cyto"),
    ]
    return pd.Series(
        np.select([c for c, _ in conds], [v for _, v in conds], "nos"),
        index=df.index,
        dtype="string",
    )
