"""The shipped reference mapping on the consortium's own example file (issue 27, item 9).

``data/AML_DATA_ES.csv`` is the SYNTHEMA consortium's public example of the AML reference
layout (source and licence in ``data/README.md``). Expected values are read from the file's
own columns here, not copied from the harmonised output: sex from the ISCN karyotype
(XY = male), ages in completed years of AGE, the allogeneic transplant details only where
"Allogeneic HSCT" is 1, relapse where "EFS EVENT" is "Rez".
"""

from __future__ import annotations

import math
import re
import shutil
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest

from synthema.errors import ValidationFailed
from synthema.harmonize import harmonize, harmonize_file, load_mapping
from synthema.tables import read_table

EXAMPLE = Path(__file__).parent / "data" / "AML_DATA_ES.csv"
MAPPING = "synthema_aml_reference"


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    return read_table(EXAMPLE, missing_values=())


@pytest.fixture(scope="module")
def result():
    return harmonize_file(EXAMPLE, MAPPING, strict=True)


def _col(result, target):
    return next(c for c in result.summary.columns if c.target == target)


def test_the_example_file_harmonises_with_nothing_dropped(result, raw):
    s = result.summary
    assert (s.rows_in, s.rows_out) == (9, 9) and len(raw.columns) == 144
    assert s.dropped_total == 0 and s.duplicate_rows == ()
    assert result.data["patient_id"].tolist() == raw["ID"].tolist()


def test_sex_is_0_female_1_male_as_the_karyotypes_show(result, raw):
    # every XY karyotype is a man; the others (XX, X with added X material) are women
    expected = ["M" if re.search(r"\bXY\b", k) else "F" for k in raw["KARYOTYPE"]]
    assert result.data["sex"].tolist() == expected
    assert expected.count("F") == 4  # the 4 women the old 1/2 coding dropped
    assert _col(result, "sex").carried == 9


def test_who_2022_official_labels_are_read(result, raw):
    assert set(raw["WHO 2022 label"]) == {"Acute myeloid leukaemia, myelodysplasia-related"}
    assert result.data["who2022"].tolist() == ["mr"] * 9
    assert result.data["icc2022"].tolist() == ["tp53"] * 9


def test_autologous_transplant_details_stay_out_of_the_allogeneic_fields(result, raw):
    allo = raw["Allogeneic HSCT"] == "1"
    auto_only = (raw["Autologous HSCT"] == "1") & ~allo
    assert auto_only.sum() == 1 and raw.loc[auto_only, "TIME TO HSCT"].notna().all()
    days = result.data["hsct_days"]
    assert days[auto_only.to_numpy()].isna().all()
    assert days[allo.to_numpy()].tolist() == [int(v) for v in raw.loc[allo, "TIME TO HSCT"]]
    for target in ("hsct_days", "hsct_status"):
        col = _col(result, target)
        assert col.withheld == 1 and col.condition == "Allogeneic HSCT is 1"
    assert result.data["auto_hsct"].tolist() == (raw["Autologous HSCT"] == "1").tolist()
    assert "no_hsct_no_details" not in result.summary.rule_violations


def test_rez_is_a_relapse_and_other_events_say_nothing(result, raw):
    rez = (raw["EFS EVENT"] == "Rez").to_numpy()
    assert rez.sum() == 2
    assert result.data["relapse"][rez].tolist() == [True, True]
    assert result.data["relapse"][~rez].isna().all()
    assert _col(result, "relapse").declared_missing == 7


def test_numbers_are_carried_as_written_and_ages_in_completed_years(result, raw):
    for target, source in (("hb", "HB"), ("platelets", "PLT"), ("wbc", "WBC"),
                           ("ldh", "LDH"), ("os_days", "Overall survival")):
        written = [None if pd.isna(v) else float(v) for v in raw[source]]
        got = [None if pd.isna(v) else float(v) for v in result.data[target]]
        assert got == written, target
    assert result.data["age"].tolist() == [math.floor(float(a)) for a in raw["AGE"]]
    assert result.data["kmt2a_ptd"].tolist() == (raw["MLL"] == "1").tolist()


def test_durations_are_days(result, raw):
    # deaths in induction happen within weeks: in months they would be years after diagnosis
    died = (raw["EFS EVENT"] == "Death in Induction").to_numpy()
    assert died.sum() == 3
    assert (result.data["os_days"][died] <= 60).all()
    assert _col(result, "os_days").conversion == "days -> days"


def test_the_comment_lists_exactly_the_variables_left_missing(result):
    # the mapping's header says which variables the layout cannot fill; keep it true
    path = resources.files("synthema.harmonize") / "data" / f"{MAPPING}.yaml"
    text = path.read_text(encoding="utf-8")
    block = text.split("Not in the reference layout (left missing):", 1)[1]
    block = block.split(".\n", 1)[0].replace("#", " ")
    listed = [w.strip() for w in block.split(",")]
    assert listed == list(result.summary.missing_variables)
    targets = {c.target for c in load_mapping(MAPPING).columns}
    assert "kmt2a_ptd" in targets and not set(listed) & targets


def _reference_cells(**cells: list[str]) -> pd.DataFrame:
    n = len(next(iter(cells.values())))
    return pd.DataFrame({"ID": [f"R{i}" for i in range(n)], **cells}, dtype="string")


def test_iso_5218_codes_and_tick_marks_are_counted():
    # 9 (not applicable) is coded missing; 2 (ISO female) is not this layout's coding
    raw = _reference_cells(SEX=["0", "1", "9", "2"], NPM1=["x", "1", "0", "1"])
    result = harmonize(raw, "aml", MAPPING)
    sex, npm1 = _col(result, "sex"), _col(result, "npm1")
    assert result.data["sex"].tolist() == ["F", "M", pd.NA, pd.NA]
    assert sex.declared_missing == 1 and sex.dropped == {"unmapped code": 1}
    assert result.data["npm1"].tolist() == [True, True, False, True]
    assert npm1.repaired == {"tick mark 'x' read as true": 1}


def test_repeated_rows_of_the_example_are_refused_under_strict(tmp_path):
    # Setup: the example with its third patient sent twice
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)
    copy = tmp_path / "AML_DATA_ES_twice.csv"
    copy.write_text("".join(lines + [lines[3]]), encoding="utf-8")
    # Run
    kept = harmonize_file(copy, MAPPING)
    with pytest.raises(ValidationFailed, match="1 row repeats an earlier row in every harmonised"):
        harmonize_file(copy, MAPPING, strict=True)
    # Assert
    assert kept.summary.duplicate_rows == ((11, 4),)
    assert kept.summary.duplicate_ids == ((11, "PD7744a"),)


def test_a_copy_of_the_mapping_runs_from_anywhere(tmp_path):
    path = Path(str(resources.files("synthema.harmonize") / "data" / f"{MAPPING}.yaml"))
    copy = tmp_path / "my_site.mapping.yaml"
    shutil.copy(path, copy)
    result = harmonize_file(EXAMPLE, copy)
    assert result.summary.dropped_total == 0 and result.data["sex"].notna().all()


def test_transplant_details_without_their_condition_column_are_not_carried():
    # Setup: a partner file with TIME TO HSCT but no Allogeneic HSCT column
    raw = _reference_cells(SEX=["1", "0"], **{"TIME TO HSCT": ["120", "200"],
                                               "STATUS AT HSCT": ["CR1", ""]})
    # Run
    result = harmonize(raw, "aml", MAPPING)
    # Assert: with missing_columns: allow the targets are absent, named by the missing column
    absent = dict(result.summary.absent_columns)
    assert absent["hsct_days"] == "Allogeneic HSCT" and absent["hsct_status"] == "Allogeneic HSCT"
    assert result.data["hsct_days"].isna().all()
    assert "TIME TO HSCT" not in result.summary.ignored_columns


def test_the_qualifier_gives_ontogeny_and_the_prior_neoplasm():
    # Setup: WHO 2022 qualifiers (issue 25: AML after MDS or MDS/MPN is AML-MR by history)
    raw = _reference_cells(Qualifier=["progressed from MDS", "progressed from MDS/MPN",
                                      "de novo", "secondary", "post cytotoxic therapy"],
                           **{"ELN 2022": ["adverse", "not assessable", "Favourable", "int",
                                           "Not assessable"]})
    # Run
    result = harmonize(raw, "aml", MAPPING)
    # Assert: one source column fills two variables; qualifiers silent on the prior
    # neoplasm are declared missing, not dropped
    assert result.data["aml_type"].tolist() == ["secondary", "secondary", "de_novo", "secondary",
                                                "therapy_related"]
    assert result.data["prior_neoplasm"].tolist() == ["mds", "mds_mpn", pd.NA, pd.NA, pd.NA]
    prior = _col(result, "prior_neoplasm")
    assert prior.declared_missing == 3 and prior.dropped == {}
    assert result.data["eln2022"].tolist() == ["adverse", "not_assessable", "favorable",
                                               "intermediate", "not_assessable"]
