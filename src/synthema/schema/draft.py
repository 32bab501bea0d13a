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

import re

import pandas as pd

from synthema.schema.dictionary import Dictionary, Variable, VariableType
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
    dictionary = Dictionary(
        name=name,
        version="0.1-draft",
        variables=tuple(variables),
        description="DRAFT inferred from a data file: review bounds and categories.",
        patient_id=patient_id,
    )
    return dictionary, warnings


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
