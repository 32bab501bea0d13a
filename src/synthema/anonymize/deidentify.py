"""De-identification: direct identifiers, free text, keyed pseudonyms and dates.

Pseudonyms are ``prefix + hex(HMAC-SHA256(key, scope + id))[:length]``. Without the key
they can be neither reversed nor recomputed from a guessed id. ``scope`` decides how far
they link (``pseudonym.scope``): ``release`` (the default) mixes in a random salt drawn
from the operating system for each run and never written, so two releases share no
pseudonym and nobody, key holders included, can join them on it; ``study`` mixes in the
study's name, so releases of one study link and releases of different studies do not;
``linkage`` is the key alone, the same pseudonym in every release made with the key (the
report flags it). Keys come from a file or an environment variable, must be generated keys
of 32 bytes or more (:func:`synthema.anonymize.keys.check_key`) and are never written
anywhere.

Date shifts (``dates.method: shift``) follow the same scope: under ``release`` they come
from a random secret drawn for the run and never written, so two releases share no shift;
under ``study``/``linkage`` from a second, separate secret, the date-shift key, which stays
at the releasing site: whoever holds the pseudonym key (every site of a consortium) cannot
compute them. Keys are checked by :mod:`synthema.anonymize.keys`. See docs/anonymize.md for
the model.

>>> pseudonym("AML-01-00001", b"0123456789abcdef0123", prefix="P", length=16)
'P-a7abbd160f97040c'
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from synthema.anonymize.hierarchy import date_label, parse_dates
from synthema.anonymize.kept import reads_as_date
from synthema.anonymize.keys import (  # noqa: F401 - check_key is part of this module's API
    MAKE_KEY,
    MIN_KEY_BYTES,
    check_key,
    check_separate_keys,
)
from synthema.anonymize.policy import DatePolicy, Policy
from synthema.errors import AnonymizationError

# Header words that mark a direct identifier, by kind, in the languages sites export in.
_ROLE_WORDS = {
    "name": r"name|surname|first ?name|last ?name|given ?name|nom|pr[ée]nom|cognome|nome|"
            r"vorname|nachname|familienname|nom de famille|initials?|initialen|initiales|"
            r"iniziali|arzt|[äa]rztin|doctor|physician|m[ée]decin|medico|clinician|"
            r"behandler|signature|unterschrift|geburtsname|m[äa]dchenname|maiden ?name|"
            r"birth ?name|nom de naissance|nom de jeune fille|hausarzt|haus[äa]rztin|zuweiser|"
            r"einsender|next of kin|angeh[öo]rige[rn]?|notfallkontakt|kontaktperson|"
            r"patienten ?(vor|nach)?name|pat ?name|kontaktname|einweiser|"
            r"(ober|stations|assistenz|fach|chef|kinder|einweisender|zuweisender)?"
            r"(arzt|[äa]rztin|aerztin|aerzt)",
    "hospital_number": r"mrn|pid|ipp|n ?cartella|hospital ?(number|no|id)|medical ?record|"
                       r"patient ?(number|no|nr|id)|patientennummer|patientennr|patienten ?id|"
                       r"fallnummer|fallnr|fall ?id|aufnahmenummer|krankenblattnummer|"
                       r"aktenzeichen|akten ?(nummer|nr)|case ?(number|no|nr|id)|"
                       r"encounter ?(number|no|id)|visit ?(number|no)|"
                       r"num[ée]ro (de |du )?(patient|dossier|s[ée]jour)|n[°o] ?dossier|"
                       r"numero (di )?(cartella|paziente)|pat ?(nr|no|id|nummer)|nda|"
                       r"codice ?paziente|befund ?(nummer|nr)|visit ?id|"
                       r"fall ?(nr|nummer|no)|aufnahme ?(nr|nummer|no)|"
                       r"(kis|sap|ish|his|orbis) ?(nr|nummer|no|id)",
    "birth_date": r"dob|birth|birth ?date|birthday|date ?of ?birth|geburtsdatum|geburtstag|"
                  r"geburtsjahr|geb ?datum|geb ?dat|gebdat|gebdatum|geb|"
                  r"date de naissance|ann[ée]e de naissance|data ?(di )?nascita|"
                  r"anno (di )?nascita|naissance|year of birth|birth ?year|geburtsdat|yob",
    "postcode": r"zip|plz|post ?code|postal|code postal|cap|postleitzahl|codice postale",
    "address": r"address|adresse|indirizzo|anschrift|street|stra(ss|ß)e|wohnort|domicile|"
               r"hausnummer|house ?number|city|town|ville|citt[àa]|stadt|ort|gemeinde|"
               r"commune|comune|wohnadresse|wohnanschrift|postanschrift",
    "contact": r"phone|telephone|t[ée]l[ée]phone|telefon|telefonnummer|telefonnr|tel|"
               r"handy|handynummer|mobil|mobilnummer|mobiltelefon|portable|cellulare|"
               r"telefono|mobile|fax|faxnummer|e-?mail|mail|courriel|e ?mail ?adresse|"
               r"emailadresse|mobil ?(nr|nummer)|telefon ?(nr|nummer)",
    "national_id": r"ssn|nir|insee|national ?id|social ?security|insurance ?(number|no)|"
                   r"codice ?fiscale|versichertennummer|versichertennr|versicherungsnummer|"
                   r"krankenversichertennummer|sozialversicherungsnummer|svnr|sv ?nummer|"
                   r"(num[ée]ro de )?s[ée]curit[ée] sociale|carte vitale|tessera sanitaria|"
                   r"nhs ?(number|no|nr)?|chi ?number|bsn|passport|reisepass|passeport|iban|"
                   r"steuer ?(id|nummer|nr)|tax ?id|personalausweis(nummer)?|"
                   r"versicherten ?(nr|nummer)|kv ?(nr|nummer)|krankenversichertennr|"
                   r"ausweis ?(nummer|nr)|id ?card|carte d'identit[ée]|carta d'identit[àa]",
    "other": r"sample ?(id|number|no|nr)|specimen ?(id|number|no)|probe ?id|"
             r"proben ?(id|nummer|nr)|probennummer|labornummer|lab ?(number|no|id)|"
             r"biobank ?(id|number|no)|accession ?(number|no)|auftragsnummer|"
             r"geburtsort|place of birth|birth ?place|lieu de naissance|luogo di nascita|"
             r"device ?id|ger[äa]te ?id|ip ?(address|adresse)|labor ?(nr|nummer)",
}
# whole words only: no letter (accented ones included) right before or after
_ROLE_PATTERNS = {role: re.compile(rf"(?<![^\W\d])({words})(?![^\W\d])", re.IGNORECASE)
                  for role, words in _ROLE_WORDS.items()}
#: the harmonised tables' patient id: pseudonymised by the policy, or refused in clear by
#: :func:`synthema.anonymize.pipeline.check_release` (it is not removed as a header)
_STUDY_ID = "patient_id"


def _header_words(header: str) -> str:
    """A header as words: ``Geb.-Datum`` -> ``Geb Datum``, ``PatientID`` -> ``Patient ID``."""
    text = re.sub(r"(?<=[a-zäöüéè])(?=[A-Z])", " ", str(header))  # camelCase
    return re.sub(r"[\s_.\-/]+", " ", text).strip()


def identifier_role(header: str) -> str | None:
    """The kind of direct identifier a header names (None: not an identifier header).

    Kinds are the roles a policy's ``raw:`` section decides on (name, hospital_number,
    birth_date, postcode, address, contact, national_id, other).

    >>> [identifier_role(h) for h in ("Prénom", "n_cartella", "DOB", "PLZ", "E-Mail", "hb")]
    ['name', 'hospital_number', 'birth_date', 'postcode', 'contact', None]
    >>> identifier_role("data_nascita"), identifier_role("PATIENT_NAME"), identifier_role("Name2")
    ('birth_date', 'name', 'name')
    >>> identifier_role("Splénomégalie") is None  # 'nom' inside a word
    True
    >>> [identifier_role(h) for h in ("Telefonnummer", "Fallnummer", "Postleitzahl",
    ...                               "Geburtsjahr", "Numéro de sécurité sociale")]
    ['contact', 'hospital_number', 'postcode', 'birth_date', 'national_id']
    >>> [identifier_role(h) for h in ("Patient ID", "birthdate", "Geb.-Datum", "Tel.", "SVNR",
    ...                               "NHS number", "Initialen", "Sample ID", "patient_id")]
    ... # doctest: +NORMALIZE_WHITESPACE
    ['hospital_number', 'birth_date', 'birth_date', 'contact', 'national_id', 'national_id',
     'name', 'other', None]
    """
    if str(header) == _STUDY_ID:
        return None
    text = _header_words(header)
    for role, pattern in _ROLE_PATTERNS.items():
        if pattern.search(text):
            return role
    return None


def detect_identifiers(columns: list[str]) -> list[str]:
    """Columns whose header names a direct identifier (name, number, birth date, contact).

    >>> detect_identifiers(["Name", "PID", "Alter", "E-Mail", "hb", "Code postal"])
    ['Name', 'PID', 'E-Mail', 'Code postal']
    """
    return [c for c in columns if identifier_role(c) is not None]


_FREE_TEXT_HEADER = re.compile(
    r"(?<![^\W\d])(notes?|comments?|remarks?|free ?text|freitext|bemerkung(en)?|kommentar(e)?|"
    r"anmerkung(en)?|notiz(en)?|commentaires?|remarques?|observations?|osservazioni|"
    r"commenti|annotazioni|narrative|text)(?![^\W\d])", re.IGNORECASE)
_TITLE = re.compile(r"^(dr|prof|herr|frau|mr|mrs|ms|mme|mlle|dott|dott\.ssa|sig|sig\.ra)"
                    r"\.?\s+\w", re.IGNORECASE)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_PHONE = re.compile(r"^(\+|00|0)[\d\s()/.-]{6,}$")
_INITIALS = re.compile(r"^([^\W\d_]\.\s?-?){2,3}$")


def _text_cells(values: pd.Series) -> pd.Series | None:
    """The non-missing cells as stripped text; None for numeric, boolean and date columns."""
    if (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values)
            or pd.api.types.is_bool_dtype(values)):
        return None
    text = values.dropna().astype(str).str.strip()
    text = text[text != ""]
    return None if text.empty else text


def _numbers_or_dates(text: pd.Series) -> pd.Series:
    """Which cells read as a number (without a leading zero) or a date."""
    num = pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce").notna()
    num &= ~text.str.match(r"^0\d")  # 00123: a code, not a number
    return num | reads_as_date(text)


def looks_free_text(values: pd.Series, header: str = "") -> bool:
    """A text column of notes: a notes/comments header, or multi-word, mostly unique cells.

    Two words are enough ("Dr. Hoffmann", "seen by Meier"): free text can carry names,
    places and dates in any form, so it leaves only when a policy lists it.

    >>> looks_free_text(pd.Series(["pt feels better today", "no fever, discharged home"]))
    True
    >>> looks_free_text(pd.Series(["Dr. Hoffmann", "Dr. Weber"]), "notes")
    True
    >>> looks_free_text(pd.Series(["de_novo", "secondary", "de_novo"]))
    False
    >>> looks_free_text(pd.Series(["complete remission", "refractory"] * 20))
    False
    """
    text = _text_cells(values)
    if text is None:
        return False
    if _FREE_TEXT_HEADER.search(str(header).replace("_", " ")):
        return not bool(_numbers_or_dates(text).all())
    words = text.str.count(r"\s+") + 1
    unique = text.nunique() / len(text)
    return bool(words.mean() >= 3
                or (words.mean() >= 2 and (unique >= 0.5 or text.str.len().mean() >= 40)))


def identifier_values(values: pd.Series) -> str | None:
    """What kind of direct identifier a column's values look like (None: none).

    Headers lie ("code", "ref", "contact_1"), so values are judged too: e-mail addresses,
    phone numbers, names with a title, initials (``A.B.``), and codes that are distinct on
    (nearly) every row and hold digits but are neither numbers nor dates (study ids,
    hospital numbers).

    >>> identifier_values(pd.Series([f"AML-01-{i:05d}" for i in range(30)]))
    'codes distinct on nearly every row (ids)'
    >>> identifier_values(pd.Series(["Dr. Hoffmann", "Dr. Weber", "Prof. Klein"]))
    'names with a title'
    >>> identifier_values(pd.Series(["A.B.", "K. M.", "Ö.S."]))
    'initials'
    >>> identifier_values(pd.Series([str(d) for d in range(30)])) is None  # numbers
    True
    """
    text = _text_cells(values)
    if text is None:
        return None
    n = len(text)
    if text.str.match(_EMAIL).mean() >= 0.5:
        return "e-mail addresses"
    plain = ~_numbers_or_dates(text)
    digits = text.str.count(r"\d")
    phone = text.str.match(_PHONE) & digits.between(7, 15) & plain
    if phone.mean() >= 0.5:
        return "phone numbers"
    if text.str.match(_TITLE).mean() >= 0.1:
        return "names with a title"
    if text.str.match(_INITIALS).mean() >= 0.5:
        return "initials"
    if n >= 20 and text.nunique() >= 0.9 * n and (plain & (digits > 0)).mean() >= 0.9:
        return "codes distinct on nearly every row (ids)"
    return None


def _key_file_bytes(data: bytes) -> bytes:
    r"""A key file's key: a text key without the spaces and newline around it, binary as is.

    A binary key (``secrets.token_bytes(32)``) may start or end with a byte that reads as
    white space (6 of 256 values, so about 1 file in 22): stripping it would leave 31 bytes,
    refused as too short, or a different key.

    >>> _key_file_bytes(b"ab12\n"), _key_file_bytes(b"\n\xff\x00 ")
    (b'ab12', b'\n\xff\x00 ')
    """
    stripped = data.strip()
    try:
        text = stripped.decode("utf-8")
    except UnicodeDecodeError:
        return data
    return stripped if text.isprintable() else data


def _read_secret(*, given: bytes | None, key_file: str | None, key_env: str | None,
                 source: str, what: str, keys: str) -> tuple[bytes, str] | None:
    """A secret given, else read from ``key_file``, else from ``key_env``; with its origin."""
    if given is not None:
        return given, "the key argument"
    if key_file:
        path = Path(key_file)
        if not path.is_absolute() and source != "<policy>":
            path = Path(source).parent / path
        if not path.is_file():
            raise AnonymizationError(f"{what} file {path} not found",
                                     fix=f"create it ({MAKE_KEY} > FILE) or fix {keys}.key_file")
        return _key_file_bytes(path.read_bytes()), f"key file {path}"
    if key_env:
        env = os.environ.get(key_env)
        if env:
            return env.encode("utf-8"), f"environment variable {key_env}"
    return None


def read_key(policy: Policy, *, key: bytes | None = None) -> bytes:
    """The pseudonym key: given, else ``pseudonym.key_file``, else ``pseudonym.key_env``.

    Raises:
        AnonymizationError: no key found, or a short or guessable key (:func:`check_key`).
    """
    found = _read_secret(given=key, key_file=policy.key_file, key_env=policy.key_env,
                         source=policy.source, what="pseudonym key", keys="pseudonym")
    if found is None:
        env = policy.key_env or "SYNTHEMA_PSEUDONYM_KEY"
        raise AnonymizationError(
            f"no pseudonym key: neither pseudonym.key_file nor ${env} is set",
            fix=f'export {env}="$({MAKE_KEY})" (at least {MIN_KEY_BYTES} random bytes) or set '
                "pseudonym.key_file")
    return check_key(*found)


def read_date_key(policy: Policy, *, key: bytes | None = None,
                  pseudonym_key: bytes | None = None) -> bytes:
    """The date-shift key: given, else ``dates.key_file``, else ``dates.key_env``.

    It must not be the pseudonym key nor a near copy of it: every site of a consortium
    holds that one, and with it (and guessable study ids) the shifts could be recomputed.

    Raises:
        AnonymizationError: no key, a weak key, or the pseudonym key (nearly) again.
    """
    dates = policy.dates
    found = _read_secret(given=key, key_file=dates.key_file, key_env=dates.key_env,
                         source=policy.source, what="date-shift key", keys="dates")
    env = dates.key_env or "SYNTHEMA_DATE_SHIFT_KEY"
    if found is None:
        raise AnonymizationError(
            f"dates.method shift under pseudonym.scope {policy.scope} needs a date-shift key: "
            f"neither dates.key_file nor ${env} is set",
            fix=f'export {env}="$({MAKE_KEY})": a second secret, kept at this site and never '
                "shared (not the pseudonym key)")
    if pseudonym_key is not None:  # first: the more telling message for a near copy
        check_separate_keys(found[0], pseudonym_key, found[1])
    return check_key(*found, what="date-shift key")


def date_shift_key(policy: Policy, *, key: bytes | None = None,
                   pseudonym_key: bytes | None = None) -> bytes:
    """The secret the date shifts are computed from, as far as the pseudonyms link.

    The shifts follow ``pseudonym.scope``, like the pseudonyms: a shift shared by two
    releases joins them on the shifted dates as surely as a shared pseudonym would.

    - ``release``: 32 random bytes from the operating system, new for each run and never
      written or logged; the date-shift key is not read. Two releases of one site carry
      unrelated shifts, so their shifted dates join nothing.
    - ``study``: HMAC-SHA256(date-shift key, study name): the same shift in every release of
      the study made with the key, another one in another study.
    - ``linkage``: the date-shift key itself: the same shift in every release made with it.

    Raises:
        AnonymizationError: under ``study``/``linkage``, no date-shift key, a weak one, or
            the pseudonym key (nearly) again (:func:`read_date_key`).
    """
    match policy.scope:
        case "release":
            return os.urandom(32)
        case "study":
            base = read_date_key(policy, key=key, pseudonym_key=pseudonym_key)
            study = (policy.study or policy.name).encode("utf-8")
            return hmac.new(base, b"date-shift-study:" + study, hashlib.sha256).digest()
        case "linkage":
            return read_date_key(policy, key=key, pseudonym_key=pseudonym_key)
        case _:
            raise ValueError(f"unknown pseudonym scope {policy.scope!r}")


def scope_salt(policy: Policy) -> bytes:
    """What is mixed into every pseudonym's HMAC input under the policy's scope.

    ``release``: 16 random bytes from the operating system, new for each run and never
    written or logged (a release's pseudonyms link to nothing outside it); ``study``: the
    study's name (``pseudonym.study``, default the policy's name); ``linkage``: nothing.
    """
    match policy.scope:
        case "release":
            return b"release:" + os.urandom(16) + b":"
        case "study":
            return b"study:" + (policy.study or policy.name).encode("utf-8") + b":"
        case "linkage":
            return b""
        case _:
            raise ValueError(f"unknown pseudonym scope {policy.scope!r}")


def pseudonym(value: str, key: bytes, *, prefix: str = "P", length: int = 16,
              salt: bytes = b"") -> str:
    """The keyed pseudonym of one identifier value (``salt``: see :func:`scope_salt`)."""
    digest = hmac.new(key, salt + value.encode("utf-8"), hashlib.sha256).hexdigest()[:length]
    return f"{prefix}-{digest}" if prefix else digest


def pseudonymize(values: pd.Series, key: bytes, *, prefix: str = "P", length: int = 16,
                 namespace: str = "", salt: bytes = b"", column: str = "") -> pd.Series:
    """Replace every identifier by its keyed pseudonym (missing stays missing).

    ``namespace`` is prepended to each value before hashing, so identifiers of different
    kinds (a hospital number, a study id) that happen to be equal get different pseudonyms.
    Two different ids that would get the same pseudonym are refused, not merged.

    Raises:
        AnonymizationError: two ids collide (only with a short ``length``).
    """
    mapping = {v: pseudonym(namespace + str(v), key, prefix=prefix, length=length, salt=salt)
               for v in values.dropna().unique()}
    if len(set(mapping.values())) < len(mapping):
        clashes = len(mapping) - len(set(mapping.values()))
        raise AnonymizationError(
            f"{clashes} pseudonym collision(s) in column '{column}': two different ids would "
            f"share a {length}-character pseudonym (ids not shown)",
            fix="raise pseudonym.length (16 or more hex characters)")
    return values.map(mapping).astype("string")


def _shift_days(ids: pd.Series, key: bytes, max_days: int) -> np.ndarray:
    """A per-patient shift, uniform on ``[-max_days, max_days] \\ {0}``, keyed by ``key``.

    ``key`` comes from :func:`date_shift_key`: random for each release under the default
    scope, so one patient's dates share one shift within a release and no shift is shared
    between releases; the keyed, stable shift only under ``study``/``linkage``. A row with no
    patient id gets a shift of its own from the operating system (rows without an id would
    otherwise all share the shift of the empty id: one known date would reveal them all).
    """
    out = np.zeros(len(ids), dtype=np.int64)
    for i, v in enumerate(ids.astype("string")):
        if pd.isna(v):  # no patient to share a shift with: a fresh one, never stored
            digest = os.urandom(8)
        else:
            digest = hmac.new(key, b"date-shift:" + v.encode("utf-8"), hashlib.sha256).digest()
        r = int.from_bytes(digest[:8], "big") % (2 * max_days)
        out[i] = r - max_days if r < max_days else r - max_days + 1
    return out


def transform_dates(df: pd.DataFrame, policy: DatePolicy, *, ids: pd.Series | None,
                    key: bytes | None) -> tuple[pd.DataFrame, dict[str, str]]:
    """Apply the policy's date method to its date columns; return the frame and a log.

    ``shift`` moves all dates of one patient by the same keyed offset (same key, same
    shift; intervals within a patient are preserved; the key is :func:`date_shift_key`'s);
    ``relative`` replaces each date by whole days from the ``anchor`` date (the anchor
    becomes 0 and is dropped);
    ``generalize`` keeps the month, quarter, year or decade.
    """
    if policy.method == "keep" or not policy.columns:
        return df, {}
    df = df.copy()
    log: dict[str, str] = {}
    parsed = {c: parse_dates(df[c], c, policy.format) for c in policy.columns}
    match policy.method:
        case "shift":
            if ids is None or key is None:
                raise AnonymizationError(
                    "dates.method shift needs a patient id column and a date-shift key",
                    fix="set pseudonym.column and a date-shift key (dates.key_env or "
                        "dates.key_file), or use method relative/generalize")
            shift = pd.to_timedelta(_shift_days(ids, key, policy.max_shift_days), unit="D")
            no_id = int(ids.isna().sum())
            for c, days in parsed.items():
                df[c] = (days.reset_index(drop=True) + shift).dt.strftime("%Y-%m-%d").values
                log[c] = f"shifted per patient by up to ±{policy.max_shift_days} days" + (
                    f" ({no_id} rows without a patient id: each its own shift)" if no_id else "")
        case "relative":
            anchor = policy.anchor or ""
            if anchor not in df:
                raise AnonymizationError(f"dates.anchor '{anchor}' is not a column",
                                         fix="name a date column of the input as anchor")
            base = parse_dates(df[anchor], anchor, policy.format)
            for c, days in parsed.items():
                if c != anchor:
                    df[c] = (days - base).dt.days.astype("Int64")
                    log[c] = f"days from {anchor}"
            df = df.drop(columns=[anchor])
            log[anchor] = "dropped (anchor of relative days)"
        case "generalize":
            for c, days in parsed.items():
                df[c] = pd.Series([None if pd.isna(d) else date_label(d, policy.granularity)
                                   for d in days], index=df.index, dtype="string")
                log[c] = f"generalised to {policy.granularity}"
        case _:
            raise ValueError(f"unknown date method {policy.method!r}")
    return df, log


def relative_durations(df: pd.DataFrame, work: pd.DataFrame, date_log: dict[str, str], *,
                       quasi_identifiers: list[str]) -> tuple[pd.DataFrame, dict[str, str]]:
    """The input with each relative date that is a quasi-identifier replaced by its days.

    Days from an anchor are a duration: with a public data cut-off they give the date back,
    so they leave only generalised, as a quasi-identifier. Hierarchies are built from the
    input, so the input's date becomes the days ``work`` holds for it (the interval
    hierarchy then bands the days, not the date).

    Returns:
        ``(input, date log)``, the log saying which days were generalised.
    """
    cols = [c for c, how in date_log.items()
            if how.startswith("days from") and c in quasi_identifiers and c in work]
    if not cols:
        return df, date_log
    log = dict(date_log) | {c: f"{date_log[c]}, generalised as a quasi-identifier"
                            for c in cols}
    return df.assign(**{c: work[c].to_numpy() for c in cols}), log
