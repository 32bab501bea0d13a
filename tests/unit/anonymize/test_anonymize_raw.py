"""Raw site exports: harmonised in memory, identifiers carried to de-identification, nothing of
them left in the release or the report, every dropped value counted."""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from dataclasses import asdict

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from synthema.anonymize import (
    AnonymizationError,
    HierarchySpec,
    anonymize,
    anonymize_export,
    load_policy,
    pseudonym,
)
from synthema.anonymize.html import render_html
from synthema.anonymize.raw import (
    _action_text,
    _birth_dates,
    _canonical,
    _carry_identifiers,
    _counts_only,
)
from synthema.cli import app
from synthema.cohorts.simulate import simulate, write_cohort
from synthema.cohorts.styles import STYLES
from synthema.harmonize import SiteMapping, load_mapping
from synthema.harmonize.mapping import ColumnMapping
from synthema.tables import read_table

SITES = {s.key: i for i, s in enumerate(STYLES, start=1)}  # german 1, french 2, us 3, italian 4

#: a second pseudonym key (64 hex characters, from secrets.token_hex(32))
OTHER_KEY = b"53b0e2a87d502251c3e3b3ed03b51444169e8972cf365b9cfcbb44603767e882"


@pytest.fixture(scope="session")
def exports(tmp_path_factory):
    """Four raw AML exports (German, French, US, Italian style), their mappings, clean data."""
    folder = tmp_path_factory.mktemp("raw")
    cohorts = simulate("aml", sites=4, patients=1200, seed=21)
    write_cohort(cohorts, folder, disease="aml", raw=True, seed=21)
    out = {}
    for style, site in SITES.items():
        mapping = load_mapping(folder / "raw" / f"site_{site:02d}.mapping.yaml")
        path = mapping.data_path()
        out[style] = (read_table(path, **mapping.read_options()), mapping, path,
                      cohorts[site - 1].data)
    return out


def _secrets(raw: pd.DataFrame, mapping) -> set[str]:
    """Every identifier value of the export: the drop: columns and the study ids."""
    study = next(c.source for c in mapping.columns if c.target == "patient_id")
    values = set()
    for col in [*mapping.drop, study]:
        values |= {str(v).strip() for v in raw[col].dropna() if str(v).strip()}
    return values


@pytest.mark.parametrize("style", list(SITES))
def test_no_identifier_of_a_raw_export_anywhere_in_the_output(exports, style, key, scan,
                                                              report_text):
    # Setup
    raw, mapping, path, _ = exports[style]
    secrets = _secrets(raw, mapping)
    # Run
    result = anonymize_export(raw, load_policy("aml"), mapping=mapping, key=key, file=str(path))
    # Assert: no identifier value in any cell, header, the JSON report or the HTML page
    cells = {str(v) for col in result.data for v in result.data[col].dropna()}
    assert not cells & secrets
    assert not set(result.data.columns) & set(mapping.drop)
    text = report_text(result.report, render_html(result.report))
    assert not scan(secrets, text)
    assert key.decode() not in text
    # and every identifier column was accounted for, by kind
    roles = {i.source: i.role for i in result.report.identifiers}
    assert set(roles) == set(mapping.drop)
    assert {"name", "hospital_number", "birth_date", "postcode"} == set(roles.values())
    assert all(i.values == result.report.harmonization.rows_out
               for i in result.report.identifiers)


@pytest.mark.parametrize("style", ["german", "italian"])
def test_raw_export_releases_what_the_clean_data_would(exports, style, key):
    # Setup: the clean data the export was rendered from, hospital number left aside
    raw, mapping, path, clean = exports[style]
    # the linkage scope, so that both releases carry the same pseudonyms (rows are shuffled)
    policy = dataclasses.replace(load_policy("aml"), scope="linkage")
    # Run
    from_raw = anonymize_export(raw, policy, mapping=mapping, key=key).data
    from_clean = anonymize(clean, policy, key=key).data
    # Assert: the in-memory harmonisation gives the same records
    assert from_raw.columns.tolist() == [*from_clean.columns, "hospital_number"]
    pd.testing.assert_frame_equal(
        from_raw.drop(columns="hospital_number").sort_values("patient_id")
        .reset_index(drop=True).astype("string"),
        from_clean.sort_values("patient_id").reset_index(drop=True).astype("string"))


def test_hospital_number_becomes_a_keyed_pseudonym(exports, key):
    # Setup
    raw, mapping, _, _ = exports["us"]
    policy = dataclasses.replace(load_policy("aml"), scope="linkage")
    # Run
    one = anonymize_export(raw, policy, mapping=mapping, key=key)
    again = anonymize_export(raw, policy, mapping=mapping, key=key)
    other = anonymize_export(raw, policy, mapping=mapping, key=OTHER_KEY)
    scoped = anonymize_export(raw, load_policy("aml"), mapping=mapping, key=key)
    # Assert: H-<HMAC of 'hospital_number:' + MRN>, stable with one key, different with another
    mrn = raw["MRN"].iloc[0]
    expected = pseudonym(f"hospital_number:{mrn}", key, prefix="H", length=16)
    released = set(one.data["hospital_number"])
    assert expected in released or one.report.information_loss.suppressed_records
    assert set(one.data["hospital_number"]) == set(again.data["hospital_number"])
    assert not released & set(other.data["hospital_number"])
    # the built-in release scope: none of them (the hospital record cannot be looked up)
    assert not released & set(scoped.data["hospital_number"])
    assert all(v.startswith("H-") for v in released)
    assert pseudonym(mrn, key, prefix="H", length=16) not in released  # namespaced


def test_dropped_values_and_empty_rows_are_counted(exports, key):
    # Setup: three ages that are not numbers, one row holding only identifiers
    raw, mapping, path, _ = exports["german"]
    bad = raw.copy()
    bad.loc[[3, 4, 5], "Alter"] = "abc"
    mapped = [c.source for c in mapping.columns]
    bad.loc[7, mapped] = ""
    # Run
    result = anonymize_export(bad, load_policy("aml"), mapping=mapping, key=key, file="x.csv")
    # Assert
    harm = asdict(result.report.harmonization)  # site-internal detail
    assert harm["dropped_total"] == 3
    assert next(c for c in harm["columns"] if c["column"] == "age")["dropped"] == {
        "not a number": 3}
    assert harm["rows_in"] == len(raw) and harm["rows_out"] == len(raw) - 1
    assert harm["rows_without_values"] == 1
    assert result.report.records_in == len(raw) - 1
    # the report's input line: the file's rows, and the one with no mapped value
    assert (result.report.input.file, result.report.input.rows,
            result.report.input.rows_without_values) == ("x.csv", len(raw), 1)
    assert all(i.values == len(raw) - 1 for i in result.report.identifiers)


def test_postcode_released_as_a_truncated_quasi_identifier(exports, key, checker):
    # Setup: the policy keeps the first digits of the postcode as one more quasi-identifier
    raw, mapping, _, _ = exports["german"]
    base = load_policy("aml")
    # age may be withheld here (the built-in cap at 20-year bands leaves no room for a
    # fourth quasi-identifier on 431 records)
    qis = tuple(dataclasses.replace(q, max_level=None) if q.column == "age" else q
                for q in base.quasi_identifiers[:3])  # demographics only: OS left out
    policy = dataclasses.replace(base, quasi_identifiers=qis, raw={**base.raw, "postcode":
                                 HierarchySpec("postcode", "truncate", min_level=3,
                                               max_level=4)})  # fmt: skip
    # Run
    result = anonymize_export(raw, policy, mapping=mapping, key=key)
    # Assert: k-anonymous over all four quasi-identifiers (independent checker), no full code
    out = result.data
    assert "postcode" in out and out["postcode"].str.endswith("***").all()
    assert checker(out, out, ["age", "sex", "diagnosis_date", "postcode"], "eln2022",
                   k=5, l=2) == []
    assert not set(out["postcode"]) & set(raw["PLZ"])
    assert "postcode" in result.report.generalisation
    entry = next(i for i in result.report.identifiers if i.role == "postcode")
    assert entry.action.startswith("quasi-identifier 'postcode' (truncate)")


@pytest.mark.parametrize("style, month", [("us", "%m"), ("french", "%m"), ("italian", "%m")])
def test_birth_date_read_in_the_export_format(exports, key, style, month):
    # Setup: birth month as a quasi-identifier, k=1 so the lowest level (month) is chosen
    raw, mapping, _, _ = exports[style]
    base = load_policy("aml")
    policy = dataclasses.replace(
        base, models=dataclasses.replace(base.models, k=1, l=None, max_suppression=0.0),
        raw={**base.raw, "birth_date": HierarchySpec("birth_date", "date",
                                                     levels=("month", "year"), min_level=1)})
    birth = next(c for c in mapping.drop if "birth" in c.lower() or c in ("DOB", "data_nascita")
                 or "naissance" in c.lower())
    fmt = {"us": "%m/%d/%Y", "french": "%d/%m/%Y", "italian": "%Y-%m-%d"}[style]
    expected = pd.to_datetime(raw[birth], format=fmt).dt.strftime("%Y-" + month).tolist()
    # Run
    result = anonymize_export(raw, policy, mapping=mapping, key=key)
    # Assert: months as the export wrote them (a day/month mix-up would move them); the rows
    # are shuffled, so as a multiset
    assert sorted(result.data["birth_date"].tolist()) == sorted(expected)
    entry = next(i for i in result.report.identifiers if i.role == "birth_date")
    assert entry.date_format == fmt and entry.dropped == {}


def test_unreadable_birth_dates_are_counted(exports, key):
    raw, mapping, _, _ = exports["german"]
    bad = raw.copy()
    bad.loc[[0, 1], "Geburtsdatum"] = "31.02.1950"
    base = load_policy("aml")
    policy = dataclasses.replace(base, raw={**base.raw, "birth_date": HierarchySpec(
        "birth_date", "date", levels=("year", "decade"), min_level=1)})
    result = anonymize_export(bad, policy, mapping=mapping, key=key)
    entry = next(i for i in result.report.identifiers if i.role == "birth_date")
    assert entry.dropped == {"not a date (set to missing)": 2}
    # and the page shows the count in the identifier's row
    row = re.search(r"<td>Geburtsdatum</td>(.*?)</tr>", render_html(result.report)).group(1)
    assert '<td class="num">2</td>' in row


def test_policy_for_another_dictionary_is_refused(exports, key):
    raw, mapping, _, _ = exports["german"]
    with pytest.raises(AnonymizationError) as err:
        anonymize_export(raw, load_policy("scd"), mapping=mapping, key=key)
    assert "'scd'" in err.value.message and "'aml'" in err.value.message


def test_cli_anonymizes_a_raw_export_and_prints_the_risk(exports, tmp_path, monkeypatch, key):
    # Setup
    raw, mapping, path, _ = exports["french"]
    monkeypatch.setenv("SYNTHEMA_PSEUDONYM_KEY", key.decode())
    out, rep = tmp_path / "anon.csv", tmp_path / "report"
    # Run
    res = CliRunner().invoke(app, ["anonymize", "--policy", "aml", "--mapping",
                                   str(mapping.path), str(path), "--out", str(out),
                                   "--report", str(rep)])
    # Assert: k, l, t and the three attacker models on the terminal
    assert res.exit_code == 0, res.output
    for words in ("harmonised", "0 values dropped", "achieved k=", " l=", " t=", "prosecutor",
                  "journalist", "marketer", "IPP (hospital number", "utility"):
        assert words in res.output
    released = pd.read_csv(out, dtype=str, keep_default_na=False)
    cells = {v for col in released for v in released[col]}
    assert not cells & _secrets(raw, mapping)
    report = json.loads((rep / "anonymization.json").read_text(encoding="utf-8"))
    assert report["harmonization"]["rows_in"] == len(raw)
    # per-column counts (over suppressed records too) stay in the site-internal file
    assert "columns" not in report["harmonization"]
    assert "dropped_total" not in report["harmonization"]
    internal = json.loads((rep / "harmonization.json").read_text(encoding="utf-8"))
    assert internal["not_for_release"] and internal["rows_in"] == len(raw)
    page = (rep / "anonymization.html").read_text(encoding="utf-8")
    assert "Columns with dropped or repaired values" not in page
    assert "harmonization.json (site-internal)" in page


def test_repeated_study_id_is_refused_with_the_export_rows(exports, key):
    # Setup: row 3 of the data (file row 5) repeats the study id of row 0 (file row 2)
    raw, mapping, _, _ = exports["german"]
    bad = raw.copy()
    bad.loc[3, "Studien_ID"] = bad.loc[0, "Studien_ID"]
    mapped = [c.source for c in mapping.columns]
    bad.loc[1, mapped] = ""  # a row harmonisation drops: later rows keep their file numbers
    # Run
    with pytest.raises(AnonymizationError) as err:
        anonymize_export(bad, load_policy("aml"), mapping=mapping, key=key, file="x.csv")
    # Assert: the file's rows, never the id
    assert err.value.message.startswith("x.csv: ") and "rows 2, 5" in err.value.message
    assert bad.loc[0, "Studien_ID"] not in err.value.message


def test_no_identifier_value_reaches_the_log(exports, key, caplog, scan):
    # Setup: a name and a hospital number typed into data columns, which harmonisation drops
    raw, mapping, _, _ = exports["german"]
    bad = raw.copy()
    bad.loc[4, "Geschlecht"] = bad.loc[4, "Name"]
    bad.loc[9, "Alter"] = bad.loc[9, "PID"]
    secrets = _secrets(raw, mapping)
    caplog.set_level(logging.DEBUG)
    # Run
    result = anonymize_export(bad, load_policy("aml"), mapping=mapping, key=key, file="x.csv")
    # Assert: both values counted, none of the export's identifiers logged, counts are
    assert result.report.harmonization.dropped_total == 2
    assert not scan(secrets, caplog.text)
    assert "2 values dropped" in caplog.text


def test_postcode_groups_error_does_not_show_postcodes(exports, key):
    # Setup: a postcode grouping that misses most codes
    raw, mapping, _, _ = exports["german"]
    base = load_policy("aml")
    policy = dataclasses.replace(base, raw={**base.raw, "postcode": HierarchySpec(
        "postcode", "groups", levels=({"00000": "region-0"},), min_level=1)})
    # Run
    with pytest.raises(AnonymizationError) as err:
        anonymize_export(raw, policy, mapping=mapping, key=key)
    # Assert: the policy key is named, no postcode is
    assert "raw.postcode.levels[0]" in err.value.message
    assert not {str(v) for v in raw["PLZ"].dropna()} & set(
        err.value.message.replace(",", " ").replace("'", " ").split())


def test_cli_raw_export_without_mapping_says_to_give_it(exports, tmp_path, monkeypatch, key):
    _, mapping, path, _ = exports["german"]
    monkeypatch.setenv("SYNTHEMA_PSEUDONYM_KEY", key.decode())
    res = CliRunner().invoke(app, ["anonymize", "--policy", "aml", str(path), "--out",
                                   str(tmp_path / "o.csv"), "--report", str(tmp_path / "r")])
    assert res.exit_code == 2
    assert "--mapping" in res.output and str(path.name) in res.output


def test_report_names_the_export_without_its_folder(exports, key):
    # the input's folder (a clinic, a person's name) is no output's business
    raw, mapping, path, _ = exports["german"]
    result = anonymize_export(raw, load_policy("aml"), mapping=mapping, key=key, file=str(path))
    text = json.dumps(result.report.to_dict(), default=str)
    assert path.name in text and str(path.parent) not in text


# -- the helpers of raw.py, on frames of a few rows (issue 28: mutation survivors) ---------------
def _mapping(**fields) -> SiteMapping:
    """A mapping with no mapped columns unless given: only drop/missing/date formats matter."""
    return SiteMapping(dictionary="aml", columns=fields.pop("columns", ()), **fields)


def test_identifier_columns_named_by_kind_then_numbered():
    # Setup: four name columns ('name_2' already a data column), two birth dates, one
    # header of no known kind
    headers = ["Prénom", "PATIENT_NAME", "Name2", "Bemerkung", "DOB", "Initialen", "Geb.-Datum"]
    taken = {"age", "name_2"}
    # Run
    names = _canonical(headers, taken)
    # Assert: name, then the lowest free name_<k> counting up from 2, never a taken name
    assert names == {"Prénom": ("name", "name"), "PATIENT_NAME": ("name_3", "name"),
                     "Name2": ("name_4", "name"), "Bemerkung": ("other", "other"),
                     "DOB": ("birth_date", "birth_date"), "Initialen": ("name_5", "name"),
                     "Geb.-Datum": ("birth_date_2", "birth_date")}
    assert taken == {"age", "name", "name_2", "name_3", "name_4", "name_5", "other",
                     "birth_date", "birth_date_2"}


def test_birth_dates_take_a_later_format_that_reads_every_cell():
    # Setup: the mapping's own format reads none of these ISO dates
    text = pd.Series(["1950-02-01", None, "1961-12-31"], dtype="string")
    mapping = _mapping(columns=(ColumnMapping("diagnosis_date", "ED", date_format="%d.%m.%Y"),))
    # Run
    values, bad, fmt = _birth_dates(text, mapping)
    # Assert
    assert fmt == "%Y-%m-%d" and bad == 0
    assert values.tolist() == [pd.Timestamp(1950, 2, 1), pd.NaT, pd.Timestamp(1961, 12, 31)]


def test_birth_dates_keep_the_first_of_equally_good_formats():
    # Setup: the mapping's format and ISO each read one of the two cells (the guess none)
    text = pd.Series(["1950-02-01", "03/04/1950"], dtype="string")
    mapping = _mapping(columns=(ColumnMapping("diagnosis_date", "ED", date_format="%d/%m/%Y"),))
    # Run
    values, bad, fmt = _birth_dates(text, mapping)
    # Assert: the export's own format wins the tie; the other cell is counted, not guessed
    assert fmt == "%d/%m/%Y" and bad == 1
    assert values.tolist() == [pd.NaT, pd.Timestamp(1950, 4, 3)]


def test_birth_dates_stop_at_the_first_format_that_reads_every_cell():
    # Setup: the first format reads every present cell; a later one is a broken strptime
    # format on a column harmonisation never parses as a date (load_mapping only asks for
    # a % directive), which pandas refuses even with errors="coerce"
    text = pd.Series(["03.04.1950", None, "28.02.1961"], dtype="string")
    mapping = _mapping(columns=(
        ColumnMapping("diagnosis_date", "ED", date_format="%d.%m.%Y"),
        ColumnMapping("age", "ALTER", date_format="%Y-%m-%d %q")))
    # Run: the documented rule (the first format that reads every present cell) needs no
    # later candidate, so the broken one is never tried
    values, bad, fmt = _birth_dates(text, mapping)
    # Assert
    assert fmt == "%d.%m.%Y" and bad == 0
    assert values.tolist() == [pd.Timestamp(1950, 4, 3), pd.NaT, pd.Timestamp(1961, 2, 28)]


def test_harmonisation_log_is_silenced_only_inside(caplog):
    # Setup
    logger = logging.getLogger("synthema.tests.counts_only")
    caplog.set_level(logging.INFO, logger=logger.name)
    # Run
    with _counts_only(logger):
        logger.info("cell inside")
    logger.info("line after")
    # Assert: nothing from inside, the logger as it was afterwards
    assert [r.getMessage() for r in caplog.records] == ["line after"]
    assert logger.filters == []


def test_identifier_actions_are_described():
    # Run: neither text reads the report (only a generalised identifier does)
    pseudo = _action_text("pseudonym", "hospital_number", "hospital_number", None)
    removed = _action_text("remove", "name", "name", None)
    # Assert: the hospital number's prefix is H (assessment.RAW_PREFIX)
    assert pseudo == "replaced by a keyed pseudonym (H-...) in column 'hospital_number'"
    assert removed == "removed"


@pytest.mark.parametrize("default_missing, values", [
    (True, ["Ann", None, None, None, None, "Bob"]),
    (False, ["Ann", "NA", None, None, None, "Bob"]),  # only the mapping's markers and empty
])
def test_identifier_missing_markers(default_missing, values):
    # Setup: a default marker, empty and blank cells, the mapping's own marker
    raw = pd.DataFrame({"Name": ["Ann", "NA", "", "  ", "unbekannt", "Bob"],
                        "Alter": ["50", "60", "70", "80", "90", "40"]})
    data = pd.DataFrame({"age": [50, 60, 70, 80, 90, 40]})
    mapping = _mapping(drop=("Name",), missing_values=("unbekannt",),
                       default_missing=default_missing)
    kept = np.ones(len(raw), dtype=bool)
    # Run
    frame, roles, idents = _carry_identifiers(raw, data, mapping, load_policy("aml"), kept)
    # Assert: missing cells are neither counted as values nor carried
    assert roles == {"name": "name"}
    assert frame["name"].astype(object).where(frame["name"].notna(), None).tolist() == values
    assert [i.values for i in idents] == [sum(v is not None for v in values)]


def test_export_index_is_not_a_column(exports, key):
    # Setup: an export with an index of its own and one column nobody mapped
    raw, mapping, _, _ = exports["german"]
    bad = raw.assign(Bemerkung="x")
    bad.index = bad.index + 100
    sources = {s for c in mapping.columns for s in c.needed_sources}
    # Run
    result = anonymize_export(bad, load_policy("aml"), mapping=mapping, key=key)
    # Assert: the ignored columns are the export's unmapped, undropped ones, nothing else
    ignored = {c for c in bad.columns if c not in sources and c not in mapping.drop}
    assert "Bemerkung" in ignored
    assert set(result.report.harmonization.ignored_columns) == ignored
