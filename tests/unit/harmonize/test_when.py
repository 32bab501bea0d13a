"""``when:`` conditions (issue 27, second review, D2): judged on harmonised values.

The first version compared the conditioning column's raw text, so an allogeneic
transplant written ``x`` or ``1.0`` (both read as true for ``hsct``) lost its transplant
day and status as "left missing" while the summary said 0 dropped and ``--strict`` passed.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from synthema.cli import app
from synthema.errors import MappingError, ValidationFailed
from synthema.harmonize import harmonize, harmonize_file

EXAMPLE = Path(__file__).parent / "data" / "AML_DATA_ES.csv"
MAPPING = "synthema_aml_reference"
UNKNOWN = "condition 'Allogeneic HSCT is 1' not known (its cell is empty or unreadable)"


def _variant(tmp_path: Path, **cells: dict[int, str]) -> tuple[Path, pd.DataFrame]:
    """The consortium's example file with some cells rewritten (column -> row -> text)."""
    raw = pd.read_csv(EXAMPLE, sep=";", dtype=str, keep_default_na=False)
    for column, edits in cells.items():
        for row, text in edits.items():
            raw.loc[row, column.replace("_", " ")] = text
    path = tmp_path / "variant.csv"
    raw.to_csv(path, sep=";", index=False)
    return path, raw


def _col(result, target):
    return next(c for c in result.summary.columns if c.target == target)


def test_a_tick_mark_or_1_0_satisfies_when_1(tmp_path):
    # Setup: the two allogeneic transplants written 'x' and '1.0' (the reviewer's variant)
    original = pd.read_csv(EXAMPLE, sep=";", dtype=str, keep_default_na=False)
    allo = original.index[original["Allogeneic HSCT"] == "1"].tolist()
    path, raw = _variant(tmp_path, Allogeneic_HSCT={allo[0]: "x", allo[1]: "1.0"})
    out = tmp_path / "out.csv"
    # Run
    cli = CliRunner().invoke(app, ["harmonize", "-m", MAPPING, str(path), "-o", str(out),
                                   "--strict"])
    result = harmonize_file(path, MAPPING, strict=True)
    # Assert: the transplant day and status are carried, as for '1'
    assert cli.exit_code == 0, cli.output
    days = result.data.loc[allo, "hsct_days"].astype("Float64").fillna(-1).tolist()
    assert days == [float(v) for v in raw.loc[allo, "TIME TO HSCT"]]
    assert result.data.loc[allo, "hsct_status"].fillna("").tolist() == ["cr1", "cr1"]
    assert _col(result, "hsct_days").withheld == 1  # the autologous-only transplant
    written = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert written.loc[allo, "hsct_days"].tolist() == raw.loc[allo, "TIME TO HSCT"].tolist()


def test_an_empty_condition_cell_drops_the_value_and_strict_refuses(tmp_path):
    # Setup: an allogeneic transplant whose 'Allogeneic HSCT' cell was left empty
    original = pd.read_csv(EXAMPLE, sep=";", dtype=str, keep_default_na=False)
    allo = original.index[original["Allogeneic HSCT"] == "1"].tolist()
    path, _ = _variant(tmp_path, Allogeneic_HSCT={allo[0]: ""})
    # Run
    kept = harmonize_file(path, MAPPING)
    with pytest.raises(ValidationFailed) as err:
        harmonize_file(path, MAPPING, strict=True)
    # Assert: dropped with its reason (not "left missing"), and --strict sees it
    days = _col(kept, "hsct_days")
    assert days.dropped == {UNKNOWN: 1}
    assert days.examples[UNKNOWN] == ((allo[0] + 2, "89"),)
    assert days.present == days.carried + days.dropped_total
    assert "hsct_days: 1 condition 'Allogeneic HSCT is 1' not known" in err.value.message


def test_an_unmapped_condition_column_is_read_ignoring_case_and_number_form(dictionary):
    # Setup: a transplant type the mapping does not map, written in several ways
    raw = pd.DataFrame({"ID": list("ABCDEF"),
                        "Art": ["allo", "ALLO", " Allo ", "auto", "", "1.0"],
                        "Tag": ["10", "20", "30", "40", "50", "60"]}, dtype="string")
    m = {"dictionary": "example", "columns": {"patient_id": "ID", "os_days": {
        "from": "Tag", "when": {"Art": ["allo", "1"]}}}}
    # Run
    result = harmonize(raw, dictionary, m)
    col = _col(result, "os_days")
    # Assert
    assert result.data["os_days"].fillna(-1).tolist() == [10, 20, 30, -1, -1, 60]
    assert col.withheld == 1
    assert col.dropped == {"condition 'Art is 'allo' or '1'' not known (its cell is empty or "
                           "unreadable)": 1}


def test_a_when_value_the_conditioning_column_cannot_hold_is_a_mapping_error(dictionary):
    # Setup: npm1 is mapped from NPM1 with yes/no codes; the condition lists 'allo'
    raw = pd.DataFrame({"ID": ["A"], "NPM1": ["yes"], "Tag": ["10"]}, dtype="string")
    m = {"dictionary": "example", "columns": {
        "patient_id": "ID", "npm1": {"from": "NPM1", "codes": {"yes": True, "no": False}},
        "os_days": {"from": "Tag", "when": {"NPM1": ["allo"]}}}}
    # Run / Assert
    with pytest.raises(MappingError, match="'allo' is not a value of 'NPM1' as it is mapped"):
        harmonize(raw, dictionary, m)


def test_an_absent_when_column_points_at_the_when_not_at_from(dictionary):
    # Setup: the source column exists; only the column named under when: does not
    raw = pd.DataFrame({"ID": ["A"], "Tag": ["10"]}, dtype="string")
    m = {"dictionary": "example", "columns": {
        "patient_id": "ID", "os_days": {"from": "Tag", "when": {"SZT_Art": ["allo"]}}}}
    # Run
    with pytest.raises(MappingError) as err:
        harmonize(raw, dictionary, m)
    # Assert
    assert "'SZT_Art'" in err.value.message
    assert err.value.fix.startswith("correct the column named under when: in columns: os_days")
