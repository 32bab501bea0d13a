"""A one-line-per-site description of a clean cohort file (what `synthema summary` prints).

>>> import pandas as pd
>>> from synthema.schema.dictionary import Dictionary
>>> d = Dictionary.from_mapping({"name": "x", "version": 1, "variables": [
...     {"name": "age", "type": "integer"}, {"name": "sex", "type": "categorical",
...      "categories": ["F", "M"]}]})
>>> summarize(pd.DataFrame({"age": ["60", "70"], "sex": ["F", "M"]}), d, name="s.csv")["median age"]
'65'
"""

from __future__ import annotations

import pandas as pd

from synthema.errors import ValidationFailed
from synthema.schema.dictionary import Dictionary
from synthema.schema.values import typed_frame


def summarize(raw: pd.DataFrame, dictionary: Dictionary, *, name: str,
              typed: pd.DataFrame | None = None) -> dict[str, str]:
    """Patients, age, sex, missingness, survival events and rule violations of one file.

    ``typed``: the file as validation typed it (cells outside their type, range or categories
    missing); by default the values are only parsed. Either way the cells that held a value
    and came out missing are counted (``invalid cells (read as missing)``).
    """
    missing = [c for c in dictionary.columns if c not in raw.columns]
    if missing:
        raise ValidationFailed(
            f"{name}: {len(missing)} dictionary column(s) missing, e.g. {', '.join(missing[:3])}",
            fix="run `synthema validate` on the file, or harmonise it first",
        )
    df = typed_frame(raw, dictionary) if typed is None else typed
    out = {"file": name, "patients": str(len(df))}
    if "age" in dictionary and len(df):
        out["median age"] = f"{df['age'].median():.0f}"
    if "sex" in dictionary and "F" in dictionary["sex"].categories and len(df):
        out["female"] = f"{(df['sex'] == 'F').mean():.0%}"
    cells = df[list(dictionary.names)]
    out["missing cells"] = f"{cells.isna().to_numpy().mean():.1%}" if len(df) else "-"
    # cells with a value the dictionary does not accept are read as missing: count them
    given = raw[list(dictionary.names)].notna().to_numpy()
    out["invalid cells (read as missing)"] = str(int((given & cells.isna().to_numpy()).sum()))
    for pair in dictionary.survival:
        events = int(df[pair.event].fillna(False).sum())
        known = int(df[pair.time].notna().sum())
        out[pair.label or pair.time] = f"{events}/{known} events"
    if dictionary.rules and len(df):
        results = dictionary.evaluate_rules(df)
        violated = (results == False).fillna(False).to_numpy(dtype=bool).sum()  # noqa: E712
        out["rule violations"] = str(int(violated))
    return out
