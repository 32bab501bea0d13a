"""Pseudonyms, keys, identifier detection and date methods."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from synthema.anonymize import AnonymizationError, Policy, anonymize, detect_identifiers, read_key
from synthema.anonymize.deidentify import transform_dates
from synthema.anonymize.policy import DatePolicy

OTHER = b"another-key-abcdefghijklmnopqrstu"


def _ids(raw, policy_name="aml", **kw):
    from synthema.anonymize import load_policy

    return anonymize(raw, load_policy(policy_name), **kw)


def test_pseudonyms_stable_with_one_key_and_different_with_another(raw_aml, key):
    # Run: the same key twice (two "runs"), then another key
    a = _ids(raw_aml, key=key).data
    b = _ids(raw_aml.sample(frac=1.0, random_state=3), key=key).data
    c = _ids(raw_aml, key=OTHER).data
    # Assert
    assert a["patient_id"].is_unique and a["patient_id"].str.startswith("P-").all()
    assert set(a["patient_id"]) == set(b["patient_id"])
    assert not set(a["patient_id"]) & set(c["patient_id"])


def test_same_patient_same_pseudonym_across_sites(key):
    from synthema.anonymize import pseudonym

    site1 = pseudonym("AML-01-00001", key)
    site2 = pseudonym("AML-01-00001", key)
    assert site1 == site2 != pseudonym("AML-01-00002", key)


def test_key_from_file_and_environment(tmp_path, monkeypatch, key):
    (tmp_path / "secret.key").write_bytes(key + b"\n")
    policy = Policy(name="x", key_file="secret.key", source=str(tmp_path / "p.yaml"))
    assert read_key(policy) == key
    monkeypatch.setenv("MY_KEY", OTHER.decode())
    assert read_key(Policy(name="x", key_env="MY_KEY")) == OTHER


def test_missing_or_short_key_raises(monkeypatch):
    monkeypatch.delenv("SYNTHEMA_PSEUDONYM_KEY", raising=False)
    with pytest.raises(AnonymizationError) as err:
        read_key(Policy(name="x"))
    assert "SYNTHEMA_PSEUDONYM_KEY" in err.value.fix
    with pytest.raises(AnonymizationError, match="bytes"):
        read_key(Policy(name="x"), key=b"short")


def test_identifier_headers_detected_but_clinical_columns_not():
    from synthema.schema import load_dictionary

    found = detect_identifiers(["PATIENT_NAME", "MRN", "DOB", "ZIP", "Nom", "Prénom", "IPP",
                                "Date de naissance", "cognome", "n_cartella", "cap",
                                "Telefon", "e-mail", "Adresse", "national_id"])
    assert len(found) == 15
    for name in ("aml", "scd"):
        assert detect_identifiers(list(load_dictionary(name).columns)) == []


def test_date_shift_is_consistent_per_patient(key):
    df = pd.DataFrame({"id": ["a", "a", "b"],
                       "d1": ["2020-01-10", "2020-03-01", "2020-01-10"],
                       "d2": ["2020-01-20", "2020-03-11", "2020-01-20"]})
    out, log = transform_dates(df, DatePolicy("shift", ("d1", "d2"), max_shift_days=30),
                               ids=df["id"], key=key)
    d1, d2 = pd.to_datetime(out["d1"]), pd.to_datetime(out["d2"])
    shift = d1 - pd.to_datetime(df["d1"])
    assert shift[0] == shift[1] and 0 < abs(shift[0].days) <= 30
    assert ((d2 - d1).dt.days == 10).all()  # intervals within a patient are kept
    again, _ = transform_dates(df, DatePolicy("shift", ("d1", "d2"), max_shift_days=30),
                               ids=df["id"], key=key)
    assert again["d1"].tolist() == out["d1"].tolist() and set(log) == {"d1", "d2"}


def test_relative_and_generalised_dates():
    df = pd.DataFrame({"dx": ["2020-01-10", "2021-06-01"], "cr": ["2020-02-09", None]})
    rel, _ = transform_dates(df, DatePolicy("relative", ("cr",), anchor="dx"), ids=None,
                             key=None)
    assert list(rel.columns) == ["cr"] and rel["cr"].tolist()[0] == 30
    gen, _ = transform_dates(df, DatePolicy("generalize", ("dx",), granularity="quarter"),
                             ids=None, key=None)
    assert gen["dx"].tolist() == ["2020-Q1", "2021-Q2"]


def test_unparseable_date_names_the_format():
    df = pd.DataFrame({"d": ["10.01.2020"]})
    with pytest.raises(AnonymizationError) as err:
        transform_dates(df, DatePolicy("generalize", ("d",)), ids=None, key=None)
    assert "dates.format" in err.value.fix


def test_scd_policy_shifts_enrolment_dates(key):
    from synthema.cohorts.simulate import simulate

    data = pd.concat([c.data for c in simulate("scd", sites=2, patients=200, seed=2)],
                     ignore_index=True)
    result = _ids(data, "scd", key=key)
    assert "enrolment_date" in result.report["dates"]
    assert result.report["achieved"]["t"] <= 0.3
    assert result.report["achieved"]["l_entropy"] >= 2
    policy = dataclasses.replace(Policy(name="x"), pseudonym_column="patient_id")
    assert anonymize(data, policy, key=key).data.columns.tolist() == ["patient_id"]
