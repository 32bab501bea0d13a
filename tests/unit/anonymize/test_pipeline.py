"""End to end: the release meets the declared models (checked by brute force), respects the
suppression limit, and carries no identifier value anywhere."""

from __future__ import annotations

import dataclasses
import itertools
import re

import numpy as np
import pandas as pd
import pytest

from synthema.anonymize import AnonymizationError, Models, Policy, anonymize, load_policy
from synthema.anonymize.html import render_html
from synthema.anonymize.policy import HierarchySpec

ORDER = ["favorable", "intermediate", "adverse", "not_assessable"]  # the aml policy's order


def _policy(**models) -> Policy:
    base = load_policy("aml")
    return dataclasses.replace(base, models=Models(**models))


@pytest.mark.parametrize(
    "models, check",
    [
        ({"k": 5, "max_suppression": 0.05}, {"k": 5}),
        ({"k": 3, "l": 2, "max_suppression": 0.1}, {"k": 3, "l": 2}),
        ({"k": 2, "l": 2, "l_variant": "entropy", "max_suppression": 0.1},
         {"k": 2, "entropy_l": 2}),
        ({"k": 2, "t": 0.2, "max_suppression": 0.1}, {"k": 2, "t": 0.2, "order": ORDER}),
    ],
)
def test_release_meets_declared_models(raw_aml, models, check, key, checker):
    # Setup
    policy = _policy(**models)
    # Run
    result = anonymize(raw_aml, policy, key=key)
    # Assert: an independent brute-force checker finds no violating class
    qis = [h.column for h in policy.quasi_identifiers]
    assert checker(result.data, raw_aml, qis, "eln2022", **check) == []
    suppressed = len(raw_aml) - len(result.data)
    assert suppressed <= models["max_suppression"] * len(raw_aml)
    assert result.report.information_loss.suppressed_records == suppressed
    assert result.report.achieved.k >= models["k"]


def test_checker_catches_a_violation(raw_aml, checker):
    # the original table is not 5-anonymous: the checker must say so
    assert checker(raw_aml, raw_aml, ["age", "sex", "diagnosis_date"], "eln2022", k=5)


def test_unreachable_models_raise_with_a_fix(raw_aml, key):
    policy = _policy(k=len(raw_aml) + 1, max_suppression=0.5)
    with pytest.raises(AnonymizationError) as err:
        anonymize(raw_aml, policy, key=key)
    assert "50.0%" in err.value.message and "max_suppression" in err.value.fix


def test_suppression_limit_zero_is_respected(raw_aml, key, checker):
    # the demographic quasi-identifiers only (survival days would need suppression here)
    policy = _policy(k=5, max_suppression=0.0)
    policy = dataclasses.replace(policy, quasi_identifiers=policy.quasi_identifiers[:3])
    result = anonymize(raw_aml, policy, key=key)
    assert len(result.data) == len(raw_aml)
    assert checker(result.data, raw_aml, ["age", "sex", "diagnosis_date"], "eln2022",
                        k=5) == []


def test_no_identifier_value_anywhere_in_output(raw_aml, key, identifiers, scan,
                                                report_text):
    # Setup: every direct identifier value, the original patient ids and the key
    secrets = set()
    for col in [*identifiers, "patient_id"]:
        secrets |= {str(v) for v in raw_aml[col].dropna()}
    # Run
    result = anonymize(raw_aml, load_policy("aml"), key=key)
    # Assert: scan every cell, the headers and the whole report (JSON and HTML page)
    cells = {str(v) for col in result.data for v in result.data[col].dropna()}
    assert not cells & secrets
    assert not set(result.data.columns) & set(identifiers)
    text = report_text(result.report, render_html(result.report))
    assert key.decode() not in text
    assert not scan([s for s in secrets if len(s) >= 5], text)
    assert set(identifiers) <= set(result.report.removed)


def test_minimisation_keeps_only_purpose_columns(raw_aml, key):
    policy = load_policy("aml")
    result = anonymize(raw_aml, policy, key=key)
    wanted = {"patient_id", "age", "sex", "diagnosis_date", "os_days", "os_status", "eln2022",
              *policy.keep}
    assert set(result.data.columns) == wanted
    assert result.report.removed["npm1"] == "not needed for the purpose"


@pytest.mark.parametrize("header, cells", [
    ("note", [f"patient {i} feels better on day {i % 7}" for i in range(400)]),
    ("notes", ["Dr. Hoffmann", "Dr. Weber", "seen by Meier", None] * 100),  # two words
    ("remarks", ["Hoffmann"] * 400),  # one word, but a notes header
])
def test_free_text_refused_unless_allowed(raw_aml, key, header, cells):
    # Setup: before, the two-word notes passed (3 words needed) and left in clear
    df = raw_aml.assign(**{header: cells})
    policy = dataclasses.replace(load_policy("aml"), keep=(*load_policy("aml").keep, header))
    # Run / Assert: refused, naming the column, never a cell
    with pytest.raises(AnonymizationError) as err:
        anonymize(df, policy, key=key)
    assert f"'{header}'" in err.value.message and "keep_free_text" in err.value.fix
    assert "Hoffmann" not in err.value.message + err.value.fix
    kept = dataclasses.replace(policy, keep_free_text=(header,))
    assert header in anonymize(df, kept, key=key).data


@pytest.mark.parametrize("how, says", [
    ("keep", "releases it"),
    ("quasi_identifier", "releases it ungeneralised"),  # a level-0 QI: the value itself
])
def test_identifier_released_ungeneralised_is_refused(raw_aml, key, how, says):
    # Setup: PLZ (a postcode header, detected) released as it is
    base = load_policy("aml")
    policy = (dataclasses.replace(base, keep=("PLZ",)) if how == "keep" else
              dataclasses.replace(base, quasi_identifiers=(*base.quasi_identifiers,
                                                           HierarchySpec("PLZ", "suppress"))))
    # Run / Assert
    with pytest.raises(AnonymizationError) as err:
        anonymize(raw_aml, policy, key=key)
    assert err.value.message == (f"{base.source}: column 'PLZ' is a direct identifier but the "
                                 f"policy {says}")


def test_a_detected_header_named_as_the_pseudonym_column_leaves_as_pseudonyms(raw_aml, key):
    # Setup: PID is an identifier header, and the policy pseudonymises it
    policy = dataclasses.replace(load_policy("aml"), pseudonym_column="PID")
    # Run
    result = anonymize(raw_aml, policy, key=key)
    # Assert: released as keyed pseudonyms, not removed; no PID value survives
    assert "PID" not in result.report.removed and "PID" in result.data.columns
    assert result.data["PID"].str.fullmatch(r"P-[0-9a-f]{16}").all()  # prefix P, length 16
    assert not set(result.data["PID"]) & set(raw_aml["PID"].astype(str))
    assert result.report.removed["Name"] == "direct identifier (header)"


def test_the_patient_id_released_in_clear_is_refused_wherever_the_policy_puts_it(raw_aml, key):
    # Setup: no pseudonym; the dictionary's patient id as a level-0 quasi-identifier, or kept
    # after a free-text column checked by hand (which skips only its own checks)
    base = dataclasses.replace(load_policy("aml"), pseudonym_column=None)
    notes = raw_aml.assign(notes=[f"seen in clinic {i}, plan to continue" for i in
                                  range(len(raw_aml))])
    cases = [
        (raw_aml, dataclasses.replace(base, quasi_identifiers=(
            *base.quasi_identifiers, HierarchySpec("patient_id", "suppress")))),
        (notes, dataclasses.replace(base, keep=(*base.keep, "notes", "patient_id"),
                                    keep_free_text=("notes",))),
    ]
    for df, policy in cases:
        # Run / Assert
        with pytest.raises(AnonymizationError) as err:
            anonymize(df, policy, key=key)
        assert err.value.message == (
            f"{base.source}: column 'patient_id' (purpose.keep, sensitive or quasi_identifiers) "
            "is the dictionary's patient id and would be released in clear")
    # ... and kept while pseudonymised it leaves as pseudonyms
    kept = dataclasses.replace(load_policy("aml"), keep=(*base.keep, "patient_id"))
    result = anonymize(raw_aml, kept, key=key)
    assert not set(result.data["patient_id"]) & set(raw_aml["patient_id"].astype(str))


def test_unknown_column_suggests_a_name(raw_aml, key):
    policy = dataclasses.replace(load_policy("aml"), keep=("eln2021",))
    with pytest.raises(AnonymizationError) as err:
        anonymize(raw_aml, policy, key=key)
    assert "eln2022" in err.value.fix


def test_search_result_is_the_least_loss_feasible_node(raw_aml):
    # Setup: every lattice node scored by plain pandas, independently of search()
    from synthema.anonymize.hierarchy import build_hierarchy
    from synthema.anonymize.search import search

    policy = load_policy("aml")
    hs = [build_hierarchy(raw_aml[s.column], s) for s in policy.quasi_identifiers]
    n, k, budget = len(raw_aml), 5, 0.05
    base = [pd.Series(h.labels[0]).fillna("<NA>") for h in hs]
    feasible = {}
    for node in itertools.product(*[range(h.lo, h.hi + 1) for h in hs]):
        cols = [pd.Series(h.labels[lv]).fillna("<NA>") for h, lv in zip(hs, node, strict=True)]
        key = pd.Series(list(zip(*cols, strict=True)))
        size = key.map(key.value_counts())
        gone = (size < k).to_numpy()
        if gone.sum() > budget * n:
            continue
        bits = 0.0
        for b, g in zip(base, cols, strict=True):
            own = b.map(b.value_counts()).to_numpy()
            gen = g.map(g.value_counts()).to_numpy()
            bits += np.log2(gen / own)[~gone].sum() + np.log2(n / own)[gone].sum()
        feasible[node] = bits
    # Run
    best = search(hs, [], Models(k=k, max_suppression=budget), n=n)
    # Assert: same minimum, and the bound pruned part of the lattice
    assert best.nue_bits == pytest.approx(min(feasible.values()))
    assert feasible[best.node] == pytest.approx(best.nue_bits)
    assert best.nodes_evaluated < best.nodes_total


def test_report_has_risk_loss_and_utility(raw_aml, key):
    rep = anonymize(raw_aml, load_policy("aml"), key=key).report.to_dict()
    assert rep["risk"]["after"]["prosecutor"]["highest"] <= 1 / 5
    assert rep["risk"]["before"]["prosecutor"]["highest"] == 1.0
    assert rep["risk"]["after"]["population_estimated"] is True
    assert 0 <= rep["information_loss"]["non_uniform_entropy"] <= 1
    # utility comes from synthema.evaluate's metrics, on every released column but the pseudonym
    assert set(rep["utility"]["tvd"]) == set(rep["columns_out"]) - {"patient_id"}
    assert [m["name"] for m in rep["utility"]["metrics"]] == [
        "column_distance", "pairwise_tvd", "km_distance", "km_risk_group_distance", "logrank_p",
        "cindex_gap_generalisation"]
    assert all(m["status"] in ("pass", "warn", "fail") for m in rep["utility"]["metrics"])
    assert '<section id="anonymization">' in render_html(rep)


def test_population_table_lowers_journalist_risk(raw_aml, key):
    population = pd.concat([raw_aml] * 3, ignore_index=True)
    rep = anonymize(raw_aml, load_policy("aml"), key=key, population=population).report.to_dict()
    after = rep["risk"]["after"]
    assert after["population_estimated"] is False
    assert after["journalist"]["highest"] == pytest.approx(
        after["prosecutor"]["highest"] / 3, abs=1e-6)


def test_repeated_patient_id_is_refused_without_showing_it(raw_aml, key):
    # Setup: the patient of row 5 (file numbering, header row 1) appears again in row 11
    df = raw_aml.copy()
    df.loc[9, "patient_id"] = df.loc[3, "patient_id"]
    # Run
    with pytest.raises(AnonymizationError) as err:
        anonymize(df, load_policy("aml"), key=key, file="site.csv")
    # Assert: k counts rows, so a patient with two rows would pass as two people
    assert err.value.message.startswith("site.csv: ")
    assert "rows 5, 11" in err.value.message and "one row" in err.value.fix
    assert df.loc[3, "patient_id"] not in err.value.message + err.value.fix


def test_repeated_patient_id_is_refused_without_a_pseudonym_column(raw_aml, key):
    # Setup: a policy that drops the id instead of pseudonymising it; the dictionary still
    # names the patient id column, so the one-row-per-patient check uses it
    df = raw_aml.copy()
    df.loc[9, "patient_id"] = df.loc[3, "patient_id"]
    policy = dataclasses.replace(load_policy("aml"), pseudonym_column=None)
    assert policy.data_dictionary().patient_id == "patient_id"
    # Run / Assert
    with pytest.raises(AnonymizationError, match=r"rows 5, 11.*'patient_id'|'patient_id'.*rows"):
        anonymize(df, policy, key=key, file="site.csv")
    assert "patient_id" not in anonymize(raw_aml, policy, key=key).data.columns


@pytest.mark.parametrize("method", ["shift", "generalize"])
def test_date_column_that_is_also_a_quasi_identifier_is_refused(raw_aml, key, method):
    # the hierarchy would release the original date's month/quarter while dates says shifted
    base = load_policy("aml")
    policy = dataclasses.replace(base, dates=dataclasses.replace(
        base.dates, method=method, columns=("diagnosis_date",)))
    with pytest.raises(AnonymizationError) as err:
        anonymize(raw_aml, policy, key=key)
    assert "diagnosis_date" in err.value.message and "dates.columns" in err.value.fix


def test_relative_dates_are_released_only_as_quasi_identifiers(raw_aml, key):
    # Setup: days from diagnosis to a second date. Before, they left exactly: a last-contact
    # date relative to diagnosis is os_days, which with the public cut-off gives the
    # diagnosis date back (the review's first attack again)
    from synthema.anonymize.policy import HierarchySpec

    df = raw_aml.assign(sample_date=(pd.to_datetime(raw_aml["diagnosis_date"])
                                     + pd.to_timedelta(raw_aml.index % 700, unit="D")
                                     ).dt.strftime("%Y-%m-%d"))
    base = load_policy("aml")
    policy = dataclasses.replace(
        base, keep=(*base.keep, "sample_date"), dates=dataclasses.replace(
            base.dates, method="relative", columns=("sample_date",), anchor="diagnosis_date"))
    # Run / Assert: released exactly, refused with the fix
    with pytest.raises(AnonymizationError) as err:
        anonymize(df, policy, key=key)
    assert "'sample_date'" in err.value.message and "days from diagnosis_date" in err.value.message
    assert "quasi_identifiers: {sample_date: {type: interval" in err.value.fix
    # as a quasi-identifier the days are generalised with the others (in bands, not exact)
    spec = HierarchySpec("sample_date", "interval", bands=(90.0, 180.0, 360.0), cap=1080.0,
                         min_level=1)
    result = anonymize(df, dataclasses.replace(
        policy, quasi_identifiers=(*base.quasi_identifiers, spec)), key=key)
    labels = set(result.data["sample_date"].dropna().astype(str))
    assert labels and all(re.fullmatch(r"\d+-\d+|\d+\+|\*", lab) for lab in labels), labels
    assert result.report.generalisation_levels["sample_date"].level >= 1
    # the anchor leaves generalised, and the report does not claim it was dropped
    assert "diagnosis_date" in result.data
    assert "dropped" not in result.report.dates["diagnosis_date"]
    assert "generalised as a quasi-identifier" in result.report.dates["sample_date"]
    assert not any("derived from dates" in w for w in result.report.warnings)


def test_journalist_risk_of_the_input_matches_population_in_any_date_format(raw_aml, key):
    # Setup: dates written '%d.%m.%Y' in the input and in a population three times as large
    df = raw_aml.assign(diagnosis_date=pd.to_datetime(raw_aml["diagnosis_date"])
                        .dt.strftime("%d.%m.%Y"))
    base = load_policy("aml")
    policy = dataclasses.replace(base, dates=dataclasses.replace(base.dates, format="%d.%m.%Y"))
    population = pd.concat([df] * 3, ignore_index=True)
    # Run
    before = anonymize(df, policy, key=key, population=population).report.risk.before
    # Assert: every input record is in the population, in a class three times its size
    assert before["records_missing_from_population"] == 0
    assert before["journalist"]["highest"] == pytest.approx(
        before["prosecutor"]["highest"] / 3, abs=1e-6)


@pytest.mark.parametrize("column, cell, says", [
    ("diagnosis_date", "2009-13-45", "not a date"), ("age", "sixty", "not a number")])
def test_bad_cell_error_names_file_row_and_column(raw_aml, key, column, cell, says):
    df = raw_aml.copy()
    df[column] = df[column].astype("string")
    df.loc[[6, 20], column] = cell
    with pytest.raises(AnonymizationError) as err:
        anonymize(df, load_policy("aml"), key=key, file="site.csv")
    # row 8 of the file (header row 1), one more bad cell after it; the cell is not quoted
    assert err.value.message.startswith(f"site.csv: column '{column}', row 8 and 1 more: ")
    assert says in err.value.message and err.value.fix
    assert cell not in err.value.message + err.value.fix
    # a frame with no file name: no prefix at all (not "<data>: ")
    with pytest.raises(AnonymizationError) as err:
        anonymize(df, load_policy("aml"), key=key)
    assert err.value.message.startswith(f"column '{column}', row 8 and 1 more: ")


def test_population_with_longer_codes_is_generalised_to_the_same_level(raw_aml, key):
    # Setup: a 5-character code withheld ('*', the top level of the input's hierarchy); the
    # population also holds 6-character codes, so over both the top level is one further up
    from synthema.anonymize.policy import HierarchySpec

    df = raw_aml.assign(zip="12345")
    base = load_policy("aml")
    policy = dataclasses.replace(base, quasi_identifiers=(
        *base.quasi_identifiers, HierarchySpec("zip", "truncate", min_level=5)))
    population = pd.concat([df, df.assign(zip="123456")], ignore_index=True)

    # Run
    result = anonymize(df, policy, key=key, population=population)

    # Assert: the release withholds zip, and so does the population it is compared with:
    # every released record is found there, in a class twice its size
    assert set(result.data["zip"]) == {"*"}
    after = result.report.risk.after
    assert after["records_missing_from_population"] == 0
    assert after["journalist"]["highest"] == pytest.approx(
        after["prosecutor"]["highest"] / 2, abs=1e-6)


def test_declared_identifier_absent_from_the_input_is_not_reported_removed(raw_aml, key):
    # Setup: the policy declares two identifier columns; the input has only one of them
    df = raw_aml.assign(fax="+49 30 1234567")
    policy = dataclasses.replace(load_policy("aml"), identifiers=("fax", "insurance_number"))

    # Run
    result = anonymize(df, policy, key=key)

    # Assert: the report lists what was there and removed, not what never was
    removed = result.report.removed
    assert removed["fax"] == "direct identifier (declared)"
    assert "insurance_number" not in removed
    assert "fax" not in result.data.columns


def test_one_row_per_patient_names_at_most_six_rows_and_counts_the_patients():
    from synthema.anonymize.pipeline import check_one_row_per_patient

    ids = pd.Series(["a", "b", "a", "c", "b", "a", "d", None, None, "c", "e"])
    # Run / Assert: a, b and c repeat (7 rows); two missing ids are no repetition
    with pytest.raises(AnonymizationError) as err:
        check_one_row_per_patient(ids, column="pid", file="site.csv")
    assert err.value.message == ("site.csv: 7 rows share 3 patient ids in column 'pid' "
                                 "(rows 2, 3, 4, 5, 6, 7, ...; ids not shown)")
    # the file's own row numbers when given; one patient: 'id', not 'ids'; no file: no prefix
    with pytest.raises(AnonymizationError) as err:
        check_one_row_per_patient(pd.Series(["x", "y", "x"]), column="pid",
                                  rows=np.array([10, 14, 20]))
    assert err.value.message == ("2 rows share 1 patient id in column 'pid' (rows 10, 20; "
                                 "ids not shown)")
    with pytest.raises(AnonymizationError, match=r"\(rows 2, 3, 4, 5, 6, 7; ids"):
        check_one_row_per_patient(pd.Series(["x"] * 6), column="pid")
    assert check_one_row_per_patient(pd.Series(["x", None, None, "y"]), column="pid") is None


def test_a_sensitive_value_outside_the_policys_order_is_refused_by_row(raw_aml, key):
    # Setup: two cells of eln2022 (file rows 4 and 8) hold values the order does not list
    df = raw_aml.copy()
    df.loc[2, "eln2022"], df.loc[6, "eln2022"] = "very adverse", "adverse?"
    # Run / Assert: counted and located, never quoted
    with pytest.raises(AnonymizationError) as err:
        anonymize(df, load_policy("aml"), key=key, file="site.csv")
    assert err.value.message.startswith(
        "site.csv: column 'eln2022', row 4 and 1 more: 2 distinct value(s) not in the "
        "policy's sensitive.eln2022.order (")
    assert "very adverse" not in err.value.message and "adverse?" not in err.value.message
    df.loc[6, "eln2022"] = "adverse"
    with pytest.raises(AnonymizationError, match=r"column 'eln2022', row 4: 1 distinct"):
        anonymize(df, load_policy("aml"), key=key)


@pytest.mark.parametrize("columns, keep, fix", [
    # most of the policy's columns absent next to identifier headers: a raw export
    (["Name", "PID", "Geburtsdatum", "age", "sex"], None, "this looks like a raw site export"),
    # one absent, nothing close, no identifier header: check the names
    (None, "xq7_bone_marrow_blasts", "check the policy's column names against the input's"),
])
def test_a_missing_policy_column_says_what_the_input_looks_like(raw_aml, key, columns, keep,
                                                               fix):
    df = raw_aml[columns] if columns else raw_aml.drop(columns=["Name", "PID", "Geburtsdatum",
                                                                "PLZ"])
    policy = load_policy("aml")
    if keep:
        policy = dataclasses.replace(policy, keep=(*policy.keep, keep))
    with pytest.raises(AnonymizationError) as err:
        anonymize(df, policy, key=key, file="in.csv")
    assert err.value.message.startswith("in.csv: column '")
    assert err.value.fix.startswith(fix)


def test_the_run_is_logged_in_counts(raw_aml, key, caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="synthema.anonymize.pipeline"):
        result = anonymize(raw_aml, load_policy("aml"), key=key)
    assert f"anonymised {len(raw_aml)} -> {result.report.records_out} records at node" in \
        caplog.text


@pytest.mark.parametrize("names, columns, fix", [
    # half the names absent (2 of 4): a typo next to an identifier header, not a raw export
    (["age", "sex", "blasts", "wbc"], ["age", "sex", "Name", "blast"],
     "fix the policy (did you mean 'blast'?)"),
    # more than half absent (3 of 5) next to an identifier header: a raw export
    (["age", "sex", "blasts", "wbc", "ldh"], ["age", "sex", "Name", "blast"],
     "this looks like a raw site export"),
    # one of two absent, nothing close, an identifier header: still says raw export
    (["age", "xq7zz"], ["age", "Name"], "this looks like a raw site export"),
])
def test_a_missing_column_is_read_as_a_typo_or_a_raw_export_by_how_many_are_missing(
        names, columns, fix):
    from synthema.anonymize.pipeline import _require

    # Run / Assert
    with pytest.raises(AnonymizationError) as err:
        _require(pd.DataFrame(columns=columns), names, "the policy", file="in.csv")
    assert err.value.message.startswith("in.csv: column '")
    assert err.value.fix.startswith(fix)


def test_a_raw_exports_identifier_roles_are_removed_or_pseudonymised_as_the_policy_says(
        raw_aml, key):
    # Setup: two columns no header detection would flag, declared by the export's mapping
    df = raw_aml.assign(col_x="Anna Meier", hn=[f"H{i:06d}" for i in range(len(raw_aml))])
    # Run
    result = anonymize(df, load_policy("aml"), key=key,
                       identifiers={"col_x": "name", "hn": "hospital_number"})
    # Assert: name -> removed as a raw-export identifier; hospital_number -> pseudonym
    assert result.report.removed["col_x"] == "direct identifier (name, raw export)"
    assert "hn" not in result.report.removed and "col_x" not in result.data.columns
    assert not set(result.data["hn"]) & set(df["hn"])


def test_the_result_cannot_be_changed_after_the_fact(raw_aml, key):
    result = anonymize(raw_aml, load_policy("aml"), key=key)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.data = raw_aml  # type: ignore[misc]


def test_a_kept_column_holding_identifier_values_is_refused_by_its_values(raw_aml, key):
    # Setup: a header nobody would flag, cells that are e-mail addresses
    df = raw_aml.assign(contact=[f"p{i}@mail.de" for i in range(len(raw_aml))])
    policy = load_policy("aml")
    policy = dataclasses.replace(policy, keep=(*policy.keep, "contact"))
    # Run / Assert: named by what the values are, none of them quoted
    with pytest.raises(AnonymizationError) as err:
        anonymize(df, policy, key=key)
    assert err.value.message == (
        f"{policy.source}: column 'contact' (purpose.keep, sensitive or quasi_identifiers) "
        "holds e-mail addresses: it would release identifiers")
    assert err.value.fix == "pseudonymise it (pseudonym.column) or remove it from the policy"


@pytest.mark.parametrize("column", ["induction_intensity", "eln2022", "age"])
def test_a_raw_identifier_the_policy_also_releases_is_refused(raw_aml, key, column):
    # Setup: the export's mapping calls a kept, a sensitive and a quasi-identifying column a
    # name: the policy cannot both remove it and release it
    policy = load_policy("aml")
    # Run / Assert
    with pytest.raises(AnonymizationError) as err:
        anonymize(raw_aml, policy, key=key, identifiers={column: "name"})
    assert err.value.message == (f"{policy.source}: raw identifier column(s) {column} are also "
                                 "named by the policy")
    assert err.value.fix == "decide on them under raw: only"


def test_a_raw_identifier_column_absent_from_the_input_is_refused(raw_aml, key):
    # Setup: the export's mapping names a column the file does not have
    policy = load_policy("aml")
    # Run / Assert
    with pytest.raises(ValueError, match=r"identifier columns \['Vorname'\] are not in the input"):
        anonymize(raw_aml, policy, key=key, identifiers={"Name": "name", "Vorname": "name"})


def test_a_single_record_is_its_own_reference_distribution(raw_aml, key):
    # Setup: one patient (a favourable ELN risk: first in the order), k = 1 and t-closeness.
    # The reference distribution of eln2022 is that one record's, so its class is at
    # distance 0 from it and nothing needs suppressing
    one = raw_aml[raw_aml["eln2022"] == "favorable"].iloc[[0]]
    policy = _policy(k=1, t=0.2, max_suppression=0.0)
    # Run
    result = anonymize(one, policy, key=key)
    # Assert
    assert result.report.records_out == 1 and len(result.data) == 1


def test_dates_released_generalised_need_no_date_shift_key(key, monkeypatch):
    # Setup: linkable pseudonyms (scope linkage: a shift would need the site's date-shift
    # key), dates released as months: nothing is shifted, so no date-shift key is asked for
    from synthema.cohorts.simulate import simulate

    monkeypatch.delenv("SYNTHEMA_DATE_SHIFT_KEY", raising=False)
    data = simulate("scd", sites=1, patients=200, seed=3)[0].data
    base = load_policy("scd")
    policy = dataclasses.replace(base, scope="linkage", dates=dataclasses.replace(
        base.dates, method="generalize", granularity="month", key_env=None, key_file=None))
    # Run
    result = anonymize(data, policy, key=key)
    # Assert: released, dates as months
    assert result.report.records_out > 0
    assert result.data["enrolment_date"].dropna().astype(str).str.fullmatch(
        r"\d{4}-\d{2}").all()
    # ... and the same policy shifting the dates refuses without that key
    shifting = dataclasses.replace(policy, dates=dataclasses.replace(policy.dates,
                                                                     method="shift"))
    with pytest.raises(AnonymizationError, match="date-shift key|SYNTHEMA_DATE_SHIFT_KEY"):
        anonymize(data, shifting, key=key)
