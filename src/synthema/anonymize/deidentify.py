"""De-identification: direct identifiers, free text, keyed pseudonyms and dates.

Pseudonyms are ``prefix + hex(HMAC-SHA256(key, id))[:length]``: without the key they can
be neither reversed nor recomputed from a guessed id, and with the same key every site and
every run maps a patient to the same pseudonym, so pooled releases still link. The key
comes from a file or an environment variable and is never written anywhere.

>>> pseudonym("AML-01-00001", b"0123456789abcdef0123", prefix="P", length=12)
'P-a7abbd160f97'
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
from synthema.anonymize.policy import AnonymizationError, DatePolicy, Policy

MIN_KEY_BYTES = 16

# Header words that mark a direct identifier, by kind, in the languages sites export in.
_ROLE_WORDS = {
    "name": r"name|surname|first ?name|last ?name|given ?name|nom|pr[ée]nom|cognome|nome|"
            r"vorname|nachname",
    "hospital_number": r"mrn|pid|ipp|n ?cartella|hospital ?(number|no|id)|medical ?record|"
                       r"patient ?number",
    "birth_date": r"dob|birth|geburtsdatum|date de naissance|data ?(di )?nascita|naissance",
    "postcode": r"zip|plz|post ?code|postal|code postal|cap",
    "address": r"address|adresse|indirizzo|anschrift|street|stra(ss|ß)e",
    "contact": r"phone|telephone|t[ée]l[ée]phone|telefon|mobile|fax|e-?mail|mail",
    "national_id": r"ssn|nir|insee|national ?id|social ?security|insurance ?(number|no)|"
                   r"codice ?fiscale|versichertennummer|passport",
}
# whole words only: no letter (accented ones included) right before or after
_ROLE_PATTERNS = {role: re.compile(rf"(?<![^\W\d])({words})(?![^\W\d])", re.IGNORECASE)
                  for role, words in _ROLE_WORDS.items()}


def identifier_role(header: str) -> str | None:
    """The kind of direct identifier a header names (None: not an identifier header).

    Kinds are the roles a policy's ``raw:`` section decides on (name, hospital_number,
    birth_date, postcode, address, contact, national_id).

    >>> [identifier_role(h) for h in ("Prénom", "n_cartella", "DOB", "PLZ", "E-Mail", "hb")]
    ['name', 'hospital_number', 'birth_date', 'postcode', 'contact', None]
    >>> identifier_role("data_nascita"), identifier_role("PATIENT_NAME"), identifier_role("Name2")
    ('birth_date', 'name', 'name')
    >>> identifier_role("Splénomégalie") is None  # 'nom' inside a word
    True
    """
    text = str(header).replace("_", " ")
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


def looks_free_text(values: pd.Series) -> bool:
    """A text column of long, mostly unique, multi-word cells (notes, comments).

    >>> looks_free_text(pd.Series(["pt feels better today", "no fever, discharged home"]))
    True
    >>> looks_free_text(pd.Series(["de_novo", "secondary", "de_novo"]))
    False
    """
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
        return False
    if pd.api.types.is_bool_dtype(values):
        return False
    text = values.dropna().astype(str)
    if text.empty:
        return False
    words = text.str.count(r"\s+") + 1
    unique = text.nunique() / len(text)
    return bool(words.mean() >= 3 and (unique >= 0.5 or text.str.len().mean() >= 40))


def read_key(policy: Policy, *, key: bytes | None = None) -> bytes:
    """The pseudonym key: given, else ``pseudonym.key_file``, else ``pseudonym.key_env``.

    Raises:
        AnonymizationError: no key found, or a key shorter than 16 bytes.
    """
    where = "the key argument"
    if key is None and policy.key_file:
        path = Path(policy.key_file)
        if not path.is_absolute() and policy.source != "<policy>":
            path = Path(policy.source).parent / path
        if not path.is_file():
            raise AnonymizationError(f"pseudonym key file {path} not found",
                                     fix="create it (e.g. 32 random bytes) or fix key_file")
        key, where = path.read_bytes().strip(), f"key file {path}"
    if key is None and policy.key_env:
        env = os.environ.get(policy.key_env)
        if env:
            key, where = env.encode("utf-8"), f"environment variable {policy.key_env}"
    if key is None:
        raise AnonymizationError(
            "no pseudonym key: neither pseudonym.key_file nor "
            f"${policy.key_env or 'SYNTHEMA_PSEUDONYM_KEY'} is set",
            fix=f"export {policy.key_env or 'SYNTHEMA_PSEUDONYM_KEY'}=<secret of at least "
                f"{MIN_KEY_BYTES} bytes, e.g. 64 hex digits> or set pseudonym.key_file")
    if len(key) < MIN_KEY_BYTES:
        raise AnonymizationError(f"the pseudonym key from {where} is {len(key)} bytes",
                                 fix=f"use a secret of at least {MIN_KEY_BYTES} bytes")
    return key


def pseudonym(value: str, key: bytes, *, prefix: str = "P", length: int = 16) -> str:
    """The keyed pseudonym of one identifier value."""
    digest = hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:length]
    return f"{prefix}-{digest}" if prefix else digest


def pseudonymize(values: pd.Series, key: bytes, *, prefix: str = "P", length: int = 16,
                 namespace: str = "") -> pd.Series:
    """Replace every identifier by its keyed pseudonym (missing stays missing).

    ``namespace`` is prepended to each value before hashing, so identifiers of different
    kinds (a hospital number, a study id) that happen to be equal get different pseudonyms.
    """
    mapping = {v: pseudonym(namespace + str(v), key, prefix=prefix, length=length)
               for v in values.dropna().unique()}
    return values.map(mapping).astype("string")


def _shift_days(ids: pd.Series, key: bytes, max_days: int) -> np.ndarray:
    """A per-patient shift in ``[-max_days, max_days] \\ {0}`` derived from the key."""
    out = np.zeros(len(ids), dtype=np.int64)
    for i, v in enumerate(ids.astype("string").fillna("")):
        digest = hmac.new(key, b"date-shift:" + v.encode("utf-8"), hashlib.sha256).digest()
        r = int.from_bytes(digest[:8], "big") % (2 * max_days)
        out[i] = r - max_days if r < max_days else r - max_days + 1
    return out


def transform_dates(df: pd.DataFrame, policy: DatePolicy, *, ids: pd.Series | None,
                    key: bytes | None) -> tuple[pd.DataFrame, dict[str, str]]:
    """Apply the policy's date method to its date columns; return the frame and a log.

    ``shift`` moves all dates of one patient by the same keyed offset (same key, same
    shift; intervals within a patient are preserved); ``relative`` replaces each date by
    whole days from the ``anchor`` date (the anchor becomes 0 and is dropped);
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
                    "dates.method shift needs a patient id column and a pseudonym key",
                    fix="set pseudonym.column and a key, or use method relative/generalize")
            shift = pd.to_timedelta(_shift_days(ids, key, policy.max_shift_days), unit="D")
            for c, days in parsed.items():
                df[c] = (days.reset_index(drop=True) + shift).dt.strftime("%Y-%m-%d").values
                log[c] = f"shifted per patient by up to ±{policy.max_shift_days} days"
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
