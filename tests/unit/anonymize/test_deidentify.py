"""Pseudonyms, keys, identifier detection and date methods."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from synthema.anonymize import AnonymizationError, Policy, anonymize, detect_identifiers, read_key
from synthema.anonymize.deidentify import transform_dates
from synthema.anonymize.policy import DatePolicy

OTHER = b"e5b20696486943d48d7f82af6515941d4164160e86abe3f0b604bd973500ae84"


def _ids(raw, policy_name="aml", **kw):
    from synthema.anonymize import load_policy

    return anonymize(raw, load_policy(policy_name), **kw)


def _scoped(scope: str, **kw):
    from synthema.anonymize import load_policy

    return dataclasses.replace(load_policy("aml"), scope=scope, **kw)


def test_linkage_pseudonyms_stable_with_one_key_and_different_with_another(raw_aml, key):
    # Run: the explicit linkage scope, same key twice (two "runs"), then another key
    a = anonymize(raw_aml, _scoped("linkage"), key=key)
    b = anonymize(raw_aml.sample(frac=1.0, random_state=3), _scoped("linkage"), key=key).data
    c = anonymize(raw_aml, _scoped("linkage"), key=OTHER).data
    # Assert
    assert a.data["patient_id"].is_unique and a.data["patient_id"].str.startswith("P-").all()
    assert set(a.data["patient_id"]) == set(b["patient_id"])
    assert not set(a.data["patient_id"]) & set(c["patient_id"])
    # and the report flags it, as a warning and a scorecard row that warns
    from synthema.anonymize.html import scorecard_metrics

    assert a.report.pseudonym.linkable_across_releases is True
    assert any("join on them" in w for w in a.report.warnings)
    row = next(r for r in scorecard_metrics(a.report)
               if r["name"] == "pseudonyms link across releases")
    assert row["status"] == "warn"


def test_two_releases_do_not_join_on_pseudonyms_by_default(raw_aml, key):
    # Setup: the built-in policy and a variant (another purpose) on the same site, one key.
    # Before, both carried the same pseudonyms: joined on patient_id they gave k = 1.
    from synthema.anonymize import load_policy

    base = load_policy("aml")
    variant = dataclasses.replace(base, name="variant", keep=("induction_response",))
    # Run
    one = anonymize(raw_aml, base, key=key)
    two = anonymize(raw_aml, variant, key=key)
    again = anonymize(raw_aml, base, key=key)
    # Assert: no pseudonym in common, so the join is empty (and the report says why)
    joined = one.data.merge(two.data, on="patient_id")
    assert len(joined) == 0 and not set(one.data["patient_id"]) & set(again.data["patient_id"])
    assert one.report.pseudonym.scope == "release"
    assert one.report.pseudonym.linkable_across_releases is False
    # with the explicit linkage scope the same join links every patient, and is flagged
    linked = [anonymize(raw_aml, dataclasses.replace(p, scope="linkage"), key=key)
              for p in (base, variant)]
    assert len(linked[0].data.merge(linked[1].data, on="patient_id")) >= 0.9 * len(raw_aml)
    assert all(r.report.pseudonym.linkable_across_releases for r in linked)


def test_study_scope_links_one_study_and_not_another(key):
    from synthema.anonymize.deidentify import pseudonymize, scope_salt

    ids = pd.Series(["AML-01-00001", "AML-01-00002"])
    a, b, c = (pseudonymize(ids, key, salt=scope_salt(_scoped("study", study=name)))
               for name in ("AML-2026", "AML-2026", "SCD-2026"))
    assert a.tolist() == b.tolist() and not set(a) & set(c)


def test_hospital_number_pseudonyms_differ_between_studies(key):
    # before, H- pseudonyms of one hospital number were equal in AML and SCD releases
    from synthema.anonymize.deidentify import pseudonymize, scope_salt

    mrn = pd.Series(["00123456"])
    aml, scd = (pseudonymize(mrn, key, prefix="H", namespace="hospital_number:",
                             salt=scope_salt(_scoped("study", study=s))) for s in ("aml", "scd"))
    assert aml[0] != scd[0]
    release1, release2 = (pseudonymize(mrn, key, prefix="H", namespace="hospital_number:",
                                       salt=scope_salt(_scoped("release"))) for _ in range(2))
    assert release1[0] != release2[0]


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


@pytest.mark.parametrize("weak", [b"a" * 16, b"a" * 64, b"0123456789abcdef" * 4,
                                  b"password1234567890", b"test-key-0123456789-abcdefghij",
                                  b"qwertyuiopasdfghjkl"])
def test_weak_keys_are_refused_with_how_to_make_one(weak, monkeypatch):
    # Setup: before issue 23, length was the only check: 16 x "a" passed
    monkeypatch.setenv("SYNTHEMA_PSEUDONYM_KEY", weak.decode())
    # Run / Assert
    with pytest.raises(AnonymizationError) as err:
        read_key(Policy(name="x"))
    assert "SYNTHEMA_PSEUDONYM_KEY" in err.value.message
    assert "secrets.token_hex(32)" in err.value.fix
    assert weak.decode() not in err.value.message + err.value.fix  # the key is never shown


def test_random_keys_pass_the_strength_check():
    import secrets

    for _ in range(20):
        assert read_key(Policy(name="x"), key=secrets.token_hex(32).encode())
        assert read_key(Policy(name="x"), key=secrets.token_bytes(32))


def test_pseudonym_collisions_are_refused(key):
    # 2 hex characters: 256 values for 300 ids, a collision is certain; the policy refuses
    # lengths under 16, this is the check behind it
    from synthema.anonymize.deidentify import pseudonymize

    ids = pd.Series([f"AML-01-{i:05d}" for i in range(300)])
    with pytest.raises(AnonymizationError) as err:
        pseudonymize(ids, key, length=2)
    assert "collision" in err.value.message and "AML-01" not in err.value.message
    assert pseudonymize(ids, key, length=16).is_unique


def test_eight_hex_characters_collide_over_200k_ids(key):
    # the defect: length 8 (allowed before) silently merged patients; 16 keeps them apart
    from synthema.anonymize.deidentify import pseudonym

    ids = [f"AML-{i // 100000:02d}-{i % 100000:05d}" for i in range(200_000)]
    short = {pseudonym(v, key, length=8) for v in ids}
    long = {pseudonym(v, key, length=16) for v in ids}
    assert len(short) < len(ids) and len(long) == len(ids)


def test_identifier_headers_detected_but_clinical_columns_not():
    from synthema.schema import load_dictionary

    found = detect_identifiers(["PATIENT_NAME", "MRN", "DOB", "ZIP", "Nom", "Prénom", "IPP",
                                "Date de naissance", "cognome", "n_cartella", "cap",
                                "Telefon", "e-mail", "Adresse", "national_id"])
    assert len(found) == 15
    # German and French headers missed before
    more = ["Telefonnummer", "Patientennummer", "Fallnummer", "Postleitzahl", "Geburtsjahr",
            "Versichertennr", "Numéro de sécurité sociale", "Numéro de dossier"]
    assert detect_identifiers(more) == more
    # missed on main (issue-23 re-review, round 3): patient numbers written short, French
    # e-mail, bank, tax and identity card numbers, birth names, doctors and next of kin
    # under German headers, towns and house numbers, birth places, device ids
    round3 = ["Pat.-Nr.", "PatNr", "Pat-ID", "NDA", "codice paziente", "Befundnummer",
              "courriel", "Faxnummer", "IBAN", "Steuer-ID", "Personalausweis", "Ausweisnummer",
              "Geburtsname", "Mädchenname", "Hausarzt", "Zuweiser", "next of kin",
              "Angehörige", "Notfallkontakt", "Hausnummer", "Ort", "Stadt", "city", "ville",
              "Geburtsort", "luogo di nascita", "device id", "Geräte-ID",
              # German compounds and abbreviations
              "Patientenname", "Patientenvorname", "Oberarzt", "Stationsarzt", "Facharzt",
              "behandelnde Aerztin", "Einweiser", "Fall-Nr.", "Aufnahme-Nr.", "KIS-Nummer",
              "SAP-Nummer", "Versicherten-Nr.", "KV-Nummer", "Krankenversichertennr.",
              "Geburtsdat.", "Emailadresse", "Wohnadresse", "Mobilnr", "Labor-Nr."]
    assert detect_identifiers(round3) == round3
    for name in ("aml", "scd"):
        assert detect_identifiers(list(load_dictionary(name).columns)) == []


def test_raw_export_headers_detected_exactly(tmp_path):
    # every style's identifier columns are found, and none of its clinical columns
    from synthema.cohorts.simulate import simulate, write_cohort
    from synthema.harmonize import load_mapping
    from synthema.tables import read_table

    write_cohort(simulate("aml", sites=4, patients=160, seed=3), tmp_path, disease="aml",
                 raw=True, seed=3)
    for site in range(1, 5):
        mapping = load_mapping(tmp_path / "raw" / f"site_{site:02d}.mapping.yaml")
        header = [str(c) for c in read_table(mapping.data_path(),
                                             **mapping.read_options()).columns]
        assert set(detect_identifiers(header)) == set(mapping.drop)


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


def test_scd_policy_shifts_enrolment_dates(key, date_key):
    from synthema.cohorts.simulate import simulate

    data = pd.concat([c.data for c in simulate("scd", sites=2, patients=400, seed=2)],
                     ignore_index=True)
    result = _ids(data, "scd", key=key, date_key=date_key)
    assert "enrolment_date" in result.report.dates
    assert result.report.achieved.t <= 0.3
    assert result.report.achieved.k >= 5
    policy = dataclasses.replace(Policy(name="x"), pseudonym_column="patient_id")
    assert anonymize(data, policy, key=key).data.columns.tolist() == ["patient_id"]
    # the default (release) scope draws the shifts for the release: no date-shift key read.
    # Linking scopes need it, as a separate secret: missing, or the pseudonym key again,
    # refused
    from synthema.anonymize import load_policy

    linked = dataclasses.replace(load_policy("scd"), scope="linkage")
    with pytest.raises(AnonymizationError, match="SYNTHEMA_DATE_SHIFT_KEY"):
        anonymize(data, linked, key=key)
    with pytest.raises(AnonymizationError, match="is the pseudonym key"):
        anonymize(data, linked, key=key, date_key=key)
