"""Draft a data dictionary from a data file, for a human to review.

A dictionary must be public knowledge: bounds and categories decide the privacy domain
later. A draft made from a private file therefore copies as little as possible from it:
types are inferred, numeric and date *bounds are left out* (the reviewer sets them from
clinical knowledge), and observed categories are listed only so the reviewer can
replace them with the public code list. Every choice is returned as a warning.

>>> import pandas as pd
>>> df = pd.DataFrame({"pid": ["a", "b"], "age": ["61", "70"], "cr": ["yes", "no"],
...                    "sex": ["F", "M"]}, dtype="string")
>>> d, warnings = draft_dictionary(df, name="example")
>>> d.patient_id, [(v.name, v.type.value) for v in d.variables]
('pid', [('age', 'integer'), ('cr', 'boolean'), ('sex', 'categorical')])
"""

from __future__ import annotations

import dataclasses
import re

import pandas as pd

from synthema.schema.dictionary import Dictionary, SurvivalPair, Variable, VariableType
from synthema.schema.values import DATE_FORMATS, FALSE_WORDS, TRUE_WORDS

MAX_CATEGORIES = 50
# "%Y%m%d" is left out: a column of 8-digit numbers (codes, counts) is not drafted as dates
_DATE_FORMATS = tuple(f for f in DATE_FORMATS if f != "%Y%m%d")
_ID_RE = re.compile(r"(^|_)(patient_?)?(id|pid|mrn|number|nr|no)$", re.IGNORECASE)
# Study/pseudonymous ids are the patient id a dictionary should name; hospital numbers
# are direct identifiers and must not travel.
_STUDY_ID_RE = re.compile(
    r"(study|studien|studio|inclusion|pseudo|subject|patient_?id|record_?id)", re.IGNORECASE
)
# Direct identifiers in the languages of the consortium's exports (EN, DE, FR, IT, ES, NL).
_IDENTIFIER_RE = re.compile(
    r"(^|_)(name|names|surname|first_?name|last_?name|given_?name|family_?name|vorname|"
    r"nachname|nom|prenom|prénom|cognome|nome|nombre|apellidos?|naam|voornaam|"
    r"birth|dob|birthdate|date_of_birth|geburt\w*|naissance|nascita|nacimiento|geboorte\w*|"
    r"post_?code|zip|zip_?code|plz|cap|code_postal|postal|address|adresse|indirizzo|"
    r"street|strasse|rue|via|phone|telefon|telephone|téléphone|mobile|e_?mail|mail|"
    r"mrn|hospital_?number|ipp|nhs|ssn|social_?security|national_?id|insurance|"
    r"versicherten\w*|codice_fiscale|nir|bsn)($|_)",
    re.IGNORECASE,
)


def _identifier(name: str) -> str:
    ident = re.sub(r"[^0-9A-Za-z_]+", "_", name.strip()).strip("_").lower()
    if not ident or ident[0].isdigit():
        ident = f"v_{ident}"
    return ident


def _infer(values: pd.Series) -> tuple[VariableType | None, dict]:
    text = values.dropna().astype(str).str.strip()
    text = text[text != ""]
    if text.empty:
        return None, {"empty": True}
    low = text.str.lower()
    if low.isin(TRUE_WORDS | FALSE_WORDS).all():
        return VariableType.BOOLEAN, {}
    for fmt in _DATE_FORMATS:
        if pd.to_datetime(text, format=fmt, errors="coerce").notna().all():
            return VariableType.DATE, {"date_format": fmt}
    nums = pd.to_numeric(text, errors="coerce")
    if nums.notna().all():
        if (nums == nums.round()).all():
            return VariableType.INTEGER, {}
        decimals = int(text.str.extract(r"[.,](\d+)$")[0].str.len().max() or 0)
        return VariableType.CONTINUOUS, {"decimals": min(decimals, 4)}
    uniques = sorted(text.unique())
    if len(uniques) > MAX_CATEGORIES:
        return None, {}
    return VariableType.CATEGORICAL, {"categories": uniques}


def draft_dictionary(df: pd.DataFrame, *, name: str) -> tuple[Dictionary, list[str]]:
    """Infer a dictionary from a text frame; return it with review warnings."""
    warnings = [
        "Review every variable: set min/max bounds and categories from public clinical "
        "knowledge, not from this private file. Numeric and date bounds were left out on "
        "purpose; categories were copied from the data and may expose rare values.",
    ]
    variables: list[Variable] = []
    used: set[str] = set()
    renamed: list[str] = []
    idents = {}
    for col in df.columns:
        ident = base = _identifier(str(col))
        k = 2
        while ident in used:
            ident, k = f"{base}_{k}", k + 1
        used.add(ident)
        idents[col] = ident
        if ident != col:
            renamed.append(f"'{col}' -> {ident}")
    patient_id, id_col = _choose_patient_id(df, idents)
    if patient_id:
        warnings.append(f"'{id_col}' looks like a study patient id: used as patient_id")
    for col, ident in idents.items():
        if col == id_col:
            continue
        values = df[col]
        if _IDENTIFIER_RE.search(ident) or (
            _ID_RE.search(ident) and values.dropna().is_unique and values.notna().any()
        ):
            warnings.append(
                f"'{col}' looks like a direct identifier (name, birth date, address, hospital "
                f"number, ...): left out; it must not be part of a shared dataset"
            )
            continue
        vtype, extra = _infer(values)
        if vtype is None:
            why = (
                "is empty"
                if extra.get("empty")
                else f"has over {MAX_CATEGORIES} distinct text values (free text or an identifier?)"
            )
            warnings.append(f"'{col}' {why}: left out; add it by hand if it is needed")
            continue
        distinct = values.dropna().nunique()
        if vtype.has_categories and distinct > 20 and distinct > 0.5 * values.notna().sum():
            warnings.append(
                f"'{col}': mostly distinct text values (an identifier or free text?): left out"
            )
            continue
        if vtype.has_categories:
            warnings.append(
                f"'{col}': {len(extra['categories'])} categories copied from the data: "
                f"replace them with the public code list"
            )
        elif vtype.is_numeric or vtype is VariableType.DATE:
            warnings.append(f"'{col}': {vtype.value}; set min/max from clinical knowledge")
        if extra.get("date_format", "%Y-%m-%d") != "%Y-%m-%d":
            warnings.append(
                f"'{col}': dates written as {extra['date_format']}: clean files use YYYY-MM-DD, "
                f"so harmonise with a mapping that says date_format: '{extra['date_format']}'"
            )
        cats = tuple(extra.get("categories", ()))
        variables.append(
            Variable(name=ident, type=vtype, categories=cats, decimals=extra.get("decimals"))
        )
    if renamed:
        warnings.append(
            f"{len(renamed)} column name(s) are not plain identifiers and were renamed in the "
            f"draft (e.g. {', '.join(renamed[:3])}): harmonise the file with a mapping "
            f"(synthema harmonize) before validating it"
        )
    variables = _mark_required(variables, df, idents, warnings)
    return Dictionary(name=name, version="0.1-draft", variables=tuple(variables),
                      description="DRAFT inferred from a data file: review bounds and categories.",
                      patient_id=patient_id,
                      survival=tuple(_survival_pairs(variables, warnings))), warnings


def _mark_required(variables: list[Variable], df: pd.DataFrame, idents: dict,
                   warnings: list[str]) -> list[Variable]:
    """Variables with a value in every row are proposed as ``required`` (and said so)."""
    by_ident = {ident: col for col, ident in idents.items()}
    out, marked = [], []
    for var in variables:
        text = df[by_ident[var.name]].astype("string").str.strip()
        if len(df) and text.notna().all() and (text != "").all():
            var = dataclasses.replace(var, required=True)
            marked.append(var.name)
        out.append(var)
    if marked:
        warnings.append(
            f"{len(marked)} variable(s) have a value in every row and are marked required "
            f"({', '.join(marked[:8])}{', ...' if len(marked) > 8 else ''}): remove "
            f"'required' where another site's file may leave them empty")
    return out


_TIME_RE = re.compile(r"^(?P<stem>.*?)_?(days?|time|times|months?|weeks?|years?|duration|"
                      r"futime|fu|followup|follow_up|tte)$", re.IGNORECASE)
_EVENT_RE = re.compile(r"^(?P<stem>.*?)_?(status|event|events|censor|censored|cens|dead|death|"
                       r"died|deceased|fustat|relapse|arrest)$", re.IGNORECASE)


def _survival_pairs(variables: list[Variable], warnings: list[str]) -> list[SurvivalPair]:
    """(time, event) pairs proposed from names: a numeric ``<x>_days``/``_time``/``_months``
    ... with a boolean ``<x>_status``/``_event``/``death`` ... sharing its stem, or the one
    time-like and the one event-like variable left when only one of each remains."""
    times = {m["stem"].rstrip("_").lower(): v.name for v in variables
             if v.type.is_numeric and (m := _TIME_RE.match(v.name))}
    events = {m["stem"].rstrip("_").lower(): v.name for v in variables
              if v.type is VariableType.BOOLEAN and (m := _EVENT_RE.match(v.name))}
    pairs = [SurvivalPair(times[k], events[k]) for k in times if k in events]
    left_t = [t for k, t in times.items() if k not in events]
    left_e = [e for k, e in events.items() if k not in times]
    if len(left_t) == 1 and len(left_e) == 1:
        pairs.append(SurvivalPair(left_t[0], left_e[0]))
    for p in pairs:
        warnings.append(
            f"survival pair proposed from the names: time '{p.time}', event '{p.event}' "
            f"(check that '{p.event}' is the event that ends '{p.time}', censored otherwise; "
            f"mark '{p.time}' as a duration with its unit)")
    return pairs


def _choose_patient_id(df: pd.DataFrame, idents: dict) -> tuple[str | None, str | None]:
    """The column to name as ``patient_id``: a unique study id, never a hospital number."""
    candidates = []
    for col, ident in idents.items():
        present = df[col].dropna()
        if not len(present) or not present.is_unique or _IDENTIFIER_RE.search(ident):
            continue
        if _STUDY_ID_RE.search(str(col)):
            candidates.append((0, col, ident))
        elif _ID_RE.search(ident):
            candidates.append((1, col, ident))
    if not candidates:
        return None, None
    _, col, ident = min(candidates, key=lambda c: c[0])
    return ident, col
