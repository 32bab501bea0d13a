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


# --- value heuristics at their thresholds (each boundary: the value on it and one past it) --

def _cell_of_words(words: int, length: int) -> str:
    """One cell of ``words`` words and ``length`` characters (single spaces between them)."""
    letters = length - (words - 1)
    sizes = [letters // words + (i < letters % words) for i in range(words)]
    return " ".join(chr(ord("a") + i) * size for i, size in enumerate(sizes))


def test_two_word_cells_are_free_text_when_mostly_unique():
    from synthema.anonymize.deidentify import looks_free_text

    # Setup: two words a cell (the docstring's "Dr. Hoffmann"), every cell distinct; then
    # exactly half distinct (2 of 4, the 0.5 bound), then 2 of 10 distinct (short cells)
    unique = pd.Series(["Dr. Hoffmann", "Dr. Weber", "Prof. Klein"])
    half = pd.Series(["Dr. Hoffmann", "Dr. Hoffmann", "Dr. Weber", "Dr. Weber"])
    repeated = pd.Series(["complete remission", "partial remission"] * 5)
    # Run
    found = [looks_free_text(s) for s in (unique, half, repeated)]
    # Assert: words per cell = spaces + 1 = 2; unique share 1, 2/4 = 0.5 and 2/10 = 0.2
    assert (unique.str.count(" ") + 1).mean() == 2 and half.nunique() / len(half) == 0.5
    assert found == [True, True, False]


def test_three_word_cells_are_free_text_even_when_repeated():
    from synthema.anonymize.deidentify import looks_free_text

    # Setup: 3 words a cell on average, a third of the cells distinct, short cells
    three = pd.Series(["no fever today", "pain in chest"] * 3)
    mixed = pd.Series(["no fever", "pain in the chest"] * 3)  # 2 and 4 words: mean 3
    below = pd.Series(["no fever", "pain in chest"] * 3)  # 2 and 3 words: mean 2.5
    # Run / Assert: 3 words on average is enough on its own; 2.5 with short repeated cells
    # is not
    assert looks_free_text(three) and looks_free_text(mixed)
    assert not looks_free_text(below)


def test_two_word_cells_are_free_text_when_40_characters_long_on_average():
    from synthema.anonymize.deidentify import looks_free_text

    # Setup: two words a cell, one distinct cell out of 4 (0.25 < 0.5), 40 then 39 characters
    at, below = (pd.Series([_cell_of_words(2, n)] * 4) for n in (40, 39))
    # Run / Assert
    assert at.str.len().mean() == 40 and at.str.count(" ").eq(1).all()
    assert looks_free_text(at) and not looks_free_text(below)


@pytest.mark.parametrize("header", ["has_notes", "comments"])
def test_boolean_and_date_columns_under_a_notes_header_are_not_free_text(header):
    from synthema.anonymize.deidentify import identifier_values, looks_free_text

    # Setup: a yes/no flag and a timestamp column (one distinct time a row, 24 rows): the
    # docstring's "None for numeric, boolean and date columns"; as text the timestamps would
    # read as notes and as codes distinct on every row
    flag = pd.Series([True, False, True, True])
    stamps = pd.Series(pd.date_range("2020-01-01 08:00", periods=24, freq="h"))
    # Run / Assert
    assert not looks_free_text(flag, header) and not looks_free_text(stamps, header)
    assert identifier_values(flag) is None and identifier_values(stamps) is None


@pytest.mark.parametrize(("first", "second", "kind"), [
    ("a.meier@uniklinik-freiburg.de", "b.weber@chu-lyon.fr", "e-mail addresses"),
    ("+49 761 270 0", "0761 270 34010", "phone numbers"),  # 9 and 12 digits
    ("A.B.", "K. M.", "initials"),
])
def test_identifiers_mark_a_column_from_half_of_its_cells(first, second, kind):
    from synthema.anonymize.deidentify import identifier_values

    # Setup: 2 of 4 cells identifiers (the 0.5 bound), then 1 of 3
    half = pd.Series([first, second, "refractory", "complete remission"])
    third = pd.Series([first, "refractory", "complete remission"])
    # Run / Assert
    assert identifier_values(half) == kind
    assert identifier_values(third) is None


@pytest.mark.parametrize(("cells", "digits", "phone"), [
    (["0761 23", "0761 24"], 6, False),
    (["0761 234", "0761 235"], 7, True),
    (["+49 761 2701 2345 67", "+49 761 2701 2345 68"], 15, True),
    (["+49 761 2701 2345 678", "+49 761 2701 2345 679"], 16, False),
])
def test_phone_numbers_hold_7_to_15_digits(cells, digits, phone):
    from synthema.anonymize.deidentify import identifier_values

    # Setup
    values = pd.Series(cells)
    # Run
    found = identifier_values(values)
    # Assert: E.164 numbers have at most 15 digits; 7 is the shortest local number counted
    assert (values.str.count(r"\d") == digits).all()
    assert found == ("phone numbers" if phone else None)


def test_names_with_a_title_identify_a_column_from_a_tenth_of_its_cells():
    from synthema.anonymize.deidentify import identifier_values

    # Setup: 1 title in 10 cells (the 0.1 bound), then 1 in 11
    tenth = pd.Series(["Dr. Hoffmann"] + ["complete remission"] * 9)
    below = pd.Series(["Dr. Hoffmann"] + ["complete remission"] * 10)
    # Run / Assert
    assert identifier_values(tenth) == "names with a title"
    assert identifier_values(below) is None


def test_distinct_codes_are_ids_from_20_filled_rows():
    from synthema.anonymize.deidentify import identifier_values

    # Setup: codes distinct on every row, 20 rows (the bound) then 19
    codes = [f"AML-01-{i:05d}" for i in range(20)]
    # Run / Assert
    assert identifier_values(pd.Series(codes)) == "codes distinct on nearly every row (ids)"
    assert identifier_values(pd.Series(codes[:19])) is None


def test_codes_are_ids_when_90_percent_of_rows_are_distinct():
    import math

    from synthema.anonymize.deidentify import identifier_values

    # Setup: 20 rows with ceil(0.9 * 20) = 18 distinct codes (the bound), then with 17
    n = 20
    distinct = math.ceil(0.9 * n)
    at = [f"AML-01-{i:05d}" for i in range(distinct)]
    at += at[:n - distinct]
    below = [f"AML-01-{i:05d}" for i in range(distinct - 1)]
    below += below[:n - len(below)]
    # Run / Assert
    assert len(at) == len(below) == n and len(set(at)) == distinct == 0.9 * n
    assert identifier_values(pd.Series(at)) == "codes distinct on nearly every row (ids)"
    assert identifier_values(pd.Series(below)) is None


def test_codes_are_ids_when_90_percent_of_cells_hold_digits():
    from synthema.anonymize.deidentify import identifier_values

    # Setup: 20 distinct cells, 18 codes with digits and 2 words without (18/20 = 0.9),
    # then 17 and 3
    words = ["unknown", "pending", "missing"]
    at = [f"AML-01-{i:05d}" for i in range(18)] + words[:2]
    below = [f"AML-01-{i:05d}" for i in range(17)] + words
    # Run / Assert
    assert identifier_values(pd.Series(at)) == "codes distinct on nearly every row (ids)"
    assert identifier_values(pd.Series(below)) is None


def test_codes_need_a_digit_and_one_is_enough():
    import string

    from synthema.anonymize.deidentify import identifier_values

    # Setup: 20 distinct cells with one digit each, then 20 distinct words without digits
    # (surnames under a header that says nothing are not recognised, docs/anonymize.md)
    one_digit = [f"{c}1" for c in string.ascii_uppercase[:20]]
    no_digit = [f"ward {c}{c.lower()}" for c in string.ascii_uppercase[:20]]
    # Run / Assert
    assert identifier_values(pd.Series(one_digit)) == "codes distinct on nearly every row (ids)"
    assert identifier_values(pd.Series(no_digit)) is None


# --- keys: where they are read from, what a missing one says ------------------------------

def test_missing_key_file_is_refused_by_name(tmp_path):
    # Setup: a key file that does not exist, and one that is a folder
    (tmp_path / "keys").mkdir()
    # Run / Assert
    for name in ("absent.key", "keys"):
        policy = Policy(name="x", key_file=name, source=str(tmp_path / "p.yaml"))
        with pytest.raises(AnonymizationError) as err:
            read_key(policy)
        assert f"pseudonym key file {tmp_path / name} not found" in err.value.message
        assert "pseudonym.key_file" in err.value.fix


@pytest.mark.parametrize(("key_env", "named"), [("SITE_PSEUDONYM_KEY", "SITE_PSEUDONYM_KEY"),
                                                (None, "SYNTHEMA_PSEUDONYM_KEY")])
def test_missing_pseudonym_key_names_the_variable_to_set(key_env, named, monkeypatch):
    # Setup: neither the policy's variable nor the default one is set
    for var in ("SITE_PSEUDONYM_KEY", "SYNTHEMA_PSEUDONYM_KEY"):
        monkeypatch.delenv(var, raising=False)
    # Run
    with pytest.raises(AnonymizationError) as err:
        read_key(Policy(name="x", key_env=key_env))
    # Assert: the policy's variable, else the default one
    assert f"${named} is set" in err.value.message
    assert err.value.fix.startswith(f'export {named}="$(')


@pytest.mark.parametrize(("key_env", "named"), [("SITE_DATE_KEY", "SITE_DATE_KEY"),
                                                (None, "SYNTHEMA_DATE_SHIFT_KEY")])
def test_missing_date_shift_key_names_the_variable_to_set(key_env, named, monkeypatch, key):
    from synthema.anonymize.deidentify import read_date_key

    # Setup
    for var in ("SITE_DATE_KEY", "SYNTHEMA_DATE_SHIFT_KEY"):
        monkeypatch.delenv(var, raising=False)
    policy = Policy(name="x", scope="linkage",
                    dates=DatePolicy("shift", ("d",), key_env=key_env))
    # Run
    with pytest.raises(AnonymizationError) as err:
        read_date_key(policy, pseudonym_key=key)
    # Assert
    assert f"${named} is set" in err.value.message
    assert err.value.fix.startswith(f'export {named}="$(')


def test_release_scope_secrets_are_fresh_and_of_the_documented_size(monkeypatch):
    from synthema.anonymize.deidentify import date_shift_key, scope_salt

    # Setup: no date-shift key anywhere (the release scope does not read one)
    monkeypatch.delenv("SYNTHEMA_DATE_SHIFT_KEY", raising=False)
    policy = Policy(name="x", dates=DatePolicy("shift", ("d",)))
    # Run
    shift_keys = [date_shift_key(policy) for _ in range(2)]
    salts = [scope_salt(policy) for _ in range(2)]
    # Assert: 32 random bytes for the shifts, "release:" + 16 random bytes + ":" for the
    # pseudonyms (docs/anonymize.md); two draws are equal with probability 2^-256 / 2^-128
    assert [len(k) for k in shift_keys] == [32, 32] and shift_keys[0] != shift_keys[1]
    for salt in salts:
        assert salt.startswith(b"release:") and salt.endswith(b":")
        assert len(salt) == len(b"release:") + 16 + len(b":")
    assert salts[0] != salts[1]


# --- pseudonyms: the documented closed form ------------------------------------------------

def test_default_pseudonym_is_16_hex_characters_of_the_hmac(key):
    import hashlib
    import hmac

    from synthema.anonymize.deidentify import pseudonym, pseudonymize

    # Setup: P- + the first 16 hex characters of HMAC-SHA256(key, id)
    ids = pd.Series(["AML-01-00001", None, "AML-01-00002"])

    def expected(v):
        return "P-" + hmac.new(key, v.encode(), hashlib.sha256).hexdigest()[:16]

    # Run
    one = pseudonym("AML-01-00001", key)
    column = pseudonymize(ids, key)
    # Assert
    assert one == expected("AML-01-00001")
    assert column[0] == expected("AML-01-00001") and column[2] == expected("AML-01-00002")
    assert pd.isna(column[1])


def test_pseudonym_collisions_are_counted(key):
    import hashlib
    import hmac

    from synthema.anonymize.deidentify import pseudonymize

    # Setup: 40 ids on 1 hex character (16 values): at least 24 ids share a pseudonym
    ids = pd.Series([f"AML-01-{i:05d}" for i in range(40)])
    first = {hmac.new(key, v.encode(), hashlib.sha256).hexdigest()[:1] for v in ids}
    # Run
    with pytest.raises(AnonymizationError) as err:
        pseudonymize(ids, key, length=1, column="patient_id")
    # Assert: ids minus distinct pseudonyms
    assert err.value.message.startswith(f"{len(ids) - len(first)} pseudonym collision(s) in "
                                        "column 'patient_id'")


# --- date methods --------------------------------------------------------------------------

def _shift_residue(key: bytes, patient: str, m: int) -> int:
    """HMAC-SHA256(key, "date-shift:" + id), its first 8 bytes as a big-endian number, mod 2m."""
    import hashlib
    import hmac

    digest = hmac.new(key, b"date-shift:" + patient.encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") % (2 * m)


def _shift_closed_form(key: bytes, patient: str, m: int) -> int:
    """The residue r mapped onto [-m, m] without 0: r - m below m, r - m + 1 from m on."""
    r = _shift_residue(key, patient, m)
    return r - m if r < m else r - m + 1


def test_date_shift_is_the_keyed_offset_added_to_the_date(key):
    # Setup: 30 patients, plus for m = 30 ids whose residue r = HMAC mod 60 is each edge
    # of the mapping: r = 0 -> -30, r = 29 -> -1, r = 30 -> +1 (not 0), r = 59 -> +30
    # (5,000 candidates miss one of the 60 residues with probability below 60 e^-84)
    m = 30
    edges = {}
    for i in range(5000):
        edges.setdefault(_shift_residue(key, f"E{i}", m), f"E{i}")
    ids = [f"P{i}" for i in range(30)] + [edges[r] for r in (0, m - 1, m, 2 * m - 1)]
    true = pd.Series(pd.date_range("2020-01-01", periods=len(ids), freq="7D"))
    df = pd.DataFrame({"id": ids, "d": true.dt.strftime("%Y-%m-%d")})
    # Run
    out, _ = transform_dates(df, DatePolicy("shift", ("d",), max_shift_days=m),
                             ids=df["id"], key=key)
    # Assert: released date = true date + the offset the key gives (docs/anonymize.md:
    # shift = shifted date + follow-up - cut-off), every offset in [-m, m] without 0
    shift = (pd.to_datetime(out["d"]) - true).dt.days
    assert shift.tolist() == [_shift_closed_form(key, v, m) for v in ids]
    assert shift.tail(4).tolist() == [-m, -1, 1, m]
    assert (shift != 0).all() and shift.abs().max() <= m


def test_rows_without_a_patient_id_do_not_share_a_date_shift(key):
    # Setup: 12 rows with no id, one date each, and a patient with two dates
    m = 365
    ids = pd.Series([None] * 12 + ["P1", "P1"], dtype="string")
    true = pd.Series(pd.to_datetime(["2020-03-01"] * 14))
    df = pd.DataFrame({"d": true.dt.strftime("%Y-%m-%d")})
    # Run
    out, log = transform_dates(df, DatePolicy("shift", ("d",), max_shift_days=m),
                               ids=ids, key=key)
    # Assert: the id-less rows' shifts are not one shared shift (12 independent draws on 730
    # values are all equal with probability 730^-11), the patient keeps the keyed shift, and
    # the log counts the rows
    shift = (pd.to_datetime(out["d"]) - true).dt.days
    assert shift[:12].nunique() > 1
    assert shift[12] == shift[13] == _shift_closed_form(key, "P1", m)
    assert (shift != 0).all() and shift.abs().max() <= m
    assert "12 rows without a patient id" in log["d"]


def test_date_methods_with_nothing_to_do_leave_the_frame_alone():
    # Setup
    df = pd.DataFrame({"d": ["2020-01-10", "2021-06-01"]})
    # Run: keep (with columns), and shift with no columns (no id or key needed then)
    kept, kept_log = transform_dates(df, DatePolicy("keep", ("d",)), ids=None, key=None)
    none, none_log = transform_dates(df, DatePolicy("shift", ()), ids=None, key=None)
    # Assert
    assert kept.equals(df) and none.equals(df) and kept_log == none_log == {}


def test_date_shift_without_ids_or_key_is_refused(key):
    # Setup
    df = pd.DataFrame({"id": ["a"], "d": ["2020-01-10"]})
    policy = DatePolicy("shift", ("d",))
    # Run / Assert: either one missing is enough
    for ids, secret in ((df["id"], None), (None, key), (None, None)):
        with pytest.raises(AnonymizationError, match="patient id column and a date-shift key"):
            transform_dates(df, policy, ids=ids, key=secret)


def test_relative_dates_need_the_anchor_column():
    # Setup
    df = pd.DataFrame({"cr": ["2020-02-09"]})
    # Run / Assert
    with pytest.raises(AnonymizationError, match="dates.anchor 'dx' is not a column"):
        transform_dates(df, DatePolicy("relative", ("cr",), anchor="dx"), ids=None, key=None)
