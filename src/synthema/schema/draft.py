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
from synthema.schema.values import FALSE_WORDS, TRUE_WORDS

MAX_CATEGORIES = 50
_ID_RE = re.compile(r"(^|_)(patient_?)?(id|pid|mrn|number|nr|no)$", re.IGNORECASE)


def _identifier(name: str) -> str:
    ident = re.sub(r"[^0-9A-Za-z_]+", "_", name.strip()).strip("_").lower()
    if not ident or ident[0].isdigit():
        ident = f"v_{ident}"
    return ident


def _infer(values: pd.Series) -> tuple[VariableType | None, dict]:
    text = values.dropna().astype(str).str.strip()
    text = text[text != ""]
    if text.empty:
        return VariableType.CATEGORICAL, {"categories": ["REVIEW"]}
    low = text.str.lower()
    if low.isin(TRUE_WORDS | FALSE_WORDS).all():
        return VariableType.BOOLEAN, {}
    dates = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    if dates.notna().all():
        return VariableType.DATE, {}
    nums = pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce")
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
    patient_id = None
    used: set[str] = set()
    for col in df.columns:
        ident = base = _identifier(str(col))
        k = 2
        while ident in used:
            ident, k = f"{base}_{k}", k + 1
        used.add(ident)
        if ident != col:
            warnings.append(
                f"column '{col}' is named '{ident}' in the draft: harmonise the file with a "
                f"mapping (synthema harmonize) before validating it"
            )
        values = df[col]
        present = values.dropna()
        if patient_id is None and _ID_RE.search(ident) and present.is_unique and len(present):
            patient_id = ident
            warnings.append(f"'{col}' looks like a patient id: used as patient_id")
            continue
        vtype, extra = _infer(values)
        if vtype is None:
            warnings.append(
                f"'{col}' has over {MAX_CATEGORIES} distinct text values (free text or an "
                f"identifier?): left out; add it by hand if it is needed"
            )
            continue
        if vtype.has_categories:
            warnings.append(
                f"'{col}': {len(extra['categories'])} categories copied from the data: "
                f"replace them with the public code list"
            )
        elif vtype.is_numeric or vtype is VariableType.DATE:
            warnings.append(f"'{col}': {vtype.value}; set min/max from clinical knowledge")
        cats = tuple(extra.get("categories", ()))
        variables.append(
            Variable(name=ident, type=vtype, categories=cats, decimals=extra.get("decimals"))
        )
    dictionary = Dictionary(
        name=name,
        version="0.1-draft",
        variables=tuple(variables),
        description="DRAFT inferred from a data file: review bounds and categories.",
        patient_id=patient_id,
    )
    return dictionary, warnings
