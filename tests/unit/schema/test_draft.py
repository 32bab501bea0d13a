"""Drafting a dictionary from data: types inferred, bounds not copied, warnings given."""

from __future__ import annotations

import pandas as pd

from synthema.schema import load_dictionary
from synthema.schema.draft import draft_dictionary


def test_draft_infers_types_and_leaves_bounds_out():
    # Setup
    df = pd.DataFrame(
        {
            "Patient ID": ["p1", "p2", "p3"],
            "age": ["61", "70", "45"],
            "wbc": ["3.25", "10.5", "100"],
            "cr": ["yes", "no", ""],
            "dx": ["2020-01-02", "2021-03-04", None],
            "sex": ["F", "M", "F"],
        },
        dtype="string",
    )
    # Run
    d, warnings = draft_dictionary(df, name="site")
    # Assert
    assert d.patient_id == "patient_id"
    types = {v.name: v.type.value for v in d.variables}
    assert types == {
        "age": "integer",
        "wbc": "continuous",
        "cr": "boolean",
        "dx": "date",
        "sex": "categorical",
    }
    assert all(v.min is None and v.max is None for v in d.variables)
    assert d["wbc"].decimals == 2
    assert d["sex"].categories == ("F", "M")
    assert "public clinical knowledge" in warnings[0]
    assert any("Patient ID" in w and "mapping" in w for w in warnings)


def test_draft_round_trips_through_yaml(tmp_path):
    # Setup
    df = pd.DataFrame({"a": ["1", "2"], "a ": ["x", "y"]}, dtype="string")
    d, _ = draft_dictionary(df, name="x")
    path = tmp_path / "d.yaml"
    path.write_text(d.to_yaml())
    # Run
    again = load_dictionary(path)
    # Assert
    assert again.names == ("a", "a_2")


def test_free_text_columns_are_left_out():
    df = pd.DataFrame({"note": [f"free text {i}" for i in range(80)]}, dtype="string")
    df["age"] = "50"
    d, warnings = draft_dictionary(df, name="x")
    assert d.names == ("age",)
    assert any("'note'" in w and "left out" in w for w in warnings)


def test_survival_pairs_and_required_variables_are_proposed_and_said():
    # Setup: lifelines' rossi and gbsg2 as text, as a site file would be read
    from lifelines.datasets import load_gbsg2, load_rossi

    from synthema.schema.dictionary import SurvivalPair

    found = {}
    for name, df in (("rossi", load_rossi()), ("gbsg2", load_gbsg2())):
        # Run
        d, warnings = draft_dictionary(df.astype(str).astype("string"), name=name)
        found[name] = d
        # Assert: every column is complete, so every variable is proposed as required, and
        # the draft says so; the pair is proposed with a warning to check it
        assert all(v.required for v in d.variables)
        assert any("marked required" in w for w in warnings)
        assert any(w.startswith("survival pair proposed") for w in warnings)
    assert found["rossi"].survival == (SurvivalPair("week", "arrest"),)
    assert found["gbsg2"].survival == (SurvivalPair("time", "cens"),)
    # a column with a gap is not required; stems pair os_days with os_status, efs with efs
    df = pd.DataFrame({"os_days": ["1", "2", "3"], "os_status": ["1", "0", "1"],
                       "efs_days": ["1", "2", "2"], "efs_status": ["1", "1", "0"],
                       "ldh": ["200", None, "310"]}, dtype="string")
    d, _ = draft_dictionary(df, name="aml")
    assert set(d.survival) == {SurvivalPair("os_days", "os_status"),
                               SurvivalPair("efs_days", "efs_status")}
    assert not d["ldh"].required and d["os_days"].required
